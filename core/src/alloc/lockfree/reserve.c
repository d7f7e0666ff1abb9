/* SPDX-License-Identifier: MIT */
/*
 * lockfree: placement. Where a request looks for frames, in order:
 *
 *   small (n <= 256, align < 9): the CPU's reserved area of the node (a
 *     hit), then a new reservation (partially used areas first: the first
 *     at least half used, else the most used one; the slot's own before
 *     other slots'; a fully free area only while the node keeps more free
 *     areas than CPUs, else a share of another CPU's partly used area),
 *     then any area.
 *   huge (one area): the CPU's huge hint and its neighbours (the area it
 *     last freed or took), then a scan from the CPU's position.
 *   span (several areas, or alignment above 2 MiB): consecutive free areas.
 *
 * The last step of every path visits every live area of the node, reserved
 * or not, so a quiescent FK_ENOMEM means that no area can serve the request
 * (reservations hold no frames: they are hints).
 */
#include "area.h"

void lf_unreserve(struct lockfree *lf, uint64_t code)
{
	struct lf_chunk *r = lf_chunk_at(lf, lf_res_chunk(code));
	lf_ctr_unreserve(&r->areas[lf_res_area(code)].ctr);
}

/*
 * After frames were taken from record r for a request of node: is r still
 * node's and live? Records are recycled (chunk.c), so a reservation, a hint
 * or a scan that read r before it was removed and reused for another range
 * may take frames of the new range: on another node, or before its
 * add_free_memory has published it. The take was an acquire RMW on a
 * counter or bit word that the recycler stored with release after writing
 * node and before publishing LIVE, so these two loads see the incarnation
 * we took from; and r cannot be recycled again while we hold its frames
 * (remove_free_memory refuses them). Two loads of r's first line, which
 * every take reads anyway.
 */
static bool chunk_kept(struct lf_chunk *r, int node)
{
	return lf_chunk_node(r) == node && lf_chunk_live(r);
}

/*
 * After n frames at pfn were taken from area k of r for node: true if r is
 * still node's (chunk_kept), else the frames go back and false.
 */
static inline bool take_kept(struct lf_chunk *r, uint32_t k, int node, uint64_t pfn, unsigned n)
{
	if (chunk_kept(r, node))
		return true;
	lf_area_free_owned(r, k, pfn, n);
	return false;
}

/* lf_area_alloc, undone (and false) if r is no longer node's (take_kept). */
static bool area_alloc_on(struct lf_chunk *r, uint32_t k, int node, unsigned n, unsigned align,
                          uint64_t *pfn, unsigned hint)
{
	return lf_area_alloc(r, k, n, align, pfn, hint) && take_kept(r, k, node, *pfn, n);
}

/* Swap the CPU slot from old to code; whoever swaps a value out unreserves it. */
static void res_swap(struct lockfree *lf, struct lf_res *rs, uint64_t old, uint64_t code)
{
	uint64_t expect = old;
	/* acq_rel: the slot holds only an area id; acquire/release keep the
	 * swap ordered with the flag updates around it. */
	FK_SCHED_POINT();
	if (atomic_compare_exchange_strong_explicit(&rs->area, &expect, code, memory_order_acq_rel,
	                                            memory_order_acquire)) {
		FK_SCHED_POINT();
		if (old)
			lf_unreserve(lf, old);
	} else if (code) {
		lf_unreserve(lf, code); /* another thread sharing this slot won */
	}
}

/* Any live area of node with at least need quota in [lo, hi], reserved or not. */
static bool scan_range(struct lockfree *lf, int node, unsigned n, unsigned align, unsigned cpu,
                       unsigned lo, unsigned hi, uint64_t *pfn, unsigned *where)
{
	unsigned nr = lf_nr_chunks(lf);
	for (unsigned i = 0; i < nr; i++) {
		struct lf_chunk *r = lf_node_chunk(lf, i, node);
		if (!r)
			continue;
		uint32_t na = lf_chunk_areas(r);
		/* CPUs start at different places, so they do not all race
		 * for the same first free area. */
		uint32_t start = (uint32_t)((uint64_t)cpu * na / lf->nr_cpus);
		for (uint32_t j = 0; j < na; j++) {
			uint32_t k = (start + j) % na;
			uint32_t v = lf_ctr_peek(&r->areas[k].ctr) & LF_CTR_FREE;
			if (v < lo || v > hi)
				continue;
			if (area_alloc_on(r, k, node, n, align, pfn, cpu)) {
				where[0] = i;
				where[1] = k;
				return true;
			}
		}
	}
	return false;
}

