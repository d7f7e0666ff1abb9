/* SPDX-License-Identifier: MIT */
/*
 * Counting / fault-injecting allocator wrapper of the stress suite
 * (sc_wrap.c).
 *
 * Wraps a real allocator's ops table. Counts every frame handed out and
 * every frame returned (so the run can check "allocated == freed + held"
 * from the allocator's side of the interface), keeps the frame tracker
 * (sc_track.h) up to date, and, when armed, fails alloc() /
 * add_free_memory() with FK_ENOMEM at random points. One wrapped fk_mem at
 * a time per process (the real ops are a global).
 */
#ifndef FK_SC_WRAP_H
#define FK_SC_WRAP_H

#include <stdatomic.h>
#include <stdint.h>

#include <framekit/framekit.h>

struct sc_wrap_stats {
	_Atomic uint64_t alloc_calls, alloc_frames, dealloc_calls, dealloc_frames;
	_Atomic uint64_t injected_alloc, injected_add;
	_Atomic uint64_t dealloc_errors;
	_Atomic uint64_t injected_refusals;
};
extern struct sc_wrap_stats sc_wstats;
extern atomic_int sc_fault_armed; /* 0 during fk_mem_create */
/* The next this-many remove_free_memory() calls answer FK_EBUSY without
 * asking the real allocator (tests of the removal oracle). */
extern atomic_int sc_fault_refuse_removals;

/* Seed this thread's fault-injection PRNG. */
void sc_fault_seed(uint64_t seed);

/* Build the wrapper around `real`; optional callbacks stay NULL if absent.
 * Resets the counts and the frame tracker; faults stay disarmed until the
 * caller sets sc_fault_armed. */
const struct fk_allocator_ops *sc_wrap(const struct fk_allocator_ops *real, double fault_p);

#endif /* FK_SC_WRAP_H */
