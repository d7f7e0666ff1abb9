/* SPDX-License-Identifier: MIT */
/*
 * reclaim: withdrawing free 2 MiB blocks while other threads churn order-0
 * frames, the user-space analogue of LLFree's HyperAlloc, where a
 * hypervisor takes free huge frames back from a running guest. Opt-in:
 * --family=reclaim.
 *
 *   reclaim/<allocator>/churn_held:1024
 *   Thread 0 reclaims, every other thread churns: it holds 1024 order-0
 *   frames and frees a random one and allocates its replacement, over and
 *   over. The run is 20 windows of 25 ms; in the odd ones thread 0 walks
 *   the memory's aligned 2 MiB blocks and calls the allocator's
 *   remove_free_memory on each (FK_EBUSY where a frame is held), giving
 *   the withdrawn blocks back (add_free_memory) 64 at a time; in the even
 *   ones it sleeps. (With one thread every window reclaims.)
 * Counters: reclaim_gib_s (GiB withdrawn per second spent in
 * remove_free_memory, refusals included), reclaim_wall_gib_s (per second of
 * reclaim window), remove_busy_pct (refused calls), readd_gib_s, and the
 * churn's pairs/s in both kinds of window with their ratio churn_slowdown
 * (idle rate / reclaim rate: 1.0 = reclaim costs the churn nothing). An
 * allocator that withdraws only whole added ranges ("simple") is labelled
 * and reports the churn alone (churn_pairs_s_idle: every window idles once
 * it refused). One item = one churn pair.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_common.h"

#define RECLAIM_WINDOWS   20
#define RECLAIM_WINDOW_NS 25000000ull
#define RECLAIM_OUT_MAX   64 /* blocks withdrawn at once, then given back */
#define CHURN_HELD        1024
#define CHURN_BATCH       64
#define HUGE_FRAMES       512u

enum { PH_IDLE, PH_RECLAIM, PH_STOP };

struct reclaim_shared {
	_Atomic int phase;
	_Atomic uint64_t pairs[2]; /* churn pairs begun in an idle / a reclaim window */
	uint64_t phase_ns[2];      /* thread 0: time in idle / reclaim windows */
	uint64_t remove_ns, readd_ns, removed, attempts, busy;
	int unsupported; /* remove_free_memory's error for a 2 MiB sub-range */
	int err;         /* thread 0's failure (add back), reported after */
};

static int reclaim_setup(struct bench_env *env)
{
	struct reclaim_shared *rs = calloc(1, sizeof(*rs));
	if (!rs)
		return FK_ENOMEM;
	env->shared = rs;
	return 0;
}

static int reclaim_teardown(struct bench_env *env)
{
	free(env->shared);
	env->shared = NULL;
	return 0;
}

static int give_back(struct bench_env *env, struct reclaim_shared *rs, uint64_t *out, int *nout)
{
	uint64_t t0 = bench_now_ns();
	int err = 0;
	for (int i = 0; i < *nout; i++) {
		int e = env->real_ops->add_free_memory(env->alloc_state, out[i], HUGE_FRAMES, 0);
		if (e && !err)
			err = e;
	}
	rs->readd_ns += bench_now_ns() - t0;
	*nout = 0;
	return err;
}

