/*
 * lockfree hot-plug: chunk metadata is reused, so add/remove cycles at new
 * bases never exhaust anything (before: FK_ENOMEM at the 257th add with no
 * chunk present); and remove_free_memory, refused or successful, never
 * makes an allocation fail while memory outside the range being removed
 * has room.
 */
#include "test_lockfree_fix.h"

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
	uint64_t held[250], n[250], seed = 0x2545f4914f6cdd1dull * (w->cpu + 1);
	unsigned nh = 0;
	lfx_pin(w->cpu);
	/* relaxed: a stop flag; the join orders the results. */
	while (!atomic_load_explicit(w->stop, memory_order_relaxed)) {
		seed ^= seed << 13;
		seed ^= seed >> 7;
		seed ^= seed << 17;
		if (nh == 250 || (nh && seed % 2)) {
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

int main(int argc, char **argv)
{
	fk_test_args(argc, argv);
	RUN(ten_thousand_add_remove_cycles_at_distinct_bases);
	RUN(partial_remove_and_readd_then_full_remove_reuses_the_record);
	RUN(refused_removals_never_fail_allocations_elsewhere);
	RUN(removal_cycles_never_fail_allocations_elsewhere);
	return fk_test_finish();
}
