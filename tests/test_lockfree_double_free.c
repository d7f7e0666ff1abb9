/* SPDX-License-Identifier: MIT */
/*
 * lockfree dealloc checks and acts in one step: when two threads free the
 * same range at the same time, exactly one gets 0 and the other
 * FK_EUNUSED, and the frames are free exactly once (conservation). Sizes
 * cover one bit, a word part, whole words, a whole area and a range that
 * crosses an area boundary. Before the fix the check was a read followed by
 * a separate clear, so both frees could pass.
 */
#include "test_lockfree_fix.h"

#define BASE   0x10000ull
#define FRAMES (4 * 512ull)
#define ROUNDS 3000

struct racer {
	struct lfx *f;
	unsigned cpu;
	_Atomic uint64_t *go;       /* round number to run */
	_Atomic unsigned *done;     /* racers finished with the round */
	uint64_t pfn, n;            /* the range of the current round */
	_Atomic int *wins, *losses; /* per round totals */
	int other;                  /* unexpected codes */
};

static _Atomic uint64_t cur_pfn, cur_n;

static void *racer_main(void *p)
{
	struct racer *r = p;
	lfx_pin(r->cpu);
	for (uint64_t round = 1; round <= ROUNDS; round++) {
		/* acquire: pairs with the release store of the round number,
		 * so the range of this round is visible. */
		while (atomic_load_explicit(r->go, memory_order_acquire) < round)
			sched_yield();
		uint64_t pfn = atomic_load_explicit(&cur_pfn, memory_order_relaxed);
		uint64_t n = atomic_load_explicit(&cur_n, memory_order_relaxed);
		int err = lfx_free(r->f, pfn, n);
		if (err == 0)
			atomic_fetch_add_explicit(r->wins, 1, memory_order_relaxed);
		else if (err == FK_EUNUSED)
			atomic_fetch_add_explicit(r->losses, 1, memory_order_relaxed);
		else
			r->other++;
		/* release: our free happens-before the checker's next step. */
		atomic_fetch_add_explicit(r->done, 1, memory_order_release);
	}
	return NULL;
}

static void two_concurrent_frees_of_one_range_exactly_one_succeeds(void)
{
	static const struct {
		uint64_t off, n, align;
	} sizes[] = {{0, 1, 0}, {0, 8, 3}, {0, 64, 6}, {0, 128, 7}, {0, 512, 9}, {0, 100, 0}};
	struct lfx f;
	_Atomic uint64_t go = 0;
	_Atomic unsigned done = 0;
	_Atomic int wins = 0, losses = 0;
	struct racer r[2];
	pthread_t t[2];
	CHECK_OK(lfx_open(&f, 2));
	CHECK_OK(lfx_add(&f, BASE, FRAMES));
	for (unsigned i = 0; i < 2; i++) {
		r[i] = (struct racer){.f = &f, .cpu = i, .go = &go, .done = &done, .wins = &wins,
		                      .losses = &losses};
		CHECK(pthread_create(&t[i], NULL, racer_main, &r[i]) == 0);
	}
	int bad = 0;
	for (uint64_t round = 1; round <= ROUNDS && !bad; round++) {
		unsigned s = (unsigned)(round % (sizeof(sizes) / sizeof(sizes[0])));
		uint64_t pfn, n = sizes[s].n;
		if (round % 7 == 0) { /* a range across an area boundary */
			uint64_t big;
			if (lfx_alloc(&f, 1024, 10, &big)) {
				bad = 1;
				break;
			}
			lfx_free(&f, big, 256);
			lfx_free(&f, big + 768, 256);
			pfn = big + 256;
			n = 512;
		} else if (lfx_alloc(&f, n, (unsigned)sizes[s].align, &pfn)) {
			bad = 2;
			break;
		}
		atomic_store_explicit(&cur_pfn, pfn, memory_order_relaxed);
		atomic_store_explicit(&cur_n, n, memory_order_relaxed);
		/* release: pairs with the racers' acquire of the round. */
		atomic_store_explicit(&go, round, memory_order_release);
		/* acquire: pairs with the racers' release increments. */
		while (atomic_load_explicit(&done, memory_order_acquire) < 2 * round)
			sched_yield();
		if (atomic_load_explicit(&wins, memory_order_relaxed) != (int)round ||
		    atomic_load_explicit(&losses, memory_order_relaxed) != (int)round)
			bad = 3;
		/* The range is free exactly once: a third free is refused. */
		if (lfx_free(&f, pfn, n) != FK_EUNUSED)
			bad = 4;
	}
	if (bad) /* let the racers finish */
		atomic_store_explicit(&go, ROUNDS, memory_order_release);
	for (unsigned i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	CHECK_EQ(bad, 0);
	CHECK_EQ(r[0].other + r[1].other, 0);
	struct fk_alloc_stats s = lfx_stats(&f);
	CHECK_EQ(s.free_frames, FRAMES);
	CHECK_EQ(s.free_blocks[9], FRAMES / 512);
	lfx_close(&f);
}

/* A free that overlaps a free frame changes nothing, in any position. */
static void partly_free_range_is_refused_and_left_unchanged(void)
{
	struct lfx f;
	uint64_t p, rest;
	CHECK_OK(lfx_open(&f, 1));
	CHECK_OK(lfx_add(&f, BASE, FRAMES));
	CHECK_OK(lfx_alloc(&f, 1024, 10, &p));
	CHECK_OK(lfx_alloc(&f, FRAMES - 1024, 10, &rest)); /* nothing else is free */
	for (uint64_t hole = 0; hole < 1024; hole += 61) {
		CHECK_OK(lfx_free(&f, p + hole, 1));
		CHECK_ERR(lfx_free(&f, p, 1024), FK_EUNUSED);
		struct fk_alloc_stats s = lfx_stats(&f);
		CHECK_EQ(s.free_frames, 1);
		uint64_t q;
		CHECK_OK(lfx_alloc(&f, 1, 0, &q)); /* the only free frame: the hole */
		CHECK_EQ(q, p + hole);
	}
	CHECK_OK(lfx_free(&f, p, 1024));
	CHECK_OK(lfx_free(&f, rest, FRAMES - 1024));
	struct fk_alloc_stats s = lfx_stats(&f);
	CHECK_EQ(s.free_frames, FRAMES);
	lfx_close(&f);
}

int main(int argc, char **argv)
{
	fk_test_args(argc, argv);
	RUN(two_concurrent_frees_of_one_range_exactly_one_succeeds);
	RUN(partly_free_range_is_refused_and_left_unchanged);
	return fk_test_finish();
}
