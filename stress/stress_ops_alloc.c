/* SPDX-License-Identifier: MIT */
/*
 * Stress operations that take frames: from the allocator (segments, single
 * frames, strict allocations on a hot-plug node that race its removal) and
 * by address from the unmanaged region. Each checks the result's range,
 * alignment and metadata, and that an FK_ENOMEM is justified.
 */
#include <inttypes.h>

#include "stress.h"

/* ---- Operations ---- */

int op_alloc_seg(struct worker *w)
{
	uint64_t r = fk_rand_below(&w->rng, 100), n;
	if (r < 70)
		n = 1 + fk_rand_below(&w->rng, 8);
	else if (r < 96)
		n = 9 + fk_rand_below(&w->rng, 56);
	else
		n = 65 + fk_rand_below(&w->rng, 448);
	unsigned flags = 0;
	if (fk_rand_chance(&w->rng, 0.2))
		flags |= FK_ALLOC_ALIGNED;
	if (fk_rand_chance(&w->rng, 0.3))
		flags |= FK_ALLOC_NODE(fk_rand_below(&w->rng, 2));
	const struct fk_meta_type *t = rand_type(w);
	arm_init_fault(w, t, n);
	fk_segment s;
	struct sc_call call;
	sc_call_begin(&call);
	int rc = fk_alloc_segment(g.mem, n, t, t ? init_meta : NULL, type_ctx(t), flags, &s);
	if (rc) {
		if (rc == FK_ENOMEM && !tl_init_failed) {
			check_enomem(&call, n, flags, "alloc_segment");
			EXPECT(tl_init_index == 0, "alloc_segment ENOMEM after %d inits",
			       tl_init_index);
			return 0;
		}
		if (!check_claim_failure("alloc_segment", rc))
			fail("alloc_segment(%" PRIu64
			     ") -> %s (only FK_ENOMEM or init's error expected)",
			     n, E(rc));
		return 0;
	}
	EXPECT(!tl_init_failed, "alloc_segment succeeded although init failed");
	EXPECT(fk_segment_nframes(&s) == n && s.end - s.start == n * FK_PAGE_SIZE,
	       "alloc_segment(%" PRIu64 ") gave [0x%" PRIx64 ", 0x%" PRIx64 ")", n, s.start, s.end);
	EXPECT(!(flags & FK_ALLOC_ALIGNED) ||
	           ((s.start / FK_PAGE_SIZE) & (((uint64_t)1 << order_ceil(n)) - 1)) == 0,
	       "alloc_segment(%" PRIu64 ", ALIGNED) gave misaligned 0x%" PRIx64, n, s.start);
	EXPECT(!in_unmanaged(s.start), "allocator handed out unmanaged frame 0x%" PRIx64, s.start);
	check_segment_meta(&s, t, "alloc_segment");
	push_seg(w, s, t, t);
	return 1;
}

int op_alloc_frame(struct worker *w)
{
	const struct fk_meta_type *t = rand_type(w);
	arm_init_fault(w, t, 1);
	fk_frame f;
	struct sc_call call;
	sc_call_begin(&call);
	int rc = fk_alloc_frame(g.mem, t, t ? init_meta : NULL, type_ctx(t), 0, &f);
	if (rc) {
		if (rc == FK_ENOMEM && !tl_init_failed) {
			check_enomem(&call, 1, 0, "alloc_frame");
			return 0;
		}
		if (!check_claim_failure("alloc_frame", rc))
			fail("alloc_frame -> %s (only FK_ENOMEM or init's error expected)", E(rc));
		return 0;
	}
	EXPECT(fk_frame_refcount(&f) >= 1 && fk_frame_refcount(&f) <= FK_REF_MAX,
	       "alloc_frame: refcount %" PRIu64, fk_frame_refcount(&f));
	check_meta(t, fk_frame_meta(&f), f.paddr, "alloc_frame");
	push_frame(w, f, t);
	return 1;
}

/* Claim frames of the unmanaged region by address (segment or unique). */
int op_unmanaged(struct worker *w)
{
	uint64_t n = 1 + fk_rand_below(&w->rng, 4);
	uint64_t first = fk_rand_below(&w->rng, U_FRAMES - n + 1);
	uint64_t s = U_BASE + first * FK_PAGE_SIZE, e = s + n * FK_PAGE_SIZE;
	const struct fk_meta_type *t = fk_rand_chance(&w->rng, 0.5) ? &type_a : &type_b;
	arm_init_fault(w, t, n);
	int rc;
	if (n == 1 && fk_rand_chance(&w->rng, 0.3)) {
		fk_unique_frame u;
		rc = fk_unique_frame_from_unused(g.mem, s, t, init_meta, t->ctx, &u);
		if (rc == 0) {
			EXPECT(!tl_init_failed,
			       "unique from_unused succeeded although init failed");
			struct item *it = push(w);
			it->kind = IT_UNIQUE;
			it->u = u;
			it->ftype = t;
			return 1;
		}
	} else {
		fk_segment seg;
		rc = fk_segment_from_unused(g.mem, s, e, t, init_meta, t->ctx, &seg);
		if (rc == 0) {
			EXPECT(!tl_init_failed, "from_unused succeeded although init failed");
			check_segment_meta(&seg, t, "from_unused");
			push_seg(w, seg, t, t);
			return 1;
		}
	}
	if (check_claim_failure("from_unused", rc))
		return 0;
	EXPECT(rc == FK_EINUSE || rc == FK_EBUSY || rc == FK_EUNIQUE,
	       "from_unused([0x%" PRIx64 ", 0x%" PRIx64 ")) -> %s", s, e, E(rc));
	return 0;
}

/* Short-lived allocation from a hot-plug node (strict): races removal. */
int op_hot_alloc(struct worker *w)
{
	unsigned k = (unsigned)fk_rand_below(&w->rng, HOT_N);
	uint64_t n = 1 + fk_rand_below(&w->rng, 4);
	fk_segment s;
	tl_init_fail_at = -1;
	tl_init_index = 0;
	unsigned flags = FK_ALLOC_NODE(2 + k) | FK_ALLOC_NODE_STRICT;
	struct sc_call call;
	sc_call_begin(&call);
	int rc = fk_alloc_segment(g.mem, n, &type_a, init_meta, type_ctx(&type_a), flags, &s);
	if (rc) {
		EXPECT(rc == FK_ENOMEM, "alloc_segment(hot node %u) -> %s", 2 + k, E(rc));
		if (rc == FK_ENOMEM)
			check_enomem(&call, n, flags, "hot_alloc");
		return 0;
	}
	EXPECT(s.start >= HOT_BASE(k) && s.end <= HOT_BASE(k) + HOT_FRAMES * FK_PAGE_SIZE,
	       "strict node %u allocation gave [0x%" PRIx64 ", 0x%" PRIx64 ")", 2 + k, s.start,
	       s.end);
	check_segment_meta(&s, &type_a, "hot_alloc");
	rc = fk_segment_drop(g.mem, &s);
	EXPECT(rc == 0, "hot drop -> %s", E(rc));
	return 1;
}
