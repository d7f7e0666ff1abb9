/* SPDX-License-Identifier: MIT */
/* Frame and unique-frame handles: every success path and every error path. */
#include <pthread.h>

#include "fk_test.h"
#include "mem_internal.h" /* to force refcounts near FK_REF_MAX */

struct counted {
	uint64_t magic;
	uint64_t paddr;
};

static int drops;
static uint64_t last_dropped;

static void counted_on_drop(void *meta, uint64_t paddr, void *ctx)
{
	struct counted *c = meta;
	(void)ctx;
	if (c->magic == 0xC0FFEE && c->paddr == paddr)
		drops++;
	last_dropped = paddr;
}

static const struct fk_meta_type counted_type = {
    .name = "counted", .size = sizeof(struct counted), .on_drop = counted_on_drop};
static const struct fk_meta_type other_type = {.name = "other", .size = 8};
static const struct fk_meta_type huge_type = {.name = "huge", .size = FK_META_MAX_SIZE + 1};

static int counted_init(void *meta, uint64_t paddr, void *ctx)
{
	struct counted *c = meta;
	(void)ctx;
	c->magic = 0xC0FFEE;
	c->paddr = paddr;
	return 0;
}

static int failing_init(void *meta, uint64_t paddr, void *ctx)
{
	(void)meta;
	(void)paddr;
	(void)ctx;
	return FK_ENOMEM;
}

static void frame_from_unused_publishes_refcount_one(void)
{
	fk_mem *mem = fix_create("simple", 1);
	fk_frame f;
	CHECK(mem);
	CHECK_OK(fk_frame_from_unused(mem, FIX_U_BASE, &counted_type, counted_init, 0, &f));
	CHECK_EQ(fk_frame_refcount(&f), 1);
	CHECK_EQ(fk_frame_paddr(&f), FIX_U_BASE);
	CHECK(fk_frame_meta_type(&f) == &counted_type);
	CHECK_EQ(((const struct counted *)fk_frame_meta(&f))->paddr, FIX_U_BASE);
	CHECK_OK(fk_frame_drop(mem, &f));
	CHECK_EQ(rc_at(mem, FIX_U_BASE), FK_REF_UNUSED);
	CHECK_OK(fix_destroy(mem));
}

static void frame_from_unused_rejects_bad_addresses_and_states(void)
{
	fk_mem *mem = fix_create("simple", 1);
	fk_frame f, g;
	fk_unique_frame u;
	CHECK(mem);
	CHECK_ERR(fk_frame_from_unused(mem, FIX_U_BASE + 1, 0, 0, 0, &f), FK_ENOTALIGNED);
	CHECK_ERR(fk_frame_from_unused(mem, 0, 0, 0, 0, &f), FK_EOUTOFBOUND);
	CHECK_ERR(fk_frame_from_unused(mem, FIX_U_BASE + FIX_U_FRAMES * PG, 0, 0, 0, &f),
	          FK_EOUTOFBOUND);
	CHECK_ERR(fk_frame_from_unused(mem, UINT64_MAX & ~(PG - 1), 0, 0, 0, &f), FK_EOUTOFBOUND);
	CHECK_ERR(fk_frame_from_unused(mem, FIX_M_BASE, 0, 0, 0, &f), FK_EMANAGED);
	CHECK_ERR(fk_frame_from_unused(mem, FIX_U_BASE, &huge_type, 0, 0, &f), FK_EINVAL);
	CHECK_ERR(fk_frame_from_unused(mem, FIX_U_BASE, 0, 0, 0, 0), FK_EINVAL);
	CHECK_ERR(fk_frame_from_unused(0, FIX_U_BASE, 0, 0, 0, &f), FK_EINVAL);
	CHECK_OK(fk_frame_from_unused(mem, FIX_U_BASE, 0, 0, 0, &f));
	CHECK_ERR(fk_frame_from_unused(mem, FIX_U_BASE, 0, 0, 0, &g), FK_EINUSE);
	CHECK_OK(fk_unique_frame_from_unused(mem, FIX_U_BASE + PG, 0, 0, 0, &u));
	CHECK_ERR(fk_frame_from_unused(mem, FIX_U_BASE + PG, 0, 0, 0, &g), FK_EUNIQUE);
	CHECK_EQ(fk_frame_refcount(&f), 1);
	CHECK_OK(fk_frame_drop(mem, &f));
	CHECK_OK(fk_unique_frame_drop(mem, &u));
	CHECK_OK(fix_destroy(mem));
}

