/*
 * lockfree: every transition of one bit-field word. A word is
 * claim << 32 | 32 frame bits (bit set = allocated or absent; claim 0 =
 * unclaimed, else the CPU slot + 1 whose cache the clear bits are).
 *
 * Takers CAS clear bits to set with acquire; releasers clear set bits with
 * release, so the previous owner's writes to the frames happen-before the
 * next owner's. A release checks and acts in one RMW per word: of two
 * frees of the same frames exactly one wins, and the old value it returns
 * says where the frames' quota goes: to the area counter (unclaimed word)
 * or nowhere (a claimed word: the frames joined that cache).
 *
 * Quota holders (area.h) take bits of unclaimed words only; a cache owner
 * takes bits of its claimed word without quota. A claim is set only with
 * quota for the word's clear bits taken first (lf_word_claim) and cleared
 * only with that quota given back (lf_word_retire), so the counter never
 * exceeds the clear bits of unclaimed words.
 */
#ifndef FK_LOCKFREE_BITS_H
#define FK_LOCKFREE_BITS_H

#include "lockfree_internal.h"

static inline uint64_t lf_word_mask(unsigned bit, unsigned n)
{
	return (n >= LF_WORD_FRAMES ? LF_WORD_BITS : ((1ull << n) - 1)) << bit;
}

static inline uint64_t lf_word_claim(uint64_t v)
{
	return v >> LF_CLAIM_SHIFT;
}

/* Clear frame bits of word value v. */
static inline unsigned lf_word_clear(uint64_t v)
{
	return (unsigned)__builtin_popcountll(~v & LF_WORD_BITS);
}

/* Split [first, first + n) of an area into word parts: the next part. */
static inline unsigned lf_word_part(unsigned first, unsigned n, unsigned *w, uint64_t *m)
{
	unsigned b = first % LF_WORD_FRAMES;
	unsigned k = LF_WORD_FRAMES - b < n ? LF_WORD_FRAMES - b : n;
	*w = first / LF_WORD_FRAMES;
	*m = lf_word_mask(b, k);
	return k;
}

/*
 * n (<= 32) contiguous clear bits at a multiple of step within one
 * unclaimed word (the caller holds n frames of quota).
 */
static inline int lf_bits_take_small(struct lf_bits *a, unsigned n, unsigned step, unsigned start)
{
	uint64_t m = lf_word_mask(0, n);
	for (unsigned i = 0; i < LF_AREA_WORDS; i++) {
		unsigned wi = (start + i) % LF_AREA_WORDS;
		/* relaxed: a snapshot for the search; the CAS validates it. */
		uint64_t w = atomic_load_explicit(&a->w[wi], memory_order_relaxed);
		for (;;) {
			unsigned p;
			if (lf_word_claim(w) || (w & LF_WORD_BITS) == LF_WORD_BITS)
				break; /* a cache's frames, or none clear */
			if (n == 1) {
				p = (unsigned)__builtin_ctzll(~w);
			} else {
				for (p = 0; p + n <= LF_WORD_FRAMES; p += step)
					if (!(w & (m << p)))
						break;
				if (p + n > LF_WORD_FRAMES)
					break;
			}
			/* acquire: pairs with the release RMW in lf_bits_release
			 * (hand-off of the frames from their last owner).
			 * Linearisation point of a small allocation. */
			if (atomic_compare_exchange_weak_explicit(&a->w[wi], &w, w | (m << p),
			                                          memory_order_acquire,
			                                          memory_order_relaxed))
				return (int)(wi * LF_WORD_FRAMES + p);
		}
	}
	return -1;
}

/*
 * The first n frames of a naturally aligned block of 2^o frames (o = 6, 7
 * or 8: 2, 4 or 8 whole words) whose words are all clear and unclaimed.
 * Only the n frames are set: the rest of a rounded-up block (its tail)
 * never looks allocated, so a concurrent request can take it at once
 * (LOCKFREE.md, "Progress").
 */
