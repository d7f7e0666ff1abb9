/*
 * lockfree: chunk records and hot-plug (add_free_memory,
 * remove_free_memory).
 *
 * A record covers the areas of one added range. Records are type-stable:
 * lock-free readers (allocation scans, reservations) may hold a record
 * pointer at any time, so a record is never unmapped before destroy.
 * Instead, once remove_free_memory has withdrawn every frame of it, the
 * record is DEAD and the next add of a range that fits (at any base, on any
 * node) recycles it. So add/remove cycles never exhaust anything: the number
 * of records is bounded by the most ranges present at once (per size class).
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#ifdef FK_HAVE_LIBNUMA
#include <numa.h>
#endif

#include "area.h"

/*
 * Metadata comes from mmap (or numa_alloc_onnode, itself mmap + mbind), not
 * malloc: add_free_memory runs concurrently with everything else and must
 * take no user-space lock, and glibc malloc locks its arenas.
 */
void *lf_meta_alloc(size_t bytes, int node, int *on_numa)
{
	*on_numa = 0;
#ifdef FK_HAVE_LIBNUMA
	/* Only nodes libnuma knows: numa_alloc_onnode on a missing node "works"
	 * with a warning (numa(3): numa_alloc_onnode, numa_max_node); logical
	 * nodes get plain pages. Both are zero-filled. */
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

void lf_meta_free(void *p, size_t bytes, int on_numa)
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

static uint64_t chunk_start(struct lf_chunk *r)
{
	/* relaxed: changes only while RECYCLING (see struct lf_chunk). */
	return atomic_load_explicit(&r->start, memory_order_relaxed);
}

static uint64_t chunk_end(struct lf_chunk *r)
{
	/* relaxed: as chunk_start. */
	return atomic_load_explicit(&r->end, memory_order_relaxed);
}

/*
 * The live added range holding all of [paddr, paddr + nframes), for dealloc
 * and remove: FK_ENOTALIGNED / FK_EINVAL (fk_range_pfn) or FK_EOUTOFBOUND.
 */
int lf_range_chunk(struct lockfree *lf, uint64_t paddr, uint64_t nframes, uint64_t *pfn,
                   struct lf_chunk **out)
{
	int bad = fk_range_pfn(paddr, nframes, pfn);
	if (bad)
		return bad;
	unsigned nr = lf_nr_chunks(lf);
	for (unsigned i = 0; i < nr; i++) {
		struct lf_chunk *r = lf_chunk_at(lf, i);
		if (!r || !lf_chunk_live(r))
			continue;
		uint64_t s = chunk_start(r), e = chunk_end(r);
		if (*pfn >= s && *pfn < e) {
			if (*pfn + nframes > e || *pfn + nframes < *pfn)
				return FK_EOUTOFBOUND;
			*out = r;
			return 0;
		}
	}
	return FK_EOUTOFBOUND;
}

static uint64_t absent_bit(struct lf_chunk *r, uint64_t pfn)
{
	return pfn - lf_area0(r) * LF_AREA_FRAMES;
}

bool lf_absent_any(struct lf_chunk *r, uint64_t pfn, uint64_t n)
{
	/* relaxed: absent bits change only in add/remove of the same range,
	 * which the caller does not race with frees of it. */
	if (atomic_load_explicit(&r->nr_absent, memory_order_relaxed) == 0)
		return false;
	for (uint64_t i = absent_bit(r, pfn); i < absent_bit(r, pfn) + n; i++)
		if (atomic_load_explicit(&r->absent[i / 64], memory_order_relaxed) &
		    (1ull << (i % 64)))
			return true;
	return false;
}

static void absent_set(struct lf_chunk *r, uint64_t pfn, uint64_t n, bool on)
{
	for (uint64_t i = absent_bit(r, pfn); i < absent_bit(r, pfn) + n; i++) {
		/* relaxed: see lf_absent_any. */
		if (on)
			atomic_fetch_or_explicit(&r->absent[i / 64], 1ull << (i % 64),
			                         memory_order_relaxed);
		else
			atomic_fetch_and_explicit(&r->absent[i / 64], ~(1ull << (i % 64)),
			                          memory_order_relaxed);
	}
}

/* Free [pfn, pfn+n) of r area by area, frames we own (no checks). */
void lf_range_free(struct lf_chunk *r, uint64_t pfn, uint64_t n)
{
	while (n) {
		uint32_t k = (uint32_t)(pfn / LF_AREA_FRAMES - lf_area0(r));
		uint64_t lim = lf_area_pfn(r, k + 1) - pfn;
		unsigned c = (unsigned)(n < lim ? n : lim);
		lf_area_free_owned(r, k, pfn, c);
		pfn += c;
		n -= c;
	}
}

static uint32_t areas_of(uint64_t pfn, uint64_t n)
{
	uint64_t na = (pfn + n + LF_AREA_FRAMES - 1) / LF_AREA_FRAMES - pfn / LF_AREA_FRAMES;
	return na > UINT32_MAX / 2 ? 0 : (uint32_t)na;
}

/*
 * (Re)initialise record r for [pfn, pfn+n) on node; r is new (zero-filled)
 * or RECYCLING (every area at counter 0 with all bits set). Range fields
 * first, then each area's bits and counter with release stores: a stale
 * reader that takes frames (acquire) sees the new range.
 */
static void chunk_init(struct lf_chunk *r, uint64_t pfn, uint64_t n, int node)
{
	uint64_t a0 = pfn / LF_AREA_FRAMES;
	uint32_t na = areas_of(pfn, n);
	/* relaxed, all: published by the release stores below and of state. */
	atomic_store_explicit(&r->start, pfn, memory_order_relaxed);
	atomic_store_explicit(&r->end, pfn + n, memory_order_relaxed);
	atomic_store_explicit(&r->area0, a0, memory_order_relaxed);
	atomic_store_explicit(&r->nr_areas, na, memory_order_relaxed);
	atomic_store_explicit(&r->node, node, memory_order_relaxed);
	atomic_store_explicit(&r->hint, 0, memory_order_relaxed);
	atomic_store_explicit(&r->nr_absent, 0, memory_order_relaxed);
	for (uint64_t i = 0; i < (uint64_t)r->cap * (LF_AREA_FRAMES / 64); i++)
		atomic_store_explicit(&r->absent[i], 0, memory_order_relaxed);
	for (uint32_t i = 0; i < (r->cap + 63) / 64; i++)
		/* seq_cst: the free map is only written with seq_cst (area.h). */
		atomic_store_explicit(lf_freemap_word(r, i), 0, memory_order_seq_cst);
	for (uint32_t k = 0; k < r->cap; k++) {
		uint64_t s = (a0 + k) * LF_AREA_FRAMES, e = s + LF_AREA_FRAMES;
		uint64_t ps = s > pfn ? s : pfn, pe = e < pfn + n ? e : pfn + n;
		if (k >= na)
			ps = pe = s; /* beyond the range: absent */
		/* Frames outside [pfn, pfn+n) are absent: their bits stay set.
		 * No word is claimed. */
		for (unsigned w = 0; w < LF_AREA_WORDS; w++) {
			uint64_t word = LF_WORD_BITS, ws = s + w * LF_WORD_FRAMES;
			if (ps < ws + LF_WORD_FRAMES && pe > ws) {
				uint64_t lo = ps > ws ? ps - ws : 0;
				uint64_t hi = pe < ws + LF_WORD_FRAMES ? pe - ws : LF_WORD_FRAMES;
				word &= ~lf_word_mask((unsigned)lo, (unsigned)(hi - lo));
			}
			/* release: pairs with the acquire CAS of a taker (after
			 * it took quota, which pairs with the store below). */
			atomic_store_explicit(&r->areas[k].bits.w[w], word, memory_order_release);
		}
		/* release: pairs with the acquire quota CAS in lf_ctr_take /
		 * lf_area_take_whole: the bits and range fields above are
		 * visible to whoever takes this quota. Clears the flag. */
		atomic_store_explicit(&r->areas[k].ctr, (uint32_t)(pe - ps), memory_order_release);
		/* relaxed: a placement hint (struct lf_area). */
		atomic_store_explicit(&r->areas[k].owner, 0, memory_order_relaxed);
		if (pe - ps == LF_AREA_FRAMES)
			lf_freemap_mark(r, k);
	}
}

static struct lf_chunk *chunk_new(uint32_t na, int node)
{
	uint32_t cap = 1;
	while (cap < na)
		cap <<= 1; /* size classes: a record serves any later range that fits */
	/* 128-byte aligned 256-byte areas: the adjacent-line prefetcher's
	 * aligned pairs never hold lines of two areas (struct lf_area). */
	size_t hdr = (sizeof(struct lf_chunk) + 127) & ~(size_t)127;
	size_t areas = (size_t)cap * sizeof(struct lf_area);
	size_t abs = (size_t)cap * (LF_AREA_FRAMES / 64) * sizeof(uint64_t);
	size_t fmap = (size_t)(cap + 63) / 64 * LF_FREEMAP_STRIDE * sizeof(uint64_t);
	int on_numa;
	char *m = lf_meta_alloc(hdr + areas + abs + fmap, node, &on_numa);
	if (!m)
		return NULL;
	struct lf_chunk *r = (struct lf_chunk *)m;
	r->cap = cap;
	r->bytes = hdr + areas + abs + fmap;
	r->on_numa = on_numa;
	r->areas = (struct lf_area *)(m + hdr);
	r->absent = (_Atomic uint64_t *)(m + hdr + areas);
	r->freemap = (_Atomic uint64_t *)(m + hdr + areas + abs);
	atomic_init(&r->state, LF_RECYCLING);
	return r;
}

/* Re-add withdrawn frames [pfn, pfn+n) of live r (all absent). */
static int revive(struct lockfree *lf, struct lf_chunk *r, uint64_t pfn, uint64_t n, int node)
{
	if (pfn + n > chunk_end(r) || node != lf_chunk_node(r))
		return FK_EEXIST;
	for (uint64_t i = absent_bit(r, pfn); i < absent_bit(r, pfn) + n; i++)
		/* relaxed: see lf_absent_any. */
		if (!(atomic_load_explicit(&r->absent[i / 64], memory_order_relaxed) &
		      (1ull << (i % 64))))
			return FK_EEXIST;
	absent_set(r, pfn, n, false);
	/* relaxed, both: a count of withdrawn frames and a statistics total. */
	atomic_fetch_sub_explicit(&r->nr_absent, n, memory_order_relaxed);
	atomic_fetch_add_explicit(&lf->nodes[node]->total, n, memory_order_relaxed);
	lf_range_free(r, pfn, n);
	return 0;
}

/* Claim a DEAD record with room for na areas (same node first), or -1. */
static int claim_dead(struct lockfree *lf, uint32_t na, int node)
{
	for (int pass = 0; pass < 2; pass++) {
		unsigned nr = lf_nr_chunks(lf);
		for (unsigned i = 0; i < nr; i++) {
			struct lf_chunk *r = lf_chunk_at(lf, i);
			if (!r || r->cap < na || (pass == 0 && lf_chunk_node(r) != node))
				continue;
			int dead = LF_DEAD;
			/* acquire: pairs with the release store of LF_DEAD in
			 * lf_remove (its withdrawals are visible to us). One
			 * adder wins the record. */
			if (atomic_compare_exchange_strong_explicit(&r->state, &dead, LF_RECYCLING,
			                                            memory_order_acquire,
			                                            memory_order_relaxed))
				return (int)i;
		}
	}
	return -1;
}

int lf_add(void *state, uint64_t paddr, uint64_t nframes, int node)
{
	struct lockfree *lf = state;
	if (paddr & (FK_PAGE_SIZE - 1))
		return FK_ENOTALIGNED;
	uint64_t pfn = paddr >> FK_PAGE_SHIFT;
	/* The byte range must not wrap (its end, paddr + bytes, fits in 64
	 * bits): checking frame numbers only let pfn << FK_PAGE_SHIFT truncate
	 * to paddr 0 (issue 18, defect 5). */
	if (nframes == 0 || node < 0 || (unsigned)node >= lf->nr_nodes ||
	    nframes > (UINT64_MAX - paddr) >> FK_PAGE_SHIFT)
		return FK_EINVAL;
	uint32_t na = areas_of(pfn, nframes);
	if (na == 0)
		return FK_EINVAL;
	/* Overlap check against live records. Concurrent adds of overlapping
	 * ranges are a caller bug this does not detect (the core serialises
	 * hot-plug of a range). */
	unsigned nr = lf_nr_chunks(lf);
	for (unsigned i = 0; i < nr; i++) {
		struct lf_chunk *r = lf_chunk_at(lf, i);
		if (!r || !lf_chunk_live(r) || pfn >= chunk_end(r) ||
		    pfn + nframes <= chunk_start(r))
			continue;
		if (pfn < chunk_start(r))
			return FK_EEXIST;
		return revive(lf, r, pfn, nframes, node); /* withdrawn frames come back */
	}
	struct lf_chunk *r;
	int idx = claim_dead(lf, na, node);
	if (idx >= 0) {
		r = lf_chunk_at(lf, (unsigned)idx);
		lf_forget_chunk(lf, (unsigned)idx); /* reservations of its old range */
	} else {
		r = chunk_new(na, node);
		if (!r)
			return FK_ENOMEM;
		/* relaxed: claims a slot index; publication is the release store. */
		unsigned i = atomic_fetch_add_explicit(&lf->nr_chunks, 1, memory_order_relaxed);
		if (i >= LF_MAX_CHUNKS) {
			/* relaxed: undo the claim (a bound only). */
			atomic_fetch_sub_explicit(&lf->nr_chunks, 1, memory_order_relaxed);
			lf_meta_free(r, r->bytes, r->on_numa);
			return FK_ENOMEM; /* documented limit: LF_MAX_CHUNKS records at once */
		}
		r->idx = i;
		chunk_init(r, pfn, nframes, node);
		/* release: pairs with the acquire in lf_chunk_at; publishes the
		 * record's immutable fields. It is not live yet. */
		atomic_store_explicit(&lf->chunks[i], r, memory_order_release);
		idx = (int)i;
		goto publish;
	}
	chunk_init(r, pfn, nframes, node);
publish:
	/* relaxed: a statistics total. */
	atomic_fetch_add_explicit(&lf->nodes[node]->total, nframes, memory_order_relaxed);
	/* release: pairs with lf_chunk_live's acquire. Linearisation point
	 * of add_free_memory for a new or recycled record. */
	atomic_store_explicit(&r->state, LF_LIVE, memory_order_release);
	return 0;
}

/*
 * Withdraw the part [first, first + c) of area k of r: retire the claims of
 * its words, take its quota, set its bits. 0, or FK_EBUSY (nothing of the
 * part taken) only when a frame of it is allocated (a set bit). While every
 * bit of the part is clear the counter may still be short for a moment:
 * an allocation holds quota it gives back when no fitting bits turn up, a
 * free or a retirement has cleared bits and not yet given their quota, or
 * a CPU's cache claimed a word that straddles the part's edge (its claim
 * takes that word's quota). Refusing then was issue 18's defect 3: we
 * retire and try again, yielding, as a failing allocation waits
 * (lockfree.c), for at most LF_WD_WAIT_NS (a holder preempted longer).
 */
static int withdraw_part(struct lf_chunk *r, uint32_t k, unsigned first, unsigned c)
{
	uint64_t deadline = 0;
	for (;;) {
		/* Frames in per-CPU caches are free: pull them back first (the
		 * claims of the part's words retire, their quota returns). */
		for (unsigned j = first / LF_WORD_FRAMES; j <= (first + c - 1) / LF_WORD_FRAMES; j++)
			lf_area_retire(r, k, j, 0);
		LF_PAUSE(LF_PAUSE_REMOVE_RETIRED);
		if (lf_ctr_take(&r->areas[k].ctr, c)) {
			unsigned given;
			if (lf_bits_withdraw(&r->areas[k].bits, first, c, &given))
				return 0;
			if (given) /* this area's part is undone */
				lf_area_give(r, k, given);
		}
		if (!lf_bits_all_clear(&r->areas[k].bits, first, c))
			return FK_EBUSY; /* a frame of the part is allocated */
		uint64_t now = lf_now_ns();
		if (!deadline)
			deadline = now + LF_WD_WAIT_NS;
		else if (now > deadline)
			return FK_EBUSY;
		LF_PAUSE(LF_PAUSE_REMOVE_WAIT);
		sched_yield();
	}
}

/*
 * Withdraw [pfn, pfn+n) part by part (withdraw_part); an allocated frame
 * rolls everything back: FK_EBUSY. A concurrent allocation that meets quota
 * we hold transiently moves on to other areas (every allocation path ends
 * with a scan of every area), so it fails only if no other area has room.
 */
int lf_remove(void *state, uint64_t paddr, uint64_t nframes)
{
	struct lockfree *lf = state;
	uint64_t pfn;
	struct lf_chunk *r;
	int bad = lf_range_chunk(lf, paddr, nframes, &pfn, &r);
	if (bad)
		return bad;
	if (lf_absent_any(r, pfn, nframes))
		return FK_EOUTOFBOUND;
	/* Cheap pre-check so an obviously busy range disturbs nobody. */
	for (uint64_t p = pfn; p < pfn + nframes; p++) {
		uint32_t k = (uint32_t)(p / LF_AREA_FRAMES - lf_area0(r));
		unsigned b = (unsigned)(p - lf_area_pfn(r, k));
		/* relaxed: advisory; the CAS below decides. */
		if (atomic_load_explicit(&r->areas[k].bits.w[b / LF_WORD_FRAMES],
		                         memory_order_relaxed) &
		    (1ull << (b % LF_WORD_FRAMES)))
			return FK_EBUSY;
	}
	/* relaxed RMW + release fence: the fence orders the count before our
	 * quota CASes below, so an allocation that saw our quota gone (and
	 * runs an acquire fence, lf_alloc) sees the withdrawal in flight. */
	atomic_fetch_add_explicit(&lf->wd_active, 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	uint64_t p = pfn, n = nframes;
	int err = 0;
	while (n) {
		uint32_t k = (uint32_t)(p / LF_AREA_FRAMES - lf_area0(r));
		uint64_t lim = lf_area_pfn(r, k + 1) - p;
		unsigned c = (unsigned)(n < lim ? n : lim), first = (unsigned)(p - lf_area_pfn(r, k));
		err = withdraw_part(r, k, first, c);
		if (err)
			break;
		p += c;
		n -= c;
	}
	if (err)
		lf_range_free(r, pfn, p - pfn); /* the earlier areas' parts */
	/* relaxed: a count; release: pairs with the acquire load of wd_active
	 * in lf_alloc, so whoever sees the withdrawal finished sees wd_done
	 * moved and (for a rollback) the quota given back. */
	atomic_fetch_add_explicit(&lf->wd_done, 1, memory_order_relaxed);
	atomic_fetch_sub_explicit(&lf->wd_active, 1, memory_order_release);
	if (err)
		return err;
	absent_set(r, pfn, nframes, true);
	/* relaxed: counters of withdrawn frames and of the node total; the
	 * frames themselves are held by their set bits and taken quota. */
	uint64_t absent = atomic_fetch_add_explicit(&r->nr_absent, nframes, memory_order_relaxed);
	atomic_fetch_sub_explicit(&lf->nodes[lf_chunk_node(r)]->total, nframes,
	                          memory_order_relaxed);
	if (absent + nframes == chunk_end(r) - chunk_start(r))
		/* release: pairs with the acquire CAS in claim_dead: every
		 * withdrawal above happens-before the record's recycling. */
		atomic_store_explicit(&r->state, LF_DEAD, memory_order_release);
	return 0;
}

void lf_chunks_destroy(struct lockfree *lf)
{
	unsigned nr = lf_nr_chunks(lf);
	for (unsigned i = 0; i < nr; i++) {
		struct lf_chunk *r = lf_chunk_at(lf, i);
		if (r)
			lf_meta_free(r, r->bytes, r->on_numa);
	}
}
