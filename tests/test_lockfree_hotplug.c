/* SPDX-License-Identifier: MIT */
/*
 * lockfree hot-plug: chunk metadata is reused, so add/remove cycles at new
 * bases never exhaust anything (before: FK_ENOMEM at the 257th add with no
 * chunk present); and remove_free_memory, refused or successful, never
 * makes an allocation fail while memory outside the range being removed
 * has room.
 */
#include "fk_rand.h"
#include "test_lockfree_fix.h"
#include "alloc/lockfree/lockfree_internal.h" /* the CPU slots, for one interleaving */

static void ten_thousand_add_remove_cycles_at_distinct_bases(void)
{
	struct lfx f;
	CHECK_OK(lfx_open(&f, 2));
	for (uint64_t i = 0; i < 10000; i++) {
		/* Distinct bases, some not area aligned, sizes of 1..9 areas. */
		uint64_t base = 0x10000 + i * 0x2000 + (i % 3) * 100, n = 512 * (1 + i % 9) - i % 5;
		uint64_t p;
		int err = lfx_add(&f, base, n);
		if (err) {
			fprintf(stderr, "  cycle %" PRIu64 ": add returned %s\n", i,
			        fk_strerror_name(err));
			CHECK(0);
		}
		CHECK_OK(lfx_alloc(&f, 1, 0, &p));
		CHECK(p >= base && p < base + n);
		CHECK_ERR(lfx_remove(&f, base, n), FK_EBUSY);
		CHECK_OK(lfx_free(&f, p, 1));
		CHECK_OK(lfx_remove(&f, base, n));
		CHECK_ERR(lfx_free(&f, p, 1), FK_EOUTOFBOUND); /* gone */
	}
	struct fk_alloc_stats s = lfx_stats(&f);
	CHECK_EQ(s.total_frames, 0);
	CHECK_EQ(s.free_frames, 0);
	uint64_t p;
	CHECK_ERR(lfx_alloc(&f, 1, 0, &p), FK_ENOMEM); /* nothing present: justified */
	lfx_close(&f);
}

/* A partial removal and its re-add, then the whole range: one record. */
static void partial_remove_and_readd_then_full_remove_reuses_the_record(void)
{
	struct lfx f;
	uint64_t p;
	CHECK_OK(lfx_open(&f, 1));
	for (int i = 0; i < 2000; i++) {
		uint64_t base = 0x10000 + (uint64_t)i * 0x1000;
		CHECK_OK(lfx_add(&f, base, 2048));
		CHECK_OK(lfx_remove(&f, base + 100, 600));
		CHECK_OK(lfx_add(&f, base + 100, 600));
		CHECK_OK(lfx_remove(&f, base, 1000));
		CHECK_OK(lfx_remove(&f, base + 1000, 1048));
	}
	CHECK_EQ(lfx_stats(&f).total_frames, 0);
	CHECK_ERR(lfx_alloc(&f, 1, 0, &p), FK_ENOMEM);
	lfx_close(&f);
}

#define A_BASE 0x10000ull
#define A_N    600ull /* small: the workers spill into B */
#define B_BASE 0x20000ull
#define B_N    4096ull

struct worker {
	struct lfx *f;
	unsigned cpu;
	_Atomic int *stop;
	uint64_t enomem, allocs;
	int bad;
};

static void *worker_main(void *p)
{
	struct worker *w = p;
	uint64_t held[250], n[250], seed = fk_rand_mix(w->cpu) | 1;
	unsigned nh = 0;
	lfx_pin(w->cpu);
	/* relaxed: a stop flag; the join orders the results. */
	while (!atomic_load_explicit(w->stop, memory_order_relaxed)) {
		if (nh == 250 || (nh && fk_rand_below(&seed, 2))) {
			nh--;
			if (lfx_free(w->f, held[nh], n[nh]))
				w->bad = 1;
			continue;
		}
		/* order 0, at most 250 frames each: A (600 frames) always has
		 * room, and the workers' reservations move into B at times. */
		unsigned k = 0;
		int err = lfx_alloc(w->f, 1ull << k, k, &held[nh]);
		if (err == FK_ENOMEM) {
			w->enomem++;
			continue;
		}
		if (err) {
			w->bad = 2;
			continue;
		}
		n[nh++] = 1ull << k;
		w->allocs++;
	}
	while (nh--)
		if (lfx_free(w->f, held[nh], n[nh]))
			w->bad = 3;
	return NULL;
}

