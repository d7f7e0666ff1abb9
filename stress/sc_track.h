/* SPDX-License-Identifier: MIT */
/*
 * Frame tracker and FK_ENOMEM classifier of the stress suite (sc_track.c).
 *
 * The wrapper (sc_wrap.c) records, per frame of the tracked regions,
 * whether the allocator holds it free and when that last changed. An
 * FK_ENOMEM the workload gets is justified when it was injected, or when no
 * 2^k-aligned block of 2^k frames (k = order of the request, the guarantee
 * every allocator gives: alloc.h) lay free in an allowed region for the
 * whole call; otherwise it is flagged, and a flagged one fails the run
 * (issue 8, defects 1 and 6). sc_track.c explains the word format and the
 * memory orders.
 */
#ifndef FK_SC_TRACK_H
#define FK_SC_TRACK_H

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>

enum { SC_ABSENT = 0, SC_FREE = 1, SC_HELD = 2, SC_FREEING = 3 };
#define SC_MAX_TRACK 8
#define SC_MAX_SLOTS 256

/* Classification counts of the current run. */
struct sc_enomem_counts {
	_Atomic uint64_t total, injected, no_block, flagged;
};
extern struct sc_enomem_counts sc_enomem;

/* Refused removals (FK_EBUSY / FK_EINUSE) judged in the current run, at
 * both levels: the allocator's remove_free_memory (sc_wrap.c) and the
 * workload's fk_mem_remove_region calls. */
struct sc_removal_counts {
	_Atomic uint64_t refused, justified, flagged;
};
extern struct sc_removal_counts sc_removal;

/* Frames handed out by alloc() while the tracker had them HELD by an
 * earlier allocation nobody had begun to free: a double allocation. */
extern _Atomic uint64_t sc_double_allocs;

/* alloc() failures injected in this thread (sc_wrap.c counts them). */
extern _Thread_local uint64_t sc_tl_injected;

/* Forget every tracked region and count (once per run, before it). */
void sc_track_reset(void);
/* Track a managed region's frames (before fk_mem_create / add_region). */
int sc_track_add(uint64_t base, uint64_t nframes, int node);
/* Record that [paddr, paddr + n frames) is now in `state`. */
void sc_track_mark(uint64_t paddr, uint64_t n, unsigned state);
/* sc_track_mark(paddr, n, SC_HELD) for frames alloc() just returned; returns
 * the first frame that was HELD already (a double allocation: counted in
 * sc_double_allocs), or UINT64_MAX. */
uint64_t sc_track_take(uint64_t paddr, uint64_t n);
/* Move the frames of [paddr, paddr + n frames) that are in state `from`
 * to state `to` (CAS: a frame that moved on meanwhile is left alone). With
 * `stamp` not 0, only the frames whose word carries seq `stamp`: the ones
 * the caller's own earlier move wrote. Returns the seq this move wrote. */
uint64_t sc_track_move(uint64_t paddr, uint64_t n, unsigned from, uint64_t stamp, unsigned to);
/* The state (SC_*) of the frame at paddr; SC_ABSENT if untracked. */
unsigned sc_track_state(uint64_t paddr);

/* Announce an allocation or removal in flight (the frames it takes are not
 * known until it returns): me = sc_slot_me(), enter before the call, leave
 * after the words are written. */
int sc_slot_me(void);
void sc_slot_enter(int me);
void sc_slot_leave(int me);

/* What the workload notes before an allocating call. */
struct sc_call {
	uint64_t seq0, injected0;
};
void sc_call_begin(struct sc_call *c);

/*
 * Classify an FK_ENOMEM that an allocating call (fk_alloc_segment of
 * nframes with flags) just returned in this thread. Returns 1 and prints
 * the evidence if the FK_ENOMEM is unjustified, else 0.
 */
int sc_enomem_classify(const struct sc_call *c, uint64_t nframes, unsigned flags, FILE *out);

/*
 * Judge a refused removal of [paddr, paddr + nframes frames) (rc FK_EBUSY
 * or FK_EINUSE; c noted before the call), the removal oracle: the refusal
 * is justified when some frame of the range was not free in the allocator
 * for the whole call (allocated before or during it, so perhaps held by a
 * handle; or freed or added during it), once the allocations in flight have
 * finished. Otherwise every frame was free throughout, the refusal broke
 * the contract (allocator.h: "iff every frame of the range is free"), and
 * this returns 1 after printing the evidence. `what` names the call.
 */
int sc_removal_classify(const struct sc_call *c, uint64_t paddr, uint64_t nframes, int rc,
                        const char *what, FILE *out);

#endif /* FK_SC_TRACK_H */
