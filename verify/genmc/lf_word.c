/*
 * lf_word: one bit-field word of the lockfree allocator (bits.h, area.h)
 * with its claim, and its neighbour. Word 0 is CPU slot 1's cache
 * (claimed) with frames 0 and 1 free in it; B holds frames 2 and 33; frame
 * 32 (word 1, unclaimed) is free with its quota, the counter's only one;
 * every other frame is allocated. Concurrently:
 *   A  slot 1 takes three frames from its cache (lf_cache_take; retires
 *      the word when it finds it empty) and writes each frame it gets;
 *   B  writes frame 2 and frees it (lf_bits_free1 from slot 2: into the
 *      cache, or to the counter once the word is retired), then frees
 *      frame 33 (which may claim word 1 for slot 2 if it is full);
 *   C  frees frame 33 again (a double free, from a slot with no free
 *      cache entry), then drains word 0 (lf_area_retire, any claim);
 *   E  takes one frame with quota (lf_area_alloc1, the reserved-area path,
 *      searching from word 1) and writes it.
 * A can take only frames 0, 1, 2 and E only frame 32 (the lowest clear bit
 * first), so frame 33 is never taken and its two frees race with nothing
 * else; frame 2 goes from B to A when A's third take finds it.
 * Property: exactly one of the two frees of frame 33 succeeds; no frame is
 * taken twice; a taker's write is ordered after the frame's last owner's
 * (GenMC's race check: B's release free, A's acquire take); afterwards
 * every taken frame is allocated, the free ones are exactly those not
 * taken, and the counter equals the clear bits of unclaimed words.
 *
 * expect: pass
 * mutations: 1 2 4
 *   1 every acquire in the lockfree headers weakened to relaxed
 *   2 every release in the lockfree headers weakened to relaxed
 *   4 C's free without its check (lf_bits_clear_owned: an owned free)
 */
#include "lf_fixture.h"

#define LF_MUT_UNCHECKED_FREE 4

static int taken[LF_AREA_FRAMES]; /* read after join */
static int a_got[3] = {-1, -1, -1}, e_got = -1;
static int b2_ok, b_ok, c_ok;

static void *thread_a(void *arg)
{
	(void)arg;
	for (int i = 0; i < 3; i++) {
		bool last = false;
		int b = lf_cache_take(&lfg_areas[0].bits.w[0], 1, &last);
		if (b == -2)
			lf_area_retire(&lfg_chunk, 0, 0, 1);
		if (b < 0)
			break;
		a_got[i] = b;
		lfg_data[b] = 10 + i;
	}
	return NULL;
}

/* A one-frame free as lf_dealloc does it (no whole-area block here). */
static int free1(unsigned pfn, uint64_t id)
{
	bool claimed;
	int q = lf_bits_free1(&lfg_areas[0].bits.w[pfn / LF_WORD_FRAMES], 1ull << (pfn % 32), id,
	                      &lfg_areas[0].owner, &claimed);
	if (q == 1)
		lf_area_give(&lfg_chunk, 0, 1);
	return q >= 0;
}

static void *thread_b(void *arg)
{
	(void)arg;
	lfg_data[2] = 2; /* B's last use of frame 2 */
	b2_ok = free1(2, 2);
	b_ok = free1(33, 2);
	return NULL;
}

static void *thread_c(void *arg)
{
	(void)arg;
#if FK_MUTATION == LF_MUT_UNCHECKED_FREE
	unsigned q = lf_bits_clear_owned(&lfg_areas[0].bits, 33, 1);
	if (q)
		lf_area_give(&lfg_chunk, 0, q);
	c_ok = 1;
#else
	c_ok = free1(33, 0);
#endif
	lf_area_retire(&lfg_chunk, 0, 0, 0); /* drain */
	return NULL;
}

static void *thread_e(void *arg)
{
	(void)arg;
	uint64_t pfn;
	if (lf_area_alloc1(&lfg_chunk, 0, &pfn, 1)) {
		e_got = (int)pfn;
		lfg_data[pfn] = 20;
	}
	return NULL;
}

int main(void)
{
	lfg_init(1, LF_WORD_BITS);
	lfg_set(0, (1ull << LF_CLAIM_SHIFT) | (LF_WORD_BITS & ~3ull)); /* slot 1: 0, 1 free */
	lfg_set(1, LF_WORD_BITS & ~1ull);                              /* frame 32 free */
	pthread_t t[4];
	pthread_create(&t[0], NULL, thread_a, NULL);
	pthread_create(&t[1], NULL, thread_b, NULL);
	pthread_create(&t[2], NULL, thread_c, NULL);
	pthread_create(&t[3], NULL, thread_e, NULL);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	assert(b2_ok);
	assert(b_ok + c_ok == 1);
	int got[4] = {a_got[0], a_got[1], a_got[2], e_got}, nr_got = 0;
	for (int i = 0; i < 4; i++) {
		if (got[i] < 0)
			continue;
		assert(got[i] <= 2 || got[i] == 32); /* never frame 33 (above) */
		assert(!taken[got[i]]);
		taken[got[i]] = 1;
		nr_got++;
		assert(lfg_all_set((unsigned)got[i], 1));
	}
	/* Free now: frames 0, 1, 2, 32, 33 less the taken ones, nothing else. */
	assert(lf_word_clear(lfg_word(0)) + lf_word_clear(lfg_word(1)) == (unsigned)(5 - nr_got));
	for (int p = 0; p < 3; p++)
		assert(lfg_all_set((unsigned)p, 1) == taken[p]);
	assert(lfg_all_set(32, 1) == taken[32]);
	assert(!lfg_all_set(33, 1));
	lfg_check_quota();
	return 0;
}
