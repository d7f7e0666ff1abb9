/* SPDX-License-Identifier: MIT */
/*
 * buddy-pcp: the buddy core of buddy.c with Linux-style per-CPU page lists
 * for orders 0..PCP_ORDERS-1 in front. An empty list is refilled with
 * pcp_batch blocks under the global lock; a list above pcp_high gives
 * pcp_batch blocks back. Only frames of the CPU's own node are cached.
 *
 * The kernel protects its pcp lists by disabling preemption/IRQs; user space
 * cannot, and a thread may migrate or share its CPU index with another, so
 * each list has its own small lock (CK FAS spinlock, uncontended in the
 * common case). Lock order: per-CPU locks in index order, then the global
 * buddy lock. add/remove_free_memory change the chunk table and take every
 * per-CPU lock (pcp_lock_all), so a per-CPU lock alone keeps chunks alive.
 *
 * Like Linux (drain_all_pages before failing an allocation), no frame is
 * stranded: an allocation that finds nothing takes every per-CPU lock,
 * gives every cached block back and tries again in the same step before it
 * returns FK_ENOMEM (exhausted_alloc), and a removal takes the cached
 * frames of its range back itself.
 *
 * Invariant: a frame in a per-CPU list is allocated in the buddy's view and
 * has its bit set in the chunk's cached_bm. Every free claims its frames'
 * cached bits first (one atomic RMW per word) and only then checks that
 * the buddy holds none of them free, so of two frees of one range exactly
 * one passes (the bits are cleared, with release, only after a frame is
 * back in the buddy: see claim()).
 */
#include <stdlib.h>
#include <string.h>

#include "alloc/buddy_internal.h"
#include "alloc_internal.h"

#define PCP_ORDERS        4
#define PCP_DEFAULT_BATCH 31u

struct pcp_cpu {
	struct fk_small_lock lock;
	unsigned count[PCP_ORDERS];
	uint64_t *pfn[PCP_ORDERS]; /* stacks of block head pfns, capacity high + 1 */
	/* Counters of the pcp path, under lock; the node is this CPU's. */
	uint64_t allocs, frees, hits, misses;
} __attribute__((aligned(64)));

struct pcp {
	struct fk_buddy b;
	unsigned high, batch;
	struct pcp_cpu *cpus; /* b.nr_cpus of them */
};

/* Mask of bits [i % 64, i % 64 + k) of one word (k <= 64 - i % 64). */
static uint64_t word_mask(uint64_t i, uint64_t k)
{
	return (k == 64 ? ~0ull : ((1ull << k) - 1)) << (i % 64);
}

static void cached_update(struct buddy_chunk *c, uint64_t pfn, uint64_t n, int set);

/*
 * Claim the cached bits of [pfn, pfn + n): 1 if none was set (all are now
 * ours), 0 if some frame is cached or being freed already (nothing
 * changed). acq_rel: the acquire pairs with unclaim()'s release, so a free
 * that claims after a block went back to the buddy sees its free bits; the
 * release orders our own claim before what we do next.
 */
static int claim(struct buddy_chunk *c, uint64_t pfn, uint64_t n)
{
	uint64_t s = pfn - c->start, e = s + n;
	for (uint64_t i = s; i < e;) {
		uint64_t k = 64 - i % 64 < e - i ? 64 - i % 64 : e - i;
		uint64_t m = word_mask(i, k);
		uint64_t old = atomic_fetch_or_explicit(&c->cached_bm[i / 64], m,
		                                        memory_order_acq_rel) & m;
		if (old) {
			/* relaxed: undo only the bits we set (nobody else can
			 * own them: their frames were not claimed). */
			atomic_fetch_and_explicit(&c->cached_bm[i / 64], ~(m & ~old),
			                          memory_order_relaxed);
			cached_update(c, pfn, i - s, 0);
			return 0;
		}
		i += k;
	}
	return 1;
}

/* Drop the claim on [pfn, pfn + n). release: pairs with claim()'s
 * acquire; the caller put the frames back in the buddy (or into no
 * list at all) before. */
static void unclaim(struct buddy_chunk *c, uint64_t pfn, uint64_t n)
{
	uint64_t s = pfn - c->start, e = s + n;
	for (uint64_t i = s; i < e;) {
		uint64_t k = 64 - i % 64 < e - i ? 64 - i % 64 : e - i;
		atomic_fetch_and_explicit(&c->cached_bm[i / 64], ~word_mask(i, k),
		                          memory_order_release);
		i += k;
	}
}

