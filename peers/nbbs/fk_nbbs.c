/* SPDX-License-Identifier: MIT */
/*
 * framekit adapter for NBBS, the non-blocking buddy system (HPDCS/NBBS,
 * "A Non-Blocking Buddy System for Scalable Memory Allocation on Multi-Core
 * Machines", CLUSTER'18), 1lvl-nb variant, as a framekit allocator plug-in
 * (framekit/allocator.h). Only this adapter is framekit's. NBBS is GPL-3.0:
 * scripts/build-peers.sh compiles it from the user's checkout into
 * build/peers/fk_alloc_nbbs.so, which is never shipped.
 *
 * NBBS is one process-wide arena of 2^(NUM_LEVELS-1) 4 KiB leaves, sized
 * when NBBS is compiled (NBBS_LEVELS), whose blocks are addresses in an
 * mmap'd region: bd_xx_malloc(bytes) -> pointer, bd_xx_free(pointer) of a
 * whole block. The adapter maps leaf i to frame base_pfn + i:
 *  - Frames no range donated stay allocated inside NBBS (its own blocks,
 *    the adapter's reservation), in the largest blocks possible: a scan
 *    over single reserved leaves would be timed as NBBS's cost. Ranges are
 *    fixed by the first allocation: each add_free_memory before it rebuilds
 *    the reservation from an empty arena (every 1024-frame block taken;
 *    those partly donated taken again leaf by leaf, which is exact because
 *    at that moment the block is the arena's only free memory), one after
 *    it gets FK_EBUSY. base_pfn is the first range's frame rounded down to
 *    1024; every range must fit in the arena after it (FK_ENOMEM
 *    otherwise: rebuild with a larger NBBS_LEVELS). One context at a time
 *    (a second create gets FK_EBUSY).
 *  - alloc(n, align): an NBBS block of 2^k frames, k = max(ceil(log2 n),
 *    align), at most 1024 frames. NBBS frees only whole blocks, so the
 *    tail beyond n stays allocated until all n frames have come back;
 *    those tail frames count as allocated in stats (internal
 *    fragmentation, the buddy system's own). NBBS has no NUMA placement:
 *    a preferred node is ignored; with FK_ALLOC_NODE_STRICT up to 16 blocks
 *    are tried for one on that node's ranges (the others are given back).
 *  - dealloc(range): the frames are checked and cleared in a per-frame
 *    bitmap (FK_EUNUSED if one was free already, nothing changed), then
 *    subtracted from their block's count; the block goes back to NBBS
 *    (bd_xx_free) with its last frame.
 *  - remove_free_memory: FK_EBUSY (not supported: NBBS cannot be kept from
 *    handing out given addresses), nor a hot add after the first
 *    allocation. framekit_stress runs it --no-hotplug.
 *  - stats: per range, donated frames minus frames of live blocks whose
 *    first frame is in the range; free_blocks[] are 0 (NBBS keeps no count).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <framekit/allocator.h>

#include "nb1lvl.h" /* NBBS: bd_xx_malloc, bd_xx_free, MIN/MAX_ALLOCABLE_BYTES */

#define NB_LEAVES       (1ull << (NUM_LEVELS - 1))
#define NB_MAX_ORDER    10u /* MAX_ALLOCABLE_BYTES / MIN_ALLOCABLE_BYTES = 1024 */
#define NB_MAX_RANGES   64
#define NB_STRICT_TRIES 16

_Static_assert(MIN_ALLOCABLE_BYTES == FK_PAGE_SIZE, "NBBS leaves must be framekit frames");
_Static_assert(MAX_ALLOCABLE_BYTES == (FK_PAGE_SIZE << NB_MAX_ORDER), "NB_MAX_ORDER");

struct nb_range {
	uint64_t first, nframes; /* leaves [first, first + nframes) */
	int node;
};

