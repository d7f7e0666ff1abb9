/*
 * The slot's refcount word: its encoding and every transition of it, as
 * Linux keeps every page->_refcount change in include/linux/page_ref.h.
 * Nothing here knows about slots, regions or contexts: each transition
 * takes the word and, for the holder transitions, the policy.
 *
 * Encoding (see FK_REF_* in framekit/meta.h):
 *
 *   0                    busy: being claimed or torn down
 *   1 .. FK_REF_MAX      shared, that many references
 *   FK_REF_UNIQUE        exclusively owned (a unique frame)
 *   FK_REF_UNUSED        free (or never claimed)
 *   any other value      guard band, in four classes: above FK_REF_MAX
 *                        (overflow), around UNIQUE, around UNUSED, and
 *                        just below 2^64 (a -1 from 0, still busy)
 *
 * UNIQUE and UNUSED sit at least 2^61 away from each other, from 0 and
 * from FK_REF_MAX, so a blind +1 or -1 through a stale handle moves the word
 * into a guard class where no other transition applies (claims and the
 * unique transitions compare with the exact value), never onto another
 * state. The fast policy relies on this to check after the fact.
 *
 * Holder transitions (clone, slice, drop) under two policies, chosen per
 * context (fk_mem_config.refcount):
 *
 *  - FK_REFCOUNT_CHECKED: a load + CAS loop that moves only from a shared
 *    count, so a stale handle is reported and the word never moves.
 *  - FK_REFCOUNT_FAST: one fetch_add / fetch_sub (Asterinas
 *    ostd/src/mm/frame/meta.rs inc_ref_count, Linux page_ref_inc); the old
 *    value is classified afterwards (fk_ref_fast_inc_verdict,
 *    fk_ref_fast_dec_verdict). A +1 past FK_REF_MAX or a step off UNUSED
 *    or UNIQUE is undone by the inverse RMW: exact, because the word only
 *    leaves those classes by RMWs or by CASes that compare with the exact
 *    state, which the displaced value fails (so a claim or a unique
 *    transition racing with the misstep gets FK_EBUSY, never the frame).
 *    Linux's refcount_t saturates instead; framekit can restore because
 *    each state has 2^60 values of guard band on either side, so the
 *    state is unchanged on error. A step
 *    from busy (0, or already below it) is left alone: the owner of the
 *    busy state ends it with a store (publish, or UNUSED after teardown),
 *    which is later in the word's modification order and overwrites it.
 *    Until then a +1 from 0 reads as count 1, the one window in which a
 *    concurrent from_in_use could take a reference to a dying frame
 *    through somebody's stale clone; the checked policy has no window.
 *
 * from_in_use (no reference held) is a CAS under both policies: it must
 * never take a reference to a busy (dying) or unused frame.
 *
 * The pure functions (fk_ref_class, fk_ref_state_error, fk_ref_inc_next,
 * fk_ref_dec_next, fk_ref_fast_*_verdict) take and return plain values;
 * tests/test_refcount.c checks them without atomics.
 */
#ifndef FK_REFCOUNT_INTERNAL_H
#define FK_REFCOUNT_INTERNAL_H

#include <stdatomic.h>
#include <stdint.h>

#include <framekit/error.h>
#include <framekit/mem.h>
#include <framekit/meta.h>

#include "sched_fuzz_internal.h"

/* Class boundaries of the guard band (see the encoding above). */
#define FK_REF_CLASS_UNIQUE_LO 0x9000000000000000ull
#define FK_REF_CLASS_UNUSED_LO 0xB000000000000000ull
#define FK_REF_CLASS_UNDER_LO  0xD000000000000000ull

enum fk_ref_class {
	FK_REF_C_BUSY,
	FK_REF_C_SHARED,
	FK_REF_C_OVERFLOW,  /* above FK_REF_MAX: a +1 past the maximum */
	FK_REF_C_UNIQUE,    /* FK_REF_UNIQUE, or moved off it by a stale handle */
	FK_REF_C_UNUSED,    /* FK_REF_UNUSED, or moved off it by a stale handle */
	FK_REF_C_UNDERFLOW, /* just below 2^64: a -1 from 0 */
};

static inline enum fk_ref_class fk_ref_class(uint64_t v)
{
	if (v == 0)
		return FK_REF_C_BUSY;
	if (v <= FK_REF_MAX)
		return FK_REF_C_SHARED;
	if (v < FK_REF_CLASS_UNIQUE_LO)
		return FK_REF_C_OVERFLOW;
	if (v < FK_REF_CLASS_UNUSED_LO)
		return FK_REF_C_UNIQUE;
	if (v < FK_REF_CLASS_UNDER_LO)
		return FK_REF_C_UNUSED;
	return FK_REF_C_UNDERFLOW;
}