/* Set or clear the cached bits of [pfn, pfn + n) with relaxed RMWs (a
 * block may straddle two words: bit i is frame c->start + i, and a chunk
 * need not start aligned). */
static void cached_update(struct buddy_chunk *c, uint64_t pfn, uint64_t n, int set)
{
	uint64_t s = pfn - c->start, e = s + n;
	for (uint64_t i = s; i < e;) {
		uint64_t k = 64 - i % 64 < e - i ? 64 - i % 64 : e - i;
		if (set)
			atomic_fetch_or_explicit(&c->cached_bm[i / 64], word_mask(i, k),
			                         memory_order_relaxed);
		else
			atomic_fetch_and_explicit(&c->cached_bm[i / 64], ~word_mask(i, k),
			                          memory_order_relaxed);
		i += k;
	}
}

/* Mark a block that refill takes from the buddy as cached. relaxed: the
 * frames were allocated in the buddy under the lock; the list lock orders
 * their hand-off. */
static void cached_set(struct buddy_chunk *c, uint64_t pfn, unsigned o)
{
	cached_update(c, pfn, 1ull << o, 1);
}

/* A cached block leaves its list for a caller. relaxed: the caller now
 * owns the frames; a later free claims the bits again. */
static void cached_clear(struct buddy_chunk *c, uint64_t pfn, unsigned o)
{
	cached_update(c, pfn, 1ull << o, 0);
}

/* Give block i of list o back to the buddy (pc->lock and b.lock held): back
 * in the buddy first, then the cached bits go (see claim()). */
static void give_back(struct pcp *p, struct pcp_cpu *pc, unsigned o, unsigned i)
{
	uint64_t pfn = pc->pfn[o][i];
	struct buddy_chunk *c = fk_buddy_chunk_of(&p->b, pfn, 1ull << o);
	(void)fk_buddy_free(&p->b, c, pfn, 1ull << o);
	unclaim(c, pfn, 1ull << o);
}

/* Give the `nr` oldest blocks of list o back to the buddy (pc->lock held). */
static void pcp_release(struct pcp *p, struct pcp_cpu *pc, unsigned o, unsigned nr)
{
	struct fk_lock_ctx ctx;
	if (nr > pc->count[o])
		nr = pc->count[o];
	if (nr == 0)
		return;
	fk_lock_acquire(&p->b.lock, &ctx);
	for (unsigned i = 0; i < nr; i++)
		give_back(p, pc, o, i);
	fk_lock_release(&p->b.lock, &ctx);
	memmove(pc->pfn[o], pc->pfn[o] + nr, (pc->count[o] - nr) * sizeof(uint64_t));
	pc->count[o] -= nr;
}

/* Every per-CPU lock in index order (the writers' side of the chunk table
 * and of removal, see the top of the file). */
static void pcp_lock_all(struct pcp *p)
{
	for (unsigned i = 0; i < p->b.nr_cpus; i++)
		fk_small_lock_acquire(&p->cpus[i].lock);
}

static void pcp_unlock_all(struct pcp *p)
{
	for (unsigned i = p->b.nr_cpus; i-- > 0;)
		fk_small_lock_release(&p->cpus[i].lock);
}

static void pcp_refill(struct pcp *p, struct pcp_cpu *pc, unsigned o, int node)
{
	struct fk_lock_ctx ctx;
	fk_lock_acquire(&p->b.lock, &ctx);
	while (pc->count[o] < p->batch) {
		uint64_t pfn;
		if (fk_buddy_alloc_node(&p->b, 1ull << o, o, node, &pfn) != 0)
			break;
		cached_set(fk_buddy_chunk_of(&p->b, pfn, 1ull << o), pfn, o);
		pc->pfn[o][pc->count[o]++] = pfn;
	}
	fk_lock_release(&p->b.lock, &ctx);
}

static void pcp_destroy(void *state)
{
	struct pcp *p = state;
	if (p->cpus) {
		for (unsigned i = 0; i < p->b.nr_cpus; i++) {
			fk_small_lock_fini(&p->cpus[i].lock);
			for (unsigned o = 0; o < PCP_ORDERS; o++)
				free(p->cpus[i].pfn[o]);
		}
		free(p->cpus);
	}
	fk_buddy_fini(&p->b);
	free(p);
}