struct nb {
	char *base; /* leaf 0's address in NBBS's arena */
	uint64_t base_pfn;
	int have_base_pfn;
	struct nb_range ranges[NB_MAX_RANGES];
	/* Published ranges: release store in nb_add_free_memory, acquire loads
	 * in the other callbacks (a range is complete before it is counted). */
	_Atomic unsigned nr_ranges;
	pthread_mutex_t add_lock; /* serialises add_free_memory */
	/* Per leaf: 1 + order of the live NBBS block that starts there, or 0.
	 * Written by the thread that owns the block (alloc, or the dealloc
	 * that frees it); a dealloc finds it through the core's hand-over of
	 * the frames (relaxed: the core's own synchronisation orders it). */
	_Atomic uint8_t *blk_order;
	_Atomic uint32_t *blk_left; /* frames of that block the core still holds */
	_Atomic uint64_t *held;     /* bit per leaf: handed to the core */
	_Atomic int started;        /* an allocation happened: ranges are fixed */
};

static _Atomic int nb_in_use; /* NBBS is one arena: one context at a time */
static char *nb_arena_base;   /* found by the first create, the same afterwards */

static inline char *nb_ptr(const struct nb *b, uint64_t leaf)
{
	return b->base + leaf * FK_PAGE_SIZE;
}

static unsigned nb_order_ceil(uint64_t n)
{
	return n <= 1 ? 0u : (unsigned)(64 - __builtin_clzll(n - 1));
}

static int nb_create(const struct fk_alloc_params *params, unsigned nr_nodes, const int *cpu_node,
                     unsigned nr_cpus, void **state)
{
	(void)params, (void)nr_nodes, (void)cpu_node, (void)nr_cpus;
	int zero = 0;
	if (!atomic_compare_exchange_strong(&nb_in_use, &zero, 1))
		return FK_EBUSY;
	struct nb *b = calloc(1, sizeof(*b));
	if (b) {
		b->blk_order = calloc(NB_LEAVES, sizeof(*b->blk_order));
		b->blk_left = calloc(NB_LEAVES, sizeof(*b->blk_left));
		b->held = calloc(NB_LEAVES / 64, sizeof(*b->held));
	}
	if (!b || !b->blk_order || !b->blk_left || !b->held) {
		if (b) {
			free(b->blk_order);
			free(b->blk_left);
			free(b->held);
		}
		free(b);
		atomic_store(&nb_in_use, 0);
		return FK_ENOMEM;
	}
	pthread_mutex_init(&b->add_lock, NULL);
	/* Take every 1024-frame block; the lowest address is leaf 0. */
	char *lo = NULL;
	for (uint64_t i = 0; i < NB_LEAVES >> NB_MAX_ORDER; i++) {
		char *p = bd_xx_malloc(FK_PAGE_SIZE << NB_MAX_ORDER);
		if (!p)
			abort(); /* NBBS was not empty: a leak of an earlier context */
		if (!lo || p < lo)
			lo = p;
	}
	if (nb_arena_base && lo != nb_arena_base)
		abort();
	nb_arena_base = b->base = lo;
	for (uint64_t h = 0; h < NB_LEAVES; h += 1ull << NB_MAX_ORDER) {
		atomic_init(&b->blk_order[h], NB_MAX_ORDER + 1);
		atomic_init(&b->blk_left[h], 1u << NB_MAX_ORDER);
	}
	*state = b;
	return 0;
}

/* Gives back leaves [f, f + n) that belong to the core (or, at add time, to
 * the adapter's reservation): each block is freed with its last leaf. */
static void nb_release(struct nb *b, uint64_t f, uint64_t n)
{
	uint64_t end = f + n;
	while (f < end) {
		uint64_t head = f;
		unsigned k = 0;
		for (; k <= NB_MAX_ORDER; k++) {
			head = f & ~((1ull << k) - 1);
			if (atomic_load_explicit(&b->blk_order[head], memory_order_relaxed) ==
			    k + 1)
				break;
		}
		if (k > NB_MAX_ORDER)
			abort(); /* a held frame outside every block: adapter bug */
		uint64_t stop = head + (1ull << k) < end ? head + (1ull << k) : end;
		uint32_t cnt = (uint32_t)(stop - f);
		/* acq_rel: the last decrement sees every other frame's release. */
		if (atomic_fetch_sub_explicit(&b->blk_left[head], cnt, memory_order_acq_rel) ==
		    cnt) {
			atomic_store_explicit(&b->blk_order[head], 0, memory_order_relaxed);
			bd_xx_free(nb_ptr(b, head));
		}
		f = stop;
	}
}

