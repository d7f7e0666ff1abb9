/*
 * Helpers shared by the stress program, the fault-injection test and the
 * fuzz harness (header only, so tests/ can use it without a library):
 * a per-thread PRNG, a counting / fault-injecting allocator wrapper and the
 * end-of-run conservation check.
 *
 * The conservation invariant: once every handle is dropped and the
 * allocator drained, every frame the allocator handed out came back exactly
 * once, every slot is UNUSED with no raw reference, and the allocator's own
 * per-node / per-order accounting adds up to the managed total.
 *
 * The FK_ENOMEM classifier (sc_track_*, sc_enomem_*): the wrapper also
 * records, per frame of the tracked regions, whether the allocator holds it
 * free and when that last changed. An FK_ENOMEM the workload gets is
 * justified when it was injected, or when no 2^k-aligned block of 2^k
 * frames (k = order of the request, the guarantee every allocator gives:
 * alloc.h) lay free in an allowed region for the whole call; otherwise it
 * is flagged, and a flagged one fails the run (issue 8, defects 1 and 6).
 */
#ifndef FK_STRESS_COMMON_H
#define FK_STRESS_COMMON_H

#include <inttypes.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <framekit/framekit.h>

/* ---- PRNG (xorshift64*, seeded through splitmix64) ---- */

static inline uint64_t sc_splitmix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static inline uint64_t sc_rand(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dull;
}

/* Uniform in [0, n) (n > 0). */
static inline uint64_t sc_below(uint64_t *s, uint64_t n)
{
	return sc_rand(s) % n;
}

/* True with probability p. */
static inline int sc_chance(uint64_t *s, double p)
{
	return p > 0 && (double)(sc_rand(s) >> 11) * (1.0 / 9007199254740992.0) < p;
}

/* ---- Counting / fault-injecting allocator wrapper ----
 *
 * Wraps a real allocator's ops table. Counts every frame handed out and
 * every frame returned (so the run can check "allocated == freed + held"
 * from the allocator's side of the interface), and, when armed, fails
 * alloc() / add_free_memory() with FK_ENOMEM at random points. One wrapped
 * fk_mem at a time per process (the real ops are a global).
 */
struct sc_wrap_stats {
	_Atomic uint64_t alloc_calls, alloc_frames, dealloc_calls, dealloc_frames;
	_Atomic uint64_t injected_alloc, injected_add;
	_Atomic uint64_t dealloc_errors;
};

static const struct fk_allocator_ops *sc_real_ops;
static struct fk_allocator_ops sc_wrap_ops;
static struct sc_wrap_stats sc_wstats;
static double sc_fault_p;         /* set before threads start */
static atomic_int sc_fault_armed; /* 0 during fk_mem_create */
static _Thread_local uint64_t sc_fault_rng = 0x1234567u;
static _Thread_local int sc_tl_alloc_fault; /* last alloc() in this thread was failed on purpose */
static _Thread_local uint64_t sc_tl_injected; /* alloc() failures injected in this thread */

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
 * (and stored HELD) is never overwritten. Allocations and
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

enum { SC_ABSENT = 0, SC_FREE = 1, SC_HELD = 2, SC_FREEING = 3 };
#define SC_MAX_TRACK 8
#define SC_MAX_SLOTS 256

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

/* Classification counts of the current run. */
struct sc_enomem_counts {
	_Atomic uint64_t total, injected, no_block, flagged;
};
static struct sc_enomem_counts sc_enomem;

static inline void sc_track_reset(void)
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
}

/* Track a managed region's frames (before fk_mem_create / add_region). */
static inline int sc_track_add(uint64_t base, uint64_t nframes, int node)
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

/* Record that [paddr, paddr + n frames) is now in `state`. */
static inline void sc_track_mark(uint64_t paddr, uint64_t n, unsigned state)
{
	uint64_t seq = atomic_fetch_add_explicit(&sc_seq, 1, SC_ORD) + 1;
	uint64_t end = paddr + n * FK_PAGE_SIZE;
	for (size_t r = 0; r < sc_ntracks; r++) {
		const struct sc_track *t = &sc_tracks[r];
		uint64_t tend = t->base + t->nframes * FK_PAGE_SIZE;
		uint64_t s = paddr > t->base ? paddr : t->base, e = end < tend ? end : tend;
		for (uint64_t p = s; p < e; p += FK_PAGE_SIZE)
			atomic_store_explicit(&t->w[(p - t->base) / FK_PAGE_SIZE], seq << 2 | state,
			                      SC_ORD);
	}
}

