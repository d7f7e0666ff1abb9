/* SPDX-License-Identifier: MIT */
// gbench_shim.cc: the C face of Google Benchmark 1.7.1 (see gbench_c.h).
// The only translation unit that includes <benchmark/benchmark.h>; the
// opaque gb_state / gb_bench pointers are benchmark::State* and
// benchmark::internal::Benchmark* cast through.
#include "gbench_c.h"

#include <benchmark/benchmark.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <string>
#include <vector>

namespace
{

inline benchmark::State &S(gb_state *st)
{
	return *reinterpret_cast<benchmark::State *>(st);
}
inline const benchmark::State &S(const gb_state *st)
{
	return *reinterpret_cast<const benchmark::State *>(st);
}
inline benchmark::internal::Benchmark *B(gb_bench *b)
{
	return reinterpret_cast<benchmark::internal::Benchmark *>(b);
}
inline gb_bench *G(benchmark::internal::Benchmark *b)
{
	return reinterpret_cast<gb_bench *>(b);
}

benchmark::Counter::Flags counter_flags(int flags)
{
	int f = 0;
	if (flags & GB_COUNTER_RATE)
		f |= benchmark::Counter::kIsRate;
	if (flags & GB_COUNTER_AVG_THREADS)
		f |= benchmark::Counter::kAvgThreads;
	if (flags & GB_COUNTER_ITERATION_INVARIANT)
		f |= benchmark::Counter::kIsIterationInvariant;
	if (flags & GB_COUNTER_AVG_ITERATIONS)
		f |= benchmark::Counter::kAvgIterations;
	if (flags & GB_COUNTER_INVERT)
		f |= benchmark::Counter::kInvert;
	return static_cast<benchmark::Counter::Flags>(f);
}

// Set by every failed run; gb_main's exit status.
std::atomic<int> g_failed_runs{0};

} // namespace

struct gb_barrier {
	std::mutex mu;
	std::condition_variable cv;
	int arrived = 0;
	unsigned long generation = 0;
};

