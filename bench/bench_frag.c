/* SPDX-License-Identifier: MIT */
/*
 * frag: huge frames kept available under order-0 churn, LLFree's protocol
 * (Wrenger et al., ATC '23; the kernel module's BENCH_FRAG in
 * luhsra/linux-alloc-bench alloc.c). Opt-in: --family=frag.
 *
 *   frag/<allocator>/realloc:R/iter:I
 *   1. T threads together fill 90 % of memory with order-0 frames;
 *   2. thread 0 shuffles all of them across the threads (seed: --seed + k
 *      for the k-th run of the benchmark at this thread count);
 *   3. each thread frees the second half of its share;
 *   4. I times (--frag, default 100): each thread frees R % (default 10)
 *      of its frames, chosen at random, a barrier, then allocates as many
 *      again.
 * After step 3 (iteration 0) and after every iteration thread 0 records,
 * from the threads' own record of what they hold (the same count for every
 * allocator; frames in per-CPU caches are free):
 *   free frames; huge frames available (aligned 2 MiB blocks of which no
 *   thread holds a frame) against the ideal free / 512; the allocator's
 *   own count of free order-9 blocks (fk_alloc_stats.free_blocks[9], not
 *   drained: its view as it runs; -1 where it keeps none); Linux's
 *   unusable-free-space index at order 9 ((free - 512 huge) / free,
 *   mm/vmstat.c); the fewest frame moves that would make all free memory
 *   whole 2 MiB blocks (fill the blocks with the most free frames first);
 * and at the end the free frames of every 2 MiB block. Counters go into the
 * JSON, the series into <--series>/frag_iterations.csv and
 * frag_blocks.csv (scripts/plot_results.py plots both).
 * One item = one reallocation (a free and an allocation); the rate is not
 * the point of this family, `pair_cpu_ns` is the churn's CPU time per item.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_common.h"

#define FRAG_FILL_PCT 90
#define HUGE_FRAMES   512u
#define NO_FRAME      UINT64_MAX

/* One iteration's record (thread 0). */
struct frag_point {
	uint64_t free_frames, huge, ideal, moves;
	int64_t alloc_huge; /* free_blocks[9], or -1 */
	double unusable;
};

/* env->shared: the run's record of every held frame (thread 0's setup). */
struct frag_run {
	uint64_t *held;    /* thread t's frames: held[t * per .. t * per + per) */
	uint64_t per;      /* filled per thread; the first per / 2 stay held */
	uint32_t *free_in; /* per 2 MiB block: free frames (recomputed) */
	uint32_t *sorted;  /* scratch for the moves */
	uint64_t nblocks;
	_Atomic int err;  /* first failed call's error, 0 if none */
	const char *what; /* and which call */
	struct frag_point *pts;
	int keeps_huge_count;
	_Atomic uint64_t churn_cpu_ns, churn_pairs;
};

static int frag_teardown(struct bench_env *env)
{
	struct frag_run *fr = env->shared;
	if (fr) {
		free(fr->held);
		free(fr->free_in);
		free(fr->sorted);
		free(fr->pts);
		free(fr);
	}
	env->shared = NULL;
	return 0;
}

static int frag_setup(struct bench_env *env)
{
	struct frag_run *fr = calloc(1, sizeof(*fr));
	if (!fr)
		return FK_ENOMEM;
	fr->nblocks = env->mem_frames / HUGE_FRAMES;
	fr->held = malloc(env->mem_frames * sizeof(*fr->held));
	fr->free_in = calloc(fr->nblocks, sizeof(*fr->free_in));
	fr->sorted = calloc(fr->nblocks, sizeof(*fr->sorted));
	fr->pts = calloc((size_t)bench_cfg.frag_iterations + 1, sizeof(*fr->pts));
	env->shared = fr;
	if (!fr->held || !fr->free_in || !fr->sorted || !fr->pts) {
		frag_teardown(env);
		return FK_ENOMEM;
	}
	return 0;
}

static void frag_fail(struct frag_run *fr, const char *what, int err)
{
	int none = 0;
	/* relaxed: read after a barrier (a mutex). */
	if (atomic_compare_exchange_strong_explicit(&fr->err, &none, err, memory_order_relaxed,
	                                            memory_order_relaxed))
		fr->what = what;
}

static int frag_failed(struct frag_run *fr)
{
	/* relaxed: written before a barrier, read after it. */
	return atomic_load_explicit(&fr->err, memory_order_relaxed) != 0;
}

static int cmp_desc_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? 1 : x > y ? -1 : 0;
}

