/* SPDX-License-Identifier: MIT */
/*
 * Frame handles (Asterinas Frame<M>) and unique frames (UniqueFrame<M>).
 * Every by-address path runs under the RCU read lock; handle paths need no
 * lookup because a held reference pins the region.
 */
#include <framekit/frame.h>
#include <framekit/segment.h>

#include "checked_internal.h"
#include "claim_internal.h"
#include "mem_internal.h"
#include "raw_internal.h"

/* Inside fk_handle_begin's read section: the handle lies in its region. */
static int handle_ok(const struct fk_region *r, uint64_t paddr)
{
	return !(paddr & (FK_PAGE_SIZE - 1)) && paddr >= r->base && paddr < r->end;
}

/*
 * Begin an operation on (r, gen, paddr): fk_handle_begin plus the bounds
 * check. On success the caller is in a read section.
 */
static int frame_begin(const fk_mem *mem, const struct fk_region *r, uint64_t gen, uint64_t paddr)
{
	int err = fk_handle_begin(mem, r, gen);
	if (err)
		return err;
	if (!handle_ok(r, paddr)) {
		fk_read_unlock(&mem->regions.lk);
		return FK_EINVAL;
	}
	return 0;
}

/* The same for the accessors, which take no context: `mem` is the handle's
 * own (no foreign-context check is possible, nor needed: they only read). */
static int frame_peek(const struct fk_region *r, uint64_t gen, uint64_t paddr)
{
	return r ? frame_begin(r->mem, r, gen, paddr) : FK_EINVAL;
}

static int type_ok(const struct fk_meta_type *type)
{
	return !type || type->size <= FK_META_MAX_SIZE;
}

/* *out and *gen are set on every path (NULL and 0 on error), so callers
 * never read an unset value (gcc -O3 -Wmaybe-uninitialized could not see
 * that they were written exactly when 0 is returned). */
static int claim_one(fk_mem *mem, uint64_t paddr, const struct fk_meta_type *type,
                     fk_meta_init_fn init, void *ctx, uint64_t state, struct fk_region **out,
                     uint64_t *gen)
{
	struct fk_region *r;
	*out = 0;
	*gen = 0;
	if (!mem || !type_ok(type))
		return FK_EINVAL;
	if (!fk_rcu_registered())
		return FK_EINVAL;
	fk_read_lock(&mem->regions.lk);
	int err = fk_region_lookup_claimable(&mem->regions, paddr, FK_PAGE_SIZE, &r);
	if (!err)
		err = fk_claim_frame(r, paddr, type, init, ctx, state);
	if (!err) {
		*out = r;
		*gen = fk_region_gen(r);
	}
	fk_read_unlock(&mem->regions.lk);
	return err;
}

int fk_frame_from_unused(fk_mem *mem, uint64_t paddr, const struct fk_meta_type *type,
                         fk_meta_init_fn init, void *ctx, fk_frame *out)
{
	struct fk_region *r;
	uint64_t gen;
	if (!out)
		return FK_EINVAL;
	int err = claim_one(mem, paddr, type, init, ctx, 1, &r, &gen);
	if (err)
		return err;
	out->region = r;
	out->paddr = paddr;
	out->gen = gen;
	return 0;
}

int fk_frame_from_in_use(fk_mem *mem, uint64_t paddr, fk_frame *out)
{
	struct fk_region *r;
	if (!mem || !out || !fk_rcu_registered())
		return FK_EINVAL;
	fk_read_lock(&mem->regions.lk);
	int err = fk_region_lookup(&mem->regions, paddr, FK_PAGE_SIZE, &r);
	if (!err)
		err = fk_ref_inc_in_use(&fk_region_slot(r, paddr)->refcount, mem->ref_max);
	if (!err) {
		out->region = r;
		out->paddr = paddr;
		out->gen = fk_region_gen(r);
	}
	fk_read_unlock(&mem->regions.lk);
	return err;
}

int fk_frame_clone(fk_mem *mem, const fk_frame *f, fk_frame *out)
{
	if (!f || !out)
		return FK_EINVAL;
	int err = frame_begin(mem, f->region, f->gen, f->paddr);
	if (err)
		return err;
	err = fk_ref_inc_held(&fk_region_slot(f->region, f->paddr)->refcount, mem->refcount,
	                      mem->ref_max);
	if (!err) {
		*out = *f;
		fk_check_frame_held(out->region, out->paddr);
	}
	fk_read_unlock(&mem->regions.lk);
	return err;
}

/* Release one handle reference on paddr; 1 = it was the last. */
static int frame_dec(struct fk_region *r, uint64_t paddr)
{
	struct fk_meta_slot *s = fk_region_slot(r, paddr);
	if (r->raw) {
		int err = fk_raw_drop_check(&s->refcount, &r->raw[fk_region_index(r, paddr)]);
		if (err)
			return err;
	}
	return fk_ref_dec(&s->refcount, r->mem->refcount);
}

int fk_frame_drop(fk_mem *mem, fk_frame *f)
{
	if (!f)
		return FK_EINVAL;
	int err = frame_begin(mem, f->region, f->gen, f->paddr);
	if (err)
		return err;
	struct fk_region *r = f->region;
	int last = frame_dec(r, f->paddr);
	if (last == 1)
		fk_release_run(mem, r, f->paddr, f->paddr + FK_PAGE_SIZE);
	fk_read_unlock(&mem->regions.lk);
	if (last < 0)
		return last;
	f->region = 0;
	return 0;
}