extern "C" {

gb_bench *gb_register(const char *name, gb_fn fn, void *arg)
{
	return G(benchmark::RegisterBenchmark(
	    name, [fn, arg](benchmark::State &s) { fn(reinterpret_cast<gb_state *>(&s), arg); }));
}
gb_bench *gb_arg(gb_bench *b, int64_t x)
{
	return G(B(b)->Arg(x));
}
gb_bench *gb_args(gb_bench *b, const int64_t *xs, size_t n)
{
	return G(B(b)->Args(std::vector<int64_t>(xs, xs + n)));
}
gb_bench *gb_range(gb_bench *b, int64_t lo, int64_t hi)
{
	return G(B(b)->Range(lo, hi));
}
gb_bench *gb_dense_range(gb_bench *b, int64_t lo, int64_t hi, int step)
{
	return G(B(b)->DenseRange(lo, hi, step));
}
gb_bench *gb_range_multiplier(gb_bench *b, int m)
{
	return G(B(b)->RangeMultiplier(m));
}
gb_bench *gb_arg_name(gb_bench *b, const char *name)
{
	return G(B(b)->ArgName(name));
}
gb_bench *gb_threads(gb_bench *b, int n)
{
	return G(B(b)->Threads(n));
}
gb_bench *gb_thread_range(gb_bench *b, int lo, int hi)
{
	return G(B(b)->ThreadRange(lo, hi));
}
gb_bench *gb_thread_list(gb_bench *b, const int *ns, size_t n)
{
	for (size_t i = 0; i < n; i++)
		B(b)->Threads(ns[i]);
	return b;
}
gb_bench *gb_use_real_time(gb_bench *b)
{
	return G(B(b)->UseRealTime());
}
gb_bench *gb_use_manual_time(gb_bench *b)
{
	return G(B(b)->UseManualTime());
}
gb_bench *gb_measure_process_cpu_time(gb_bench *b)
{
	return G(B(b)->MeasureProcessCPUTime());
}
gb_bench *gb_unit(gb_bench *b, int unit)
{
	return G(B(b)->Unit(static_cast<benchmark::TimeUnit>(unit)));
}
gb_bench *gb_min_time(gb_bench *b, double seconds)
{
	return G(B(b)->MinTime(seconds));
}
gb_bench *gb_iterations(gb_bench *b, int64_t n)
{
	return G(B(b)->Iterations(n));
}
gb_bench *gb_repetitions(gb_bench *b, int n)
{
	return G(B(b)->Repetitions(n));
}

int gb_keep_running(gb_state *st)
{
	return S(st).KeepRunning();
}
int gb_keep_running_batch(gb_state *st, int64_t n)
{
	return S(st).KeepRunningBatch(n);
}
int64_t gb_range_arg(const gb_state *st, size_t i)
{
	return S(st).range(i);
}
int gb_thread_index(const gb_state *st)
{
	return S(st).thread_index();
}
int gb_thread_count(const gb_state *st)
{
	return S(st).threads();
}
int64_t gb_iterations_done(const gb_state *st)
{
	return S(st).iterations();
}
int64_t gb_max_iterations(const gb_state *st)
{
	return S(st).max_iterations;
}
void gb_pause_timing(gb_state *st)
{
	S(st).PauseTiming();
}
void gb_resume_timing(gb_state *st)
{
	S(st).ResumeTiming();
}
void gb_skip_with_error(gb_state *st, const char *msg)
{
	g_failed_runs.fetch_add(1, std::memory_order_relaxed); // read after the runs
	S(st).SkipWithError(msg);
}
void gb_skip_and_finish(gb_state *st, const char *msg)
{
	g_failed_runs.fetch_add(1, std::memory_order_relaxed); // read after the runs
	S(st).SkipWithError(msg);
	while (S(st).KeepRunning()) {
	}
}
int gb_error_occurred(const gb_state *st)
{
	return S(st).error_occurred();
}
void gb_set_label(gb_state *st, const char *label)
{
	S(st).SetLabel(label);
}
void gb_set_items_processed(gb_state *st, int64_t n)
{
	S(st).SetItemsProcessed(n);
}
void gb_set_bytes_processed(gb_state *st, int64_t n)
{
	S(st).SetBytesProcessed(n);
}
void gb_set_iteration_time(gb_state *st, double seconds)
{
	S(st).SetIterationTime(seconds);
}
void gb_counter(gb_state *st, const char *name, double value, int flags)
{
	S(st).counters[name] = benchmark::Counter(value, counter_flags(flags));
}

gb_barrier *gb_barrier_new(void)
{
	return new gb_barrier();
}
void gb_barrier_free(gb_barrier *b)
{
	delete b;
}
void gb_barrier_wait(gb_barrier *b, int nthreads)
{
	std::unique_lock<std::mutex> lk(b->mu);
	unsigned long gen = b->generation;
	if (++b->arrived == nthreads) {
		b->arrived = 0;
		b->generation++;
		b->cv.notify_all();
		return;
	}
	b->cv.wait(lk, [b, gen] { return b->generation != gen; });
}

void gb_register_native_empty(const char *name)
{
	benchmark::RegisterBenchmark(name, [](benchmark::State &s) {
		for (auto _ : s)
			benchmark::ClobberMemory(); // as the C bodies: a barrier per iteration
		s.SetItemsProcessed(s.iterations());
	})->UseRealTime();
}

void gb_add_context(const char *key, const char *value)
{
	benchmark::AddCustomContext(key, value);
}

int gb_main(int argc, char **argv)
{
	benchmark::Initialize(&argc, argv);
	for (int i = 1; i < argc; i++) {
		std::fprintf(stderr, "framekit_bench: unknown option '%s' (try --help)\n", argv[i]);
		return 2;
	}
	size_t ran = benchmark::RunSpecifiedBenchmarks();
	benchmark::Shutdown();
	if (ran == 0) {
		std::fprintf(stderr, "framekit_bench: the filter matched no benchmark\n");
		return 1;
	}
	int failed = g_failed_runs.load(std::memory_order_relaxed);
	if (failed) {
		std::fprintf(stderr,
		             "framekit_bench: %d thread(s) of failed runs (see error_message)\n",
		             failed);
		return 1;
	}
	return 0;
}

} // extern "C"
