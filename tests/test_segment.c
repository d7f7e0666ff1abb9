/* SPDX-License-Identifier: MIT */
/* Segments: from_unused (all or nothing), split, slice, next, raw, clone,
 * drop in runs, typed views. */
#include "fk_test.h"
#include "mem_internal.h"
#include "segment_arith.h"

struct tag {
	uint64_t paddr;
};

static int drops;

static void tag_on_drop(void *meta, uint64_t paddr, void *ctx)
{
	(void)ctx;
	if (((struct tag *)meta)->paddr == paddr)
		drops++;
}

static const struct fk_meta_type tag_type = {
    .name = "tag", .size = sizeof(struct tag), .on_drop = tag_on_drop};
static const struct fk_meta_type other_type = {.name = "other", .size = 4};

static int tag_init(void *meta, uint64_t paddr, void *ctx)
{
	(void)ctx;
	((struct tag *)meta)->paddr = paddr;
	return 0;
}

/* Fails at the frame whose paddr equals *ctx. */
static int fail_at_init(void *meta, uint64_t paddr, void *ctx)
{
	if (paddr == *(uint64_t *)ctx)
		return FK_EINVAL;
	return tag_init(meta, paddr, ctx);
}

static void segment_from_unused_claims_every_frame(void)
{
	fk_mem *mem = fix_create("simple", 1);
	fk_segment s;
	CHECK(mem);
	CHECK_OK(fk_segment_from_unused(mem, FIX_U_BASE, FIX_U_BASE + 8 * PG, &tag_type, tag_init,
	                                0, &s));
	CHECK_EQ(fk_segment_nframes(&s), 8);
	CHECK_EQ(fk_segment_size(&s), 8 * PG);
	CHECK_EQ(fk_segment_start_paddr(&s), FIX_U_BASE);
	CHECK_EQ(fk_segment_end_paddr(&s), FIX_U_BASE + 8 * PG);
	for (uint64_t i = 0; i < 8; i++) {
		CHECK_EQ(rc_at(mem, FIX_U_BASE + i * PG), 1);
		CHECK_EQ(((const struct tag *)fk_segment_meta(&s, i))->paddr, FIX_U_BASE + i * PG);
	}
	CHECK(fk_segment_meta(&s, 8) == 0);
	drops = 0;
	CHECK_OK(fk_segment_drop(mem, &s));
	CHECK_EQ(drops, 8);
	CHECK_OK(fix_destroy(mem));
}

static void segment_from_unused_rejects_bad_ranges(void)
{
	fk_mem *mem = fix_create("simple", 1);
	fk_segment s;
	uint64_t end = FIX_U_BASE + FIX_U_FRAMES * PG;
	CHECK(mem);
	CHECK_ERR(fk_segment_from_unused(mem, FIX_U_BASE + 1, FIX_U_BASE + PG, 0, 0, 0, &s),
	          FK_ENOTALIGNED);
	CHECK_ERR(fk_segment_from_unused(mem, FIX_U_BASE, FIX_U_BASE + 7, 0, 0, 0, &s),
	          FK_ENOTALIGNED);
	CHECK_ERR(fk_segment_from_unused(mem, FIX_U_BASE, FIX_U_BASE, 0, 0, 0, &s), FK_EINVAL);
	CHECK_ERR(fk_segment_from_unused(mem, FIX_U_BASE + PG, FIX_U_BASE, 0, 0, 0, &s), FK_EINVAL);
	CHECK_ERR(fk_segment_from_unused(mem, end - PG, end + PG, 0, 0, 0, &s), FK_EOUTOFBOUND);
	CHECK_ERR(fk_segment_from_unused(mem, FIX_M_BASE, FIX_M_BASE + PG, 0, 0, 0, &s),
	          FK_EMANAGED);
	/* A range ending exactly at the region's end is fine (Asterinas 14dc4752). */
	CHECK_OK(fk_segment_from_unused(mem, end - PG, end, 0, 0, 0, &s));
	CHECK_OK(fk_segment_drop(mem, &s));
	CHECK_OK(fix_destroy(mem));
}

