/* SPDX-License-Identifier: MIT */
/*
 * Contract 1 of the allocator plug-in (allocator.h, remove_free_memory) for
 * every registered allocator: add/remove cycles at ever new bases never
 * exhaust anything (issue 8 defect 5: a fixed table of 256 ranges ran out),
 * frames in per-CPU caches count as free for a removal, and a removal -
 * refused or not - never makes a concurrent allocation of other memory fail
 * (the allocator side of defect 1).
 */
#include "fk_alloc_fix.h"

#define KEEP_BASE  0x10000ull /* always present, node 0 */
#define KEEP_N     64ull
#define CYCLE_BASE 0x100000ull /* cycle i adds at CYCLE_BASE + i * CYCLE_STEP, node 1 */
#define CYCLE_STEP 0x200ull
#define CYCLES     10000

static void add_remove_10000_cycles_at_distinct_bases_never_exhaust(void)
{
	struct af f;
	uint64_t pfn, rng = 7;
	CHECK_OK(af_open(&f, 2, 0, 0));
	CHECK_OK(af_add(&f, KEEP_BASE, KEEP_N, 0));
	for (unsigned i = 0; i < CYCLES; i++) {
		uint64_t base = CYCLE_BASE + (uint64_t)i * CYCLE_STEP;
		uint64_t n = 64 + (i % 3) * 96; /* 64, 160 or 256 frames */
		int err = af_add(&f, base, n, 1);
		if (err) {
			fprintf(stderr, "  cycle %u: add -> %s\n", i, fk_strerror_name(err));
			CHECK_OK(err);
		}
		/* Use it: a strict node-1 allocation must come from it. The
		 * frame then sits in a per-CPU cache where there is one, and
		 * still counts as free for the removal. */
		if (i % 7 == 0)
			af_migrate(&rng);
		CHECK_OK(af_alloc(&f, 1, 0, 1, FK_ALLOC_NODE_STRICT, &pfn));
		CHECK(pfn >= base && pfn < base + n);
		CHECK_ERR(af_remove(&f, base, n), FK_EBUSY); /* held: refused, nothing changed */
		CHECK_OK(af_dealloc(&f, pfn, 1));
		err = af_remove(&f, base, n);
		if (err) {
			fprintf(stderr, "  cycle %u: remove -> %s\n", i, fk_strerror_name(err));
			CHECK_OK(err);
		}
		/* Removed frames are never handed out again. */
		CHECK_ERR(af_alloc(&f, 1, 0, 1, FK_ALLOC_NODE_STRICT, &pfn), FK_ENOMEM);
		struct fk_alloc_stats s = af_stats(&f, -1);
		CHECK_EQ(s.total_frames, KEEP_N);
		CHECK_EQ(s.free_frames, KEEP_N);
	}
	/* The same base again after all that: still fine. */
	CHECK_OK(af_add(&f, CYCLE_BASE, 64, 1));
	CHECK_OK(af_remove(&f, CYCLE_BASE, 64));
	af_close(&f);
}

/* Workers allocate and free on node 0 while the main thread keeps trying to
 * remove region A (one frame held: always refused) and removes / re-adds
 * region C. Region B alone holds many times what the workers can hold, so
 * no allocation may fail. */
#define A_BASE  0x20000ull
#define A_N     64ull
#define B_BASE  0x30000ull
#define B_N     1024ull
#define C_BASE  0x40000ull
#define C_N     256ull
#define WORKERS 3
#define W_HOLD  8 /* allocations of <= 8 frames each */

struct warg {
	struct af *f;
	_Atomic int *stop;
	uint64_t rng;
	unsigned long allocs, enomem, errors;
};