static void frame_init_failure_leaves_frame_unused_without_on_drop(void)
{
	fk_mem *mem = fix_create("simple", 1);
	fk_frame f;
	CHECK(mem);
	drops = 0;
	CHECK_ERR(fk_frame_from_unused(mem, FIX_U_BASE, &counted_type, failing_init, 0, &f),
	          FK_ENOMEM);
	CHECK_EQ(rc_at(mem, FIX_U_BASE), FK_REF_UNUSED);
	CHECK_EQ(drops, 0);
	CHECK_OK(fix_destroy(mem));
}

static void frame_from_in_use_takes_a_reference_only_on_shared_frames(void)
{
	fk_mem *mem = fix_create("simple", 1);
	fk_frame f, g, h;
	fk_unique_frame u;
	CHECK(mem);
	CHECK_ERR(fk_frame_from_in_use(mem, FIX_U_BASE, &g), FK_EUNUSED);
	CHECK_ERR(fk_frame_from_in_use(mem, FIX_U_BASE + 3, &g), FK_ENOTALIGNED);
	CHECK_ERR(fk_frame_from_in_use(mem, 0x1000, &g), FK_EOUTOFBOUND);
	CHECK_OK(fk_frame_from_unused(mem, FIX_U_BASE, &counted_type, counted_init, 0, &f));
	CHECK_OK(fk_frame_from_in_use(mem, FIX_U_BASE, &g));
	CHECK_EQ(fk_frame_refcount(&f), 2);
	CHECK(fk_frame_meta(&g) == fk_frame_meta(&f));
	CHECK_OK(fk_unique_frame_from_unused(mem, FIX_U_BASE + PG, 0, 0, 0, &u));
	CHECK_ERR(fk_frame_from_in_use(mem, FIX_U_BASE + PG, &h), FK_EUNIQUE);
	/* A busy (count 0) slot is never revived. */
	struct fk_meta_slot *s = fk_region_slot(f.region, FIX_U_BASE + 2 * PG);
	atomic_store(&s->refcount, 0);
	CHECK_ERR(fk_frame_from_in_use(mem, FIX_U_BASE + 2 * PG, &h), FK_EBUSY);
	CHECK_EQ(rc_at(mem, FIX_U_BASE + 2 * PG), 0);
	atomic_store(&s->refcount, FK_REF_UNUSED);
	CHECK_OK(fk_frame_drop(mem, &g));
	CHECK_OK(fk_frame_drop(mem, &f));
	CHECK_OK(fk_unique_frame_drop(mem, &u));
	CHECK_OK(fix_destroy(mem));
}

static void frame_clone_and_drop_count_references_and_last_drop_runs_on_drop(void)
{
	fk_mem *mem = fix_create("simple", 1);
	fk_frame f, c1, c2;
	CHECK(mem);
	drops = 0;
	CHECK_OK(fk_frame_from_unused(mem, FIX_U_BASE, &counted_type, counted_init, 0, &f));
	CHECK_OK(fk_frame_clone(mem, &f, &c1));
	CHECK_OK(fk_frame_clone(mem, &c1, &c2));
	CHECK_EQ(fk_frame_refcount(&f), 3);
	CHECK_OK(fk_frame_drop(mem, &c1));
	CHECK(c1.region == 0);
	CHECK_EQ(fk_frame_refcount(&f), 2);
	CHECK_OK(fk_frame_drop(mem, &f));
	CHECK_EQ(drops, 0);
	CHECK_OK(fk_frame_drop(mem, &c2));
	CHECK_EQ(drops, 1);
	CHECK_EQ(last_dropped, FIX_U_BASE);
	CHECK_EQ(rc_at(mem, FIX_U_BASE), FK_REF_UNUSED);
	CHECK_OK(fix_destroy(mem));
}