/*
 * Reserve area k of record i (r) for the CPU slot rs if its free count is
 * in [lo, hi] and allocate from it; the slot's old value was `old`.
 */
static bool reserve_area(struct lockfree *lf, struct lf_res *rs, uint64_t old, unsigned cpu,
                         struct lf_chunk *r, unsigned i, uint32_t k, unsigned lo, unsigned hi,
                         int node, unsigned n, unsigned align, uint64_t *pfn, unsigned where[2])
{
	if (!lf_ctr_reserve(&r->areas[k].ctr, lo, hi))
		return false;
	if (!area_alloc_on(r, k, node, n, align, pfn, cpu)) {
		lf_ctr_unreserve(&r->areas[k].ctr);
		return false;
	}
	/* relaxed: a scan start hint, orders nothing. */
	atomic_store_explicit(&r->hint, k + 1, memory_order_relaxed);
	/* relaxed: a placement hint (struct lf_area); the counter CAS above
	 * brought its line here. */
	atomic_store_explicit(&r->areas[k].owner, (uint32_t)lf_claim_id(lf, cpu, node),
	                      memory_order_relaxed);
	res_swap(lf, rs, old, lf_res_encode(i, k));
	where[0] = i;
	where[1] = k;
	return true;
}

/* A reservation candidate: area k of record i with `free` frames free. */
struct res_cand {
	bool set;
	unsigned i;
	uint32_t k, free;
};

/*
 * Is an area with `free` frames free a better reservation than candidate c?
 * The one with fewer free frames: small frames go where frames are already
 * used, so areas that few frames still use only drain and become whole
 * again (the placement that keeps huge frames under churn, LOCKFREE.md,
 * "v5").
 */
static bool res_better(const struct res_cand *c, uint32_t free)
{
	return !c->set || free < c->free;
}

/*
 * Reserve a new area of node for the CPU slot rs and allocate from it.
 * `old` is the slot value the caller saw. The miss path, kept out of
 * lf_alloc_node (which holds the hit paths and the huge path inline).
 */
static __attribute__((noinline)) bool reserve_and_alloc(struct lockfree *lf, struct lf_res *rs,
                                                        unsigned cpu, uint64_t old, int node,
                                                        unsigned n, unsigned align, uint64_t *pfn,
                                                        unsigned where[2])
{
	const unsigned need = lf_area_need(n, align);
	const unsigned worth = need > 16 ? need : 16;
	const uint32_t id = (uint32_t)lf_claim_id(lf, cpu, node);
	unsigned free_areas = 0;
	/* Pass 0: unreserved partially used areas that are worth it (keeps free
	 * areas for huge frames, as LLFree does). The first *filling* one
	 * (at most LF_RES_FILLING free) of the slot's own or of nobody, from
	 * the record's hint, is reserved at once; otherwise the scan goes on
	 * to the end and notes the *draining* one (more free) of its own with
	 * the fewest free frames, and the best area of another slot (lf_dealloc
	 * leaves an area's frames to its owner, so CPUs keep to their own
	 * bit-field lines; another slot's area comes after our own). Those are
	 * tried next; a whole pass 1 over every slot's areas only if both were
	 * taken meanwhile. It counts the free areas on the way. Pass 2: a
	 * fully free area. Pass 3: any unreserved area with room. */
	struct res_cand own = {0}, oth = {0};
	for (int pass = 0; pass < 4; pass++) {
		unsigned lo = pass <= 1 ? worth : pass == 2 ? LF_AREA_FRAMES : need;
		unsigned hi = pass == 2 ? LF_AREA_FRAMES : LF_AREA_FRAMES - 1;
		if (pass == 1) {
			const struct res_cand *c[2] = {&own, &oth};
			for (int t = 0; t < 2; t++) {
				struct lf_chunk *r =
				    c[t]->set ? lf_node_chunk(lf, c[t]->i, node) : NULL;
				if (r && reserve_area(lf, rs, old, cpu, r, c[t]->i, c[t]->k, lo, hi,
				                      node, n, align, pfn, where))
					return true;
			}
			if (!own.set && !oth.set)
				continue;
		}
		if (pass == 2 && free_areas <= lf->nr_cpus &&
		    scan_range(lf, node, n, align, cpu, need, LF_AREA_FRAMES - 1, pfn, where))
			return true; /* free areas are scarce: share a partly used one */
		if (pass == 3 && worth == need)
			break; /* passes 0 and 1 covered it */
		unsigned nr = lf_nr_chunks(lf);
		for (unsigned i = 0; i < nr; i++) {
			struct lf_chunk *r = lf_node_chunk(lf, i, node);
			if (!r)
				continue;
			uint32_t na = lf_chunk_areas(r);
			/* relaxed: a scan start hint. */
			uint32_t h = atomic_load_explicit(&r->hint, memory_order_relaxed);
			for (uint32_t j = 0; j < na; j++) {
				uint32_t k = (h + j) % na;
				uint32_t v = lf_ctr_peek(&r->areas[k].ctr);
				uint32_t f = v & LF_CTR_FREE;
				if (pass == 0 && f == LF_AREA_FRAMES)
					free_areas++;
				if (!lf_ctr_reservable(v, lo, hi))
					continue; /* a pre-filter; lf_ctr_reserve decides */
				if (pass == 0) {
					/* relaxed: a placement hint (struct lf_area),
					 * on the counter's line. */
					uint32_t o = atomic_load_explicit(&r->areas[k].owner,
					                                  memory_order_relaxed);
					struct res_cand *c = o && o != id ? &oth : &own;
					if (c == &own && f <= LF_RES_FILLING &&
					    reserve_area(lf, rs, old, cpu, r, i, k, lo, hi, node, n,
					                 align, pfn, where))
						return true;
					if (res_better(c, f))
						*c = (struct res_cand){true, i, k, f};
					continue;
				}
				if (reserve_area(lf, rs, old, cpu, r, i, k, lo, hi, node, n, align,
				                 pfn, where))
					return true;
			}
		}
	}
	return false;
}

