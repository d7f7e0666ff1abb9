/*
 * The metadata slot: one 64-byte cache line per frame.
 *
 * Invariant (Verus MetaSlotOwner::inv): refcount is UNUSED, UNIQUE, 0 (busy)
 * or in 1..FK_REF_MAX; type and storage are meaningful only when the count
 * is UNIQUE or shared; only the thread that moved the count to 0 or UNIQUE
 * may write them.
 */
#ifndef FK_SLOT_INTERNAL_H
#define FK_SLOT_INTERNAL_H

#include <assert.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdint.h>

#include <framekit/error.h>
#include <framekit/meta.h>

struct fk_meta_slot {
	alignas(FK_META_SLOT_SIZE) unsigned char storage[FK_META_MAX_SIZE];
	_Atomic uint64_t refcount;
	/* Atomic so that a check before holding a reference (typed from_raw of
	 * a caller-supplied range) is a race-free read; see fk_slot_type. */
	_Atomic(const struct fk_meta_type *) type;
	_Atomic uint64_t in_list;
};

static_assert(sizeof(struct fk_meta_slot) == FK_META_SLOT_SIZE, "slot is one cache line");
static_assert(alignof(struct fk_meta_slot) == FK_META_SLOT_SIZE, "slot is cache-line aligned");

/*
 * The slot's type. Relaxed: the value is meaningful only to a thread that
 * holds a reference or the exclusive state, which is ordered after the
 * owner's store by the count's acquire/release (fk_slot_publish,
 * fk_slot_claim); anyone else gets a race-free hint and must re-check once
 * it holds a reference. Plain loads/stores on x86-64 and AArch64.
 */
static inline const struct fk_meta_type *fk_slot_type(const struct fk_meta_slot *s)
{
	return atomic_load_explicit(&((struct fk_meta_slot *)s)->type, memory_order_relaxed);
}

/* Only the thread that moved the count to 0 or UNIQUE (see above). */
static inline void fk_slot_set_type(struct fk_meta_slot *s, const struct fk_meta_type *t)
{
	atomic_store_explicit(&s->type, t, memory_order_relaxed);
}

/* Map an observed non-shared count to the error Asterinas reports. */
static inline int fk_slot_state_error(uint64_t v)
{
	if (v == FK_REF_UNUSED)
		return FK_EUNUSED;
	if (v == FK_REF_UNIQUE)
		return FK_EUNIQUE;
	if (v == 0)
		return FK_EBUSY;
	return FK_EOVERFLOW; /* guard band */
}

static inline int fk_rc_is_shared(uint64_t v)
{
	return v >= 1 && v <= FK_REF_MAX;
}

/*
 * Claim an UNUSED slot: CAS UNUSED -> 0.
 * Acquire on success pairs with the release store of UNUSED in
 * fk_slot_release_unused(), so the previous owner's teardown (on_drop,
 * metadata writes) happens-before our metadata writes. Relaxed on failure:
 * we only report the state.
 */
static inline int fk_slot_claim(struct fk_meta_slot *s)
{
	uint64_t expect = FK_REF_UNUSED;
	if (atomic_compare_exchange_strong_explicit(&s->refcount, &expect, 0, memory_order_acquire,
	                                            memory_order_relaxed))
		return 0;
	return expect == FK_REF_UNIQUE ? FK_EUNIQUE : expect == 0 ? FK_EBUSY : FK_EINUSE;
}

/*
 * Publish a claimed slot with count 1. Release pairs with the acquire CAS in
 * fk_slot_inc_in_use() (from_in_use) and the acquire load in readers that got
 * the handle through another thread, so the metadata is visible before the
 * count says "shared".
 */
static inline void fk_slot_publish(struct fk_meta_slot *s, uint64_t state)
{
	atomic_store_explicit(&s->refcount, state, memory_order_release);
}

/*
 * Back to UNUSED after teardown. Release pairs with the acquire CAS in
 * fk_slot_claim(): the next owner sees our teardown complete.
 */
static inline void fk_slot_release_unused(struct fk_meta_slot *s)
{
	atomic_store_explicit(&s->refcount, FK_REF_UNUSED, memory_order_release);
}