static void frame_double_drop_is_reported_and_never_corrupts(void)
{
	fk_mem *mem = fix_create("simple", 1);
	fk_frame f, stale, g;
	CHECK(mem);
	CHECK_OK(fk_frame_from_unused(mem, FIX_U_BASE, 0, 0, 0, &f));
	stale = f;
	CHECK_OK(fk_frame_drop(mem, &f));
	/* The consumed handle is cleared. */
	CHECK_ERR(fk_frame_drop(mem, &f), FK_EINVAL);
	/* A stale copy is caught as refcount underflow; count stays UNUSED. */
	CHECK_ERR(fk_frame_drop(mem, &stale), FK_EUNUSED);
	CHECK_ERR(fk_frame_clone(mem, &stale, &g), FK_EUNUSED);
	CHECK_EQ(rc_at(mem, FIX_U_BASE), FK_REF_UNUSED);
	/* The frame is still claimable. */
	CHECK_OK(fk_frame_from_unused(mem, FIX_U_BASE, 0, 0, 0, &f));
	CHECK_OK(fk_frame_drop(mem, &f));
	CHECK_OK(fix_destroy(mem));
}

static void frame_refcount_overflow_is_an_error_with_state_unchanged(void)
{
	fk_mem *mem = fix_create("simple", 1);
	fk_frame f, g;
	CHECK(mem);
	CHECK_OK(fk_frame_from_unused(mem, FIX_U_BASE, 0, 0, 0, &f));
	struct fk_meta_slot *s = fk_region_slot(f.region, FIX_U_BASE);
	atomic_store(&s->refcount, FK_REF_MAX - 1);
	CHECK_OK(fk_frame_clone(mem, &f, &g)); /* reaches exactly FK_REF_MAX */
	CHECK_EQ(fk_frame_refcount(&f), FK_REF_MAX);
	CHECK_ERR(fk_frame_clone(mem, &f, &g), FK_EOVERFLOW);
	CHECK_ERR(fk_frame_from_in_use(mem, FIX_U_BASE, &g), FK_EOVERFLOW);
	CHECK_EQ(fk_frame_refcount(&f), FK_REF_MAX);
	atomic_store(&s->refcount, 1);
	CHECK_OK(fk_frame_drop(mem, &f));
	CHECK_OK(fix_destroy(mem));
}

static void frame_meta_as_rejects_other_types(void)
{
	fk_mem *mem = fix_create("simple", 1);
	fk_frame f;
	const void *m = 0;
	CHECK(mem);
	CHECK_OK(fk_frame_from_unused(mem, FIX_U_BASE, &counted_type, counted_init, 0, &f));
	CHECK_OK(fk_frame_meta_as(&f, &counted_type, &m));
	CHECK(m == fk_frame_meta(&f));
	CHECK_ERR(fk_frame_meta_as(&f, &other_type, &m), FK_ETYPE);
	CHECK_ERR(fk_frame_meta_as(&f, &fk_meta_untyped, &m), FK_ETYPE);
	CHECK_OK(fk_frame_drop(mem, &f));
	CHECK_OK(fk_frame_from_unused(mem, FIX_U_BASE, 0, 0, 0, &f));
	CHECK(fk_frame_meta_type(&f) == &fk_meta_untyped);
	CHECK_OK(fk_frame_drop(mem, &f));
	CHECK_OK(fix_destroy(mem));
}

