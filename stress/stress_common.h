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
 */
#ifndef FK_STRESS_COMMON_H
#define FK_STRESS_COMMON_H

#include <inttypes.h>
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
		atomic_fetch_add_explicit(&sc_wstats.injected_alloc, 1, memory_order_relaxed);
		return FK_ENOMEM;
	}
	int rc = ws->real->alloc(ws->st, nframes, align_order, node, flags, paddr);
	if (rc == 0) {
		atomic_fetch_add_explicit(&sc_wstats.alloc_calls, 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&sc_wstats.alloc_frames, nframes, memory_order_relaxed);
	}
	return rc;
}

static int sc_wrap_dealloc(void *state, uint64_t paddr, uint64_t nframes)
{
	struct sc_wrap_state *ws = state;
	int rc = ws->real->dealloc(ws->st, paddr, nframes);
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
	return ws->real->add_free_memory(ws->st, paddr, nframes, node);
}

static int sc_wrap_remove(void *state, uint64_t paddr, uint64_t nframes)
{
	struct sc_wrap_state *ws = state;
	return ws->real->remove_free_memory(ws->st, paddr, nframes);
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
