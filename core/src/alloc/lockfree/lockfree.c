/* SPDX-License-Identifier: MIT */
/*
 * lockfree: the product allocator. No lock on any path: C11 atomics only.
 * Entry points: fk_alloc_lockfree_ops (create/destroy, alloc, dealloc; the
 * hot-plug ops live in chunk.c, placement in reserve.c).
 *
 * Design after LLFree (Wrenger et al., USENIX ATC'23), see core/LOCKFREE.md
 * and the glossary in lockfree_internal.h: 512-frame areas with a bit field
 * and a quota counter each; per-CPU reservations as hints; the quota rule
 * (area.h) keeps counter <= clear bits.
 */
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#include "area.h"

/* Does a node the request may use show a fitting clear block (reserve.c)? */
static bool lf_block_shown(struct lockfree *lf, int node, uint64_t n, unsigned align,
                           unsigned flags)
{
	if (lf_block_visible(lf, node, n, align))
		return true;
	if (!(flags & FK_ALLOC_NODE_STRICT))
		for (unsigned i = 1; i < lf->nr_nodes; i++)
			if (lf_block_visible(lf, (int)(((unsigned)node + i) % lf->nr_nodes), n, align))
				return true;
	return false;
}

/*
 * The rest of an allocation after the local node failed: the other nodes,
 * then, before FK_ENOMEM, bounded retries while a withdrawal may hold the
 * frames we need, or while the bit fields show a fitting block that the
 * counters refused (kept out of the fast path).
 */
static __attribute__((noinline)) bool lf_alloc_retry(struct lockfree *lf, unsigned cpu, int node,
                                                     uint64_t n, unsigned align, unsigned flags,
                                                     uint64_t *pfn)
{
	uint64_t done0 = 0, deadline = 0;
	for (unsigned tries = 0;; tries++) {
		/* Frames in per-CPU caches are free: retire every claim of the
		 * node (nothing is stranded in a cache), then search it again. */
		if ((lf_retire_node(lf, node) || tries) &&
		    lf_alloc_node(lf, cpu, node, n, align, pfn))
			return true;
		if (!(flags & FK_ALLOC_NODE_STRICT))
			for (unsigned i = 1; i < lf->nr_nodes; i++) {
				int nd = (int)(((unsigned)node + i) % lf->nr_nodes);
				if (lf_alloc_node(lf, cpu, nd, n, align, pfn) ||
				    (lf_retire_node(lf, nd) && lf_alloc_node(lf, cpu, nd, n, align, pfn))) {
					lf_stat_inc(&lf_res_of(lf, cpu, nd)->fallback_allocs);
					return true;
				}
			}
		/*
		 * A withdrawal in flight may hold the frames we need and give
		 * them back (a refused removal). Retry once in any case (one may
		 * have finished since our first search), then while one is in
		 * flight (yielding) or one finished since the last try, a
		 * bounded number of times. acquire fence: pairs with the
		 * release fence in lf_remove (we may have seen its quota CASes);
		 * acquire load: pairs with its release decrement (a finished
		 * withdrawal's wd_done and rollback are visible).
		 */
		atomic_thread_fence(memory_order_acquire);
		uint64_t active = atomic_load_explicit(&lf->wd_active, memory_order_acquire);
		/* relaxed: ordered by the acquire load above. */
		uint64_t done1 = atomic_load_explicit(&lf->wd_done, memory_order_relaxed);
		/*
		 * Another allocation that took an area's quota and found no
		 * fitting bits holds that quota until it gives it back, and
		 * meanwhile the counter shows less than is free: our search
		 * may have failed on it although a fitting block stayed clear
		 * (tests/test_lockfree_contended_enomem.c). So FK_ENOMEM only
		 * once the bit fields show no fitting block either.
		 */
		bool shown = !active && lf_block_shown(lf, node, n, align, flags);
		if (tries && !active && done1 == done0 && !shown)
			return false;
		if (active || shown) {
			/* A preempted remover (or quota holder) can hold the
			 * quota for a while (measured: longer than 64 yields
			 * under TSan on a loaded 2-CPU machine): wait for it
			 * by time, bounded. */
			uint64_t now = lf_now_ns();
			if (!deadline)
				deadline = now + LF_WD_WAIT_NS;
			if (now > deadline)
				return false;
			LF_PAUSE(LF_PAUSE_ALLOC_WAIT);
			sched_yield();
		} else if (tries >= LF_WD_RETRIES) {
			return false;
		}
		done0 = done1;
	}
}