static int pcp_create(const struct fk_alloc_params *params, unsigned nr_nodes, const int *cpu_node,
                      unsigned nr_cpus, void **state)
{
	struct pcp *p = calloc(1, sizeof(*p));
	if (!p)
		return FK_ENOMEM;
	int err = fk_buddy_init(&p->b, params, nr_nodes, cpu_node, nr_cpus, 1);
	if (err) {
		free(p);
		return err;
	}
	p->batch = params && params->pcp_batch ? params->pcp_batch : PCP_DEFAULT_BATCH;
	p->high = params && params->pcp_high ? params->pcp_high : 3 * p->batch;
	if (p->high < p->batch)
		p->high = p->batch;
	p->cpus = aligned_alloc(64, p->b.nr_cpus * sizeof(struct pcp_cpu));
	if (!p->cpus) {
		fk_buddy_fini(&p->b);
		free(p);
		return FK_ENOMEM;
	}
	memset(p->cpus, 0, p->b.nr_cpus * sizeof(struct pcp_cpu));
	for (unsigned i = 0; i < p->b.nr_cpus; i++) {
		fk_small_lock_init(&p->cpus[i].lock);
		for (unsigned o = 0; o < PCP_ORDERS; o++) {
			p->cpus[i].pfn[o] = malloc((p->high + 1) * sizeof(uint64_t));
			if (!p->cpus[i].pfn[o]) {
				pcp_destroy(p);
				return FK_ENOMEM;
			}
		}
	}
	*state = p;
	return 0;
}

/* The buddy path with node fallback, counted in the zones (b.lock held). */
static int direct_alloc_locked(struct pcp *p, uint64_t n, unsigned align, int node,
                               unsigned flags, uint64_t *pfn)
{
	int err = FK_ENOMEM;
	for (unsigned i = 0; i < p->b.nr_nodes; i++) {
		int nd = (int)(((unsigned)node + i) % p->b.nr_nodes);
		err = fk_buddy_alloc_node(&p->b, n, align, nd, pfn);
		if (err == 0) {
			p->b.zones[nd].allocs++;
			if (i)
				p->b.zones[nd].fallback_allocs++;
			break;
		}
		if (flags & FK_ALLOC_NODE_STRICT)
			break;
	}
	return err;
}

static int direct_alloc(struct pcp *p, uint64_t n, unsigned align, int node, unsigned flags,
                        uint64_t *pfn)
{
	struct fk_lock_ctx ctx;
	fk_lock_acquire(&p->b.lock, &ctx);
	int err = direct_alloc_locked(p, n, align, node, flags, pfn);
	fk_lock_release(&p->b.lock, &ctx);
	return err;
}

/*
 * The last resort before FK_ENOMEM: frames may sit in per-CPU lists (any
 * CPU's, any order) or keep their buddies from coalescing. Linux drains
 * every list before it fails; a drain alone is not enough here, since
 * other CPUs may refill between the drain and the retry. So take every
 * per-CPU lock (no refill can run), give every cached block back, and
 * allocate under the buddy lock in the same step: FK_ENOMEM then means no
 * suitable block exists, cached frames included. Rare (exhaustion only).
 */
static int exhausted_alloc(struct pcp *p, uint64_t n, unsigned align, int node, unsigned flags,
                           uint64_t *pfn)
{
	struct fk_lock_ctx ctx;
	pcp_lock_all(p);
	fk_lock_acquire(&p->b.lock, &ctx);
	for (unsigned i = 0; i < p->b.nr_cpus; i++) {
		struct pcp_cpu *pc = &p->cpus[i];
		for (unsigned o = 0; o < PCP_ORDERS; o++) {
			for (unsigned k = 0; k < pc->count[o]; k++)
				give_back(p, pc, o, k);
			pc->count[o] = 0;
		}
	}
	int err = direct_alloc_locked(p, n, align, node, flags, pfn);
	fk_lock_release(&p->b.lock, &ctx);
	pcp_unlock_all(p);
	return err;
}

