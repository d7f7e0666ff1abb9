/* SPDX-License-Identifier: MIT */
/*
 * insn_count.c: N single-thread calls of fk_segment_split, fk_segment_slice
 * (+ fk_segment_drop of the slice) and fk_segment_next on one 512-frame
 * segment (slices of 1 and 16 frames), for counting instructions per call with callgrind (exact and
 * independent of the host's load, unlike a timing on a shared machine).
 * Built against a framekit tree's libframekit.a by insn_count.sh.
 *   usage: insn_count [N]
 */
#include <stdio.h>
#include <stdlib.h>

#include <framekit/framekit.h>

#define BASE   0x100000ull
#define FRAMES 512ull

static void die(const char *what, int err)
{
	fprintf(stderr, "insn_count: %s: %s\n", what, fk_strerror(err));
	exit(1);
}

/* Each loop lives in its own function, so callgrind can count it alone. */
__attribute__((noinline)) static void loop_split(fk_mem *mem, const fk_segment *own, long n)
{
	for (long i = 0; i < n; i++) {
		fk_segment s = *own, l, r;
		int err = fk_segment_split(mem, &s, (1 + i % (FRAMES - 1)) * FK_PAGE_SIZE, &l, &r);
		if (err)
			die("split", err);
	}
}

__attribute__((noinline)) static void loop_slice_drop(fk_mem *mem, const fk_segment *own, long n,
                                                      uint64_t frames)
{
	for (long i = 0; i < n; i++) {
		fk_segment sl;
		int err = fk_segment_slice(mem, own, 0, frames * FK_PAGE_SIZE, &sl);
		if (err || (err = fk_segment_drop(mem, &sl)))
			die("slice/drop", err);
	}
}

__attribute__((noinline)) static void loop_slice1_drop(fk_mem *mem, const fk_segment *own, long n)
{
	loop_slice_drop(mem, own, n, 1);
}

__attribute__((noinline)) static void loop_slice16_drop(fk_mem *mem, const fk_segment *own, long n)
{
	loop_slice_drop(mem, own, n, 16);
}

__attribute__((noinline)) static void loop_next(fk_mem *mem, const fk_segment *own, long n)
{
	fk_frame f;
	for (long i = 0; i < n; i += (long)FRAMES) {
		fk_segment s = *own;
		while (fk_segment_next(mem, &s, &f) == 1)
			; /* the frames stay owned by `own` */
	}
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 100000;
	struct fk_region_config reg = {
	    .base = BASE, .nframes = FRAMES, .node = 0, .flags = FK_REGION_UNMANAGED};
	struct fk_mem_config cfg = {.regions = &reg, .nr_regions = 1, .nr_nodes = 1,
	                            .allocator = "simple"};
	fk_mem *mem;
	fk_segment own;
	int err = fk_mem_create(&cfg, &mem);
	if (err || (err = fk_thread_enter(mem)))
		die("setup", err);
	if ((err = fk_segment_from_unused(mem, BASE, BASE + FRAMES * FK_PAGE_SIZE, 0, 0, 0, &own)))
		die("from_unused", err);
	loop_split(mem, &own, n);
	loop_slice1_drop(mem, &own, n);
	loop_slice16_drop(mem, &own, n);
	loop_next(mem, &own, n);
	if ((err = fk_segment_drop(mem, &own)))
		die("drop", err);
	fk_thread_leave(mem);
	return fk_mem_destroy(mem, 0) ? 1 : 0;
}
