/* SPDX-License-Identifier: MIT */
/*
 * Schedule perturbation (test builds only: CMake option FK_SCHED_FUZZ, off
 * by default, never in a release build or a benchmark figure).
 *
 * FK_SCHED_POINT() stands before and after every atomic RMW and CAS of the
 * lock-free allocator (core/src/alloc/lockfree/) and of the core's claim,
 * release, refcount and raw paths. In an FK_SCHED_FUZZ build, once a
 * program has called fk_sched_fuzz_seed(seed != 0), each point makes a
 * per-thread seeded choice: nothing (most of the time), a sched_yield(), a
 * short spin or, rarely, a short sleep, so that a preemption lands inside
 * windows one call long far more often than on an unperturbed run (issue
 * 18, "The method").
 * Without FK_SCHED_FUZZ the macro is ((void)0) and these functions do not
 * exist. The definitions: core/src/sched_fuzz.c.
 */
#ifndef FK_SCHED_FUZZ_INTERNAL_H
#define FK_SCHED_FUZZ_INTERNAL_H

#include <stdint.h>

#ifdef FK_SCHED_FUZZ
/* Turn perturbation on with `seed` (0: off, the default). Each thread
 * derives its own stream from the seed and its order of first use. Call
 * before the threads start; a later call affects threads that have not
 * reached a point since. */
void fk_sched_fuzz_seed(uint64_t seed);
/* Points that yielded or spun since the process started (a statistic). */
uint64_t fk_sched_fuzz_hits(void);
void fk_sched_fuzz_point(void);
#define FK_SCHED_POINT() fk_sched_fuzz_point()
#else
#define FK_SCHED_POINT() ((void)0)
#endif

#endif /* FK_SCHED_FUZZ_INTERNAL_H */
