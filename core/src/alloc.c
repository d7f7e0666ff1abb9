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
#include "claim_internal.h"
#include "mem_internal.h"

/* Give back what the allocator handed out, skipping a frame someone else
 * owns (only possible with a buggy allocator). */
static void return_range(fk_mem *mem, struct fk_region *r, uint64_t start, uint64_t end)
{
	uint64_t run = start;
	for (uint64_t p = start; p < end; p += FK_PAGE_SIZE) {
		if (fk_ref_class(fk_slot_refcount(fk_region_slot(r, p))) == FK_REF_C_UNUSED)
			continue;
		if (run < p)
			fk_ops_dealloc(mem->ops, mem->alloc, run, (p - run) >> FK_PAGE_SHIFT);
		run = p + FK_PAGE_SIZE;
	}
	if (run < end)
		fk_ops_dealloc(mem->ops, mem->alloc, run, (end - run) >> FK_PAGE_SHIFT);
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
	 * Allocation, lookup and claim in one read section. A region leaves
	 * the allocator before it is marked offlining (fk_mem_remove_region
	 * withdraws first), so a correct allocator only hands out ranges of
	 * published, claimable, managed regions; anything else goes straight
	 * back and is reported as FK_EBUSY (a faulty allocator).
	 */
	uint64_t pa;
	struct fk_region *r;
	fk_read_lock(&mem->regions.lk);
	int err = fk_ops_alloc(mem->ops, mem->alloc, nframes, align, node, flags, &pa);
	if (err) {
		fk_read_unlock(&mem->regions.lk);
		return err;
	}
	uint64_t end = pa + (nframes << FK_PAGE_SHIFT);
	err = fk_region_lookup(&mem->regions, pa, end - pa, &r);
	if (err || !fk_region_managed(r) || !fk_region_claimable(r)) {
		fk_ops_dealloc(mem->ops, mem->alloc, pa, nframes);
		fk_read_unlock(&mem->regions.lk);
		return FK_EBUSY;
	}
	err = fk_claim_granted(r, pa, end, type, init, ctx);
	if (err) {
		/* Inside the read section, as every give-back. */
		return_range(mem, r, pa, end);
		fk_read_unlock(&mem->regions.lk);
		return err;
	}
	if ((flags & FK_ALLOC_ZEROED) && r->backing)
		memset(r->backing + (pa - r->base), 0, (size_t)(end - pa));
	out->region = r;
	out->start = pa;
	out->end = end;
	out->type = type;
	out->gen = fk_region_gen(r);
	fk_check_segment(out);
	fk_read_unlock(&mem->regions.lk);
	return 0;
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
	out->gen = seg.gen;
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