static void unique_frame_states_claim_share_and_try_unique(void)
{
	fk_mem *mem = fix_create("simple", 1);
	fk_unique_frame u, u2;
	fk_frame f, g;
	CHECK(mem);
	drops = 0;
	CHECK_OK(fk_unique_frame_from_unused(mem, FIX_U_BASE, &counted_type, counted_init, 0, &u));
	CHECK_EQ(rc_at(mem, FIX_U_BASE), FK_REF_UNIQUE);
	((struct counted *)fk_unique_frame_meta(&u))->paddr = FIX_U_BASE; /* mutable */
	CHECK_OK(fk_unique_frame_into_shared(mem, &u, &f));
	CHECK(u.region == 0);
	CHECK_EQ(fk_frame_refcount(&f), 1);
	CHECK_OK(fk_frame_clone(mem, &f, &g));
	CHECK_ERR(fk_frame_try_into_unique(mem, &f, &u2), FK_EINUSE);
	CHECK_EQ(fk_frame_refcount(&f), 2);
	CHECK_OK(fk_frame_drop(mem, &g));
	CHECK_OK(fk_frame_try_into_unique(mem, &f, &u2));
	CHECK(f.region == 0);
	CHECK_EQ(rc_at(mem, FIX_U_BASE), FK_REF_UNIQUE);
	fk_unique_frame stale = u2;
	CHECK_OK(fk_unique_frame_drop(mem, &u2));
	CHECK_EQ(drops, 1);
	CHECK_EQ(rc_at(mem, FIX_U_BASE), FK_REF_UNUSED);
	CHECK_ERR(fk_unique_frame_drop(mem, &stale), FK_EUNUSED);
	CHECK_ERR(fk_unique_frame_into_shared(mem, &stale, &f), FK_EUNUSED);
	CHECK_OK(fix_destroy(mem));
}

static void frame_raw_round_trip_and_forged_from_raw(void)
{
	fk_mem *mem = fix_create("simple", 1);
	fk_frame f, g;
	uint64_t pa, raw;
	CHECK(mem);
	CHECK_OK(fk_frame_from_unused(mem, FIX_U_BASE, 0, 0, 0, &f));
	CHECK_ERR(fk_frame_from_raw(mem, FIX_U_BASE, &g), FK_ENOTRAW);
	CHECK_ERR(fk_frame_from_raw(mem, FIX_U_BASE + PG, &g), FK_ENOTRAW); /* unused */
	CHECK_OK(fk_frame_into_raw(mem, &f, &pa));
	CHECK_EQ(pa, FIX_U_BASE);
	CHECK(f.region == 0);
	CHECK_OK(fk_mem_raw_count_at(mem, pa, &raw));
	CHECK_EQ(raw, 1);
	CHECK_EQ(rc_at(mem, pa), 1);
	CHECK_OK(fk_frame_from_raw(mem, pa, &g));
	CHECK_OK(fk_mem_raw_count_at(mem, pa, &raw));
	CHECK_EQ(raw, 0);
	/* The raw count never goes negative. */
	CHECK_ERR(fk_frame_from_raw(mem, pa, &f), FK_ENOTRAW);
	CHECK_OK(fk_mem_raw_count_at(mem, pa, &raw));
	CHECK_EQ(raw, 0);
	CHECK_OK(fk_frame_drop(mem, &g));
	CHECK_OK(fix_destroy(mem));
}

static void frame_raw_without_tracking_still_rejects_unused_frames(void)
{
	fk_mem *mem = fix_create("simple", 0);
	fk_frame f, g;
	uint64_t pa;
	CHECK(mem);
	CHECK(!fk_mem_raw_tracking(mem));
	CHECK_ERR(fk_frame_from_raw(mem, FIX_U_BASE, &g), FK_ENOTRAW);
	CHECK_OK(fk_frame_from_unused(mem, FIX_U_BASE, 0, 0, 0, &f));
	CHECK_OK(fk_frame_into_raw(mem, &f, &pa));
	CHECK_OK(fk_frame_from_raw(mem, pa, &g));
	CHECK_OK(fk_frame_drop(mem, &g));
	CHECK_OK(fix_destroy(mem));
}

