/* SPDX-License-Identifier: MIT */
/*
 * Frame tracker and FK_ENOMEM classifier (interface and contract:
 * sc_track.h). One tracked word per frame, updated by the allocator
 * wrapper (sc_wrap.c) around every call into the real allocator.
 */
#include <inttypes.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <framekit/framekit.h>

#include "sc_track.h"

/* ---- Frame tracker for the FK_ENOMEM classifier ----
 *
 * Per tracked frame one word: (seq << 2) | state, state ABSENT (not in the
 * allocator), FREE (the allocator has it), HELD (handed out) or FREEING
 * (a dealloc is in flight), seq the value of the global counter sc_seq
 * when it last changed. A frame counts as free only after the call that
 * gave it to the allocator returned (it looks HELD, FREEING or ABSENT a
 * little longer: the safe side). A dealloc moves HELD -> FREEING before the
 * call and FREEING -> FREE after it by CAS, and an add moves ABSENT -> FREE
 * after the call by CAS, so an allocation that got the frame in between
 * (and stored HELD) is never overwritten. The dealloc's second move takes
 * only the words its first move wrote (same seq, the stamp): a thread
 * preempted between its call and that move (a mutex unlock that wakes a
 * waiter is a typical spot) may resume when the frames have been
 * allocated again and are FREEING for another thread's dealloc whose call
 * has not given them back yet; marking those FREE made the classifier
 * flag a justified FK_ENOMEM (issue 8, CI seed 581819;
 * tests/test_stress_tracker_late_dealloc.c). Allocations and
 * removals in flight are announced in per-thread slots (sc_slots), because
 * those take frames before the wrapper knows which.
 *
 * Orders: seq_cst, so that "the slot was empty or moved on" implies "the
 * words it covered are visible" (the slot is set before the allocator call
 * and cleared after the words are written). Under ThreadSanitizer they are
 * relaxed instead: seq_cst RMWs on one shared counter would give every pair
 * of allocator calls a happens-before edge and hide the very races the
 * stress run looks for. x86 keeps the order anyway (stores are not
 * reordered with stores, and the allocator's own locked instructions drain
 * the store buffer before it takes a frame); compiler barriers
 * (atomic_signal_fence, no happens-before for TSan) keep the compiler from
 * moving the slot stores.
 */
#if defined(__SANITIZE_THREAD__)
#define SC_ORD memory_order_relaxed
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define SC_ORD memory_order_relaxed
#endif
#endif
#ifndef SC_ORD
#define SC_ORD memory_order_seq_cst
#endif

struct sc_track {
	uint64_t base, nframes;
	int node;
	_Atomic uint64_t *w;
};
static struct sc_track sc_tracks[SC_MAX_TRACK];
static size_t sc_ntracks;
static _Atomic uint64_t sc_seq;
static _Atomic uint64_t sc_slots[SC_MAX_SLOTS]; /* 0, or the id of the call in flight */
static atomic_uint sc_nslots;
static atomic_uint sc_slot_epoch; /* bumped per run: threads take new slots */
static _Thread_local int sc_tl_slot = -1;
static _Thread_local unsigned sc_tl_slot_epoch;

struct sc_enomem_counts sc_enomem;
struct sc_removal_counts sc_removal;
_Atomic uint64_t sc_double_allocs;
_Thread_local uint64_t sc_tl_injected;

void sc_track_reset(void)
{
	for (size_t i = 0; i < sc_ntracks; i++)
		free((void *)sc_tracks[i].w);
	sc_ntracks = 0;
	atomic_store(&sc_seq, 1);
	for (int i = 0; i < SC_MAX_SLOTS; i++)
		atomic_store(&sc_slots[i], 0);
	atomic_store(&sc_nslots, 0);
	atomic_fetch_add(&sc_slot_epoch, 1);
	memset(&sc_enomem, 0, sizeof(sc_enomem));
	memset(&sc_removal, 0, sizeof(sc_removal));
	atomic_store(&sc_double_allocs, 0);
}