/* Move the frames of [paddr, paddr + n frames) that are in state `from`
 * to state `to` (CAS: a frame that moved on meanwhile is left alone). */
static inline void sc_track_move(uint64_t paddr, uint64_t n, unsigned from, unsigned to)
{
	uint64_t seq = atomic_fetch_add_explicit(&sc_seq, 1, SC_ORD) + 1;
	uint64_t end = paddr + n * FK_PAGE_SIZE;
	for (size_t r = 0; r < sc_ntracks; r++) {
		const struct sc_track *t = &sc_tracks[r];
		uint64_t tend = t->base + t->nframes * FK_PAGE_SIZE;
		uint64_t s = paddr > t->base ? paddr : t->base, e = end < tend ? end : tend;
		for (uint64_t p = s; p < e; p += FK_PAGE_SIZE) {
			_Atomic uint64_t *w = &t->w[(p - t->base) / FK_PAGE_SIZE];
			uint64_t old = atomic_load_explicit(w, SC_ORD);
			while ((old & 3) == from &&
			       !atomic_compare_exchange_weak_explicit(w, &old, seq << 2 | to, SC_ORD,
			                                              SC_ORD))
				;
		}
	}
}

/* This thread's slot, or -1 when all are taken (classification then says
 * "unknown" instead of guessing). */
static inline int sc_slot_me(void)
{
	unsigned ep = atomic_load_explicit(&sc_slot_epoch, memory_order_relaxed);
	if (sc_tl_slot < 0 || sc_tl_slot_epoch != ep) {
		unsigned k = atomic_fetch_add_explicit(&sc_nslots, 1, memory_order_relaxed);
		sc_tl_slot = k < SC_MAX_SLOTS ? (int)k : -1;
		sc_tl_slot_epoch = ep;
	}
	return sc_tl_slot;
}

static inline void sc_slot_enter(int me)
{
	if (me >= 0)
		atomic_store_explicit(&sc_slots[me], atomic_fetch_add_explicit(&sc_seq, 1, SC_ORD) + 1,
		                      SC_ORD);
	atomic_signal_fence(memory_order_seq_cst); /* compiler only: see above */
}

static inline void sc_slot_leave(int me)
{
	atomic_signal_fence(memory_order_seq_cst); /* compiler only: see above */
	if (me >= 0)
		atomic_store_explicit(&sc_slots[me], 0, SC_ORD);
}

/* What the workload notes before an allocating call. */
struct sc_call {
	uint64_t seq0, injected0;
};

static inline void sc_call_begin(struct sc_call *c)
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

/*
 * Classify an FK_ENOMEM that an allocating call (fk_alloc_segment of
 * nframes with flags) just returned in this thread. Waits until every
 * allocation or removal that was in flight has finished (they may have
 * taken frames the words do not show yet), then looks for a block that was
 * free throughout the call. Returns 1 and prints the evidence if the
 * FK_ENOMEM is unjustified, else 0.
 */
static inline int sc_enomem_classify(const struct sc_call *c, uint64_t nframes, unsigned flags,
                                     FILE *out)
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
	unsigned ns = atomic_load_explicit(&sc_nslots, memory_order_relaxed);
	for (unsigned i = 0; i < ns && i < SC_MAX_SLOTS; i++) {
		if ((int)i == sc_tl_slot)
			continue;
		uint64_t v = atomic_load_explicit(&sc_slots[i], SC_ORD);
		while (v != 0 && atomic_load_explicit(&sc_slots[i], SC_ORD) == v)
			sched_yield();
	}
	atomic_signal_fence(memory_order_seq_cst); /* slots before words (see above) */
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

struct sc_wrap_state {
	const struct fk_allocator_ops *real;
	void *st;
};

static inline void sc_fault_seed(uint64_t seed)
{
	sc_fault_rng = sc_splitmix(seed) | 1;
}

