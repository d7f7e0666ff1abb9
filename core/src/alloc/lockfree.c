/*
 * lockfree: the product allocator. No lock on any path: C11 atomics only.
 *
 * Design after LLFree (Wrenger et al., USENIX ATC'23), see core/LOCKFREE.md:
 * memory is cut into areas of 512 frames (2 MiB, order 9), each with a
 * 512-bit bitfield (bit set = allocated or absent) and an atomic counter
 * word (free frames + a "reserved" flag). Each CPU slot reserves one area
 * of its node in an atomic word and allocates from it first; an order-9
 * allocation CASes a fully free area's counter from 512 to 0.
 *
 * Invariant (the quota rule): an area's free counter never exceeds the number
 * of its clear bits. Allocation first takes quota from the counter, then
 * sets bits; freeing clears bits first, then returns quota. So a counter of
 * 512 means every bit is clear, and a holder of quota always finds enough
 * clear bits (possibly not contiguous: then it gives the quota back).
 *
 * Per-CPU slots are only hints: two threads that share a slot both operate
 * on the shared area atomically, and a reservation is swapped with CAS.
 */
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#ifdef FK_HAVE_LIBNUMA
#include <numa.h>
#endif

#include "alloc_internal.h"

#define AREA_ORDER     9
#define AREA_FRAMES    512u
#define AREA_WORDS     8u
#define LF_MAX_REGIONS 256u

/* Area counter word: free frames in the low 16 bits, reserved flag. */
#define CTR_FREE     0xffffu
#define CTR_RESERVED (1u << 31)

struct lf_bits {
	_Atomic uint64_t w[AREA_WORDS];
} __attribute__((aligned(64)));

/*
 * The counter sits on its own cache line: CPUs reserve neighbouring areas,
 * and packed counters (as in LLFree's tree children) would false-share on
 * every allocation (measured: 2 threads 2.2x slower per op than 1).
 */
struct lf_area {
	_Atomic uint32_t ctr;
	char pad[64 - sizeof(uint32_t)];
	struct lf_bits bits;
};

/* One add_free_memory range. Immutable after publication except the atomics. */
struct lf_region {
	uint64_t start, end; /* pfn [start, end) */
	uint64_t area0;      /* area number of areas[0] (start / 512) */
	uint32_t nr_areas;
	/* node and dead change only in add/remove while every frame of the
	 * region is withdrawn; readers reach the frames only after dead = 0. */
	_Atomic int node;
	_Atomic int dead; /* all frames withdrawn: skipped by lookups */
	size_t bytes;     /* for freeing */
	int on_numa;
	_Atomic uint32_t hint;      /* where reservation scans start */
	_Atomic uint64_t nr_absent; /* frames withdrawn by remove_free_memory */
	struct lf_area *areas;      /* nr_areas */
	_Atomic uint64_t *absent;   /* bitmap over [start, end) */
};

struct lf_stat {
	_Atomic uint64_t allocs, frees, remote_frees, fallback_allocs, hits, misses;
} __attribute__((aligned(64)));

/* Per node, allocated on that node. */
struct lf_node {
	size_t bytes;
	int on_numa;
	_Atomic uint64_t total;
	struct lf_stat stat[]; /* per CPU slot */
};

struct lf_res {
	/* 0 = none, else ((region << 32) | area) + 1 */
	_Atomic uint64_t area;
} __attribute__((aligned(64)));

struct lockfree {
	unsigned nr_nodes, nr_cpus;
	const int *cpu_node;
	struct lf_res *res; /* [cpu * nr_nodes + node]: one reservation per CPU and node */
	struct lf_node *nodes[FK_MAX_NODES];
	_Atomic unsigned nr_regions;
	_Atomic(struct lf_region *) regions[LF_MAX_REGIONS];
};

/* ---- node-local metadata memory ---- */

/*
 * Metadata comes from mmap (or numa_alloc_onnode, itself mmap + mbind), not
 * malloc: add_free_memory runs concurrently with everything else and must
 * take no user-space lock, and glibc malloc locks its arenas.
 */
