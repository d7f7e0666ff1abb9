/* SPDX-License-Identifier: MIT */
/*
 * The per-frame raw word (raw_internal.h): its encoding and every
 * transition of it, as refcount_internal.h keeps the refcount word's.
 * Nothing here knows about regions; verify/genmc/ includes it alone.
 *
 * The word: low 32 bits the raw count, high 32 bits a change sequence that
 * every record and consume advances, so that a reader can tell "the count
 * did not change between two loads" without ABA (fk_raw_drop_check); it
 * wraps only after 2^32 changes of one frame.
 */
#ifndef FK_RAW_WORD_INTERNAL_H
#define FK_RAW_WORD_INTERNAL_H

#include <stdatomic.h>
#include <stdint.h>

#include <framekit/error.h>

#include "refcount_internal.h"

#define FK_RAW_SEQ_ONE ((uint64_t)1 << 32)

static inline uint32_t fk_raw_word_count(uint64_t w)
{
	return (uint32_t)w;
}

/*
 * Record one raw reference (into_raw): +1, sequence advanced. FK_EOVERFLOW
 * (unchanged) at UINT32_MAX.
 *
 * Release on success: it orders the recorder's own earlier +1 on the
 * refcount (from_in_use, clone) before the record, and pairs with the
 * acquire loads of fk_raw_drop_check: a dropper that sees this record then
 * sees a count that includes that +1. Relaxed, a dropper on a weakly
 * ordered CPU could see the new raw count beside the count from before the
 * +1 and refuse a correct drop with FK_EUNUSED (found by
 * verify/genmc/raw_drop_imm.c under IMM; x86 never reorders so).
 */
static inline int fk_raw_word_record(_Atomic uint64_t *w)
{
	uint64_t v = atomic_load_explicit(w, memory_order_relaxed);
	do {
		if (fk_raw_word_count(v) == UINT32_MAX)
			return FK_EOVERFLOW;
	} while (!atomic_compare_exchange_weak_explicit(
	    w, &v, v + FK_RAW_SEQ_ONE + 1, memory_order_release, memory_order_relaxed));
	return 0;
}

/*
 * Consume one raw reference (from_raw): -1, sequence advanced. FK_ENOTRAW
 * (unchanged) when there is none. Relaxed: the consumer's later drop is a
 * release decrement of the refcount, and a dropper whose acquire count
 * load reads it sees this consumption too (fk_raw_drop_check).
 */
static inline int fk_raw_word_consume(_Atomic uint64_t *w)
{
	uint64_t v = atomic_load_explicit(w, memory_order_relaxed);
	do {
		if (fk_raw_word_count(v) == 0)
			return FK_ENOTRAW;
	} while (!atomic_compare_exchange_weak_explicit(
	    w, &v, v + FK_RAW_SEQ_ONE - 1, memory_order_relaxed, memory_order_relaxed));
	return 0;
}

/* Roll back a record / a consume of a partly done range (sequence still
 * advances). Relaxed: nobody may act on the rolled-back reference. */
static inline void fk_raw_word_unrecord(_Atomic uint64_t *w)
{
	atomic_fetch_add_explicit(w, FK_RAW_SEQ_ONE - 1, memory_order_relaxed);
}

static inline void fk_raw_word_unconsume(_Atomic uint64_t *w)
{
	atomic_fetch_add_explicit(w, FK_RAW_SEQ_ONE + 1, memory_order_relaxed);
}

/*
 * May a handle drop one counted reference of the frame whose refcount word
 * is *count and raw word *raw? FK_EUNUSED if the count is not above the raw
 * count, i.e. the drop would leave fewer counted than raw references (a
 * stale copy of a handle that was turned raw); 0 otherwise. Read-only: the
 * caller decrements afterwards (fk_ref_dec).
 *
 * The verdict comes from one instant: raw (acquire), count (acquire), raw
 * again; if the raw word changed (its sequence moved) the three loads are
 * repeated. A first raw load that finds no raw reference decides alone
 * (that instant allows any count) without reading the count. With the raw
 * word constant around the count load, the pair is a consistent snapshot,
 * and a legitimate holder always sees count >= raw + 1 (its own reference
 * is counted and not raw), so it is never refused, even while other
 * threads run from_in_use+into_raw or from_raw+drop on the same frame:
 *  - a record this dropper sees was released after the recorder's +1
 *    (fk_raw_word_record), so the count load sees that +1;
 *  - a count load that reads a release drop sees the consumption before
 *    it, so the second raw load differs from the first and we retry.
 * Lock-free: a retry means another thread changed the raw word.
 */
static inline int fk_raw_drop_check(const _Atomic uint64_t *count, const _Atomic uint64_t *raw)
{
	uint64_t r0, r1, v;
	/* Acquire: pairs with the release of fk_raw_word_record, and orders
	 * the following loads after this one. */
	r1 = atomic_load_explicit((_Atomic uint64_t *)raw, memory_order_acquire);
	/* No raw reference at this instant: no count can be at or below it,
	 * so "allow" is the verdict of this instant whatever the count is.
	 * The common case, and it leaves the count's line alone: a load of it
	 * here would fetch the line shared and the caller's RMW would then
	 * fetch it again to own it (two transfers per drop when another CPU
	 * is using the frame, measured in results/core-v2/README.md). */
	if (!fk_raw_word_count(r1))
		return 0;
	do {
		r0 = r1;
		v = fk_ref_read_acquire(count);
		r1 = atomic_load_explicit((_Atomic uint64_t *)raw, memory_order_acquire);
	} while (r0 != r1);
	if (fk_ref_is_shared(v) && v <= fk_raw_word_count(r0))
		return FK_EUNUSED;
	return 0;
}

#endif /* FK_RAW_WORD_INTERNAL_H */
