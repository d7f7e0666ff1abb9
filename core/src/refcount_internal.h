/* SPDX-License-Identifier: MIT */
/*
 * The slot's refcount word: its encoding and every transition of it, as
 * Linux keeps every page->_refcount change in include/linux/page_ref.h.
 * Nothing here knows about slots, regions or contexts: each transition
 * takes the word and, for the holder transitions, the policy.
 *
 * Encoding (see FK_REF_* in framekit/meta.h):
 *
 *   FK_REF_BUSY          busy: being claimed or torn down (0 for an
 *                        instant under the fast policy, see fk_ref_dec)
 *   1 .. FK_REF_MAX      shared, that many references
 *   FK_REF_UNIQUE        exclusively owned (a unique frame)
 *   FK_REF_UNUSED        free (or never claimed)
 *   any other value      guard band, in five classes: above FK_REF_MAX
 *                        (overflow), around UNIQUE, around UNUSED, around
 *                        BUSY, and just below 2^64 (a -1 from 0)
 *
 * UNIQUE, UNUSED and BUSY sit at least 2^60 away from each other, from 0
 * and from FK_REF_MAX, so a blind +1 or -1 through a stale handle moves
 * the word into a guard class, never onto another state.
 *
 * Holder transitions (clone, slice, drop) under two policies, chosen per
 * context (fk_mem_config.refcount):
 *
 *  - FK_REFCOUNT_CHECKED: a load + CAS loop that moves only from a shared
 *    count, so a stale handle is reported and the word never moves.
 *  - FK_REFCOUNT_FAST: one fetch_add / fetch_sub (Asterinas
 *    ostd/src/mm/frame/meta.rs inc_ref_count, Linux page_ref_inc); the old
 *    value is classified afterwards (fk_ref_fast_inc_verdict,
 *    fk_ref_fast_dec_verdict) and a misstep repaired:
 *     . a +1 past FK_REF_MAX is undone by a fetch_sub (only RMWs touch a
 *       shared word, so the undo is exact);
 *     . a step off UNUSED or UNIQUE is restored by fk_ref_restore, a CAS
 *       that moves the word one step back toward the state only while it
 *       is still displaced in that state's class. The owners' transitions
 *       out of UNUSED or UNIQUE accept the whole class (and the allocator-
 *       granted claim overwrites it with a plain store), so a correct
 *       owner never waits for, nor fails on, a stale step, and a restore
 *       that comes late finds another class and does nothing: it can
 *       never land on the owner's new state (defect 7 of issue 18: a
 *       blind fetch_sub undo did, and took a correct owner's reference);
 *     . a step on a busy word (BUSY, or 0 before the last dropper made it
 *       BUSY) is left: the busy owner ends it with a store (publish, or
 *       UNUSED after teardown) that overwrites it, and meanwhile the word
 *       is in no shared class, so from_in_use refuses it. The last
 *       fetch_sub leaves 0 for an instant before the dropper's CAS to
 *       BUSY (fk_ref_dec_hinted), and a +1 on that 0 makes the count 1
 *       again: the last dropper's CAS then fails and it leaves the frame
 *       alone (fk_ref_fast_take_teardown), so the frame leaks with that
 *       phantom reference, but nobody tears down a frame another thread
 *       may have taken by from_in_use, and at most one thread per life
 *       wins the CAS to BUSY, so on_drop runs once and the frame is freed
 *       once.
 *    What fast does not give (and checked does): a stale handle may leak
 *    the frame it steps on (the 0 window above), and it moves the word for
 *    an instant (other threads may see a guard value; all treat it as the
 *    state it is displaced from, or as busy).
 *  - Neither policy can tell a stale handle from a real one while the frame
 *    is shared (by its old holders or in a later life): a stale clone then
 *    takes a reference and a stale drop releases someone else's, as a
 *    double Arc drop would.
 *
 * from_in_use (no reference held) is a CAS under both policies: it must
 * never take a reference to a busy (dying) or unused frame.
 *
 * The pure functions (fk_ref_class, fk_ref_state_error, fk_ref_inc_next,
 * fk_ref_dec_next, fk_ref_fast_*_verdict, fk_ref_restore_next) take and
 * return plain values; tests/test_refcount.c checks them without atomics.
 * verify/genmc/ model-checks the transitions under RC11 and IMM.
 */