static void run_remover(int refused)
{
	struct lfx f;
	struct worker w[2];
	pthread_t t[2];
	_Atomic int stop = 0;
	uint64_t pin = 0;
	int removed = 0, busy = 0, other = 0;
	CHECK_OK(lfx_open(&f, 2));
	CHECK_OK(lfx_add(&f, A_BASE, A_N));
	CHECK_OK(lfx_add(&f, B_BASE, B_N));
	if (refused) { /* one frame of B held: every removal of B is refused */
		for (;;) {
			CHECK_OK(lfx_alloc(&f, 1, 0, &pin));
			if (pin >= B_BASE)
				break;
			CHECK_OK(lfx_free(&f, pin, 1));
			CHECK_OK(lfx_remove(&f, A_BASE, A_N)); /* steer it into B */
		}
		if (lfx_stats(&f).total_frames != A_N + B_N)
			CHECK_OK(lfx_add(&f, A_BASE, A_N));
	}
	for (unsigned i = 0; i < 2; i++) {
		w[i] = (struct worker){.f = &f, .cpu = i, .stop = &stop};
		CHECK(pthread_create(&t[i], NULL, worker_main, &w[i]) == 0);
	}
	for (int k = 0; k < 3000; k++) {
		int err = lfx_remove(&f, B_BASE, B_N);
		if (err == FK_EBUSY) {
			busy++;
		} else if (err == 0) {
			removed++;
			if (lfx_add(&f, B_BASE, B_N))
				other++;
		} else {
			other++;
		}
		if (k % 16 == 0)
			sched_yield();
	}
	atomic_store_explicit(&stop, 1, memory_order_relaxed);
	for (unsigned i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	if (getenv("FK_TEST_VERBOSE"))
		fprintf(stderr, "  %d removed, %d refused; allocs %" PRIu64 " + %" PRIu64 "\n",
		        removed, busy, w[0].allocs, w[1].allocs);
	CHECK_EQ(other, 0);
	if (refused)
		CHECK_EQ(removed, 0);
	for (unsigned i = 0; i < 2; i++) {
		CHECK_EQ(w[i].bad, 0);
		CHECK_EQ(w[i].enomem, 0); /* A always had room */
	}
	if (refused)
		CHECK_OK(lfx_free(&f, pin, 1));
	struct fk_alloc_stats s = lfx_stats(&f);
	CHECK_EQ(s.total_frames, A_N + B_N);
	CHECK_EQ(s.free_frames, A_N + B_N);
	lfx_close(&f);
}

static void refused_removals_never_fail_allocations_elsewhere(void)
{
	run_remover(1);
}

static void removal_cycles_never_fail_allocations_elsewhere(void)
{
	run_remover(0);
}

/*
 * A CPU's reservation names a chunk record by index; records are recycled.
 * The worker (CPU 0) allocates one frame at a time, node 0 strictly; the
 * main thread (CPU 1) adds a range on node 0, removes it, adds another
 * range on node 1 (which recycles the same record) and removes that, in a
 * loop. A node-0 request must never get a frame of the node-1 range, even
 * when its reservation was read (or installed) just before the record was
 * recycled.
 */
#define N0_BASE 0x40000ull /* node 0's range */
#define N1_BASE 0x80000ull /* node 1's range, same size: recycles the record */
#define NN      512ull

struct strict_worker {
	struct lfx *f;
	_Atomic int stop;
	uint64_t allocs, enomem, wrong, other;
};

static void *strict_worker_main(void *p)
{
	struct strict_worker *w = p;
	lfx_pin(0);
	/* relaxed: a stop flag; the join orders the results. */
	while (!atomic_load_explicit(&w->stop, memory_order_relaxed)) {
		uint64_t pa = 0;
		int err = w->f->ops->alloc(w->f->st, 1, 0, 0, FK_ALLOC_NODE_STRICT, &pa);
		if (err == FK_ENOMEM) {
			w->enomem++;
			continue;
		}
		if (err) {
			w->other++;
			continue;
		}
		uint64_t pfn = pa >> FK_PAGE_SHIFT;
		if (pfn < N0_BASE || pfn >= N0_BASE + NN)
			w->wrong++; /* not node 0's frame */
		else
			w->allocs++;
		if (lfx_free(w->f, pfn, 1))
			w->other++;
	}
	return NULL;
}

static void a_reservation_on_a_recycled_record_never_serves_another_node(void)
{
	struct lfx f;
	struct fk_alloc_params prm = {.nr_cpus = 2};
	memset(&f, 0, sizeof(f));
	f.ops = &fk_alloc_lockfree_ops;
	CHECK_OK(f.ops->create(&prm, 2, f.cpu_node, 2, &f.st)); /* both CPUs on node 0 */
	struct strict_worker w = {.f = &f};
	pthread_t t;
	CHECK_OK(lfx_add(&f, N0_BASE, NN));
	CHECK(pthread_create(&t, NULL, strict_worker_main, &w) == 0);
	lfx_pin(1);
	int cycles = 0, failed = 0;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;; cycles++) {
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if (t1.tv_sec - t0.tv_sec + (t1.tv_nsec - t0.tv_nsec) / 1e9 > 0.3 || cycles == 20000)
			break;
		/* the worker frees at once: a refused removal is retried */
		int err;
		while ((err = lfx_remove(&f, N0_BASE, NN)) == FK_EBUSY)
			sched_yield();
		if (err) {
			failed = 1;
			break;
		}
		if ((err = f.ops->add_free_memory(f.st, N1_BASE << FK_PAGE_SHIFT, NN, 1))) {
			failed = 2;
			break;
		}
		/* a node-0 request holding a node-1 frame makes this refuse */
		while ((err = lfx_remove(&f, N1_BASE, NN)) == FK_EBUSY)
			sched_yield();
		if (err || lfx_add(&f, N0_BASE, NN)) {
			failed = 3;
			break;
		}
	}
	/* relaxed: see strict_worker_main. */
	atomic_store_explicit(&w.stop, 1, memory_order_relaxed);
	pthread_join(t, NULL);
	printf("  %d cycles; %" PRIu64 " allocs, %" PRIu64 " FK_ENOMEM, %" PRIu64
	       " from node 1\n",
	       cycles, w.allocs, w.enomem, w.wrong);
	EXPECT(failed == 0, "hot-plug step %d failed", failed);
	EXPECT(w.other == 0, "%" PRIu64 " unexpected errors", w.other);
	EXPECT(w.wrong == 0, "%" PRIu64 " node-0 requests served from node 1", w.wrong);
	struct fk_alloc_stats s = lfx_stats(&f);
	CHECK_EQ(s.total_frames, NN);
	CHECK_EQ(s.free_frames, NN);
	lfx_close(&f);
}