static void *meta_alloc(size_t bytes, int node, int *on_numa)
{
	*on_numa = 0;
#ifdef FK_HAVE_LIBNUMA
	/* Only nodes libnuma knows: numa_alloc_onnode on a missing node "works"
	 * with a warning (ecosystem.md section 6); logical nodes get plain
	 * pages. Both are zero-filled. */
	if (numa_available() >= 0 && node <= numa_max_node() &&
	    numa_bitmask_isbitset(numa_all_nodes_ptr, (unsigned)node)) {
		void *p = numa_alloc_onnode(bytes, node);
		if (p) {
			*on_numa = 1;
			return p;
		}
	}
#else
	(void)node;
#endif
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

static void meta_free(void *p, size_t bytes, int on_numa)
{
#ifdef FK_HAVE_LIBNUMA
	if (on_numa) {
		numa_free(p, bytes);
		return;
	}
#endif
	(void)on_numa;
	munmap(p, bytes);
}

/* ---- small helpers ---- */

static inline uint64_t word_mask(unsigned bit, unsigned n)
{
	return (n >= 64 ? ~0ull : ((1ull << n) - 1)) << bit;
}

static unsigned nr_regions(struct lockfree *lf)
{
	/* relaxed: only a bound; each slot is read with acquire below and may
	 * still be NULL while its adder is publishing it. */
	unsigned n = atomic_load_explicit(&lf->nr_regions, memory_order_relaxed);
	return n < LF_MAX_REGIONS ? n : LF_MAX_REGIONS;
}

static struct lf_region *region_at(struct lockfree *lf, unsigned i)
{
	/* acquire: pairs with the release store in lf_add, so the region's
	 * fields, bitfields and counters are initialised before we use them. */
	return atomic_load_explicit(&lf->regions[i], memory_order_acquire);
}

static int region_node(struct lf_region *r)
{
	/* relaxed: see the field; a stale value only misplaces one allocation
	 * made while the region is being revived on another node. */
	return atomic_load_explicit(&r->node, memory_order_relaxed);
}

static bool region_dead(struct lf_region *r)
{
	/* acquire: pairs with the release store of dead = 0 in revive_all,
	 * so a reader that finds the region live sees its new node. */
	return atomic_load_explicit(&r->dead, memory_order_acquire) != 0;
}

/* Live region holding pfn; *idx gets its slot. */
/*
 * The live added range holding all of [paddr, paddr + nframes), for dealloc
 * and remove: FK_ENOTALIGNED / FK_EINVAL (fk_range_pfn) or FK_EOUTOFBOUND.
 */
static int range_region(struct lockfree *lf, uint64_t paddr, uint64_t nframes, uint64_t *pfn,
                        struct lf_region **out)
{
	int bad = fk_range_pfn(paddr, nframes, pfn);
	if (bad)
		return bad;
	unsigned nr = nr_regions(lf);
	for (unsigned i = 0; i < nr; i++) {
		struct lf_region *r = region_at(lf, i);
		if (r && *pfn >= r->start && *pfn < r->end && !region_dead(r)) {
			if (*pfn + nframes > r->end || *pfn + nframes < *pfn)
				return FK_EOUTOFBOUND;
			*out = r;
			return 0;
		}
	}
	return FK_EOUTOFBOUND;
}

static int cpu_node_of(struct lockfree *lf, unsigned cpu)
{
	int n = lf->cpu_node ? lf->cpu_node[cpu] : 0;
	return n >= 0 && (unsigned)n < lf->nr_nodes ? n : 0;
}

static void stat_inc(_Atomic uint64_t *c)
{
	/* relaxed load + store, not an RMW: a statistics counter orders
	 * nothing, and a locked RMW here cost ~5 ns per call. Two threads that
	 * share a CPU slot at the same instant may lose an increment; the
	 * counters are exact when each slot has one thread (or quiescent). */
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + 1,
	                      memory_order_relaxed);
}

/* ---- the counter (quota) ---- */

/* Take n frames of quota from counter c; false if fewer are free. */
static bool ctr_take(_Atomic uint32_t *c, unsigned n)
{
	/* relaxed: the CAS below revalidates the value. */
	uint32_t v = atomic_load_explicit(c, memory_order_relaxed);
	do {
		if ((v & CTR_FREE) < n)
			return false;
		/* acquire: pairs with the release increment in ctr_give (every
		 * RMW on the counter continues its release sequence), so the
		 * bit clears made before that free are visible to our bitfield
		 * scan: quota implies visibly clear bits. */
	} while (!atomic_compare_exchange_weak_explicit(c, &v, v - n, memory_order_acquire,
	                                                memory_order_relaxed));
	return true;
}

static void ctr_give(_Atomic uint32_t *c, unsigned n)
{
	/* release: pairs with the acquire CAS in ctr_take/take_area; our bit
	 * clears (and the freed frames' last writes) happen-before any use of
	 * this quota. Linearisation point of a free. */
	atomic_fetch_add_explicit(c, n, memory_order_release);
}

/* ---- the bitfield ---- */

/* Clear n bits of area a from bit `first` (all set, quota not yet given). */
static void bits_clear(struct lf_bits *a, unsigned first, unsigned n)
{
	while (n) {
		unsigned w = first / 64, b = first % 64, k = 64 - b < n ? 64 - b : n;
		/* release: pairs with the acquire CAS in bits_take_*: the frames'
		 * last writes by the freeing side happen-before the next owner's
		 * use of them. A whole word is ours alone (nobody else changes
		 * an all-ones word: takers CAS only words with clear bits), so a
		 * store does instead of the RMW. */
		if (k == 64)
			atomic_store_explicit(&a->w[w], 0, memory_order_release);
		else
			atomic_fetch_and_explicit(&a->w[w], ~word_mask(b, k), memory_order_release);
		first += k;
		n -= k;
	}
}

/* Are all n bits from `first` set (allocated)? */
static bool bits_all_set(struct lf_bits *a, unsigned first, unsigned n)
{
	while (n) {
		unsigned w = first / 64, b = first % 64, k = 64 - b < n ? 64 - b : n;
		uint64_t m = word_mask(b, k);
		/* relaxed: a best-effort double-free check before changing
		 * anything; the owner's own set is ordered before by program
		 * order. */
		if ((atomic_load_explicit(&a->w[w], memory_order_relaxed) & m) != m)
			return false;
		first += k;
		n -= k;
	}
	return true;
}

/* n (<= 64) contiguous bits at a multiple of step within one word. */
static int bits_take_small(struct lf_bits *a, unsigned n, unsigned step, unsigned start)
{
	uint64_t m = word_mask(0, n);
	for (unsigned i = 0; i < AREA_WORDS; i++) {
		unsigned wi = (start + i) % AREA_WORDS;
		/* relaxed: a snapshot for the search; the CAS validates it. */
		uint64_t w = atomic_load_explicit(&a->w[wi], memory_order_relaxed);
		for (;;) {
			unsigned p;
			if (w == ~0ull)
				break;
			if (n == 1) {
				p = (unsigned)__builtin_ctzll(~w);
			} else {
				for (p = 0; p + n <= 64; p += step)
					if (!(w & (m << p)))
						break;
				if (p + n > 64)
					break;
			}
			/* acquire: pairs with the release fetch_and in bits_clear
			 * (hand-off of the frames from their last owner).
			 * Linearisation point of a small allocation. */
			if (atomic_compare_exchange_weak_explicit(&a->w[wi], &w, w | (m << p),
			                                          memory_order_acquire,
			                                          memory_order_relaxed))
				return (int)(wi * 64 + p);
		}
	}
	return -1;
}

