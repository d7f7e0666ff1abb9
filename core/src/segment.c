/* SPDX-License-Identifier: MIT */
/*
 * Segments (Asterinas Segment<M>): [start, end) owning one reference per
 * frame. Splitting and iteration never touch a count; slicing and cloning
 * add one per frame (rolled back on overflow); dropping returns contiguous
 * runs of frames that reached zero to the allocator in one call each.
 *
 * Every operation that reads a slot runs inside seg_begin's read section,
 * after the handle's context and generation were checked (mem_internal.h),
 * so a stale handle into a hot-removed region never touches freed memory.
 * FK_CHECKED invariant checks run only once the references are held.
 *
 * The range checks, split point, slice bounds, next, size, frame address
 * and drop's run boundaries come from segment_arith.h, whose contracts (the
 * vostd specs) Frama-C WP proves (scripts/prove.sh). Each call below meets
 * its function's `requires` because seg_begin or seg_shape_ok ran first.
 */
#include <framekit/segment.h>

#include "checked_internal.h"
#include "claim_internal.h"
#include "mem_internal.h"
#include "raw_internal.h"
#include "segment_arith.h"

/* The handle's own fields make sense, and it belongs to mem. */
static int seg_shape_ok(const fk_mem *mem, const fk_segment *seg)
{
	return mem && seg && seg->region && seg->region->mem == mem &&
	       fk_seg_shape_ok(seg->start, seg->end);
}

/*
 * Begin an operation on seg. An empty segment (drained by next, or an
 * empty slice) holds no reference and so does not pin its region, which
 * may since have been hot-removed: it is accepted without a read section
 * (*locked = 0) and nothing may read its region. A non-empty one is
 * checked by fk_handle_begin and against its region's bounds; on success
 * the caller is in a read section (*locked = 1).
 * FK_EINVAL (malformed, empty handle, other context, unregistered thread),
 * FK_EUNUSED (region hot-removed since the handle was made).
 */
static int seg_begin(const fk_mem *mem, const fk_segment *seg, int *locked)
{
	*locked = 0;
	if (!seg_shape_ok(mem, seg))
		return FK_EINVAL;
	if (seg->start == seg->end)
		return 0;
	int err = fk_handle_begin(mem, seg->region, seg->gen);
	if (err)
		return err;
	if (seg->start < seg->region->base || seg->end > seg->region->end) {
		fk_read_unlock(&mem->regions.lk);
		return FK_EINVAL;
	}
	*locked = 1;
	return 0;
}

static void seg_end(const fk_mem *mem, int locked)
{
	if (locked)
		fk_read_unlock(&mem->regions.lk);
}

static void seg_set(fk_segment *seg, struct fk_region *r, uint64_t gen, uint64_t start,
                    uint64_t end, const struct fk_meta_type *type)
{
	seg->region = r;
	seg->start = start;
	seg->end = end;
	seg->type = type;
	seg->gen = gen;
}

static void seg_clear(fk_segment *seg)
{
	seg->region = 0;
	seg->start = seg->end = 0;
	seg->type = 0;
	seg->gen = 0;
}

int fk_segment_from_unused(fk_mem *mem, uint64_t start, uint64_t end,
                           const struct fk_meta_type *type, fk_meta_init_fn init, void *ctx,
                           fk_segment *out)
{
	struct fk_region *r;
	if (!mem || !out || (type && type->size > FK_META_MAX_SIZE))
		return FK_EINVAL;
	int err = fk_seg_new_range_check(start, end);
	if (err)
		return err;
	if (!fk_rcu_registered())
		return FK_EINVAL;
	fk_read_lock(&mem->regions.lk);
	err = fk_region_lookup_claimable(&mem->regions, start, end - start, &r);
	if (!err)
		err = fk_claim_range(r, start, end, type, init, ctx);
	if (!err) {
		seg_set(out, r, fk_region_gen(r), start, end, type);
		fk_check_segment(out);
	}
	fk_read_unlock(&mem->regions.lk);
	return err;
}

int fk_segment_split(fk_mem *mem, fk_segment *seg, uint64_t offset, fk_segment *left,
                     fk_segment *right)
{
	int locked;
	if (!left || !right || left == right)
		return FK_EINVAL;
	int err = seg_begin(mem, seg, &locked);
	if (err)
		return err;
	seg_end(mem, locked);
	err = fk_seg_split_check(seg->start, seg->end, offset);
	if (err)
		return err;
	/* No count changes, so nothing to check against the slots: a stale
	 * copy splits into stale halves, caught when they are used. */
	fk_segment s = *seg;
	uint64_t at = fk_seg_split_at(s.start, s.end, offset);
	seg_clear(seg);
	*left = s;
	left->end = at;
	*right = s;
	right->start = at;
	return 0;
}