void lf_huge_hint(struct lockfree *lf, unsigned cpu, int node, unsigned chunk, uint32_t area)
{
	struct lf_res *rs = lf_res_of(lf, cpu, node);
	/* relaxed: a search hint, orders nothing (lf_area_take_whole decides). */
	atomic_store_explicit(&rs->huge, lf_res_encode(chunk, area), memory_order_relaxed);
}

/*
 * A whole area was freed: the hint names the lowest area freed since the
 * CPU's last huge take (LF_HINT_FREED marks a hint set by a free). So "take
 * 8, free the 8 in order" starts its next round at the round's first area
 * and reuses the same 8 areas, as a LIFO would; setting the hint to each
 * freed area instead sent the next round to the round's last one, and the
 * takes swept the whole chunk 7 areas per round, so two CPUs wrote each
 * other's counter and bit-field lines (results/lockfree-v5/order9/). A
 * free that leaves the hint as it is writes nothing.
 */
void lf_huge_hint_freed(struct lockfree *lf, unsigned cpu, int node, unsigned chunk,
                        uint32_t area)
{
	struct lf_res *rs = lf_res_of(lf, cpu, node);
	uint64_t code = lf_res_encode(chunk, area) | LF_HINT_FREED;
	/* relaxed, both: see lf_huge_hint. Two threads of one slot may both
	 * store; either hint is a valid place to look. */
	uint64_t h = atomic_load_explicit(&rs->huge, memory_order_relaxed);
	if ((h & LF_HINT_FREED) && h <= code)
		return;
	atomic_store_explicit(&rs->huge, code, memory_order_relaxed);
}

/*
 * area_alloc_on for huge_alloc's requests (n > 256 or align 9), which
 * lf_area_alloc always serves with the head of the area: the same steps
 * without its size dispatch and two calls.
 */
static inline bool huge_take_on(struct lf_chunk *r, uint32_t k, int node, unsigned n,
                                uint64_t *pfn)
{
	if (!lf_area_take_head(r, k, n))
		return false;
	*pfn = lf_area_pfn(r, k);
	return take_kept(r, k, node, *pfn, n);
}