static void nb_destroy(void *state)
{
	struct nb *b = state;
	/* Every block still live (the reservation and anything not given back). */
	for (uint64_t i = 0; i < NB_LEAVES; i++)
		if (atomic_load_explicit(&b->blk_order[i], memory_order_relaxed))
			bd_xx_free(nb_ptr(b, i));
	free(b->blk_order);
	free(b->blk_left);
	free(b->held);
	pthread_mutex_destroy(&b->add_lock);
	free(b);
	atomic_store(&nb_in_use, 0);
}

/* The live range holding leaves [f, f + n), or NULL. */
static const struct nb_range *nb_find(struct nb *b, uint64_t f, uint64_t n)
{
	unsigned nr = atomic_load_explicit(&b->nr_ranges, memory_order_acquire);
	for (unsigned i = 0; i < nr; i++) {
		const struct nb_range *r = &b->ranges[i];
		if (f >= r->first && n <= r->nframes && f - r->first <= r->nframes - n)
			return r;
	}
	return NULL;
}

/* Sets (set) or clears the held bits of [f, f + n); clearing fails (and
 * changes nothing) if one of them is clear already. */
static int nb_held(struct nb *b, uint64_t f, uint64_t n, int set)
{
	uint64_t at = f, end = f + n;
	while (at < end) {
		uint64_t w = at / 64, lo = at % 64;
		uint64_t cnt = end - at < 64 - lo ? end - at : 64 - lo;
		uint64_t mask = (cnt == 64 ? ~0ull : ((1ull << cnt) - 1)) << lo;
		if (set) {
			/* relaxed: the frames reach other threads through the core. */
			atomic_fetch_or_explicit(&b->held[w], mask, memory_order_relaxed);
		} else {
			uint64_t old = atomic_load_explicit(&b->held[w], memory_order_relaxed);
			do {
				if ((old & mask) != mask) {
					if (at > f)
						nb_held(b, f, at - f, 1); /* undo */
					return -1;
				}
			} while (!atomic_compare_exchange_weak_explicit(
			    &b->held[w], &old, old & ~mask, memory_order_relaxed,
			    memory_order_relaxed));
		}
		at += cnt;
	}
	return 0;
}

static int nb_alloc(void *state, uint64_t nframes, unsigned align_order, int node, unsigned flags,
                    uint64_t *paddr)
{
	struct nb *b = state;
	if (nframes == 0 || align_order >= 64)
		return FK_EINVAL;
	unsigned k = nb_order_ceil(nframes);
	if (align_order > k)
		k = align_order;
	if (k > NB_MAX_ORDER)
		return FK_ENOMEM; /* larger than NBBS's largest block */
	if (!atomic_load_explicit(&b->started, memory_order_relaxed))
		atomic_store_explicit(&b->started, 1, memory_order_relaxed); /* see add */
	int strict = (flags & FK_ALLOC_NODE_STRICT) && node >= 0;
	char *tried[NB_STRICT_TRIES];
	int ntried = 0, err = FK_ENOMEM;
	for (;;) {
		char *p = bd_xx_malloc(FK_PAGE_SIZE << k);
		if (!p)
			break;
		uint64_t leaf = (uint64_t)(p - b->base) / FK_PAGE_SIZE;
		const struct nb_range *r = nb_find(b, leaf, nframes);
		if (r && (!strict || r->node == node)) {
			atomic_store_explicit(&b->blk_left[leaf], (uint32_t)nframes,
			                      memory_order_relaxed);
			atomic_store_explicit(&b->blk_order[leaf], (uint8_t)(k + 1),
			                      memory_order_relaxed);
			nb_held(b, leaf, nframes, 1);
			*paddr = (b->base_pfn + leaf) << FK_PAGE_SHIFT;
			err = 0;
			break;
		}
		tried[ntried++] = p; /* another node's (or straddling ranges) */
		if (ntried == NB_STRICT_TRIES)
			break;
	}
	while (ntried)
		bd_xx_free(tried[--ntried]);
	return err;
}

