/* SPDX-License-Identifier: MIT */
/*
 * The metadata slot: one 64-byte cache line per frame.
 *
 * Invariant (Verus MetaSlotOwner::inv): refcount is UNUSED, UNIQUE, BUSY
 * (or 0, for an instant) or in 1..FK_REF_MAX (a guard-band value only
 * transiently, see
 * refcount_internal.h, which holds every transition of the word); type and
 * the first type->size bytes of storage are meaningful only when the count
 * is UNIQUE or shared; only the thread that owns the slot exclusively
 * (the one that made the word busy) may write them.
 */
#ifndef FK_SLOT_INTERNAL_H
#define FK_SLOT_INTERNAL_H

#include <assert.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

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

/*
 * Write the metadata of a slot owned exclusively (busy, claimed by the
 * caller): type->size bytes zeroed (the rest of the
 * storage is never read through this type), the type, then init. On init
 * failure the type is cleared again: not published, so no on_drop, as for
 * a failed Rust claim.
 */
static inline int fk_slot_init_meta(struct fk_meta_slot *s, uint64_t paddr,
                                    const struct fk_meta_type *type, fk_meta_init_fn init,
                                    void *ctx)
{
	const struct fk_meta_type *t = type ? type : &fk_meta_untyped;
	if (t->size)
		memset(s->storage, 0, t->size);
	fk_slot_set_type(s, t);
	if (init) {
		int err = init(s->storage, paddr, ctx);
		if (err) {
			fk_slot_set_type(s, 0);
			return err < 0 ? err : FK_EINVAL;
		}
	}
	return 0;
}

/* Teardown of a slot owned exclusively after its last reference: on_drop,
 * then the type and list tag cleared. The count is left to the caller. */
static inline void fk_slot_teardown(struct fk_meta_slot *s, uint64_t paddr)
{
	const struct fk_meta_type *t = fk_slot_type(s);
	if (t && t->on_drop)
		t->on_drop(s->storage, paddr, t->ctx);
	fk_slot_set_type(s, 0);
	/* Relaxed: only the owner of list membership writes it; we are the sole
	 * owner of this slot now. */
	atomic_store_explicit(&s->in_list, 0, memory_order_relaxed);
}

#endif /* FK_SLOT_INTERNAL_H */
