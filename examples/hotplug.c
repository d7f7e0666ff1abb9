/* SPDX-License-Identifier: MIT */
/*
 * Region hot-plug while another thread looks frames up by address.
 *
 * A reader thread keeps taking and dropping references to a frame of the
 * boot region by address (fk_frame_from_in_use). Meanwhile the main thread
 * hot-adds a managed region on node 1 and an unmanaged one, uses frames of
 * both, shows that a region with a frame in use cannot be removed
 * (FK_EINUSE), and removes both once their frames are dropped. The reader's
 * lookups never fail: removal only unpublishes the region after an RCU
 * grace period.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include <framekit/framekit.h>

#define CHECK(call)                                                                                \
	do {                                                                                       \
		int err_ = (call);                                                                 \
		if (err_ < 0) {                                                                    \
			fprintf(stderr, "%s: %s\n", #call, fk_strerror_name(err_));                \
			exit(1);                                                                   \
		}                                                                                  \
	} while (0)
#define EXPECT(cond)                                                                               \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: expected %s\n", __FILE__, __LINE__, #cond);        \
			exit(1);                                                                   \
		}                                                                                  \
	} while (0)

struct reader {
	fk_mem *mem;
	uint64_t paddr; /* a frame the main thread keeps in use */
	atomic_int stop;
	atomic_uint_fast64_t lookups;
	uint64_t failures;
};

static void *reader_main(void *arg)
{
	struct reader *r = arg;
	if (fk_thread_enter(r->mem) != 0) /* every thread registers first */
		abort();
	/* Acquire: pairs with the release store that ends the run. */
	while (!atomic_load_explicit(&r->stop, memory_order_acquire)) {
		fk_frame f;
		if (fk_frame_from_in_use(r->mem, r->paddr, &f) == 0 &&
		    fk_frame_drop(r->mem, &f) == 0)
			atomic_fetch_add_explicit(&r->lookups, 1,
			                          memory_order_relaxed); /* a counter */
		else
			r->failures++;
	}
	fk_thread_leave(r->mem);
	return NULL;
}

int main(void)
{
	const uint64_t GiB = 1ull << 30;
	struct fk_region_config boot = {.base = 1 * GiB, .nframes = 1024, .node = 0};
	struct fk_mem_config cfg = {.regions = &boot, .nr_regions = 1, .nr_nodes = 2};
	fk_mem *mem;
	CHECK(fk_mem_create(&cfg, &mem));
	CHECK(fk_thread_enter(mem));

	fk_frame held;
	CHECK(fk_alloc_frame(mem, NULL, NULL, NULL, 0, &held));
	struct reader rd = {.mem = mem, .paddr = fk_frame_paddr(&held)};
	pthread_t th;
	EXPECT(pthread_create(&th, NULL, reader_main, &rd) == 0);
	while (atomic_load_explicit(&rd.lookups, memory_order_relaxed) == 0)
		sched_yield(); /* let the reader start */

	/* A managed region: its frames go to the allocator, on node 1. */
	struct fk_region_config hot = {.base = 4 * GiB, .nframes = 512, .node = 1};
	/* An unmanaged region: frames are claimed directly by address. */
	struct fk_region_config dev = {
	    .base = 8 * GiB, .nframes = 64, .node = 0, .flags = FK_REGION_UNMANAGED};
	for (int round = 0; round < 50; round++) {
		CHECK(fk_mem_add_region(mem, &hot));
		CHECK(fk_mem_add_region(mem, &dev));
		EXPECT(fk_mem_add_region(mem, &dev) == FK_EEXIST);

		fk_segment a, b;
		CHECK(fk_alloc_segment(mem, 32, NULL, NULL, NULL,
		                       FK_ALLOC_NODE(1) | FK_ALLOC_NODE_STRICT, &a));
		EXPECT(fk_segment_start_paddr(&a) >= hot.base);
		CHECK(fk_segment_from_unused(mem, dev.base, dev.base + 16 * FK_PAGE_SIZE, NULL,
		                             NULL, NULL, &b));

		/* In use: removal is refused and changes nothing. */
		EXPECT(fk_mem_remove_region(mem, hot.base) == FK_EINUSE);
		EXPECT(fk_mem_remove_region(mem, dev.base) == FK_EINUSE);

		CHECK(fk_segment_drop(mem, &a));
		CHECK(fk_segment_drop(mem, &b));
		CHECK(fk_mem_remove_region(mem, hot.base));
		CHECK(fk_mem_remove_region(mem, dev.base));
		EXPECT(fk_mem_remove_region(mem, dev.base) == FK_ENOENT);
		fk_frame gone;
		EXPECT(fk_frame_from_in_use(mem, dev.base, &gone) == FK_EOUTOFBOUND);
	}

	/* Release: pairs with the reader's acquire load. */
	atomic_store_explicit(&rd.stop, 1, memory_order_release);
	EXPECT(pthread_join(th, NULL) == 0);
	EXPECT(rd.failures == 0);
	CHECK(fk_frame_drop(mem, &held));
	EXPECT(fk_mem_total_frames(mem) == boot.nframes);

	fk_thread_leave(mem);
	CHECK(fk_mem_destroy(mem, NULL));
	printf("hotplug: ok, 50 add/remove rounds, %llu concurrent lookups\n",
	       (unsigned long long)atomic_load(&rd.lookups));
	return 0;
}