static int nb_dealloc(void *state, uint64_t paddr, uint64_t nframes)
{
	struct nb *b = state;
	if (paddr % FK_PAGE_SIZE)
		return FK_ENOTALIGNED;
	if (nframes == 0)
		return FK_EINVAL;
	uint64_t pfn = paddr >> FK_PAGE_SHIFT;
	if (!b->have_base_pfn || pfn < b->base_pfn || !nb_find(b, pfn - b->base_pfn, nframes))
		return FK_EOUTOFBOUND;
	uint64_t f = pfn - b->base_pfn;
	if (nb_held(b, f, nframes, 0))
		return FK_EUNUSED;
	nb_release(b, f, nframes);
	return 0;
}

/* Leaves of [h, h + n) that some range donated. */
static uint64_t nb_donated(const struct nb *b, uint64_t h, uint64_t n)
{
	uint64_t d = 0;
	unsigned nr = atomic_load_explicit(&b->nr_ranges, memory_order_relaxed);
	for (unsigned i = 0; i < nr; i++) {
		const struct nb_range *r = &b->ranges[i];
		uint64_t lo = h > r->first ? h : r->first;
		uint64_t hi = h + n < r->first + r->nframes ? h + n : r->first + r->nframes;
		d += hi > lo ? hi - lo : 0;
	}
	return d;
}

static void nb_take(struct nb *b, char *p, unsigned order)
{
	uint64_t leaf = (uint64_t)(p - b->base) / FK_PAGE_SIZE;
	atomic_store_explicit(&b->blk_order[leaf], (uint8_t)(order + 1), memory_order_relaxed);
	atomic_store_explicit(&b->blk_left[leaf], 1u << order, memory_order_relaxed);
}

static void nb_give(struct nb *b, uint64_t leaf)
{
	atomic_store_explicit(&b->blk_order[leaf], 0, memory_order_relaxed);
	bd_xx_free(nb_ptr(b, leaf));
}

/*
 * The reservation for the ranges added so far, rebuilt from an empty arena
 * (no allocation has happened: every live block is the reservation's).
 * Caller holds add_lock.
 */
static void nb_rebuild(struct nb *b)
{
	const uint64_t max = 1ull << NB_MAX_ORDER;
	for (uint64_t i = 0; i < NB_LEAVES; i++)
		if (atomic_load_explicit(&b->blk_order[i], memory_order_relaxed))
			nb_give(b, i);
	for (uint64_t i = 0; i < NB_LEAVES / max; i++) {
		char *p = bd_xx_malloc(FK_PAGE_SIZE << NB_MAX_ORDER);
		if (!p)
			abort(); /* the arena was not empty */
		nb_take(b, p, NB_MAX_ORDER);
	}
	/* Partly donated blocks, leaf by leaf: each is the only free memory
	 * while it is taken again, so every leaf NBBS returns is one of it. */
	for (uint64_t h = 0; h < NB_LEAVES; h += max) {
		uint64_t d = nb_donated(b, h, max);
		if (d == 0 || d == max)
			continue;
		nb_give(b, h);
		for (uint64_t j = 0; j < max; j++) {
			char *p = bd_xx_malloc(FK_PAGE_SIZE);
			uint64_t leaf = p ? (uint64_t)(p - b->base) / FK_PAGE_SIZE : UINT64_MAX;
			if (leaf < h || leaf >= h + max)
				abort(); /* NBBS handed out memory outside the only free block */
			nb_take(b, p, 0);
		}
	}
	/* Now give the donated leaves to NBBS. */
	for (uint64_t h = 0; h < NB_LEAVES; h += max) {
		uint64_t d = nb_donated(b, h, max);
		if (d == max) {
			nb_give(b, h);
		} else if (d) {
			for (uint64_t j = h; j < h + max; j++)
				if (nb_donated(b, j, 1))
					nb_give(b, j);
		}
	}
}

