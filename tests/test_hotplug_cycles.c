/* SPDX-License-Identifier: MIT */
/*
 * Hot-plug never runs out (issue 8, defect 5), on every allocator.
 *
 * 10,000 cycles of: add a managed region at a base never used before,
 * allocate a frame from it, drop it, remove the region. Before the fix the
 * 257th add failed with FK_ENOMEM with no region present (lockfree never
 * reused region metadata, buddy-global had a fixed chunk table). The core's
 * own part: region descriptors and tables are reused, never accumulated.
 * Ends with a conservation check (allocator empty, nothing leaked). The
 * other core variants (fk_variants.h) run 1,000 cycles each, to keep the
 * test a few seconds.
 */
#include "fk_test.h"

#define CYCLES  10000
#define NFRAMES 16ull
/* Distinct, 2 MiB aligned bases. */
#define BASE(i) (0x1000000000ull + (uint64_t)(i)*0x200000ull)

static int cycles(const char *allocator)
{
	struct fk_mem_config cfg = {0};
	cfg.nr_nodes = 1;
	cfg.allocator = allocator;
	fk_variant_apply(&cfg, fk_test_variant);
	fk_mem *mem = 0;
	if (fk_mem_create(&cfg, &mem))
		return 1;
	fk_thread_enter(mem);
	int i, err = 0;
	const char *step = "";
	int cycles = fk_test_variant == &fk_variants[0] ? CYCLES : CYCLES / 10;
	for (i = 0; i < cycles && !err; i++) {
		struct fk_region_config rc = {.base = BASE(i), .nframes = NFRAMES, .node = 0};
		fk_frame f;
		step = "add";
		err = fk_mem_add_region(mem, &rc);
		if (err)
			break;
		step = "alloc";
		err = fk_alloc_frame(mem, NULL, NULL, NULL, 0, &f);
		if (!err && (f.paddr < BASE(i) || f.paddr >= BASE(i) + NFRAMES * PG))
			err = FK_EOUTOFBOUND;
		if (!err) {
			step = "drop";
			err = fk_frame_drop(mem, &f);
		}
		if (!err) {
			step = "remove";
			err = fk_mem_remove_region(mem, BASE(i));
		}
	}
	struct fk_alloc_stats st = {0};
	int serr = fk_mem_alloc_stats(mem, -1, &st);
	uint64_t total = fk_mem_total_frames(mem);
	fk_thread_leave(mem);
	int leak = fk_mem_destroy(mem, NULL);
	if (err)
		printf("  %-12s cycle %d: %s -> %s\n", allocator, i, step, fk_strerror_name(err));
	else
		printf("  %-12s %d cycles ok; allocator holds %llu frames, context %llu\n",
		       allocator, i, (unsigned long long)st.total_frames,
		       (unsigned long long)total);
	return err || serr || st.free_frames || total || leak;
}

static void ten_thousand_add_remove_cycles_at_new_bases_never_exhaust_anything(void)
{
	const char *allocators[16]; /* every built-in allocator */
	size_t n = fk_allocator_names(allocators, 16);
	int failed = 0;
	for (size_t i = 0; i < n && i < 16; i++)
		failed |= cycles(allocators[i]);
	CHECK(!failed);
}

int main(int argc, char **argv)
{
	fk_test_args(argc, argv);
	RUN(ten_thousand_add_remove_cycles_at_new_bases_never_exhaust_anything);
	return fk_test_finish();
}
