/* SPDX-License-Identifier: MIT */
/*
 * fill: what an allocation and a free cost as memory fills up (LLFree,
 * ATC '23, measures its free cost rising towards full memory). Opt-in:
 * --family=fill.
 *
 *   fill/<allocator>/order:K/occupancy:P   K 0 or 9, P 0 25 50 75 90 99
 *   Before the loop (untimed) the threads together hold P % of memory as
 *   order-0 frames ("ballast", each thread its share, placed by the
 *   allocator), less what their batches will hold at peak; then each
 *   thread allocates a batch of B order-K blocks and frees them again
 *   (B = 64 at order 0, 2 at order 9), so occupancy peaks at P %. Every
 *   alloc and every free is timed alone (CLOCK_MONOTONIC, the clock's own
 *   cost subtracted): alloc_ns / free_ns (means) and alloc_*, free_*
 *   p50/p99/p99.9/max. One item = one alloc+free pair. Memory grows so
 *   that the batches are at most 1 % of it (--memory is the floor).
 *   An order-9 allocation may find no free aligned block in the 1 % left
 *   (the ballast is placed by the allocator): counted in `enomem`, not
 *   timed; a run where every one failed is failed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_common.h"

#define FILL_BATCH0 64
#define FILL_BATCH9 2

static const int fill_levels[] = {0, 25, 50, 75, 90, 99};

struct fill_shared {
	struct bench_hist_shared alloc, dealloc;
	_Atomic uint64_t alloc_ns, free_ns, ops, enomem, ballast;
};

static int fill_setup(struct bench_env *env)
{
	struct fill_shared *fs = calloc(1, sizeof(*fs));
	if (!fs)
		return FK_ENOMEM;
	env->shared = fs;
	return 0;
}

static int fill_teardown(struct bench_env *env)
{
	free(env->shared);
	env->shared = NULL;
	return 0;
}

static uint64_t fill_sample(uint64_t t0, uint64_t t1)
{
	uint64_t d = t1 - t0;
	return d > bench_clock_overhead_ns ? d - bench_clock_overhead_ns : 0;
}

static void bm_fill(gb_state *st, void *arg)
{
	struct bench_env *env = arg;
	unsigned order = (unsigned)env->p[0];
	int level = (int)env->p[1];
	int64_t batch = env->p[2];
	uint64_t nframes = (uint64_t)1 << order;
	int nthreads = gb_thread_count(st);
	struct bench_hist *h = calloc(2, sizeof(*h)); /* alloc, free */
	uint64_t *blocks = calloc((size_t)batch, sizeof(*blocks));
	uint64_t *ballast = NULL, nballast = 0, want = 0;
	uint64_t alloc_ns = 0, free_ns = 0, ops = 0, enomem = 0;
	int64_t items = 0;
	int ok = bench_begin(st, env) == 0;
	const struct fk_allocator_ops *ops_ = env->real_ops;
	void *state = env->alloc_state;
	int err = 0;
	if (ok && (!h || !blocks)) {
		gb_skip_and_finish(st, "calloc");
		ok = 0;
	}
	if (ok) {
		/* This thread's share of the ballast: P % less the peak batches. */
		uint64_t peak = (uint64_t)nthreads * (uint64_t)batch * nframes;
		uint64_t total = env->mem_frames * (uint64_t)level / 100;
		total = total > peak ? total - peak : 0;
		want = total / (uint64_t)nthreads;
		ballast = malloc((want ? want : 1) * sizeof(*ballast));
		if (!ballast) {
			gb_skip_and_finish(st, "malloc");
			ok = 0;
		}
		for (; ok && nballast < want; nballast++) {
			err = ops_->alloc(state, 1, 0, -1, 0, &ballast[nballast]);
			if (err) {
				bench_fail(st, "ballast: alloc", err);
				ok = 0;
				break;
			}
		}
	}
	if (ok) {
		while (bench_keep_running(st, env, batch)) {
			if (bench_over_budget(st, env))
				break;
			int64_t got = 0;
			uint64_t t0 = bench_now_ns();
			for (int64_t i = 0; i < batch; i++) {
				err = ops_->alloc(state, nframes, order, -1, 0, &blocks[got]);
				uint64_t t1 = bench_now_ns();
				if (err == FK_ENOMEM) {
					enomem++;
				} else if (err) {
					goto fail;
				} else {
					uint64_t d = fill_sample(t0, t1);
					bench_hist_add(&h[0], d);
					alloc_ns += d;
					got++;
				}
				t0 = t1;
			}
			t0 = bench_now_ns();
			for (int64_t i = 0; i < got; i++) {
				err = ops_->dealloc(state, blocks[i], nframes);
				uint64_t t1 = bench_now_ns();
				if (err) {
					got = 0; /* state unknown: the leak check reports */
					goto fail;
				}
				uint64_t d = fill_sample(t0, t1);
				bench_hist_add(&h[1], d);
				free_ns += d;
				t0 = t1;
			}
			ops += (uint64_t)got;
			continue;
		fail:
			for (int64_t i = 0; i < got; i++)
				ops_->dealloc(state, blocks[i], nframes);
			bench_fail(st, "alloc/dealloc", err);
			break;
		}
		items = bench_iterations(st);
		struct fill_shared *fs = env->shared;
		bench_hist_merge(&fs->alloc, &h[0]);
		bench_hist_merge(&fs->dealloc, &h[1]);
		/* relaxed: read by thread 0 after bench_end's barrier. */
		atomic_fetch_add_explicit(&fs->alloc_ns, alloc_ns, memory_order_relaxed);
		atomic_fetch_add_explicit(&fs->free_ns, free_ns, memory_order_relaxed);
		atomic_fetch_add_explicit(&fs->ops, ops, memory_order_relaxed);
		atomic_fetch_add_explicit(&fs->enomem, enomem, memory_order_relaxed);
		atomic_fetch_add_explicit(&fs->ballast, nballast, memory_order_relaxed);
	}
	for (uint64_t i = 0; i < nballast; i++)
		ops_->dealloc(state, ballast[i], 1);
	bench_end(st, env, items);
	free(ballast);
	free(blocks);
	free(h);
}