/*
 * +1 from a shared count only, never from UNUSED, busy (0) or UNIQUE, and
 * never past ref_max: a CAS loop rather than a blind fetch_add, so that a
 * stale handle or a dying frame is reported instead of corrupting or
 * reviving the state word. `success` is the order of the winning CAS.
 */
static inline int slot_inc_shared(struct fk_meta_slot *s, uint64_t ref_max, memory_order success)
{
	uint64_t v = atomic_load_explicit(&s->refcount, memory_order_relaxed);
	do {
		if (!fk_rc_is_shared(v))
			return fk_slot_state_error(v);
		if (v >= ref_max)
			return FK_EOVERFLOW;
	} while (!atomic_compare_exchange_weak_explicit(&s->refcount, &v, v + 1, success,
	                                                memory_order_relaxed));
	return 0;
}

/*
 * +1 for a holder of a reference (clone, slice). Relaxed: the caller already
 * holds a reference, so the metadata is already visible to it, and a new
 * reference carries no data (as in Arc::clone).
 */
static inline int fk_slot_inc_held(struct fk_meta_slot *s, uint64_t ref_max)
{
	return slot_inc_shared(s, ref_max, memory_order_relaxed);
}

/*
 * +1 by address, without holding a reference (from_in_use); a count that
 * reached 0 (dying) or UNUSED is never revived. Acquire on success pairs
 * with the release publish of count 1 (fk_slot_publish) so the metadata is
 * visible to the new holder.
 */
static inline int fk_slot_inc_in_use(struct fk_meta_slot *s, uint64_t ref_max)
{
	return slot_inc_shared(s, ref_max, memory_order_acquire);
}

/*
 * -1 for a holder. Returns 1 if this was the last reference (count now 0,
 * caller owns the teardown), 0 otherwise, or an error if the count shows
 * the reference was already released (double drop), leaving it unchanged.
 * acq_rel: the release half orders this holder's metadata reads/writes
 * before the decrement; the acquire half (needed only by the last dropper,
 * like Arc's acquire fence, but a fence is invisible to TSan) makes every
 * other holder's released accesses happen-before on_drop and reuse.
 */
static inline int fk_slot_dec(struct fk_meta_slot *s)
{
	uint64_t v = atomic_load_explicit(&s->refcount, memory_order_relaxed);
	do {
		if (!fk_rc_is_shared(v))
			return fk_slot_state_error(v);
	} while (!atomic_compare_exchange_weak_explicit(
	    &s->refcount, &v, v - 1, memory_order_acq_rel, memory_order_relaxed));
	return v == 1;
}

/*
 * fk_slot_dec for a handle's own reference when raw references are tracked
 * (raw = the frame's raw counter): the counted references never fall below
 * the raw ones, so a drop that would (a stale copy of a handle turned raw)
 * is refused with FK_EUNUSED, count unchanged.
 * The count is read with acquire (on failure too) and the raw counter after
 * it: a from_raw that consumed a raw reference and then dropped it
 * (release) is seen with its consumption, so a legitimate drop is never
 * refused on a stale raw value.
 */
static inline int fk_slot_dec_tracked(struct fk_meta_slot *s, const _Atomic uint32_t *raw)
{
	uint64_t v = atomic_load_explicit(&s->refcount, memory_order_acquire);
	do {
		if (!fk_rc_is_shared(v))
			return fk_slot_state_error(v);
		/* Relaxed: ordered after the acquire load of v (see above). */
		if (v <= atomic_load_explicit(raw, memory_order_relaxed))
			return FK_EUNUSED;
	} while (!atomic_compare_exchange_weak_explicit(
	    &s->refcount, &v, v - 1, memory_order_acq_rel, memory_order_acquire));
	return v == 1;
}

static inline uint64_t fk_slot_refcount(const struct fk_meta_slot *s)
{
	/* Relaxed: advisory snapshot only (Asterinas reference_count()). */
	return atomic_load_explicit(&((struct fk_meta_slot *)s)->refcount, memory_order_relaxed);
}

#endif /* FK_SLOT_INTERNAL_H */