/* One area's worth (n in 257..512 or align 9): near the hint, then a scan. */
static bool huge_alloc(struct lockfree *lf, unsigned cpu, int node, unsigned n, unsigned align,
                       uint64_t *pfn)
{
	struct lf_res *rs = lf_res_of(lf, cpu, node);
	/* relaxed: see lf_huge_hint. */
	uint64_t h = lf_hint_code(atomic_load_explicit(&rs->huge, memory_order_relaxed));
	if (h) {
		unsigned i = lf_res_chunk(h);
		struct lf_chunk *r = lf_chunk_at(lf, i);
		if (r && lf_chunk_node(r) == node && lf_chunk_live(r)) {
			uint32_t na = lf_chunk_areas(r);
			for (uint32_t j = 0, k = lf_res_area(h); j < LF_HUGE_NEAR && na; j++, k++) {
				if (k >= na)
					k = 0;
				if ((lf_ctr_peek(&r->areas[k].ctr) & LF_CTR_FREE) != LF_AREA_FRAMES)
					continue;
				if (huge_take_on(r, k, node, n, pfn)) {
					lf_huge_hint(lf, cpu, node, i, k + 1 < na ? k + 1 : 0);
					return true;
				}
			}
		}
	}
	/* The free maps: 64 areas per word, so the search costs O(areas / 64)
	 * loads whatever the occupancy; stale bits are cleared on the way. */
	unsigned nr = lf_nr_chunks(lf);
	for (unsigned i = 0; i < nr; i++) {
		struct lf_chunk *r = lf_node_chunk(lf, i, node);
		if (!r)
			continue;
		uint32_t na = lf_chunk_areas(r), words = (na + 63) / 64;
		uint32_t start = (uint32_t)((uint64_t)cpu * words / lf->nr_cpus);
		for (uint32_t j = 0; j < words; j++) {
			uint32_t w = (start + j) % words;
			/* relaxed: a hint; the counter CAS decides. */
			uint64_t v =
			    atomic_load_explicit(lf_freemap_word(r, w), memory_order_relaxed);
			while (v) {
				uint32_t k = w * 64 + (uint32_t)__builtin_ctzll(v);
				v &= v - 1;
				if (k >= na)
					break;
				if (huge_take_on(r, k, node, n, pfn)) {
					lf_huge_hint(lf, cpu, node, i, k + 1 < na ? k + 1 : 0);
					return true;
				}
				if ((lf_ctr_peek(&r->areas[k].ctr) & LF_CTR_FREE) != LF_AREA_FRAMES)
					lf_freemap_clear(r, k);
			}
		}
	}
	/* Not reached unless memory has no free area: the maps never miss one
	 * (area.h); this scan only makes that independent of the proof. */
	unsigned where[2];
	if (!scan_range(lf, node, n, align, cpu, LF_AREA_FRAMES, LF_AREA_FRAMES, pfn, where))
		return false;
	lf_huge_hint(lf, cpu, node, where[0], where[1]); /* the next search starts here */
	return true;
}

/*
 * Take areas k .. k + na - 1 of r (in order, rolled back on failure): the
 * last one only for the frames of n it holds (lf_area_take_head: its tail
 * never looks allocated).
 */
static bool span_take(struct lf_chunk *r, int node, uint64_t k, uint64_t na, uint64_t n,
                      uint64_t *pfn)
{
	uint64_t j = 0;
	while (j + 1 < na && lf_area_take_whole(r, (uint32_t)(k + j)))
		j++;
	if (j + 1 == na &&
	    lf_area_take_head(r, (uint32_t)(k + j), (unsigned)(n - j * LF_AREA_FRAMES)))
		j++;
	if (j < na) {
		for (uint64_t t = 0; t < j; t++) /* roll back */
			lf_area_free_owned(r, (uint32_t)(k + t), lf_area_pfn(r, (uint32_t)(k + t)),
			                   LF_AREA_FRAMES);
		return false;
	}
	*pfn = lf_area_pfn(r, (uint32_t)k);
	if (chunk_kept(r, node))
		return true;
	lf_range_free(r, *pfn, n); /* a recycled record (chunk_kept) */
	return false;
}

/* Are areas k .. k + na - 1 of r all fully free right now (a pre-filter)? */
static bool span_free(struct lf_chunk *r, uint64_t k, uint64_t na)
{
	for (uint64_t j = 0; j < na; j++)
		if ((lf_ctr_peek(&r->areas[k + j].ctr) & LF_CTR_FREE) != LF_AREA_FRAMES)
			return false;
	return true;
}