static void segment_from_unused_is_all_or_nothing_when_a_middle_frame_is_in_use(void)
{
	fk_mem *mem = fix_create("simple", 1);
	fk_frame mid;
	fk_segment s;
	CHECK(mem);
	CHECK_OK(fk_frame_from_unused(mem, FIX_U_BASE + 4 * PG, 0, 0, 0, &mid));
	drops = 0;
	CHECK_ERR(fk_segment_from_unused(mem, FIX_U_BASE, FIX_U_BASE + 8 * PG, &tag_type, tag_init,
	                                 0, &s),
	          FK_EINUSE);
	CHECK_EQ(drops, 4); /* the four claimed frames were torn down */
	for (uint64_t i = 0; i < 8; i++)
		CHECK_EQ(rc_at(mem, FIX_U_BASE + i * PG), i == 4 ? 1 : FK_REF_UNUSED);
	CHECK_OK(fk_frame_drop(mem, &mid));
	CHECK_OK(fix_destroy(mem));
}

static void segment_from_unused_rolls_back_when_metadata_init_fails(void)
{
	fk_mem *mem = fix_create("simple", 1);
	fk_segment s;
	uint64_t fail = FIX_U_BASE + 5 * PG;
	CHECK(mem);
	CHECK_ERR(fk_segment_from_unused(mem, FIX_U_BASE, FIX_U_BASE + 8 * PG, &tag_type,
	                                 fail_at_init, &fail, &s),
	          FK_EINVAL);
	for (uint64_t i = 0; i < 8; i++)
		CHECK_EQ(rc_at(mem, FIX_U_BASE + i * PG), FK_REF_UNUSED);
	CHECK_OK(fix_destroy(mem));
}

static void segment_split_halves_without_refcount_changes(void)
{
	fk_mem *mem = fix_create("simple", 1);
	fk_segment s, l, r;
	CHECK(mem);
	CHECK_OK(fk_segment_from_unused(mem, FIX_U_BASE, FIX_U_BASE + 8 * PG, 0, 0, 0, &s));
	CHECK_ERR(fk_segment_split(mem, &s, 0, &l, &r), FK_EINVAL);
	CHECK_ERR(fk_segment_split(mem, &s, 8 * PG, &l, &r), FK_EINVAL);
	CHECK_ERR(fk_segment_split(mem, &s, 9 * PG, &l, &r), FK_EINVAL);
	CHECK_ERR(fk_segment_split(mem, &s, PG / 2, &l, &r), FK_ENOTALIGNED);
	CHECK_ERR(fk_segment_split(mem, &s, UINT64_MAX & ~(PG - 1), &l, &r), FK_EINVAL);
	CHECK_EQ(fk_segment_nframes(&s), 8); /* unchanged after errors */
	CHECK_OK(fk_segment_split(mem, &s, 3 * PG, &l, &r));
	CHECK(s.region == 0);
	CHECK_EQ(fk_segment_start_paddr(&l), FIX_U_BASE);
	CHECK_EQ(fk_segment_end_paddr(&l), FIX_U_BASE + 3 * PG);
	CHECK_EQ(fk_segment_start_paddr(&r), FIX_U_BASE + 3 * PG);
	CHECK_EQ(fk_segment_end_paddr(&r), FIX_U_BASE + 8 * PG);
	for (uint64_t i = 0; i < 8; i++)
		CHECK_EQ(rc_at(mem, FIX_U_BASE + i * PG), 1);
	/* Split in place: left aliases the input. */
	fk_segment r2;
	CHECK_OK(fk_segment_split(mem, &r, PG, &r, &r2));
	CHECK_EQ(fk_segment_nframes(&r), 1);
	CHECK_EQ(fk_segment_nframes(&r2), 4);
	CHECK_OK(fk_segment_drop(mem, &l));
	CHECK_OK(fk_segment_drop(mem, &r));
	CHECK_OK(fk_segment_drop(mem, &r2));
	CHECK_OK(fix_destroy(mem));
}