int fk_frame_into_raw(fk_mem *mem, fk_frame *f, uint64_t *paddr)
{
	if (!f || !paddr)
		return FK_EINVAL;
	int err = frame_begin(mem, f->region, f->gen, f->paddr);
	if (err)
		return err;
	uint64_t v = fk_slot_refcount(fk_region_slot(f->region, f->paddr));
	if (!fk_ref_is_shared(v))
		err = fk_ref_state_error(v);
	else
		err = fk_raw_record(f->region, f->paddr, f->paddr + FK_PAGE_SIZE);
	fk_read_unlock(&mem->regions.lk);
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
	out->gen = seg.gen;
	return 0;
}

uint64_t fk_frame_paddr(const fk_frame *f)
{
	return f ? f->paddr : 0;
}

uint64_t fk_frame_refcount(const fk_frame *f)
{
	if (!f || frame_peek(f->region, f->gen, f->paddr))
		return FK_REF_UNUSED;
	uint64_t v = fk_slot_refcount(fk_region_slot(f->region, f->paddr));
	fk_read_unlock(&f->region->mem->regions.lk);
	return v;
}

const void *fk_frame_meta(const fk_frame *f)
{
	if (!f || frame_peek(f->region, f->gen, f->paddr))
		return 0;
	/* Valid for as long as the caller holds the reference. */
	const void *m = fk_region_slot(f->region, f->paddr)->storage;
	fk_read_unlock(&f->region->mem->regions.lk);
	return m;
}

const struct fk_meta_type *fk_frame_meta_type(const fk_frame *f)
{
	if (!f || frame_peek(f->region, f->gen, f->paddr))
		return 0;
	const struct fk_meta_type *t = fk_slot_type(fk_region_slot(f->region, f->paddr));
	fk_read_unlock(&f->region->mem->regions.lk);
	return t;
}

int fk_frame_meta_as(const fk_frame *f, const struct fk_meta_type *type, const void **meta)
{
	if (!f || !type || !meta)
		return FK_EINVAL;
	int err = frame_peek(f->region, f->gen, f->paddr);
	if (err)
		return err;
	struct fk_meta_slot *s = fk_region_slot(f->region, f->paddr);
	if (fk_slot_type(s) != type)
		err = FK_ETYPE;
	else
		*meta = s->storage;
	fk_read_unlock(&f->region->mem->regions.lk);
	return err;
}

/* ---- unique frames ---- */

int fk_unique_frame_from_unused(fk_mem *mem, uint64_t paddr, const struct fk_meta_type *type,
                                fk_meta_init_fn init, void *ctx, fk_unique_frame *out)
{
	struct fk_region *r;
	uint64_t gen;
	if (!out)
		return FK_EINVAL;
	int err = claim_one(mem, paddr, type, init, ctx, FK_REF_UNIQUE, &r, &gen);
	if (err)
		return err;
	out->region = r;
	out->paddr = paddr;
	out->gen = gen;
	return 0;
}

int fk_unique_frame_into_shared(fk_mem *mem, fk_unique_frame *uf, fk_frame *out)
{
	if (!uf || !out)
		return FK_EINVAL;
	int err = frame_begin(mem, uf->region, uf->gen, uf->paddr);
	if (err)
		return err;
	err = fk_ref_unique_to_shared(&fk_region_slot(uf->region, uf->paddr)->refcount);
	fk_read_unlock(&mem->regions.lk);
	if (err)
		return err;
	out->region = uf->region;
	out->paddr = uf->paddr;
	out->gen = uf->gen;
	uf->region = 0;
	return 0;
}

int fk_frame_try_into_unique(fk_mem *mem, fk_frame *f, fk_unique_frame *out)
{
	if (!f || !out)
		return FK_EINVAL;
	int err = frame_begin(mem, f->region, f->gen, f->paddr);
	if (err)
		return err;
	err = fk_ref_shared_to_unique(&fk_region_slot(f->region, f->paddr)->refcount);
	fk_read_unlock(&mem->regions.lk);
	if (err)
		return err;
	out->region = f->region;
	out->paddr = f->paddr;
	out->gen = f->gen;
	f->region = 0;
	return 0;
}

int fk_unique_frame_drop(fk_mem *mem, fk_unique_frame *uf)
{
	if (!uf)
		return FK_EINVAL;
	int err = frame_begin(mem, uf->region, uf->gen, uf->paddr);
	if (err)
		return err;
	err = fk_ref_unique_to_busy(&fk_region_slot(uf->region, uf->paddr)->refcount);
	if (!err)
		fk_release_run(mem, uf->region, uf->paddr, uf->paddr + FK_PAGE_SIZE);
	fk_read_unlock(&mem->regions.lk);
	if (err)
		return err;
	uf->region = 0;
	return 0;
}

void *fk_unique_frame_meta(const fk_unique_frame *uf)
{
	if (!uf || frame_peek(uf->region, uf->gen, uf->paddr))
		return 0;
	/* Valid for as long as the caller owns the frame. */
	void *m = fk_region_slot(uf->region, uf->paddr)->storage;
	fk_read_unlock(&uf->region->mem->regions.lk);
	return m;
}

uint64_t fk_unique_frame_paddr(const fk_unique_frame *uf)
{
	return uf ? uf->paddr : 0;
}
