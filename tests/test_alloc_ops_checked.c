/*
 * The shared validation in front of every allocator's ops (issue 18,
 * defect 5 and its follow-up; alloc_internal.h, fk_ops_*): through
 * fk_allocator_find(), every built-in allocator refuses the edges of the
 * 64-bit address space with the same codes (<framekit/allocator.h>) and
 * changes nothing; and a plug-in table called through fk_ops_* (as the
 * core calls every allocator) never sees such a call at all.
 */
#include "alloc_internal.h"
#include "fk_alloc_fix.h"

#define BASE 0x10000ull /* pfn */
#define N    1024ull

static const uint64_t TOP = UINT64_MAX >> FK_PAGE_SHIFT; /* pfn < TOP fit */

static void every_builtin_table_refuses_the_address_space_edges_and_changes_nothing(void)
{
	struct af f;
	uint64_t p = 7, pa = 7;
	CHECK_OK(af_open(&f, 1, 0, 0));
	CHECK_OK(af_add(&f, BASE, N, 0));
	/* add_free_memory: bytes that wrap past 2^64 (frame numbers do not),
	 * an end of exactly 2^64, a negative node, the usual alignment. */
	CHECK_ERR(af_add(&f, TOP - 3, 8, 0), FK_EINVAL);
	CHECK_ERR(af_add(&f, TOP - 3, 4, 0), FK_EINVAL);
	CHECK_ERR(af_add(&f, TOP, 1, 0), FK_EINVAL);
	CHECK_ERR(af_add(&f, 2 * BASE, 1, -1), FK_EINVAL);
	CHECK_ERR(af_add(&f, 2 * BASE, 0, 0), FK_EINVAL);
	CHECK_ERR(f.ops->add_free_memory(f.st, (2 * BASE << FK_PAGE_SHIFT) + 1, 1, 0),
	          FK_ENOTALIGNED);
	/* alloc: counts whose bytes do not fit, alignments of 2^64 bytes. */
	const uint64_t counts[] = {UINT64_MAX, UINT64_MAX - 510, UINT64_MAX - 511, TOP + 1,
	                           1ull << 63};
	for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++)
		CHECK_ERR(af_alloc(&f, counts[i], 0, -1, 0, &p), FK_EINVAL);
	CHECK_ERR(af_alloc(&f, 1, 64 - FK_PAGE_SHIFT, -1, 0, &p), FK_EINVAL);
	CHECK_ERR(af_alloc(&f, 1, 63, -1, 0, &p), FK_EINVAL);
	CHECK_ERR(af_alloc(&f, 0, 0, -1, 0, &p), FK_EINVAL);
	CHECK_ERR(f.ops->alloc(f.st, 1, 0, -1, 0, NULL), FK_EINVAL);
	CHECK_ERR(f.ops->alloc(f.st, UINT64_MAX, 0, -1, 0, &pa), FK_EINVAL);
	CHECK_EQ(pa, 7); /* no result written on error */
	/* dealloc and remove: ranges that wrap. */
	CHECK_ERR(af_dealloc(&f, TOP, 1), FK_EINVAL);
	CHECK_ERR(af_dealloc(&f, BASE, UINT64_MAX), FK_EINVAL);
	CHECK_ERR(af_remove(&f, TOP - 1, 2), FK_EINVAL);
	CHECK_ERR(af_remove(&f, BASE, UINT64_MAX - BASE + 1), FK_EINVAL);
	CHECK_ERR(f.ops->dealloc(f.st, (BASE << FK_PAGE_SHIFT) + 8, 1), FK_ENOTALIGNED);
	/* Nothing changed: all of it is there, once. */
	struct fk_alloc_stats s = af_stats(&f, -1);
	CHECK_EQ(s.total_frames, N);
	CHECK_EQ(s.free_frames, N);
	CHECK_OK(f.ops->alloc(f.st, N, 0, -1, 0, &pa));
	CHECK_EQ(pa, BASE << FK_PAGE_SHIFT);
	CHECK_ERR(af_alloc(&f, 1, 0, -1, 0, &p), FK_ENOMEM);
	CHECK_OK(f.ops->dealloc(f.st, pa, N));
	CHECK_OK(af_remove(&f, BASE, N));
	af_close(&f);
}