/* 2^o frames (o = 7 or 8: 2 or 4 whole words), naturally aligned. */
static int bits_take_words(struct lf_bits *a, unsigned o)
{
	unsigned k = 1u << (o - 6);
	for (unsigned s = 0; s < AREA_WORDS; s += k) {
		unsigned j;
		for (j = 0; j < k; j++) {
			uint64_t zero = 0;
			/* acquire: as in bits_take_small. */
			if (!atomic_compare_exchange_strong_explicit(&a->w[s + j], &zero, ~0ull,
			                                             memory_order_acquire,
			                                             memory_order_relaxed))
				break;
		}
		if (j == k)
			return (int)(s * 64);
		while (j--) /* roll back the words we set; nobody else touches them */
			/* release: our store ends the release sequence of the last
			 * free, so it must itself be release for the next
			 * acquirer to inherit that edge through us. */
			atomic_store_explicit(&a->w[s + j], 0, memory_order_release);
	}
	return -1;
}

/* ---- allocation inside one area ---- */

static uint64_t area_pfn(const struct lf_region *r, uint32_t k)
{
	return (r->area0 + k) * AREA_FRAMES;
}

/* Free [pfn, pfn+n) inside area k of r (bits set, checks done). */
static void area_free(struct lf_region *r, uint32_t k, uint64_t pfn, unsigned n)
{
	bits_clear(&r->areas[k].bits, (unsigned)(pfn - area_pfn(r, k)), n);
	ctr_give(&r->areas[k].ctr, n);
}

/* The whole area k: counter 512 -> 0, then all bits set. */
static bool take_area(struct lf_region *r, uint32_t k)
{
	/* relaxed: the CAS revalidates. */
	uint32_t v = atomic_load_explicit(&r->areas[k].ctr, memory_order_relaxed);
	do {
		if ((v & CTR_FREE) != AREA_FRAMES)
			return false;
		/* acquire: pairs with ctr_give's release: all 512 bits are
		 * clear and visible, and the last frees happen-before. The
		 * reserved flag is kept. Linearisation point of order 9. */
	} while (!atomic_compare_exchange_weak_explicit(
	    &r->areas[k].ctr, &v, v & ~CTR_FREE, memory_order_acquire, memory_order_relaxed));
	for (unsigned i = 0; i < AREA_WORDS; i++)
		/* relaxed: with the quota at 0 nobody else may touch these bits;
		 * a later free's release fetch_and publishes our ownership end. */
		atomic_store_explicit(&r->areas[k].bits.w[i], ~0ull, memory_order_relaxed);
	return true;
}

/*
 * Allocate n (<= 512) frames aligned to 2^align (<= 9) in area k of r.
 * Power-of-two sizes are naturally aligned; others get exact bits (n <= 64)
 * or are rounded up and the tail is freed.
 */
static bool area_alloc(struct lf_region *r, uint32_t k, unsigned n, unsigned align, uint64_t *pfn,
                       unsigned hint)
{
	unsigned o = fk_order_ceil(n);
	if ((1u << o) == n && align < o)
		align = o;
	if (n > 256 || align >= AREA_ORDER) {
		if (!take_area(r, k))
			return false;
		*pfn = area_pfn(r, k);
		if (n < AREA_FRAMES)
			area_free(r, k, *pfn + n, AREA_FRAMES - n);
		return true;
	}
	if (n > 64 || align > 6) {
		unsigned bo = o > align ? o : align; /* 7 or 8 */
		if (bo < 7)
			bo = 7;
		if (!ctr_take(&r->areas[k].ctr, 1u << bo))
			return false;
		int at = bits_take_words(&r->areas[k].bits, bo);
		if (at < 0) {
			ctr_give(&r->areas[k].ctr, 1u << bo);
			return false;
		}
		*pfn = area_pfn(r, k) + (unsigned)at;
		if (n < (1u << bo))
			area_free(r, k, *pfn + n, (1u << bo) - n);
		return true;
	}
	if (!ctr_take(&r->areas[k].ctr, n))
		return false;
	int at = bits_take_small(&r->areas[k].bits, n, 1u << align, hint);
	if (at < 0) {
		ctr_give(&r->areas[k].ctr, n);
		return false;
	}
	*pfn = area_pfn(r, k) + (unsigned)at;
	return true;
}

/* ---- reservations ---- */

static uint64_t res_encode(unsigned region, uint32_t area)
{
	return (((uint64_t)region << 32) | area) + 1;
}

static void unreserve(struct lockfree *lf, uint64_t code)
{
	struct lf_region *r = region_at(lf, (unsigned)((code - 1) >> 32));
	/* relaxed: the flag is a placement hint that orders no data; the
	 * frames are handed off through the counter and bitfield. */
	atomic_fetch_and_explicit(&r->areas[(uint32_t)(code - 1)].ctr, ~CTR_RESERVED,
	                          memory_order_relaxed);
}

