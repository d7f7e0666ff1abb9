/*
 * Segments (Asterinas Segment<M>): [start, end) owning one reference per
 * frame. Splitting and iteration never touch a count; slicing and cloning
 * add one per frame (rolled back on overflow); dropping returns contiguous
 * runs of frames that reached zero to the allocator in one call each.
 */
#include <framekit/segment.h>

#include "checked_internal.h"
#include "mem_internal.h"
#include "raw_internal.h"

/*
 * A usable handle. An empty segment (drained by next, or an empty slice)
 * holds no reference and so does not pin its region, which may since have
 * been hot-removed: nothing may dereference `region` when start == end.
 */
static int seg_ok(const fk_segment *seg)
{
	const struct fk_region *r = seg ? seg->region : 0;
	if (!r || ((seg->start | seg->end) & (FK_PAGE_SIZE - 1)) || seg->start > seg->end)
		return 0;
	return seg->start == seg->end || (seg->start >= r->base && seg->end <= r->end);
}

static void seg_set(fk_segment *seg, struct fk_region *r, uint64_t start, uint64_t end,
                    const struct fk_meta_type *type)
{
	seg->region = r;
	seg->start = start;
	seg->end = end;
	seg->type = type;
	fk_check_segment(seg);
}

static void seg_clear(fk_segment *seg)
{
	seg->region = 0;
	seg->start = seg->end = 0;
	seg->type = 0;
}

int fk_segment_from_unused(fk_mem *mem, uint64_t start, uint64_t end,
                           const struct fk_meta_type *type, fk_meta_init_fn init, void *ctx,
                           fk_segment *out)
{
	struct fk_region *r;
	if (!mem || !out || (type && type->size > FK_META_MAX_SIZE))
		return FK_EINVAL;
	if ((start | end) & (FK_PAGE_SIZE - 1))
		return FK_ENOTALIGNED;
	if (start >= end)
		return FK_EINVAL;
	if (!fk_rcu_registered())
		return FK_EINVAL;
	fk_rcu_read_lock();
	int err = fk_mem_lookup_claimable(mem, start, end - start, &r);
	if (!err)
		err = fk_claim_range(r, start, end, type, init, ctx);
	fk_rcu_read_unlock();
	if (err)
		return err;
	seg_set(out, r, start, end, type);
	return 0;
}

int fk_segment_split(fk_mem *mem, fk_segment *seg, uint64_t offset, fk_segment *left,
                     fk_segment *right)
{
	if (!mem || !left || !right || left == right || !seg_ok(seg))
		return FK_EINVAL;
	if (offset & (FK_PAGE_SIZE - 1))
		return FK_ENOTALIGNED;
	if (offset == 0 || offset >= seg->end - seg->start)
		return FK_EINVAL;
	fk_segment s = *seg;
	fk_check_segment(&s);
	seg_clear(seg);
	*left = s;
	left->end = s.start + offset;
	*right = s;
	right->start = s.start + offset;
	fk_check_segment(left);
	fk_check_segment(right);
	return 0;
}