/* Thread 0, every thread between barriers: one record from the threads' arrays. */
static void frag_record(struct bench_env *env, struct frag_run *fr, int nthreads,
                        struct frag_point *pt)
{
	for (uint64_t b = 0; b < fr->nblocks; b++)
		fr->free_in[b] = HUGE_FRAMES;
	uint64_t held = 0;
	for (int t = 0; t < nthreads; t++) {
		const uint64_t *mine = fr->held + (uint64_t)t * fr->per;
		for (uint64_t i = 0; i < fr->per / 2; i++) {
			if (mine[i] == NO_FRAME)
				continue;
			uint64_t frame = (mine[i] - BENCH_MEM_BASE) / FK_PAGE_SIZE;
			fr->free_in[frame / HUGE_FRAMES]--;
			held++;
		}
	}
	pt->free_frames = env->mem_frames - held;
	pt->ideal = pt->free_frames / HUGE_FRAMES;
	pt->huge = 0;
	for (uint64_t b = 0; b < fr->nblocks; b++)
		pt->huge += fr->free_in[b] == HUGE_FRAMES;
	pt->unusable = pt->free_frames ? (double)(pt->free_frames - pt->huge * HUGE_FRAMES) /
	                                     (double)pt->free_frames
	                               : 0;
	/* Fewest moves: empty the `ideal` blocks with the most free frames. */
	memcpy(fr->sorted, fr->free_in, fr->nblocks * sizeof(*fr->sorted));
	qsort(fr->sorted, fr->nblocks, sizeof(*fr->sorted), cmp_desc_u32);
	pt->moves = 0;
	for (uint64_t b = 0; b < pt->ideal && b < fr->nblocks; b++)
		pt->moves += HUGE_FRAMES - fr->sorted[b];
	struct fk_alloc_stats as;
	memset(&as, 0, sizeof(as));
	pt->alloc_huge = -1;
	if (env->real_ops->stats(env->alloc_state, -1, &as) == 0) {
		uint64_t any = 0;
		for (int o = 0; o < FK_MAX_ORDER; o++)
			any |= as.free_blocks[o];
		if (any || fr->keeps_huge_count) {
			fr->keeps_huge_count = 1;
			pt->alloc_huge = (int64_t)as.free_blocks[9];
		}
	}
}

static double pct(uint64_t part, uint64_t whole)
{
	return whole ? 100.0 * (double)part / (double)whole : 0;
}

static FILE *series_open(const char *name, const char *header)
{
	/* Truncated by the first run of the process, appended to after. */
	static int opened_iter, opened_blocks;
	int *opened = strcmp(name, "frag_iterations.csv") == 0 ? &opened_iter : &opened_blocks;
	if (!bench_cfg.series_dir[0])
		return NULL;
	char path[600];
	snprintf(path, sizeof(path), "%s/%s", bench_cfg.series_dir, name);
	FILE *f = fopen(path, *opened ? "a" : "w");
	if (!f) {
		fprintf(stderr, "framekit_bench: frag: %s: %s\n", path, strerror(errno));
		return NULL;
	}
	if (!*opened)
		fputs(header, f);
	*opened = 1;
	return f;
}

/* Thread 0 at the end: the series into the CSVs. */
static void frag_write_series(struct bench_env *env, struct frag_run *fr, int nthreads,
                              uint64_t seed)
{
	FILE *f = series_open("frag_iterations.csv",
	                      "allocator,threads,seed,iteration,free_frames,huge_free,huge_ideal,"
	                      "huge_pct_ideal,alloc_free_order9,unusable_index_order9,moves\n");
	for (int i = 0; f && i <= bench_cfg.frag_iterations; i++) {
		const struct frag_point *p = &fr->pts[i];
		fprintf(f, "%s,%d,%llu,%d,%llu,%llu,%llu,%.3f,%lld,%.4f,%llu\n", env->allocator,
		        nthreads, (unsigned long long)seed, i, (unsigned long long)p->free_frames,
		        (unsigned long long)p->huge, (unsigned long long)p->ideal,
		        pct(p->huge, p->ideal), (long long)p->alloc_huge, p->unusable,
		        (unsigned long long)p->moves);
	}
	if (f)
		fclose(f);
	f = series_open("frag_blocks.csv", "allocator,threads,seed,block,free_frames\n");
	for (uint64_t b = 0; f && b < fr->nblocks; b++)
		fprintf(f, "%s,%d,%llu,%llu,%u\n", env->allocator, nthreads,
		        (unsigned long long)seed, (unsigned long long)b, fr->free_in[b]);
	if (f)
		fclose(f);
}

/*
 * The protocol. Every thread passes the same barriers whatever fails: an
 * error is recorded in fr->err and the work after it skipped.
 */