/* +1 on [start, end), rolling back on failure so the state is unchanged. */
static int inc_range(fk_mem *mem, struct fk_region *r, uint64_t start, uint64_t end)
{
	for (uint64_t p = start; p < end; p += FK_PAGE_SIZE) {
		int err =
		    fk_ref_inc_held(&fk_region_slot(r, p)->refcount, mem->refcount, mem->ref_max);
		if (err) {
			/* Undo: we hold a reference on each, so none reaches 0. */
			for (uint64_t q = start; q < p; q += FK_PAGE_SIZE) {
				int last =
				    fk_ref_dec(&fk_region_slot(r, q)->refcount, mem->refcount);
				fk_invariant(last == 0, "rollback never drops the last reference");
				(void)last;
			}
			return err;
		}
	}
	return 0;
}

int fk_segment_slice(fk_mem *mem, const fk_segment *seg, uint64_t from, uint64_t to,
                     fk_segment *out)
{
	int locked;
	if (!out)
		return FK_EINVAL;
	int err = seg_begin(mem, seg, &locked);
	if (err)
		return err;
	/* Bounds before any addition (the overflow found by Verus, asterinas
	 * PR #3587); s keeps seg's range on error. */
	fk_segment s = *seg;
	err = fk_seg_slice_bounds(seg->start, seg->end, from, to, &s.start, &s.end);
	if (!err)
		err = inc_range(mem, s.region, s.start, s.end);
	if (!err) {
		*out = s;
		if (locked)
			fk_check_segment(out); /* references held now */
	}
	seg_end(mem, locked);
	return err;
}

int fk_segment_next(fk_mem *mem, fk_segment *seg, fk_frame *out)
{
	/* O(1), no read section: nothing here reads the region (a frame
	 * outside it is refused by the frame operations). */
	if (!out || !seg_shape_ok(mem, seg))
		return FK_EINVAL;
	uint64_t paddr;
	if (!fk_seg_next(&seg->start, seg->end, &paddr))
		return 0;
	out->region = seg->region;
	out->paddr = paddr;
	out->gen = seg->gen;
	return 1;
}

/* Is every frame of [start, end) shared? A snapshot (relaxed). */
static int range_error(const struct fk_region *r, uint64_t start, uint64_t end)
{
	for (uint64_t p = start; p < end; p += FK_PAGE_SIZE) {
		uint64_t v = fk_slot_refcount(fk_region_slot(r, p));
		if (!fk_ref_is_shared(v))
			return fk_ref_state_error(v);
	}
	return 0;
}

int fk_segment_into_raw(fk_mem *mem, fk_segment *seg, uint64_t *start, uint64_t *end)
{
	int locked;
	if (!start || !end)
		return FK_EINVAL;
	int err = seg_begin(mem, seg, &locked);
	if (err)
		return err;
	/* With tracking on, a stale copy (frames no longer shared) must not
	 * record raw references (as fk_frame_into_raw). */
	if (locked && seg->region->raw)
		err = range_error(seg->region, seg->start, seg->end);
	if (!err && locked)
		err = fk_raw_record(seg->region, seg->start, seg->end);
	seg_end(mem, locked);
	if (err)
		return err;
	*start = seg->start;
	*end = seg->end;
	seg_clear(seg);
	return 0;
}

/*
 * Do the frames of [start, end) have `type`? Every frame is checked: a
 * type-erased segment may hold frames of several types (FK_ETYPE, never an
 * assertion: it is the caller's input).
 */
static int types_match(const struct fk_region *r, uint64_t start, uint64_t end,
                       const struct fk_meta_type *type)
{
	if (!type)
		return 1;
	for (uint64_t p = start; p < end; p += FK_PAGE_SIZE)
		if (fk_slot_type(fk_region_slot(r, p)) != type)
			return 0;
	return 1;
}

/*
 * from_raw, all or nothing, in three steps:
 *  1. check without changing anything: every frame shared, of `type`, and
 *     (tracking on) holding a raw reference; a forged range or one with a
 *     frame that holds no raw reference is refused here, so a rejected call
 *     never disturbs a legitimate one;
 *  2. consume one raw reference per frame; this can only roll back when
 *     another caller consumes the same raw reference concurrently (itself
 *     a misuse: a raw reference is restored once);
 *  3. with the references now ours, check the types again (the pre-check
 *     read them without holding anything) and give the raw references back
 *     on a mismatch.
 */
int fk_segment_from_raw(fk_mem *mem, uint64_t start, uint64_t end, const struct fk_meta_type *type,
                        fk_segment *out)
{
	struct fk_region *r;
	if (!mem || !out)
		return FK_EINVAL;
	int err = fk_seg_new_range_check(start, end);
	if (err)
		return err;
	if (!fk_rcu_registered())
		return FK_EINVAL;
	fk_read_lock(&mem->regions.lk);
	err = fk_region_lookup(&mem->regions, start, end - start, &r);
	if (!err && range_error(r, start, end))
		err = FK_ENOTRAW; /* a raw reference keeps the count shared */
	if (!err && !types_match(r, start, end, type))
		err = FK_ETYPE;
	if (!err && !fk_raw_present(r, start, end))
		err = FK_ENOTRAW;
	if (!err)
		err = fk_raw_consume(r, start, end);
	if (!err && r->raw && !types_match(r, start, end, type)) {
		int undo = fk_raw_record(r, start, end);
		fk_invariant(undo == 0, "restoring consumed raw references cannot overflow");
		(void)undo;
		err = FK_ETYPE;
	}
	if (!err) {
		seg_set(out, r, fk_region_gen(r), start, end, type);
		if (r->raw)
			fk_check_segment(out); /* the references are ours */
	}
	fk_read_unlock(&mem->regions.lk);
	return err;
}

