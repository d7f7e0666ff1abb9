/* SPDX-License-Identifier: MIT */
/*
 * Counting / fault-injecting allocator wrapper (interface: sc_wrap.h).
 * Every call into the real allocator goes through here: the counts, the
 * injected failures and the frame tracker's words (sc_track.c) change
 * around it.
 */
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <framekit/framekit.h>

#include "fk_rand.h"
#include "sc_track.h"
#include "sc_wrap.h"

static const struct fk_allocator_ops *sc_real_ops;
static struct fk_allocator_ops sc_wrap_ops;
struct sc_wrap_stats sc_wstats;
static double sc_fault_p;         /* set before threads start */
atomic_int sc_fault_armed; /* 0 during fk_mem_create */
atomic_int sc_fault_refuse_removals;
static _Thread_local uint64_t sc_fault_rng = 0x1234567u;

struct sc_wrap_state {
	const struct fk_allocator_ops *real;
	void *st;
};

void sc_fault_seed(uint64_t seed)
{
	sc_fault_rng = fk_rand_mix(seed) | 1;
}

static int sc_fault_roll(void)
{
	return atomic_load_explicit(&sc_fault_armed, memory_order_relaxed) &&
	       fk_rand_chance(&sc_fault_rng, sc_fault_p);
}

static int sc_wrap_create(const struct fk_alloc_params *params, unsigned nr_nodes,
                          const int *cpu_node, unsigned nr_cpus, void **state)
{
	struct sc_wrap_state *ws = calloc(1, sizeof(*ws));
	if (!ws)
		return FK_ENOMEM;
	ws->real = sc_real_ops;
	int rc = ws->real->create(params, nr_nodes, cpu_node, nr_cpus, &ws->st);
	if (rc) {
		free(ws);
		return rc;
	}
	*state = ws;
	return 0;
}

static void sc_wrap_destroy(void *state)
{
	struct sc_wrap_state *ws = state;
	ws->real->destroy(ws->st);
	free(ws);
}

static int sc_wrap_alloc(void *state, uint64_t nframes, unsigned align_order, int node,
                         unsigned flags, uint64_t *paddr)
{
	struct sc_wrap_state *ws = state;
	if (sc_fault_roll()) {
		sc_tl_injected++;
		atomic_fetch_add_explicit(&sc_wstats.injected_alloc, 1, memory_order_relaxed);
		return FK_ENOMEM;
	}
	int me = sc_slot_me();
	sc_slot_enter(me);
	int rc = ws->real->alloc(ws->st, nframes, align_order, node, flags, paddr);
	if (rc == 0) {
		uint64_t dup = sc_track_take(*paddr, nframes);
		if (dup != UINT64_MAX)
			fprintf(stderr,
			        "DOUBLE ALLOCATION: alloc(%" PRIu64 ") -> 0x%" PRIx64
			        " handed out frame 0x%" PRIx64 ", which an earlier allocation "
			        "still holds (no dealloc of it had begun)\n",
			        nframes, *paddr, dup);
		atomic_fetch_add_explicit(&sc_wstats.alloc_calls, 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&sc_wstats.alloc_frames, nframes, memory_order_relaxed);
	}
	sc_slot_leave(me);
	return rc;
}

static int sc_wrap_dealloc(void *state, uint64_t paddr, uint64_t nframes)
{
	struct sc_wrap_state *ws = state;
	uint64_t stamp = sc_track_move(paddr, nframes, SC_HELD, 0, SC_FREEING);
	int rc = ws->real->dealloc(ws->st, paddr, nframes);
	/* Only our own FREEING words (sc_track.c: a late second move). */
	sc_track_move(paddr, nframes, SC_FREEING, stamp, rc == 0 ? SC_FREE : SC_HELD);
	if (rc == 0) {
		atomic_fetch_add_explicit(&sc_wstats.dealloc_calls, 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&sc_wstats.dealloc_frames, nframes, memory_order_relaxed);
	} else {
		atomic_fetch_add_explicit(&sc_wstats.dealloc_errors, 1, memory_order_relaxed);
		fprintf(stderr, "WRAP: dealloc(0x%" PRIx64 ", %" PRIu64 ") -> %s\n", paddr, nframes,
		        fk_strerror_name(rc));
	}
	return rc;
}

