/* SPDX-License-Identifier: MIT */
/*
 * bench_common.c: the per-run fk_mem lifecycle (thread-0 pattern), the
 * run's clock (common span, thread CPU time), pinning, the time budget and
 * the latency histograms. See bench_common.h for the invariant.
 */
#include "bench_common.h"

#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

_Thread_local struct bench_thread bench_self;

static struct bench_env *all_envs;

uint64_t bench_clock_overhead_ns;

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

void bench_init(void)
{
	uint64_t d[101];
	for (int i = 0; i < 101; i++) {
		uint64_t t0 = bench_now_ns();
		d[i] = bench_now_ns() - t0;
	}
	qsort(d, 101, sizeof(d[0]), cmp_u64);
	bench_clock_overhead_ns = d[50];
}

void bench_fini(void)
{
	while (all_envs) {
		struct bench_env *env = all_envs;
		all_envs = env->next_env;
		gb_barrier_free(env->barrier);
		free(env);
	}
}

struct bench_env *bench_env_new(const char *allocator)
{
	struct bench_env *env = calloc(1, sizeof(*env));
	if (!env) {
		perror("calloc");
		exit(1);
	}
	env->allocator = allocator;
	env->barrier = gb_barrier_new();
	env->next_env = all_envs;
	all_envs = env;
	return env;
}

struct bench_env *bench_env_core(const struct bench_core_variant *v)
{
	struct bench_env *env = bench_env_new(bench_core_allocator);
	env->core = v;
	return env;
}

gb_bench *bench_register(const char *name, gb_fn fn, struct bench_env *env)
{
	return bench_threads(gb_register(name, fn, env));
}

gb_bench *bench_threads(gb_bench *b)
{
	gb_thread_list(b, bench_cfg.threads, (size_t)bench_cfg.nr_threads);
	/* per_thread: Google Benchmark's own clock (the mean of the threads'
	 * own wall times), kept only to show what the common span corrects. */
	return bench_cfg.gbench_clock ? gb_use_real_time(b) : gb_use_manual_time(b);
}

uint64_t bench_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t bench_thread_cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void bench_fail(gb_state *st, const char *what, int err)
{
	char msg[160];
	snprintf(msg, sizeof(msg), "%s: %s (%s)", what, fk_strerror_name(err), fk_strerror(err));
	gb_skip_and_finish(st, msg);
}

void bench_fail_after(gb_state *st, const char *what, int err)
{
	char msg[160];
	snprintf(msg, sizeof(msg), "%s: %s (%s)", what, fk_strerror_name(err), fk_strerror(err));
	gb_skip_with_error(st, msg);
}

/* ---- the clock ---- */

static void atomic_min_u64(_Atomic uint64_t *a, uint64_t v)
{
	/* relaxed: the run's barriers (mutexes) order these against the reads. */
	uint64_t cur = atomic_load_explicit(a, memory_order_relaxed);
	while (v < cur && !atomic_compare_exchange_weak_explicit(a, &cur, v, memory_order_relaxed,
	                                                         memory_order_relaxed)) {
	}
}

static void atomic_max_u64(_Atomic uint64_t *a, uint64_t v)
{
	/* relaxed: as atomic_min_u64. */
	uint64_t cur = atomic_load_explicit(a, memory_order_relaxed);
	while (v > cur && !atomic_compare_exchange_weak_explicit(a, &cur, v, memory_order_relaxed,
	                                                         memory_order_relaxed)) {
	}
}

/* The thread's own work ended (final batch done, or budget). */
static void thread_stop(struct bench_env *env)
{
	if (bench_self.stopped || !bench_self.started)
		return;
	bench_self.stopped = 1;
	atomic_max_u64(&env->t_end, bench_now_ns());
	/* relaxed: summed before bench_end's barrier, read after it. */
	atomic_fetch_add_explicit(&env->cpu_ns, bench_thread_cpu_ns() - bench_self.cpu0,
	                          memory_order_relaxed);
}

int bench_keep_running_slow(gb_state *st, struct bench_env *env, int64_t n)
{
	if (!bench_self.started) {
		/* The first call passes gbench's start barrier. */
		if (!gb_keep_running_batch(st, n))
			return 0;
		bench_self.started = 1;
		bench_self.cpu0 = bench_thread_cpu_ns();
		atomic_min_u64(&env->t_start, bench_now_ns());
		bench_self.left = gb_max_iterations(st) - n;
		return 1;
	}
	if (bench_self.left > 0) { /* a partial last batch */
		bench_self.left = 0;
		return gb_keep_running_batch(st, n);
	}
	/* Nothing left: this call waits at gbench's stop barrier. */
	thread_stop(env);
	return gb_keep_running_batch(st, n);
}

