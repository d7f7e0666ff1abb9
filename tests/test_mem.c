/* SPDX-License-Identifier: MIT */
/* Contexts and regions: creation errors, hot-add / hot-remove, leak
 * reports, several contexts in one process, logical NUMA nodes. */
#include "fk_test.h"

static void mem_create_rejects_bad_configs(void)
{
	fk_mem *mem;
	struct fk_region_config bad[] = {
	    {.base = 0x1001, .nframes = 4},                    /* unaligned */
	    {.base = 0x1000, .nframes = 0},                    /* empty */
	    {.base = 0x1000, .nframes = 4, .node = 3},         /* no such node */
	    {.base = UINT64_MAX & ~0xfffull, .nframes = 4},    /* wraps */
	    {.base = 0x1000, .nframes = 4, .flags = 1u << 30}, /* unknown flag */
	};
	int expect[] = {FK_ENOTALIGNED, FK_EINVAL, FK_EINVAL, FK_EOUTOFBOUND, FK_EINVAL};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct fk_mem_config cfg = {
		    .regions = &bad[i], .nr_regions = 1, .nr_nodes = 1, .allocator = "simple"};
		CHECK_ERR(fk_mem_create(&cfg, &mem), expect[i]);
	}
	struct fk_mem_config cfg = {.nr_nodes = 1, .allocator = "no-such-allocator"};
	CHECK_ERR(fk_mem_create(&cfg, &mem), FK_ENOENT);
	cfg.allocator = "simple";
	cfg.nr_nodes = FK_MAX_NODES + 1;
	CHECK_ERR(fk_mem_create(&cfg, &mem), FK_EINVAL);
	CHECK_ERR(fk_mem_create(0, &mem), FK_EINVAL);
	struct fk_region_config overlap[2] = {{.base = 0x10000, .nframes = 16},
	                                      {.base = 0x14000, .nframes = 16}};
	struct fk_mem_config cfg2 = {
	    .regions = overlap, .nr_regions = 2, .nr_nodes = 1, .allocator = "simple"};
	CHECK_ERR(fk_mem_create(&cfg2, &mem), FK_EEXIST);
}

static void mem_destroy_reports_referenced_and_raw_frames(void)
{
	fk_mem *mem = fix_create("simple", 1);
	struct fk_leak_report rep;
	fk_segment s;
	fk_frame f;
	uint64_t a, b;
	CHECK(mem);
	CHECK_OK(fk_segment_from_unused(mem, FIX_U_BASE, FIX_U_BASE + 3 * PG, 0, 0, 0, &s));
	CHECK_OK(fk_segment_into_raw(mem, &s, &a, &b));
	CHECK_OK(fk_alloc_frame(mem, 0, 0, 0, 0, &f));
	fk_mem_leak_report(mem, &rep);
	CHECK_EQ(rep.frames_referenced, 4);
	CHECK_EQ(rep.frames_raw, 3);
	CHECK_EQ(rep.raw_refs, 3);
	CHECK_EQ(rep.first_leaked_paddr, FIX_U_BASE);
	fk_thread_leave(mem);
	CHECK_ERR(fk_mem_destroy(mem, &rep), FK_EBUSY);
	CHECK_EQ(rep.frames_referenced, 4);
	CHECK_EQ(rep.frames_raw, 3);
}

static void mem_leak_report_is_clean_after_everything_is_dropped(void)
{
	fk_mem *mem = fix_create("simple", 1);
	struct fk_leak_report rep;
	fk_segment s;
	CHECK(mem);
	CHECK_OK(fk_alloc_segment(mem, 10, 0, 0, 0, 0, &s));
	CHECK_OK(fk_segment_drop(mem, &s));
	fk_mem_leak_report(mem, &rep);
	CHECK_EQ(rep.frames_referenced, 0);
	CHECK_EQ(rep.frames_raw, 0);
	CHECK_EQ(rep.first_leaked_paddr, UINT64_MAX);
	CHECK_OK(fix_destroy(mem));
}

