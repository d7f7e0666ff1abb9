/* SPDX-License-Identifier: MIT */
/*
 * Shared scaffolding of the refcount harnesses (not a harness itself: the
 * script runs verify/genmc/<name>.c files only). One frame: its refcount
 * word (driven only by the real transitions of core/src/refcount_internal.h),
 * its metadata as a plain int that GenMC checks for data races, and the
 * count of teardowns. Teardown here is what fk_release_run does to the
 * word and the metadata (fk_slot_teardown, then fk_ref_release_unused).
 *
 * Mutations shared by the harnesses that include this file, selected with
 * -DFK_MUTATION=<k> before refcount_internal.h is read:
 *   FK_MUT_RELEASE_RELAXED  every release (and acq_rel's release half) in
 *                           the header weakened to relaxed
 *   FK_MUT_ACQUIRE_RELAXED  every acquire (and acq_rel's acquire half)
 *                           weakened to relaxed: the last drop's acquire gone
 *   FK_MUT_BUSY_AT_ZERO     FK_REF_BUSY = 0, busy next to count 1 again (the
 *                           encoding before issue 18: a stale +1 revives it)
 */
#ifndef FK_GENMC_FRAME_H
#define FK_GENMC_FRAME_H

#include <assert.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include <framekit/meta.h>

#define FK_MUT_RELEASE_RELAXED 1
#define FK_MUT_ACQUIRE_RELAXED 2
#define FK_MUT_BUSY_AT_ZERO    3
#ifndef FK_MUTATION
#define FK_MUTATION 0
#endif

#if FK_MUTATION == FK_MUT_RELEASE_RELAXED
#define memory_order_release memory_order_relaxed
#define memory_order_acq_rel memory_order_acquire
#elif FK_MUTATION == FK_MUT_ACQUIRE_RELAXED
#define memory_order_acquire memory_order_relaxed
#define memory_order_acq_rel memory_order_release
#elif FK_MUTATION == FK_MUT_BUSY_AT_ZERO
#undef FK_REF_BUSY
#define FK_REF_BUSY 0ull
#endif

#include "refcount_internal.h"

#undef memory_order_release
#undef memory_order_acquire
#undef memory_order_acq_rel

/*
 * The code at 12462eb (before issue 18) had no FK_REF_BUSY and no
 * fk_ref_claim_granted: claim.c:96 read the word (acquire) and accepted
 * any value of the UNUSED class, then wrote the metadata with the word
 * left as it was. This is that step, so that the same harness runs on the
 * old headers (results/genmc/).
 */
#ifndef FK_REF_CLASS_BUSY_LO
#define FK_GENMC_OLD_CODE 1
static inline int fk_ref_claim_granted(_Atomic uint64_t *w)
{
	return fk_ref_class(fk_ref_read_granted(w)) == FK_REF_C_UNUSED ? 0 : -3;
}
/* No hint there: every drop was the fetch_sub. */
#define fk_ref_dec_hinted(w, policy, hint) fk_ref_dec(w, policy)
#endif

#define META_LIVE 42

static _Atomic uint64_t word;
static int meta;                 /* plain: GenMC reports unordered accesses */
static atomic_int teardowns;

/* The holder of the last reference (fk_ref_dec returned 1) tears down. */
static void teardown(void)
{
	meta = 0;
	atomic_fetch_add_explicit(&teardowns, 1, memory_order_relaxed);
	fk_ref_release_unused(&word);
}

/* A holder's use of its reference: the metadata must be the live one. */
static void use(void)
{
	assert(meta == META_LIVE);
}

/* A holder drops (a correct holder's drop never fails). The frame's
 * owner passes the segment drop's hint (fk_ref_dec_hinted: load first,
 * CAS 1 -> BUSY), everyone else drops as a frame drop does. */
static void drop_hinted(int policy, int hint)
{
	int last = fk_ref_dec_hinted(&word, policy, hint);
	assert(last >= 0);
	if (last == 1)
		teardown();
}

static void drop(int policy)
{
	drop_hinted(policy, 0);
}

/* from_in_use by address, no reference held; uses and drops what it got. */
static void *speculative_get(void *arg)
{
	int policy = (int)(intptr_t)arg;
	if (fk_ref_inc_in_use(&word, FK_REF_MAX) == 0) {
		use();
		drop(policy);
	}
	return 0;
}

/*
 * A stale copy of a handle dropped before the harness starts: it clones.
 * While the frame is shared (by its next owner) no policy can tell it from
 * a real handle: then it holds a real reference and drops it. It does not
 * read the metadata: a clone is relaxed (the caller is supposed to hold a
 * reference already), so a stale handle's reads are unordered, under both
 * policies; that is the misuse no policy can see.
 */
static void *stale_clone(void *arg)
{
	int policy = (int)(intptr_t)arg;
	if (fk_ref_inc_held(&word, policy, FK_REF_MAX) == 0)
		drop(policy);
	return 0;
}

/* After every thread: at most one teardown per life, and the word says what
 * happened: torn down -> UNUSED; not torn down -> still shared (a leak, the
 * one thing a stale fast step may cause). */
static void check_end(int policy, int may_leak)
{
	uint64_t w = atomic_load_explicit(&word, memory_order_relaxed);
	int t = atomic_load_explicit(&teardowns, memory_order_relaxed);
	assert(t <= 1);
	if (t == 1)
		assert(w == FK_REF_UNUSED);
	else
		assert(may_leak && policy == FK_REFCOUNT_FAST && fk_ref_is_shared(w));
}

#endif /* FK_GENMC_FRAME_H */