static void frag_protocol(gb_state *st, struct bench_env *env, struct frag_run *fr, uint64_t seed)
{
	const struct fk_allocator_ops *ops = env->real_ops;
	void *state = env->alloc_state;
	int tid = gb_thread_index(st), nthreads = gb_thread_count(st);
	uint64_t *mine = fr->held + (uint64_t)tid * fr->per;
	uint64_t keep = fr->per / 2;
	uint64_t n = keep * (uint64_t)bench_cfg.frag_realloc / 100;
	uint64_t rng = seed * 0x9E3779B97F4A7C15ULL + (uint64_t)tid + 1;
	uint64_t cpu = 0, pairs = 0;

	/* 1. fill */
	for (uint64_t i = 0; i < fr->per; i++)
		mine[i] = NO_FRAME;
	for (uint64_t i = 0; i < fr->per && !frag_failed(fr); i++) {
		int err = ops->alloc(state, 1, 0, -1, 0, &mine[i]);
		if (err) {
			mine[i] = NO_FRAME;
			frag_fail(fr, "fill: alloc", err);
		}
	}
	gb_barrier_wait(env->barrier, nthreads);
	/* 2. shuffle across threads (Fisher-Yates over the concatenation) */
	if (tid == 0 && !frag_failed(fr)) {
		uint64_t total = fr->per * (uint64_t)nthreads, srng = seed;
		for (uint64_t i = total - 1; i > 0; i--) {
			uint64_t j = fk_rand_next(&srng) % (i + 1);
			uint64_t x = fr->held[i];
			fr->held[i] = fr->held[j];
			fr->held[j] = x;
		}
	}
	gb_barrier_wait(env->barrier, nthreads);
	/* 3. each frees the second half of its share */
	for (uint64_t i = keep; i < fr->per; i++) {
		if (mine[i] == NO_FRAME)
			continue;
		int err = frag_failed(fr) ? 0 : ops->dealloc(state, mine[i], 1);
		if (err)
			frag_fail(fr, "free half: dealloc", err);
		else if (!frag_failed(fr))
			mine[i] = NO_FRAME;
	}
	gb_barrier_wait(env->barrier, nthreads);
	if (tid == 0 && !frag_failed(fr))
		frag_record(env, fr, nthreads, &fr->pts[0]);
	gb_barrier_wait(env->barrier, nthreads);
	/* 4. iterations: free n random frames, barrier, allocate n */
	for (int it = 1; it <= bench_cfg.frag_iterations; it++) {
		uint64_t c0 = bench_thread_cpu_ns();
		for (uint64_t j = 0; j < n && !frag_failed(fr); j++) {
			/* a partial shuffle puts the j-th victim at j: distinct frames */
			uint64_t k = j + fk_rand_next(&rng) % (keep - j), x = mine[k];
			mine[k] = mine[j];
			mine[j] = x;
			int err = ops->dealloc(state, mine[j], 1);
			if (err)
				frag_fail(fr, "iteration: dealloc", err);
			else
				mine[j] = NO_FRAME;
		}
		cpu += bench_thread_cpu_ns() - c0;
		gb_barrier_wait(env->barrier, nthreads);
		c0 = bench_thread_cpu_ns();
		for (uint64_t j = 0; j < n && !frag_failed(fr); j++) {
			if (mine[j] != NO_FRAME)
				continue;
			int err = ops->alloc(state, 1, 0, -1, 0, &mine[j]);
			if (err) {
				mine[j] = NO_FRAME;
				frag_fail(fr, "iteration: alloc", err);
			} else {
				pairs++;
			}
		}
		cpu += bench_thread_cpu_ns() - c0;
		gb_barrier_wait(env->barrier, nthreads);
		if (tid == 0 && !frag_failed(fr))
			frag_record(env, fr, nthreads, &fr->pts[it]);
		gb_barrier_wait(env->barrier, nthreads);
	}
	/* relaxed: read by thread 0 after bench_end's barrier. */
	atomic_fetch_add_explicit(&fr->churn_cpu_ns, cpu, memory_order_relaxed);
	atomic_fetch_add_explicit(&fr->churn_pairs, pairs, memory_order_relaxed);
}