static inline int fk_ref_is_shared(uint64_t v)
{
	return v >= 1 && v <= FK_REF_MAX;
}

/* The error for an observed non-shared value (Asterinas GetFrameError). */
static inline int fk_ref_state_error(uint64_t v)
{
	switch (fk_ref_class(v)) {
	case FK_REF_C_BUSY:
	case FK_REF_C_UNDERFLOW:
		return FK_EBUSY;
	case FK_REF_C_UNIQUE:
		return FK_EUNIQUE;
	case FK_REF_C_UNUSED:
		return FK_EUNUSED;
	case FK_REF_C_SHARED:
		return 0;
	default:
		return FK_EOVERFLOW; /* above FK_REF_MAX */
	}
}

/*
 * The error for a CAS that expected exactly `state` (UNUSED or UNIQUE)
 * and found v: a value displaced from `state` by a stale handle's blind
 * step is about to be restored, so it is FK_EBUSY (try again), not the
 * state's own error.
 */
static inline int fk_ref_cas_error(uint64_t v, uint64_t state)
{
	if (fk_ref_is_shared(v) || fk_ref_class(v) == FK_REF_C_OVERFLOW)
		return FK_EINUSE; /* shared (overflow: shared at the maximum) */
	if (v != state && fk_ref_class(v) == fk_ref_class(state))
		return FK_EBUSY;
	return fk_ref_state_error(v);
}

/* ---- pure transitions of the checked policy (run inside fk_ref_update) ---- */

/* +1 from a shared count below max only. */
static inline int fk_ref_inc_next(uint64_t v, uint64_t max, uint64_t *next)
{
	if (!fk_ref_is_shared(v))
		return fk_ref_state_error(v);
	if (v >= max)
		return FK_EOVERFLOW;
	*next = v + 1;
	return 0;
}

/* -1 from a shared count only (1 -> 0 is the last reference). */
static inline int fk_ref_dec_next(uint64_t v, uint64_t max, uint64_t *next)
{
	(void)max;
	if (!fk_ref_is_shared(v))
		return fk_ref_state_error(v);
	*next = v - 1;
	return 0;
}

/*
 * The single CAS-update helper: apply the pure transition `next` to the
 * word until the CAS wins or `next` refuses (then the word is unchanged
 * and its error returned). *old receives the value the transition saw.
 * Relaxed on failure: a failed attempt publishes and consumes nothing.
 */
static inline int fk_ref_update(_Atomic uint64_t *w, int (*next)(uint64_t, uint64_t, uint64_t *),
                                uint64_t max, memory_order success, uint64_t *old)
{
	uint64_t v = atomic_load_explicit(w, memory_order_relaxed), n;
	do {
		int err = next(v, max, &n);
		if (err)
			return err;
		FK_SCHED_POINT();
	} while (!atomic_compare_exchange_weak_explicit(w, &v, n, success, memory_order_relaxed));
	FK_SCHED_POINT();
	*old = v;
	return 0;
}

/* ---- pure verdicts of the fast policy ---- */

/* How to repair a blind +1/-1 that found an illegal value. */
enum fk_ref_fix {
	FK_REF_FIX_NONE, /* legal, or the busy owner's store will overwrite it */
	FK_REF_FIX_UNDO, /* apply the inverse RMW */
};

struct fk_ref_verdict {
	int err; /* 0, 1 (dec: the last reference) or an FK_E* code */
	enum fk_ref_fix fix;
};

/* A blind +1 found `old` (a holder's clone or slice). */
static inline struct fk_ref_verdict fk_ref_fast_inc_verdict(uint64_t old, uint64_t max)
{
	struct fk_ref_verdict r = {0, FK_REF_FIX_NONE};
	switch (fk_ref_class(old)) {
	case FK_REF_C_SHARED:
		if (old >= max) {
			r.err = FK_EOVERFLOW;
			r.fix = FK_REF_FIX_UNDO;
		}
		return r;
	case FK_REF_C_BUSY:
	case FK_REF_C_UNDERFLOW:
		/* Stale handle of a frame being built or torn down: the
		 * claimer's publish or the dropper's UNUSED store overwrites
		 * our step (an undo after that store would displace it). */
		r.err = FK_EBUSY;
		return r;
	default:
		r.err = fk_ref_state_error(old);
		r.fix = FK_REF_FIX_UNDO;
		return r;
	}
}