/* Set the reserved flag of an unreserved area with free in [lo, hi]. */
static bool try_reserve(struct lf_region *r, uint32_t k, unsigned lo, unsigned hi)
{
	/* relaxed: see unreserve. */
	uint32_t v = atomic_load_explicit(&r->areas[k].ctr, memory_order_relaxed);
	do {
		if ((v & CTR_RESERVED) || (v & CTR_FREE) < lo || (v & CTR_FREE) > hi)
			return false;
	} while (!atomic_compare_exchange_weak_explicit(
	    &r->areas[k].ctr, &v, v | CTR_RESERVED, memory_order_relaxed, memory_order_relaxed));
	return true;
}

/*
 * Reserve a new area of `node` for CPU slot cpu and allocate from it:
 * partially used areas first (keeps free areas for huge pages, as LLFree
 * does), then fully free ones. `old` is the slot value seen by the caller.
 */
static bool reserve_and_alloc(struct lockfree *lf, struct lf_res *rs, unsigned cpu, uint64_t old,
                              int node, unsigned n, unsigned align, uint64_t *pfn)
{
	/* (lo, hi) free frames: partial areas that are worth it, free areas,
	 * then any partial area (like LLFree's TREE_PARTIAL/FREE ranges). */
	const unsigned worth = n > 16 ? n : 16;
	const unsigned range[3][2] = {
	    {worth, AREA_FRAMES - 1}, {AREA_FRAMES, AREA_FRAMES}, {n, AREA_FRAMES - 1}};
	for (int pass = 0; pass < 3; pass++) {
		unsigned lo = range[pass][0], hi = range[pass][1];
		if (pass == 2 && worth == n)
			break; /* pass 0 covered it */
		unsigned nr = nr_regions(lf);
		for (unsigned i = 0; i < nr; i++) {
			struct lf_region *r = region_at(lf, i);
			if (!r || region_node(r) != node)
				continue;
			/* relaxed: a scan start hint. */
			uint32_t h = atomic_load_explicit(&r->hint, memory_order_relaxed);
			for (uint32_t j = 0; j < r->nr_areas; j++) {
				uint32_t k = (h + j) % r->nr_areas;
				if (!try_reserve(r, k, lo, hi))
					continue;
				if (!area_alloc(r, k, n, align, pfn, cpu)) {
					unreserve(lf, res_encode(i, k));
					continue;
				}
				/* relaxed: a scan start hint, orders nothing. */
				atomic_store_explicit(&r->hint, k + 1, memory_order_relaxed);
				uint64_t code = res_encode(i, k), expect = old;
				/* acq_rel: the slot holds only an area id; acquire/
				 * release keep the swap ordered with the flag updates
				 * around it. Whoever swaps a value out unreserves it. */
				if (atomic_compare_exchange_strong_explicit(
				        &rs->area, &expect, code, memory_order_acq_rel,
				        memory_order_acquire)) {
					if (old)
						unreserve(lf, old);
				} else {
					/* Another thread sharing this slot won. */
					unreserve(lf, code);
				}
				return true;
			}
		}
	}
	return false;
}

/* Any area of node, reserved or not (the last resort before ENOMEM). */
static bool scan_alloc(struct lockfree *lf, int node, unsigned n, unsigned align, unsigned hint,
                       uint64_t *pfn)
{
	unsigned need = n;
	unsigned o = fk_order_ceil(n);
	if (n > 256 || align >= AREA_ORDER)
		need = AREA_FRAMES;
	else if (n > 64 || align > 6 || ((1u << o) == n && o > 6))
		need = 1u << (o > align ? o : align);
	unsigned nr = nr_regions(lf);
	for (unsigned i = 0; i < nr; i++) {
		struct lf_region *r = region_at(lf, i);
		if (!r || region_node(r) != node)
			continue;
		/* CPUs start at different places, so they do not all race
		 * for the same first free area. */
		uint32_t start = (uint32_t)((uint64_t)hint * r->nr_areas / lf->nr_cpus);
		for (uint32_t j = 0; j < r->nr_areas; j++) {
			uint32_t k = (start + j) % r->nr_areas;
			/* relaxed: a pre-filter; area_alloc revalidates. */
			uint32_t v = atomic_load_explicit(&r->areas[k].ctr, memory_order_relaxed);
			if ((v & CTR_FREE) < need)
				continue;
			if (area_alloc(r, k, n, align, pfn, hint))
				return true;
		}
	}
	return false;
}

/* More than one area (n > 512) or alignment above 2 MiB: whole free areas. */
static bool span_alloc(struct lockfree *lf, int node, uint64_t n, unsigned align, uint64_t *pfn)
{
	uint64_t na = (n + AREA_FRAMES - 1) / AREA_FRAMES;
	uint64_t step = align > AREA_ORDER ? 1ull << (align - AREA_ORDER) : 1;
	unsigned nr = nr_regions(lf);
	for (unsigned i = 0; i < nr; i++) {
		struct lf_region *r = region_at(lf, i);
		if (!r || region_node(r) != node || r->nr_areas < na)
			continue;
		uint64_t k = ((r->area0 + step - 1) / step) * step - r->area0;
		while (k + na <= r->nr_areas) {
			uint64_t j = 0;
			while (j < na && take_area(r, (uint32_t)(k + j)))
				j++;
			if (j == na) {
				*pfn = area_pfn(r, (uint32_t)k);
				uint64_t tail = na * AREA_FRAMES - n;
				if (tail)
					area_free(r, (uint32_t)(k + na - 1),
					          area_pfn(r, (uint32_t)(k + na)) - tail,
					          (unsigned)tail);
				return true;
			}
			for (uint64_t t = 0; t < j; t++) /* roll back */
				area_free(r, (uint32_t)(k + t), area_pfn(r, (uint32_t)(k + t)),
				          AREA_FRAMES);
			k = ((r->area0 + k + j + 1 + step - 1) / step) * step - r->area0;
		}
	}
	return false;
}

