/*
 * lockfree's whole-area blocks (core/src/alloc/lockfree/area.h, "Huge
 * frames"): an order-9 block is taken and freed whole with counter RMWs
 * only, and marked in its words; the core may free any sub-range of it in
 * any order, from any thread, and every such free is still checked. These
 * tests free huge frames in parts (in random order, from two CPUs at once,
 * with double frees of parts) and check that the area comes back whole.
 */
#include "fk_rand.h"
#include "test_lockfree_fix.h"

#define BASE   0x40000ull
#define FRAMES (4 * 512ull)

/* The area of pfn is free as an order-9 block again (and all memory free). */
static void check_all_free_and_huge_again(struct lfx *f)
{
	struct fk_alloc_stats s = lfx_stats(f);
	CHECK_EQ(s.free_frames, FRAMES);
	CHECK_EQ(s.free_blocks[9], FRAMES / 512);
	uint64_t h[FRAMES / 512], x;
	for (unsigned i = 0; i < FRAMES / 512; i++)
		CHECK_OK(lfx_alloc(f, 512, 9, &h[i]));
	CHECK_ERR(lfx_alloc(f, 1, 0, &x), FK_ENOMEM);
	for (unsigned i = 0; i < FRAMES / 512; i++)
		CHECK_OK(lfx_free(f, h[i], 512));
}

static void a_huge_frame_freed_in_parts_in_any_order_comes_back_whole(void)
{
	struct lfx f;
	uint64_t seed = 12345;
	CHECK_OK(lfx_open(&f, 1));
	CHECK_OK(lfx_add(&f, BASE, FRAMES));
	for (int round = 0; round < 200; round++) {
		uint64_t h, cut[17];
		unsigned nc = 1 + (unsigned)fk_rand_below(&seed, 16);
		CHECK_OK(lfx_alloc(&f, 512, 9, &h));
		/* nc parts at random cuts, freed in a shuffled order */
		cut[0] = 0;
		for (unsigned i = 1; i < nc; i++)
			cut[i] = 1 + fk_rand_below(&seed, 511);
		cut[nc] = 512;
		for (unsigned i = 1; i < nc; i++) /* sort */
			for (unsigned j = i; j > 0 && cut[j] < cut[j - 1]; j--) {
				uint64_t t = cut[j];
				cut[j] = cut[j - 1];
				cut[j - 1] = t;
			}
		unsigned ord[16];
		for (unsigned i = 0; i < nc; i++)
			ord[i] = i;
		for (unsigned i = nc - 1; i > 0; i--) {
			unsigned j = (unsigned)fk_rand_below(&seed, i + 1), t = ord[i];
			ord[i] = ord[j];
			ord[j] = t;
		}
		for (unsigned i = 0; i < nc; i++) {
			uint64_t a = cut[ord[i]], b = cut[ord[i] + 1];
			if (a == b)
				continue;
			CHECK_OK(lfx_free(&f, h + a, b - a));
			/* the same part again: refused, nothing changes */
			CHECK_ERR(lfx_free(&f, h + a, b - a), FK_EUNUSED);
		}
		CHECK_ERR(lfx_free(&f, h, 512), FK_EUNUSED);
	}
	check_all_free_and_huge_again(&f);
	lfx_close(&f);
}

static void a_double_free_of_a_whole_huge_frame_after_a_part_is_refused(void)
{
	struct lfx f;
	uint64_t h;
	CHECK_OK(lfx_open(&f, 1));
	CHECK_OK(lfx_add(&f, BASE, FRAMES));
	CHECK_OK(lfx_alloc(&f, 512, 9, &h));
	CHECK_OK(lfx_free(&f, h + 100, 1));               /* a part */
	CHECK_ERR(lfx_free(&f, h, 512), FK_EUNUSED);       /* the whole: part is free */
	CHECK_EQ(lfx_stats(&f).free_frames, FRAMES - 511); /* nothing changed */
	CHECK_OK(lfx_free(&f, h, 100));
	CHECK_OK(lfx_free(&f, h + 101, 411));
	check_all_free_and_huge_again(&f);
	lfx_close(&f);
}

struct half {
	struct lfx *f;
	unsigned cpu;
	_Atomic uint64_t *go, *done;
	_Atomic uint64_t *pfn;
	uint64_t off, n;
	int bad;
};

#define ROUNDS 500

static void *half_main(void *p)
{
	struct half *h = p;
	lfx_pin(h->cpu);
	for (uint64_t round = 1; round <= ROUNDS; round++) {
		/* acquire: pairs with the release store of the round (the
		 * block's address is visible). */
		while (atomic_load_explicit(h->go, memory_order_acquire) < round)
			sched_yield();
		uint64_t pfn = atomic_load_explicit(h->pfn, memory_order_relaxed);
		if (lfx_free(h->f, pfn + h->off, h->n))
			h->bad++;
		/* release: our free happens-before the next round's alloc. */
		atomic_fetch_add_explicit(h->done, 1, memory_order_release);
	}
	return NULL;
}

/* Two CPUs free the two halves of one huge frame at the same instant: both
 * convert the block (one converts, the other helps or finds it done), both
 * frees succeed, and the area is whole again for the next round. */
static void two_cpus_freeing_parts_of_one_huge_frame_at_once_both_succeed(void)
{
	struct lfx f;
	_Atomic uint64_t go = 0, done = 0, pfn = 0;
	struct half hs[2];
	pthread_t t[2];
	CHECK_OK(lfx_open(&f, 2));
	CHECK_OK(lfx_add(&f, BASE, FRAMES));
	for (unsigned i = 0; i < 2; i++) {
		hs[i] = (struct half){.f = &f, .cpu = i, .go = &go, .done = &done, .pfn = &pfn,
		                      .off = i ? 200 : 0, .n = i ? 312 : 200};
		CHECK(pthread_create(&t[i], NULL, half_main, &hs[i]) == 0);
	}
	int bad = 0;
	for (uint64_t round = 1; round <= ROUNDS; round++) {
		/* After a failed round the racers still run (they wait for
		 * every round): they free at pfn 0, outside the added range,
		 * which is refused and counted, and changes nothing. */
		uint64_t h = 0;
		if (bad || lfx_alloc(&f, 512, 9, &h)) {
			bad = 1;
			h = 0;
		}
		atomic_store_explicit(&pfn, h, memory_order_relaxed);
		/* release: pairs with the racers' acquire of the round. */
		atomic_store_explicit(&go, round, memory_order_release);
		/* acquire: pairs with the racers' release increments. */
		while (atomic_load_explicit(&done, memory_order_acquire) < 2 * round)
			sched_yield();
	}
	for (unsigned i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	CHECK_EQ(bad, 0);
	CHECK_EQ(hs[0].bad + hs[1].bad, 0);
	check_all_free_and_huge_again(&f);
	lfx_close(&f);
}

int main(int argc, char **argv)
{
	fk_test_args(argc, argv);
	RUN(a_huge_frame_freed_in_parts_in_any_order_comes_back_whole);
	RUN(a_double_free_of_a_whole_huge_frame_after_a_part_is_refused);
	RUN(two_cpus_freeing_parts_of_one_huge_frame_at_once_both_succeed);
	return fk_test_finish();
}
