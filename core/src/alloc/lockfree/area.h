/* SPDX-License-Identifier: MIT */
/*
 * lockfree: every transition of an area's counter word, and allocation
 * inside one area.
 *
 * Invariant (the quota rule, LLFree's): an area's free counter never exceeds
 * the number of its clear bits. Allocation first takes quota from the
 * counter, then sets bits; freeing clears bits first, then gives quota back.
 * So a counter of 512 means every bit is clear, and a holder of quota always
 * finds enough clear bits (possibly not contiguous: then it gives the quota
 * back).
 */
#ifndef FK_LOCKFREE_AREA_H
#define FK_LOCKFREE_AREA_H

#include "bits.h"

/* Unroll the next loop over an area's LF_AREA_WORDS words (gcc and clang
 * both read this pragma; another compiler ignores it). */
#if defined(__GNUC__)
#define LF_UNROLL_WORDS _Pragma("GCC unroll 16")
#else
#define LF_UNROLL_WORDS
#endif

/* Take n frames of quota from counter c; false if fewer are free. */
static inline bool lf_ctr_take(_Atomic uint32_t *c, unsigned n)
{
	/* relaxed: the CAS below revalidates the value. */
	uint32_t v = atomic_load_explicit(c, memory_order_relaxed);
	do {
		if ((v & LF_CTR_FREE) < n)
			return false;
		/* acquire: pairs with the seq_cst (release) increment in lf_area_give
		 * (every RMW on the counter continues its release sequence),
		 * so the bit clears made before that free are visible to our
		 * bit-field scan: quota implies visibly clear bits. */
		FK_SCHED_POINT();
	} while (!atomic_compare_exchange_weak_explicit(c, &v, v - n, memory_order_acquire,
	                                                memory_order_relaxed));
	FK_SCHED_POINT();
	return true;
}

/* May counter value v be reserved: unreserved, with free in [lo, hi]? */
static inline bool lf_ctr_reservable(uint32_t v, unsigned lo, unsigned hi)
{
	return !(v & LF_CTR_RESERVED) && (v & LF_CTR_FREE) >= lo && (v & LF_CTR_FREE) <= hi;
}

/* Set the reserved flag of an unreserved area with free in [lo, hi]. */
static inline bool lf_ctr_reserve(_Atomic uint32_t *c, unsigned lo, unsigned hi)
{
	/* relaxed: the flag is a placement hint that orders no data; the
	 * frames are handed off through the counter and bit field. */
	uint32_t v = atomic_load_explicit(c, memory_order_relaxed);
	do {
		if (!lf_ctr_reservable(v, lo, hi))
			return false;
		FK_SCHED_POINT();
	} while (!atomic_compare_exchange_weak_explicit(c, &v, v | LF_CTR_RESERVED,
	                                                memory_order_relaxed, memory_order_relaxed));
	FK_SCHED_POINT();
	return true;
}

static inline void lf_ctr_unreserve(_Atomic uint32_t *c)
{
	/* relaxed: see lf_ctr_reserve. */
	FK_SCHED_POINT();
	atomic_fetch_and_explicit(c, ~LF_CTR_RESERVED, memory_order_relaxed);
	FK_SCHED_POINT();
}

static inline uint32_t lf_ctr_peek(_Atomic uint32_t *c)
{
	/* relaxed: a pre-filter or statistics snapshot; takers revalidate. */
	return atomic_load_explicit(c, memory_order_relaxed);
}

/*
 * The free map. A giver whose quota makes the area fully free sets its bit
 * (after a load: usually it is set already); a searcher that finds a set bit
 * on an area that is not fully free clears it, then rechecks the counter.
 * seq_cst on the four accesses (giver: counter RMW, bit load; searcher: bit
 * RMW, counter load) makes them a Dekker pair: either the giver sees the
 * bit clear and sets it, or the searcher sees 512 and sets it back. So a
 * fully free area always has its bit set.
 */
static inline void lf_freemap_mark(struct lf_chunk *r, uint32_t k)
{
	_Atomic uint64_t *w = lf_freemap_word(r, k / 64);
	uint64_t m = 1ull << (k % 64);
	/* seq_cst, both: the giver's half of the Dekker pair above. */
	FK_SCHED_POINT();
	if (!(atomic_load_explicit(w, memory_order_seq_cst) & m))
		atomic_fetch_or_explicit(w, m, memory_order_seq_cst);
	FK_SCHED_POINT();
}