/* Thread 0 after every thread finished (the shared sums are per run: setup). */
static void fill_report(gb_state *st, struct bench_env *env)
{
	struct fill_shared *fs = env->shared;
	/* relaxed: every thread added before bench_end's barrier. */
	uint64_t ops = atomic_load_explicit(&fs->ops, memory_order_relaxed);
	uint64_t enomem = atomic_load_explicit(&fs->enomem, memory_order_relaxed);
	uint64_t ballast = atomic_load_explicit(&fs->ballast, memory_order_relaxed);
	uint64_t peak = (uint64_t)gb_thread_count(st) * (uint64_t)env->p[2] << env->p[0];
	gb_counter(st, "ballast_pct", 100.0 * (double)ballast / (double)env->mem_frames,
	           GB_COUNTER_DEFAULT);
	gb_counter(st, "peak_occupancy_pct",
	           100.0 * (double)(ballast + peak) / (double)env->mem_frames, GB_COUNTER_DEFAULT);
	gb_counter(st, "enomem", (double)enomem, GB_COUNTER_DEFAULT);
	if (ops) {
		gb_counter(st, "alloc_ns",
		           (double)atomic_load_explicit(&fs->alloc_ns, memory_order_relaxed) /
		               (double)ops,
		           GB_COUNTER_DEFAULT);
		gb_counter(st, "free_ns",
		           (double)atomic_load_explicit(&fs->free_ns, memory_order_relaxed) /
		               (double)ops,
		           GB_COUNTER_DEFAULT);
		bench_hist_report(st, "alloc", &fs->alloc);
		bench_hist_report(st, "free", &fs->dealloc);
	} else if (enomem) {
		gb_skip_with_error(st, "every allocation failed (FK_ENOMEM): no free block left");
	}
}

void bench_register_fill(void)
{
	static const int orders[] = {0, 9};
	if (!bench_cfg.family_fill)
		return;
	for (size_t a = 0; a < bench_nr_allocators; a++) {
		for (int o = 0; o < 2; o++) {
			for (size_t l = 0; l < sizeof(fill_levels) / sizeof(fill_levels[0]); l++) {
				struct bench_env *env = bench_env_new(bench_allocators[a]);
				int64_t batch = orders[o] ? FILL_BATCH9 : FILL_BATCH0;
				char name[160];
				env->capture_alloc = 1;
				env->p[0] = orders[o];
				env->p[1] = fill_levels[l];
				env->p[2] = batch;
				/* run_frames: 4/3 of this per thread, so batches <= 1 % */
				env->frames_per_thread = (uint64_t)(75 * batch) << orders[o];
				env->setup = fill_setup;
				env->teardown = fill_teardown;
				env->report = fill_report;
				snprintf(name, sizeof(name), "fill/%s/order:%d/occupancy:%d",
				         bench_allocators[a], orders[o], fill_levels[l]);
				bench_register(name, bm_fill, env);
			}
		}
	}
}