static void frame_alloc_and_last_drop_return_the_frame_to_the_allocator(void)
{
	const char *names[8];
	size_t n = fk_allocator_names(names, 8);
	CHECK(n >= 1);
	for (size_t i = 0; i < n; i++) {
		fk_mem *mem = fix_create(names[i], 1);
		struct fk_alloc_stats st0, st1;
		fk_frame f, g;
		CHECK(mem);
		fk_mem_alloc_drain(mem);
		CHECK_OK(fk_mem_alloc_stats(mem, -1, &st0));
		CHECK_EQ(st0.total_frames, FIX_M_FRAMES);
		CHECK_OK(fk_alloc_frame(mem, &counted_type, counted_init, 0, FK_ALLOC_ZEROED, &f));
		CHECK(fk_frame_paddr(&f) >= FIX_M_BASE);
		CHECK_ERR(fk_frame_from_unused(mem, fk_frame_paddr(&f), 0, 0, 0, &g), FK_EMANAGED);
		CHECK_OK(fk_frame_clone(mem, &f, &g));
		CHECK_OK(fk_frame_drop(mem, &f));
		CHECK_OK(fk_frame_drop(mem, &g));
		fk_mem_alloc_drain(mem);
		CHECK_OK(fk_mem_alloc_stats(mem, -1, &st1));
		CHECK_EQ(st1.free_frames, st0.free_frames);
		CHECK_OK(fix_destroy(mem));
	}
}

static void *unregistered_thread(void *arg)
{
	fk_mem *mem = arg;
	fk_frame f;
	static int result;
	result = fk_frame_from_in_use(mem, FIX_U_BASE, &f) == FK_EINVAL &&
	         fk_alloc_frame(mem, 0, 0, 0, 0, &f) == FK_EINVAL;
	return &result;
}

static void calls_from_unregistered_threads_are_refused(void)
{
	fk_mem *mem = fix_create("simple", 1);
	pthread_t t;
	void *res;
	CHECK(mem);
	CHECK(pthread_create(&t, 0, unregistered_thread, mem) == 0);
	pthread_join(t, &res);
	CHECK(*(int *)res == 1);
	CHECK_OK(fix_destroy(mem));
}

static void strerror_names_every_code(void)
{
	for (int e = 0; e >= FK_ERANGE_LAST; e--) {
		CHECK(strcmp(fk_strerror(e), "unknown error") != 0);
		CHECK(strncmp(fk_strerror_name(e), "FK_", 3) == 0);
	}
	CHECK(strcmp(fk_strerror(-1000), "unknown error") == 0);
	CHECK(strcmp(fk_strerror(5), "unknown error") == 0);
}

int main(int argc, char **argv)
{
	fk_test_args(argc, argv);
	RUN(frame_from_unused_publishes_refcount_one);
	RUN(frame_from_unused_rejects_bad_addresses_and_states);
	RUN(frame_init_failure_leaves_frame_unused_without_on_drop);
	RUN(frame_from_in_use_takes_a_reference_only_on_shared_frames);
	RUN(frame_clone_and_drop_count_references_and_last_drop_runs_on_drop);
	RUN(frame_double_drop_is_reported_and_never_corrupts);
	RUN(frame_refcount_overflow_is_an_error_with_state_unchanged);
	RUN(frame_meta_as_rejects_other_types);
	RUN(unique_frame_states_claim_share_and_try_unique);
	RUN(frame_raw_round_trip_and_forged_from_raw);
	RUN(frame_raw_without_tracking_still_rejects_unused_frames);
	RUN(frame_alloc_and_last_drop_return_the_frame_to_the_allocator);
	RUN(calls_from_unregistered_threads_are_refused);
	RUN(strerror_names_every_code);
	return fk_test_finish();
}