static inline void lf_freemap_clear(struct lf_chunk *r, uint32_t k)
{
	_Atomic uint64_t *w = lf_freemap_word(r, k / 64);
	uint64_t m = 1ull << (k % 64);
	/* seq_cst, all: the searcher's half of the Dekker pair above. */
	FK_SCHED_POINT();
	atomic_fetch_and_explicit(w, ~m, memory_order_seq_cst);
	FK_SCHED_POINT();
	if ((atomic_load_explicit(&r->areas[k].ctr, memory_order_seq_cst) & LF_CTR_FREE) ==
	    LF_AREA_FRAMES)
		atomic_fetch_or_explicit(w, m, memory_order_seq_cst);
	FK_SCHED_POINT();
}

/* Give n frames of quota back to area k of r (bits already cleared). */
static inline void lf_area_give(struct lf_chunk *r, uint32_t k, unsigned n)
{
	/* seq_cst (a release and more): pairs with the acquire CAS in
	 * lf_ctr_take/lf_area_take_whole: our bit clears (and the freed
	 * frames' last writes) happen-before any use of this quota; and the
	 * giver's counter RMW of the free map's Dekker pair. Linearisation
	 * point of a free. */
	FK_SCHED_POINT();
	uint32_t old = atomic_fetch_add_explicit(&r->areas[k].ctr, n, memory_order_seq_cst);
	FK_SCHED_POINT();
	if ((old & LF_CTR_FREE) + n == LF_AREA_FRAMES)
		lf_freemap_mark(r, k);
}

/*
 * Retire word j of area k of r if claimed by id (any claim if id is 0) and
 * give its clear bits' quota to the counter. True if a claim was retired.
 */
static inline bool lf_area_retire(struct lf_chunk *r, uint32_t k, unsigned j, uint64_t id)
{
	int c = lf_word_retire(&r->areas[k].bits.w[j], id);
	if (c > 0) {
		LF_PAUSE(LF_PAUSE_RETIRED);
		lf_area_give(r, k, (unsigned)c);
	}
	return c >= 0;
}

/*
 * Claim word j of area k of r for slot id, the word of a frame just taken
 * from it: quota for its clear bits first (none left, or already claimed:
 * no claim), then the claim CAS (lf_word_claim_cas). True if claimed.
 */
static inline bool lf_area_claim(struct lf_chunk *r, uint32_t k, unsigned j, uint64_t id)
{
	_Atomic uint64_t *w = &r->areas[k].bits.w[j];
	/* relaxed: a snapshot; the claim CAS validates it. */
	uint64_t v = atomic_load_explicit(w, memory_order_relaxed);
	unsigned c = lf_word_clear(v);
	if (lf_word_claim(v) || c == 0)
		return false;
	if (!lf_ctr_take(&r->areas[k].ctr, c))
		return false;
	if (lf_word_claim_cas(w, v, id))
		return true;
	lf_area_give(r, k, c); /* the word changed: no claim, quota back */
	return false;
}

/*
 * The first n (1..512) frames of area k: counter 512 -> 0, the n frames'
 * bits set, and the quota of the rest (the tail of a rounded-up request)
 * given back. The tail's bits stay clear throughout, so a concurrent small
 * request that meets the counter at 0 sees them (lf_block_visible) and
 * searches again instead of failing (LOCKFREE.md, "Progress").
 *
 * Huge frames: n = 512 also sets LF_CTR_HUGE in the same CAS and marks
 * every word LF_WORD_HUGE (all bits set, claim LF_CLAIM_HUGE), so a free of
 * the whole area is two RMWs on the counter (lf_area_free_whole) instead
 * of one per word. A free of a sub-range that meets a marked word converts
 * the area first (lf_area_unhuge).
 */
static inline bool lf_area_take_head(struct lf_chunk *r, uint32_t k, unsigned n)
{
	uint32_t v = lf_ctr_peek(&r->areas[k].ctr), nv;
	do {
		if ((v & LF_CTR_FREE) != LF_AREA_FRAMES)
			return false;
		nv = (v & ~LF_CTR_FREE) | (n == LF_AREA_FRAMES ? LF_CTR_HUGE : 0);
		/* acquire: pairs with lf_area_give's release: all 512 bits are
		 * clear and visible, and the last frees happen-before. The
		 * reserved flag is kept. Linearisation point of order 9. */
		FK_SCHED_POINT();
	} while (!atomic_compare_exchange_weak_explicit(&r->areas[k].ctr, &v, nv,
	                                                memory_order_acquire,
	                                                memory_order_relaxed));
	FK_SCHED_POINT();
	/* relaxed, all: with the quota at 0 nobody else may set these bits,
	 * and no word is claimed (a counter of 512 means every word's bits
	 * are clear and unclaimed: claims take quota first); the next owner
	 * acquires through the counter RMW that ends our ownership (release),
	 * and the tail's quota is given back below with a release RMW. */
	if (n == LF_AREA_FRAMES) {
		/* Unrolled: 16 stores to two private lines; the loop's own
		 * compare and increment were 48 of its 112 instructions. */
		LF_UNROLL_WORDS
		for (unsigned i = 0; i < LF_AREA_WORDS; i++)
			atomic_store_explicit(&r->areas[k].bits.w[i], LF_WORD_HUGE,
			                      memory_order_relaxed);
		return true;
	}
	for (unsigned i = 0; i < n / LF_WORD_FRAMES; i++)
		atomic_store_explicit(&r->areas[k].bits.w[i], LF_WORD_BITS, memory_order_relaxed);
	if (n % LF_WORD_FRAMES)
		atomic_store_explicit(&r->areas[k].bits.w[n / LF_WORD_FRAMES],
		                      lf_word_mask(0, n % LF_WORD_FRAMES), memory_order_relaxed);
	lf_area_give(r, k, LF_AREA_FRAMES - n);
	return true;
}

