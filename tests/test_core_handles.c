/* SPDX-License-Identifier: MIT */
/*
 * Handles against misuse (issue 8, defects 7, 8, 9, 10): a handle of
 * another context, a stale copy, a stale handle into a hot-removed (and
 * re-added) region, a stale copy of a handle turned raw, and a type-erased
 * segment of mixed types. Each gets a documented FK_E* code, the same in
 * every build, and changes nothing. Run under ASan (debug preset): a stale
 * handle into a removed region must not touch freed memory.
 */
#include "fk_test.h"

#define R_BASE   0x40000000ull
#define R_FRAMES 8ull

static const struct fk_meta_type type_a = {.name = "a", .size = 8};
static const struct fk_meta_type type_b = {.name = "b", .size = 8};

static int add_unmanaged(fk_mem *mem, uint64_t base, uint64_t n)
{
	struct fk_region_config rc = {
	    .base = base, .nframes = n, .node = 0, .flags = FK_REGION_UNMANAGED};
	return fk_mem_add_region(mem, &rc);
}

/* Defect 8: fk_segment_drop(memB, &segment_of_A) returned 0 and gave A's
 * frames to B's allocator. */
static void handle_of_another_context_is_rejected_by_every_function(void)
{
	fk_mem *a = fix_create("simple", 1), *b = fix_create("simple", 1);
	CHECK(a && b);
	fk_frame f, g;
	fk_unique_frame u, u2;
	fk_segment s, s2, l, r;
	uint64_t pa, pb;
	CHECK_OK(fk_alloc_frame(a, NULL, NULL, NULL, 0, &f));
	CHECK_OK(fk_alloc_segment(a, 4, &type_a, NULL, NULL, 0, &s));
	CHECK_OK(fk_unique_frame_from_unused(a, FIX_U_BASE, NULL, NULL, NULL, &u));

	CHECK_ERR(fk_frame_clone(b, &f, &g), FK_EINVAL);
	CHECK_ERR(fk_frame_drop(b, &f), FK_EINVAL);
	CHECK_ERR(fk_frame_into_raw(b, &f, &pa), FK_EINVAL);
	CHECK_ERR(fk_frame_try_into_unique(b, &f, &u2), FK_EINVAL);
	CHECK_ERR(fk_segment_from_frame(b, &f, &s2), FK_EINVAL);
	CHECK_ERR(fk_unique_frame_into_shared(b, &u, &g), FK_EINVAL);
	CHECK_ERR(fk_unique_frame_drop(b, &u), FK_EINVAL);
	CHECK_ERR(fk_segment_drop(b, &s), FK_EINVAL);
	CHECK_ERR(fk_segment_clone(b, &s, &s2), FK_EINVAL);
	CHECK_ERR(fk_segment_slice(b, &s, 0, PG, &s2), FK_EINVAL);
	CHECK_ERR(fk_segment_split(b, &s, PG, &l, &r), FK_EINVAL);
	CHECK_ERR(fk_segment_next(b, &s, &g), FK_EINVAL);
	CHECK_ERR(fk_segment_into_raw(b, &s, &pa, &pb), FK_EINVAL);
	CHECK_ERR(fk_segment_downcast(b, &s, &type_a), FK_EINVAL);

	/* Nothing changed: the handles are intact, the counts too. */
	CHECK(f.region && s.region && u.region);
	CHECK_EQ(rc_at(a, f.paddr), 1);
	for (uint64_t p = s.start; p < s.end; p += PG)
		CHECK_EQ(rc_at(a, p), 1);
	CHECK_OK(fk_frame_drop(a, &f));
	CHECK_OK(fk_segment_drop(a, &s));
	CHECK_OK(fk_unique_frame_drop(a, &u));
	CHECK_EQ(fix_destroy(b), 0);
	CHECK_EQ(fix_destroy(a), 0);
}

/* Defect 7: in FK_CHECKED builds clone and slice of a stale copy aborted in
 * the relate_regions check instead of returning FK_EUNUSED. */
