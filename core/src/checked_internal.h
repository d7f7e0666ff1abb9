/* SPDX-License-Identifier: MIT */
/*
 * FK_CHECKED: the Verus invariants as run-time assertions.
 *
 *  - slot inv: the count is never in the guard band (FK_REF_MAX, UNIQUE);
 *    a shared or unique slot has a type.
 *  - Segment::inv / inv_with: aligned, start <= end inside one region, and
 *    every frame shared (0 < rc <= MAX, never UNIQUE) with the segment's
 *    type (relate_regions).
 *
 * These are internal invariants, so they assert (abort) rather than return
 * errors; caller mistakes were already turned into FK_E* codes before. So a
 * check on a handle runs only once its references are held (after the
 * count changes that prove them), never on a handle as the caller gave it.
 */
#ifndef FK_CHECKED_INTERNAL_H
#define FK_CHECKED_INTERNAL_H

#include <framekit/segment.h>

#include "invariant_internal.h"
#include "region_internal.h"

#ifdef FK_CHECKED

static inline void fk_check_slot(const struct fk_meta_slot *s)
{
	uint64_t v = fk_slot_refcount(s);
	fk_invariant(v == FK_REF_UNUSED || v == FK_REF_UNIQUE || v <= FK_REF_MAX,
	             "slot refcount in guard band");
}

/* A frame handle's slot must be shared (inv of Frame). */
static inline void fk_check_frame_held(const struct fk_region *r, uint64_t paddr)
{
	fk_invariant(paddr >= r->base && paddr < r->end && !(paddr & (FK_PAGE_SIZE - 1)),
	             "frame handle inside its region");
	const struct fk_meta_slot *s = fk_region_slot(r, paddr);
	fk_check_slot(s);
}

static inline void fk_check_segment(const fk_segment *seg)
{
	const struct fk_region *r = seg->region;
	fk_invariant(!((seg->start | seg->end) & (FK_PAGE_SIZE - 1)), "segment aligned");
	fk_invariant(seg->start <= seg->end, "segment start <= end");
	if (seg->start == seg->end)
		return; /* holds nothing, pins no region */
	fk_invariant(seg->start >= r->base && seg->end <= r->end, "segment inside region");
	for (uint64_t p = seg->start; p < seg->end; p += FK_PAGE_SIZE) {
		const struct fk_meta_slot *s = fk_region_slot(r, p);
		uint64_t v = fk_slot_refcount(s);
		fk_invariant(v >= 1 && v <= FK_REF_MAX, "segment frame shared (relate_regions)");
		fk_invariant(!seg->type || fk_slot_type(s) == seg->type, "segment frame type");
	}
}
#else
#define fk_check_slot(s)          ((void)0)
#define fk_check_frame_held(r, p) ((void)0)
#define fk_check_segment(seg)     ((void)0)
#endif

#endif /* FK_CHECKED_INTERNAL_H */
