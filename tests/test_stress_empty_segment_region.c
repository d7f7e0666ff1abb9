/* SPDX-License-Identifier: MIT */
/*
 * empty_segment_does_not_outlive_its_region
 *
 * An empty segment (exhausted by fk_segment_next, or an empty slice) holds
 * no reference, so it does not pin its region: the region can be
 * hot-removed while the handle still exists. Dropping (or otherwise using)
 * that handle afterwards must not touch the freed region: it should return
 * 0 or FK_EINVAL. Found by the fuzz harness (stress/fuzz_api.c); without a
 * fix the drop reads the freed struct fk_region (ASan: heap-use-after-free
 * in seg_ok), so this test fails under the debug (ASan) preset.
 */
#include <stdio.h>
#include <string.h>

#include <framekit/framekit.h>

#include "fk_test.h"

static int run_variant(const struct fk_variant *v)
{
	struct fk_region_config m = {0x1000000, 16, 0, 0}, h = {0x4000000, 8, 1, 0};
	struct fk_mem_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	cfg.regions = &m;
	cfg.nr_regions = 1;
	cfg.nr_nodes = 2;
	cfg.allocator = "simple";
	fk_variant_apply(&cfg, v);
	fk_mem *mem;
	if (fk_mem_create(&cfg, &mem) != 0)
		return 2;
	fk_thread_enter(mem);
	int failed = 0;
	for (int how = 0; how < 2; how++) {
		if (fk_mem_add_region(mem, &h) != 0)
			return 2;
		fk_segment s, empty;
		fk_frame f;
		if (fk_alloc_segment(mem, 1, NULL, NULL, NULL,
		                     FK_ALLOC_NODE(1) | FK_ALLOC_NODE_STRICT, &s) != 0)
			return 2;
		if (how == 0) {
			/* next hands out the only frame: s is exhausted, holds nothing */
			if (fk_segment_next(mem, &s, &f) != 1)
				return 2;
			fk_frame_drop(mem, &f);
			empty = s;
		} else {
			/* an empty slice holds nothing either */
			if (fk_segment_slice(mem, &s, 0, 0, &empty) != 0)
				return 2;
			fk_segment_drop(mem, &s);
		}
		fk_mem_alloc_drain(mem);
		int rc = fk_mem_remove_region(mem, h.base);
		if (rc != 0) {
			fprintf(stderr, "remove_region of an idle region -> %s\n",
			        fk_strerror_name(rc));
			failed = 1;
			fk_segment_drop(mem, &empty);
			continue;
		}
		rc = fk_segment_drop(mem, &empty); /* must not read the freed region */
		if (rc != 0 && rc != FK_EINVAL) {
			fprintf(stderr,
			        "drop of an empty %s segment after its region was removed -> %s\n",
			        how ? "sliced" : "exhausted", fk_strerror_name(rc));
			failed = 1;
		}
	}
	fk_thread_leave(mem);
	if (fk_mem_destroy(mem, NULL) != 0)
		failed = 1;
	return failed;
}

int main(int argc, char **argv)
{
	fk_test_args(argc, argv);
	fk_run_test_v("empty_segment_does_not_outlive_its_region", run_variant);
	return fk_test_finish();
}