static bool alloc_on(struct lockfree *lf, int node, uint64_t n, unsigned align, unsigned cpu,
                     uint64_t *pfn)
{
	if (n > AREA_FRAMES || align > AREA_ORDER)
		return span_alloc(lf, node, n, align, pfn);
	return scan_alloc(lf, node, (unsigned)n, align, cpu, pfn);
}

/* ---- ops ---- */

/*
 * Serve a request from node: the CPU's reserved area of that node (a hit),
 * a newly reserved area, or any area. Counted in node's stats for cpu.
 */
static bool alloc_node(struct lockfree *lf, unsigned cpu, int node, uint64_t n, unsigned align,
                       uint64_t *pfn)
{
	struct lf_stat *st = &lf->nodes[node]->stat[cpu];
	if (n <= 256 && align < AREA_ORDER) {
		struct lf_res *rs = &lf->res[cpu * lf->nr_nodes + (unsigned)node];
		/* acquire: pairs with the acq_rel CAS that installed it. */
		uint64_t code = atomic_load_explicit(&rs->area, memory_order_acquire);
		if (code) {
			struct lf_region *r = region_at(lf, (unsigned)((code - 1) >> 32));
			if (area_alloc(r, (uint32_t)(code - 1), (unsigned)n, align, pfn, cpu)) {
				stat_inc(&st->hits); /* allocs = hits + the rest */
				return true;
			}
		}
		stat_inc(&st->misses);
		if (reserve_and_alloc(lf, rs, cpu, code, node, (unsigned)n, align, pfn)) {
			stat_inc(&st->allocs);
			return true;
		}
	}
	if (alloc_on(lf, node, n, align, cpu, pfn)) {
		stat_inc(&st->allocs);
		return true;
	}
	return false;
}

static int lf_alloc(void *state, uint64_t nframes, unsigned align_order, int node, unsigned flags,
                    uint64_t *paddr)
{
	struct lockfree *lf = state;
	uint64_t pfn = 0;
	if (nframes == 0 || paddr == NULL || align_order >= 40)
		return FK_EINVAL;
	if (flags & FK_ALLOC_ALIGNED && fk_order_ceil(nframes) > align_order)
		align_order = fk_order_ceil(nframes);
	unsigned cpu = fk_cpu_current(lf->nr_cpus);
	if (node < 0)
		node = FK_ALLOC_NODE_OF(flags);
	if (node < 0)
		node = cpu_node_of(lf, cpu);
	if ((unsigned)node >= lf->nr_nodes)
		return FK_EINVAL;
	if (alloc_node(lf, cpu, node, nframes, align_order, &pfn))
		goto done;
	if (flags & FK_ALLOC_NODE_STRICT)
		return FK_ENOMEM;
	for (unsigned i = 1; i < lf->nr_nodes; i++) {
		int nd = (int)(((unsigned)node + i) % lf->nr_nodes);
		if (alloc_node(lf, cpu, nd, nframes, align_order, &pfn)) {
			stat_inc(&lf->nodes[nd]->stat[cpu].fallback_allocs);
			goto done;
		}
	}
	return FK_ENOMEM;
done:
	*paddr = pfn << FK_PAGE_SHIFT;
	return 0;
}

static bool absent_any(struct lf_region *r, uint64_t pfn, uint64_t n)
{
	/* relaxed: absent bits change only in add/remove of the same range,
	 * which the caller does not race with frees of it. */
	if (atomic_load_explicit(&r->nr_absent, memory_order_relaxed) == 0)
		return false;
	for (uint64_t i = pfn - r->start; i < pfn - r->start + n; i++)
		if (atomic_load_explicit(&r->absent[i / 64], memory_order_relaxed) &
		    (1ull << (i % 64)))
			return true;
	return false;
}

/* Free [pfn, pfn+n) of r area by area (no checks). */
static void range_free(struct lf_region *r, uint64_t pfn, uint64_t n)
{
	while (n) {
		uint32_t k = (uint32_t)(pfn / AREA_FRAMES - r->area0);
		uint64_t lim = area_pfn(r, k + 1) - pfn;
		unsigned c = (unsigned)(n < lim ? n : lim);
		area_free(r, k, pfn, c);
		pfn += c;
		n -= c;
	}
}

static int lf_dealloc(void *state, uint64_t paddr, uint64_t nframes)
{
	struct lockfree *lf = state;
	uint64_t pfn;
	struct lf_region *r;
	int bad = range_region(lf, paddr, nframes, &pfn, &r);
	if (bad)
		return bad;
	/* Double-free check first, so a rejected call changes nothing. */
	for (uint64_t p = pfn, n = nframes; n;) {
		uint32_t k = (uint32_t)(p / AREA_FRAMES - r->area0);
		uint64_t lim = area_pfn(r, k + 1) - p;
		unsigned c = (unsigned)(n < lim ? n : lim);
		if (!bits_all_set(&r->areas[k].bits, (unsigned)(p - area_pfn(r, k)), c))
			return FK_EUNUSED;
		p += c;
		n -= c;
	}
	if (absent_any(r, pfn, nframes))
		return FK_EUNUSED;
	range_free(r, pfn, nframes);
	unsigned cpu = fk_cpu_current(lf->nr_cpus);
	struct lf_stat *st = &lf->nodes[region_node(r)]->stat[cpu];
	stat_inc(&st->frees);
	if (cpu_node_of(lf, cpu) != region_node(r))
		stat_inc(&st->remote_frees);
	return 0;
}

