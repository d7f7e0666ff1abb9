/* SPDX-License-Identifier: MIT */
/*
 * The "huge" workload's operations (--workload huge): order-9 blocks split
 * into parts that several threads free at once, small allocations of 1-8
 * frames, and drains, on a small memory (HUGE_FRAMES per node) so that the
 * allocator keeps converting whole blocks and retiring cached words. It
 * aims at the windows of issue 18: concurrent part frees of one huge block (a frame
 * handed to two owners: the wrapper's DOUBLE ALLOCATION check, refused
 * frees, conservation) and an order-9 FK_ENOMEM while a whole area is free
 * (the FK_ENOMEM oracle). Run it with --sched-fuzz in an FK_SCHED_FUZZ
 * build to widen those windows.
 */
#include <inttypes.h>

#include "stress.h"

/* An order-9 segment, split at 1..5 random page offsets; the parts go to
 * the shared board (the mailbox) for other threads to drop, but one that
 * this thread drops at once. */
int op_huge_split(struct worker *w)
{
	const uint64_t n = 512;
	fk_segment s;
	struct sc_call call;
	tl_init_fail_at = -1;
	tl_init_index = 0;
	sc_call_begin(&call);
	int rc = fk_alloc_segment(g.mem, n, NULL, NULL, NULL, FK_ALLOC_ALIGNED, &s);
	if (rc) {
		EXPECT(rc == FK_ENOMEM, "alloc_segment(512, ALIGNED) -> %s", E(rc));
		if (rc == FK_ENOMEM)
			check_enomem(&call, n, FK_ALLOC_ALIGNED, "huge alloc_segment");
		return 0;
	}
	EXPECT(((s.start / FK_PAGE_SIZE) & (n - 1)) == 0 && s.end - s.start == n * FK_PAGE_SIZE,
	       "alloc_segment(512, ALIGNED) gave [0x%" PRIx64 ", 0x%" PRIx64 ")", s.start, s.end);
	unsigned cuts = 1 + (unsigned)fk_rand_below(&w->rng, 5);
	fk_segment mine = s;
	for (unsigned i = 0; i < cuts; i++) {
		uint64_t nf = fk_segment_nframes(&mine);
		if (nf < 2)
			break;
		uint64_t off = (1 + fk_rand_below(&w->rng, nf - 1)) * FK_PAGE_SIZE;
		fk_segment left, right;
		rc = fk_segment_split(g.mem, &mine, off, &left, &right);
		EXPECT(rc == 0, "split(huge part) -> %s", E(rc));
		if (rc)
			break;
		struct item it = {.kind = IT_SEG, .s = right};
		int posted = 0;
		pthread_mutex_lock(&g.mail_lock);
		if (g.nmail < MAILBOX_CAP) {
			g.mail[g.nmail++] = it;
			posted = 1;
		}
		pthread_mutex_unlock(&g.mail_lock);
		if (!posted)
			item_release(g.mem, &it);
		mine = left;
	}
	rc = fk_segment_drop(g.mem, &mine);
	EXPECT(rc == 0, "drop(own huge part) -> %s", E(rc));
	return 1;
}

/* Drop a part another thread posted (the racing part frees). */
int op_part_drop(struct worker *w)
{
	struct item it;
	int got = 0;
	pthread_mutex_lock(&g.mail_lock);
	if (g.nmail > 0) {
		/* The newest part mostly: parts of one block then reach several
		 * threads at once. */
		int k = fk_rand_chance(&w->rng, 0.8) ? g.nmail - 1
		                                     : (int)fk_rand_below(&w->rng, (uint64_t)g.nmail);
		it = g.mail[k];
		g.mail[k] = g.mail[--g.nmail];
		got = 1;
	}
	pthread_mutex_unlock(&g.mail_lock);
	if (!got)
		return 0;
	item_release(g.mem, &it);
	return 1;
}

int op_drain(struct worker *w)
{
	(void)w;
	fk_mem_alloc_drain(g.mem);
	return 1;
}

/* A small allocation, kept only briefly (at most two per thread), so that
 * whole areas come free again and order-9 requests can be judged: one
 * frame (the per-CPU cache path) or 2..8 frames (always the area's counter
 * and bit field, as the takers of defect 1 of issue 18 need). */
int op_small_frame(struct worker *w)
{
	uint64_t n = fk_rand_chance(&w->rng, 0.5) ? 1 : 2 + fk_rand_below(&w->rng, 7);
	fk_segment s;
	struct sc_call call;
	tl_init_fail_at = -1;
	tl_init_index = 0;
	sc_call_begin(&call);
	int rc = fk_alloc_segment(g.mem, n, NULL, NULL, NULL, 0, &s);
	if (rc) {
		EXPECT(rc == FK_ENOMEM, "alloc_segment(%" PRIu64 ") -> %s", n, E(rc));
		if (rc == FK_ENOMEM)
			check_enomem(&call, n, 0, "huge-workload small alloc_segment");
		return 0;
	}
	push_seg(w, s, NULL, NULL);
	while (w->n > 2) {
		item_release(g.mem, &w->items[0]);
		w->items[0] = w->items[--w->n];
	}
	return 1;
}