static void segment_slice_adds_one_reference_per_frame_and_checks_bounds_first(void)
{
	fk_mem *mem = fix_create("simple", 1);
	fk_segment s, sl, e;
	CHECK(mem);
	CHECK_OK(fk_segment_from_unused(mem, FIX_U_BASE, FIX_U_BASE + 8 * PG, 0, 0, 0, &s));
	CHECK_ERR(fk_segment_slice(mem, &s, PG, 9 * PG, &sl), FK_EINVAL);
	CHECK_ERR(fk_segment_slice(mem, &s, 3 * PG, 2 * PG, &sl), FK_EINVAL);
	CHECK_ERR(fk_segment_slice(mem, &s, 1, 2 * PG, &sl), FK_ENOTALIGNED);
	/* Offsets that would wrap if added before the bounds check. */
	CHECK_ERR(fk_segment_slice(mem, &s, UINT64_MAX & ~(PG - 1), UINT64_MAX & ~(PG - 1), &sl),
	          FK_EINVAL);
	CHECK_OK(fk_segment_slice(mem, &s, 2 * PG, 5 * PG, &sl));
	CHECK_EQ(fk_segment_start_paddr(&sl), FIX_U_BASE + 2 * PG);
	CHECK_EQ(fk_segment_nframes(&sl), 3);
	for (uint64_t i = 0; i < 8; i++)
		CHECK_EQ(rc_at(mem, FIX_U_BASE + i * PG), (i >= 2 && i < 5) ? 2 : 1);
	CHECK_OK(fk_segment_slice(mem, &s, 4 * PG, 4 * PG, &e)); /* empty slice is fine */
	CHECK_EQ(fk_segment_nframes(&e), 0);
	CHECK_OK(fk_segment_drop(mem, &e));
	CHECK_OK(fk_segment_drop(mem, &s));
	for (uint64_t i = 0; i < 8; i++)
		CHECK_EQ(rc_at(mem, FIX_U_BASE + i * PG), (i >= 2 && i < 5) ? 1 : FK_REF_UNUSED);
	CHECK_OK(fk_segment_drop(mem, &sl));
	CHECK_OK(fix_destroy(mem));
}

static void segment_slice_overflow_rolls_back_every_increment(void)
{
	fk_mem *mem = fix_create("simple", 1);
	fk_segment s, sl;
	CHECK(mem);
	CHECK_OK(fk_segment_from_unused(mem, FIX_U_BASE, FIX_U_BASE + 4 * PG, 0, 0, 0, &s));
	struct fk_meta_slot *slot = fk_region_slot(s.region, FIX_U_BASE + 2 * PG);
	atomic_store(&slot->refcount, FK_REF_MAX);
	CHECK_ERR(fk_segment_slice(mem, &s, 0, 4 * PG, &sl), FK_EOVERFLOW);
	CHECK_ERR(fk_segment_clone(mem, &s, &sl), FK_EOVERFLOW);
	CHECK_EQ(rc_at(mem, FIX_U_BASE), 1);
	CHECK_EQ(rc_at(mem, FIX_U_BASE + PG), 1);
	CHECK_EQ(rc_at(mem, FIX_U_BASE + 3 * PG), 1);
	atomic_store(&slot->refcount, 1);
	CHECK_OK(fk_segment_drop(mem, &s));
	CHECK_OK(fix_destroy(mem));
}

/*
 * The slice bounds (segment_arith.h) near the top of the address space,
 * where start + from would wrap: every bound is checked before any
 * addition, and a refused slice writes nothing. The old fk_segment_slice
 * computed start + from and start + to first (the order Verus flagged in
 * asterinas PR #3587); scripts/prove.sh keeps a copy of that order that
 * must fail the proof.
 */
static void segment_slice_bounds_check_before_adding_and_write_nothing_on_error(void)
{
	const uint64_t top = UINT64_MAX & ~(PG - 1); /* last page-aligned address */
	const uint64_t start = top - 8 * PG, end = top;
	uint64_t s = 1, e = 2; /* sentinels: a refused slice leaves them */
	CHECK_ERR(fk_seg_slice_bounds(start, end, 16 * PG, 16 * PG, &s, &e), FK_EINVAL);
	CHECK_ERR(fk_seg_slice_bounds(start, end, 0, top, &s, &e), FK_EINVAL);
	CHECK_ERR(fk_seg_slice_bounds(start, end, top, top, &s, &e), FK_EINVAL);
	CHECK_ERR(fk_seg_slice_bounds(start, end, 4 * PG, 2 * PG, &s, &e), FK_EINVAL);
	CHECK_ERR(fk_seg_slice_bounds(start, end, PG + 1, 2 * PG, &s, &e), FK_ENOTALIGNED);
	CHECK_EQ(s, 1);
	CHECK_EQ(e, 2);
	CHECK_OK(fk_seg_slice_bounds(start, end, 2 * PG, 8 * PG, &s, &e));
	CHECK_EQ(s, start + 2 * PG);
	CHECK_EQ(e, end);
	CHECK_OK(fk_seg_slice_bounds(start, end, 8 * PG, 8 * PG, &s, &e)); /* empty, at the end */
	CHECK_EQ(s, end);
	CHECK_EQ(e, end);
}