static void stale_segment_copy_clone_and_slice_return_unused_in_every_build(void)
{
	fk_mem *mem = fix_create("simple", 0);
	CHECK(mem);
	fk_segment s, copy, out;
	fk_frame f, fcopy, g;
	CHECK_OK(
	    fk_segment_from_unused(mem, FIX_U_BASE, FIX_U_BASE + 4 * PG, &type_a, NULL, NULL, &s));
	copy = s;
	CHECK_OK(fk_segment_drop(mem, &s));
	CHECK_ERR(fk_segment_clone(mem, &copy, &out), FK_EUNUSED);
	CHECK_ERR(fk_segment_slice(mem, &copy, PG, 3 * PG, &out), FK_EUNUSED);
	CHECK_ERR(fk_segment_drop(mem, &copy), FK_EUNUSED);
	CHECK_OK(fk_frame_from_unused(mem, FIX_U_BASE, NULL, NULL, NULL, &f));
	fcopy = f;
	CHECK_OK(fk_frame_drop(mem, &f));
	CHECK_ERR(fk_frame_clone(mem, &fcopy, &g), FK_EUNUSED);
	CHECK_ERR(fk_frame_drop(mem, &fcopy), FK_EUNUSED);
	CHECK_EQ(rc_at(mem, FIX_U_BASE), FK_REF_UNUSED);
	CHECK_EQ(fix_destroy(mem), 0);
}

/* Defect 7: downcast of an erased segment of mixed types aborted in
 * FK_CHECKED builds ("all frames share the first frame's type") and
 * succeeded in release builds (only the first frame was checked). */
static void downcast_of_mixed_type_segment_returns_etype_in_every_build(void)
{
	fk_mem *mem = fix_create("simple", 1);
	CHECK(mem);
	fk_segment s1, s2, mixed;
	uint64_t a0, a1, b0, b1;
	CHECK_OK(
	    fk_segment_from_unused(mem, FIX_U_BASE, FIX_U_BASE + PG, &type_a, NULL, NULL, &s1));
	CHECK_OK(fk_segment_from_unused(mem, FIX_U_BASE + PG, FIX_U_BASE + 2 * PG, &type_b, NULL,
	                                NULL, &s2));
	CHECK_OK(fk_segment_into_raw(mem, &s1, &a0, &a1));
	CHECK_OK(fk_segment_into_raw(mem, &s2, &b0, &b1));
	CHECK_OK(fk_segment_from_raw(mem, FIX_U_BASE, FIX_U_BASE + 2 * PG, NULL, &mixed));
	CHECK_ERR(fk_segment_downcast(mem, &mixed, &type_a), FK_ETYPE);
	CHECK_ERR(fk_segment_downcast(mem, &mixed, &type_b), FK_ETYPE);
	CHECK(mixed.type == NULL);
	/* Typed from_raw of the same range: FK_ETYPE, raw references kept. */
	fk_segment t;
	CHECK_OK(fk_segment_into_raw(mem, &mixed, &a0, &a1));
	CHECK_ERR(fk_segment_from_raw(mem, a0, a1, &type_a, &t), FK_ETYPE);
	uint64_t raw;
	CHECK_OK(fk_mem_raw_count_at(mem, FIX_U_BASE + PG, &raw));
	CHECK_EQ(raw, 1);
	CHECK_OK(fk_segment_from_raw(mem, a0, a1, NULL, &mixed));
	CHECK_OK(fk_segment_drop(mem, &mixed));
	CHECK_EQ(fix_destroy(mem), 0);
}

/* Defect 9: a stale handle into a hot-removed region was a use-after-free
 * (ASan: heap-use-after-free in seg_ok / handle_ok), also after re-adding. */