static struct lf_region *region_new(uint64_t pfn, uint64_t n, int node)
{
	uint64_t a0 = pfn / AREA_FRAMES, a1 = (pfn + n + AREA_FRAMES - 1) / AREA_FRAMES;
	uint64_t na = a1 - a0;
	if (na > UINT32_MAX)
		return NULL;
	size_t hdr = (sizeof(struct lf_region) + 63) & ~(size_t)63;
	size_t bits = (size_t)na * sizeof(struct lf_area);
	size_t ctr = 0;
	size_t abs = (size_t)((n + 63) / 64) * sizeof(uint64_t);
	int on_numa;
	char *m = meta_alloc(hdr + bits + ctr + abs, node, &on_numa);
	if (!m)
		return NULL;
	struct lf_region *r = (struct lf_region *)m;
	r->start = pfn;
	r->end = pfn + n;
	r->area0 = a0;
	r->nr_areas = (uint32_t)na;
	atomic_init(&r->node, node);
	atomic_init(&r->dead, 0);
	r->bytes = hdr + bits + ctr + abs;
	r->on_numa = on_numa;
	r->areas = (struct lf_area *)(m + hdr);
	r->absent = (_Atomic uint64_t *)(m + hdr + bits + ctr);
	atomic_init(&r->hint, 0);
	atomic_init(&r->nr_absent, 0);
	for (uint32_t k = 0; k < r->nr_areas; k++) {
		uint64_t s = area_pfn(r, k), e = s + AREA_FRAMES;
		uint64_t ps = s > pfn ? s : pfn, pe = e < pfn + n ? e : pfn + n;
		/* Frames outside [pfn, pfn+n) are absent: their bits stay set. */
		for (unsigned w = 0; w < AREA_WORDS; w++) {
			uint64_t word = ~0ull;
			for (unsigned b = 0; b < 64; b++) {
				uint64_t f = s + w * 64 + b;
				if (f >= ps && f < pe)
					word &= ~(1ull << b);
			}
			atomic_init(&r->areas[k].bits.w[w], word);
		}
		atomic_init(&r->areas[k].ctr, (uint32_t)(pe - ps));
	}
	for (uint64_t i = 0; i < (n + 63) / 64; i++)
		atomic_init(&r->absent[i], 0);
	return r;
}

/* Re-add withdrawn frames [pfn, pfn+n) of r (all absent). */
static int revive(struct lockfree *lf, struct lf_region *r, uint64_t pfn, uint64_t n, int node)
{
	if (pfn + n > r->end || node != region_node(r))
		return FK_EEXIST;
	for (uint64_t i = pfn - r->start; i < pfn - r->start + n; i++)
		/* relaxed: see absent_any. */
		if (!(atomic_load_explicit(&r->absent[i / 64], memory_order_relaxed) &
		      (1ull << (i % 64))))
			return FK_EEXIST;
	for (uint64_t i = pfn - r->start; i < pfn - r->start + n; i++)
		atomic_fetch_and_explicit(&r->absent[i / 64], ~(1ull << (i % 64)),
		                          memory_order_relaxed);
	/* relaxed, both: a count of withdrawn frames and a statistics total. */
	atomic_fetch_sub_explicit(&r->nr_absent, n, memory_order_relaxed);
	atomic_fetch_add_explicit(&lf->nodes[node]->total, n, memory_order_relaxed);
	range_free(r, pfn, n);
	return 0;
}

/*
 * Bring back a fully withdrawn region, possibly on another node. CPU slots
 * still naming its areas under the old node are cleared first.
 */
static void revive_all(struct lockfree *lf, struct lf_region *r, unsigned idx, int node)
{
	uint64_t n = r->end - r->start;
	if (region_node(r) != node) {
		for (unsigned c = 0; c < lf->nr_cpus * lf->nr_nodes; c++) {
			/* acquire/acq_rel: as in reserve_and_alloc; whoever swaps a
			 * value out unreserves it. */
			uint64_t code =
			    atomic_load_explicit(&lf->res[c].area, memory_order_acquire);
			if (code && (unsigned)((code - 1) >> 32) == idx &&
			    atomic_compare_exchange_strong_explicit(&lf->res[c].area, &code, 0,
			                                            memory_order_acq_rel,
			                                            memory_order_relaxed))
				unreserve(lf, code);
		}
		/* relaxed: published by the release store of dead below. */
		atomic_store_explicit(&r->node, node, memory_order_relaxed);
	}
	for (uint64_t i = 0; i < (n + 63) / 64; i++)
		/* relaxed: see absent_any. */
		atomic_store_explicit(&r->absent[i], 0, memory_order_relaxed);
	atomic_store_explicit(&r->nr_absent, 0, memory_order_relaxed);
	/* relaxed: a statistics total. */
	atomic_fetch_add_explicit(&lf->nodes[node]->total, n, memory_order_relaxed);
	/* release: pairs with region_dead's acquire. */
	atomic_store_explicit(&r->dead, 0, memory_order_release);
	range_free(r, r->start, n);
}