static void bm_frag(gb_state *st, void *arg)
{
	struct bench_env *env = arg;
	int tid = gb_thread_index(st), nthreads = gb_thread_count(st);
	int64_t items = 0;
	uint64_t seed = 0;
	struct frag_run *fr = NULL;
	if (bench_begin(st, env) == 0) {
		fr = env->shared;
		if (tid == 0) {
			seed = bench_run_seed(env, nthreads);
			fr->per = env->mem_frames * FRAG_FILL_PCT / 100 / (uint64_t)nthreads;
			fr->keeps_huge_count = 0;
			fr->what = NULL;
			/* relaxed: published by the barrier below. */
			atomic_store_explicit(&fr->err, 0, memory_order_relaxed);
			atomic_store_explicit(&fr->churn_cpu_ns, 0, memory_order_relaxed);
			atomic_store_explicit(&fr->churn_pairs, 0, memory_order_relaxed);
			env->p[3] = (int64_t)seed;
		}
		gb_barrier_wait(env->barrier, nthreads);
		seed = (uint64_t)env->p[3];
		while (bench_keep_running(st, env, 1))
			frag_protocol(st, env, fr, seed);
		/* Release what this thread holds. */
		uint64_t *mine = fr->held + (uint64_t)tid * fr->per;
		for (uint64_t i = 0; i < fr->per; i++)
			if (mine[i] != NO_FRAME)
				env->real_ops->dealloc(env->alloc_state, mine[i], 1);
		if (frag_failed(fr)) {
			if (tid == 0)
				bench_fail_after(
				    st, fr->what ? fr->what : "frag",
				    atomic_load_explicit(&fr->err, memory_order_relaxed));
		} else {
			/* relaxed: every thread added before the barrier it passed last. */
			items =
			    (int64_t)atomic_load_explicit(&fr->churn_pairs, memory_order_relaxed) /
			    nthreads;
		}
		gb_barrier_wait(env->barrier, nthreads); /* every thread released its frames */
		if (tid == 0 && !frag_failed(fr))
			frag_write_series(env, fr, nthreads, seed);
	}
	bench_end(st, env, items);
}

/* bench_end's report hook (thread 0, all threads done): the run's counters. */
static void frag_report(gb_state *st, struct bench_env *env)
{
	struct frag_run *fr = env->shared;
	int last = bench_cfg.frag_iterations;
	const struct frag_point *p0 = &fr->pts[0], *pn = &fr->pts[last];
	double lo = 1e9, hi = 0;
	for (int i = 0; i <= last; i++) {
		double v = pct(fr->pts[i].huge, fr->pts[i].ideal);
		lo = v < lo ? v : lo;
		hi = v > hi ? v : hi;
	}
	gb_counter(st, "seed", (double)env->p[3], GB_COUNTER_DEFAULT);
	gb_counter(st, "huge_pct_ideal_start", pct(p0->huge, p0->ideal), GB_COUNTER_DEFAULT);
	gb_counter(st, "huge_pct_ideal", pct(pn->huge, pn->ideal), GB_COUNTER_DEFAULT);
	gb_counter(st, "huge_pct_ideal_min", lo, GB_COUNTER_DEFAULT);
	gb_counter(st, "huge_pct_ideal_max", hi, GB_COUNTER_DEFAULT);
	gb_counter(st, "huge_free", (double)pn->huge, GB_COUNTER_DEFAULT);
	gb_counter(st, "huge_ideal", (double)pn->ideal, GB_COUNTER_DEFAULT);
	gb_counter(st, "free_frames", (double)pn->free_frames, GB_COUNTER_DEFAULT);
	if (pn->alloc_huge >= 0)
		gb_counter(st, "alloc_free_order9", (double)pn->alloc_huge, GB_COUNTER_DEFAULT);
	gb_counter(st, "unusable_index_order9", pn->unusable, GB_COUNTER_DEFAULT);
	gb_counter(st, "moves", (double)pn->moves, GB_COUNTER_DEFAULT);
	uint64_t pairs = atomic_load_explicit(&fr->churn_pairs, memory_order_relaxed);
	if (pairs)
		gb_counter(st, "pair_cpu_ns",
		           (double)atomic_load_explicit(&fr->churn_cpu_ns, memory_order_relaxed) /
		               (double)pairs,
		           GB_COUNTER_DEFAULT);
}

void bench_register_frag(void)
{
	if (!bench_cfg.family_frag)
		return;
	for (size_t a = 0; a < bench_nr_allocators; a++) {
		struct bench_env *env = bench_env_new(bench_allocators[a]);
		char name[160];
		env->capture_alloc = 1;
		env->setup = frag_setup;
		env->teardown = frag_teardown;
		env->report = frag_report;
		snprintf(name, sizeof(name), "frag/%s/realloc:%d/iter:%d", bench_allocators[a],
		         bench_cfg.frag_realloc, bench_cfg.frag_iterations);
		/* One protocol per run: gbench must not grow the iteration count. */
		gb_iterations(bench_register(name, bm_frag, env), 1);
	}
}