static void region_hot_add_makes_frames_reachable_and_rejects_overlap(void)
{
	const char *names[8];
	size_t n = fk_allocator_names(names, 8);
	for (size_t i = 0; i < n; i++) {
		fk_mem *mem = fix_create(names[i], 1);
		struct fk_region_config add = {.base = 0x40000000, .nframes = 512, .node = 0};
		struct fk_region_config ov = {.base = FIX_M_BASE + PG, .nframes = 2, .node = 0};
		struct fk_alloc_stats st;
		fk_segment big[2];
		CHECK(mem);
		CHECK_EQ(fk_mem_total_frames(mem), FIX_U_FRAMES + FIX_M_FRAMES);
		CHECK_ERR(fk_mem_add_region(mem, &ov), FK_EEXIST);
		CHECK_OK(fk_mem_add_region(mem, &add));
		CHECK_EQ(fk_mem_total_frames(mem), FIX_U_FRAMES + FIX_M_FRAMES + 512);
		CHECK_EQ(fk_mem_managed_frames(mem), FIX_M_FRAMES + 512);
		CHECK_EQ(rc_at(mem, 0x40000000 + 511 * PG), FK_REF_UNUSED);
		fk_mem_alloc_drain(mem);
		CHECK_OK(fk_mem_alloc_stats(mem, -1, &st));
		CHECK_EQ(st.total_frames, FIX_M_FRAMES + 512);
		/* Both 2 MiB-aligned 512-frame blocks are available now. */
		CHECK_OK(fk_alloc_segment(mem, 512, 0, 0, 0, FK_ALLOC_ALIGNED, &big[0]));
		CHECK_OK(fk_alloc_segment(mem, 512, 0, 0, 0, FK_ALLOC_ALIGNED, &big[1]));
		CHECK_OK(fk_segment_drop(mem, &big[0]));
		CHECK_OK(fk_segment_drop(mem, &big[1]));
		CHECK_OK(fix_destroy(mem));
	}
}

static void region_hot_remove_refuses_while_a_frame_is_in_use(void)
{
	const char *names[8];
	size_t n = fk_allocator_names(names, 8);
	for (size_t i = 0; i < n; i++) {
		fk_mem *mem = fix_create(names[i], 1);
		struct fk_region_config add = {.base = 0x40000000, .nframes = 512, .node = 0};
		fk_segment s;
		fk_frame f, g;
		CHECK(mem);
		CHECK_OK(fk_mem_add_region(mem, &add));
		/* Hold a frame of the new region: exhaust the old one first. */
		fk_segment fill;
		CHECK_OK(fk_alloc_segment(mem, FIX_M_FRAMES, 0, 0, 0, 0, &fill));
		CHECK_OK(fk_alloc_segment(mem, 4, 0, 0, 0, 0, &s));
		CHECK(fk_segment_start_paddr(&s) >= 0x40000000);
		CHECK_OK(fk_segment_drop(mem, &fill));
		CHECK_ERR(fk_mem_remove_region(mem, 0x40000000), FK_EINUSE);
		/* Still published: lookups work. */
		CHECK_OK(fk_frame_from_in_use(mem, fk_segment_start_paddr(&s), &f));
		CHECK_OK(fk_frame_drop(mem, &f));
		CHECK_OK(fk_segment_drop(mem, &s));
		CHECK_OK(fk_mem_remove_region(mem, 0x40000000));
		CHECK_ERR(fk_frame_from_in_use(mem, 0x40000000, &g), FK_EOUTOFBOUND);
		CHECK_ERR(fk_mem_remove_region(mem, 0x40000000), FK_ENOENT);
		CHECK_EQ(fk_mem_managed_frames(mem), FIX_M_FRAMES);
		/* The allocator no longer hands out its frames. */
		CHECK_OK(fk_alloc_segment(mem, FIX_M_FRAMES, 0, 0, 0, 0, &fill));
		CHECK(fk_segment_start_paddr(&fill) == FIX_M_BASE);
		CHECK_ERR(fk_alloc_frame(mem, 0, 0, 0, 0, &f), FK_ENOMEM);
		CHECK_OK(fk_segment_drop(mem, &fill));
		CHECK_OK(fix_destroy(mem));
	}
}

static void region_hot_remove_of_unmanaged_region_waits_for_raw_references(void)
{
	fk_mem *mem = fix_create("simple", 1);
	fk_segment s;
	uint64_t a, b;
	CHECK(mem);
	CHECK_OK(fk_segment_from_unused(mem, FIX_U_BASE, FIX_U_BASE + PG, 0, 0, 0, &s));
	CHECK_OK(fk_segment_into_raw(mem, &s, &a, &b));
	CHECK_ERR(fk_mem_remove_region(mem, FIX_U_BASE), FK_EINUSE);
	CHECK_OK(fk_segment_from_raw(mem, a, b, 0, &s));
	CHECK_OK(fk_segment_drop(mem, &s));
	CHECK_OK(fk_mem_remove_region(mem, FIX_U_BASE));
	CHECK_ERR(fk_segment_from_unused(mem, FIX_U_BASE, FIX_U_BASE + PG, 0, 0, 0, &s),
	          FK_EOUTOFBOUND);
	CHECK_OK(fix_destroy(mem));
}