static int lf_add(void *state, uint64_t paddr, uint64_t nframes, int node)
{
	struct lockfree *lf = state;
	if (paddr & (FK_PAGE_SIZE - 1))
		return FK_ENOTALIGNED;
	uint64_t pfn = paddr >> FK_PAGE_SHIFT;
	if (nframes == 0 || node < 0 || (unsigned)node >= lf->nr_nodes || pfn + nframes < pfn)
		return FK_EINVAL;
	/* Overlap check. Concurrent adds of overlapping ranges are a caller
	 * bug this does not detect (the core serialises hot-plug of a range). */
	unsigned nr = nr_regions(lf), reuse_idx = 0;
	struct lf_region *reuse = NULL;
	for (unsigned i = 0; i < nr; i++) {
		struct lf_region *r = region_at(lf, i);
		if (!r || pfn >= r->end || pfn + nframes <= r->start)
			continue;
		if (region_dead(r)) { /* fully withdrawn: may come back, on any node */
			if (r->start == pfn && r->end == pfn + nframes) {
				reuse = r;
				reuse_idx = i;
			}
			continue;
		}
		if (pfn < r->start)
			return FK_EEXIST;
		return revive(lf, r, pfn, nframes, node);
	}
	if (reuse) {
		revive_all(lf, reuse, reuse_idx, node);
		return 0;
	}
	struct lf_region *r = region_new(pfn, nframes, node);
	if (!r)
		return FK_ENOMEM;
	/* relaxed: claims a slot index; publication is the release store. */
	unsigned idx = atomic_fetch_add_explicit(&lf->nr_regions, 1, memory_order_relaxed);
	if (idx >= LF_MAX_REGIONS) {
		meta_free(r, r->bytes, r->on_numa);
		return FK_ENOMEM;
	}
	atomic_fetch_add_explicit(&lf->nodes[node]->total, nframes, memory_order_relaxed);
	/* release: pairs with the acquire in region_at; publishes the
	 * initialised region. Linearisation point of add_free_memory. */
	atomic_store_explicit(&lf->regions[idx], r, memory_order_release);
	return 0;
}

/*
 * Withdraw [pfn, pfn+n): take the quota and set the bits of each area part;
 * any allocated bit (or missing quota) rolls everything back: FK_EBUSY.
 */
static int lf_remove(void *state, uint64_t paddr, uint64_t nframes)
{
	struct lockfree *lf = state;
	uint64_t pfn;
	struct lf_region *r;
	int bad = range_region(lf, paddr, nframes, &pfn, &r);
	if (bad)
		return bad;
	if (absent_any(r, pfn, nframes))
		return FK_EOUTOFBOUND;
	/* Cheap pre-check so an obviously busy range disturbs nobody. */
	for (uint64_t p = pfn; p < pfn + nframes; p++) {
		uint32_t k = (uint32_t)(p / AREA_FRAMES - r->area0);
		unsigned b = (unsigned)(p - area_pfn(r, k));
		/* relaxed: advisory; the CAS below decides. */
		if (atomic_load_explicit(&r->areas[k].bits.w[b / 64], memory_order_relaxed) &
		    (1ull << (b % 64)))
			return FK_EBUSY;
	}
	uint64_t p = pfn, n = nframes;
	int err = 0;
	while (n) {
		uint32_t k = (uint32_t)(p / AREA_FRAMES - r->area0);
		uint64_t lim = area_pfn(r, k + 1) - p;
		unsigned c = (unsigned)(n < lim ? n : lim), first = (unsigned)(p - area_pfn(r, k));
		if (!ctr_take(&r->areas[k].ctr, c)) {
			err = FK_EBUSY;
			break;
		}
		unsigned done = 0;
		while (done < c) {
			unsigned bit = first + done, w = bit / 64, b = bit % 64;
			unsigned kk = 64 - b < c - done ? 64 - b : c - done;
			uint64_t m = word_mask(b, kk);
			/* relaxed: the CAS validates. */
			uint64_t v =
			    atomic_load_explicit(&r->areas[k].bits.w[w], memory_order_relaxed);
			do {
				if (v & m)
					break;
				/* acquire: as in bits_take_small (we now own them). */
			} while (!atomic_compare_exchange_weak_explicit(&r->areas[k].bits.w[w], &v,
			                                                v | m, memory_order_acquire,
			                                                memory_order_relaxed));
			if (v & m)
				break;
			done += kk;
		}
		if (done < c) { /* undo this area's part, then the earlier ones */
			area_free(r, k, p, done);
			ctr_give(&r->areas[k].ctr, c - done);
			err = FK_EBUSY;
			break;
		}
		p += c;
		n -= c;
	}
	if (err) {
		range_free(r, pfn, p - pfn);
		return err;
	}
	for (uint64_t i = pfn - r->start; i < pfn - r->start + nframes; i++)
		/* relaxed: see absent_any. */
		atomic_fetch_or_explicit(&r->absent[i / 64], 1ull << (i % 64),
		                         memory_order_relaxed);
	/* relaxed: counters of withdrawn frames and of the node total; the
	 * frames themselves are held by their set bits and taken quota. */
	uint64_t absent = atomic_fetch_add_explicit(&r->nr_absent, nframes, memory_order_relaxed);
	atomic_fetch_sub_explicit(&lf->nodes[region_node(r)]->total, nframes, memory_order_relaxed);
	if (absent + nframes == r->end - r->start)
		/* relaxed: nothing to publish; every frame is withdrawn. */
		atomic_store_explicit(&r->dead, 1, memory_order_relaxed);
	return 0;
}

static void lf_drain(void *state)
{
	struct lockfree *lf = state;
	for (unsigned c = 0; c < lf->nr_cpus * lf->nr_nodes; c++) {
		/* acq_rel: as the swap in reserve_and_alloc; we swapped the value
		 * out, so we clear its flag. */
		uint64_t old = atomic_exchange_explicit(&lf->res[c].area, 0, memory_order_acq_rel);
		if (old)
			unreserve(lf, old);
	}
}