/* split and next at the top of the address space never wrap. */
static void segment_split_and_next_stay_inside_the_last_pages(void)
{
	const uint64_t top = UINT64_MAX & ~(PG - 1);
	uint64_t start = top - 2 * PG, paddr = 0;
	CHECK_ERR(fk_seg_split_check(start, top, 2 * PG), FK_EINVAL);
	CHECK_ERR(fk_seg_split_check(start, top, 0), FK_EINVAL);
	CHECK_ERR(fk_seg_split_check(start, top, PG / 2), FK_ENOTALIGNED);
	CHECK_OK(fk_seg_split_check(start, top, PG));
	CHECK_EQ(fk_seg_split_at(start, top, PG), top - PG);
	CHECK_EQ(fk_seg_next(&start, top, &paddr), 1);
	CHECK_EQ(paddr, top - 2 * PG);
	CHECK_EQ(fk_seg_next(&start, top, &paddr), 1);
	CHECK_EQ(paddr, top - PG);
	CHECK_EQ(start, top);
	CHECK_EQ(fk_seg_next(&start, top, &paddr), 0);
	CHECK_EQ(paddr, top - PG);
	CHECK_EQ(fk_seg_nframes(top - 2 * PG, top), 2);
	CHECK_EQ(fk_seg_nframes(top, top - PG), 0); /* reversed: malformed, not huge */
}

/*
 * drop's run boundaries (fk_seg_run_step, driven as fk_segment_drop drives
 * it): every maximal run of dead frames is released once, as one range,
 * and no live frame is ever inside one.
 */
static void segment_drop_runs_are_the_maximal_runs_of_dead_frames(void)
{
	static const char *const patterns[] = {"", "D", "L", "DDLDDDLLD", "LDDLLLDL", "DDDD"};
	for (size_t k = 0; k < sizeof(patterns) / sizeof(patterns[0]); k++) {
		const char *pat = patterns[k];
		const uint64_t start = 0x100000, end = start + strlen(pat) * PG;
		char seen[16] = {0}; /* 'R' = released by a run */
		uint64_t run = end, from = 0;
		int runs = 0, expect_runs = 0;
		for (uint64_t p = start; p < end; p += PG) {
			if (fk_seg_run_step(&run, start, end, p, pat[(p - start) / PG] == 'D',
			                    &from)) {
				for (uint64_t q = from; q < p; q += PG)
					seen[(q - start) / PG]++;
				runs++;
			}
		}
		if (run != end) {
			for (uint64_t q = run; q < end; q += PG)
				seen[(q - start) / PG]++;
			runs++;
		}
		for (size_t i = 0; pat[i]; i++) {
			EXPECT(seen[i] == (pat[i] == 'D'), "pattern %s frame %zu released %d times",
			       pat, i, seen[i]);
			expect_runs += pat[i] == 'D' && (i == 0 || pat[i - 1] == 'L');
		}
		EXPECT(runs == expect_runs, "pattern %s: %d runs, expected %d", pat, runs,
		       expect_runs);
	}
}

static void segment_next_drains_frame_by_frame(void)
{
	fk_mem *mem = fix_create("simple", 1);
	fk_segment s;
	fk_frame f;
	CHECK(mem);
	CHECK_OK(fk_segment_from_unused(mem, FIX_U_BASE, FIX_U_BASE + 5 * PG, &tag_type, tag_init,
	                                0, &s));
	drops = 0;
	for (uint64_t i = 0; i < 5; i++) {
		CHECK_EQ(fk_segment_next(mem, &s, &f), 1);
		CHECK_EQ(fk_frame_paddr(&f), FIX_U_BASE + i * PG);
		CHECK_EQ(fk_frame_refcount(&f), 1);
		CHECK_EQ(fk_segment_nframes(&s), 4 - i);
		CHECK_OK(fk_frame_drop(mem, &f));
		CHECK_EQ(drops, i + 1);
	}
	CHECK_EQ(fk_segment_next(mem, &s, &f), 0);
	CHECK_OK(fk_segment_drop(mem, &s)); /* an empty segment drops nothing */
	CHECK_ERR(fk_segment_next(mem, &s, &f), FK_EINVAL);
	CHECK_OK(fix_destroy(mem));
}