/*
 * More than one area (n > 512) or alignment above 2 MiB: na consecutive
 * whole areas starting at a multiple of step (absolute area numbers). The
 * huge hint first, then runs of set bits in the free maps (runs inside one
 * map word, na <= 64), then a linear walk that also finds runs across words.
 */
static bool span_alloc(struct lockfree *lf, unsigned cpu, int node, uint64_t n, unsigned align,
                       uint64_t *pfn)
{
	uint64_t na = n / LF_AREA_FRAMES + (n % LF_AREA_FRAMES != 0); /* no wrap */
	uint64_t step = align > LF_AREA_ORDER ? 1ull << (align - LF_AREA_ORDER) : 1;
	struct lf_res *rs = lf_res_of(lf, cpu, node);
	/* relaxed: see lf_huge_hint. */
	uint64_t h = lf_hint_code(atomic_load_explicit(&rs->huge, memory_order_relaxed));
	unsigned nr = lf_nr_chunks(lf);
	if (h && lf_res_chunk(h) < nr) {
		unsigned i = lf_res_chunk(h);
		struct lf_chunk *r = lf_chunk_at(lf, i);
		if (r && lf_chunk_node(r) == node && lf_chunk_live(r)) {
			uint64_t a0 = lf_area0(r), a = a0 + lf_res_area(h);
			uint64_t k = a / step * step;
			if (k >= a0 && k - a0 + na <= lf_chunk_areas(r) &&
			    span_free(r, k - a0, na) && span_take(r, node, k - a0, na, n, pfn)) {
				lf_huge_hint(lf, cpu, node, i, (uint32_t)(k - a0 + na - 1));
				return true;
			}
		}
	}
	for (unsigned i = 0; na <= 64 && i < nr; i++) {
		struct lf_chunk *r = lf_node_chunk(lf, i, node);
		if (!r)
			continue;
		uint64_t a0 = lf_area0(r);
		uint32_t nra = lf_chunk_areas(r), words = (nra + 63) / 64;
		uint32_t start = (uint32_t)((uint64_t)cpu * words / lf->nr_cpus);
		for (uint32_t j = 0; j < words; j++) {
			uint32_t w = (start + j) % words;
			/* relaxed: a hint; the counter CASes decide. */
			uint64_t v =
			    atomic_load_explicit(lf_freemap_word(r, w), memory_order_relaxed);
			uint64_t c = v;
			for (uint64_t t = 1; t < na; t++)
				c &= v >> t; /* bit p: areas p .. p + na - 1 marked */
			while (c) {
				uint64_t k = (uint64_t)w * 64 + (uint64_t)__builtin_ctzll(c);
				c &= c - 1;
				if ((a0 + k) % step || k + na > nra)
					continue;
				if (span_free(r, k, na) && span_take(r, node, k, na, n, pfn)) {
					lf_huge_hint(lf, cpu, node, i, (uint32_t)(k + na - 1));
					return true;
				}
				for (uint64_t t = 0; t < na; t++) /* stale bits */
					if ((lf_ctr_peek(&r->areas[k + t].ctr) & LF_CTR_FREE) !=
					    LF_AREA_FRAMES)
						lf_freemap_clear(r, (uint32_t)(k + t));
			}
		}
	}
	for (unsigned i = 0; i < nr; i++) {
		struct lf_chunk *r = lf_node_chunk(lf, i, node);
		if (!r)
			continue;
		uint64_t a0 = lf_area0(r), nra = lf_chunk_areas(r);
		uint64_t k = ((a0 + step - 1) / step) * step - a0;
		while (k + na <= nra) {
			if (span_free(r, k, na) && span_take(r, node, k, na, n, pfn))
				return true;
			k += step;
		}
	}
	return false;
}

/* ---- the per-CPU cache (order 0): up to LF_CACHE_WORDS claimed words per CPU slot ---- */

/*
 * One frame from slot rs's cache: one CAS on a claimed word (no quota: the
 * claim took it). A word found empty is retired by its owner here, so
 * frees into it give their quota to the area again; a word found retired
 * by someone else (or never installed) is dropped from the slot.
 */