/* Track a managed region's frames (before fk_mem_create / add_region). */
int sc_track_add(uint64_t base, uint64_t nframes, int node)
{
	if (sc_ntracks == SC_MAX_TRACK)
		return -1;
	struct sc_track *t = &sc_tracks[sc_ntracks];
	t->w = calloc((size_t)nframes, sizeof(*t->w));
	if (!t->w)
		return -1;
	t->base = base;
	t->nframes = nframes;
	t->node = node;
	sc_ntracks++;
	return 0;
}

/* The words of track t that [paddr, paddr + n frames) covers: [*i0, *i1),
 * empty when it covers none. */
static void sc_clip(const struct sc_track *t, uint64_t paddr, uint64_t n, uint64_t *i0,
                    uint64_t *i1)
{
	uint64_t end = paddr + n * FK_PAGE_SIZE, tend = t->base + t->nframes * FK_PAGE_SIZE;
	uint64_t s = paddr > t->base ? paddr : t->base, e = end < tend ? end : tend;
	*i0 = (s - t->base) / FK_PAGE_SIZE;
	*i1 = s < e ? (e - t->base) / FK_PAGE_SIZE : *i0;
}

/* Record that [paddr, paddr + n frames) is now in `state`. */
void sc_track_mark(uint64_t paddr, uint64_t n, unsigned state)
{
	uint64_t seq = atomic_fetch_add_explicit(&sc_seq, 1, SC_ORD) + 1;
	for (size_t r = 0; r < sc_ntracks; r++) {
		uint64_t i0, i1;
		sc_clip(&sc_tracks[r], paddr, n, &i0, &i1);
		for (uint64_t i = i0; i < i1; i++)
			atomic_store_explicit(&sc_tracks[r].w[i], seq << 2 | state, SC_ORD);
	}
}

/* See sc_track.h. An exchange, not a store, to see what the word held: a
 * frame the allocator hands out must be FREE, FREEING (its dealloc call
 * has not returned yet) or ABSENT (its add call has not returned yet),
 * never HELD. */
uint64_t sc_track_take(uint64_t paddr, uint64_t n)
{
	uint64_t seq = atomic_fetch_add_explicit(&sc_seq, 1, SC_ORD) + 1, first = UINT64_MAX;
	for (size_t r = 0; r < sc_ntracks; r++) {
		uint64_t i0, i1;
		sc_clip(&sc_tracks[r], paddr, n, &i0, &i1);
		for (uint64_t i = i0; i < i1; i++) {
			uint64_t old = atomic_exchange_explicit(&sc_tracks[r].w[i],
			                                        seq << 2 | SC_HELD, SC_ORD);
			if ((old & 3) == SC_HELD && first == UINT64_MAX)
				first = sc_tracks[r].base + i * FK_PAGE_SIZE;
		}
	}
	if (first != UINT64_MAX)
		atomic_fetch_add_explicit(&sc_double_allocs, 1, memory_order_relaxed);
	return first;
}

/* See sc_track.h. `stamp` makes the move exact: a dealloc's second move
 * must not take another dealloc's FREEING for its own (the top of this
 * file). */
uint64_t sc_track_move(uint64_t paddr, uint64_t n, unsigned from, uint64_t stamp, unsigned to)
{
	uint64_t seq = atomic_fetch_add_explicit(&sc_seq, 1, SC_ORD) + 1;
	for (size_t r = 0; r < sc_ntracks; r++) {
		uint64_t i0, i1;
		sc_clip(&sc_tracks[r], paddr, n, &i0, &i1);
		for (uint64_t i = i0; i < i1; i++) {
			_Atomic uint64_t *w = &sc_tracks[r].w[i];
			uint64_t old = atomic_load_explicit(w, SC_ORD);
			while ((old & 3) == from && (stamp == 0 || old >> 2 == stamp) &&
			       !atomic_compare_exchange_weak_explicit(w, &old, seq << 2 | to, SC_ORD,
			                                              SC_ORD))
				;
		}
	}
	return seq;
}

