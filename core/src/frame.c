/*
 * Frame handles (Asterinas Frame<M>) and unique frames (UniqueFrame<M>).
 * Every by-address path runs under the RCU read lock; handle paths need no
 * lookup because a held reference pins the region.
 */
#include <framekit/frame.h>
#include <framekit/segment.h>

#include "checked_internal.h"
#include "mem_internal.h"
#include "raw_internal.h"

static int handle_ok(const struct fk_region *r, uint64_t paddr)
{
	return r && !(paddr & (FK_PAGE_SIZE - 1)) && paddr >= r->base && paddr < r->end;
}

static int type_ok(const struct fk_meta_type *type)
{
	return !type || type->size <= FK_META_MAX_SIZE;
}

static int claim_one(fk_mem *mem, uint64_t paddr, const struct fk_meta_type *type,
                     fk_meta_init_fn init, void *ctx, uint64_t state, struct fk_region **out)
{
	struct fk_region *r;
	if (!mem || !type_ok(type))
		return FK_EINVAL;
	if (!fk_rcu_registered())
		return FK_EINVAL;
	fk_rcu_read_lock();
	int err = fk_mem_lookup_claimable(mem, paddr, FK_PAGE_SIZE, &r);
	if (!err)
		err = fk_claim_frame(r, paddr, type, init, ctx, state);
	fk_rcu_read_unlock();
	if (!err)
		*out = r;
	return err;
}

int fk_frame_from_unused(fk_mem *mem, uint64_t paddr, const struct fk_meta_type *type,
                         fk_meta_init_fn init, void *ctx, fk_frame *out)
{
	struct fk_region *r;
	if (!out)
		return FK_EINVAL;
	int err = claim_one(mem, paddr, type, init, ctx, 1, &r);
	if (err)
		return err;
	out->region = r;
	out->paddr = paddr;
	return 0;
}

int fk_frame_from_in_use(fk_mem *mem, uint64_t paddr, fk_frame *out)
{
	struct fk_region *r;
	if (!mem || !out || !fk_rcu_registered())
		return FK_EINVAL;
	fk_rcu_read_lock();
	int err = fk_mem_lookup(mem, paddr, FK_PAGE_SIZE, &r);
	if (!err)
		err = fk_slot_inc_in_use(fk_region_slot(r, paddr), mem->ref_max);
	fk_rcu_read_unlock();
	if (err)
		return err;
	out->region = r;
	out->paddr = paddr;
	return 0;
}

int fk_frame_clone(fk_mem *mem, const fk_frame *f, fk_frame *out)
{
	if (!mem || !f || !out || !handle_ok(f->region, f->paddr))
		return FK_EINVAL;
	int err = fk_slot_inc_held(fk_region_slot(f->region, f->paddr), mem->ref_max);
	if (err)
		return err;
	*out = *f;
	fk_check_frame_held(out->region, out->paddr);
	return 0;
}

int fk_frame_drop(fk_mem *mem, fk_frame *f)
{
	if (!mem || !f || !handle_ok(f->region, f->paddr) || !fk_rcu_registered())
		return FK_EINVAL;
	struct fk_region *r = f->region;
	int last = fk_slot_dec(fk_region_slot(r, f->paddr));
	if (last < 0)
		return last;
	if (last)
		fk_release_run(mem, r, f->paddr, f->paddr + FK_PAGE_SIZE);
	f->region = 0;
	return 0;
}

int fk_frame_into_raw(fk_mem *mem, fk_frame *f, uint64_t *paddr)
{
	if (!mem || !f || !paddr || !handle_ok(f->region, f->paddr))
		return FK_EINVAL;
	uint64_t v = fk_slot_refcount(fk_region_slot(f->region, f->paddr));
	if (!fk_rc_is_shared(v))
		return fk_slot_state_error(v);
	int err = fk_raw_record(f->region, f->paddr, f->paddr + FK_PAGE_SIZE);
	if (err)
		return err;
	*paddr = f->paddr;
	f->region = 0;
	return 0;
}

int fk_frame_from_raw(fk_mem *mem, uint64_t paddr, fk_frame *out)
{
	fk_segment seg;
	if (!out)
		return FK_EINVAL;
	if (paddr & (FK_PAGE_SIZE - 1))
		return FK_ENOTALIGNED;
	if (paddr > UINT64_MAX - FK_PAGE_SIZE)
		return FK_EOUTOFBOUND; /* no region reaches the last page */
	/* A one-frame raw range: the same checks and the same consumption. */
	int err = fk_segment_from_raw(mem, paddr, paddr + FK_PAGE_SIZE, 0, &seg);
	if (err)
		return err;
	out->region = seg.region;
	out->paddr = paddr;
	return 0;
}