static bool cache_alloc(struct lockfree *lf, struct lf_res *rs, uint64_t id, int node,
                        uint64_t *pfn)
{
	/* Newest first: frees fill the lowest free entry (lf_cache_vacancy),
	 * usually with one frame, so taking from the top frees entries for
	 * the next frees, and a word claimed on a miss (entry 0 in a quiet
	 * slot, many frames) is used last. */
	for (unsigned i = LF_CACHE_WORDS; i-- > 0;) {
		/* relaxed: a hint; the word's claim decides (lf_cache_take). */
		uint64_t code = atomic_load_explicit(&rs->cache[i], memory_order_relaxed);
		if (!code)
			continue;
		struct lf_chunk *r = lf_chunk_at(lf, lf_cache_chunk(code));
		uint32_t k = lf_cache_area(code);
		unsigned j = lf_cache_word(code);
		bool last = false;
		int b = r && k < r->cap ? lf_cache_take(&r->areas[k].bits.w[j], id, &last) : -1;
		if (b >= 0) {
			if (last) /* retired with its last frame: the entry is free */
				/* relaxed: see struct lf_res. */
				atomic_store_explicit(&rs->cache[i], 0, memory_order_relaxed);
			*pfn = lf_area_pfn(r, k) + j * LF_WORD_FRAMES + (unsigned)b;
			if (chunk_kept(r, node))
				return true;
			/* Not reached while removal retires claims before it
			 * withdraws (a recycled record's words start
			 * unclaimed); kept as the other takes keep it. */
			lf_area_free_owned(r, k, *pfn, 1);
			return false;
		}
		if (b == -2)
			lf_area_retire(r, k, j, id);
		/* relaxed: see struct lf_res (a hint slot of this CPU). */
		atomic_store_explicit(&rs->cache[i], 0, memory_order_relaxed);
	}
	return false;
}

/* A free entry of slot rs's cache, or -1. */
int lf_cache_vacancy(struct lf_res *rs)
{
	for (unsigned i = 0; i < LF_CACHE_WORDS; i++)
		/* relaxed: see struct lf_res. */
		if (!atomic_load_explicit(&rs->cache[i], memory_order_relaxed))
			return (int)i;
	return -1;
}

/*
 * After a cache miss served frame pfn from area k of record i: claim the
 * frame's word for slot id (lf_area_claim) into a free entry of the slot.
 */
static void cache_refill(struct lockfree *lf, struct lf_res *rs, uint64_t id, unsigned i,
                         uint32_t k, uint64_t pfn)
{
	int e = lf_cache_vacancy(rs);
	if (e < 0)
		return;
	struct lf_chunk *r = lf_chunk_at(lf, i);
	unsigned j = (unsigned)(pfn - lf_area_pfn(r, k)) / LF_WORD_FRAMES;
	if (lf_area_claim(r, k, j, id))
		/* relaxed: see struct lf_res. */
		atomic_store_explicit(&rs->cache[e], lf_cache_encode(i, k, j),
		                      memory_order_relaxed);
}

/*
 * Retire every claimed word of node's live records (any slot's), giving
 * their clear bits' quota to the counters: before an allocation fails, and
 * in drain. Read-only where nothing is claimed. Returns the words retired.
 */
unsigned lf_retire_node(struct lockfree *lf, int node)
{
	unsigned retired = 0, nr = lf_nr_chunks(lf);
	for (unsigned i = 0; i < nr; i++) {
		struct lf_chunk *r = lf_node_chunk(lf, i, node);
		if (!r)
			continue;
		uint32_t na = lf_chunk_areas(r);
		for (uint32_t k = 0; k < na; k++)
			for (unsigned j = 0; j < LF_AREA_WORDS; j++)
				/* relaxed: a pre-filter; lf_word_retire's CAS
				 * decides. */
				if (lf_word_claim(atomic_load_explicit(&r->areas[k].bits.w[j],
				                                       memory_order_relaxed)) &&
				    lf_area_retire(r, k, j, 0))
					retired++;
	}
	return retired;
}

/*
 * Serve a request from node: see the file comment. Counted in node's
 * stats for cpu.
 */