static int lf_alloc(void *state, uint64_t nframes, unsigned align_order, int node, unsigned flags,
                    uint64_t *paddr)
{
	struct lockfree *lf = state;
	uint64_t pfn = 0;
	/* A count whose bytes do not fit in 64 bits is no request (span_alloc
	 * would round it up to 0 areas: issue 18, defect 4). */
	if (nframes == 0 || nframes > (UINT64_MAX >> FK_PAGE_SHIFT) || paddr == NULL ||
	    align_order >= 40)
		return FK_EINVAL;
	if (flags & FK_ALLOC_ALIGNED && fk_order_ceil(nframes) > align_order)
		align_order = fk_order_ceil(nframes);
	unsigned cpu = lf_cpu(lf);
	if (node < 0)
		node = FK_ALLOC_NODE_OF(flags);
	if (node < 0)
		node = lf_cpu_node(lf, cpu);
	if ((unsigned)node >= lf->nr_nodes)
		return FK_EINVAL;
	if (lf_alloc_node(lf, cpu, node, nframes, align_order, &pfn))
		goto done;
	if (lf_alloc_retry(lf, cpu, node, nframes, align_order, flags, &pfn))
		goto done;
	return FK_ENOMEM;
done:
	*paddr = pfn << FK_PAGE_SHIFT;
	return 0;
}

/* Area k's part of [pfn, pfn + n): its first frame and length. */
static unsigned area_part(struct lf_chunk *r, uint64_t pfn, uint64_t n, uint32_t *k)
{
	*k = (uint32_t)(pfn / LF_AREA_FRAMES - lf_area0(r));
	uint64_t lim = lf_area_pfn(r, *k + 1) - pfn;
	return (unsigned)(n < lim ? n : lim);
}

/* Rolls back the bit clears of [pfn, end) (a refused free: nothing given yet). */
static void dealloc_undo(struct lf_chunk *r, uint64_t pfn, uint64_t end)
{
	for (uint64_t q = pfn; q < end;) {
		uint32_t k;
		unsigned c = area_part(r, q, end - q, &k);
		lf_bits_retake(&r->areas[k].bits, (unsigned)(q - lf_area_pfn(r, k)), c);
		q += c;
	}
}

#define LF_FREE_BATCH 64u /* area parts whose quota a free gives at once */

/*
 * Free [pfn, pfn+n): a read-only check that every frame is allocated
 * (else FK_EUNUSED, nothing touched); then clear the bits of every area
 * part (each word checked and cleared in one RMW: a part with a free frame
 * fails and rolls back the parts of its batch), then give each part's
 * quota back: the frames that landed in unclaimed words (the others joined
 * a per-CPU cache). A whole-area block: two counter RMWs. One frame: one
 * RMW on its word, plus the counter's fetch_add unless it joined a cache.
 */
