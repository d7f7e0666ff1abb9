/* SPDX-License-Identifier: MIT */
/*
 * Segment arithmetic: the pure functions behind fk_segment_* (segment.c):
 * range checks, the split point, slice bounds, next, size and frame count,
 * and the run boundaries of drop. No state, no atomics, no slot access;
 * segment.c does those and calls these for every address it computes.
 *
 * Each function carries an ACSL contract that Frama-C WP proves, with
 * -wp-rte and unsigned-overflow checks, on this very header
 * (scripts/prove.sh; verify/wp/README.md says what is and is not proved).
 * The contracts restate the Verus specs of asterinas/vostd at b5b97286
 * (the commit README.md's mapping cites); the comment beside each clause
 * names the function it mirrors, in ostd/src/mm/frame/segment.rs unless
 * another file is named.
 *
 * Invariant of a segment [start, end), from vostd `impl Inv for Segment`:
 * both ends page aligned, start <= end.
 * vostd also bounds end by MAX_PADDR; framekit has no such constant, so
 * instead every addition here is proved not to wrap in 64 bits.
 */
#ifndef FK_SEGMENT_ARITH_H
#define FK_SEGMENT_ARITH_H

#include <stdint.h>

#include <framekit/error.h>
#include <framekit/meta.h>

/* The contracts write the page size as 4096. */
_Static_assert(FK_PAGE_SIZE == 4096, "segment_arith.h contracts assume 4 KiB frames");

/*@
  predicate fk_aligned(integer x) = x % 4096 == 0;

  // vostd `impl Inv for Segment`, inv(): start % PAGE_SIZE == 0,
  // end % PAGE_SIZE == 0, start <= end (<= MAX_PADDR, see above).
  predicate fk_seg_inv(integer start, integer end) =
    fk_aligned(start) && fk_aligned(end) && start <= end;

  // Facts about bit operations on 64-bit values that WP's provers do not
  // find. Each is proved by z3 over every 64-bit value in the file named
  // beside it (scripts/prove.sh runs them; an axiom without a proof file
  // fails the run).
  axiomatic FkPageBits {
    // verify/wp/lemmas/fk_mask_mod.smt2
    axiom fk_mask_mod: \forall integer x;
      0 <= x <= 18446744073709551615 ==> (x & 4095) == x % 4096;
    // verify/wp/lemmas/fk_or_mask.smt2
    axiom fk_or_mask: \forall integer a, b;
      0 <= a <= 18446744073709551615 && 0 <= b <= 18446744073709551615 ==>
      (((a | b) & 4095) == 0 <==> ((a & 4095) == 0 && (b & 4095) == 0));
    // verify/wp/lemmas/fk_shr_div.smt2
    axiom fk_shr_div: \forall integer x;
      0 <= x <= 18446744073709551615 ==> (x >> 12) == x / 4096;
    // verify/wp/lemmas/fk_shl_mul.smt2
    axiom fk_shl_mul: \forall integer i;
      0 <= i <= 4503599627370495 ==> (i << 12) == i * 4096;
  }
*/

/* Is x a multiple of the page size? */
/*@ assigns \nothing;
    ensures \result != 0 <==> fk_aligned(x);
*/
static inline int fk_seg_aligned(uint64_t x)
{
	return !(x & (FK_PAGE_SIZE - 1));
}

/* Are both a and b page aligned? (One test for two values.) */
/*@ assigns \nothing;
    ensures \result != 0 <==> fk_aligned(a) && fk_aligned(b);
*/
static inline int fk_seg_both_aligned(uint64_t a, uint64_t b)
{
	return !((a | b) & (FK_PAGE_SIZE - 1));
}

/* Does [start, end) have a segment's shape (the invariant above)? */
/*@ assigns \nothing;
    // vostd `impl Inv for Segment`, inv()
    ensures \result != 0 <==> fk_seg_inv(start, end);
*/
static inline int fk_seg_shape_ok(uint64_t start, uint64_t end)
{
	return fk_seg_both_aligned(start, end) && start <= end;
}

/*
 * The range check of from_unused and from_raw: FK_ENOTALIGNED, FK_EINVAL
 * for an empty or reversed range, or 0 for a non-empty segment range.
 */
/*@ assigns \nothing;
    // vostd `Segment::from_unused` ensures: start or end % PAGE_SIZE != 0
    // ==> Err(NotAligned).
    behavior misaligned:
      assumes !fk_aligned(start) || !fk_aligned(end);
      ensures \result == FK_ENOTALIGNED;
    // `Segment::from_unused` ensures Ok(seg) ==> seg.start_paddr() <
    // seg.end_paddr(), and requires !(start < end) ==> may_panic() (an empty
    // range is an error here, a panic there).
    behavior empty:
      assumes fk_aligned(start) && fk_aligned(end) && start >= end;
      ensures \result == FK_EINVAL;
    behavior ok:
      assumes fk_seg_inv(start, end) && start < end;
      ensures \result == 0;
    complete behaviors;
    disjoint behaviors;
*/
static inline int fk_seg_new_range_check(uint64_t start, uint64_t end)
{
	if (!fk_seg_both_aligned(start, end))
		return FK_ENOTALIGNED;
	if (start >= end)
		return FK_EINVAL;
	return 0;
}