static void segment_clone_and_drop_restore_counts(void)
{
	fk_mem *mem = fix_create("simple", 1);
	fk_segment s, c;
	CHECK(mem);
	CHECK_OK(fk_segment_from_unused(mem, FIX_U_BASE, FIX_U_BASE + 4 * PG, 0, 0, 0, &s));
	CHECK_OK(fk_segment_clone(mem, &s, &c));
	for (uint64_t i = 0; i < 4; i++)
		CHECK_EQ(rc_at(mem, FIX_U_BASE + i * PG), 2);
	fk_segment stale = s;
	CHECK_OK(fk_segment_drop(mem, &s));
	CHECK_ERR(fk_segment_drop(mem, &s), FK_EINVAL);
	CHECK_OK(fk_segment_drop(mem, &c));
	/* Stale copy: every frame is UNUSED now, each one reports underflow. */
	CHECK_ERR(fk_segment_drop(mem, &stale), FK_EUNUSED);
	for (uint64_t i = 0; i < 4; i++)
		CHECK_EQ(rc_at(mem, FIX_U_BASE + i * PG), FK_REF_UNUSED);
	CHECK_OK(fix_destroy(mem));
}

static void segment_raw_round_trip_and_forged_ranges(void)
{
	fk_mem *mem = fix_create("simple", 1);
	fk_segment s, back;
	uint64_t a, b, raw;
	CHECK(mem);
	CHECK_OK(fk_segment_from_unused(mem, FIX_U_BASE, FIX_U_BASE + 4 * PG, &tag_type, tag_init,
	                                0, &s));
	CHECK_ERR(fk_segment_from_raw(mem, FIX_U_BASE, FIX_U_BASE + 4 * PG, 0, &back), FK_ENOTRAW);
	CHECK_OK(fk_segment_into_raw(mem, &s, &a, &b));
	CHECK(s.region == 0);
	CHECK_EQ(a, FIX_U_BASE);
	CHECK_EQ(b, FIX_U_BASE + 4 * PG);
	/* A range that is only partly raw: nothing consumed. */
	CHECK_ERR(fk_segment_from_raw(mem, a, b + PG, 0, &back), FK_ENOTRAW);
	CHECK_OK(fk_mem_raw_count_at(mem, a, &raw));
	CHECK_EQ(raw, 1);
	CHECK_ERR(fk_segment_from_raw(mem, a, a, 0, &back), FK_EINVAL);
	CHECK_ERR(fk_segment_from_raw(mem, a + 1, b, 0, &back), FK_ENOTALIGNED);
	CHECK_ERR(fk_segment_from_raw(mem, a, b, &other_type, &back), FK_ETYPE);
	CHECK_OK(fk_segment_from_raw(mem, a, b, &tag_type, &back));
	CHECK_ERR(fk_segment_from_raw(mem, a, b, &tag_type, &s), FK_ENOTRAW);
	/* Raw halves: split raw ranges come back piecewise. */
	CHECK_OK(fk_segment_into_raw(mem, &back, &a, &b));
	fk_segment lo, hi;
	CHECK_OK(fk_segment_from_raw(mem, a, a + PG, 0, &lo));
	CHECK_OK(fk_segment_from_raw(mem, a + PG, b, 0, &hi));
	CHECK_OK(fk_segment_drop(mem, &lo));
	CHECK_OK(fk_segment_drop(mem, &hi));
	CHECK_OK(fix_destroy(mem));
}

