/* SPDX-License-Identifier: MIT */
/*
 * lockfree placement: small-frame reservations must not spend the areas
 * that huge frames need. The case from issue 9: 1024 frames (two areas),
 * one frame allocated from CPU 0 and one from CPU 1; an order-9 allocation
 * must still succeed (each CPU used to reserve its own free area).
 */
#include "test_lockfree_fix.h"

struct one {
	struct lfx *f;
	uint64_t pfn;
	int err;
};

static void alloc_one(void *p)
{
	struct one *o = p;
	o->err = lfx_alloc(o->f, 1, 0, &o->pfn);
}

static void check_two_cpus_then_huge(int drain)
{
	struct lfx f;
	struct one a = {.f = &f}, b = {.f = &f};
	uint64_t huge;
	CHECK_OK(lfx_open(&f, 2));
	CHECK_OK(lfx_add(&f, 0x10000, 1024));
	if (!lfx_run_on(0, alloc_one, &a) || !lfx_run_on(1, alloc_one, &b)) {
		printf("  (skipped: needs CPUs 0 and 1)\n");
		lfx_close(&f);
		return;
	}
	CHECK_OK(a.err);
	CHECK_OK(b.err);
	if (drain)
		f.ops->drain(f.st);
	CHECK_OK(lfx_alloc(&f, 512, 9, &huge));
	CHECK_EQ(huge % 512, 0);
	CHECK(a.pfn < huge || a.pfn >= huge + 512);
	CHECK(b.pfn < huge || b.pfn >= huge + 512);
	CHECK_OK(lfx_free(&f, huge, 512));
	CHECK_OK(lfx_free(&f, a.pfn, 1));
	CHECK_OK(lfx_free(&f, b.pfn, 1));
	struct fk_alloc_stats s = lfx_stats(&f);
	CHECK_EQ(s.free_frames, 1024);
	lfx_close(&f);
}

static void two_frames_from_two_cpus_leave_an_order9_block_after_drain(void)
{
	check_two_cpus_then_huge(1);
}

static void two_frames_from_two_cpus_leave_an_order9_block_without_drain(void)
{
	check_two_cpus_then_huge(0);
}

/* With free areas plentiful, each CPU reserves its own (no sharing), and
 * a refill prefers a partly used area over a fully free one. */
static void small_refill_prefers_partly_used_area(void)
{
	struct lfx f;
	uint64_t p[600], q;
	CHECK_OK(lfx_open(&f, 1));
	CHECK_OK(lfx_add(&f, 0x10000, 16 * 512));
	for (int i = 0; i < 600; i++) /* fills one area and starts another */
		CHECK_OK(lfx_alloc(&f, 1, 0, &p[i]));
	uint64_t second = p[599] / 512;
	for (int i = 0; i < 512; i++) /* free most of the first area ... */
		if (p[i] / 512 != second && i % 8)
			CHECK_OK(lfx_free(&f, p[i], 1));
	for (int i = 512; i < 600; i++) /* ... and all of the second */
		if (p[i] / 512 == second)
			CHECK_OK(lfx_free(&f, p[i], 1));
	f.ops->drain(f.st);
	/* The reservation is gone; the next small frame must come from the
	 * partly used first area, not from one of the 15 free ones. */
	CHECK_OK(lfx_alloc(&f, 1, 0, &q));
	CHECK_EQ(q / 512, p[0] / 512);
	CHECK_OK(lfx_free(&f, q, 1));
	for (int i = 0; i < 512; i++)
		if (p[i] / 512 != second && !(i % 8))
			CHECK_OK(lfx_free(&f, p[i], 1));
	struct fk_alloc_stats s = lfx_stats(&f);
	CHECK_EQ(s.free_frames, 16 * 512);
	CHECK_EQ(s.free_blocks[9], 16);
	lfx_close(&f);
}

/*
 * Huge frames taken in rounds and freed in the order they were taken (the
 * bench's bulk loop): every round must get the first round's areas again.
 * Before issue 20's hint change the hint named the round's last area after
 * the frees, so each round moved 7 areas on and the takes swept the whole
 * record; with two CPUs they wrote each other's counter and bit-field
 * lines. A span freed whole also brings the next span back to its start.
 */
static void huge_rounds_freed_in_order_reuse_their_areas(void)
{
	enum { AREAS = 64, HELD = 8, ROUNDS = 20 };
	struct lfx f;
	const uint64_t base = 0x20000; /* area aligned */
	uint64_t first[HELD] = {0}, p[HELD] = {0};
	CHECK_OK(lfx_open(&f, 1));
	CHECK_OK(lfx_add(&f, base, AREAS * 512));
	for (unsigned round = 0; round < ROUNDS; round++) {
		for (unsigned i = 0; i < HELD; i++)
			CHECK_OK(lfx_alloc(&f, 512, 9, &p[i]));
		if (round == 0)
			memcpy(first, p, sizeof(first));
		unsigned same = 0;
		for (unsigned i = 0; i < HELD; i++)
			for (unsigned j = 0; j < HELD; j++)
				same += p[i] == first[j];
		CHECK_EQ(same, HELD);
		for (unsigned i = 0; i < HELD; i++)
			CHECK_OK(lfx_free(&f, p[i], 512));
	}
	uint64_t s0, s1;
	CHECK_OK(lfx_alloc(&f, 4 * 512, 9, &s0));
	CHECK_OK(lfx_free(&f, s0, 4 * 512));
	CHECK_OK(lfx_alloc(&f, 4 * 512, 9, &s1));
	CHECK_EQ(s1, s0);
	CHECK_OK(lfx_free(&f, s1, 4 * 512));
	struct fk_alloc_stats s = lfx_stats(&f);
	CHECK_EQ(s.free_frames, AREAS * 512);
	CHECK_EQ(s.free_blocks[9], AREAS);
	lfx_close(&f);
}

int main(int argc, char **argv)
{
	fk_test_args(argc, argv);
	RUN(two_frames_from_two_cpus_leave_an_order9_block_after_drain);
	RUN(two_frames_from_two_cpus_leave_an_order9_block_without_drain);
	RUN(small_refill_prefers_partly_used_area);
	RUN(huge_rounds_freed_in_order_reuse_their_areas);
	return fk_test_finish();
}