int64_t bench_iterations(gb_state *st)
{
	return bench_self.done >= 0 ? bench_self.done : gb_iterations_done(st);
}

int bench_over_budget(gb_state *st, struct bench_env *env)
{
	uint64_t elapsed = bench_now_ns() - env->run_start_ns;
	if ((double)elapsed < bench_cfg.budget_s * 1e9)
		return 0;
	thread_stop(env);
	bench_self.done = gb_iterations_done(st);
	/* relaxed: read by thread 0 after bench_end's barrier. */
	atomic_store_explicit(&env->budget_hit, 1, memory_order_relaxed);
	/* Skip the iterations left (no work), passing the stop barrier. */
	int64_t left = gb_max_iterations(st) - gb_iterations_done(st);
	if (left > 0)
		gb_keep_running_batch(st, left);
	while (gb_keep_running_batch(st, 1)) {
	}
	return 1;
}

/* ---- the run ---- */

static void pin_thread(int tid)
{
	if (!bench_cfg.pin || !bench_cfg.pin_real || bench_cfg.nr_cpu_order == 0)
		return;
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(bench_cfg.cpu_order[tid % bench_cfg.nr_cpu_order], &set);
	/* Best effort: a failure only costs placement, not correctness. */
	(void)pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

/*
 * Allocator capture: a copy of the real ops whose create also records the
 * state, so a body can call real_ops->alloc(alloc_state, ...) directly.
 * Only thread 0 creates mems, one at a time: a thread-local is enough.
 */
static _Thread_local struct bench_env *capture_env;

static int capture_create(const struct fk_alloc_params *params, unsigned nr_nodes,
                          const int *cpu_node, unsigned nr_cpus, void **state)
{
	struct bench_env *env = capture_env;
	int err = env->real_ops->create(params, nr_nodes, cpu_node, nr_cpus, state);
	if (err == 0)
		env->alloc_state = *state;
	return err;
}

/* Frames for this run: the floor, or what the threads may hold (+1/3). */
static uint64_t run_frames(const struct bench_env *env, int threads)
{
	uint64_t need = env->frames_per_thread * (uint64_t)threads;
	need += need / 3;
	uint64_t frames = bench_cfg.mem_frames;
	while (frames < need)
		frames *= 2;
	return frames;
}

static int create_mem(struct bench_env *env, int threads)
{
	struct fk_region_config regions[FK_MAX_NODES];
	unsigned nodes = env->nr_nodes > 1 ? env->nr_nodes : 1;
	uint64_t frames = run_frames(env, threads);
	uint64_t per = frames / nodes;
	per -= per % 1024; /* every region aligned for order-10 blocks */
	env->mem_frames = per * nodes;
	for (unsigned i = 0; i < nodes; i++) {
		regions[i].base = BENCH_MEM_BASE + (uint64_t)i * per * FK_PAGE_SIZE;
		regions[i].nframes = per;
		regions[i].node = (int)i;
		regions[i].flags = 0; /* managed, unbacked */
	}
	struct fk_mem_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	cfg.regions = regions;
	cfg.nr_regions = nodes;
	cfg.nr_nodes = nodes;
	const struct bench_core_variant *v = env->core ? env->core : &bench_core_variants[0];
	cfg.raw_tracking = v->raw_tracking;
#ifdef FK_BENCH_HAVE_REFCOUNT
	cfg.refcount = v->refcount;
#endif
#ifdef FK_BENCH_HAVE_LOOKUP
	cfg.lookup = v->lookup;
#endif
	cfg.allocator = env->allocator;
	cfg.alloc.lock = env->lock;
	if (env->capture_alloc) {
		env->real_ops = fk_allocator_find(env->allocator);
		if (!env->real_ops)
			return FK_ENOENT;
		env->wrap_ops = *env->real_ops;
		env->wrap_ops.create = capture_create;
		env->alloc_state = NULL;
		cfg.allocator_ops = &env->wrap_ops;
		capture_env = env;
	}
	int err = fk_mem_create(&cfg, &env->mem);
	capture_env = NULL;
	if (err == 0 && env->capture_alloc && !env->alloc_state) {
		/* The core did not call ops->create: nothing to measure. */
		fk_mem_destroy(env->mem, NULL);
		env->mem = NULL;
		return FK_EINVAL;
	}
	return err;
}

int bench_begin(gb_state *st, struct bench_env *env)
{
	int tid = gb_thread_index(st);
	memset(&bench_self, 0, sizeof(bench_self));
	bench_self.done = -1;
	pin_thread(tid);
	env->entered[tid] = 0;
	if (tid == 0) {
		env->shared = NULL;
		env->mem = NULL;
		env->setup_ok = 0;
		/* relaxed: published by the barrier below (a mutex). */
		atomic_store_explicit(&env->t_start, UINT64_MAX, memory_order_relaxed);
		atomic_store_explicit(&env->t_end, 0, memory_order_relaxed);
		atomic_store_explicit(&env->cpu_ns, 0, memory_order_relaxed);
		atomic_store_explicit(&env->items, 0, memory_order_relaxed);
		atomic_store_explicit(&env->budget_hit, 0, memory_order_relaxed);
		int err = create_mem(env, gb_thread_count(st));
		if (err == 0) {
			err = fk_thread_enter(env->mem);
			if (err == 0) {
				env->entered[0] = 1;
				if (env->setup)
					err = env->setup(env);
			}
		}
		env->setup_ok = err == 0;
		env->setup_err = err;
		env->run_start_ns = bench_now_ns();
	}
	gb_barrier_wait(env->barrier, gb_thread_count(st));
	if (env->setup_err) {
		bench_fail(st, "setup", env->setup_err);
		return -1;
	}
	if (tid != 0) {
		int err = fk_thread_enter(env->mem);
		if (err) {
			bench_fail(st, "fk_thread_enter", err);
			return -1;
		}
		env->entered[tid] = 1;
	}
	return 0;
}

static void report_clock(gb_state *st, struct bench_env *env)
{
	/* relaxed: every thread wrote these before bench_end's barrier. */
	uint64_t t0 = atomic_load_explicit(&env->t_start, memory_order_relaxed);
	uint64_t t1 = atomic_load_explicit(&env->t_end, memory_order_relaxed);
	double span = t1 > t0 && t0 != UINT64_MAX ? (double)(t1 - t0) / 1e9 : 1e-9;
	if (!bench_cfg.gbench_clock)
		gb_set_iteration_time(st, span); /* the same span in every thread */
	if (gb_thread_index(st) != 0)
		return;
	uint64_t cpu = atomic_load_explicit(&env->cpu_ns, memory_order_relaxed);
	uint64_t items = atomic_load_explicit(&env->items, memory_order_relaxed);
	/* Counters are summed over threads: only thread 0 sets these. */
	gb_counter(st, "cpu_util", (double)cpu / 1e9 / span, GB_COUNTER_DEFAULT);
	if (items)
		gb_counter(st, "cpu_ns_per_item", (double)cpu / (double)items, GB_COUNTER_DEFAULT);
	gb_counter(st, "mem_frames", (double)env->mem_frames, GB_COUNTER_DEFAULT);
}

void bench_end(gb_state *st, struct bench_env *env, int64_t items)
{
	int tid = gb_thread_index(st);
	thread_stop(env); /* no-op unless the loop was left early */
	gb_set_items_processed(st, items);
	/* relaxed: read after the barrier below. */
	atomic_fetch_add_explicit(&env->items, (uint64_t)(items > 0 ? items : 0),
	                          memory_order_relaxed);
	if (tid != 0 && env->entered[tid])
		fk_thread_leave(env->mem);
	gb_barrier_wait(env->barrier, gb_thread_count(st));
	report_clock(st, env);
	if (tid != 0)
		return;
	int over = gb_thread_count(st) > bench_cfg.nr_cpus;
	int budget = atomic_load_explicit(&env->budget_hit, memory_order_relaxed);
	if (env->label || over || budget) {
		char label[160];
		snprintf(label, sizeof(label), "%s%s%s%s%s", env->label ? env->label : "",
		         env->label && over ? ", " : "", over ? "oversubscribed" : "",
		         budget && (env->label || over) ? ", " : "", budget ? "budget hit" : "");
		gb_set_label(st, label);
	}
	if (budget)
		gb_counter(st, "budget_hit", 1, GB_COUNTER_DEFAULT);
	if (!env->mem)
		return;
	if (env->report && env->setup_ok && !gb_error_occurred(st))
		env->report(st, env);
	if (env->teardown && env->setup_ok) {
		int err = env->teardown(env);
		if (err && !gb_error_occurred(st))
			bench_fail_after(st, "teardown", err);
	}
	/*
	 * Conservation: with every handle and raw block released, the allocator
	 * must hold every frame again. The leak report below only sees slots;
	 * this catches a block lost inside an allocator or by the raw workloads.
	 */
	struct fk_alloc_stats as;
	fk_mem_alloc_drain(env->mem);
	if (env->setup_ok && !gb_error_occurred(st) && fk_mem_alloc_stats(env->mem, -1, &as) == 0 &&
	    as.free_frames != as.total_frames) {
		char msg[160];
		snprintf(msg, sizeof(msg),
		         "allocator conservation: %llu of %llu frames free after the run",
		         (unsigned long long)as.free_frames, (unsigned long long)as.total_frames);
		gb_skip_with_error(st, msg);
	}
	if (env->entered[0])
		fk_thread_leave(env->mem);
	struct fk_leak_report rep;
	memset(&rep, 0, sizeof(rep));
	int err = fk_mem_destroy(env->mem, &rep);
	env->mem = NULL;
	env->alloc_state = NULL;
	if (err && !gb_error_occurred(st)) {
		char msg[200];
		snprintf(msg, sizeof(msg),
		         "leak report not clean: %llu referenced, %llu raw (%llu refs), first "
		         "0x%llx (%s)",
		         (unsigned long long)rep.frames_referenced,
		         (unsigned long long)rep.frames_raw, (unsigned long long)rep.raw_refs,
		         (unsigned long long)rep.first_leaked_paddr, fk_strerror_name(err));
		gb_skip_with_error(st, msg);
	}
}

/* ---- latency histograms ---- */

void bench_hist_reset(struct bench_hist_shared *h)
{
	for (unsigned i = 0; i < BENCH_HIST_BUCKETS; i++)
		atomic_store_explicit(&h->n[i], 0, memory_order_relaxed); /* before the barrier */
	atomic_store_explicit(&h->max, 0, memory_order_relaxed);          /* before the barrier */
}

void bench_hist_merge(struct bench_hist_shared *into, const struct bench_hist *h)
{
	for (unsigned i = 0; i < BENCH_HIST_BUCKETS; i++)
		if (h->n[i])
			/* relaxed: read by thread 0 after bench_end's barrier. */
			atomic_fetch_add_explicit(&into->n[i], h->n[i], memory_order_relaxed);
	atomic_max_u64(&into->max, h->max);
}

/* Lower bound of a bucket, in ns (the inverse of bench_hist_bucket). */
static double bucket_ns(unsigned b)
{
	if (b < 8)
		return b;
	unsigned e = b / 8u + 2u, sub = b % 8u;
	return (double)((uint64_t)(8u + sub) << (e - 3u));
}

void bench_hist_report(gb_state *st, const char *name, struct bench_hist_shared *h)
{
	uint64_t total = 0;
	for (unsigned i = 0; i < BENCH_HIST_BUCKETS; i++)
		total += atomic_load_explicit(&h->n[i], memory_order_relaxed);
	if (!total)
		return;
	static const double qs[] = {0.50, 0.99, 0.999};
	static const char *const sfx[] = {"p50_ns", "p99_ns", "p999_ns"};
	for (int q = 0; q < 3; q++) {
		uint64_t want = (uint64_t)((double)total * qs[q]), seen = 0;
		unsigned b = 0;
		for (; b < BENCH_HIST_BUCKETS; b++) {
			seen += atomic_load_explicit(&h->n[b], memory_order_relaxed);
			if (seen > want)
				break;
		}
		char key[64];
		snprintf(key, sizeof(key), "%s_%s", name, sfx[q]);
		/* the middle of the bucket: within ~6 % of any value in it */
		double lo = bucket_ns(b), hi = b + 1 < BENCH_HIST_BUCKETS ? bucket_ns(b + 1) : lo;
		gb_counter(st, key, (lo + hi) / 2, GB_COUNTER_DEFAULT);
	}
	char key[64];
	snprintf(key, sizeof(key), "%s_max_ns", name);
	/* relaxed: merged before bench_end's barrier, read after it. */
	gb_counter(st, key, (double)atomic_load_explicit(&h->max, memory_order_relaxed),
	           GB_COUNTER_DEFAULT);
}

uint64_t bench_run_seed(struct bench_env *env, int threads)
{
	int k = threads >= 0 && threads <= BENCH_MAX_THREADS ? env->runs[threads]++ : 0;
	return bench_cfg.seed + (uint64_t)k;
}