static void segment_typed_view_checks_type_and_erasure_keeps_counts(void)
{
	fk_mem *mem = fix_create("simple", 1);
	fk_segment s;
	fk_frame f;
	CHECK(mem);
	CHECK_OK(fk_segment_from_unused(mem, FIX_U_BASE, FIX_U_BASE + 3 * PG, &tag_type, tag_init,
	                                0, &s));
	fk_segment_erase(&s);
	CHECK(s.type == 0);
	CHECK_ERR(fk_segment_downcast(mem, &s, &other_type), FK_ETYPE);
	CHECK(s.type == 0);
	CHECK_OK(fk_segment_downcast(mem, &s, &tag_type));
	CHECK(s.type == &tag_type);
	CHECK_EQ(rc_at(mem, FIX_U_BASE), 1);
	/* From a frame: a one-frame segment of the frame's type. */
	CHECK_OK(fk_frame_from_unused(mem, FIX_U_BASE + 10 * PG, &other_type, 0, 0, &f));
	fk_segment one;
	CHECK_OK(fk_segment_from_frame(mem, &f, &one));
	CHECK(f.region == 0);
	CHECK(one.type == &other_type);
	CHECK_EQ(fk_segment_nframes(&one), 1);
	CHECK_OK(fk_segment_drop(mem, &one));
	CHECK_OK(fk_segment_drop(mem, &s));
	CHECK_OK(fix_destroy(mem));
}

/* Records the ranges the allocator gets back. */
static uint64_t dealloc_calls, dealloc_frames;
static const struct fk_allocator_ops *inner;
static int rec_create(const struct fk_alloc_params *p, unsigned n, const int *cn, unsigned nc,
                      void **st)
{
	return inner->create(p, n, cn, nc, st);
}
static int rec_dealloc(void *st, uint64_t pa, uint64_t n)
{
	dealloc_calls++;
	dealloc_frames += n;
	return inner->dealloc(st, pa, n);
}

static void segment_drop_returns_contiguous_runs_in_one_call(void)
{
	inner = fk_allocator_find("simple");
	struct fk_allocator_ops rec = *inner;
	rec.name = "recording";
	rec.create = rec_create;
	rec.dealloc = rec_dealloc;
	struct fk_region_config reg = {.base = FIX_M_BASE, .nframes = 64, .node = 0};
	struct fk_mem_config cfg = {.regions = &reg,
	                            .nr_regions = 1,
	                            .nr_nodes = 1,
	                            .raw_tracking = 1,
	                            .allocator_ops = &rec};
	fk_variant_apply(&cfg, fk_test_variant);
	fk_mem *mem;
	fk_segment s, hold;
	CHECK_OK(fk_mem_create(&cfg, &mem));
	CHECK_OK(fk_thread_enter(mem));
	CHECK_OK(fk_alloc_segment(mem, 16, 0, 0, 0, 0, &s));
	CHECK_OK(fk_segment_slice(mem, &s, 6 * PG, 8 * PG, &hold));
	dealloc_calls = dealloc_frames = 0;
	CHECK_OK(fk_segment_drop(mem, &s));
	CHECK_EQ(dealloc_calls, 2); /* [0,6) and [8,16): two runs */
	CHECK_EQ(dealloc_frames, 14);
	CHECK_OK(fk_segment_drop(mem, &hold));
	CHECK_EQ(dealloc_calls, 3);
	CHECK_EQ(dealloc_frames, 16);
	CHECK_OK(fix_destroy(mem));
}

static void segment_ops_reject_empty_and_foreign_handles(void)
{
	fk_mem *mem = fix_create("simple", 1);
	fk_segment empty = {0}, out, l, r;
	fk_frame f;
	uint64_t a, b;
	CHECK(mem);
	CHECK_ERR(fk_segment_split(mem, &empty, PG, &l, &r), FK_EINVAL);
	CHECK_ERR(fk_segment_slice(mem, &empty, 0, 0, &out), FK_EINVAL);
	CHECK_ERR(fk_segment_next(mem, &empty, &f), FK_EINVAL);
	CHECK_ERR(fk_segment_into_raw(mem, &empty, &a, &b), FK_EINVAL);
	CHECK_ERR(fk_segment_clone(mem, &empty, &out), FK_EINVAL);
	CHECK_ERR(fk_segment_drop(mem, &empty), FK_EINVAL);
	CHECK_ERR(fk_segment_drop(mem, 0), FK_EINVAL);
	CHECK_ERR(fk_segment_downcast(mem, &empty, &tag_type), FK_EINVAL);
	CHECK_OK(fix_destroy(mem));
}