/* Thread 0: the windows. */
static void reclaimer(struct bench_env *env, struct reclaim_shared *rs, int nthreads)
{
	uint64_t nblocks = env->mem_frames / HUGE_FRAMES, cursor = 0;
	uint64_t out[RECLAIM_OUT_MAX];
	int nout = 0;
	for (int w = 0; w < RECLAIM_WINDOWS && !(rs->unsupported && nthreads == 1); w++) {
		/* Once the allocator refused a 2 MiB withdrawal, every window idles. */
		int ph = !rs->unsupported && (nthreads == 1 || (w & 1)) ? PH_RECLAIM : PH_IDLE;
		/* relaxed: the churners only sort their counts by it. */
		atomic_store_explicit(&rs->phase, ph, memory_order_relaxed);
		uint64_t start = bench_now_ns(), end = start + RECLAIM_WINDOW_NS, now = start;
		if (ph == PH_IDLE) {
			struct timespec ts = {0, (long)RECLAIM_WINDOW_NS};
			nanosleep(&ts, NULL);
			now = bench_now_ns();
		}
		while (ph == PH_RECLAIM && now < end && !rs->unsupported && !rs->err) {
			uint64_t pa = BENCH_MEM_BASE + cursor * HUGE_FRAMES * FK_PAGE_SIZE;
			cursor = (cursor + 1) % nblocks;
			int err =
			    env->real_ops->remove_free_memory(env->alloc_state, pa, HUGE_FRAMES);
			uint64_t t1 = bench_now_ns();
			rs->remove_ns += t1 - now;
			rs->attempts++;
			now = t1;
			if (err == 0) {
				rs->removed++;
				out[nout++] = pa;
				if (nout == RECLAIM_OUT_MAX)
					rs->err = give_back(env, rs, out, &nout);
				now = bench_now_ns();
			} else if (err == FK_EBUSY) {
				rs->busy++;
			} else {
				rs->unsupported = err;
			}
		}
		if (nout && !rs->err)
			rs->err = give_back(env, rs, out, &nout);
		rs->phase_ns[ph] += bench_now_ns() - start;
	}
	/* relaxed: the churners poll it; bench_end's barrier orders the rest. */
	atomic_store_explicit(&rs->phase, PH_STOP, memory_order_relaxed);
}

static void bm_reclaim(gb_state *st, void *arg)
{
	struct bench_env *env = arg;
	int tid = gb_thread_index(st), nthreads = gb_thread_count(st);
	uint64_t *held = calloc(CHURN_HELD, sizeof(*held));
	uint64_t rng = 0x2545F4914F6CDD1DULL * (uint64_t)(tid + 1), pairs[2] = {0, 0};
	int64_t nheld = 0, items = 0;
	int ok = bench_begin(st, env) == 0;
	const struct fk_allocator_ops *ops = env->real_ops;
	void *state = env->alloc_state;
	struct reclaim_shared *rs = env->shared;
	int err = 0;
	if (ok && !held) {
		gb_skip_and_finish(st, "calloc");
		ok = 0;
	}
	for (; ok && tid != 0 && nheld < CHURN_HELD; nheld++) {
		err = ops->alloc(state, 1, 0, -1, 0, &held[nheld]);
		if (err) {
			bench_fail(st, "hold: alloc", err);
			ok = 0;
			break;
		}
	}
	while (ok && bench_keep_running(st, env, 1)) {
		if (tid == 0) {
			reclaimer(env, rs, nthreads);
			continue;
		}
		/* relaxed: a window's edge only decides where a batch is counted. */
		int ph;
		while ((ph = atomic_load_explicit(&rs->phase, memory_order_relaxed)) != PH_STOP) {
			for (int i = 0; i < CHURN_BATCH; i++) {
				uint64_t k = fk_rand_next(&rng) % CHURN_HELD;
				err = ops->dealloc(state, held[k], 1);
				if (err)
					break;
				err = ops->alloc(state, 1, 0, -1, 0, &held[k]);
				if (err) {
					held[k] = held[--nheld]; /* nothing held there */
					break;
				}
			}
			if (err) {
				bench_fail(st, "churn: alloc/dealloc", err);
				ok = 0;
				break;
			}
			pairs[ph] += CHURN_BATCH;
		}
	}
	if (ok) {
		items = (int64_t)(pairs[0] + pairs[1]);
		/* relaxed: read by thread 0 after bench_end's barrier. */
		atomic_fetch_add_explicit(&rs->pairs[0], pairs[0], memory_order_relaxed);
		atomic_fetch_add_explicit(&rs->pairs[1], pairs[1], memory_order_relaxed);
	}
	for (int64_t i = 0; i < nheld; i++)
		ops->dealloc(state, held[i], 1);
	if (ok && tid == 0 && rs->err)
		bench_fail_after(st, "reclaim: add_free_memory", rs->err);
	bench_end(st, env, items);
	free(held);
}