static inline int lf_bits_take_words(struct lf_bits *a, unsigned o, unsigned n)
{
	unsigned k = 1u << (o - LF_WORD_ORDER), used = (n + LF_WORD_FRAMES - 1) / LF_WORD_FRAMES;
	for (unsigned s = 0; s < LF_AREA_WORDS; s += k) {
		unsigned j;
		for (j = used; j < k; j++)
			/* relaxed: the block's unused words only have to look
			 * clear (placement, as area_shows_block reads it); we
			 * do not take them. */
			if (atomic_load_explicit(&a->w[s + j], memory_order_relaxed))
				break;
		if (j < k)
			continue;
		for (j = 0; j < used; j++) {
			uint64_t zero = 0;
			uint64_t m = lf_word_mask(0, j + 1 < used ? LF_WORD_FRAMES
			                                          : n - j * LF_WORD_FRAMES);
			/* acquire: as in lf_bits_take_small. Expecting 0 also
			 * means unclaimed. The last word's CAS is the
			 * linearisation point. */
			if (!atomic_compare_exchange_strong_explicit(&a->w[s + j], &zero, m,
			                                             memory_order_acquire,
			                                             memory_order_relaxed))
				break;
		}
		if (j == used)
			return (int)(s * LF_WORD_FRAMES);
		while (j--) /* roll back the words we set from 0 */
			/* release: our store ends the release sequence of the last
			 * free, so it must itself be release for the next
			 * acquirer to inherit that edge through us. Nobody else
			 * changes a word whose clear bits are none (a claim needs
			 * clear bits, a free needs set bits of its own). */
			atomic_store_explicit(&a->w[s + j], 0, memory_order_release);
	}
	return -1;
}

/*
 * Clear bits we own (just taken, or withdrawn by us): no check. Returns
 * how many landed in unclaimed words: the quota the caller gives back (the
 * others joined a cache). A word can be claimed while we hold some of its
 * frames, so every word is an RMW that keeps the claim.
 */
static inline unsigned lf_bits_clear_owned(struct lf_bits *a, unsigned first, unsigned n)
{
	unsigned unclaimed = 0;
	while (n) {
		unsigned w;
		uint64_t m;
		unsigned k = lf_word_part(first, n, &w, &m);
		/* release: pairs with the acquire CAS of the next taker (the
		 * frames' last writes happen-before its use of them). */
		uint64_t old = atomic_fetch_and_explicit(&a->w[w], ~m, memory_order_release);
		if (!lf_word_claim(old))
			unclaimed += k;
		first += k;
		n -= k;
	}
	return unclaimed;
}

/*
 * Roll back a release whose quota was not given: set the bits again. They
 * were free only to a taker holding quota of other frames, or to a cache
 * (the overlap case below).
 */
static inline void lf_bits_retake(struct lf_bits *a, unsigned first, unsigned n)
{
	while (n) {
		unsigned w;
		uint64_t m;
		unsigned k = lf_word_part(first, n, &w, &m);
		/* acquire: we take the frames back, as a taker does. */
		atomic_fetch_or_explicit(&a->w[w], m, memory_order_acquire);
		first += k;
		n -= k;
	}
}

/* Are all bits of [first, first + n) clear right now (claims aside)? */
static inline bool lf_bits_all_clear(struct lf_bits *a, unsigned first, unsigned n)
{
	while (n) {
		unsigned w;
		uint64_t m;
		unsigned k = lf_word_part(first, n, &w, &m);
		/* relaxed: advisory (whether a refusal is justified). */
		if (atomic_load_explicit(&a->w[w], memory_order_relaxed) & m)
			return false;
		first += k;
		n -= k;
	}
	return true;
}

/* Are all bits of [first, first + n) set right now (a read-only pre-check)? */
static inline bool lf_bits_all_set(struct lf_bits *a, unsigned first, unsigned n)
{
	while (n) {
		unsigned w;
		uint64_t m;
		unsigned k = lf_word_part(first, n, &w, &m);
		/* relaxed: advisory; the release RMWs decide. */
		if ((atomic_load_explicit(&a->w[w], memory_order_relaxed) & m) != m)
			return false;
		first += k;
		n -= k;
	}
	return true;
}

/*
 * Is a word of [first, first + n) marked as a whole-area block right now?
 * A word seen unmarked stays so while any frame of its area is allocated:
 * only a whole-area take marks words, and it needs all 512 frames free.
 */
static inline bool lf_bits_any_huge(struct lf_bits *a, unsigned first, unsigned n)
{
	for (unsigned w = first / LF_WORD_FRAMES; w <= (first + n - 1) / LF_WORD_FRAMES; w++)
		/* relaxed: a mark is only ever removed while we hold frames
		 * of the area (above); the release CASes below decide. */
		if (lf_word_claim(atomic_load_explicit(&a->w[w], memory_order_relaxed)) ==
		    LF_CLAIM_HUGE)
			return true;
	return false;
}