static void stale_handle_into_hot_removed_region_returns_unused_without_touching_freed_memory(void)
{
	fk_mem *mem = fix_create("simple", 1);
	CHECK(mem);
	fk_frame f, fcopy, g;
	fk_unique_frame u, ucopy;
	fk_segment s, scopy, out, l, r;
	uint64_t pa, pb;
	CHECK_OK(add_unmanaged(mem, R_BASE, R_FRAMES));
	CHECK_OK(fk_frame_from_unused(mem, R_BASE, &type_a, NULL, NULL, &f));
	CHECK_OK(fk_unique_frame_from_unused(mem, R_BASE + PG, NULL, NULL, NULL, &u));
	CHECK_OK(
	    fk_segment_from_unused(mem, R_BASE + 2 * PG, R_BASE + 6 * PG, &type_a, NULL, NULL, &s));
	fcopy = f;
	ucopy = u;
	scopy = s;
	CHECK_OK(fk_frame_drop(mem, &f));
	CHECK_OK(fk_unique_frame_drop(mem, &u));
	CHECK_OK(fk_segment_drop(mem, &s));

	for (int round = 0; round < 2; round++) {
		if (round == 0)
			CHECK_OK(fk_mem_remove_region(mem, R_BASE));
		if (round == 1) {
			/* Re-added at the same base, frames claimed again: the stale
			 * handles must not reach the new frames either. */
			CHECK_OK(add_unmanaged(mem, R_BASE, R_FRAMES));
			CHECK_OK(fk_segment_from_unused(mem, R_BASE, R_BASE + R_FRAMES * PG,
			                                &type_b, NULL, NULL, &s));
		}
		CHECK_ERR(fk_frame_clone(mem, &fcopy, &g), FK_EUNUSED);
		CHECK_ERR(fk_frame_into_raw(mem, &fcopy, &pa), FK_EUNUSED);
		CHECK_ERR(fk_frame_try_into_unique(mem, &fcopy, &ucopy), FK_EUNUSED);
		CHECK_ERR(fk_segment_from_frame(mem, &fcopy, &out), FK_EUNUSED);
		CHECK(fk_frame_meta(&fcopy) == NULL);
		CHECK(fk_frame_meta_type(&fcopy) == NULL);
		CHECK_EQ(fk_frame_refcount(&fcopy), FK_REF_UNUSED);
		const void *m;
		CHECK_ERR(fk_frame_meta_as(&fcopy, &type_a, &m), FK_EUNUSED);
		CHECK_ERR(fk_frame_drop(mem, &fcopy), FK_EUNUSED);
		CHECK(fk_unique_frame_meta(&ucopy) == NULL);
		CHECK_ERR(fk_unique_frame_into_shared(mem, &ucopy, &g), FK_EUNUSED);
		CHECK_ERR(fk_unique_frame_drop(mem, &ucopy), FK_EUNUSED);
		CHECK_ERR(fk_segment_clone(mem, &scopy, &out), FK_EUNUSED);
		CHECK_ERR(fk_segment_slice(mem, &scopy, 0, PG, &out), FK_EUNUSED);
		CHECK_ERR(fk_segment_split(mem, &scopy, PG, &l, &r), FK_EUNUSED);
		CHECK_ERR(fk_segment_into_raw(mem, &scopy, &pa, &pb), FK_EUNUSED);
		CHECK_ERR(fk_segment_downcast(mem, &scopy, &type_a), FK_EUNUSED);
		CHECK(fk_segment_meta(&scopy, 0) == NULL);
		CHECK_ERR(fk_segment_drop(mem, &scopy), FK_EUNUSED);
		if (round == 1) {
			for (uint64_t p = R_BASE; p < R_BASE + R_FRAMES * PG; p += PG)
				CHECK_EQ(rc_at(mem, p), 1);
			CHECK_OK(fk_segment_drop(mem, &s));
		}
	}
	CHECK_OK(fk_mem_remove_region(mem, R_BASE));
	CHECK_EQ(fix_destroy(mem), 0);
}

/* An empty segment (drained by next) pins nothing: dropping it after its
 * region went away still succeeds. */