static void *worker(void *p)
{
	struct warg *a = p;
	uint64_t held[W_HOLD][2];
	unsigned nh = 0;
	/* relaxed: a stop flag; the join orders everything else */
	while (!atomic_load_explicit(a->stop, memory_order_relaxed)) {
		if (nh < W_HOLD && fk_rand_next(&a->rng) % 2) {
			uint64_t n = 1ull << (fk_rand_next(&a->rng) % 4), pfn;
			int err = af_alloc(a->f, n, fk_rand_next(&a->rng) % 2 ? af_order(n) : 0, 0, 0, &pfn);
			if (err == FK_ENOMEM)
				a->enomem++;
			else if (err)
				a->errors++;
			else {
				held[nh][0] = pfn;
				held[nh++][1] = n;
				a->allocs++;
			}
		} else if (nh) {
			unsigned i = (unsigned)(fk_rand_next(&a->rng) % nh);
			if (af_dealloc(a->f, held[i][0], held[i][1]))
				a->errors++;
			held[i][0] = held[nh - 1][0];
			held[i][1] = held[--nh][1];
		}
	}
	while (nh--)
		if (af_dealloc(a->f, held[nh][0], held[nh][1]))
			a->errors++;
	return NULL;
}

static void remove_free_memory_never_fails_other_allocations(void)
{
	struct af f;
	uint64_t a_pfn;
	pthread_t t[WORKERS];
	struct warg arg[WORKERS];
	_Atomic int stop = 0;
	unsigned removed = 0, refused = 0;
	CHECK_OK(af_open(&f, 1, 0, 0));
	CHECK_OK(af_add(&f, A_BASE, A_N, 0));
	/* Hold one frame of A before B and C exist, so it comes from A. */
	CHECK_OK(af_alloc(&f, 1, 0, 0, 0, &a_pfn));
	CHECK(a_pfn >= A_BASE && a_pfn < A_BASE + A_N);
	CHECK_OK(af_add(&f, B_BASE, B_N, 0));
	CHECK_OK(af_add(&f, C_BASE, C_N, 0));
	for (unsigned i = 0; i < WORKERS; i++) {
		arg[i] = (struct warg){.f = &f, .stop = &stop, .rng = 31337ull * (i + 1)};
		CHECK(pthread_create(&t[i], NULL, worker, &arg[i]) == 0);
	}
	int bad = 0;
	for (int k = 0; k < 3000 && !bad; k++) {
		int err = af_remove(&f, A_BASE, A_N);
		if (err != FK_EBUSY) {
			fprintf(stderr, "  remove(A, one frame held) -> %s\n", fk_strerror_name(err));
			bad = 1;
		}
		err = af_remove(&f, C_BASE, C_N);
		if (err == 0) {
			removed++;
			if (af_add(&f, C_BASE, C_N, 0) != 0)
				bad = 2;
		} else if (err == FK_EBUSY) {
			refused++;
		} else {
			bad = 3;
		}
		if (k % 8 == 0)
			sched_yield();
	}
	/* relaxed: see worker() */
	atomic_store_explicit(&stop, 1, memory_order_relaxed);
	for (unsigned i = 0; i < WORKERS; i++)
		pthread_join(t[i], NULL);
	CHECK_EQ(bad, 0);
	if (getenv("FK_TEST_VERBOSE"))
		fprintf(stderr, "  C removed %u times, refused %u\n", removed, refused);
	for (unsigned i = 0; i < WORKERS; i++) {
		CHECK_EQ(arg[i].errors, 0);
		if (arg[i].enomem)
			fprintf(stderr, "  worker %u: %lu FK_ENOMEM in %lu allocations\n", i,
			        arg[i].enomem, arg[i].allocs);
		CHECK_EQ(arg[i].enomem, 0);
	}
	CHECK_OK(af_dealloc(&f, a_pfn, 1));
	struct fk_alloc_stats s = af_stats(&f, -1);
	CHECK_EQ(s.total_frames, A_N + B_N + C_N);
	CHECK_EQ(s.free_frames, A_N + B_N + C_N);
	CHECK_OK(af_remove(&f, A_BASE, A_N));
	CHECK_OK(af_remove(&f, B_BASE, B_N));
	CHECK_OK(af_remove(&f, C_BASE, C_N));
	af_close(&f);
}

int main(int argc, char **argv)
{
	size_t n = af_setup(argc, argv);
	AF_RUN_ALL(add_remove_10000_cycles_at_distinct_bases_never_exhaust);
	AF_RUN_ALL(remove_free_memory_never_fails_other_allocations);
	if (n < 4)
		return 1;
	return fk_test_finish();
}
