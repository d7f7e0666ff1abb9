/*
 * lockfree: every transition of an area's bit field (bit set = allocated
 * or absent). Takers CAS clear bits to set with acquire; releasers CAS set
 * bits to clear with release, so the previous owner's writes to the frames
 * happen-before the next owner's. A release checks and acts in one RMW per
 * word: of two frees of the same frames exactly one wins.
 */
#ifndef FK_LOCKFREE_BITS_H
#define FK_LOCKFREE_BITS_H

#include "lockfree_internal.h"

static inline uint64_t lf_word_mask(unsigned bit, unsigned n)
{
	return (n >= 64 ? ~0ull : ((1ull << n) - 1)) << bit;
}

/* Split [first, first + n) of an area into word parts: the next part. */
static inline unsigned lf_word_part(unsigned first, unsigned n, unsigned *w, uint64_t *m)
{
	unsigned b = first % 64, k = 64 - b < n ? 64 - b : n;
	*w = first / 64;
	*m = lf_word_mask(b, k);
	return k;
}

/* n (<= 64) contiguous clear bits at a multiple of step within one word. */
static inline int lf_bits_take_small(struct lf_bits *a, unsigned n, unsigned step, unsigned start)
{
	uint64_t m = lf_word_mask(0, n);
	for (unsigned i = 0; i < LF_AREA_WORDS; i++) {
		unsigned wi = (start + i) % LF_AREA_WORDS;
		/* relaxed: a snapshot for the search; the CAS validates it. */
		uint64_t w = atomic_load_explicit(&a->w[wi], memory_order_relaxed);
		for (;;) {
			unsigned p;
			if (w == ~0ull)
				break;
			if (n == 1) {
				p = (unsigned)__builtin_ctzll(~w);
			} else {
				for (p = 0; p + n <= 64; p += step)
					if (!(w & (m << p)))
						break;
				if (p + n > 64)
					break;
			}
			/* acquire: pairs with the release CAS in lf_bits_release
			 * (hand-off of the frames from their last owner).
			 * Linearisation point of a small allocation. */
			if (atomic_compare_exchange_weak_explicit(&a->w[wi], &w, w | (m << p),
			                                          memory_order_acquire,
			                                          memory_order_relaxed))
				return (int)(wi * 64 + p);
		}
	}
	return -1;
}

/*
 * The first n frames of a naturally aligned block of 2^o frames (o = 7 or
 * 8: 2 or 4 whole words) whose words are all clear. Only the n frames are
 * set: the rest of a rounded-up block (its tail) never looks allocated, so
 * a concurrent request can take it at once (LOCKFREE.md, "Progress").
 */
static inline int lf_bits_take_words(struct lf_bits *a, unsigned o, unsigned n)
{
	unsigned k = 1u << (o - 6), used = (n + 63) / 64;
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
			uint64_t zero = 0, m = lf_word_mask(0, j + 1 < used ? 64 : n - j * 64);
			/* acquire: as in lf_bits_take_small. The last word's CAS
			 * is the linearisation point. */
			if (!atomic_compare_exchange_strong_explicit(&a->w[s + j], &zero, m,
			                                             memory_order_acquire,
			                                             memory_order_relaxed))
				break;
		}
		if (j == used)
			return (int)(s * 64);
		while (j--) /* roll back: whole words (only the last may be partial) */
			/* release: our store ends the release sequence of the last
			 * free, so it must itself be release for the next
			 * acquirer to inherit that edge through us. Nobody else
			 * changes a word we set from 0 to ~0. */
			atomic_store_explicit(&a->w[s + j], 0, memory_order_release);
	}
	return -1;
}

/*
 * Clear bits we own (just taken, or withdrawn by us): no check. A whole
 * word is ours alone (nobody else changes an all-ones word we hold), so a
 * store does instead of the RMW.
 */
static inline void lf_bits_clear_owned(struct lf_bits *a, unsigned first, unsigned n)
{
	while (n) {
		unsigned w;
		uint64_t m;
		unsigned k = lf_word_part(first, n, &w, &m);
		/* release: pairs with the acquire CAS of the next taker (the
		 * frames' last writes happen-before its use of them). */
		if (k == 64)
			atomic_store_explicit(&a->w[w], 0, memory_order_release);
		else
			atomic_fetch_and_explicit(&a->w[w], ~m, memory_order_release);
		first += k;
		n -= k;
	}
}

/*
 * Roll back a release whose quota was not given: set the bits again. They
 * were free only to a taker holding quota of other frames (the overlap
 * case below).
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

/*
 * Free [first, first + n): every bit must be set (allocated). Checks and
 * clears each word in one RMW, words in ascending order; if a word has a
 * clear bit (a double free, or a concurrent free of the same frames won),
 * the words cleared so far are set again and false is returned. Two frees
 * of the same range meet at their first word: exactly one passes it, the
 * other changes nothing. (Partly overlapping concurrent double frees of
 * different ranges may meet later; the rollback then re-sets bits that a
 * taker could have seen clear: LOCKFREE.md, "Progress".)
 */
static inline bool lf_bits_release(struct lf_bits *a, unsigned first, unsigned n)
{
	if (n == 1) {
		/* One frame: fetch_and checks and acts in one RMW (clearing an
		 * already clear bit changes nothing). release: as below. */
		uint64_t m = 1ull << (first % 64);
		return atomic_fetch_and_explicit(&a->w[first / 64], ~m, memory_order_release) & m;
	}
	unsigned f0 = first, done = 0;
	while (done < n) {
		unsigned w;
		uint64_t m;
		unsigned k = lf_word_part(first, n - done, &w, &m);
		/* relaxed: a first guess; the CAS validates. */
		uint64_t v = atomic_load_explicit(&a->w[w], memory_order_relaxed);
		bool ok;
		do {
			ok = (v & m) == m;
			if (!ok)
				break;
			/* release: pairs with the acquire CAS of the next taker
			 * (lf_bits_take_*): the frames' last writes happen-
			 * before its use. Linearisation point of the check. */
		} while (!atomic_compare_exchange_weak_explicit(&a->w[w], &v, v & ~m,
		                                                memory_order_release,
		                                                memory_order_relaxed));
		if (!ok) {
			lf_bits_retake(a, f0, done);
			return false;
		}
		first += k;
		done += k;
	}
	return true;
}

/*
 * Withdraw [first, first + n): every bit must be clear (free, quota already
 * taken by the caller); sets them. On a set bit, rolls back and fails.
 */
static inline bool lf_bits_withdraw(struct lf_bits *a, unsigned first, unsigned n)
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
			ok = (v & m) == 0;
			if (!ok)
				break;
			/* acquire: as in lf_bits_take_small (we now own them). */
		} while (!atomic_compare_exchange_weak_explicit(&a->w[w], &v, v | m,
		                                                memory_order_acquire,
		                                                memory_order_relaxed));
		if (!ok) {
			lf_bits_clear_owned(a, f0, done);
			return false;
		}
		first += k;
		done += k;
	}
	return true;
}

#endif /* FK_LOCKFREE_BITS_H */