static int lf_dealloc(void *state, uint64_t paddr, uint64_t nframes)
{
	struct lockfree *lf = state;
	uint64_t pfn;
	struct lf_chunk *r;
	int bad = lf_range_chunk(lf, paddr, nframes, &pfn, &r);
	if (bad)
		return bad;
	if (lf_absent_any(r, pfn, nframes))
		return FK_EUNUSED;
	uint32_t k = 0;
	unsigned b = 0;
	if (nframes == 1) { /* the frame's word, while we look up our CPU slot */
		area_part(r, pfn, 1, &k);
		b = (unsigned)(pfn - lf_area_pfn(r, k));
		lf_prefetch_rmw(lf, &r->areas[k].bits.w[b / LF_WORD_FRAMES]);
	}
	unsigned cpu = lf_cpu(lf);
	int node = lf_chunk_node(r);
	struct lf_res *st = lf_res_of(lf, cpu, node);
	if (nframes == LF_AREA_FRAMES && area_part(r, pfn, nframes, &k) == LF_AREA_FRAMES) {
		/* One whole area (an order-9 free): a block taken whole is
		 * checked and freed by lf_area_free_whole's own CAS, without
		 * the part loops below; any other range of one area (a block
		 * converted for a part free, or frames taken one by one) takes
		 * them. */
		int whole = lf_area_free_whole(r, k);
		if (whole < 0)
			return FK_EUNUSED; /* being freed whole by another thread */
		if (whole > 0) {
			lf_huge_hint_freed(lf, cpu, node, r->idx, k);
			goto freed;
		}
	}
	if (nframes == 1) {
		/* One frame: one RMW on its word decides the check and where
		 * the quota goes; a full unclaimed word becomes this slot's
		 * cache if it has a free entry (bits.h, lf_bits_free1). */
		int e = lf_cache_vacancy(st);
		/* A full word of an area that another slot reserved last is
		 * not claimed (the owner hint, struct lf_area): its frame goes
		 * to the counter, so frames stay with the CPU whose area holds
		 * them and CPUs do not share bit-field lines. */
		bool claimed;
		int q;
		while ((q = lf_bits_free1(&r->areas[k].bits.w[b / LF_WORD_FRAMES],
		                          1ull << (b % LF_WORD_FRAMES),
		                          e >= 0 ? lf_claim_id(lf, cpu, node) : 0, &r->areas[k].owner,
		                          &claimed)) == -2)
			if (!lf_area_unhuge(r, k)) /* a part of a huge frame */
				return FK_EUNUSED;
		if (q < 0)
			return FK_EUNUSED;
		if (q)
			lf_area_give(r, k, 1);
		if (claimed)
			/* relaxed: see struct lf_res. */
			atomic_store_explicit(&st->cache[e],
			                      lf_cache_encode(r->idx, k, b / LF_WORD_FRAMES),
			                      memory_order_relaxed);
	} else {
		for (uint64_t p = pfn, n = nframes; n;) {
			unsigned c = area_part(r, p, n, &k);
			/* A whole-area block is checked by its own CAS. */
			bool huge = c == LF_AREA_FRAMES &&
			            (lf_ctr_peek(&r->areas[k].ctr) & LF_CTR_HUGE);
			if (!huge &&
			    !lf_bits_all_set(&r->areas[k].bits, (unsigned)(p - lf_area_pfn(r, k)), c))
				return FK_EUNUSED;
			p += c;
			n -= c;
		}
		/* Parts in batches: the quota of a batch is given once all its
		 * parts passed. A whole-area block goes back at once, in two
		 * counter RMWs (lf_area_free_whole); a part of one is converted
		 * when the release meets a marked word (lf_area_unhuge). Only a concurrent double free of an
		 * overlapping range can fail a part after the check above,
		 * after earlier whole areas or batches were given:
		 * LOCKFREE.md, "Progress". */
		uint64_t p = pfn, n = nframes, b0 = pfn; /* b0: the first part not given */
		uint16_t give[LF_FREE_BATCH];
		uint32_t kk[LF_FREE_BATCH];
		unsigned nb = 0;
		while (n) {
			uint32_t ka;
			unsigned c = area_part(r, p, n, &ka);
			int whole = c == LF_AREA_FRAMES ? lf_area_free_whole(r, ka) : 0;
			int q = -1;
			if (whole == 0)
				while ((q = lf_bits_release(&r->areas[ka].bits,
				                            (unsigned)(p - lf_area_pfn(r, ka)), c)) == -2 &&
				       lf_area_unhuge(r, ka))
					; /* a part of a whole-area block: converted, again */
			if (whole < 0 || (whole == 0 && q < 0)) {
				dealloc_undo(r, b0, p);
				return FK_EUNUSED;
			}
			p += c;
			n -= c;
			if (whole == 0) {
				kk[nb] = ka;
				give[nb++] = (uint16_t)q;
			}
			/* Give the batch when it is full, at the end, and before a
			 * whole area went back (which cannot be undone). */
			if (nb == LF_FREE_BATCH || !n || whole > 0) {
				for (unsigned i = 0; i < nb; i++)
					if (give[i])
						lf_area_give(r, kk[i], give[i]);
				nb = 0;
				b0 = p;
			}
		}
	}
	if (nframes >= LF_AREA_FRAMES) /* whole areas: look here first for huge frames */
		for (uint64_t p = pfn, n = nframes; n;) {
			unsigned c = area_part(r, p, n, &k);
			if (c == LF_AREA_FRAMES)
				lf_huge_hint_freed(lf, cpu, node, r->idx, k);
			p += c;
			n -= c;
		}
freed:
	lf_stat_inc(&st->frees);
	if (lf_cpu_node(lf, cpu) != node)
		lf_stat_inc(&st->remote_frees);
	return 0;
}

static void lf_destroy(void *state)
{
	struct lockfree *lf = state;
	lf_chunks_destroy(lf);
	for (unsigned nd = 0; nd < lf->nr_nodes; nd++)
		if (lf->nodes[nd])
			lf_meta_free(lf->nodes[nd], lf->nodes[nd]->bytes, lf->nodes[nd]->on_numa);
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
#if defined(__x86_64__) || defined(__i386__)
	unsigned a, b, c, d;
	/* CPUID 0x80000001: ECX bit 8, PREFETCHW (3DNowPrefetch). */
	lf->prefetchw = __get_cpuid(0x80000001u, &a, &b, &c, &d) && (c & (1u << 8));
#endif
	lf->cpu_node = cpu_node;
	atomic_init(&lf->nr_chunks, 0);
	atomic_init(&lf->wd_active, 0);
	atomic_init(&lf->wd_done, 0);
	for (unsigned i = 0; i < LF_MAX_CHUNKS; i++)
		atomic_init(&lf->chunks[i], NULL);
	lf->res = aligned_alloc(64, lf->nr_cpus * nr_nodes * sizeof(struct lf_res));
	if (!lf->res)
		goto fail;
	for (unsigned c = 0; c < lf->nr_cpus * nr_nodes; c++) {
		struct lf_res *rs = &lf->res[c];
		for (unsigned e = 0; e < LF_CACHE_WORDS; e++)
			atomic_init(&rs->cache[e], 0);
		atomic_init(&rs->area, 0);
		atomic_init(&rs->huge, 0);
		atomic_init(&rs->allocs, 0);
		atomic_init(&rs->frees, 0);
		atomic_init(&rs->remote_frees, 0);
		atomic_init(&rs->fallback_allocs, 0);
		atomic_init(&rs->hits, 0);
		atomic_init(&rs->misses, 0);
	}
	for (unsigned nd = 0; nd < nr_nodes; nd++) {
		size_t bytes = sizeof(struct lf_node);
		int on_numa;
		struct lf_node *ln = lf_meta_alloc(bytes, (int)nd, &on_numa);
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