static void several_contexts_live_side_by_side(void)
{
	fk_mem *a = fix_create("simple", 1);
	fk_mem *b = fix_create(fk_allocator_find("buddy-global") ? "buddy-global" : "simple", 0);
	fk_segment sa, sb;
	CHECK(a && b);
	CHECK_OK(fk_thread_enter(a)); /* nested enter is fine */
	CHECK_OK(fk_alloc_segment(a, 3, 0, 0, 0, 0, &sa));
	CHECK_OK(fk_alloc_segment(b, 3, 0, 0, 0, 0, &sb));
	CHECK_EQ(rc_at(a, fk_segment_start_paddr(&sa)), 1);
	CHECK_EQ(rc_at(b, fk_segment_start_paddr(&sb)), 1);
	CHECK_OK(fk_segment_drop(a, &sa));
	CHECK_OK(fk_segment_drop(b, &sb));
	fk_thread_leave(a);
	CHECK_OK(fix_destroy(a));
	CHECK_OK(fix_destroy(b));
}

static void logical_numa_split_allocates_node_local_with_fallback(void)
{
	const char *names[8];
	size_t n = fk_allocator_names(names, 8);
	for (size_t i = 0; i < n; i++) {
		struct fk_region_config regs[2] = {
		    {.base = 0x100000000ull, .nframes = 512, .node = 0},
		    {.base = 0x200000000ull, .nframes = 512, .node = 1},
		};
		struct fk_mem_config cfg = {.regions = regs,
		                            .nr_regions = 2,
		                            .nr_nodes = 2,
		                            .raw_tracking = 1,
		                            .allocator = names[i]};
		fk_variant_apply(&cfg, fk_test_variant);
		fk_mem *mem;
		fk_segment s0, s1, all;
		struct fk_alloc_stats st;
		CHECK_OK(fk_mem_create(&cfg, &mem));
		CHECK_OK(fk_thread_enter(mem));
		CHECK_EQ(fk_mem_nr_nodes(mem), 2);
		CHECK_OK(fk_alloc_segment(mem, 1, 0, 0, 0, FK_ALLOC_NODE(0), &s0));
		CHECK_OK(fk_alloc_segment(mem, 1, 0, 0, 0, FK_ALLOC_NODE(1), &s1));
		CHECK(fk_segment_start_paddr(&s0) < 0x200000000ull);
		CHECK(fk_segment_start_paddr(&s1) >= 0x200000000ull);
		CHECK_OK(fk_segment_drop(mem, &s0));
		CHECK_OK(fk_segment_drop(mem, &s1));
		/* Exhaust node 0 (per-CPU caches drained first so the whole node
		 * is one free block); strict fails, default falls back. */
		fk_mem_alloc_drain(mem);
		CHECK_OK(fk_alloc_segment(mem, 512, 0, 0, 0, FK_ALLOC_NODE(0), &all));
		CHECK(fk_segment_start_paddr(&all) == 0x100000000ull);
		CHECK_ERR(
		    fk_alloc_segment(mem, 1, 0, 0, 0, FK_ALLOC_NODE(0) | FK_ALLOC_NODE_STRICT, &s0),
		    FK_ENOMEM);
		CHECK_OK(fk_alloc_segment(mem, 1, 0, 0, 0, FK_ALLOC_NODE(0), &s0));
		CHECK(fk_segment_start_paddr(&s0) >= 0x200000000ull);
		CHECK_OK(fk_segment_drop(mem, &s0));
		CHECK_OK(fk_segment_drop(mem, &all));
		fk_mem_alloc_drain(mem);
		CHECK_OK(fk_mem_alloc_stats(mem, 0, &st));
		CHECK_EQ(st.total_frames, 512);
		CHECK_EQ(st.free_frames, 512);
		CHECK_OK(fk_mem_alloc_stats(mem, 1, &st));
		CHECK_EQ(st.free_frames, 512);
		CHECK_ERR(fk_mem_alloc_stats(mem, 2, &st), FK_EINVAL);
		int node = fk_mem_current_node(mem);
		CHECK(node == 0 || node == 1);
		CHECK_OK(fix_destroy(mem));
	}
}

int main(int argc, char **argv)
{
	fk_test_args(argc, argv);
	RUN(mem_create_rejects_bad_configs);
	RUN(mem_destroy_reports_referenced_and_raw_frames);
	RUN(mem_leak_report_is_clean_after_everything_is_dropped);
	RUN(region_hot_add_makes_frames_reachable_and_rejects_overlap);
	RUN(region_hot_remove_refuses_while_a_frame_is_in_use);
	RUN(region_hot_remove_of_unmanaged_region_waits_for_raw_references);
	RUN(several_contexts_live_side_by_side);
	RUN(logical_numa_split_allocates_node_local_with_fallback);
	return fk_test_finish();
}
