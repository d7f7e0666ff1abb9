/*
 * Allocating constructors (Asterinas FrameAllocOptions): ask the allocator
 * for a range, then claim it. Allocation, lookup and claim run in one RCU
 * read section so that region removal either sees the claimed frames or
 * the allocator still holding them.
 */
#include <string.h>

#include <framekit/alloc.h>

#include "alloc_internal.h"
#include "checked_internal.h"
#include "mem_internal.h"

/* Give back what the allocator handed out, skipping a frame someone else
 * owns (only possible with a buggy allocator). */
static void return_range(fk_mem *mem, struct fk_region *r, uint64_t start, uint64_t end)
{
	uint64_t run = start;
	for (uint64_t p = start; p < end; p += FK_PAGE_SIZE) {
		if (fk_slot_refcount(fk_region_slot(r, p)) == FK_REF_UNUSED)
			continue;
		if (run < p)
			mem->ops->dealloc(mem->alloc, run, (p - run) >> FK_PAGE_SHIFT);
		run = p + FK_PAGE_SIZE;
	}
	if (run < end)
		mem->ops->dealloc(mem->alloc, run, (end - run) >> FK_PAGE_SHIFT);
}

int fk_alloc_segment(fk_mem *mem, uint64_t nframes, const struct fk_meta_type *type,
                     fk_meta_init_fn init, void *ctx, unsigned flags, fk_segment *out)
{
	if (!mem || !out || nframes == 0 || (type && type->size > FK_META_MAX_SIZE))
		return FK_EINVAL;
	if (nframes > (UINT64_MAX >> FK_PAGE_SHIFT) || !fk_rcu_registered())
		return FK_EINVAL;
	int node = FK_ALLOC_NODE_OF(flags);
	if (node >= (int)mem->nr_nodes)
		return FK_EINVAL;
	unsigned align = 0;
	if (flags & FK_ALLOC_ALIGNED) {
		align = fk_order_ceil(nframes);
		if (align >= FK_MAX_ORDER)
			return FK_EINVAL;
	}
	/*
	 * A range from a region that is being hot-removed cannot be claimed:
	 * keep it aside (so the allocator hands out other frames) and retry;
	 * everything set aside goes back at the end.
	 */
	enum { MAX_ASIDE = 8 };
	uint64_t aside[MAX_ASIDE];
	unsigned naside = 0;
	int err;
	for (;;) {
		uint64_t pa;
		struct fk_region *r;
		fk_rcu_read_lock();
		err = mem->ops->alloc(mem->alloc, nframes, align, node, flags, &pa);
		if (err) {
			fk_rcu_read_unlock();
			break;
		}
		uint64_t end = pa + (nframes << FK_PAGE_SHIFT);
		err = fk_mem_lookup(mem, pa, end - pa, &r);
		if (err || !fk_region_managed(r) || !fk_region_claimable(r)) {
			fk_rcu_read_unlock();
			err = FK_ENOMEM;
			if (naside == MAX_ASIDE) {
				mem->ops->dealloc(mem->alloc, pa, nframes);
				break;
			}
			aside[naside++] = pa;
			continue;
		}
		err = fk_claim_range(r, pa, end, type, init, ctx);
		if (err) {
			return_range(mem, r, pa, end);
			fk_rcu_read_unlock();
			break;
		}
		if ((flags & FK_ALLOC_ZEROED) && r->backing)
			memset(r->backing + (pa - r->base), 0, (size_t)(end - pa));
		fk_rcu_read_unlock();
		out->region = r;
		out->start = pa;
		out->end = end;
		out->type = type;
		fk_check_segment(out);
		break;
	}
	/* In a read section, so that a region removal's second grace period
	 * waits until the allocator has these frames back. */
	if (naside) {
		fk_rcu_read_lock();
		for (unsigned i = 0; i < naside; i++)
			mem->ops->dealloc(mem->alloc, aside[i], nframes);
		fk_rcu_read_unlock();
	}
	return err;
}

int fk_alloc_frame(fk_mem *mem, const struct fk_meta_type *type, fk_meta_init_fn init, void *ctx,
                   unsigned flags, fk_frame *out)
{
	fk_segment seg;
	if (!out)
		return FK_EINVAL;
	int err = fk_alloc_segment(mem, 1, type, init, ctx, flags, &seg);
	if (err)
		return err;
	out->region = seg.region;
	out->paddr = seg.start;
	return 0;
}

int fk_mem_alloc_stats(fk_mem *mem, int node, struct fk_alloc_stats *out)
{
	if (!mem || !out || node >= (int)mem->nr_nodes)
		return FK_EINVAL;
	memset(out, 0, sizeof(*out));
	return mem->ops->stats(mem->alloc, node < 0 ? -1 : node, out);
}

void fk_mem_alloc_drain(fk_mem *mem)
{
	if (mem && mem->ops->drain)
		mem->ops->drain(mem->alloc);
}