bool lf_alloc_node(struct lockfree *lf, unsigned cpu, int node, uint64_t n, unsigned align,
                   uint64_t *pfn)
{
	struct lf_res *st = lf_res_of(lf, cpu, node);
	bool ok;
	if (n > LF_AREA_FRAMES || align > LF_AREA_ORDER) {
		ok = span_alloc(lf, cpu, node, n, align, pfn);
	} else if (n > 256 || align == LF_AREA_ORDER) {
		ok = huge_alloc(lf, cpu, node, (unsigned)n, align, pfn);
	} else {
		struct lf_res *rs = st;
		const bool one = n == 1 && align == 0;
		const uint64_t id = lf_claim_id(lf, cpu, node);
		if (one && cache_alloc(lf, rs, id, node, pfn)) {
			lf_stat_inc(&st->hits); /* allocs = hits + the rest */
			return true;
		}
		/* acquire: pairs with the acq_rel CAS that installed it. */
		uint64_t code = atomic_load_explicit(&rs->area, memory_order_acquire);
		if (code) {
			struct lf_chunk *r = lf_chunk_at(lf, lf_res_chunk(code));
			uint32_t k = lf_res_area(code);
			/* take_kept undoes a take from a record recycled since
			 * the slot named it (for another node or not yet
			 * published); the miss path below swaps the slot out. */
			if ((one ? lf_area_alloc1(r, k, pfn, cpu)
			         : lf_area_alloc(r, k, (unsigned)n, align, pfn, cpu)) &&
			    take_kept(r, k, node, *pfn, (unsigned)n)) {
				if (one)
					cache_refill(lf, rs, id, lf_res_chunk(code), k, *pfn);
				lf_stat_inc(&st->hits); /* allocs = hits + the rest */
				return true;
			}
		}
		lf_stat_inc(&st->misses);
		unsigned where[2];
		ok = reserve_and_alloc(lf, rs, cpu, code, node, (unsigned)n, align, pfn, where) ||
		     scan_range(lf, node, (unsigned)n, align, cpu, lf_area_need((unsigned)n, align),
		                LF_AREA_FRAMES, pfn, where);
		if (ok && one)
			cache_refill(lf, rs, id, where[0], where[1], *pfn);
	}
	if (ok)
		lf_stat_inc(&st->allocs);
	return ok;
}

/*
 * Does area k of r show, in its bit field alone, a clear block for a small
 * request (n <= 256, align < 9: lf_area_alloc's bit searches, read only)?
 * Clear bits are free frames, or frames of a free in flight; the counter
 * can show less than that for a moment: while an allocation holds quota it
 * will give back (no fitting bits for it) or turn into bits, or a free
 * has cleared its bits and not yet given its quota.
 */
static bool area_shows_block(struct lf_chunk *r, uint32_t k, unsigned n, unsigned align)
{
	unsigned o = fk_order_ceil(n);
	if ((1u << o) == n && align < o)
		align = o;
	uint64_t w[LF_AREA_WORDS];
	for (unsigned i = 0; i < LF_AREA_WORDS; i++)
		/* relaxed: a snapshot that only decides whether to search
		 * again; the search's own CASes decide. */
		w[i] = atomic_load_explicit(&r->areas[k].bits.w[i], memory_order_relaxed);
	if (n > LF_WORD_FRAMES || align > LF_WORD_ORDER) {
		unsigned bo = o > align ? o : align;
		/* whole words, aligned */
		unsigned g =
		    1u << ((bo < LF_WORD_ORDER + 1 ? LF_WORD_ORDER + 1 : bo) - LF_WORD_ORDER);
		for (unsigned s = 0; s < LF_AREA_WORDS; s += g) {
			unsigned j = 0;
			while (j < g && (w[s + j] & LF_WORD_BITS) == 0)
				j++;
			if (j == g)
				return true;
		}
		return false;
	}
	/* Clear bits of a claimed word count: the caller retires claims
	 * before it searches again (lf_alloc_retry). */
	uint64_t m = lf_word_mask(0, n);
	for (unsigned i = 0; i < LF_AREA_WORDS; i++)
		for (unsigned p = 0; p + n <= LF_WORD_FRAMES; p += 1u << align)
			if (!(w[i] & (m << p)))
				return true;
	return false;
}

/*
 * Does area k of r show all 512 bits clear? Claimed words count (the caller
 * retires claims before it searches again). The counter of such an area is
 * short only for a moment: a retirement between its claim CAS and its give
 * (lf_area_retire), a free between its clears and its give, an allocation
 * or a withdrawal between its quota and its bits.
 */