/* See sc_track.h (for tests: the state alone). */
unsigned sc_track_state(uint64_t paddr)
{
	for (size_t r = 0; r < sc_ntracks; r++) {
		const struct sc_track *t = &sc_tracks[r];
		if (paddr >= t->base && paddr < t->base + t->nframes * FK_PAGE_SIZE)
			return (unsigned)(atomic_load_explicit(&t->w[(paddr - t->base) / FK_PAGE_SIZE],
			                                       SC_ORD) &
			                  3);
	}
	return SC_ABSENT;
}

/* This thread's slot, or -1 when all are taken (classification then says
 * "unknown" instead of guessing). */
int sc_slot_me(void)
{
	unsigned ep = atomic_load_explicit(&sc_slot_epoch, memory_order_relaxed);
	if (sc_tl_slot < 0 || sc_tl_slot_epoch != ep) {
		unsigned k = atomic_fetch_add_explicit(&sc_nslots, 1, memory_order_relaxed);
		sc_tl_slot = k < SC_MAX_SLOTS ? (int)k : -1;
		sc_tl_slot_epoch = ep;
	}
	return sc_tl_slot;
}

void sc_slot_enter(int me)
{
	if (me >= 0)
		atomic_store_explicit(&sc_slots[me], atomic_fetch_add_explicit(&sc_seq, 1, SC_ORD) + 1,
		                      SC_ORD);
	atomic_signal_fence(memory_order_seq_cst); /* compiler only: see above */
}

void sc_slot_leave(int me)
{
	atomic_signal_fence(memory_order_seq_cst); /* compiler only: see above */
	if (me >= 0)
		atomic_store_explicit(&sc_slots[me], 0, SC_ORD);
}

void sc_call_begin(struct sc_call *c)
{
	c->seq0 = atomic_load_explicit(&sc_seq, SC_ORD);
	c->injected0 = sc_tl_injected;
}

/* First 2^k-aligned block of 2^k frames in a tracked region of `node` (any
 * when < 0) that has been FREE since before seq0, or UINT64_MAX. */
static inline uint64_t sc_free_block_since(unsigned k, int node, uint64_t seq0)
{
	uint64_t sz = 1ull << k;
	for (size_t r = 0; r < sc_ntracks; r++) {
		const struct sc_track *t = &sc_tracks[r];
		if (node >= 0 && t->node != node)
			continue;
		uint64_t b = t->base / FK_PAGE_SIZE, end = b + t->nframes;
		for (uint64_t a = (b + sz - 1) & ~(sz - 1); a + sz <= end; a += sz) {
			uint64_t i = 0;
			for (; i < sz; i++) {
				uint64_t v = atomic_load_explicit(&t->w[a + i - b], SC_ORD);
				if ((v & 3) != SC_FREE || (v >> 2) > seq0)
					break;
			}
			if (i == sz)
				return a * FK_PAGE_SIZE;
		}
	}
	return UINT64_MAX;
}

/* Wait until every allocation or removal that another thread had in
 * flight has finished (it may have taken frames the words do not show
 * yet). */
static void sc_wait_slots(void)
{
	unsigned ns = atomic_load_explicit(&sc_nslots, memory_order_relaxed);
	for (unsigned i = 0; i < ns && i < SC_MAX_SLOTS; i++) {
		if ((int)i == sc_tl_slot)
			continue;
		uint64_t v = atomic_load_explicit(&sc_slots[i], SC_ORD);
		while (v != 0 && atomic_load_explicit(&sc_slots[i], SC_ORD) == v)
			sched_yield();
	}
	atomic_signal_fence(memory_order_seq_cst); /* slots before words (see above) */
}

