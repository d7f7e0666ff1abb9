/*
 * The metadata slot: one 64-byte cache line per frame.
 *
 * Invariant (Verus MetaSlotOwner::inv): refcount is UNUSED, UNIQUE, 0 (busy)
 * or in 1..FK_REF_MAX (a guard-band value only transiently, see
 * refcount_internal.h, which holds every transition of the word); type and
 * the first type->size bytes of storage are meaningful only when the count
 * is UNIQUE or shared; only the thread that owns the slot exclusively
 * (count 0, or UNUSED and granted by the allocator) may write them.
 */
#ifndef FK_SLOT_INTERNAL_H
#define FK_SLOT_INTERNAL_H

#include <assert.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdint.h>

#include <framekit/error.h>
#include <framekit/meta.h>

#include "refcount_internal.h"

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
 * owner's store by the count's acquire/release (fk_ref_publish,
 * fk_ref_claim); anyone else gets a race-free hint and must re-check once
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

static inline uint64_t fk_slot_refcount(const struct fk_meta_slot *s)
{
	return fk_ref_read(&s->refcount);
}

#endif /* FK_SLOT_INTERNAL_H */