/*
 * Free [first, first + n): every bit must be set (allocated). -2 before
 * anything changes if a word of the range belongs to a whole-area block
 * (the caller converts it, lf_area_unhuge, and tries again): a release
 * that cleared words and then met a marked one would have to set them
 * again, and between the clear and the re-set a quota holder could take
 * them and then lose them to the retried release (issue 18, defect 1).
 * Then checks and clears each word in one RMW, words in ascending order;
 * if a word has a clear bit (a double free, or a concurrent free of the
 * same frames won), the words cleared so far are set again and -1 is
 * returned. Else returns the frames that landed in unclaimed words (the
 * quota to give back).
 * Two frees of the same range meet at their first word: exactly one passes
 * it, the other changes nothing. (Partly overlapping concurrent double
 * frees of different ranges may meet later; the rollback then re-sets bits
 * that a taker could have seen clear: LOCKFREE.md, "Progress".)
 */
static inline int lf_bits_release(struct lf_bits *a, unsigned first, unsigned n)
{
	unsigned f0 = first, done = 0, unclaimed = 0;
	if (lf_bits_any_huge(a, first, n))
		return -2;
	while (done < n) {
		unsigned w;
		uint64_t m;
		unsigned k = lf_word_part(first, n - done, &w, &m);
		/* relaxed: a first guess; the CAS validates. */
		uint64_t v = atomic_load_explicit(&a->w[w], memory_order_relaxed);
		bool ok;
		do {
			if (lf_word_claim(v) == LF_CLAIM_HUGE) {
				/* Marked since the check above: the area was
				 * taken whole again, so our frames were free (a
				 * double free) and, as our cleared frames would
				 * keep the area from being whole, done is 0:
				 * nothing to undo. The caller converts, retries. */
				lf_bits_retake(a, f0, done);
				return -2;
			}
			ok = (v & m) == m;
			if (!ok)
				break;
			/* release: pairs with the acquire CAS of the next taker
			 * (lf_bits_take_*, lf_cache_take): the frames' last
			 * writes happen-before its use. Linearisation point of
			 * the check. */
		} while (!atomic_compare_exchange_weak_explicit(&a->w[w], &v, v & ~m,
		                                                memory_order_release,
		                                                memory_order_relaxed));
		if (!ok) {
			lf_bits_retake(a, f0, done);
			return -1;
		}
		LF_PAUSE(LF_PAUSE_RELEASE_WORD);
		if (!lf_word_claim(v))
			unclaimed += k;
		first += k;
		done += k;
	}
	return (int)unclaimed;
}

/*
 * Free one frame, bit m of word w, deciding in the same RMW where its quota
 * goes: -1 if it was free (a double free: nothing changed), 0 if it joined
 * a cache (the word is claimed, or we claimed it now for slot id: a full
 * unclaimed word, whose only clear bit is then this frame, so the claim
 * needs no quota; only when id != 0 and the owner hint *own of the word's
 * area is 0 or id, and *claimed says so), 1 if its quota goes to the area
 * counter (the caller gives it), -2 if the word belongs to a whole-area
 * block (the caller converts the area, lf_area_unhuge, and tries again).
 * The hint is read only for a full unclaimed word (it is on another line).
 */
static inline int lf_bits_free1(_Atomic uint64_t *w, uint64_t m, uint64_t id,
                                _Atomic uint32_t *own, bool *claimed)
{
	/* relaxed: a first guess; the CAS validates. */
	uint64_t v = atomic_load_explicit(w, memory_order_relaxed);
	for (;;) {
		if (lf_word_claim(v) == LF_CLAIM_HUGE)
			return -2; /* a whole-area block: convert first (area.h) */
		if (!(v & m))
			return -1;
		uint64_t nv = v & ~m;
		*claimed = id && !lf_word_claim(v) && (v & LF_WORD_BITS) == LF_WORD_BITS;
		if (*claimed) {
			/* relaxed: a placement hint (struct lf_area). */
			uint32_t o = atomic_load_explicit(own, memory_order_relaxed);
			*claimed = !o || o == id;
		}
		if (*claimed)
			nv |= id << LF_CLAIM_SHIFT;
		/* release: pairs with the acquire CAS of the next taker
		 * (lf_bits_take_*, lf_cache_take): the frame's last writes
		 * happen-before its use. Linearisation point of the free (or of
		 * its check, when the quota goes to the counter). */
		if (atomic_compare_exchange_weak_explicit(w, &v, nv, memory_order_release,
		                                          memory_order_relaxed))
			return lf_word_claim(v) || *claimed ? 0 : 1;
	}
}

/*
 * Withdraw [first, first + n): every bit must be clear and its word
 * unclaimed (free, quota already taken by the caller); sets them. On a set
 * bit or a claim, clears what it set and fails: *given is then the quota
 * the caller gives back (its frames that landed in unclaimed words; a word
 * claimed meanwhile keeps the others, and its claimer counts them).
 */