static int pcp_alloc(void *state, uint64_t nframes, unsigned align_order, int node, unsigned flags,
                     uint64_t *paddr)
{
	struct pcp *p = state;
	uint64_t pfn = 0;
	if (nframes == 0 || paddr == NULL || align_order >= 64)
		return FK_EINVAL;
	unsigned o = fk_order_ceil(nframes);
	if (flags & FK_ALLOC_ALIGNED && o > align_order)
		align_order = o;
	unsigned cpu = fk_cpu_current(p->b.nr_cpus);
	int local = fk_buddy_cpu_node(&p->b, cpu);
	if (node < 0)
		node = FK_ALLOC_NODE_OF(flags);
	if (node < 0)
		node = local;
	if ((unsigned)node >= p->b.nr_nodes)
		return FK_EINVAL;
	if (node == local && o < PCP_ORDERS && nframes == (1ull << o) && align_order <= o) {
		struct pcp_cpu *pc = &p->cpus[cpu];
		int got = 0;
		fk_small_lock_acquire(&pc->lock);
		if (pc->count[o] == 0) {
			pc->misses++;
			pcp_refill(p, pc, o, local);
		} else {
			pc->hits++;
		}
		if (pc->count[o] > 0) {
			pfn = pc->pfn[o][--pc->count[o]];
			cached_clear(fk_buddy_chunk_of(&p->b, pfn, nframes), pfn, o);
			pc->allocs++;
			got = 1;
		}
		fk_small_lock_release(&pc->lock);
		if (got) {
			*paddr = pfn << FK_PAGE_SHIFT;
			return 0;
		}
	}
	int err = direct_alloc(p, nframes, align_order, node, flags, &pfn);
	if (err == FK_ENOMEM)
		err = exhausted_alloc(p, nframes, align_order, node, flags, &pfn);
	if (err == 0)
		*paddr = pfn << FK_PAGE_SHIFT;
	return err;
}

static int pcp_dealloc(void *state, uint64_t paddr, uint64_t nframes)
{
	struct pcp *p = state;
	struct fk_lock_ctx ctx;
	uint64_t pfn;
	int bad = fk_range_pfn(paddr, nframes, &pfn);
	if (bad)
		return bad;
	unsigned cpu = fk_cpu_current(p->b.nr_cpus);
	int local = fk_buddy_cpu_node(&p->b, cpu);
	unsigned o = fk_order_ceil(nframes);
	struct pcp_cpu *pc = &p->cpus[cpu];
	if (o < PCP_ORDERS && nframes == (1ull << o) && (pfn & (nframes - 1)) == 0) {
		/* The per-CPU lock keeps the chunk table stable (see the top). */
		fk_small_lock_acquire(&pc->lock);
		struct buddy_chunk *c = fk_buddy_chunk_of(&p->b, pfn, nframes);
		if (c && fk_chunk_node(c) == local) {
			int err = 0;
			if (!claim(c, pfn, nframes)) {
				err = FK_EUNUSED; /* cached or being freed already */
			} else if (fk_buddy_any_free(c, pfn, nframes)) {
				/* Free in the buddy already (our acquire in claim
				 * saw any give_back's free bits). */
				unclaim(c, pfn, nframes);
				err = FK_EUNUSED;
			} else {
				pc->pfn[o][pc->count[o]++] = pfn;
				pc->frees++;
				if (pc->count[o] > p->high)
					pcp_release(p, pc, o, p->batch);
			}
			fk_small_lock_release(&pc->lock);
			return err;
		}
		fk_small_lock_release(&pc->lock);
	}
	fk_lock_acquire(&p->b.lock, &ctx);
	struct buddy_chunk *c = fk_buddy_chunk_of(&p->b, pfn, nframes);
	int err = FK_EOUTOFBOUND;
	if (c) {
		/* Claim first, as the fast path does, so that a fast free of a
		 * frame of this range cannot pass at the same time. */
		if (claim(c, pfn, nframes)) {
			err = fk_buddy_free(&p->b, c, pfn, nframes);
			unclaim(c, pfn, nframes); /* back in the buddy first */
		} else {
			err = FK_EUNUSED;
		}
	}
	if (err == 0) {
		p->b.zones[fk_chunk_node(c)].frees++;
		if (local != fk_chunk_node(c))
			p->b.zones[fk_chunk_node(c)].remote_frees++;
	}
	fk_lock_release(&p->b.lock, &ctx);
	return err;
}