/*
 * The same, one interleaving made deterministic: a thread reserved an area
 * of node 0's record and installed it in its CPU slot (res_swap) just after
 * the record was removed and recycled for a node-1 range (lf_add clears
 * the slots that name a record before it reuses it, but an installer that
 * checked the record before can write the slot after that). The test
 * writes that slot value itself. Before the fix, the next node-0 strict
 * request from that CPU took a node-1 frame from it.
 */
static void a_slot_written_after_recycling_never_serves_another_node(void)
{
	struct lfx f;
	struct fk_alloc_params prm = {.nr_cpus = 1};
	memset(&f, 0, sizeof(f));
	f.ops = &fk_alloc_lockfree_ops;
	CHECK_OK(f.ops->create(&prm, 2, f.cpu_node, 1, &f.st)); /* CPU 0 on node 0 */
	struct lockfree *lf = f.st;
	uint64_t pfn, pa = 0;
	CHECK_OK(lfx_add(&f, N0_BASE, NN));
	CHECK_OK(lfx_alloc(&f, 1, 0, &pfn)); /* reserves an area of the record */
	CHECK_OK(lfx_free(&f, pfn, 1));
	/* relaxed, both: the test is single-threaded here. */
	uint64_t code = atomic_load_explicit(&lf_res_of(lf, 0, 0)->area, memory_order_relaxed);
	CHECK(code != 0);
	CHECK_OK(lfx_remove(&f, N0_BASE, NN));
	CHECK_OK(f.ops->add_free_memory(f.st, N1_BASE << FK_PAGE_SHIFT, NN, 1)); /* recycles */
	atomic_store_explicit(&lf_res_of(lf, 0, 0)->area, code, memory_order_relaxed);
	int err = f.ops->alloc(f.st, 1, 0, 0, FK_ALLOC_NODE_STRICT, &pa);
	EXPECT(err == FK_ENOMEM, "node 0 has no memory, got %s at pfn %#" PRIx64,
	       fk_strerror_name(err), pa >> FK_PAGE_SHIFT);
	if (err == 0)
		CHECK_OK(lfx_free(&f, pa >> FK_PAGE_SHIFT, 1));
	/* node 1's frames are all there, and served to node 1 */
	CHECK_OK(f.ops->alloc(f.st, NN, 9, 1, FK_ALLOC_NODE_STRICT, &pa));
	CHECK_EQ(pa >> FK_PAGE_SHIFT, N1_BASE);
	CHECK_OK(lfx_free(&f, N1_BASE, NN));
	struct fk_alloc_stats s = lfx_stats(&f);
	CHECK_EQ(s.total_frames, NN);
	CHECK_EQ(s.free_frames, NN);
	lfx_close(&f);
}

int main(int argc, char **argv)
{
	fk_test_args(argc, argv);
	RUN(a_slot_written_after_recycling_never_serves_another_node);
	RUN(a_reservation_on_a_recycled_record_never_serves_another_node);
	RUN(ten_thousand_add_remove_cycles_at_distinct_bases);
	RUN(partial_remove_and_readd_then_full_remove_reuses_the_record);
	RUN(refused_removals_never_fail_allocations_elsewhere);
	RUN(removal_cycles_never_fail_allocations_elsewhere);
	return fk_test_finish();
}