int sc_removal_classify(const struct sc_call *c, uint64_t paddr, uint64_t nframes, int rc,
                        const char *what, FILE *out)
{
	atomic_fetch_add_explicit(&sc_removal.refused, 1, memory_order_relaxed);
	if (sc_slot_me() < 0) {
		atomic_fetch_add_explicit(&sc_removal.flagged, 1, memory_order_relaxed);
		fprintf(out, "UNCLASSIFIABLE REFUSED REMOVAL: %s -> %s (no tracker slot)\n", what,
		        fk_strerror_name(rc));
		return 1;
	}
	sc_wait_slots();
	uint64_t end = paddr + nframes * FK_PAGE_SIZE, tracked = 0;
	for (size_t r = 0; r < sc_ntracks; r++) {
		uint64_t i0, i1;
		sc_clip(&sc_tracks[r], paddr, nframes, &i0, &i1);
		tracked += i1 - i0;
		for (uint64_t i = i0; i < i1; i++) {
			uint64_t v = atomic_load_explicit(&sc_tracks[r].w[i], SC_ORD);
			if ((v & 3) != SC_FREE || (v >> 2) > c->seq0) {
				atomic_fetch_add_explicit(&sc_removal.justified, 1,
				                          memory_order_relaxed);
				return 0;
			}
		}
	}
	if (tracked != nframes) { /* not a tracked range: cannot be judged */
		atomic_fetch_add_explicit(&sc_removal.flagged, 1, memory_order_relaxed);
		fprintf(out,
		        "UNCLASSIFIABLE REFUSED REMOVAL: %s [0x%" PRIx64 ", 0x%" PRIx64
		        ") -> %s (range not tracked)\n",
		        what, paddr, end, fk_strerror_name(rc));
		return 1;
	}
	if (atomic_fetch_add_explicit(&sc_removal.flagged, 1, memory_order_relaxed) >= 20)
		return 1; /* reported enough of them */
	fprintf(out,
	        "UNJUSTIFIED REFUSED REMOVAL: %s [0x%" PRIx64 ", 0x%" PRIx64 ") -> %s while every "
	        "frame of it was free in the allocator for the whole call\n",
	        what, paddr, end, fk_strerror_name(rc));
	return 1;
}

/*
 * Classify an FK_ENOMEM that an allocating call (fk_alloc_segment of
 * nframes with flags) just returned in this thread. Waits until every
 * allocation or removal that was in flight has finished (they may have
 * taken frames the words do not show yet), then looks for a block that was
 * free throughout the call. Returns 1 and prints the evidence if the
 * FK_ENOMEM is unjustified, else 0.
 */
int sc_enomem_classify(const struct sc_call *c, uint64_t nframes, unsigned flags, FILE *out)
{
	atomic_fetch_add_explicit(&sc_enomem.total, 1, memory_order_relaxed);
	if (sc_tl_injected != c->injected0) {
		atomic_fetch_add_explicit(&sc_enomem.injected, 1, memory_order_relaxed);
		return 0;
	}
	int node = FK_ALLOC_NODE_OF(flags);
	unsigned k = 0;
	while ((1ull << k) < nframes)
		k++;
	if (sc_slot_me() < 0 || k >= FK_MAX_ORDER ||
	    ((flags & FK_ALLOC_NODE_STRICT) && node < 0)) {
		/* Cannot be proven justified: that counts as flagged. */
		atomic_fetch_add_explicit(&sc_enomem.flagged, 1, memory_order_relaxed);
		fprintf(out, "UNCLASSIFIABLE FK_ENOMEM: %" PRIu64 " frames (flags 0x%x)\n", nframes,
		        flags);
		return 1;
	}
	sc_wait_slots();
	uint64_t blk = sc_free_block_since(k, (flags & FK_ALLOC_NODE_STRICT) ? node : -1, c->seq0);
	if (blk == UINT64_MAX) {
		atomic_fetch_add_explicit(&sc_enomem.no_block, 1, memory_order_relaxed);
		return 0;
	}
	if (atomic_fetch_add_explicit(&sc_enomem.flagged, 1, memory_order_relaxed) >= 20)
		return 1; /* reported enough of them */
	fprintf(out,
	        "UNJUSTIFIED FK_ENOMEM: %" PRIu64 " frames (flags 0x%x) while the %" PRIu64
	        "-frame block at 0x%" PRIx64 " was free for the whole call\n",
	        nframes, flags, (uint64_t)1 << k, blk);
	return 1;
}
