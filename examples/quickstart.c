/* SPDX-License-Identifier: MIT */
/* The README's example as a complete program: one context, one segment
 * split, sliced, iterated, turned raw and back, everything dropped, no leak. */
#include <stdio.h>
#include <stdlib.h>

#include <framekit/framekit.h>

/* Every fallible call returns 0 (or a count) on success, a negative FK_E* on error. */
#define CHECK(call)                                                                                \
	do {                                                                                       \
		int err_ = (call);                                                                 \
		if (err_ < 0) {                                                                    \
			fprintf(stderr, "%s: %s\n", #call, fk_strerror_name(err_));                \
			exit(1);                                                                   \
		}                                                                                  \
	} while (0)

int main(void)
{
	struct fk_region_config reg = {.base = 0x100000000, .nframes = 1 << 18, .node = 0};
	struct fk_mem_config cfg = {.regions = &reg,
	                            .nr_regions = 1,
	                            .nr_nodes = 1,
	                            .raw_tracking = 1,
	                            .allocator = "lockfree"};
	fk_mem *mem;
	CHECK(fk_mem_create(&cfg, &mem));
	CHECK(fk_thread_enter(mem)); /* every thread, before any other call */

	fk_segment seg, left, right, part;
	CHECK(fk_alloc_segment(mem, 16, NULL, NULL, NULL, FK_ALLOC_ALIGNED, &seg));
	CHECK(fk_segment_split(mem, &seg, 4 * FK_PAGE_SIZE, &left, &right)); /* consumes seg */
	CHECK(fk_segment_slice(mem, &right, 0, 2 * FK_PAGE_SIZE, &part));    /* +1 on 2 frames */

	fk_frame f;
	while (fk_segment_next(mem, &left, &f) == 1) /* moves each frame's reference out */
		CHECK(fk_frame_drop(mem, &f));       /* last reference -> allocator */

	uint64_t a, b;
	CHECK(fk_segment_into_raw(mem, &part, &a, &b));     /* forget the handle, record raw refs */
	CHECK(fk_segment_from_raw(mem, a, b, NULL, &part)); /* FK_ENOTRAW if [a,b) was never raw */
	CHECK(fk_segment_drop(mem, &part));
	CHECK(fk_segment_drop(mem, &right));

	struct fk_leak_report rep;
	fk_thread_leave(mem);
	CHECK(fk_mem_destroy(mem, &rep)); /* FK_EBUSY + report if anything leaked */
	printf("quickstart: ok, %llu frames leaked\n", (unsigned long long)rep.frames_referenced);
	return 0;
}