/*
 * Free area k taken whole (LF_CTR_HUGE): 1 if done, 0 if it is not a
 * whole-area block any more (converted for a sub-range free: the caller
 * frees word by word), -1 if another thread is freeing it whole (a double
 * free: nothing changed). One CAS HUGE -> FREEING makes us the only owner
 * (of two frees of the block exactly one passes it); the words are then
 * cleared with stores, and one RMW gives the 512 frames and drops FREEING.
 */
static inline int lf_area_free_whole(struct lf_chunk *r, uint32_t k)
{
	_Atomic uint32_t *c = &r->areas[k].ctr;
	uint32_t v = lf_ctr_peek(c);
	do {
		if (v & LF_CTR_FREEING)
			return -1;
		if (!(v & LF_CTR_HUGE))
			return 0;
		/* relaxed: an ownership token; the frames' hand-off is the
		 * seq_cst RMW below, which the next taker acquires. */
		FK_SCHED_POINT();
	} while (!atomic_compare_exchange_weak_explicit(c, &v, (v & ~LF_CTR_HUGE) | LF_CTR_FREEING,
	                                                memory_order_relaxed,
	                                                memory_order_relaxed));
	FK_SCHED_POINT();
	/* relaxed, all: the area is ours alone (FREEING: no quota to take, a
	 * free of a sub-range backs off); ordered before the RMW below.
	 * Unrolled, as in lf_area_take_head. */
	LF_UNROLL_WORDS
	for (unsigned i = 0; i < LF_AREA_WORDS; i++)
		atomic_store_explicit(&r->areas[k].bits.w[i], 0, memory_order_relaxed);
	/* seq_cst: as lf_area_give (pairs with the acquire quota CAS of the
	 * next taker; the free map's Dekker pair). Adds 512 and clears
	 * FREEING (set, so the subtraction borrows nothing); keeps RESERVED.
	 * Linearisation point of the free. */
	FK_SCHED_POINT();
	atomic_fetch_add_explicit(c, LF_AREA_FRAMES - LF_CTR_FREEING, memory_order_seq_cst);
	FK_SCHED_POINT();
	lf_freemap_mark(r, k);
	return 1;
}

/*
 * Before a free of part of area k, when it met a word of a whole-area block
 * (LF_CLAIM_HUGE): make the block a normal allocated area. First the
 * counter's HUGE flag goes (one CAS, so a later free of the whole block
 * takes the checked path), then every word LF_WORD_HUGE -> all bits set,
 * unclaimed (a CAS each). Both mean "allocated" to every other path, so the
 * conversion is idempotent and safe at any time: threads that meet the
 * block at once all convert, nobody waits, and a late CAS of a thread
 * preempted across a free and a new take of the block converts a word of
 * the new block, which changes nothing either. False if the block is being
 * freed whole (FREEING): the part is freed by that free, so ours is a
 * double free.
 */
static inline bool lf_area_unhuge(struct lf_chunk *r, uint32_t k)
{
	_Atomic uint32_t *c = &r->areas[k].ctr;
	uint32_t v = lf_ctr_peek(c);
	for (;;) {
		if (v & LF_CTR_FREEING)
			return false;
		if (!(v & LF_CTR_HUGE))
			break;
		/* relaxed: no frame changes hands (every frame of the block
		 * stays allocated); the flag only gates lf_area_free_whole. */
		FK_SCHED_POINT();
		if (atomic_compare_exchange_weak_explicit(c, &v, v & ~LF_CTR_HUGE, memory_order_relaxed,
		                                          memory_order_relaxed))
			break;
	}
	FK_SCHED_POINT();
	for (unsigned i = 0; i < LF_AREA_WORDS; i++) {
		uint64_t h = LF_WORD_HUGE;
		LF_PAUSE(LF_PAUSE_UNHUGE_WORD);
		/* relaxed: as above; the release RMWs of the frees that follow
		 * publish the frames. Fails harmlessly on a converted word. */
		FK_SCHED_POINT();
		atomic_compare_exchange_strong_explicit(&r->areas[k].bits.w[i], &h, LF_WORD_BITS,
		                                        memory_order_relaxed, memory_order_relaxed);
		FK_SCHED_POINT();
	}
	return true;
}