static void drained_segment_drop_succeeds_after_its_region_is_removed(void)
{
	fk_mem *mem = fix_create("simple", 0);
	CHECK(mem);
	fk_segment s;
	fk_frame f;
	CHECK_OK(add_unmanaged(mem, R_BASE, R_FRAMES));
	CHECK_OK(fk_segment_from_unused(mem, R_BASE, R_BASE + 2 * PG, NULL, NULL, NULL, &s));
	while (fk_segment_next(mem, &s, &f) == 1)
		CHECK_OK(fk_frame_drop(mem, &f));
	CHECK_OK(fk_mem_remove_region(mem, R_BASE));
	CHECK_OK(fk_segment_drop(mem, &s));
	CHECK_EQ(fix_destroy(mem), 0);
}

/* Defect 10: copy = f; into_raw(f); drop(copy) returned 0 and freed the
 * frame while its raw count stayed 1. */
static void stale_copy_cannot_release_a_raw_reference(void)
{
	fk_mem *mem = fix_create("simple", 1);
	CHECK(mem);
	fk_frame f, copy, back;
	fk_segment s, scopy;
	uint64_t pa, a, b, raw;
	CHECK_OK(fk_alloc_frame(mem, NULL, NULL, NULL, 0, &f));
	copy = f;
	CHECK_OK(fk_frame_into_raw(mem, &f, &pa));
	CHECK_ERR(fk_frame_drop(mem, &copy), FK_EUNUSED);
	CHECK_EQ(rc_at(mem, pa), 1);
	CHECK_OK(fk_mem_raw_count_at(mem, pa, &raw));
	CHECK_EQ(raw, 1);
	CHECK_OK(fk_frame_from_raw(mem, pa, &back));
	CHECK_OK(fk_frame_drop(mem, &back));

	CHECK_OK(fk_alloc_segment(mem, 3, NULL, NULL, NULL, 0, &s));
	scopy = s;
	CHECK_OK(fk_segment_into_raw(mem, &s, &a, &b));
	CHECK_ERR(fk_segment_drop(mem, &scopy), FK_EUNUSED);
	for (uint64_t p = a; p < b; p += PG)
		CHECK_EQ(rc_at(mem, p), 1);
	CHECK_OK(fk_segment_from_raw(mem, a, b, NULL, &s));
	CHECK_OK(fk_segment_drop(mem, &s));
	CHECK_EQ(fix_destroy(mem), 0);
}

/* A legitimate drop next to raw references is never refused. */
static void drop_beside_raw_references_of_other_handles_succeeds(void)
{
	fk_mem *mem = fix_create("simple", 1);
	CHECK(mem);
	fk_frame f, c, back;
	uint64_t pa;
	CHECK_OK(fk_alloc_frame(mem, NULL, NULL, NULL, 0, &f));
	CHECK_OK(fk_frame_clone(mem, &f, &c));
	CHECK_OK(fk_frame_into_raw(mem, &c, &pa));
	CHECK_OK(fk_frame_drop(mem, &f));
	CHECK_EQ(rc_at(mem, pa), 1);
	CHECK_OK(fk_frame_from_raw(mem, pa, &back));
	CHECK_OK(fk_frame_drop(mem, &back));
	CHECK_EQ(fix_destroy(mem), 0);
}

int main(int argc, char **argv)
{
	fk_test_args(argc, argv);
	RUN(handle_of_another_context_is_rejected_by_every_function);
	RUN(stale_segment_copy_clone_and_slice_return_unused_in_every_build);
	RUN(downcast_of_mixed_type_segment_returns_etype_in_every_build);
	RUN(
	    stale_handle_into_hot_removed_region_returns_unused_without_touching_freed_memory);
	RUN(drained_segment_drop_succeeds_after_its_region_is_removed);
	RUN(stale_copy_cannot_release_a_raw_reference);
	RUN(drop_beside_raw_references_of_other_handles_succeeds);
	return fk_test_finish();
}