uint64_t fk_frame_paddr(const fk_frame *f)
{
	return f ? f->paddr : 0;
}

uint64_t fk_frame_refcount(const fk_frame *f)
{
	if (!f || !handle_ok(f->region, f->paddr))
		return FK_REF_UNUSED;
	return fk_slot_refcount(fk_region_slot(f->region, f->paddr));
}

const void *fk_frame_meta(const fk_frame *f)
{
	if (!f || !handle_ok(f->region, f->paddr))
		return 0;
	return fk_region_slot(f->region, f->paddr)->storage;
}

const struct fk_meta_type *fk_frame_meta_type(const fk_frame *f)
{
	if (!f || !handle_ok(f->region, f->paddr))
		return 0;
	return fk_region_slot(f->region, f->paddr)->type;
}

int fk_frame_meta_as(const fk_frame *f, const struct fk_meta_type *type, const void **meta)
{
	if (!f || !type || !meta || !handle_ok(f->region, f->paddr))
		return FK_EINVAL;
	struct fk_meta_slot *s = fk_region_slot(f->region, f->paddr);
	if (s->type != type)
		return FK_ETYPE;
	*meta = s->storage;
	return 0;
}

/* ---- unique frames ---- */

int fk_unique_frame_from_unused(fk_mem *mem, uint64_t paddr, const struct fk_meta_type *type,
                                fk_meta_init_fn init, void *ctx, fk_unique_frame *out)
{
	struct fk_region *r;
	if (!out)
		return FK_EINVAL;
	int err = claim_one(mem, paddr, type, init, ctx, FK_REF_UNIQUE, &r);
	if (err)
		return err;
	out->region = r;
	out->paddr = paddr;
	return 0;
}

int fk_unique_frame_into_shared(fk_mem *mem, fk_unique_frame *uf, fk_frame *out)
{
	if (!mem || !uf || !out || !handle_ok(uf->region, uf->paddr))
		return FK_EINVAL;
	struct fk_meta_slot *s = fk_region_slot(uf->region, uf->paddr);
	uint64_t expect = FK_REF_UNIQUE;
	/* Release pairs with the acquire CAS of from_in_use: metadata written
	 * through the unique handle is visible to every later sharer. */
	if (!atomic_compare_exchange_strong_explicit(&s->refcount, &expect, 1, memory_order_release,
	                                             memory_order_relaxed))
		return fk_rc_is_shared(expect) ? FK_EINUSE : fk_slot_state_error(expect);
	out->region = uf->region;
	out->paddr = uf->paddr;
	uf->region = 0;
	return 0;
}

int fk_frame_try_into_unique(fk_mem *mem, fk_frame *f, fk_unique_frame *out)
{
	if (!mem || !f || !out || !handle_ok(f->region, f->paddr))
		return FK_EINVAL;
	struct fk_meta_slot *s = fk_region_slot(f->region, f->paddr);
	uint64_t expect = 1;
	/* acq_rel: acquire pairs with the release decrements of former holders
	 * (Asterinas uses Relaxed here; see notes section 6.5), so their
	 * accesses happen-before our exclusive ones. */
	if (!atomic_compare_exchange_strong_explicit(&s->refcount, &expect, FK_REF_UNIQUE,
	                                             memory_order_acq_rel, memory_order_relaxed))
		return fk_rc_is_shared(expect) ? FK_EINUSE : fk_slot_state_error(expect);
	out->region = f->region;
	out->paddr = f->paddr;
	f->region = 0;
	return 0;
}

int fk_unique_frame_drop(fk_mem *mem, fk_unique_frame *uf)
{
	if (!mem || !uf || !handle_ok(uf->region, uf->paddr) || !fk_rcu_registered())
		return FK_EINVAL;
	struct fk_meta_slot *s = fk_region_slot(uf->region, uf->paddr);
	uint64_t expect = FK_REF_UNIQUE;
	/* UNIQUE -> 0: relaxed, we are the only owner (as Asterinas' UniqueFrame
	 * drop); the CAS rejects a stale copy of an already dropped handle. */
	if (!atomic_compare_exchange_strong_explicit(&s->refcount, &expect, 0, memory_order_relaxed,
	                                             memory_order_relaxed))
		return fk_rc_is_shared(expect) ? FK_EINUSE : fk_slot_state_error(expect);
	fk_release_run(mem, uf->region, uf->paddr, uf->paddr + FK_PAGE_SIZE);
	uf->region = 0;
	return 0;
}

void *fk_unique_frame_meta(const fk_unique_frame *uf)
{
	if (!uf || !handle_ok(uf->region, uf->paddr))
		return 0;
	return fk_region_slot(uf->region, uf->paddr)->storage;
}

uint64_t fk_unique_frame_paddr(const fk_unique_frame *uf)
{
	return uf ? uf->paddr : 0;
}
