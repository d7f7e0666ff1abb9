/* SPDX-License-Identifier: MIT */
/*
 * Contract 3 of the allocator plug-in (allocator.h, dealloc): freeing a range
 * that is (partly) free already returns FK_EUNUSED and changes nothing,
 * also when two threads free the same range at the same moment: exactly
 * one of them succeeds (issue 8 defect 11: a read-then-act check let both
 * pass). Small per-CPU watermarks make buddy-pcp move blocks between its
 * lists and the buddy all the time, which is where such a check races.
 */
#include "fk_alloc_fix.h"

#define R_BASE  0x10000ull
#define R_N     1024ull
#define ROUNDS  4000
#define FILLERS 6

struct racer {
	pthread_t t;
	struct af *f;
	_Atomic unsigned *go; /* round number to play */
	_Atomic unsigned done;
	_Atomic int rc;
	_Atomic uint64_t pfn, n;
	unsigned id;
};

static void *racer_main(void *p)
{
	struct racer *r = p;
	unsigned round = 0;
	for (;;) {
		unsigned g;
		/* acquire: pairs with the main thread's release of `go`, which
		 * publishes pfn/n of the round. */
		while ((g = atomic_load_explicit(r->go, memory_order_acquire)) == round)
			sched_yield();
		if (g == UINT32_MAX)
			return NULL;
		round = g;
		int rc = af_dealloc(r->f, atomic_load_explicit(&r->pfn, memory_order_relaxed),
		                    atomic_load_explicit(&r->n, memory_order_relaxed));
		atomic_store_explicit(&r->rc, rc, memory_order_relaxed);
		/* release: pairs with the main thread's acquire of done. */
		atomic_store_explicit(&r->done, round, memory_order_release);
	}
}

static void concurrent_double_free_of_one_range_succeeds_once(void)
{
	struct af f;
	struct racer r[2];
	_Atomic unsigned go = 0;
	uint64_t rng = 4242, fill[FILLERS], pfn;
	static uint8_t seen[R_N];
	int bad = 0;
	CHECK_OK(af_open(&f, 1, 2, 1)); /* pcp: high 2, batch 1 */
	CHECK_OK(af_add(&f, R_BASE, R_N, 0));
	for (unsigned i = 0; i < 2; i++) {
		memset(&r[i], 0, sizeof(r[i]));
		r[i].f = &f;
		r[i].go = &go;
		r[i].id = i;
		CHECK(pthread_create(&r[i].t, NULL, racer_main, &r[i]) == 0);
	}
	for (unsigned round = 1; round <= ROUNDS && !bad; round++) {
		static const uint64_t sizes[] = {1, 1, 2, 4, 8, 3, 16};
		uint64_t n = sizes[fk_rand_next(&rng) % 7];
		if (af_alloc(&f, n, af_order(n), -1, 0, &pfn) != 0) {
			bad = 1;
			break;
		}
		/* Churn a few single frames too, so per-CPU lists overflow and
		 * get refilled around the race. */
		unsigned nf = 0;
		for (; nf < FILLERS; nf++)
			if (af_alloc(&f, 1, 0, -1, 0, &fill[nf]) != 0)
				break;
		for (unsigned i = 0; i < 2; i++) {
			atomic_store_explicit(&r[i].pfn, pfn, memory_order_relaxed);
			atomic_store_explicit(&r[i].n, n, memory_order_relaxed);
		}
		/* release: publishes pfn/n to the racers (their acquire of go). */
		atomic_store_explicit(&go, round, memory_order_release);
		for (unsigned i = 0; i < nf; i++)
			if (af_dealloc(&f, fill[i], 1) != 0)
				bad = 2;
		for (unsigned i = 0; i < 2; i++)
			/* acquire: pairs with the racer's release of done. */
			while (atomic_load_explicit(&r[i].done, memory_order_acquire) != round)
				sched_yield();
		int a = atomic_load_explicit(&r[0].rc, memory_order_relaxed);
		int b = atomic_load_explicit(&r[1].rc, memory_order_relaxed);
		if (!((a == 0 && b == FK_EUNUSED) || (a == FK_EUNUSED && b == 0))) {
			fprintf(stderr, "  round %u: two frees of [0x%" PRIx64 ", +%" PRIu64
			        ") -> %s and %s\n",
			        round, pfn, n, fk_strerror_name(a), fk_strerror_name(b));
			bad = 3;
		}
	}
	atomic_store_explicit(&go, UINT32_MAX, memory_order_release);
	for (unsigned i = 0; i < 2; i++)
		pthread_join(r[i].t, NULL);
	CHECK_EQ(bad, 0);
	/* Nothing was freed twice: every frame comes out exactly once. */
	struct fk_alloc_stats s = af_stats(&f, -1);
	CHECK_EQ(s.free_frames, R_N);
	memset(seen, 0, sizeof(seen));
	for (uint64_t i = 0; i < R_N; i++) {
		CHECK_OK(af_alloc(&f, 1, 0, -1, 0, &pfn));
		CHECK(pfn >= R_BASE && pfn < R_BASE + R_N && !seen[pfn - R_BASE]);
		seen[pfn - R_BASE] = 1;
	}
	CHECK_ERR(af_alloc(&f, 1, 0, -1, 0, &pfn), FK_ENOMEM);
	af_close(&f);
}

/* Sequential variants: freeing a range that overlaps a free part changes
 * nothing (the rest stays allocated and can be freed once). */
static void dealloc_of_partly_free_range_changes_nothing(void)
{
	struct af f;
	uint64_t pfn;
	CHECK_OK(af_open(&f, 1, 0, 0));
	CHECK_OK(af_add(&f, R_BASE, R_N, 0));
	CHECK_OK(af_alloc(&f, 8, 3, -1, 0, &pfn));
	CHECK_OK(af_dealloc(&f, pfn + 2, 2));
	CHECK_ERR(af_dealloc(&f, pfn, 8), FK_EUNUSED);
	CHECK_ERR(af_dealloc(&f, pfn + 3, 1), FK_EUNUSED);
	CHECK_OK(af_dealloc(&f, pfn, 2));
	CHECK_OK(af_dealloc(&f, pfn + 4, 4));
	CHECK_ERR(af_dealloc(&f, pfn + 4, 4), FK_EUNUSED);
	/* A frame freed alone (buddy-pcp: into a per-CPU list), then a range
	 * around it of a size that bypasses the lists: still a double free. */
	CHECK_OK(af_alloc(&f, 4, 2, -1, 0, &pfn));
	CHECK_OK(af_dealloc(&f, pfn + 1, 1));
	CHECK_ERR(af_dealloc(&f, pfn, 3), FK_EUNUSED);
	CHECK_OK(af_dealloc(&f, pfn, 1));
	CHECK_OK(af_dealloc(&f, pfn + 2, 2));
	struct fk_alloc_stats s = af_stats(&f, -1);
	CHECK_EQ(s.free_frames, R_N);
	af_close(&f);
}

int main(int argc, char **argv)
{
	size_t n = af_setup(argc, argv);
	AF_RUN_ALL(concurrent_double_free_of_one_range_succeeds_once);
	AF_RUN_ALL(dealloc_of_partly_free_range_changes_nothing);
	if (n < 4)
		return 1;
	return fk_test_finish();
}