static inline int sc_fault_roll(void)
{
	return atomic_load_explicit(&sc_fault_armed, memory_order_relaxed) &&
	       sc_chance(&sc_fault_rng, sc_fault_p);
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
	sc_tl_alloc_fault = 0;
	if (sc_fault_roll()) {
		sc_tl_alloc_fault = 1;
		sc_tl_injected++;
		atomic_fetch_add_explicit(&sc_wstats.injected_alloc, 1, memory_order_relaxed);
		return FK_ENOMEM;
	}
	int me = sc_slot_me();
	sc_slot_enter(me);
	int rc = ws->real->alloc(ws->st, nframes, align_order, node, flags, paddr);
	if (rc == 0) {
		sc_track_mark(*paddr, nframes, SC_HELD);
		atomic_fetch_add_explicit(&sc_wstats.alloc_calls, 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&sc_wstats.alloc_frames, nframes, memory_order_relaxed);
	}
	sc_slot_leave(me);
	return rc;
}

static int sc_wrap_dealloc(void *state, uint64_t paddr, uint64_t nframes)
{
	struct sc_wrap_state *ws = state;
	sc_track_move(paddr, nframes, SC_HELD, SC_FREEING);
	int rc = ws->real->dealloc(ws->st, paddr, nframes);
	sc_track_move(paddr, nframes, SC_FREEING, rc == 0 ? SC_FREE : SC_HELD);
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
		sc_track_move(paddr, nframes, SC_ABSENT, SC_FREE);
	return rc;
}