int fk_segment_clone(fk_mem *mem, const fk_segment *seg, fk_segment *out)
{
	int locked;
	if (!out)
		return FK_EINVAL;
	int err = seg_begin(mem, seg, &locked);
	if (err)
		return err;
	if (locked)
		err = inc_range(mem, seg->region, seg->start, seg->end);
	if (!err) {
		*out = *seg;
		if (locked)
			fk_check_segment(out); /* references held now */
	}
	seg_end(mem, locked);
	return err;
}

/* Release one handle reference on p; 1 = it was the last (see frame.c).
 * likely_last: the previous frame's was (fk_ref_dec_hinted). */
static int seg_dec(struct fk_region *r, uint64_t p, int likely_last)
{
	struct fk_meta_slot *s = fk_region_slot(r, p);
	if (r->raw) {
		int err = fk_raw_drop_check(&s->refcount, &r->raw[fk_region_index(r, p)]);
		if (err)
			return err;
	}
	return fk_ref_dec_hinted(&s->refcount, r->mem->refcount, likely_last);
}

int fk_segment_drop(fk_mem *mem, fk_segment *seg)
{
	int locked;
	int err = seg_begin(mem, seg, &locked);
	if (err)
		return err;
	if (!locked) {
		seg_clear(seg); /* empty: holds nothing */
		return 0;
	}
	struct fk_region *r = seg->region;
	uint64_t run = seg->end; /* first frame of the open run of dead frames */
	int first_err = 0;
	for (uint64_t p = seg->start; p < seg->end; p += FK_PAGE_SIZE) {
		int last = seg_dec(r, p, run != seg->end);
		if (last < 0 && !first_err)
			first_err = last;
		uint64_t from;
		if (fk_seg_run_step(&run, seg->start, seg->end, p, last == 1, &from))
			fk_release_run(mem, r, from, p);
	}
	if (run != seg->end)
		fk_release_run(mem, r, run, seg->end);
	seg_end(mem, locked);
	seg_clear(seg);
	return first_err;
}

int fk_segment_from_frame(fk_mem *mem, fk_frame *f, fk_segment *out)
{
	if (!f || !out)
		return FK_EINVAL;
	int err = fk_handle_begin(mem, f->region, f->gen);
	if (err)
		return err;
	const struct fk_region *r = f->region;
	if ((f->paddr & (FK_PAGE_SIZE - 1)) || f->paddr < r->base || f->paddr >= r->end) {
		fk_read_unlock(&mem->regions.lk);
		return FK_EINVAL;
	}
	seg_set(out, f->region, f->gen, f->paddr, f->paddr + FK_PAGE_SIZE,
	        fk_slot_type(fk_region_slot(r, f->paddr)));
	fk_read_unlock(&mem->regions.lk);
	f->region = 0;
	return 0;
}

uint64_t fk_segment_start_paddr(const fk_segment *seg)
{
	return seg ? seg->start : 0;
}

uint64_t fk_segment_end_paddr(const fk_segment *seg)
{
	return seg ? seg->end : 0;
}

uint64_t fk_segment_size(const fk_segment *seg)
{
	return seg ? fk_seg_size(seg->start, seg->end) : 0;
}

uint64_t fk_segment_nframes(const fk_segment *seg)
{
	return seg ? fk_seg_nframes(seg->start, seg->end) : 0;
}

const void *fk_segment_meta(const fk_segment *seg, uint64_t i)
{
	int locked;
	if (!seg || i >= fk_segment_nframes(seg) ||
	    seg_begin(seg->region ? seg->region->mem : 0, seg, &locked))
		return 0;
	/* Valid for as long as the caller holds the segment. */
	const void *m =
	    fk_region_slot(seg->region, fk_seg_frame_at(seg->start, seg->end, i))->storage;
	seg_end(seg->region->mem, locked);
	return m;
}

void fk_segment_erase(fk_segment *seg)
{
	if (seg)
		seg->type = 0;
}

int fk_segment_downcast(fk_mem *mem, fk_segment *seg, const struct fk_meta_type *type)
{
	int locked;
	if (!type)
		return FK_EINVAL;
	int err = seg_begin(mem, seg, &locked);
	if (err)
		return err;
	if (locked && !types_match(seg->region, seg->start, seg->end, type))
		err = FK_ETYPE;
	seg_end(mem, locked);
	if (err)
		return err;
	seg->type = type;
	return 0;
}