/* A blind -1 found `old` (a holder's drop). */
static inline struct fk_ref_verdict fk_ref_fast_dec_verdict(uint64_t old)
{
	struct fk_ref_verdict r = {0, FK_REF_FIX_NONE};
	switch (fk_ref_class(old)) {
	case FK_REF_C_SHARED:
		r.err = old == 1; /* the last reference */
		return r;
	case FK_REF_C_OVERFLOW:
		/* A concurrent +1 past the maximum is about to undo itself; our
		 * reference is real and not the last. */
		return r;
	case FK_REF_C_BUSY:
	case FK_REF_C_UNDERFLOW:
		/* Double drop of a frame being built or torn down: the word is
		 * now just below 2^64 (still busy to everyone) until the
		 * owner's store overwrites it. */
		r.err = FK_EBUSY;
		return r;
	default:
		r.err = fk_ref_state_error(old);
		r.fix = FK_REF_FIX_UNDO;
		return r;
	}
}

/* ---- the transitions ---- */

/* A fresh slot starts UNUSED (not yet published: no ordering needed). */
static inline void fk_ref_init(_Atomic uint64_t *w)
{
	atomic_init(w, FK_REF_UNUSED);
}

/*
 * Claim: UNUSED -> 0. Acquire on success pairs with the release store of
 * UNUSED in fk_ref_release_unused(): the previous owner's teardown
 * happens-before our metadata writes. Relaxed on failure: we only report.
 */
static inline int fk_ref_claim(_Atomic uint64_t *w)
{
	uint64_t expect = FK_REF_UNUSED;
	FK_SCHED_POINT();
	if (atomic_compare_exchange_strong_explicit(w, &expect, 0, memory_order_acquire,
	                                            memory_order_relaxed))
		return 0;
	FK_SCHED_POINT();
	return fk_ref_cas_error(expect, FK_REF_UNUSED);
}

/*
 * Publish a claimed (or allocator-granted) slot as `state` (1 or UNIQUE).
 * Release pairs with the acquire CAS of fk_ref_inc_in_use (from_in_use)
 * and with whatever hands the handle to another thread: the metadata is
 * visible before the count says the frame is in use.
 */
static inline void fk_ref_publish(_Atomic uint64_t *w, uint64_t state)
{
	atomic_store_explicit(w, state, memory_order_release);
}

/*
 * Back to UNUSED after teardown (the word is 0 and ours). Release pairs
 * with the acquire of the next fk_ref_claim and of the region idle check,
 * and (through the allocator's own synchronisation) with the next
 * allocator-granted claim.
 */
static inline void fk_ref_release_unused(_Atomic uint64_t *w)
{
	atomic_store_explicit(w, FK_REF_UNUSED, memory_order_release);
}

/*
 * +1 by address, without holding a reference (from_in_use), under both
 * policies: a CAS from a shared value only, so a busy (dying) or unused
 * frame is never revived. Acquire pairs with fk_ref_publish.
 */
static inline int fk_ref_inc_in_use(_Atomic uint64_t *w, uint64_t max)
{
	uint64_t old;
	return fk_ref_update(w, fk_ref_inc_next, max, memory_order_acquire, &old);
}

/*
 * +1 for a holder (clone, slice). Relaxed under both policies: the caller
 * already holds a reference, so the metadata is visible to it, and a new
 * reference carries no data (Arc::clone).
 */
static inline int fk_ref_inc_held(_Atomic uint64_t *w, int policy, uint64_t max)
{
	uint64_t old;
	if (policy == FK_REFCOUNT_CHECKED)
		return fk_ref_update(w, fk_ref_inc_next, max, memory_order_relaxed, &old);
	FK_SCHED_POINT();
	old = atomic_fetch_add_explicit(w, 1, memory_order_relaxed);
	FK_SCHED_POINT();
	struct fk_ref_verdict v = fk_ref_fast_inc_verdict(old, max);
	if (v.fix == FK_REF_FIX_UNDO) {
		/* Relaxed: restores a value nobody may act on (guard band). */
		FK_SCHED_POINT();
		atomic_fetch_sub_explicit(w, 1, memory_order_relaxed);
		FK_SCHED_POINT();
	}
	return v.err;
}

/*
 * -1 for a holder. Returns 1 for the last reference (the word is now 0
 * and the caller owns the teardown), 0 otherwise, or an error (stale
 * handle; the word is restored as described above).
 *
 * Order: release, so this holder's metadata accesses happen-before the
 * teardown. The last dropper then needs acquire on every earlier
 * holder's release: checked gets it from the acq_rel CAS; fast from an
 * acquire load of the word, which reads the value of our fetch_sub and so
 * synchronises with every release decrement in its release sequence.
 * That is Arc's acquire fence written as a load, because TSan does not
 * model fences (Rust's Arc does the same under TSan); on x86 it is a
 * plain load of a line we own.
 */