static double per_s(double x, uint64_t ns)
{
	return ns ? x / ((double)ns / 1e9) : 0;
}

static void reclaim_report(gb_state *st, struct bench_env *env)
{
	struct reclaim_shared *rs = env->shared;
	double gib = (double)rs->removed * HUGE_FRAMES * FK_PAGE_SIZE / (double)(1u << 30);
	if (rs->unsupported) {
		char label[120];
		snprintf(label, sizeof(label), "remove_free_memory of 2 MiB: %s",
		         fk_strerror_name(rs->unsupported));
		gb_set_label(st, label);
		gb_counter(st, "reclaim_supported", 0, GB_COUNTER_DEFAULT);
	} else {
		gb_counter(st, "reclaim_gib_s", per_s(gib, rs->remove_ns), GB_COUNTER_DEFAULT);
		gb_counter(st, "reclaim_wall_gib_s", per_s(gib, rs->phase_ns[PH_RECLAIM]),
		           GB_COUNTER_DEFAULT);
		gb_counter(st, "readd_gib_s", per_s(gib, rs->readd_ns), GB_COUNTER_DEFAULT);
		gb_counter(st, "blocks_removed", (double)rs->removed, GB_COUNTER_DEFAULT);
		if (rs->attempts)
			gb_counter(st, "remove_busy_pct",
			           100.0 * (double)rs->busy / (double)rs->attempts,
			           GB_COUNTER_DEFAULT);
	}
	if (gb_thread_count(st) < 2)
		return;
	if (rs->unsupported) {
		/* relaxed: every churner added before bench_end's barrier. */
		uint64_t all = atomic_load_explicit(&rs->pairs[PH_IDLE], memory_order_relaxed) +
		               atomic_load_explicit(&rs->pairs[PH_RECLAIM], memory_order_relaxed);
		gb_counter(st, "churn_pairs_s_idle",
		           per_s((double)all, rs->phase_ns[PH_IDLE] + rs->phase_ns[PH_RECLAIM]),
		           GB_COUNTER_DEFAULT);
		return;
	}
	/* relaxed: every churner added before bench_end's barrier. */
	double idle = per_s((double)atomic_load_explicit(&rs->pairs[PH_IDLE], memory_order_relaxed),
	                    rs->phase_ns[PH_IDLE]);
	double busy =
	    per_s((double)atomic_load_explicit(&rs->pairs[PH_RECLAIM], memory_order_relaxed),
	          rs->phase_ns[PH_RECLAIM]);
	gb_counter(st, "churn_pairs_s_idle", idle, GB_COUNTER_DEFAULT);
	gb_counter(st, "churn_pairs_s_reclaim", busy, GB_COUNTER_DEFAULT);
	if (busy > 0)
		gb_counter(st, "churn_slowdown", idle / busy, GB_COUNTER_DEFAULT);
}

void bench_register_reclaim(void)
{
	if (!bench_cfg.family_reclaim)
		return;
	for (size_t a = 0; a < bench_nr_allocators; a++) {
		struct bench_env *env = bench_env_new(bench_allocators[a]);
		char name[160];
		env->capture_alloc = 1;
		env->frames_per_thread = CHURN_HELD;
		env->setup = reclaim_setup;
		env->teardown = reclaim_teardown;
		env->report = reclaim_report;
		snprintf(name, sizeof(name), "reclaim/%s/churn_held:%d", bench_allocators[a],
		         CHURN_HELD);
		gb_iterations(bench_register(name, bm_reclaim, env), 1);
	}
}
