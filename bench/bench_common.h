/* SPDX-License-Identifier: MIT */
/*
 * Shared scaffolding for the framekit benchmarks.
 *
 * - The run's shape comes from the machine and the options (bench_config.c):
 *   thread counts, memory per run, blocks held per thread, NUMA mode,
 *   topology-aware pinning.
 * - One fk_mem per run, created by thread 0 before the timed loop and
 *   destroyed after it with a clean leak report and a conservation check.
 * - One honest clock for every thread count: each run reports the common
 *   span from the start barrier to the end of the last thread's work
 *   (UseManualTime), so aggregate items/s = all threads' items / span, and
 *   beside it the threads' CPU time (cpu_util, cpu_ns_per_item).
 *
 * Invariant: every thread of a run passes exactly one bench_begin and one
 * bench_end, so their barriers always see gb_thread_count() arrivals.
 */
#ifndef FRAMEKIT_BENCH_COMMON_H
#define FRAMEKIT_BENCH_COMMON_H

#include <stdatomic.h>
#include <stdint.h>

#include <framekit/framekit.h>

#include "fk_rand.h" /* per-thread PRNG (tests/fk_rand.h) */
#include "gbench_c.h"

#define BENCH_MEM_BASE       ((uint64_t)1 << 32)
#define BENCH_MAX_ALLOCATORS 16
#define BENCH_MAX_THREADS    256
#define BENCH_MAX_LIST       32

/* ---- configuration (bench_config.c) ---- */

/* One variant of the core (the axis of the core families). */
struct bench_core_variant {
	const char *name; /* "default", "raw_off", ... */
	const char *what; /* one line for --help and the JSON context */
	int raw_tracking;
	int refcount; /* FK_REFCOUNT_* once fk_mem_config has it */
	int lookup;   /* FK_LOOKUP_* once fk_mem_config has it */
};

struct bench_config {
	int threads[BENCH_MAX_LIST];
	int nr_threads;
	uint64_t mem_frames; /* floor of the simulated memory per run */
	/* blocks held per thread in alloc_raw_*, per order */
	int held_order[BENCH_MAX_LIST];
	int held_count[BENCH_MAX_LIST];
	int nr_held;
	unsigned numa_nodes; /* numa family: nodes of the run */
	int numa_real;       /* 1: real nodes (libnuma), 0: logical split */
	int pin;             /* 1: pin by topology */
	double budget_s;
	int gbench_clock; /* FK_BENCH_CLOCK=per_thread: gbench's clock, for the check */
	int nr_cpus;      /* CPUs this process may run on */
	int cpu_order[BENCH_MAX_THREADS]; /* thread i -> cpu_order[i % nr_cpu_order] */
	int nr_cpu_order;
	int pin_real;       /* the plan names real CPUs (not a synthetic topology) */
	char topology[256]; /* one line: packages, nodes, cores, PUs */
	char plan[512];     /* one line: the pinning plan */
	/* opt-in families (--family): off unless named; suite = the rest */
	int family_suite, family_frag, family_fill, family_reclaim;
	uint64_t seed;        /* --seed: base of frag's shuffle and PRNGs */
	int frag_iterations;  /* --frag=I[:R]: iterations after the fill */
	int frag_realloc;     /* percent of its frames each thread reallocates */
	char series_dir[512]; /* --series: per-iteration CSVs ("" = none) */
};

extern struct bench_config bench_cfg;
extern const char *bench_allocators[BENCH_MAX_ALLOCATORS];
extern size_t bench_nr_allocators;
extern const struct bench_core_variant bench_core_variants[];
extern const size_t bench_nr_core_variants;
/* The allocator every core family runs on. */
extern const char *bench_core_allocator;

/*
 * Parse framekit's own options out of argv (and the FK_BENCH_* variables)
 * and discover the machine. Returns -1 when main should exit with *code
 * (--help, --list-*, or a bad value: exit 2 after one line on stderr).
 */
int bench_configure(int *argc, char **argv, int *code);
/* Record the configuration in the JSON context. */
void bench_add_context(void);

/* ---- per-run environment ---- */

struct bench_env;
typedef int (*bench_hook)(struct bench_env *env);

/* One per registration (axis value x variant); lives for the whole process. */
struct bench_env {
	/* configuration, set at registration */
	const char *allocator;
	const struct bench_core_variant *core; /* NULL = default variant */
	unsigned nr_nodes;                     /* 0 or 1: no split */
	int capture_alloc;          /* expose the raw allocator (ops + state) to the body */
	const char *lock;           /* fk_alloc_params.lock (NULL = allocator default) */
	const char *label;          /* reported label (oversubscription is appended) */
	int64_t p[4];               /* benchmark parameters */
	uint64_t frames_per_thread; /* memory the body may hold per thread */
	bench_hook setup;           /* thread 0, mem entered, before the start barrier */
	bench_hook teardown;        /* thread 0, after every other thread finished */
	/* thread 0, after every thread finished, before teardown: counters */
	void (*report)(gb_state *st, struct bench_env *env);
	gb_barrier *barrier;

	/* per run, published by thread 0 before the first barrier */
	fk_mem *mem;
	uint64_t mem_frames;
	int setup_err;
	int setup_ok;
	uint64_t run_start_ns;
	int entered[BENCH_MAX_THREADS];
	void *shared;
	fk_segment seg; /* a segment owned by the run (setup/teardown hooks) */
	const struct fk_allocator_ops *real_ops; /* when capture_alloc */
	void *alloc_state;
	struct fk_allocator_ops wrap_ops;
	/* the run's clock: min of the threads' starts, max of their ends */
	_Atomic uint64_t t_start;
	_Atomic uint64_t t_end;
	_Atomic uint64_t cpu_ns;
	_Atomic uint64_t items;
	_Atomic int budget_hit;
	int runs[BENCH_MAX_THREADS + 1]; /* runs so far per thread count (seeds) */
	struct bench_env *next_env;      /* registry, freed by bench_fini */
};