/* +1 on [start, end), rolling back on failure so the state is unchanged. */
static int inc_range(fk_mem *mem, struct fk_region *r, uint64_t start, uint64_t end)
{
	for (uint64_t p = start; p < end; p += FK_PAGE_SIZE) {
		int err = fk_slot_inc_held(fk_region_slot(r, p), mem->ref_max);
		if (err) {
			/* Undo: we hold a reference on each, so none reaches 0. */
			for (uint64_t q = start; q < p; q += FK_PAGE_SIZE) {
				int last = fk_slot_dec(fk_region_slot(r, q));
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
	if (!mem || !out || !seg_ok(seg))
		return FK_EINVAL;
	if ((from | to) & (FK_PAGE_SIZE - 1))
		return FK_ENOTALIGNED;
	/* Bounds before any addition (the overflow found by Verus, asterinas
	 * PR #3587). */
	if (from > to || to > seg->end - seg->start)
		return FK_EINVAL;
	fk_check_segment(seg);
	fk_segment s = *seg;
	s.start = seg->start + from;
	s.end = seg->start + to;
	int err = inc_range(mem, s.region, s.start, s.end);
	if (err)
		return err;
	*out = s;
	fk_check_segment(out);
	return 0;
}

int fk_segment_next(fk_mem *mem, fk_segment *seg, fk_frame *out)
{
	if (!mem || !out || !seg_ok(seg))
		return FK_EINVAL;
	if (seg->start == seg->end)
		return 0;
	fk_check_frame_held(seg->region, seg->start);
	out->region = seg->region;
	out->paddr = seg->start;
	seg->start += FK_PAGE_SIZE;
	return 1;
}

int fk_segment_into_raw(fk_mem *mem, fk_segment *seg, uint64_t *start, uint64_t *end)
{
	if (!mem || !start || !end || !seg_ok(seg))
		return FK_EINVAL;
	fk_check_segment(seg);
	int err = fk_raw_record(seg->region, seg->start, seg->end);
	if (err)
		return err;
	*start = seg->start;
	*end = seg->end;
	seg_clear(seg);
	return 0;
}

/*
 * Do the frames of [start, end) have `type`? Rust's TryFrom checks the
 * first frame only (a segment's frames share one type); `all` checks every
 * frame, for ranges that come from the caller (from_raw) and may be forged.
 */
static int types_match(const struct fk_region *r, uint64_t start, uint64_t end,
                       const struct fk_meta_type *type, int all)
{
	if (!type || start == end)
		return 1;
	if (fk_region_slot(r, start)->type != type)
		return 0;
	for (uint64_t p = start + FK_PAGE_SIZE; all && p < end; p += FK_PAGE_SIZE)
		if (fk_region_slot(r, p)->type != type)
			return 0;
#ifdef FK_CHECKED
	for (uint64_t p = start; p < end; p += FK_PAGE_SIZE)
		fk_invariant(fk_region_slot(r, p)->type == type,
		             "all frames of a segment share the first frame's type");
#endif
	return 1;
}

int fk_segment_from_raw(fk_mem *mem, uint64_t start, uint64_t end, const struct fk_meta_type *type,
                        fk_segment *out)
{
	struct fk_region *r;
	if (!mem || !out)
		return FK_EINVAL;
	if ((start | end) & (FK_PAGE_SIZE - 1))
		return FK_ENOTALIGNED;
	if (start >= end || !fk_rcu_registered())
		return FK_EINVAL;
	fk_rcu_read_lock();
	int err = fk_mem_lookup(mem, start, end - start, &r);
	for (uint64_t p = start; !err && p < end; p += FK_PAGE_SIZE)
		if (!fk_rc_is_shared(fk_slot_refcount(fk_region_slot(r, p))))
			err = FK_ENOTRAW; /* a raw reference keeps the count shared */
	if (!err && !types_match(r, start, end, type, 1))
		err = FK_ETYPE;
	if (!err)
		err = fk_raw_consume(r, start, end);
	fk_rcu_read_unlock();
	if (err)
		return err;
	seg_set(out, r, start, end, type);
	return 0;
}

int fk_segment_clone(fk_mem *mem, const fk_segment *seg, fk_segment *out)
{
	if (!mem || !out || !seg_ok(seg))
		return FK_EINVAL;
	fk_check_segment(seg);
	int err = inc_range(mem, seg->region, seg->start, seg->end);
	if (err)
		return err;
	*out = *seg;
	fk_check_segment(out);
	return 0;
}

int fk_segment_drop(fk_mem *mem, fk_segment *seg)
{
	if (!mem || !seg_ok(seg) || !fk_rcu_registered())
		return FK_EINVAL;
	struct fk_region *r = seg->region;
	uint64_t run = seg->end; /* start of the current run of dead frames */
	int first_err = 0;
	for (uint64_t p = seg->start; p < seg->end; p += FK_PAGE_SIZE) {
		int last = fk_slot_dec(fk_region_slot(r, p));
		if (last == 1) {
			if (run == seg->end)
				run = p;
			continue;
		}
		if (last < 0 && !first_err)
			first_err = last;
		if (run != seg->end) {
			fk_release_run(mem, r, run, p);
			run = seg->end;
		}
	}
	if (run != seg->end)
		fk_release_run(mem, r, run, seg->end);
	seg_clear(seg);
	return first_err;
}

int fk_segment_from_frame(fk_mem *mem, fk_frame *f, fk_segment *out)
{
	if (!mem || !f || !out || !f->region || (f->paddr & (FK_PAGE_SIZE - 1)) ||
	    f->paddr < f->region->base || f->paddr >= f->region->end)
		return FK_EINVAL;
	out->region = f->region;
	out->start = f->paddr;
	out->end = f->paddr + FK_PAGE_SIZE;
	out->type = fk_region_slot(f->region, f->paddr)->type;
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
	return seg && seg->end >= seg->start ? seg->end - seg->start : 0;
}

uint64_t fk_segment_nframes(const fk_segment *seg)
{
	return fk_segment_size(seg) >> FK_PAGE_SHIFT;
}

const void *fk_segment_meta(const fk_segment *seg, uint64_t i)
{
	if (!seg_ok(seg) || i >= fk_segment_nframes(seg))
		return 0;
	return fk_region_slot(seg->region, seg->start + (i << FK_PAGE_SHIFT))->storage;
}

void fk_segment_erase(fk_segment *seg)
{
	if (seg)
		seg->type = 0;
}

int fk_segment_downcast(fk_mem *mem, fk_segment *seg, const struct fk_meta_type *type)
{
	if (!mem || !type || !seg_ok(seg))
		return FK_EINVAL;
	if (!types_match(seg->region, seg->start, seg->end, type, 0))
		return FK_ETYPE;
	seg->type = type;
	return 0;
}