static inline int fk_ref_dec(_Atomic uint64_t *w, int policy)
{
	uint64_t old;
	if (policy == FK_REFCOUNT_CHECKED) {
		int err =
		    fk_ref_update(w, fk_ref_dec_next, FK_REF_MAX, memory_order_acq_rel, &old);
		return err ? err : old == 1;
	}
	FK_SCHED_POINT();
	old = atomic_fetch_sub_explicit(w, 1, memory_order_release);
	FK_SCHED_POINT();
	struct fk_ref_verdict v = fk_ref_fast_dec_verdict(old);
	if (v.err == 1) {
		(void)atomic_load_explicit(w, memory_order_acquire);
	} else if (v.fix == FK_REF_FIX_UNDO) {
		/* Relaxed: restores a value nobody may act on (guard band). */
		FK_SCHED_POINT();
		atomic_fetch_add_explicit(w, 1, memory_order_relaxed);
		FK_SCHED_POINT();
	}
	return v.err;
}

/*
 * UNIQUE -> 1 (a unique frame becomes shared). Release pairs with the
 * acquire CAS of from_in_use: metadata written through the unique handle
 * is visible to every later sharer.
 */
static inline int fk_ref_unique_to_shared(_Atomic uint64_t *w)
{
	uint64_t expect = FK_REF_UNIQUE;
	FK_SCHED_POINT();
	if (atomic_compare_exchange_strong_explicit(w, &expect, 1, memory_order_release,
	                                            memory_order_relaxed))
		return 0;
	FK_SCHED_POINT();
	return fk_ref_cas_error(expect, FK_REF_UNIQUE);
}

/*
 * 1 -> UNIQUE (the only holder takes exclusive ownership). acq_rel:
 * acquire pairs with the release decrements of former holders (Asterinas'
 * Frame::try_into_unique uses Relaxed, ostd/src/mm/frame/mod.rs), so their
 * accesses happen-before our exclusive ones.
 */
static inline int fk_ref_shared_to_unique(_Atomic uint64_t *w)
{
	uint64_t expect = 1;
	FK_SCHED_POINT();
	if (atomic_compare_exchange_strong_explicit(w, &expect, FK_REF_UNIQUE, memory_order_acq_rel,
	                                            memory_order_relaxed))
		return 0;
	FK_SCHED_POINT();
	return fk_ref_cas_error(expect, 1);
}

/*
 * UNIQUE -> 0 (a unique frame is dropped; the caller tears it down).
 * Relaxed: we are the only owner (Asterinas' UniqueFrame drop); the CAS
 * rejects a stale copy of an already dropped handle.
 */
static inline int fk_ref_unique_to_busy(_Atomic uint64_t *w)
{
	uint64_t expect = FK_REF_UNIQUE;
	FK_SCHED_POINT();
	if (atomic_compare_exchange_strong_explicit(w, &expect, 0, memory_order_relaxed,
	                                            memory_order_relaxed))
		return 0;
	FK_SCHED_POINT();
	return fk_ref_cas_error(expect, FK_REF_UNIQUE);
}

/*
 * Read the word of a frame the allocator has just handed out, before
 * writing its metadata without any RMW (fk_claim_granted). Acquire pairs
 * with the release UNUSED store of the frame's last teardown
 * (fk_ref_release_unused), so that teardown happens-before our writes
 * whatever ordering the allocator itself provides. A plain load on x86.
 */
static inline uint64_t fk_ref_read_granted(const _Atomic uint64_t *w)
{
	return atomic_load_explicit((_Atomic uint64_t *)w, memory_order_acquire);
}

/*
 * Is the frame free, for the region idle check before its slots are freed?
 * Acquire pairs with the release UNUSED store of the last dropper
 * (fk_ref_release_unused): its teardown is complete before we free.
 */
static inline int fk_ref_is_unused_acquire(const _Atomic uint64_t *w)
{
	return atomic_load_explicit((_Atomic uint64_t *)w, memory_order_acquire) == FK_REF_UNUSED;
}

/*
 * A snapshot that is one of a sequence of loads (fk_raw_drop_check reads
 * raw, count, raw). Acquire orders the loads after it behind this one.
 */
static inline uint64_t fk_ref_read_acquire(const _Atomic uint64_t *w)
{
	return atomic_load_explicit((_Atomic uint64_t *)w, memory_order_acquire);
}

/* Advisory snapshot (Asterinas reference_count()). Relaxed: no data is
 * read on its strength. */
static inline uint64_t fk_ref_read(const _Atomic uint64_t *w)
{
	return atomic_load_explicit((_Atomic uint64_t *)w, memory_order_relaxed);
}

#endif /* FK_REFCOUNT_INTERNAL_H */
