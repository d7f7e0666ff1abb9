/*
 * lf_huge: parts of one whole-area block (order 9) freed concurrently
 * (area.h: lf_area_unhuge; bits.h: lf_bits_release, lf_bits_free1), the
 * interleaving of issue 18's defect 1. Area 0 is taken whole (counter flag
 * LF_CTR_HUGE, every word LF_WORD_HUGE). Concurrently, as lf_dealloc drives
 * the headers (a free that meets a marked word converts the block and
 * tries again):
 *   B  frees frame 0 (one frame: lf_bits_free1), converting the block;
 *   A  writes frame 32, then frees frames [32, 96), words 1 and 2
 *      (lf_bits_release), converting the block if it meets a marked word;
 *   C  frees [1, 20) and [21, 32) of word 0 (giving their quota), then
 *      takes 20 frames with quota (lf_area_alloc, searching from word 1:
 *      A's frames fit, or [0, 20) once B freed frame 0) and writes the
 *      first.
 * Property: every free succeeds; C's frames, if it got any, are still
 * allocated at the end (at 12462eb A's release cleared word 1, met word 2
 * still marked, set word 1 again and retried, and in between C took word
 * 1's frames, which the retried release then freed under it: the harness
 * fails there, results/genmc/); C's write is ordered after A's (GenMC's
 * race check); afterwards no word is marked, the counter has no flag and
 * equals the clear bits.
 *
 * expect: pass
 * mutations: 1 2 4
 *   1 every acquire in the lockfree headers weakened to relaxed
 *   2 every release in the lockfree headers weakened to relaxed
 *   4 A frees without meeting the marks (lf_bits_clear_owned, as if the
 *     block were converted already)
 */
#include "lf_fixture.h"

#define LF_MUT_NO_CONVERSION 4

static int a_ok, b_ok, c_ok1, c_ok2, c_got = -1;

/* A part free of area 0 as lf_dealloc does it: release, converting the
 * block and trying again while the release meets a marked word; then the
 * quota of the frames that landed in unclaimed words. */
static int free_part(unsigned first, unsigned n)
{
	int q;
	while ((q = lf_bits_release(&lfg_areas[0].bits, first, n)) == -2)
		if (!lf_area_unhuge(&lfg_chunk, 0))
			return 0;
	if (q > 0)
		lf_area_give(&lfg_chunk, 0, (unsigned)q);
	return q >= 0;
}

static void *thread_b(void *arg)
{
	(void)arg;
	bool claimed;
	int q;
	while ((q = lf_bits_free1(&lfg_areas[0].bits.w[0], 1, 0, &lfg_areas[0].owner, &claimed)) ==
	       -2)
		if (!lf_area_unhuge(&lfg_chunk, 0))
			return NULL;
	if (q == 1)
		lf_area_give(&lfg_chunk, 0, 1);
	b_ok = q >= 0;
	return NULL;
}

static void *thread_a(void *arg)
{
	(void)arg;
	lfg_data[32] = 1; /* A's last use of its frames */
#if FK_MUTATION == LF_MUT_NO_CONVERSION
	unsigned q = lf_bits_clear_owned(&lfg_areas[0].bits, 32, 64);
	if (q)
		lf_area_give(&lfg_chunk, 0, q);
	a_ok = 1;
#else
	a_ok = free_part(32, 64);
#endif
	return NULL;
}

static void *thread_c(void *arg)
{
	(void)arg;
	uint64_t pfn;
	c_ok1 = free_part(1, 19);
	c_ok2 = free_part(21, 11);
	if (lf_area_alloc(&lfg_chunk, 0, 20, 0, &pfn, 1)) {
		c_got = (int)pfn;
		lfg_data[pfn] = 3;
	}
	return NULL;
}

int main(void)
{
	lfg_init(LF_CTR_HUGE, LF_WORD_HUGE); /* lf_area_take_whole's result */
	pthread_t t[3];
	pthread_create(&t[0], NULL, thread_b, NULL);
	pthread_create(&t[1], NULL, thread_a, NULL);
	pthread_create(&t[2], NULL, thread_c, NULL);
	for (int i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	assert(a_ok && b_ok && c_ok1 && c_ok2);
	unsigned taken = 0;
	if (c_got >= 0) {
		/* A's words, or [0, 20) once B's frame joined C's run */
		assert(c_got == 0 || c_got == 32 || c_got == 64);
		assert(lfg_all_set((unsigned)c_got, 20));
		taken = 20;
	}
	assert(!(lfg_ctr() & (LF_CTR_HUGE | LF_CTR_FREEING)));
	lfg_check_quota();
	/* Free: frame 0, C's 30, A's 64, less what C took. */
	unsigned clear = 0;
	for (unsigned i = 0; i < LF_AREA_WORDS; i++)
		clear += lf_word_clear(lfg_word(i));
	assert(clear == 1 + 30 + 64 - taken);
	return 0;
}
