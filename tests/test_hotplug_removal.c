/* SPDX-License-Identifier: MIT */
/*
 * Hot-remove never disturbs allocation (issue 8, defect 1), on every
 * allocator.
 *
 * Two managed 4096-frame regions A and B on one node. One thread loops
 * fk_mem_remove_region(A) while another loops fk_alloc_frame + drop; with
 * thousands of frames free, no allocation may fail. Before the fix the core
 * marked A "offlining" before asking the allocator, which kept handing out
 * A's frames; the core set up to 8 of them aside and then reported
 * FK_ENOMEM (millions of failures in 5 s).
 *
 *  - busy: one frame of A is held, so every removal is refused (FK_EINUSE);
 *  - idle: A is idle, so removals succeed and the remover adds it back;
 *    the allocator must withdraw A without disturbing allocations from B.
 *
 * Every run ends with a conservation check: every frame is back in the
 * allocator and nothing leaked.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "fk_test.h"

#define A_BASE   0x100000000ull
#define B_BASE   0x200000000ull
#define NFRAMES  4096ull
#define RUN_NSEC 100000000L

static fk_mem *mem;
static atomic_int stop;
static atomic_long removals, removed, bad_remove;

static long elapsed_ns(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000000000L + (t.tv_nsec - t0->tv_nsec);
}

static void *remover(void *arg)
{
	int expect_busy = *(int *)arg;
	struct fk_region_config a = {.base = A_BASE, .nframes = NFRAMES, .node = 0, .flags = 0};
	fk_thread_enter(mem);
	while (!atomic_load(&stop)) {
		int rc = fk_mem_remove_region(mem, A_BASE);
		atomic_fetch_add(&removals, 1);
		if (rc == 0) {
			atomic_fetch_add(&removed, 1);
			if (expect_busy || fk_mem_add_region(mem, &a) != 0) {
				atomic_fetch_add(&bad_remove, 1);
				break;
			}
		} else if (rc != FK_EINUSE) {
			fprintf(stderr, "  remove_region(A) -> %s\n", fk_strerror_name(rc));
			atomic_fetch_add(&bad_remove, 1);
			break;
		}
	}
	fk_thread_leave(mem);
	return NULL;
}

static fk_mem *two_regions(const char *allocator)
{
	struct fk_region_config regs[2] = {
	    {.base = A_BASE, .nframes = NFRAMES, .node = 0, .flags = 0},
	    {.base = B_BASE, .nframes = NFRAMES, .node = 0, .flags = 0},
	};
	struct fk_mem_config cfg = {0};
	cfg.regions = regs;
	cfg.nr_regions = 2;
	cfg.nr_nodes = 1;
	cfg.allocator = allocator;
	fk_variant_apply(&cfg, fk_test_variant);
	fk_mem *m = 0;
	if (fk_mem_create(&cfg, &m))
		return 0;
	return m;
}

/* Hold one frame of A (allocate until one lands there). */
static int hold_frame_in_a(fk_frame *held)
{
	static fk_frame tmp[2 * NFRAMES];
	int n = 0, found = 0;
	while (n < (int)(2 * NFRAMES) && !found) {
		if (fk_alloc_frame(mem, NULL, NULL, NULL, 0, &tmp[n]))
			break;
		if (tmp[n].paddr >= A_BASE && tmp[n].paddr < A_BASE + NFRAMES * PG) {
			*held = tmp[n];
			found = 1;
		} else {
			n++;
		}
	}
	while (n-- > 0)
		fk_frame_drop(mem, &tmp[n]);
	return found;
}

static int run(const char *allocator, int busy)
{
	mem = two_regions(allocator);
	if (!mem)
		return 1;
	fk_thread_enter(mem);
	fk_frame held = {0};
	if (busy && !hold_frame_in_a(&held)) {
		fprintf(stderr, "  %s: no frame of A handed out\n", allocator);
		fk_thread_leave(mem);
		fk_mem_destroy(mem, NULL);
		return 1;
	}
	atomic_store(&stop, 0);
	atomic_store(&removals, 0);
	atomic_store(&removed, 0);
	atomic_store(&bad_remove, 0);
	pthread_t th;
	pthread_create(&th, NULL, remover, &busy);
	long ok = 0, nomem = 0, other = 0;
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (elapsed_ns(&t0) < RUN_NSEC || atomic_load(&removals) < 20) {
		fk_frame f;
		int rc = fk_alloc_frame(mem, NULL, NULL, NULL, 0, &f);
		if (rc == 0) {
			ok++;
			fk_frame_drop(mem, &f);
		} else if (rc == FK_ENOMEM) {
			nomem++;
		} else {
			other++;
		}
	}
	atomic_store(&stop, 1);
	pthread_join(th, NULL);
	if (busy)
		fk_frame_drop(mem, &held);
	/* Conservation: every frame of the context is free in the allocator. */
	struct fk_alloc_stats st;
	fk_mem_alloc_drain(mem);
	int serr = fk_mem_alloc_stats(mem, -1, &st);
	uint64_t total = fk_mem_managed_frames(mem);
	fk_thread_leave(mem);
	int leak = fk_mem_destroy(mem, NULL);
	printf("  %-12s %-14s %s: %ld allocations, %ld FK_ENOMEM, %ld other errors, %ld removal "
	       "attempts (%ld succeeded); free %llu of %llu\n",
	       allocator, fk_test_variant->name, busy ? "busy A" : "idle A", ok, nomem, other,
	       atomic_load(&removals), atomic_load(&removed), (unsigned long long)st.free_frames,
	       (unsigned long long)total);
	return nomem || other || atomic_load(&bad_remove) || serr || st.free_frames != total ||
	       total != 2 * NFRAMES || leak;
}

/* Every built-in allocator, with region A busy or idle. */
static int run_every_allocator(int busy)
{
	const char *allocators[16];
	size_t n = fk_allocator_names(allocators, 16);
	int failed = 0;
	for (size_t i = 0; i < n && i < 16; i++)
		failed |= run(allocators[i], busy);
	return failed;
}

static void allocation_never_fails_while_removal_of_a_busy_region_is_attempted(void)
{
	CHECK(!run_every_allocator(1));
}

static void allocation_never_fails_while_an_idle_region_is_removed_and_re_added(void)
{
	CHECK(!run_every_allocator(0));
}

int main(int argc, char **argv)
{
	fk_test_args(argc, argv);
	RUN(allocation_never_fails_while_removal_of_a_busy_region_is_attempted);
	RUN(allocation_never_fails_while_an_idle_region_is_removed_and_re_added);
	return fk_test_finish();
}
