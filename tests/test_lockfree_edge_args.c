/*
 * Issue 18, defects 4 and 5: the lockfree allocator's own checks of counts
 * and ranges at the edges of the 64-bit address space, through its ops
 * table (the shared check in front of every allocator is
 * tests/test_alloc_ops_checked.c). A frame count whose bytes do not fit in
 * 64 bits is a bad argument, not an allocation of nothing; an added range
 * whose bytes wrap past 2^64 is refused, not turned into paddr 0 twice.
 */
#include "test_lockfree_fix.h"

#define BASE 0x40000ull

static void an_allocation_of_a_count_beyond_the_address_space_is_refused(void)
{
	struct lfx f;
	uint64_t p = 12345;
	const uint64_t bad[] = {UINT64_MAX, UINT64_MAX - 510, UINT64_MAX - 511,
	                        (UINT64_MAX >> FK_PAGE_SHIFT) + 1, 1ull << 63};
	CHECK_OK(lfx_open(&f, 1));
	CHECK_OK(lfx_add(&f, BASE, 1024));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		for (unsigned align = 0; align <= 10; align += 5)
			CHECK_ERR(lfx_alloc(&f, bad[i], align, &p), FK_EINVAL);
	}
	/* The largest count whose bytes fit is valid: no room for it. */
	CHECK_ERR(lfx_alloc(&f, UINT64_MAX >> FK_PAGE_SHIFT, 0, &p), FK_ENOMEM);
	/* Nothing was handed out: the whole memory is still there. */
	CHECK_EQ(lfx_stats(&f).free_frames, 1024);
	CHECK_OK(lfx_alloc(&f, 1024, 0, &p));
	CHECK_EQ(p, BASE);
	CHECK_OK(lfx_free(&f, p, 1024));
	lfx_close(&f);
}

static void adding_a_range_whose_bytes_wrap_past_2_64_is_refused(void)
{
	struct lfx f;
	const uint64_t top = UINT64_MAX >> FK_PAGE_SHIFT; /* frames that fit: pfn < top */
	CHECK_OK(lfx_open(&f, 1));
	/* Frame numbers that do not wrap, bytes that do. */
	CHECK_ERR(lfx_add(&f, top - 3, 8), FK_EINVAL);
	CHECK_ERR(lfx_add(&f, top - 3, 4), FK_EINVAL); /* ends at 2^64 exactly */
	CHECK_ERR(lfx_add(&f, top, 1), FK_EINVAL);
	CHECK_ERR(f.ops->add_free_memory(f.st, UINT64_MAX & ~(uint64_t)(FK_PAGE_SIZE - 1), 1, 0),
	          FK_EINVAL);
	CHECK_EQ(lfx_stats(&f).total_frames, 0);
	/* The last frames below the top are valid (end = 2^64 - 4 KiB). */
	CHECK_OK(lfx_add(&f, top - 3, 3));
	uint64_t p[3], q;
	for (int i = 0; i < 3; i++) {
		CHECK_OK(lfx_alloc(&f, 1, 0, &p[i]));
		CHECK(p[i] >= top - 3 && p[i] < top);
	}
	CHECK(p[0] != p[1] && p[1] != p[2] && p[0] != p[2]);
	CHECK_ERR(lfx_alloc(&f, 1, 0, &q), FK_ENOMEM);
	for (int i = 0; i < 3; i++)
		CHECK_OK(lfx_free(&f, p[i], 1));
	lfx_close(&f);
}

int main(int argc, char **argv)
{
	fk_test_args(argc, argv);
	RUN(an_allocation_of_a_count_beyond_the_address_space_is_refused);
	RUN(adding_a_range_whose_bytes_wrap_past_2_64_is_refused);
	return fk_test_finish();
}