/* A plug-in that counts the calls that reach it. */
static unsigned rec_calls;

static int rec_alloc(void *st, uint64_t n, unsigned align, int node, unsigned flags, uint64_t *pa)
{
	(void)st, (void)n, (void)align, (void)node, (void)flags;
	rec_calls++;
	*pa = BASE << FK_PAGE_SHIFT;
	return 0;
}

static int rec_range(void *st, uint64_t paddr, uint64_t n)
{
	(void)st, (void)paddr, (void)n;
	rec_calls++;
	return 0;
}

static int rec_add(void *st, uint64_t paddr, uint64_t n, int node)
{
	(void)node;
	return rec_range(st, paddr, n);
}

static void a_plugin_called_through_the_shared_check_never_sees_an_edge(void)
{
	const struct fk_allocator_ops ops = {.name = "recorder",
	                                     .alloc = rec_alloc,
	                                     .dealloc = rec_range,
	                                     .add_free_memory = rec_add,
	                                     .remove_free_memory = rec_range};
	uint64_t pa = 0;
	rec_calls = 0;
	CHECK_ERR(fk_ops_add_free(&ops, NULL, (TOP - 3) << FK_PAGE_SHIFT, 8, 0), FK_EINVAL);
	CHECK_ERR(fk_ops_add_free(&ops, NULL, TOP << FK_PAGE_SHIFT, 1, 0), FK_EINVAL);
	CHECK_ERR(fk_ops_add_free(&ops, NULL, 0, 1, -1), FK_EINVAL);
	CHECK_ERR(fk_ops_add_free(&ops, NULL, 4095, 1, 0), FK_ENOTALIGNED);
	CHECK_ERR(fk_ops_alloc(&ops, NULL, UINT64_MAX, 0, -1, 0, &pa), FK_EINVAL);
	CHECK_ERR(fk_ops_alloc(&ops, NULL, TOP + 1, 0, -1, 0, &pa), FK_EINVAL);
	CHECK_ERR(fk_ops_alloc(&ops, NULL, 1, 52, -1, 0, &pa), FK_EINVAL);
	CHECK_ERR(fk_ops_alloc(&ops, NULL, 0, 0, -1, 0, &pa), FK_EINVAL);
	CHECK_ERR(fk_ops_alloc(&ops, NULL, 1, 0, -1, 0, NULL), FK_EINVAL);
	CHECK_ERR(fk_ops_dealloc(&ops, NULL, UINT64_MAX & ~4095ull, 2), FK_EINVAL);
	CHECK_ERR(fk_ops_dealloc(&ops, NULL, 0, 0), FK_EINVAL);
	CHECK_ERR(fk_ops_remove_free(&ops, NULL, 4096, UINT64_MAX >> 12), FK_EINVAL);
	CHECK_EQ(rec_calls, 0);
	/* The last valid values pass: the highest range, the largest count. */
	CHECK_OK(fk_ops_add_free(&ops, NULL, (TOP - 1) << FK_PAGE_SHIFT, 1, 0));
	CHECK_OK(fk_ops_add_free(&ops, NULL, 0, TOP, 0));
	CHECK_OK(fk_ops_alloc(&ops, NULL, TOP, 51, -1, 0, &pa));
	CHECK_OK(fk_ops_dealloc(&ops, NULL, (TOP - 1) << FK_PAGE_SHIFT, 1));
	CHECK_OK(fk_ops_remove_free(&ops, NULL, 0, TOP));
	CHECK_EQ(rec_calls, 5);
}

int main(int argc, char **argv)
{
	size_t n = af_setup(argc, argv);
	AF_RUN_ALL(every_builtin_table_refuses_the_address_space_edges_and_changes_nothing);
	RUN(a_plugin_called_through_the_shared_check_never_sees_an_edge);
	if (n < 4)
		return 1;
	return fk_test_finish();
}
