/*
 * lf_retire: a retirement of a cached word racing a whole-area request,
 * issue 18's defect 2. One area; word 0 is CPU slot 1's cache (claimed)
 * with every frame of it free except frame 5, which P holds; the other
 * words are free and unclaimed; the counter has their 480 frames. Compiled
 * with the real reserve.c (placement, lf_retire_node, lf_block_visible,
 * lf_drain). Concurrently:
 *   P  frees frame 5 (lf_bits_free1: into the cache, or to the counter
 *      once the word is retired), then says so (release flag);
 *   D  drains (lf_drain: every claim retires; a retirement is a CAS on the
 *      word, then the quota given to the counter);
 *   H  once P's free is in (acquire flag), every frame is free: it asks
 *      for the whole area (order 9: lf_alloc_node) as lf_alloc_retry does:
 *      retire the node's claims and search again; FK_ENOMEM once a search
 *      failed, nothing was retired and the bit fields show no fitting
 *      block (lf_block_visible); while they show one, search again (the
 *      bounded wait; GenMC explores the waits, --unroll bounds them).
 * Property: H gets the area, and then the counter is 0 with every word
 * set. At 12462eb lf_block_visible answered "no" for whole areas and H
 * failed while D sat between its CAS and its give (results/genmc/).
 *
 * expect: pass
 * genmc: --unroll=4
 * mutations: 4 5
 *   4 H does not wait while the bit fields show the block (12462eb's
 *     answer for whole areas)
 *   5 H fails after one failed search (no retirement, no retry)
 */
#include "lf_fixture.h"

#define LF_MUT_NO_WAIT  4
#define LF_MUT_NO_RETRY 5

#include "alloc/lockfree/reserve.c"

/* reserve.c's span_take gives a recycled record's frames back with it
 * (chunk.c); one area, one live record: never called here. */
void lf_range_free(struct lf_chunk *r, uint64_t pfn, uint64_t n)
{
	(void)r, (void)pfn, (void)n;
	assert(0);
}

static struct lockfree lfg_lf;
static struct lf_res lfg_res[1];
static int h_ok;
static _Atomic int p_done;

static void *thread_p(void *arg)
{
	(void)arg;
	bool claimed;
	int q = lf_bits_free1(&lfg_areas[0].bits.w[0], 1ull << 5, 0, &lfg_areas[0].owner, &claimed);
	assert(q >= 0);
	if (q == 1)
		lf_area_give(&lfg_chunk, 0, 1);
	atomic_store_explicit(&p_done, 1, memory_order_release);
	return NULL;
}

static void *thread_d(void *arg)
{
	(void)arg;
	lf_drain(&lfg_lf);
	return NULL;
}

static void *thread_h(void *arg)
{
	(void)arg;
	uint64_t pfn;
	while (!atomic_load_explicit(&p_done, memory_order_acquire))
		;
	for (unsigned tries = 0;; tries++) {
		if (lf_alloc_node(&lfg_lf, 0, 0, LF_AREA_FRAMES, LF_AREA_ORDER, &pfn)) {
			h_ok = pfn == 0;
			return NULL;
		}
#if FK_MUTATION == LF_MUT_NO_RETRY
		return NULL;
#endif
		if (lf_retire_node(&lfg_lf, 0))
			continue;
#if FK_MUTATION == LF_MUT_NO_WAIT
		if (tries)
			return NULL;
#else
		if (tries && !lf_block_visible(&lfg_lf, 0, LF_AREA_FRAMES, LF_AREA_ORDER))
			return NULL; /* FK_ENOMEM */
#endif
	}
}

int main(void)
{
	lfg_init(LF_AREA_FRAMES - LF_WORD_FRAMES, 0);
	lfg_set(0, (1ull << LF_CLAIM_SHIFT) | (1ull << 5)); /* slot 1's cache; frame 5 held */
	lfg_lf.nr_nodes = 1;
	lfg_lf.nr_cpus = 1;
	lfg_lf.res = lfg_res;
	atomic_store_explicit(&lfg_lf.nr_chunks, 1, memory_order_relaxed);
	atomic_store_explicit(&lfg_lf.chunks[0], &lfg_chunk, memory_order_relaxed);
	pthread_t t[3];
	pthread_create(&t[0], NULL, thread_p, NULL);
	pthread_create(&t[1], NULL, thread_d, NULL);
	pthread_create(&t[2], NULL, thread_h, NULL);
	for (int i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	assert(h_ok);
	assert((lfg_ctr() & LF_CTR_FREE) == 0);
	for (unsigned i = 0; i < LF_AREA_WORDS; i++)
		assert(lfg_word(i) == LF_WORD_HUGE);
	return 0;
}