/* split's argument check: 0 when offset is a valid split point. */
/*@ requires fk_seg_inv(start, end);
    assigns \nothing;
    // vostd `Segment::split` requires: offset % PAGE_SIZE != 0 ==>
    // may_panic(), !(0 < offset < self.size()) ==> may_panic(); each such
    // case is an error code here.
    behavior misaligned:
      assumes !fk_aligned(offset);
      ensures \result == FK_ENOTALIGNED;
    behavior out_of_range:
      assumes fk_aligned(offset) && (offset == 0 || offset >= end - start);
      ensures \result == FK_EINVAL;
    behavior ok:
      assumes fk_aligned(offset) && 0 < offset < end - start;
      ensures \result == 0;
    complete behaviors;
    disjoint behaviors;
*/
static inline int fk_seg_split_check(uint64_t start, uint64_t end, uint64_t offset)
{
	if (!fk_seg_aligned(offset))
		return FK_ENOTALIGNED;
	if (offset == 0 || offset >= end - start)
		return FK_EINVAL;
	return 0;
}

/*
 * The split point: [start, at) and [at, end) are the two halves, both
 * non-empty segments that together cover [start, end) exactly.
 */
/*@ requires fk_seg_inv(start, end);
    // the cases of vostd `Segment::split` that do not panic (checked by
    // fk_seg_split_check)
    requires fk_aligned(offset) && 0 < offset < end - start;
    assigns \nothing;
    // vostd `Segment::split` ensures (r.0, r.1) == self.split_spec(offset);
    // `split_spec`: at = start + offset, halves start..at and at..end.
    ensures \result == start + offset;
    // `Segment::split` ensures r.0.invariants(..), r.1.invariants(..)
    // (which include inv()); both non-empty.
    ensures fk_seg_inv(start, \result) && start < \result;
    ensures fk_seg_inv(\result, end) && \result < end;
*/
static inline uint64_t fk_seg_split_at(uint64_t start, uint64_t end, uint64_t offset)
{
	(void)end;
	return start + offset;
}

/*
 * slice's bounds: byte offsets [from, to) of [start, end). Checks every
 * bound before any addition (the overflow found by Verus, asterinas PR
 * #3587), then sets [*s, *e); on error *s and *e are untouched.
 */
/*@ requires fk_seg_inv(start, end);
    requires \valid(s) && \valid(e) && \separated(s, e);
    assigns *s, *e;
    // vostd `Segment::slice` requires: range.start or range.end %
    // PAGE_SIZE != 0, range.start > range.end, range.end > self.size() ==>
    // may_panic(); each such case is an error code here, nothing written.
    behavior misaligned:
      assumes !fk_aligned(from) || !fk_aligned(to);
      assigns \nothing;
      ensures \result == FK_ENOTALIGNED;
    behavior out_of_bounds:
      assumes fk_aligned(from) && fk_aligned(to);
      assumes from > to || to > end - start;
      assigns \nothing;
      ensures \result == FK_EINVAL;
    behavior ok:
      assumes fk_aligned(from) && fk_aligned(to) && from <= to <= end - start;
      assigns *s, *e;
      ensures \result == 0;
      // `Segment::slice` ensures r.start_paddr() == self.start_paddr() +
      // range.start, r.end_paddr() == self.start_paddr() + range.end,
      // r.end_paddr() <= self.end_paddr(), r.inv().
      ensures *s == start + from && *e == start + to;
      ensures start <= *s && *e <= end && fk_seg_inv(*s, *e);
    complete behaviors;
    disjoint behaviors;
*/
static inline int fk_seg_slice_bounds(uint64_t start, uint64_t end, uint64_t from, uint64_t to,
                                      uint64_t *s, uint64_t *e)
{
	if (!fk_seg_both_aligned(from, to))
		return FK_ENOTALIGNED;
	if (from > to || to > end - start)
		return FK_EINVAL;
	*s = start + from;
	*e = start + to;
	return 0;
}

/*
 * next: 0 when [*start, end) is empty; else 1, the first frame in *paddr
 * and *start advanced by one page.
 */