/*
 * Free [pfn, pfn+n) inside area k of r that we own (no check): the quota of
 * the frames that landed in unclaimed words goes back (the others joined a
 * cache, whose retirement gives theirs). A whole-area block we took goes
 * back whole; a part of one is converted first.
 */
static inline void lf_area_free_owned(struct lf_chunk *r, uint32_t k, uint64_t pfn, unsigned n)
{
	if (n == LF_AREA_FRAMES && lf_area_free_whole(r, k) == 1)
		return;
	if (lf_ctr_peek(&r->areas[k].ctr) & LF_CTR_HUGE)
		lf_area_unhuge(r, k); /* ours: nobody else frees it, nor whole */
	unsigned q = lf_bits_clear_owned(&r->areas[k].bits, (unsigned)(pfn - lf_area_pfn(r, k)), n);
	if (q)
		lf_area_give(r, k, q);
}

/* The whole area k: counter 512 -> 0, then all bits set. */
static inline bool lf_area_take_whole(struct lf_chunk *r, uint32_t k)
{
	return lf_area_take_head(r, k, LF_AREA_FRAMES);
}

/* Frames of quota a request for n frames aligned to 2^align needs in one area. */
static inline unsigned lf_area_need(unsigned n, unsigned align)
{
	unsigned o = fk_order_ceil(n);
	if ((1u << o) == n && align < o)
		align = o;
	if (n > 256 || align >= LF_AREA_ORDER)
		return LF_AREA_FRAMES;
	if (n > LF_WORD_FRAMES || align > LF_WORD_ORDER)
		return 1u << (o > align ? (o > 6 ? o : 6) : align);
	return n;
}

/* One frame from area k of r: the order-0 fast path of lf_area_alloc. */
static inline bool lf_area_alloc1(struct lf_chunk *r, uint32_t k, uint64_t *pfn, unsigned hint)
{
	if (!lf_ctr_take(&r->areas[k].ctr, 1))
		return false;
	int at = lf_bits_take_small(&r->areas[k].bits, 1, 1, hint);
	if (at < 0) {
		lf_area_give(r, k, 1);
		return false;
	}
	*pfn = lf_area_pfn(r, k) + (unsigned)at;
	return true;
}

/*
 * Allocate n (<= 512) frames aligned to 2^align (<= 9) in area k of r.
 * Power-of-two sizes are naturally aligned; others get exact bits (n <= 32)
 * or the head of a rounded-up block whose tail is never taken.
 */
static inline bool lf_area_alloc(struct lf_chunk *r, uint32_t k, unsigned n, unsigned align,
                                 uint64_t *pfn, unsigned hint)
{
	unsigned o = fk_order_ceil(n);
	if ((1u << o) == n && align < o)
		align = o;
	if (n > 256 || align >= LF_AREA_ORDER) {
		if (!lf_area_take_head(r, k, n))
			return false;
		*pfn = lf_area_pfn(r, k);
		return true;
	}
	if (n > LF_WORD_FRAMES || align > LF_WORD_ORDER) {
		unsigned bo = o > align ? o : align; /* 6, 7 or 8: 2, 4 or 8 words */
		if (bo < LF_WORD_ORDER + 1)
			bo = LF_WORD_ORDER + 1;
		/* Quota for the n frames only: a rounded-up block's tail is
		 * never taken (lf_bits_take_words). */
		if (!lf_ctr_take(&r->areas[k].ctr, n))
			return false;
		int at = lf_bits_take_words(&r->areas[k].bits, bo, n);
		if (at < 0) {
			lf_area_give(r, k, n);
			return false;
		}
		*pfn = lf_area_pfn(r, k) + (unsigned)at;
		return true;
	}
	if (!lf_ctr_take(&r->areas[k].ctr, n))
		return false;
	LF_PAUSE(LF_PAUSE_QUOTA_HELD);
	int at = lf_bits_take_small(&r->areas[k].bits, n, 1u << align, hint);
	if (at < 0) {
		lf_area_give(r, k, n);
		return false;
	}
	*pfn = lf_area_pfn(r, k) + (unsigned)at;
	return true;
}

#endif /* FK_LOCKFREE_AREA_H */