static inline bool lf_bits_withdraw(struct lf_bits *a, unsigned first, unsigned n,
                                    unsigned *given)
{
	unsigned f0 = first, done = 0;
	while (done < n) {
		unsigned w;
		uint64_t m;
		unsigned k = lf_word_part(first, n - done, &w, &m);
		/* relaxed: the CAS validates. */
		uint64_t v = atomic_load_explicit(&a->w[w], memory_order_relaxed);
		bool ok;
		do {
			ok = (v & m) == 0 && !lf_word_claim(v);
			if (!ok)
				break;
			/* acquire: as in lf_bits_take_small (we now own them). */
		} while (!atomic_compare_exchange_weak_explicit(&a->w[w], &v, v | m,
		                                                memory_order_acquire,
		                                                memory_order_relaxed));
		if (!ok) {
			/* The frames not reached were never ours: their quota goes
			 * back as it was taken. */
			*given = lf_bits_clear_owned(a, f0, done) + (n - done);
			return false;
		}
		first += k;
		done += k;
	}
	return true;
}

/* ---- claims: the per-CPU cache ---- */

/*
 * Claim word w (value seen v, unclaimed, c = its clear bits) for slot id:
 * one CAS that keeps the bits as seen. The caller took c frames of quota
 * first and gives them back if this fails. A free in flight (bit cleared
 * while unclaimed, quota not given yet) is counted in c and then gives its
 * quota to the counter, which we took from other frames' quota: the counter
 * ends equal to the unclaimed clear bits, so the quota rule holds.
 */
static inline bool lf_word_claim_cas(_Atomic uint64_t *w, uint64_t v, uint64_t id)
{
	/* acquire: the clear bits become ours to hand out; pairs with the
	 * release RMWs of the frees that cleared them (the cache takes below
	 * continue this release sequence and are acquire themselves). */
	return atomic_compare_exchange_strong_explicit(w, &v, v | (id << LF_CLAIM_SHIFT),
	                                               memory_order_acquire,
	                                               memory_order_relaxed);
}

/*
 * One frame of slot id's cache word w: the bit index, or -1 if w is not
 * claimed by id (retired or stolen: a miss), or -2 if it is claimed but has
 * no clear bit (the owner retires it). Taking the last clear bit retires
 * the claim in the same CAS (no clear bit: no quota to give), so a cache
 * word of one frame costs no extra RMW; *last says so.
 */
static inline int lf_cache_take(_Atomic uint64_t *w, uint64_t id, bool *last)
{
	/* relaxed: a snapshot; the CAS validates claim and bits. */
	uint64_t v = atomic_load_explicit(w, memory_order_relaxed);
	for (;;) {
		if (lf_word_claim(v) != id)
			return -1;
		if ((v & LF_WORD_BITS) == LF_WORD_BITS)
			return -2;
		unsigned b = (unsigned)__builtin_ctzll(~v);
		uint64_t nv = v | (1ull << b);
		*last = (nv & LF_WORD_BITS) == LF_WORD_BITS;
		if (*last)
			nv &= LF_WORD_BITS; /* the last one: retire */
		/* acquire: pairs with the release RMW of the free that cleared
		 * the bit (into our cache, or before the claim, whose CAS
		 * continues that release sequence). Linearisation point of a
		 * cache hit. */
		if (atomic_compare_exchange_weak_explicit(w, &v, nv, memory_order_acquire,
		                                          memory_order_relaxed))
			return (int)b;
	}
}

/*
 * Retire word w's claim if it is id's (any cache's if id is 0; a
 * whole-area block's mark is no cache): one CAS
 * claim -> 0 that captures the clear bits. Returns how many there were
 * (the quota the caller gives to the counter), or -1 if w was not claimed
 * as asked. A free before our CAS saw the claim and its frame is counted
 * here; a free after it sees no claim and gives its own quota: exact.
 */
static inline int lf_word_retire(_Atomic uint64_t *w, uint64_t id)
{
	/* relaxed: the CAS validates. */
	uint64_t v = atomic_load_explicit(w, memory_order_relaxed);
	do {
		uint64_t c = lf_word_claim(v);
		if (!c || c == LF_CLAIM_HUGE || (id && c != id))
			return -1;
		/* acq_rel: acquire pairs with the release frees into the
		 * cache, so their bit clears happen-before the quota we give
		 * for them (a release RMW, lf_area_give), which a quota taker
		 * acquires. */
	} while (!atomic_compare_exchange_weak_explicit(w, &v, v & LF_WORD_BITS,
	                                                memory_order_acq_rel,
	                                                memory_order_relaxed));
	return (int)lf_word_clear(v);
}

#endif /* FK_LOCKFREE_BITS_H */
