/*
 * buddy-pcp: the buddy core of buddy.c with Linux-style per-CPU page lists
 * for orders 0..PCP_ORDERS-1 in front. An empty list is refilled with
 * pcp_batch blocks under the global lock; a list above pcp_high gives
 * pcp_batch blocks back. Only frames of the CPU's own node are cached.
 *
 * The kernel protects its pcp lists by disabling preemption/IRQs; user space
 * cannot, and a thread may migrate or share its CPU index with another, so
 * each list has its own small lock (CK FAS spinlock, uncontended in the
 * common case). Lock order: per-CPU lock, then the global buddy lock.
 *
 * Invariant: a frame in a per-CPU list is allocated in the buddy's view and
 * has its bit set in the chunk's cached_bm (atomic, a cheap double-free
 * check: freeing a cached frame again gives FK_EUNUSED).
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

/* Set (mark cached) or clear the cached bits of block [pfn, pfn + 2^o),
 * o < 4 so it lies in one word. Returns the bits that were already set. */
static uint64_t cached_mark(struct buddy_chunk *c, uint64_t pfn, unsigned o, int set)
{
	uint64_t i = pfn - c->start;
	uint64_t m = ((1ull << (1u << o)) - 1) << (i % 64);
	_Atomic uint64_t *w = &c->cached_bm[i / 64];
	/* relaxed: the bits are only a double-free check; the frames' hand-off
	 * is ordered by the per-CPU list lock. */
	if (set)
		return atomic_fetch_or_explicit(w, m, memory_order_relaxed) & m;
	return atomic_fetch_and_explicit(w, ~m, memory_order_relaxed) & m;
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
	for (unsigned i = 0; i < nr; i++) {
		uint64_t pfn = pc->pfn[o][i];
		struct buddy_chunk *c = fk_buddy_chunk_of(&p->b, pfn, 1ull << o);
		cached_mark(c, pfn, o, 0);
		(void)fk_buddy_free(&p->b, c, pfn, 1ull << o);
	}
	fk_lock_release(&p->b.lock, &ctx);
	memmove(pc->pfn[o], pc->pfn[o] + nr, (pc->count[o] - nr) * sizeof(uint64_t));
	pc->count[o] -= nr;
}

static void pcp_refill(struct pcp *p, struct pcp_cpu *pc, unsigned o, int node)
{
	struct fk_lock_ctx ctx;
	fk_lock_acquire(&p->b.lock, &ctx);
	while (pc->count[o] < p->batch) {
		uint64_t pfn;
		if (fk_buddy_alloc_node(&p->b, 1ull << o, o, node, &pfn) != 0)
			break;
		cached_mark(fk_buddy_chunk_of(&p->b, pfn, 1ull << o), pfn, o, 1);
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

/* The buddy path with node fallback, counted in the zones. */
static int direct_alloc(struct pcp *p, uint64_t n, unsigned align, int node, unsigned flags,
                        uint64_t *pfn)
{
	struct fk_lock_ctx ctx;
	int err = FK_ENOMEM;
	fk_lock_acquire(&p->b.lock, &ctx);
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
	fk_lock_release(&p->b.lock, &ctx);
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
			cached_mark(fk_buddy_chunk_of(&p->b, pfn, nframes), pfn, o, 0);
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
	struct buddy_chunk *c = fk_buddy_chunk_of(&p->b, pfn, nframes);
	if (!c)
		return FK_EOUTOFBOUND;
	unsigned cpu = fk_cpu_current(p->b.nr_cpus);
	int local = fk_buddy_cpu_node(&p->b, cpu);
	unsigned o = fk_order_ceil(nframes);
	if (fk_chunk_node(c) == local && o < PCP_ORDERS && nframes == (1ull << o) &&
	    (pfn & (nframes - 1)) == 0) {
		/* Free in the buddy already: a double free (a frame we own has
		 * its free bit clear, and that clear happened-before we got it,
		 * so this lock-free read cannot see a stale "free"). */
		if (fk_buddy_any_free(c, pfn, nframes))
			return FK_EUNUSED;
		uint64_t old = cached_mark(c, pfn, o, 1);
		if (old) { /* part of it is cached already: double free */
			uint64_t i = pfn - c->start;
			uint64_t m = ((1ull << nframes) - 1) << (i % 64);
			/* relaxed: see cached_mark; undo only the bits we set. */
			atomic_fetch_and_explicit(&c->cached_bm[i / 64], ~(m & ~old),
			                          memory_order_relaxed);
			return FK_EUNUSED;
		}
		struct pcp_cpu *pc = &p->cpus[cpu];
		fk_small_lock_acquire(&pc->lock);
		pc->pfn[o][pc->count[o]++] = pfn;
		pc->frees++;
		if (pc->count[o] > p->high)
			pcp_release(p, pc, o, p->batch);
		fk_small_lock_release(&pc->lock);
		return 0;
	}
	fk_lock_acquire(&p->b.lock, &ctx);
	int err = fk_buddy_free(&p->b, c, pfn, nframes);
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
	if (paddr & (FK_PAGE_SIZE - 1))
		return FK_ENOTALIGNED;
	return fk_buddy_add(&p->b, paddr >> FK_PAGE_SHIFT, nframes, node);
}

static int pcp_remove(void *state, uint64_t paddr, uint64_t nframes)
{
	struct pcp *p = state;
	struct fk_lock_ctx ctx;
	uint64_t pfn;
	int bad = fk_range_pfn(paddr, nframes, &pfn);
	if (bad)
		return bad;
	/* Cached frames look allocated to the buddy: flush them first. A CPU
	 * may refill in between; then the removal is refused (FK_EBUSY). */
	pcp_drain(p);
	fk_lock_acquire(&p->b.lock, &ctx);
	int err = fk_buddy_remove(&p->b, pfn, nframes);
	fk_lock_release(&p->b.lock, &ctx);
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
