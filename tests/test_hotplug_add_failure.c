/* SPDX-License-Identifier: MIT */
/*
 * A region the allocator refuses is never left published (issue 8,
 * defect 11, core part).
 *
 * fk_mem_add_region publishes the region, then gives its frames to the
 * allocator. When add_free_memory failed and unpublishing needed memory
 * that was not there, the old code kept the region published and turned it
 * unmanaged with a plain write to its flags, racing every reader. The
 * region is now unpublished by re-publishing the previous table, which
 * needs no allocation, so no field of a published region is ever written.
 * Here an allocator (simple, wrapped) refuses add_free_memory while other
 * threads look frames up by address: the add fails with the allocator's
 * error, the region is not reachable, the totals are unchanged, and the
 * same range can be added once the allocator accepts it.
 */
#include <pthread.h>
#include <stdatomic.h>

#include "fk_test.h"

#define R_BASE 0x500000000ull

static const struct fk_allocator_ops *simple;
static struct fk_allocator_ops refusing;
static atomic_int refuse;
static atomic_int stop;
static fk_mem *mem;

static int refusing_add(void *state, uint64_t paddr, uint64_t nframes, int node)
{
	if (atomic_load(&refuse))
		return FK_ENOMEM;
	return simple->add_free_memory(state, paddr, nframes, node);
}

static void *reader(void *arg)
{
	(void)arg;
	fk_thread_enter(mem);
	while (!atomic_load(&stop)) {
		uint64_t rc;
		fk_frame f;
		(void)fk_mem_refcount_at(mem, R_BASE, &rc);
		if (fk_frame_from_in_use(mem, R_BASE, &f) == 0)
			fk_frame_drop(mem, &f);
		(void)fk_mem_total_frames(mem);
	}
	fk_thread_leave(mem);
	return NULL;
}

static void region_refused_by_the_allocator_is_never_left_published(void)
{
	simple = fk_allocator_find("simple");
	CHECK(simple);
	refusing = *simple;
	refusing.name = "refusing-simple";
	refusing.add_free_memory = refusing_add;
	struct fk_mem_config cfg = {0};
	cfg.nr_nodes = 1;
	cfg.allocator_ops = &refusing;
	fk_variant_apply(&cfg, fk_test_variant);
	CHECK_OK(fk_mem_create(&cfg, &mem));
	fk_thread_enter(mem);
	atomic_store(&stop, 0);
	pthread_t th;
	pthread_create(&th, NULL, reader, NULL);
	struct fk_region_config rc = {.base = R_BASE, .nframes = 64, .node = 0};
	uint64_t v;
	atomic_store(&refuse, 1);
	for (int i = 0; i < 200; i++) {
		CHECK_ERR(fk_mem_add_region(mem, &rc), FK_ENOMEM);
		CHECK_ERR(fk_mem_refcount_at(mem, R_BASE, &v), FK_EOUTOFBOUND);
		CHECK_EQ(fk_mem_total_frames(mem), 0);
		CHECK_EQ(fk_mem_managed_frames(mem), 0);
	}
	atomic_store(&refuse, 0);
	CHECK_OK(fk_mem_add_region(mem, &rc));
	CHECK_EQ(fk_mem_total_frames(mem), 64);
	fk_frame f;
	CHECK_OK(fk_alloc_frame(mem, NULL, NULL, NULL, 0, &f));
	CHECK_OK(fk_frame_drop(mem, &f));
	atomic_store(&stop, 1);
	pthread_join(th, NULL);
	CHECK_OK(fk_mem_remove_region(mem, R_BASE));
	fk_thread_leave(mem);
	CHECK_OK(fk_mem_destroy(mem, NULL));
}

int main(int argc, char **argv)
{
	fk_test_args(argc, argv);
	RUN(region_refused_by_the_allocator_is_never_left_published);
	return fk_test_finish();
}