static void alloc_segment_covers_every_allocator_and_returns_all_frames(void)
{
	const char *names[8];
	size_t n = fk_allocator_names(names, 8);
	for (size_t i = 0; i < n; i++) {
		fk_mem *mem = fix_create(names[i], 1);
		struct fk_alloc_stats st;
		fk_segment s[6];
		uint64_t sizes[6] = {1, 2, 3, 16, 512, 7};
		CHECK(mem);
		CHECK_ERR(fk_alloc_segment(mem, 0, 0, 0, 0, 0, &s[0]), FK_EINVAL);
		CHECK_ERR(fk_alloc_segment(mem, 1, 0, 0, 0, FK_ALLOC_NODE(5), &s[0]), FK_EINVAL);
		for (int k = 0; k < 6; k++) {
			unsigned fl = sizes[k] == 512 || sizes[k] == 16 ? FK_ALLOC_ALIGNED : 0;
			CHECK_OK(
			    fk_alloc_segment(mem, sizes[k], &tag_type, tag_init, 0, fl, &s[k]));
			CHECK_EQ(fk_segment_nframes(&s[k]), sizes[k]);
			if (fl)
				CHECK_EQ((fk_segment_start_paddr(&s[k]) >> 12) % sizes[k], 0);
		}
		fk_segment t;
		CHECK_ERR(fk_alloc_segment(mem, FIX_M_FRAMES, 0, 0, 0, 0, &t), FK_ENOMEM);
		for (int k = 0; k < 6; k++)
			CHECK_OK(fk_segment_drop(mem, &s[k]));
		fk_mem_alloc_drain(mem);
		CHECK_OK(fk_mem_alloc_stats(mem, -1, &st));
		if (st.free_frames != FIX_M_FRAMES)
			fprintf(stderr, "  allocator %s\n", names[i]);
		CHECK_EQ(st.free_frames, FIX_M_FRAMES);
		CHECK_OK(fix_destroy(mem));
	}
}

static int fail_third(void *meta, uint64_t paddr, void *ctx)
{
	uint64_t *count = ctx;
	(void)meta;
	(void)paddr;
	return ++*count == 3 ? FK_ENOMEM : 0;
}

static void alloc_segment_init_failure_returns_frames_to_the_allocator(void)
{
	const char *names[8];
	size_t n = fk_allocator_names(names, 8);
	for (size_t i = 0; i < n; i++) {
		fk_mem *mem = fix_create(names[i], 1);
		struct fk_alloc_stats st;
		fk_segment s;
		uint64_t count = 0;
		CHECK(mem);
		CHECK_ERR(fk_alloc_segment(mem, 8, 0, fail_third, &count, 0, &s), FK_ENOMEM);
		fk_mem_alloc_drain(mem);
		CHECK_OK(fk_mem_alloc_stats(mem, -1, &st));
		CHECK_EQ(st.free_frames, FIX_M_FRAMES);
		CHECK_OK(fix_destroy(mem));
	}
}

int main(int argc, char **argv)
{
	fk_test_args(argc, argv);
	RUN(segment_from_unused_claims_every_frame);
	RUN(segment_from_unused_rejects_bad_ranges);
	RUN(segment_from_unused_is_all_or_nothing_when_a_middle_frame_is_in_use);
	RUN(segment_from_unused_rolls_back_when_metadata_init_fails);
	RUN(segment_split_halves_without_refcount_changes);
	RUN(segment_slice_adds_one_reference_per_frame_and_checks_bounds_first);
	RUN(segment_slice_overflow_rolls_back_every_increment);
	RUN(segment_slice_bounds_check_before_adding_and_write_nothing_on_error);
	RUN(segment_split_and_next_stay_inside_the_last_pages);
	RUN(segment_drop_runs_are_the_maximal_runs_of_dead_frames);
	RUN(segment_next_drains_frame_by_frame);
	RUN(segment_clone_and_drop_restore_counts);
	RUN(segment_raw_round_trip_and_forged_ranges);
	RUN(segment_typed_view_checks_type_and_erasure_keeps_counts);
	RUN(segment_drop_returns_contiguous_runs_in_one_call);
	RUN(segment_ops_reject_empty_and_foreign_handles);
	RUN(alloc_segment_covers_every_allocator_and_returns_all_frames);
	RUN(alloc_segment_init_failure_returns_frames_to_the_allocator);
	return fk_test_finish();
}
