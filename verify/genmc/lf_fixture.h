/*
 * Shared scaffolding of the lockfree harnesses (verify/genmc/lf_*.c; not a
 * harness itself). One chunk of one area, built by hand in the state a
 * harness names, and driven only by the real transitions of
 * core/src/alloc/lockfree/bits.h and area.h (lf_retire.c also compiles the
 * real reserve.c). Each frame has a plain int of "contents": an owner
 * writes it, and GenMC reports a data race if a frame's next owner is not
 * ordered after its last one.
 *
 * Mutations shared by the harnesses, selected with -DFK_MUTATION=<k>
 * before the headers are read (a harness may add its own, numbered from 4):
 *   LF_MUT_ACQUIRE_RELAXED  every acquire (and acq_rel's acquire half) in
 *                           the lockfree headers weakened to relaxed
 *   LF_MUT_RELEASE_RELAXED  every release (and acq_rel's release half)
 *                           weakened to relaxed
 */
#ifndef LF_FIXTURE_H
#define LF_FIXTURE_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* sched_getcpu, as the library is built */
#endif
#include <assert.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#define LF_MUT_ACQUIRE_RELAXED 1
#define LF_MUT_RELEASE_RELAXED 2
#ifndef FK_MUTATION
#define FK_MUTATION 0
#endif
#if FK_MUTATION == LF_MUT_ACQUIRE_RELAXED
#define memory_order_acquire memory_order_relaxed
#define memory_order_acq_rel memory_order_release
#elif FK_MUTATION == LF_MUT_RELEASE_RELAXED
#define memory_order_release memory_order_relaxed
#define memory_order_acq_rel memory_order_acquire
#endif

#include "alloc/lockfree/area.h"

static struct lf_area lfg_areas[1];
static _Atomic uint64_t lfg_freemap[LF_FREEMAP_STRIDE];
static _Atomic uint64_t lfg_absent[LF_AREA_FRAMES / 64];
static struct lf_chunk lfg_chunk;
/* Frame contents (plain). Not static: a store to a static array nobody
 * reads is dead at -O1, and GenMC would check nothing. */
int lfg_data[LF_AREA_FRAMES];

/* The chunk of one area at pfn 0: counter ctr, every word `word` (a
 * harness then sets the words it names with lfg_set), no free map bit (a
 * searcher may always find it clear). Before any thread starts. Stores,
 * not atomic_init or array copies: GenMC rejects the memset/memcpy a
 * compiler makes of those. */
static void lfg_init(uint32_t ctr, uint64_t word)
{
	struct lf_chunk *r = &lfg_chunk;
	r->areas = lfg_areas;
	r->freemap = lfg_freemap;
	r->absent = lfg_absent;
	r->cap = 1;
	atomic_store_explicit(&r->start, 0, memory_order_relaxed);
	atomic_store_explicit(&r->end, LF_AREA_FRAMES, memory_order_relaxed);
	atomic_store_explicit(&r->area0, 0, memory_order_relaxed);
	atomic_store_explicit(&r->nr_absent, 0, memory_order_relaxed);
	atomic_store_explicit(&r->nr_areas, 1, memory_order_relaxed);
	atomic_store_explicit(&r->node, 0, memory_order_relaxed);
	atomic_store_explicit(&r->state, LF_LIVE, memory_order_relaxed);
	atomic_store_explicit(&r->hint, 0, memory_order_relaxed);
	atomic_store_explicit(&lfg_areas[0].ctr, ctr, memory_order_relaxed);
	atomic_store_explicit(&lfg_areas[0].owner, 0, memory_order_relaxed);
	for (unsigned i = 0; i < LF_AREA_WORDS; i++)
		atomic_store_explicit(&lfg_areas[0].bits.w[i], word, memory_order_relaxed);
	atomic_store_explicit(&lfg_freemap[0], 0, memory_order_relaxed);
}

static inline void lfg_set(unsigned i, uint64_t word)
{
	atomic_store_explicit(&lfg_areas[0].bits.w[i], word, memory_order_relaxed);
}

static inline uint64_t lfg_word(unsigned i)
{
	return atomic_load_explicit(&lfg_areas[0].bits.w[i], memory_order_relaxed);
}

static inline uint32_t lfg_ctr(void)
{
	return atomic_load_explicit(&lfg_areas[0].ctr, memory_order_relaxed);
}

/* Quiescent: the quota rule holds with equality (counter = clear bits of
 * unclaimed words; claimed words keep theirs), no word is a block's. */
static inline void lfg_check_quota(void)
{
	unsigned clear = 0;
	for (unsigned i = 0; i < LF_AREA_WORDS; i++) {
		uint64_t v = lfg_word(i);
		assert(lf_word_claim(v) != LF_CLAIM_HUGE);
		if (!lf_word_claim(v))
			clear += lf_word_clear(v);
	}
	assert((lfg_ctr() & LF_CTR_FREE) == clear);
}

/* Are all frames of [first, first + n) set right now (allocated)? */
static inline int lfg_all_set(unsigned first, unsigned n)
{
	for (unsigned p = first; p < first + n; p++)
		if (!(lfg_word(p / LF_WORD_FRAMES) & (1ull << (p % LF_WORD_FRAMES))))
			return 0;
	return 1;
}

#endif /* LF_FIXTURE_H */