static bool area_shows_whole(struct lf_chunk *r, uint32_t k)
{
	for (unsigned i = 0; i < LF_AREA_WORDS; i++)
		/* relaxed: as in area_shows_block. */
		if (atomic_load_explicit(&r->areas[k].bits.w[i], memory_order_relaxed) &
		    LF_WORD_BITS)
			return false;
	return true;
}

/* A whole-area request (huge_alloc, span_alloc): na areas that show whole,
 * consecutive, the first at a multiple of step (absolute area numbers). */
static bool chunk_shows_areas(struct lf_chunk *r, uint64_t na, uint64_t step)
{
	uint64_t a0 = lf_area0(r), run = 0;
	uint32_t nra = lf_chunk_areas(r);
	for (uint32_t k = 0; k < nra; k++) {
		run = area_shows_whole(r, k) ? run + 1 : 0;
		if (run >= na && (a0 + k + 1 - na) % step == 0)
			return true;
	}
	return false;
}

/*
 * Before a request of node ends in FK_ENOMEM: does some live area of node
 * show a fitting clear block although the search just failed (the counter
 * was low for a moment)? Then the caller searches again. Whole-area
 * requests too: a retirement caught between its two steps leaves a fully
 * free area with a short counter, and an order-9 request that then failed
 * at once was issue 18's defect 2.
 */
bool lf_block_visible(struct lockfree *lf, int node, uint64_t n, unsigned align)
{
	unsigned nr = lf_nr_chunks(lf);
	if (n > 256 || align >= LF_AREA_ORDER) {
		uint64_t na = n / LF_AREA_FRAMES + (n % LF_AREA_FRAMES != 0);
		uint64_t step = align > LF_AREA_ORDER ? 1ull << (align - LF_AREA_ORDER) : 1;
		for (unsigned i = 0; i < nr; i++) {
			struct lf_chunk *r = lf_node_chunk(lf, i, node);
			if (r && chunk_shows_areas(r, na, step))
				return true;
		}
		return false;
	}
	for (unsigned i = 0; i < nr; i++) {
		struct lf_chunk *r = lf_node_chunk(lf, i, node);
		if (!r)
			continue;
		uint32_t na = lf_chunk_areas(r);
		for (uint32_t k = 0; k < na; k++)
			if (area_shows_block(r, k, (unsigned)n, align))
				return true;
	}
	return false;
}

/* A record is being recycled: clear every CPU slot that names it. */
void lf_forget_chunk(struct lockfree *lf, unsigned idx)
{
	for (unsigned c = 0; c < lf->nr_cpus * lf->nr_nodes; c++) {
		/* acquire: pairs with the acq_rel CAS in res_swap. */
		uint64_t code = atomic_load_explicit(&lf->res[c].area, memory_order_acquire);
		if (code && lf_res_chunk(code) == idx)
			res_swap(lf, &lf->res[c], code, 0);
		/* relaxed: a hint (see lf_huge_hint). */
		code = lf_hint_code(atomic_load_explicit(&lf->res[c].huge, memory_order_relaxed));
		if (code && lf_res_chunk(code) == idx)
			atomic_store_explicit(&lf->res[c].huge, 0, memory_order_relaxed);
		for (unsigned e = 0; e < LF_CACHE_WORDS; e++) {
			/* relaxed: a hint (see struct lf_res); the record's words
			 * were retired by the removal that withdrew them. */
			code = atomic_load_explicit(&lf->res[c].cache[e], memory_order_relaxed);
			FK_SCHED_POINT();
			if (code && lf_cache_chunk(code) == idx)
				atomic_compare_exchange_strong_explicit(&lf->res[c].cache[e], &code,
				                                        0, memory_order_relaxed,
				                                        memory_order_relaxed);
			FK_SCHED_POINT();
		}
	}
}

void lf_drain(void *state)
{
	struct lockfree *lf = state;
	for (unsigned c = 0; c < lf->nr_cpus * lf->nr_nodes; c++) {
		/* acq_rel: as the swap in res_swap; we swapped the value out, so
		 * we clear its flag. */
		FK_SCHED_POINT();
		uint64_t old = atomic_exchange_explicit(&lf->res[c].area, 0, memory_order_acq_rel);
		FK_SCHED_POINT();
		if (old)
			lf_unreserve(lf, old);
	}
	/* The caches: every claimed word retires (its frames' quota returns). */
	for (unsigned nd = 0; nd < lf->nr_nodes; nd++)
		lf_retire_node(lf, (int)nd);
}
