/* SPDX-License-Identifier: MIT */
/*
 * Schedule perturbation points (contract: sched_fuzz_internal.h). Built
 * only with FK_SCHED_FUZZ; otherwise this file is empty.
 *
 * Each thread keeps its own xorshift stream, seeded from the global seed
 * and the thread's order of first use, and a rate that it redraws every
 * 1024 points, so that a run mixes calm phases with phases where one
 * point in 2, 8 or 64 acts (a fixed rate either hides the windows or
 * drowns them). A point that acts spins for 1 to 256 pauses or yields
 * (half each), or, one time in 16, sleeps for 1 to 206 us: under Linux's
 * CFS a sched_yield() often hands the CPU straight back, and on the code
 * before the fixes of issue 18 defect 1 (a window between two RMWs of one
 * free) was reached only once points could also sleep
 * (results/sched-fuzz/). The seed and the two counters are the only
 * process-wide state, and exist only in this test build.
 */
#include "sched_fuzz_internal.h"

#ifdef FK_SCHED_FUZZ
#include <sched.h>
#include <time.h>
#include <stdatomic.h>

/* relaxed: read once per thread at its first point; fk_sched_fuzz_seed is
 * called before the threads that it should affect start (pthread_create
 * orders it before them). */
static _Atomic uint64_t fk_sf_seed;
/* relaxed: hands out distinct thread ordinals; no data hangs on it. */
static _Atomic uint64_t fk_sf_threads;
/* relaxed: a statistic. */
static _Atomic uint64_t fk_sf_hits;

struct fk_sf_thread {
	uint64_t seed; /* the seed this stream was derived from; 0 = not yet */
	uint64_t x;    /* xorshift64 state */
	unsigned left; /* points until the rate is redrawn */
	unsigned shift; /* perturb one point in 2^shift; 0 = calm phase */
};
static _Thread_local struct fk_sf_thread fk_sf_tl;

static inline void fk_sf_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#else
	atomic_signal_fence(memory_order_seq_cst); /* compiler only: a short spin */
#endif
}

static uint64_t fk_sf_mix(uint64_t z)
{
	z += 0x9e3779b97f4a7c15ull;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t fk_sf_next(struct fk_sf_thread *t)
{
	t->x ^= t->x << 13;
	t->x ^= t->x >> 7;
	t->x ^= t->x << 17;
	return t->x;
}

void fk_sched_fuzz_seed(uint64_t seed)
{
	atomic_store_explicit(&fk_sf_threads, 0, memory_order_relaxed);
	atomic_store_explicit(&fk_sf_seed, seed, memory_order_relaxed);
}

uint64_t fk_sched_fuzz_hits(void)
{
	return atomic_load_explicit(&fk_sf_hits, memory_order_relaxed);
}

void fk_sched_fuzz_point(void)
{
	struct fk_sf_thread *t = &fk_sf_tl;
	uint64_t seed = atomic_load_explicit(&fk_sf_seed, memory_order_relaxed);
	if (seed == 0)
		return;
	if (t->seed != seed) {
		uint64_t id = atomic_fetch_add_explicit(&fk_sf_threads, 1, memory_order_relaxed);
		t->seed = seed;
		t->x = fk_sf_mix(seed ^ fk_sf_mix(id + 1)) | 1;
		t->left = 0;
	}
	if (t->left-- == 0) {
		static const unsigned shifts[8] = {0, 0, 1, 3, 3, 6, 6, 6};
		t->left = 1024;
		t->shift = shifts[fk_sf_next(t) & 7];
		if (t->shift == 0)
			t->left = 256; /* calm phases are short */
	}
	if (t->shift == 0)
		return;
	uint64_t r = fk_sf_next(t);
	if ((r & ((1ull << t->shift) - 1)) != 0)
		return;
	atomic_fetch_add_explicit(&fk_sf_hits, 1, memory_order_relaxed);
	if ((r >> 48 & 15) == 0) {
		struct timespec ts = {0, (long)(1000 + (r >> 52) * 50)};
		nanosleep(&ts, NULL);
	} else if (r & (1ull << 32)) {
		sched_yield();
	} else {
		unsigned spins = 1u + (unsigned)((r >> 40) & 255);
		for (volatile unsigned i = 0; i < spins; i++)
			fk_sf_relax();
	}
}
#else
typedef int fk_sched_fuzz_unused; /* ISO C wants a non-empty unit */
#endif