void bench_init(void);
void bench_fini(void);
struct bench_env *bench_env_new(const char *allocator);
struct bench_env *bench_env_core(const struct bench_core_variant *v);
/*
 * Register fn as "<name>" over the configured thread counts, timed by the
 * run's common span (manual time). name is "<family>/<axis value>/...".
 */
gb_bench *bench_register(const char *name, gb_fn fn, struct bench_env *env);
gb_bench *bench_threads(gb_bench *b);

/*
 * Before the loop: pin, thread 0 creates the mem and runs env->setup,
 * barrier, every thread enters. Returns 0, or -1 after the run was failed
 * (the caller must still call bench_end).
 */
int bench_begin(gb_state *st, struct bench_env *env);
/*
 * After the loop and after the thread released what it owns: reports the
 * thread's items, leave, barrier, sets the common span as every thread's
 * time, thread 0 runs env->teardown, checks conservation and destroys the
 * mem (failing the run on a leak).
 */
void bench_end(gb_state *st, struct bench_env *env, int64_t items);

/* ---- the timed loop ---- */

struct bench_thread {
	int64_t left;  /* iterations left before the final keep_running */
	int started;   /* passed the start barrier */
	int stopped;   /* own work ended (final batch or budget) */
	int64_t done;  /* iterations done when the budget stopped the thread */
	uint64_t cpu0; /* thread CPU time at the start */
};
extern _Thread_local struct bench_thread bench_self;

int bench_keep_running_slow(gb_state *st, struct bench_env *env, int64_t n);
/*
 * The loop condition of every body: gb_keep_running_batch plus the clock.
 * The first call passes gbench's start barrier and records the thread's
 * start; the call that finds no iteration left records the end of the
 * thread's own work before gbench's stop barrier.
 */
static inline int bench_keep_running(gb_state *st, struct bench_env *env, int64_t n)
{
	if (__builtin_expect(bench_self.left >= n, 1)) {
		bench_self.left -= n;
		return gb_keep_running_batch(st, n);
	}
	return bench_keep_running_slow(st, env, n);
}
/* Iterations this thread really ran (not those skipped after the budget). */
int64_t bench_iterations(gb_state *st);

/*
 * Per-run wall-clock budget (FK_BENCH_BUDGET seconds, default 2). Spinlock
 * baselines with more threads than CPUs can convoy and run at a few thousand
 * ops/s. A body that touches the allocator calls this once per batch; past
 * the budget the thread's work ends there (its items and the span up to that
 * point are what the run reports, so the rate stays exact) and the run is
 * labelled "budget hit". Returns 1: leave the loop.
 */
int bench_over_budget(gb_state *st, struct bench_env *env);

/* Fail this thread's run, before or inside the loop, or after it. */
void bench_fail(gb_state *st, const char *what, int err);
void bench_fail_after(gb_state *st, const char *what, int err);

/* ---- latency sampling (log-linear histogram, ~12 % resolution) ---- */

#define BENCH_HIST_BUCKETS 384
struct bench_hist {
	uint64_t n[BENCH_HIST_BUCKETS];
	uint64_t max; /* the largest sample, exact */
};
static inline unsigned bench_hist_bucket(uint64_t ns)
{
	if (ns < 8)
		return (unsigned)ns;
	unsigned e = 63u - (unsigned)__builtin_clzll(ns);
	unsigned b = (e - 2u) * 8u + (unsigned)((ns >> (e - 3u)) & 7u);
	return b < BENCH_HIST_BUCKETS ? b : BENCH_HIST_BUCKETS - 1;
}
static inline void bench_hist_add(struct bench_hist *h, uint64_t ns)
{
	h->n[bench_hist_bucket(ns)]++;
	if (ns > h->max)
		h->max = ns;
}
/* Shared histogram of a run: threads merge into it, thread 0 reports. */
struct bench_hist_shared {
	_Atomic uint64_t n[BENCH_HIST_BUCKETS];
	_Atomic uint64_t max;
};
void bench_hist_merge(struct bench_hist_shared *into, const struct bench_hist *h);
void bench_hist_reset(struct bench_hist_shared *h);
/*
 * Counters "<name>_p50_ns", "_p99_ns", "_p999_ns" (p99.9: the middle of
 * the bucket, ~6 %) and "_max_ns" (the largest sample, exact). Call from
 * one thread only.
 */
void bench_hist_report(gb_state *st, const char *name, struct bench_hist_shared *h);

uint64_t bench_now_ns(void);
uint64_t bench_thread_cpu_ns(void);
/* Median cost of two back-to-back bench_now_ns() calls (subtracted from samples). */
extern uint64_t bench_clock_overhead_ns;

/* Registration entry points, one per family file. */
void bench_register_overhead(void);
void bench_register_segment(void);
void bench_register_shared(void);
void bench_register_lookup(void);
void bench_register_alloc(void);
void bench_register_numa(void);
void bench_register_contended(void);
/* Opt-in families (--family): each registers nothing unless named. */
void bench_register_frag(void);
void bench_register_fill(void);
void bench_register_reclaim(void);
/* Seed of the k-th run of env at this thread count (--seed + k). */
uint64_t bench_run_seed(struct bench_env *env, int threads);

#endif /* FRAMEKIT_BENCH_COMMON_H */