static int sc_wrap_add(void *state, uint64_t paddr, uint64_t nframes, int node)
{
	struct sc_wrap_state *ws = state;
	if (sc_fault_roll()) {
		atomic_fetch_add_explicit(&sc_wstats.injected_add, 1, memory_order_relaxed);
		return FK_ENOMEM;
	}
	int rc = ws->real->add_free_memory(ws->st, paddr, nframes, node);
	/* CAS, not a store: an allocation may have taken (and marked HELD)
	 * some of the frames between the add and this line. */
	if (rc == 0)
		sc_track_move(paddr, nframes, SC_ABSENT, 0, SC_FREE);
	return rc;
}

static int sc_wrap_remove(void *state, uint64_t paddr, uint64_t nframes)
{
	struct sc_wrap_state *ws = state;
	int me = sc_slot_me();
	struct sc_call call;
	sc_call_begin(&call);
	sc_slot_enter(me);
	int rc;
	int inject = atomic_load_explicit(&sc_fault_refuse_removals, memory_order_relaxed);
	if (inject > 0 && atomic_compare_exchange_strong_explicit(&sc_fault_refuse_removals,
	                                                          &inject, inject - 1,
	                                                          memory_order_relaxed,
	                                                          memory_order_relaxed)) {
		atomic_fetch_add_explicit(&sc_wstats.injected_refusals, 1, memory_order_relaxed);
		rc = FK_EBUSY;
	} else {
		rc = ws->real->remove_free_memory(ws->st, paddr, nframes);
	}
	if (rc == 0)
		sc_track_mark(paddr, nframes, SC_ABSENT);
	sc_slot_leave(me);
	/* The removal oracle (sc_track.h): FK_EBUSY only if a frame of the
	 * range was allocated. Judged after our slot is clear. */
	if (rc == FK_EBUSY)
		sc_removal_classify(&call, paddr, nframes, rc, "remove_free_memory", stderr);
	return rc;
}

static void sc_wrap_drain(void *state)
{
	struct sc_wrap_state *ws = state;
	ws->real->drain(ws->st);
}

static int sc_wrap_stats_fn(void *state, int node, struct fk_alloc_stats *out)
{
	struct sc_wrap_state *ws = state;
	return ws->real->stats(ws->st, node, out);
}

/* Build the wrapper around `real`; optional callbacks stay NULL if absent. */
const struct fk_allocator_ops *sc_wrap(const struct fk_allocator_ops *real, double fault_p)
{
	sc_real_ops = real;
	sc_fault_p = fault_p;
	sc_track_reset();
	atomic_store(&sc_fault_armed, 0);
	atomic_store(&sc_fault_refuse_removals, 0);
	memset(&sc_wstats, 0, sizeof(sc_wstats));
	memset(&sc_wrap_ops, 0, sizeof(sc_wrap_ops));
	sc_wrap_ops.name = real->name;
	sc_wrap_ops.create = sc_wrap_create;
	sc_wrap_ops.destroy = sc_wrap_destroy;
	sc_wrap_ops.alloc = sc_wrap_alloc;
	sc_wrap_ops.dealloc = sc_wrap_dealloc;
	sc_wrap_ops.add_free_memory = real->add_free_memory ? sc_wrap_add : NULL;
	sc_wrap_ops.remove_free_memory = real->remove_free_memory ? sc_wrap_remove : NULL;
	sc_wrap_ops.drain = real->drain ? sc_wrap_drain : NULL;
	sc_wrap_ops.stats = real->stats ? sc_wrap_stats_fn : NULL;
	return &sc_wrap_ops;
}
