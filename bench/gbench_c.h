/* SPDX-License-Identifier: MIT */
/*
 * gbench_c.h: a thin plain-C face for Google Benchmark 1.7.1.
 *
 * Benchmark bodies are C functions `void fn(gb_state *st, void *arg)`;
 * gbench_shim.cc (the only file that includes <benchmark/benchmark.h>)
 * forwards every call to benchmark::State / benchmark::internal::Benchmark.
 *
 * Threads: with gb_threads()/gb_thread_range() the body runs concurrently
 * in N threads, each with its own gb_state. Shared per-run setup goes in
 * thread 0 before the first gb_keep_running*() and teardown after the loop
 * (see gb_barrier below: the first and last keep_running are gbench's own
 * start/stop barriers, but work done *before* the first one or *after* the
 * last one by other threads needs an explicit barrier).
 *
 * Cost: one call across the language boundary per gb_keep_running() (about
 * 1 ns without LTO); use gb_keep_running_batch() for nanosecond-scale bodies.
 */
#ifndef FRAMEKIT_BENCH_GBENCH_C_H
#define FRAMEKIT_BENCH_GBENCH_C_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct gb_state gb_state; /* benchmark::State */
typedef struct gb_bench gb_bench; /* benchmark::internal::Benchmark */
typedef void (*gb_fn)(gb_state *st, void *arg);

/* Counter flags: the values of benchmark::Counter::Flags in 1.7.1. */
enum {
	GB_COUNTER_DEFAULT = 0,
	GB_COUNTER_RATE = 1 << 0,                /* divide by (real or cpu) time */
	GB_COUNTER_AVG_THREADS = 1 << 1,         /* average over threads, not sum */
	GB_COUNTER_ITERATION_INVARIANT = 1 << 2, /* multiply by iterations */
	GB_COUNTER_AVG_ITERATIONS = 1 << 3,      /* divide by iterations */
	GB_COUNTER_INVERT = 1 << 4,              /* report 1/value */
};

/* Time units for gb_unit(). */
enum { GB_NS = 0, GB_US = 1, GB_MS = 2, GB_S = 3 };

/* ---- registration (chainable; every setter returns its argument) ---- */
gb_bench *gb_register(const char *name, gb_fn fn, void *arg);
gb_bench *gb_arg(gb_bench *b, int64_t x);
gb_bench *gb_args(gb_bench *b, const int64_t *xs, size_t n);
gb_bench *gb_range(gb_bench *b, int64_t lo, int64_t hi);
gb_bench *gb_dense_range(gb_bench *b, int64_t lo, int64_t hi, int step);
gb_bench *gb_range_multiplier(gb_bench *b, int multiplier);
gb_bench *gb_arg_name(gb_bench *b, const char *name);
gb_bench *gb_threads(gb_bench *b, int n);
gb_bench *gb_thread_range(gb_bench *b, int lo, int hi); /* lo, 2lo, 4lo, ..., hi */
gb_bench *gb_thread_list(gb_bench *b, const int *ns, size_t n);
gb_bench *gb_use_real_time(gb_bench *b);
/* The body reports its time with gb_set_iteration_time (UseManualTime). */
gb_bench *gb_use_manual_time(gb_bench *b);
gb_bench *gb_measure_process_cpu_time(gb_bench *b);
gb_bench *gb_unit(gb_bench *b, int unit);
gb_bench *gb_min_time(gb_bench *b, double seconds);
gb_bench *gb_iterations(gb_bench *b, int64_t n);
gb_bench *gb_repetitions(gb_bench *b, int n);

/* ---- in the benchmark body ---- */
int gb_keep_running(gb_state *st);
/* Runs n iterations per true; may overshoot the target by up to n. */
int gb_keep_running_batch(gb_state *st, int64_t n);
int64_t gb_range_arg(const gb_state *st, size_t i);
int gb_thread_index(const gb_state *st);
int gb_thread_count(const gb_state *st);
int64_t gb_iterations_done(const gb_state *st);
/* The per-thread iteration target of this run (valid after the first keep_running). */
int64_t gb_max_iterations(const gb_state *st);
/* Only inside the loop (1.7.1 aborts otherwise); each costs microseconds. */
void gb_pause_timing(gb_state *st);
void gb_resume_timing(gb_state *st);
/*
 * Marks the run failed. Use it as is only AFTER the loop (keep_running
 * returned false). Before or inside the loop use gb_skip_and_finish: in a
 * multi-threaded run every thread must pass gbench's start and stop
 * barriers (inside keep_running), or the others wait forever.
 */
void gb_skip_with_error(gb_state *st, const char *msg);
/*
 * Fail the run before or inside the loop: SkipWithError, then call
 * keep_running until it returns false, which passes the barriers the other
 * threads are waiting at. Afterwards leave the loop and do not call
 * keep_running again.
 */
void gb_skip_and_finish(gb_state *st, const char *msg);
int gb_error_occurred(const gb_state *st);
void gb_set_label(gb_state *st, const char *label);
void gb_set_items_processed(gb_state *st, int64_t n);
/* Manual time: adds seconds to this thread's time (per thread, averaged over threads). */
void gb_set_iteration_time(gb_state *st, double seconds);
void gb_set_bytes_processed(gb_state *st, int64_t n);
void gb_counter(gb_state *st, const char *name, double value, int flags);

/*
 * A reusable barrier for the thread-0 pattern: every thread of a run calls
 * gb_barrier_wait(b, gb_thread_count(st)). Blocking (mutex + condvar), so it
 * is fine under oversubscription; use it outside the timed loop only.
 */
typedef struct gb_barrier gb_barrier;
gb_barrier *gb_barrier_new(void);
void gb_barrier_free(gb_barrier *b);
void gb_barrier_wait(gb_barrier *b, int nthreads);

/*
 * Initialize, reject unknown flags, run what --benchmark_filter selects,
 * shut down. Returns 0 on success, 1 when a run failed (any
 * gb_skip_with_error) or the filter matched nothing, 2 on an unknown flag
 * (one line on stderr each).
 */
int gb_main(int argc, char **argv);
/* A C++ range-for empty benchmark: the baseline for the wrapper's overhead. */
void gb_register_native_empty(const char *name);
/* Add a key/value to the JSON "context" (like --benchmark_context). */
void gb_add_context(const char *key, const char *value);

/* Keep a value (and what it points to) alive / force memory to be written. */
#if defined(__GNUC__)
#define gb_do_not_optimize(v) __asm__ volatile("" : : "r,m"(v) : "memory")
#define gb_clobber_memory()   __asm__ volatile("" : : : "memory")
#else
#error "gbench_c.h needs GCC-style inline asm"
#endif

#ifdef __cplusplus
}
#endif

#endif /* FRAMEKIT_BENCH_GBENCH_C_H */