#ifndef FK_REFCOUNT_INTERNAL_H
#define FK_REFCOUNT_INTERNAL_H

#include <stdatomic.h>
#include <stdint.h>

#include <framekit/error.h>
#include <framekit/mem.h>
#include <framekit/meta.h>

/*
 * Test-only pause point after each fast blind RMW (before its repair, or
 * before the last dropper's CAS to BUSY) and after the hinted drop's
 * load. A test that includes this header on purpose may define it before
 * the include to widen those windows (tests/test_refcount.c); the library
 * never defines it, and then it compiles to nothing.
 */
#ifndef FK_REF_TEST_PAUSE
#define FK_REF_TEST_PAUSE(w) ((void)(w))
#endif
#include "sched_fuzz_internal.h"

/* Class boundaries of the guard band (see the encoding above). */
#define FK_REF_CLASS_UNIQUE_LO 0x9000000000000000ull
#define FK_REF_CLASS_UNUSED_LO 0xB000000000000000ull
#define FK_REF_CLASS_BUSY_LO   0xD000000000000000ull
#define FK_REF_CLASS_UNDER_LO  0xF000000000000000ull

enum fk_ref_class {
	FK_REF_C_BUSY, /* FK_REF_BUSY, 0, or moved off either by a stale handle */
	FK_REF_C_SHARED,
	FK_REF_C_OVERFLOW,  /* above FK_REF_MAX: a +1 past the maximum */
	FK_REF_C_UNIQUE,    /* FK_REF_UNIQUE, or moved off it by a stale handle */
	FK_REF_C_UNUSED,    /* FK_REF_UNUSED, or moved off it by a stale handle */
	FK_REF_C_UNDERFLOW, /* just below 2^64: a -1 from 0 (also busy) */
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
	if (v < FK_REF_CLASS_BUSY_LO)
		return FK_REF_C_UNUSED;
	if (v < FK_REF_CLASS_UNDER_LO)
		return FK_REF_C_BUSY;
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
 * The error for a transition that expected `state` (UNUSED, UNIQUE or 1)
 * and found v in another class: shared (overflow: shared at the maximum)
 * is FK_EINUSE, anything else its state's error.
 */
static inline int fk_ref_cas_error(uint64_t v, uint64_t state)
{
	(void)state;
	if (fk_ref_is_shared(v) || fk_ref_class(v) == FK_REF_C_OVERFLOW)
		return FK_EINUSE;
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

/* -1 from a shared count only; the last reference goes 1 -> BUSY. */
static inline int fk_ref_dec_next(uint64_t v, uint64_t max, uint64_t *next)
{
	(void)max;
	if (!fk_ref_is_shared(v))
		return fk_ref_state_error(v);
	*next = v == 1 ? FK_REF_BUSY : v - 1;
	return 0;
}

/*
 * The single CAS-update helper: apply the pure transition `next` to the
 * word until the CAS wins or `next` refuses (then the word is unchanged
 * and its error returned). *old receives the value the transition saw, on
 * either path (so no caller reads it unset).
 * Relaxed on failure: a failed attempt publishes and consumes nothing.
 */
static inline int fk_ref_update(_Atomic uint64_t *w, int (*next)(uint64_t, uint64_t, uint64_t *),
                                uint64_t max, memory_order success, uint64_t *old)
{
	uint64_t v = atomic_load_explicit(w, memory_order_relaxed), n;
	do {
		int err = next(v, max, &n);
		if (err) {
			*old = v;
			return err;
		}
		FK_SCHED_POINT();
	} while (!atomic_compare_exchange_weak_explicit(w, &v, n, success, memory_order_relaxed));
	FK_SCHED_POINT();
	*old = v;
	return 0;
}

/* ---- pure verdicts of the fast policy ---- */

/* How to repair a blind +1/-1 that found an illegal value. */
enum fk_ref_fix {
	FK_REF_FIX_NONE,    /* legal, or the busy owner's store will overwrite it */
	FK_REF_FIX_UNDO,    /* above FK_REF_MAX: apply the inverse RMW */
	FK_REF_FIX_RESTORE, /* off UNUSED or UNIQUE: fk_ref_restore */
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
	case FK_REF_C_OVERFLOW:
		r.err = FK_EOVERFLOW;
		r.fix = FK_REF_FIX_UNDO;
		return r;
	default: /* UNIQUE or UNUSED class */
		r.err = fk_ref_state_error(old);
		r.fix = FK_REF_FIX_RESTORE;
		return r;
	}
}

/* A blind -1 found `old` (a holder's drop). */
static inline struct fk_ref_verdict fk_ref_fast_dec_verdict(uint64_t old)
{
	struct fk_ref_verdict r = {0, FK_REF_FIX_NONE};
	switch (fk_ref_class(old)) {
	case FK_REF_C_SHARED:
		r.err = old == 1; /* the last reference, if fk_ref_fast_take_teardown agrees */
		return r;
	case FK_REF_C_OVERFLOW:
		/* A concurrent +1 past the maximum is about to undo itself; our
		 * reference is real and not the last. */
		return r;
	case FK_REF_C_BUSY:
	case FK_REF_C_UNDERFLOW:
		/* Double drop of a frame being built or torn down: the word is
		 * still busy to everyone until the owner's store overwrites it. */
		r.err = FK_EBUSY;
		return r;
	default: /* UNIQUE or UNUSED class */
		r.err = fk_ref_state_error(old);
		r.fix = FK_REF_FIX_RESTORE;
		return r;
	}
}

/*
 * One restoring step: the word reads v, a stale +1/-1 displaced it from
 * `state` (UNUSED or UNIQUE). Returns 1 and the value one step closer to
 * `state` while v is still displaced in state's class; 0 when there is
 * nothing (left) to restore: v is the state itself (other stale steps
 * cancelled ours) or another class (an owner has since overwritten the
 * word, erasing our step). Moving toward the state, never past it, keeps
 * |v - state| at most the number of restores still pending, so the word is
 * exact once every stale thread is done.
 */
static inline int fk_ref_restore_next(uint64_t v, uint64_t state, uint64_t *next)
{
	if (v == state || fk_ref_class(v) != fk_ref_class(state))
		return 0;
	*next = v > state ? v - 1 : v + 1;
	return 1;
}

/* ---- the transitions ---- */

/* A fresh slot starts UNUSED (not yet published: no ordering needed). */
static inline void fk_ref_init(_Atomic uint64_t *w)
{
	atomic_init(w, FK_REF_UNUSED);
}

/* The state a value of the UNUSED or UNIQUE class was displaced from. */
static inline uint64_t fk_ref_displaced_state(uint64_t v)
{
	return fk_ref_class(v) == FK_REF_C_UNUSED ? FK_REF_UNUSED : FK_REF_UNIQUE;
}

/*
 * Undo a fast step off `state` (UNUSED or UNIQUE) by CAS, one step toward
 * the state while the word is still displaced in its class (see
 * fk_ref_restore_next). Relaxed: the restore publishes and consumes
 * nothing; as an RMW it stays in the release sequence of the state's
 * store, so an owner's acquire that reads it still synchronises with that
 * store.
 */
static inline void fk_ref_restore(_Atomic uint64_t *w, uint64_t state)
{
	uint64_t v = atomic_load_explicit(w, memory_order_relaxed), n;
	FK_SCHED_POINT();
	while (fk_ref_restore_next(v, state, &n) &&
	       !atomic_compare_exchange_weak_explicit(w, &v, n, memory_order_relaxed,
	                                              memory_order_relaxed))
		FK_SCHED_POINT();
	FK_SCHED_POINT();
}

/*
 * Move the word from any value of `state`'s class (the state, or the state
 * displaced by a stale fast step, whose restore then finds another class
 * and stops) to `next`. CAS loop; 0 on success, else the error for the
 * value found (nothing changed).
 */
static inline int fk_ref_leave_class(_Atomic uint64_t *w, uint64_t state, uint64_t next,
                                     memory_order success)
{
	uint64_t v = atomic_load_explicit(w, memory_order_relaxed);
	do {
		if (fk_ref_class(v) != fk_ref_class(state))
			return fk_ref_cas_error(v, state);
		FK_SCHED_POINT();
	} while (
	    !atomic_compare_exchange_weak_explicit(w, &v, next, success, memory_order_relaxed));
	FK_SCHED_POINT();
	return 0;
}

/*
 * Claim by address: UNUSED (class) -> BUSY. Acquire on success pairs with
 * the release store of UNUSED in fk_ref_release_unused(): the previous
 * owner's teardown happens-before our metadata writes. Relaxed on failure:
 * we only report.
 */
static inline int fk_ref_claim(_Atomic uint64_t *w)
{
	return fk_ref_leave_class(w, FK_REF_UNUSED, FK_REF_BUSY, memory_order_acquire);
}

/*
 * Claim of a frame the allocator has just handed to us alone (no RMW):
 * read the word, then store BUSY before the metadata is written, so that
 * from_in_use reports FK_EBUSY while the frame is built (frame.h), as it
 * does for a claim by address. The load is acquire: it pairs with the
 * release UNUSED store of the frame's last teardown (fk_ref_release_unused),
 * so that teardown happens-before our writes whatever ordering the
 * allocator itself provides; a plain load on x86. The store is relaxed: it
 * publishes nothing (the later fk_ref_publish does), and nobody else may
 * move the word of a granted frame except a stale handle's fast step,
 * which the store overwrites (a pending restore then finds BUSY and
 * stops). FK_EBUSY (word untouched) if the word is not in the UNUSED
 * class: a faulty allocator handed out a frame in use.
 */
static inline int fk_ref_claim_granted(_Atomic uint64_t *w)
{
	uint64_t v = atomic_load_explicit(w, memory_order_acquire);
	if (fk_ref_class(v) != FK_REF_C_UNUSED)
		return FK_EBUSY;
	atomic_store_explicit(w, FK_REF_BUSY, memory_order_relaxed);
	return 0;
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
 * Back to UNUSED after teardown (the word is busy and ours). Release pairs
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
	FK_REF_TEST_PAUSE(w);
	FK_SCHED_POINT();
	struct fk_ref_verdict v = fk_ref_fast_inc_verdict(old, max);
	if (v.fix == FK_REF_FIX_UNDO) {
		/* Relaxed: a shared word is moved only by RMWs, so the inverse
		 * RMW is exact; it carries no data. */
		atomic_fetch_sub_explicit(w, 1, memory_order_relaxed);
		FK_SCHED_POINT();
	} else if (v.fix == FK_REF_FIX_RESTORE) {
		fk_ref_restore(w, fk_ref_displaced_state(old));
	}
	return v.err;
}

/*
 * The fast last drop: our fetch_sub took the word from 1 to 0. Claim the
 * teardown with a CAS to BUSY, from 0 or from a value a stale -1 moved 0
 * to (the underflow class). If a stale +1 made the word shared again, a
 * from_in_use may already hold a reference through it: leave the frame
 * alone (it leaks with the phantom reference; nobody tears it down under a
 * holder). If another thread's CAS made it BUSY (a stale drop that counted
 * a stale +1 as its last), that thread owns the teardown. Returns 1 when
 * the caller owns the teardown.
 *
 * Acquire on success: the CAS reads our fetch_sub's value, or a later RMW
 * in the release sequences of every earlier holder's release decrement,
 * so their metadata accesses happen-before our teardown (Arc's acquire
 * fence, as an RMW, which TSan models). Relaxed on failure: we act on
 * nothing.
 */
static inline int fk_ref_fast_take_teardown(_Atomic uint64_t *w)
{
	uint64_t v = 0;
	FK_SCHED_POINT();
	while (!atomic_compare_exchange_weak_explicit(w, &v, FK_REF_BUSY, memory_order_acquire,
	                                              memory_order_relaxed)) {
		if (v != 0 && fk_ref_class(v) != FK_REF_C_UNDERFLOW)
			return 0;
	}
	return 1;
}

/*
 * -1 for a holder. Returns 1 for the last reference (the word is now BUSY
 * and the caller owns the teardown), 0 otherwise, or an error (stale
 * handle; the word is restored as described above). `likely_last` is a
 * hint (a segment drop passes it once an earlier frame of the same
 * segment was the last: frames allocated together die together); it
 * changes the instructions, never the outcome.
 *
 * Order: release, so this holder's metadata accesses happen-before the
 * teardown. The last dropper then needs acquire on every earlier
 * holder's release: checked gets it from the acq_rel CAS (1 -> BUSY);
 * fast from the acquire CAS 0 -> BUSY of fk_ref_fast_take_teardown after a
 * fetch_sub that returned 1, which also keeps a stale +1 on that 0 from
 * reviving a frame being torn down. That CAS is the price of the guarantee
 * (one more locked instruction per last drop, on a line we own; issue 18
 * replaced an acquire load with it). With the hint, fast first loads the
 * word (relaxed) and, if it reads 1, takes the last reference with one
 * acq_rel CAS 1 -> BUSY: no window at 0, one locked instruction; a load
 * first would cost a non-last drop a second transfer of a line another
 * CPU is writing, hence only with the hint (results/genmc/README.md).
 */
static inline int fk_ref_dec_hinted(_Atomic uint64_t *w, int policy, int likely_last)
{
	uint64_t old;
	if (policy == FK_REFCOUNT_CHECKED) {
		int err =
		    fk_ref_update(w, fk_ref_dec_next, FK_REF_MAX, memory_order_acq_rel, &old);
		return err ? err : old == 1;
	}
	if (likely_last) {
		/* Relaxed load and failure: they act on nothing. */
		old = atomic_load_explicit(w, memory_order_relaxed);
		FK_REF_TEST_PAUSE(w);
		FK_SCHED_POINT();
		if (old == 1 && atomic_compare_exchange_strong_explicit(w, &old, FK_REF_BUSY,
		                                                        memory_order_acq_rel,
		                                                        memory_order_relaxed))
			return 1;
	}
	FK_SCHED_POINT();
	old = atomic_fetch_sub_explicit(w, 1, memory_order_release);
	FK_REF_TEST_PAUSE(w);
	FK_SCHED_POINT();
	struct fk_ref_verdict v = fk_ref_fast_dec_verdict(old);
	if (v.err == 1)
		return fk_ref_fast_take_teardown(w);
	if (v.fix == FK_REF_FIX_RESTORE)
		fk_ref_restore(w, fk_ref_displaced_state(old));
	return v.err;
}

static inline int fk_ref_dec(_Atomic uint64_t *w, int policy)
{
	return fk_ref_dec_hinted(w, policy, 0);
}

/*
 * UNIQUE (class) -> 1 (a unique frame becomes shared). Release pairs with
 * the acquire CAS of from_in_use: metadata written through the unique
 * handle is visible to every later sharer.
 */
static inline int fk_ref_unique_to_shared(_Atomic uint64_t *w)
{
	return fk_ref_leave_class(w, FK_REF_UNIQUE, 1, memory_order_release);
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
 * UNIQUE (class) -> BUSY (a unique frame is dropped; the caller tears it
 * down). Relaxed: we are the only owner (Asterinas' UniqueFrame drop); the
 * CAS rejects a stale copy of an already dropped handle.
 */
static inline int fk_ref_unique_to_busy(_Atomic uint64_t *w)
{
	return fk_ref_leave_class(w, FK_REF_UNIQUE, FK_REF_BUSY, memory_order_relaxed);
}

/*
 * Is the frame free, for the region idle check before its slots are freed?
 * The UNUSED class: a stale handle's step in flight is restored inside its
 * read section, which the removal's grace period waits for. Acquire pairs
 * with the release UNUSED store of the last dropper (fk_ref_release_unused;
 * a stale step is an RMW in its release sequence): its teardown is
 * complete before we free.
 */
static inline int fk_ref_is_unused_acquire(const _Atomic uint64_t *w)
{
	return fk_ref_class(atomic_load_explicit((_Atomic uint64_t *)w, memory_order_acquire)) ==
	       FK_REF_C_UNUSED;
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