/*@ requires \valid(start) && \valid(paddr) && \separated(start, paddr);
    // vostd `SegmentIterator::next_inner` (the verified body of
    // Iterator::next) requires the remaining range's invariants
    requires fk_seg_inv(*start, end);
    // `next_inner` ensures: None => the range is unchanged (it is empty).
    behavior empty:
      assumes *start == end;
      assigns \nothing;
      ensures \result == 0;
    // `next_inner` ensures: Some(item) => item.0.paddr() ==
    // old(range).start, final(range).start == old(range).start + PAGE_SIZE,
    // and the remaining range keeps its invariants.
    behavior frame:
      assumes *start != end;
      assigns *start, *paddr;
      ensures \result == 1;
      ensures *paddr == \old(*start) && *start == \old(*start) + 4096;
      ensures fk_seg_inv(*start, end) && fk_aligned(*paddr) && *paddr < end;
    complete behaviors;
    disjoint behaviors;
*/
static inline int fk_seg_next(uint64_t *start, uint64_t end, uint64_t *paddr)
{
	if (*start == end)
		return 0;
	*paddr = *start;
	*start += FK_PAGE_SIZE;
	return 1;
}

/* Size in bytes; 0 for a reversed (malformed) range. */
/*@ assigns \nothing;
    // vostd `Segment::size` ensures r == end_paddr() - start_paddr() (it
    // requires inv(); a reversed range gives 0 here).
    ensures start <= end ==> \result == end - start;
    ensures start > end ==> \result == 0;
*/
static inline uint64_t fk_seg_size(uint64_t start, uint64_t end)
{
	return end >= start ? end - start : 0;
}

/* Number of frames; 0 for a reversed (malformed) range. */
/*@ assigns \nothing;
    // vostd `Segment::nrpage_spec`: size() / PAGE_SIZE (also `seg_nframes`
    // in ostd/specs/mm/frame/segment.rs).
    ensures start <= end ==> \result == (end - start) / 4096;
    ensures start > end ==> \result == 0;
*/
static inline uint64_t fk_seg_nframes(uint64_t start, uint64_t end)
{
	return fk_seg_size(start, end) >> FK_PAGE_SHIFT;
}

/* Physical address of frame i of [start, end). */
/*@ requires fk_seg_inv(start, end);
    requires i < (end - start) / 4096;
    assigns \nothing;
    // vostd ostd/specs/mm/frame/segment.rs, `frame_idx_at`: frame j of a
    // segment is at range_start + j * PAGE_SIZE, inside the segment.
    ensures \result == start + i * 4096;
    ensures fk_aligned(\result) && start <= \result && \result + 4096 <= end;
*/
static inline uint64_t fk_seg_frame_at(uint64_t start, uint64_t end, uint64_t i)
{
	(void)end;
	return start + (i << FK_PAGE_SHIFT);
}

/*
 * Drop's runs. drop visits p = start, start + 4096, ... < end and gives
 * each maximal run of frames whose count reached zero ("dead") back to the
 * allocator in one call. *run is the first frame of the open run, or end
 * when none is open: the run is open from *run to just before p.
 */
/*@ predicate fk_run_ok(integer run, integer start, integer end, integer p) =
      run == end || (fk_aligned(run) && start <= run < p);
*/

/*
 * One frame p of drop: returns 1 when p is live and closes an open run,
 * which is then [*from, p); otherwise 0. vostd's Segment::drop visits the
 * frames in the same order but does not return them to an allocator (it
 * has none), so these run contracts are framekit's own.
 */
/*@ requires fk_seg_inv(start, end) && fk_aligned(p) && start <= p < end;
    requires \valid(run) && \valid(from) && \separated(run, from);
    requires fk_run_ok(*run, start, end, p);
    assigns *run, *from;
    // After every step the open run, if any, ends before the next frame.
    ensures fk_run_ok(*run, start, end, p + 4096);
    behavior dead_opens:
      assumes dead != 0 && *run == end;
      assigns *run;
      ensures \result == 0 && *run == p;
    behavior dead_extends:
      assumes dead != 0 && *run != end;
      assigns \nothing;
      ensures \result == 0;
    behavior live_closes:
      assumes dead == 0 && *run != end;
      assigns *run, *from;
      // The run released is non-empty, aligned, inside the segment, and
      // ends at the live frame p, which it does not include.
      ensures \result == 1 && *from == \old(*run) && *run == end;
      ensures fk_aligned(*from) && start <= *from < p;
    behavior live_alone:
      assumes dead == 0 && *run == end;
      assigns \nothing;
      ensures \result == 0;
    complete behaviors;
    disjoint behaviors;
*/
static inline int fk_seg_run_step(uint64_t *run, uint64_t start, uint64_t end, uint64_t p, int dead,
                                  uint64_t *from)
{
	(void)start;
	if (dead) {
		if (*run == end)
			*run = p;
		return 0;
	}
	if (*run == end)
		return 0;
	*from = *run;
	*run = end;
	return 1;
}

#endif /* FK_SEGMENT_ARITH_H */
