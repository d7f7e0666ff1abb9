/* SPDX-License-Identifier: MIT */
/*
 * Callbacks may call back into the library (issue 8, defect 2).
 *
 * init and on_drop run inside an RCU read section; a function that blocks
 * on the hot-plug lock there deadlocks against fk_mem_remove_region, which
 * holds that lock while it waits for a grace period. Before the fix,
 * fk_mem_total_frames / fk_mem_managed_frames took the lock and hung
 * forever. Here init and on_drop call every public query while another
 * thread adds and removes regions; a watchdog (alarm) turns a deadlock
 * into a failure instead of a hung CTest. Hot-plug itself from a callback
 * is refused with FK_EBUSY (documented in mem.h).
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#include "fk_test.h"

#define HP_BASE  0x300000000ull
#define HP_BASE2 0x380000000ull
#define RUN_NSEC 200000000L

static fk_mem *mem;
static atomic_int stop;
static atomic_long cb_calls, cb_errors, plugs;

/* Every public query, plus the refused hot-plug calls. */
static void call_queries(uint64_t paddr)
{
	uint64_t v;
	struct fk_alloc_stats st;
	struct fk_leak_report rep;
	const char *names[8];
	int bad = 0;
	bad |= fk_mem_total_frames(mem) < FIX_M_FRAMES;
	bad |= fk_mem_managed_frames(mem) < FIX_M_FRAMES;
	bad |= fk_mem_nr_nodes(mem) != 1;
	bad |= fk_mem_raw_tracking(mem) != 1;
	bad |= fk_mem_allocator_name(mem) == NULL;
	bad |= fk_mem_current_node(mem) != 0;
	bad |= fk_mem_refcount_at(mem, paddr, &v) != 0;
	bad |= fk_mem_raw_count_at(mem, paddr, &v) != 0;
	bad |= fk_mem_refcount_at(mem, HP_BASE, &v) > 0; /* hot-plugged: 0 or an error */
	bad |= fk_mem_alloc_stats(mem, -1, &st) != 0;
	fk_mem_leak_report(mem, &rep);
	bad |= fk_allocator_names(names, 8) == 0;
	bad |= fk_allocator_find("simple") == NULL;
	struct fk_region_config rc = {
	    .base = HP_BASE2, .nframes = 4, .node = 0, .flags = FK_REGION_UNMANAGED};
	bad |= fk_mem_add_region(mem, &rc) != FK_EBUSY;
	bad |= fk_mem_remove_region(mem, FIX_U_BASE) != FK_EBUSY;
	atomic_fetch_add(&cb_calls, 1);
	if (bad)
		atomic_fetch_add(&cb_errors, 1);
}

static int init_queries(void *meta, uint64_t paddr, void *ctx)
{
	(void)meta;
	(void)ctx;
	call_queries(paddr);
	return 0;
}

static void on_drop_queries(void *meta, uint64_t paddr, void *ctx)
{
	(void)meta;
	(void)ctx;
	call_queries(paddr);
}

static const struct fk_meta_type type_q = {.name = "q", .size = 8, .on_drop = on_drop_queries};

static void *hotplugger(void *arg)
{
	(void)arg;
	struct fk_region_config u = {
	    .base = HP_BASE, .nframes = 64, .node = 0, .flags = FK_REGION_UNMANAGED};
	fk_thread_enter(mem);
	while (!atomic_load(&stop)) {
		if (fk_mem_add_region(mem, &u) || fk_mem_remove_region(mem, HP_BASE)) {
			atomic_fetch_add(&cb_errors, 1);
			break;
		}
		atomic_fetch_add(&plugs, 1);
	}
	fk_thread_leave(mem);
	return NULL;
}

static void on_alarm(int sig)
{
	(void)sig;
	static const char msg[] = "FAIL: deadlock (watchdog fired)\n";
	ssize_t n = write(2, msg, sizeof(msg) - 1);
	(void)n;
	_exit(1);
}

static void callbacks_may_call_every_query_while_regions_are_hot_plugged(void)
{
	static const char *const allocators[] = {"simple", "buddy-pcp", "lockfree"};
	for (size_t a = 0; a < sizeof(allocators) / sizeof(allocators[0]); a++) {
		mem = fix_create(allocators[a], 1);
		CHECK(mem);
		atomic_store(&stop, 0);
		atomic_store(&plugs, 0);
		pthread_t th;
		pthread_create(&th, NULL, hotplugger, NULL);
		struct timespec t0, t;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		long n = 0;
		alarm(20);
		do {
			fk_frame f;
			fk_segment s;
			if (fk_alloc_frame(mem, &type_q, init_queries, NULL, 0, &f) == 0)
				fk_frame_drop(mem, &f);
			if (fk_segment_from_unused(mem, FIX_U_BASE, FIX_U_BASE + 2 * PG, &type_q,
			                           init_queries, NULL, &s) == 0)
				fk_segment_drop(mem, &s);
			n++;
			clock_gettime(CLOCK_MONOTONIC, &t);
		} while ((t.tv_sec - t0.tv_sec) * 1000000000L + (t.tv_nsec - t0.tv_nsec) <
		             RUN_NSEC ||
		         atomic_load(&plugs) < 20);
		atomic_store(&stop, 1);
		pthread_join(th, NULL);
		alarm(0);
		printf("  %-10s %ld rounds, %ld callbacks, %ld hot-plug cycles\n", allocators[a], n,
		       atomic_load(&cb_calls), atomic_load(&plugs));
		CHECK_EQ(fix_destroy(mem), 0);
		CHECK_EQ(atomic_load(&cb_errors), 0);
	}
}

int main(int argc, char **argv)
{
	fk_test_args(argc, argv);
	signal(SIGALRM, on_alarm);
	RUN(callbacks_may_call_every_query_while_regions_are_hot_plugged);
	return fk_test_finish();
}