static int nb_add_free_memory(void *state, uint64_t paddr, uint64_t nframes, int node)
{
	struct nb *b = state;
	if (paddr % FK_PAGE_SIZE)
		return FK_ENOTALIGNED;
	uint64_t pfn = paddr >> FK_PAGE_SHIFT;
	if (nframes == 0 || nframes > (UINT64_MAX >> FK_PAGE_SHIFT) - pfn)
		return FK_EINVAL;
	int err = 0;
	pthread_mutex_lock(&b->add_lock);
	if (atomic_load_explicit(&b->started, memory_order_relaxed)) {
		pthread_mutex_unlock(&b->add_lock);
		return FK_EBUSY; /* ranges are fixed once allocation started */
	}
	if (!b->have_base_pfn) {
		b->base_pfn = pfn & ~((1ull << NB_MAX_ORDER) - 1);
		b->have_base_pfn = 1;
	}
	/* relaxed: writers are serialised by add_lock. */
	unsigned nr = atomic_load_explicit(&b->nr_ranges, memory_order_relaxed);
	if (pfn < b->base_pfn || pfn - b->base_pfn > NB_LEAVES ||
	    nframes > NB_LEAVES - (pfn - b->base_pfn))
		err = FK_ENOMEM; /* outside the arena: rebuild with a larger NBBS_LEVELS */
	for (unsigned i = 0; i < nr && !err; i++) {
		const struct nb_range *o = &b->ranges[i];
		uint64_t f = pfn - b->base_pfn;
		if (f < o->first + o->nframes && o->first < f + nframes)
			err = FK_EEXIST;
	}
	if (!err && nr == NB_MAX_RANGES)
		err = FK_ENOMEM;
	if (!err) {
		b->ranges[nr] = (struct nb_range){pfn - b->base_pfn, nframes, node};
		/* release: pairs with the acquire loads of the readers. */
		atomic_store_explicit(&b->nr_ranges, nr + 1, memory_order_release);
		nb_rebuild(b);
	}
	pthread_mutex_unlock(&b->add_lock);
	return err;
}

static int nb_remove_free_memory(void *state, uint64_t paddr, uint64_t nframes)
{
	(void)state;
	if (paddr % FK_PAGE_SIZE)
		return FK_ENOTALIGNED;
	if (nframes == 0)
		return FK_EINVAL;
	return FK_EBUSY; /* not supported: see the file comment */
}

static int nb_stats(void *state, int node, struct fk_alloc_stats *out)
{
	struct nb *b = state;
	memset(out, 0, sizeof(*out));
	unsigned nr = atomic_load_explicit(&b->nr_ranges, memory_order_acquire);
	for (unsigned i = 0; i < nr; i++) {
		const struct nb_range *r = &b->ranges[i];
		if (node >= 0 && r->node != node)
			continue;
		uint64_t used = 0;
		for (uint64_t f = r->first; f < r->first + r->nframes; f++) {
			uint8_t o = atomic_load_explicit(&b->blk_order[f], memory_order_relaxed);
			if (o)
				used += 1ull << (o - 1);
		}
		out->total_frames += r->nframes;
		out->free_frames += r->nframes - (used < r->nframes ? used : r->nframes);
	}
	return 0;
}

static const struct fk_allocator_ops nbbs_ops = {
    .name = "nbbs",
    .create = nb_create,
    .destroy = nb_destroy,
    .alloc = nb_alloc,
    .dealloc = nb_dealloc,
    .add_free_memory = nb_add_free_memory,
    .remove_free_memory = nb_remove_free_memory,
    .drain = NULL, /* no per-CPU caches */
    .stats = nb_stats,
};

FK_ALLOCATOR_PLUGIN(nbbs_ops);