/* Buddy view of an area's free bits: maximal aligned free blocks. */
static void count_blocks(const uint64_t *w, unsigned first, unsigned o, uint64_t *out)
{
	bool free;
	if (o >= 6) {
		free = true;
		for (unsigned i = first / 64; i < (first + (1u << o)) / 64; i++)
			free = free && w[i] == 0;
	} else {
		free = (w[first / 64] & word_mask(first % 64, 1u << o)) == 0;
	}
	if (free) {
		out[o]++;
		return;
	}
	if (o == 0)
		return;
	if (o <= 6) { /* a fully allocated word part holds no free block */
		uint64_t m = word_mask(first % 64, 1u << o);
		if ((w[first / 64] & m) == m)
			return;
	}
	count_blocks(w, first, o - 1, out);
	count_blocks(w, first + (1u << (o - 1)), o - 1, out);
}

static int lf_stats(void *state, int node, struct fk_alloc_stats *out)
{
	struct lockfree *lf = state;
	if (out == NULL || (node >= 0 && (unsigned)node >= lf->nr_nodes))
		return FK_EINVAL;
	memset(out, 0, sizeof(*out));
	for (unsigned nd = 0; nd < lf->nr_nodes; nd++) {
		if (node >= 0 && (unsigned)node != nd)
			continue;
		struct lf_node *ln = lf->nodes[nd];
		/* relaxed, all: statistics snapshots, exact only when quiescent. */
		out->total_frames += atomic_load_explicit(&ln->total, memory_order_relaxed);
		for (unsigned c = 0; c < lf->nr_cpus; c++) {
			struct lf_stat *s = &ln->stat[c];
			out->allocs += atomic_load_explicit(&s->allocs, memory_order_relaxed) +
			               atomic_load_explicit(&s->hits, memory_order_relaxed);
			out->frees += atomic_load_explicit(&s->frees, memory_order_relaxed);
			out->remote_frees +=
			    atomic_load_explicit(&s->remote_frees, memory_order_relaxed);
			out->fallback_allocs +=
			    atomic_load_explicit(&s->fallback_allocs, memory_order_relaxed);
			out->cache_hits += atomic_load_explicit(&s->hits, memory_order_relaxed);
			out->cache_misses += atomic_load_explicit(&s->misses, memory_order_relaxed);
		}
	}
	unsigned nr = nr_regions(lf);
	for (unsigned i = 0; i < nr; i++) {
		struct lf_region *r = region_at(lf, i);
		if (!r || (node >= 0 && region_node(r) != node))
			continue;
		for (uint32_t k = 0; k < r->nr_areas; k++) {
			uint32_t v = atomic_load_explicit(&r->areas[k].ctr, memory_order_relaxed);
			uint64_t w[AREA_WORDS];
			out->free_frames += v & CTR_FREE;
			if (v & CTR_RESERVED)
				out->cached_frames += v & CTR_FREE;
			for (unsigned j = 0; j < AREA_WORDS; j++)
				w[j] = atomic_load_explicit(&r->areas[k].bits.w[j],
				                            memory_order_relaxed);
			count_blocks(w, 0, AREA_ORDER, out->free_blocks);
		}
	}
	return 0;
}

static void lf_destroy(void *state)
{
	struct lockfree *lf = state;
	unsigned nr = nr_regions(lf);
	for (unsigned i = 0; i < nr; i++) {
		struct lf_region *r = region_at(lf, i);
		if (r)
			meta_free(r, r->bytes, r->on_numa);
	}
	for (unsigned nd = 0; nd < lf->nr_nodes; nd++)
		if (lf->nodes[nd])
			meta_free(lf->nodes[nd], lf->nodes[nd]->bytes, lf->nodes[nd]->on_numa);
	free(lf->res);
	free(lf);
}

static int lf_create(const struct fk_alloc_params *params, unsigned nr_nodes, const int *cpu_node,
                     unsigned nr_cpus, void **state)
{
	(void)params; /* no lock, no pcp parameters */
	if (nr_nodes == 0 || nr_nodes > FK_MAX_NODES)
		return FK_EINVAL;
	struct lockfree *lf = calloc(1, sizeof(*lf));
	if (!lf)
		return FK_ENOMEM;
	lf->nr_nodes = nr_nodes;
	lf->nr_cpus = nr_cpus ? nr_cpus : 1;
	lf->cpu_node = cpu_node;
	atomic_init(&lf->nr_regions, 0);
	for (unsigned i = 0; i < LF_MAX_REGIONS; i++)
		atomic_init(&lf->regions[i], NULL);
	lf->res = aligned_alloc(64, lf->nr_cpus * nr_nodes * sizeof(struct lf_res));
	if (!lf->res)
		goto fail;
	for (unsigned c = 0; c < lf->nr_cpus * nr_nodes; c++)
		atomic_init(&lf->res[c].area, 0);
	for (unsigned nd = 0; nd < nr_nodes; nd++) {
		size_t bytes = sizeof(struct lf_node) + lf->nr_cpus * sizeof(struct lf_stat);
		int on_numa;
		struct lf_node *ln = meta_alloc(bytes, (int)nd, &on_numa);
		if (!ln)
			goto fail;
		ln->bytes = bytes;
		ln->on_numa = on_numa;
		lf->nodes[nd] = ln; /* zero-filled pages: the atomics start at 0 */
	}
	*state = lf;
	return 0;
fail:
	lf_destroy(lf);
	return FK_ENOMEM;
}

const struct fk_allocator_ops fk_alloc_lockfree_ops = {
    .name = "lockfree",
    .create = lf_create,
    .destroy = lf_destroy,
    .alloc = lf_alloc,
    .dealloc = lf_dealloc,
    .add_free_memory = lf_add,
    .remove_free_memory = lf_remove,
    .drain = lf_drain,
    .stats = lf_stats,
};