static void pcp_drain(void *state)
{
	struct pcp *p = state;
	for (unsigned i = 0; i < p->b.nr_cpus; i++) {
		struct pcp_cpu *pc = &p->cpus[i];
		fk_small_lock_acquire(&pc->lock);
		for (unsigned o = 0; o < PCP_ORDERS; o++)
			pcp_release(p, pc, o, pc->count[o]);
		fk_small_lock_release(&pc->lock);
	}
}

static int pcp_add(void *state, uint64_t paddr, uint64_t nframes, int node)
{
	struct pcp *p = state;
	struct fk_lock_ctx ctx;
	if (paddr & (FK_PAGE_SIZE - 1))
		return FK_ENOTALIGNED;
	pcp_lock_all(p); /* the chunk table changes */
	fk_lock_acquire(&p->b.lock, &ctx);
	int err = fk_buddy_add(&p->b, paddr >> FK_PAGE_SHIFT, nframes, node);
	fk_lock_release(&p->b.lock, &ctx);
	pcp_unlock_all(p);
	return err;
}

/*
 * Atomic with respect to every allocation and free: with every per-CPU
 * lock and the buddy lock held, the cached blocks of the range go back to
 * the buddy (they count as free) and the buddy withdraws the range if all
 * of it is free; otherwise nothing changes (the blocks given back stay in
 * the buddy, where they were before refill took them).
 */
static int pcp_remove(void *state, uint64_t paddr, uint64_t nframes)
{
	struct pcp *p = state;
	struct fk_lock_ctx ctx;
	uint64_t pfn;
	int bad = fk_range_pfn(paddr, nframes, &pfn);
	if (bad)
		return bad;
	if (pfn + nframes < pfn)
		return FK_EOUTOFBOUND;
	pcp_lock_all(p);
	fk_lock_acquire(&p->b.lock, &ctx);
	for (unsigned i = 0; i < p->b.nr_cpus; i++) {
		struct pcp_cpu *pc = &p->cpus[i];
		for (unsigned o = 0; o < PCP_ORDERS; o++) {
			unsigned keep = 0;
			for (unsigned k = 0; k < pc->count[o]; k++) {
				uint64_t b = pc->pfn[o][k];
				if (b + (1ull << o) > pfn && b < pfn + nframes)
					give_back(p, pc, o, k);
				else
					pc->pfn[o][keep++] = b;
			}
			pc->count[o] = keep;
		}
	}
	int err = fk_buddy_remove(&p->b, pfn, nframes);
	fk_lock_release(&p->b.lock, &ctx);
	pcp_unlock_all(p);
	return err;
}

static int pcp_stats(void *state, int node, struct fk_alloc_stats *out)
{
	struct pcp *p = state;
	struct fk_lock_ctx ctx;
	uint64_t cached = 0, allocs = 0, frees = 0, hits = 0, misses = 0;
	if (out == NULL || (node >= 0 && (unsigned)node >= p->b.nr_nodes))
		return FK_EINVAL;
	for (unsigned i = 0; i < p->b.nr_cpus; i++) {
		struct pcp_cpu *pc = &p->cpus[i];
		if (node >= 0 && fk_buddy_cpu_node(&p->b, i) != node)
			continue;
		fk_small_lock_acquire(&pc->lock);
		for (unsigned o = 0; o < PCP_ORDERS; o++)
			cached += (uint64_t)pc->count[o] << o;
		allocs += pc->allocs;
		frees += pc->frees;
		hits += pc->hits;
		misses += pc->misses;
		fk_small_lock_release(&pc->lock);
	}
	fk_lock_acquire(&p->b.lock, &ctx);
	fk_buddy_stats(&p->b, node, out);
	fk_lock_release(&p->b.lock, &ctx);
	out->free_frames += cached;
	out->cached_frames = cached;
	out->allocs += allocs;
	out->frees += frees;
	out->cache_hits = hits;
	out->cache_misses = misses;
	return 0;
}

const struct fk_allocator_ops fk_alloc_buddy_pcp_ops = {
    .name = "buddy-pcp",
    .create = pcp_create,
    .destroy = pcp_destroy,
    .alloc = pcp_alloc,
    .dealloc = pcp_dealloc,
    .add_free_memory = pcp_add,
    .remove_free_memory = pcp_remove,
    .drain = pcp_drain,
    .stats = pcp_stats,
};