static int sc_wrap_remove(void *state, uint64_t paddr, uint64_t nframes)
{
	struct sc_wrap_state *ws = state;
	int me = sc_slot_me();
	sc_slot_enter(me);
	int rc = ws->real->remove_free_memory(ws->st, paddr, nframes);
	if (rc == 0)
		sc_track_mark(paddr, nframes, SC_ABSENT);
	sc_slot_leave(me);
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
static inline const struct fk_allocator_ops *sc_wrap(const struct fk_allocator_ops *real,
                                                     double fault_p)
{
	sc_real_ops = real;
	sc_fault_p = fault_p;
	sc_track_reset();
	atomic_store(&sc_fault_armed, 0);
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

/* ---- Conservation check ---- */

struct sc_region {
	uint64_t base, nframes;
	int node;
	unsigned flags;
};

#define SC_MAX_SHOW 16

/*
 * Quiescent check (no other thread may use mem). The caller has entered
 * mem. Returns the number of violations; prints each (and up to
 * SC_MAX_SHOW offending frames per region) to `out`.
 */
static inline int sc_check_conservation(fk_mem *mem, const struct sc_region *regions, size_t nr,
                                        FILE *out)
{
	int bad = 0;
	fk_mem_alloc_drain(mem);

	/* 1. Every slot UNUSED, no raw reference left. */
	for (size_t r = 0; r < nr; r++) {
		int shown = 0;
		for (uint64_t i = 0; i < regions[r].nframes; i++) {
			uint64_t pa = regions[r].base + i * FK_PAGE_SIZE, rc = 0, raw = 0;
			int e1 = fk_mem_refcount_at(mem, pa, &rc);
			int e2 = fk_mem_raw_count_at(mem, pa, &raw);
			if (e1 || e2 || rc != FK_REF_UNUSED || raw != 0) {
				bad++;
				if (shown++ < SC_MAX_SHOW)
					fprintf(
					    out,
					    "CONSERVATION: frame 0x%" PRIx64 " refcount=%s%" PRIu64
					    " raw=%" PRIu64 " (rc_err=%s raw_err=%s)\n",
					    pa,
					    rc == FK_REF_UNUSED
					        ? "UNUSED/"
					        : (rc == FK_REF_UNIQUE ? "UNIQUE/" : ""),
					    rc, raw, fk_strerror_name(e1), fk_strerror_name(e2));
			}
		}
		if (shown > SC_MAX_SHOW)
			fprintf(out, "CONSERVATION: ... %d more frames in region 0x%" PRIx64 "\n",
			        shown - SC_MAX_SHOW, regions[r].base);
	}

	/* 2. Allocator: free == managed total, per node and per order. */
	uint64_t managed = fk_mem_managed_frames(mem);
	uint64_t expect_managed = 0;
	for (size_t r = 0; r < nr; r++)
		if (!(regions[r].flags & FK_REGION_UNMANAGED))
			expect_managed += regions[r].nframes;
	if (managed != expect_managed) {
		bad++;
		fprintf(out,
		        "CONSERVATION: fk_mem_managed_frames=%" PRIu64 " expected %" PRIu64 "\n",
		        managed, expect_managed);
	}
	struct fk_alloc_stats all;
	memset(&all, 0, sizeof(all));
	int rc = fk_mem_alloc_stats(mem, -1, &all);
	if (rc) {
		bad++;
		fprintf(out, "CONSERVATION: fk_mem_alloc_stats(-1) -> %s\n", fk_strerror_name(rc));
	} else {
		if (all.free_frames != managed || all.total_frames != managed) {
			bad++;
			fprintf(out,
			        "CONSERVATION: allocator free=%" PRIu64 " total=%" PRIu64
			        " but managed frames=%" PRIu64 " (cached=%" PRIu64 ")\n",
			        all.free_frames, all.total_frames, managed, all.cached_frames);
		}
		uint64_t blocks = 0;
		for (int o = 0; o < FK_MAX_ORDER; o++)
			blocks += all.free_blocks[o] << o;
		if (blocks != 0 && blocks != all.free_frames - all.cached_frames) {
			bad++;
			fprintf(out,
			        "CONSERVATION: sum(free_blocks[o] << o)=%" PRIu64
			        " != free-cached=%" PRIu64 "\n",
			        blocks, all.free_frames - all.cached_frames);
		}
		unsigned nodes = fk_mem_nr_nodes(mem);
		uint64_t sum_free = 0, sum_total = 0;
		for (unsigned n = 0; n < nodes; n++) {
			struct fk_alloc_stats ns;
			memset(&ns, 0, sizeof(ns));
			rc = fk_mem_alloc_stats(mem, (int)n, &ns);
			if (rc) {
				bad++;
				fprintf(out, "CONSERVATION: fk_mem_alloc_stats(%u) -> %s\n", n,
				        fk_strerror_name(rc));
				continue;
			}
			uint64_t nb = 0;
			for (int o = 0; o < FK_MAX_ORDER; o++)
				nb += ns.free_blocks[o] << o;
			if (nb != 0 && nb != ns.free_frames - ns.cached_frames) {
				bad++;
				fprintf(out,
				        "CONSERVATION: node %u: sum(free_blocks[o] << o)=%" PRIu64
				        " != free-cached=%" PRIu64 "\n",
				        n, nb, ns.free_frames - ns.cached_frames);
			}
			uint64_t node_managed = 0;
			for (size_t r = 0; r < nr; r++)
				if (!(regions[r].flags & FK_REGION_UNMANAGED) &&
				    regions[r].node == (int)n)
					node_managed += regions[r].nframes;
			if (ns.total_frames != node_managed || ns.free_frames != node_managed) {
				bad++;
				fprintf(out,
				        "CONSERVATION: node %u: free=%" PRIu64 " total=%" PRIu64
				        " expected %" PRIu64 "\n",
				        n, ns.free_frames, ns.total_frames, node_managed);
			}
			sum_free += ns.free_frames;
			sum_total += ns.total_frames;
		}
		if (sum_free != all.free_frames || sum_total != all.total_frames) {
			bad++;
			fprintf(out,
			        "CONSERVATION: per-node sums free=%" PRIu64 " total=%" PRIu64
			        " != all-node stats free=%" PRIu64 " total=%" PRIu64 "\n",
			        sum_free, sum_total, all.free_frames, all.total_frames);
		}
	}

	/* 3. Leak report empty. */
	struct fk_leak_report lr;
	memset(&lr, 0xff, sizeof(lr));
	fk_mem_leak_report(mem, &lr);
	if (lr.frames_referenced || lr.frames_raw || lr.raw_refs ||
	    lr.first_leaked_paddr != UINT64_MAX) {
		bad++;
		fprintf(out,
		        "CONSERVATION: leak report referenced=%" PRIu64 " raw=%" PRIu64
		        " raw_refs=%" PRIu64 " first=0x%" PRIx64 "\n",
		        lr.frames_referenced, lr.frames_raw, lr.raw_refs, lr.first_leaked_paddr);
	}
	return bad;
}

/* Wrapper side of "allocated == freed + held" (held must be 0 here). */
static inline int sc_check_wrap_balance(FILE *out)
{
	uint64_t a = atomic_load(&sc_wstats.alloc_frames),
	         d = atomic_load(&sc_wstats.dealloc_frames);
	uint64_t e = atomic_load(&sc_wstats.dealloc_errors);
	if (a != d || e) {
		fprintf(out,
		        "CONSERVATION: allocator handed out %" PRIu64 " frames, got back %" PRIu64
		        " (dealloc errors %" PRIu64 ")\n",
		        a, d, e);
		return 1;
	}
	return 0;
}

#endif /* FK_STRESS_COMMON_H */
