/*
 * Shared scaffolding for the framekit benchmarks: one fk_mem per run,
 * created by thread 0 before the timed loop and destroyed (with a clean leak
 * report required) after it; every thread pinned round-robin to a CPU and
 * registered with fk_thread_enter/leave; every benchmark registered once per
 * allocator and per thread count.
 */
#ifndef FRAMEKIT_BENCH_COMMON_H
#define FRAMEKIT_BENCH_COMMON_H

#include <stdint.h>

#include <framekit/framekit.h>

#include "gbench_c.h"

/* 1 GiB of simulated (unbacked) frames: 16 threads never hit ENOMEM. */
#define BENCH_MEM_FRAMES     ((uint64_t)262144)
#define BENCH_MEM_BASE       ((uint64_t)1 << 32)
#define BENCH_MAX_ALLOCATORS 16
#define BENCH_MAX_THREADS    64

struct bench_env;
typedef int (*bench_hook)(struct bench_env *env);

/* One per registration (allocator x variant); lives for the whole process. */
struct bench_env {
	/* configuration, set at registration */
	const char *allocator;
	unsigned nr_nodes;   /* 0 or 1: no split; >1: logical split */
	int raw_tracking;    /* fk_mem_config.raw_tracking */
	int capture_alloc;   /* expose the raw allocator (ops + state) to the body */
	const char *lock;    /* fk_alloc_params.lock (NULL = allocator default) */
	const char *label;   /* reported label (oversubscription is appended) */
	int64_t p[4];        /* benchmark parameters */
	bench_hook setup;    /* thread 0, mem entered, before the start barrier */
	bench_hook teardown; /* thread 0, after every other thread finished */
	gb_barrier *barrier;

	/* per run, published by thread 0 before the barrier */
	fk_mem *mem;
	int setup_err;
	int setup_ok;
	uint64_t run_start_ns;
	int entered[BENCH_MAX_THREADS];
	void *shared;
	fk_segment seg; /* a segment owned by the run (setup/teardown hooks) */
	const struct fk_allocator_ops *real_ops; /* when capture_alloc */
	void *alloc_state;
	struct fk_allocator_ops wrap_ops;
	struct bench_env *next_env; /* registry, freed by bench_fini */
};

/* Allocators compiled into the library (fk_allocator_names). */
extern const char *bench_allocators[BENCH_MAX_ALLOCATORS];
extern size_t bench_nr_allocators;
extern int bench_nr_cpus;

void bench_init(void);
/* Free every bench_env (after gb_main returned). */
void bench_fini(void);
int bench_pinning(void);
struct bench_env *bench_env_new(const char *allocator);
/*
 * Register fn as "<name>" over the standard thread list (1,2,4,8,16),
 * UseRealTime. name should contain the allocator, e.g.
 * "alloc_repeat/lockfree/order:0".
 */
gb_bench *bench_register(const char *name, gb_fn fn, struct bench_env *env);
/* The standard thread list and UseRealTime on an already registered benchmark. */
gb_bench *bench_threads_real_time(gb_bench *b);

/*
 * Before the loop: pin, thread 0 creates the mem and runs env->setup,
 * barrier, every thread enters. Returns 0, or -1 after skip_with_error (the
 * caller must still call bench_end).
 */
int bench_begin(gb_state *st, struct bench_env *env);
/*
 * After the loop (and after the thread released what it owns): leave,
 * barrier, thread 0 runs env->teardown, destroys the mem and fails the run
 * if the leak report is not clean. Also labels oversubscribed runs.
 */
void bench_end(gb_state *st, struct bench_env *env);

/*
 * Per-run wall-clock budget (FK_BENCH_BUDGET seconds, default 2). Spinlock
 * baselines with more threads than CPUs can convoy (the next ticket holder
 * is descheduled) and run at a few thousand ops/s; a body that touches the
 * allocator calls this once per batch and, past the budget, fails the run
 * with "timeout: ..." and an estimate of its rate, then leaves the loop.
 */
extern double bench_budget_s;
int bench_over_budget(gb_state *st, struct bench_env *env);

/*
 * Fail this thread's run with a framekit error, before or inside the loop
 * (gb_skip_and_finish: the caller then leaves the loop) or after it.
 */
void bench_fail(gb_state *st, const char *what, int err);
void bench_fail_after(gb_state *st, const char *what, int err);

/* Small per-thread PRNG (xorshift64*). */
static inline uint64_t bench_rand(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1DULL;
}

/* Monotonic nanoseconds (for the per-phase counters). */
uint64_t bench_now_ns(void);

/* Registration entry points, one per family file. */
void bench_register_overhead(void);
void bench_register_segment(void);
void bench_register_shared(void);
void bench_register_lookup(void);
void bench_register_alloc(void);
void bench_register_numa(void);

#endif /* FRAMEKIT_BENCH_COMMON_H */
