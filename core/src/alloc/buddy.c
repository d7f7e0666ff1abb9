/* SPDX-License-Identifier: MIT */
/*
 * buddy-global: a classic binary buddy allocator (orders 0..FK_MAX_ORDER-1,
 * per-node zones with free lists per order, splitting and buddy coalescing,
 * node fallback) behind ONE lock whose type is fk_alloc_params.lock. It is
 * the baseline the lock-free allocator is measured against.
 *
 * The core (fk_buddy_*) is shared with buddy-pcp; see buddy_internal.h for
 * the invariants. Requests larger than the top order (or aligned above it)
 * are served by a first-fit scan of the free bitmap.
 */
#include <stdlib.h>
#include <string.h>

#include "alloc/buddy_internal.h"
#include "alloc_internal.h"

/*
 * ---- bitmaps (bit i = frame start + i) ----
 * Written only under the lock, with relaxed atomic loads and stores (no
 * RMW needed: writers are serialised), so that buddy-pcp may read free_bm
 * without the lock for its double-free check (see pcp_dealloc).
 */

static inline uint64_t bm_word(_Atomic uint64_t *bm, uint64_t w)
{
	/* relaxed: writers hold the lock; lock-free readers only need a
	 * value from the word's modification order. */
	return atomic_load_explicit(&bm[w], memory_order_relaxed);
}

static inline void bm_put(_Atomic uint64_t *bm, uint64_t w, uint64_t v)
{
	/* relaxed: under the lock, which orders the writers. */
	atomic_store_explicit(&bm[w], v, memory_order_relaxed);
}

static void bm_set(_Atomic uint64_t *bm, uint64_t from, uint64_t to)
{
	for (uint64_t i = from; i < to;) {
		uint64_t w = i / 64, b = i % 64, k = 64 - b < to - i ? 64 - b : to - i;
		uint64_t m = (k == 64 ? ~0ull : ((1ull << k) - 1)) << b;
		bm_put(bm, w, bm_word(bm, w) | m);
		i += k;
	}
}

static void bm_clear(_Atomic uint64_t *bm, uint64_t from, uint64_t to)
{
	for (uint64_t i = from; i < to;) {
		uint64_t w = i / 64, b = i % 64, k = 64 - b < to - i ? 64 - b : to - i;
		uint64_t m = (k == 64 ? ~0ull : ((1ull << k) - 1)) << b;
		bm_put(bm, w, bm_word(bm, w) & ~m);
		i += k;
	}
}

/* First index in [from, to) whose bit equals `val`, or `to`. */
static uint64_t bm_find(_Atomic uint64_t *bm, uint64_t from, uint64_t to, int val)
{
	for (uint64_t i = from; i < to;) {
		uint64_t w = i / 64, b = i % 64;
		uint64_t x = (val ? bm_word(bm, w) : ~bm_word(bm, w)) >> b;
		if (x) {
			uint64_t r = i + (uint64_t)__builtin_ctzll(x);
			return r < to ? r : to;
		}
		i += 64 - b;
	}
	return to;
}

static uint64_t bm_count(_Atomic uint64_t *bm, uint64_t from, uint64_t to)
{
	uint64_t n = 0;
	for (uint64_t i = from; i < to;) {
		uint64_t w = i / 64, b = i % 64, k = 64 - b < to - i ? 64 - b : to - i;
		uint64_t m = (k == 64 ? ~0ull : ((1ull << k) - 1)) << b;
		n += (uint64_t)__builtin_popcountll(bm_word(bm, w) & m);
		i += k;
	}
	return n;
}

/* ---- free lists ---- */

static void list_init(struct buddy_link *h)
{
	h->next = h->prev = h;
}

static void list_add(struct buddy_link *h, struct buddy_link *n)
{
	n->next = h->next;
	n->prev = h;
	h->next->prev = n;
	h->next = n;
}

static void list_del(struct buddy_link *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
	n->next = n->prev = NULL;
}

/* Slot idx of the chunk table (NULL: free slot). Under the lock(s), see
 * buddy_internal.h. */
static struct buddy_chunk *chunk_at(struct fk_buddy *b, uint32_t idx)
{
	return b->chunks[idx];
}

static unsigned nr_chunks(struct fk_buddy *b)
{
	return b->nr_chunks;
}

static void block_insert(struct fk_buddy *b, struct buddy_chunk *c, uint64_t pfn, unsigned o)
{
	struct buddy_zone *z = &b->zones[fk_chunk_node(c)];
	while (o < FK_BUDDY_TOP) {
		uint64_t bud = pfn ^ (1ull << o);
		if (bud < c->start || bud + (1ull << o) > c->end)
			break;
		struct buddy_link *bn = &c->links[bud - c->start];
		if (bn->order != (int8_t)o)
			break;
		list_del(bn);
		bn->order = -1;
		z->nr_free[o]--;
		pfn = pfn < bud ? pfn : bud;
		o++;
	}
	struct buddy_link *n = &c->links[pfn - c->start];
	n->order = (int8_t)o;
	list_add(&z->head[o], n);
	z->nr_free[o]++;
}

/* Mark [pfn, pfn+n) free and insert it as maximal aligned blocks. */
static void free_range(struct fk_buddy *b, struct buddy_chunk *c, uint64_t pfn, uint64_t n)
{
	bm_set(c->free_bm, pfn - c->start, pfn + n - c->start);
	b->zones[fk_chunk_node(c)].free_frames += n;
	while (n) {
		unsigned o = fk_order_fit(pfn, n, FK_BUDDY_TOP);
		block_insert(b, c, pfn, o);
		pfn += 1ull << o;
		n -= 1ull << o;
	}
}

/* Take the free frames [p, p+n) (all free) of chunk c out of the lists. */
static void withdraw(struct fk_buddy *b, struct buddy_chunk *c, uint64_t p, uint64_t n)
{
	struct buddy_zone *z = &b->zones[fk_chunk_node(c)];
	uint64_t q = p, end = p + n;
	while (q < end) {
		uint64_t h = q;
		unsigned o = 0;
		for (unsigned k = 0; k <= FK_BUDDY_TOP; k++) {
			h = q & ~((1ull << k) - 1);
			if (h < c->start)
				break;
			int8_t ho = c->links[h - c->start].order;
			if (ho >= (int8_t)k && q < h + (1ull << ho)) {
				o = (unsigned)ho;
				break;
			}
		}
		struct buddy_link *hn = &c->links[h - c->start];
		list_del(hn);
		hn->order = -1;
		z->nr_free[o]--;
		uint64_t bend = h + (1ull << o);
		bm_clear(c->free_bm, h - c->start, bend - c->start);
		z->free_frames -= 1ull << o;
		if (h < p)
			free_range(b, c, h, p - h);
		if (bend > end)
			free_range(b, c, end, bend - end);
		q = bend;
	}
}

int fk_buddy_cpu_node(const struct fk_buddy *b, unsigned cpu)
{
	int n = b->cpu_node ? b->cpu_node[cpu] : 0;
	return n >= 0 && (unsigned)n < b->nr_nodes ? n : 0;
}

struct buddy_chunk *fk_buddy_chunk_of(struct fk_buddy *b, uint64_t pfn, uint64_t n)
{
	unsigned nr = nr_chunks(b);
	for (unsigned i = 0; i < nr; i++) {
		struct buddy_chunk *c = chunk_at(b, i);
		if (!c || pfn < c->start || pfn >= c->end)
			continue;
		return pfn + n <= c->end ? c : NULL;
	}
	return NULL;
}

/* Large or over-aligned request: first fit over the node's free bitmaps. */
static int alloc_scan(struct fk_buddy *b, uint64_t n, unsigned align, int node, uint64_t *pfn)
{
	uint64_t al = 1ull << align;
	unsigned nr = nr_chunks(b);
	for (unsigned i = 0; i < nr; i++) {
		struct buddy_chunk *c = chunk_at(b, i);
		if (!c || fk_chunk_node(c) != node || c->end - c->start < n)
			continue;
		uint64_t p = (c->start + al - 1) & ~(al - 1);
		while (p + n <= c->end && p >= c->start) {
			uint64_t z = bm_find(c->free_bm, p - c->start, p + n - c->start, 0);
			if (z == p + n - c->start) {
				withdraw(b, c, p, n);
				*pfn = p;
				return 0;
			}
			p = (c->start + z + 1 + al - 1) & ~(al - 1);
		}
	}
	return FK_ENOMEM;
}

int fk_buddy_alloc_node(struct fk_buddy *b, uint64_t n, unsigned align, int node, uint64_t *pfn)
{
	unsigned o = fk_order_ceil(n);
	if (align > o)
		o = align;
	if (o > FK_BUDDY_TOP)
		return alloc_scan(b, n, align, node, pfn);
	struct buddy_zone *z = &b->zones[node];
	unsigned k = o;
	while (k <= FK_BUDDY_TOP && z->nr_free[k] == 0)
		k++;
	if (k > FK_BUDDY_TOP)
		return FK_ENOMEM;
	struct buddy_link *hn = z->head[k].next;
	struct buddy_chunk *c = chunk_at(b, hn->chunk);
	uint64_t p = c->start + (uint64_t)(hn - c->links);
	list_del(hn);
	hn->order = -1;
	z->nr_free[k]--;
	while (k > o) { /* split: the upper half stays free */
		k--;
		struct buddy_link *up = &c->links[p + (1ull << k) - c->start];
		up->order = (int8_t)k;
		list_add(&z->head[k], up);
		z->nr_free[k]++;
	}
	bm_clear(c->free_bm, p - c->start, p + (1ull << o) - c->start);
	z->free_frames -= 1ull << o;
	if (n < (1ull << o))
		free_range(b, c, p + n, (1ull << o) - n); /* the tail goes back */
	*pfn = p;
	return 0;
}

int fk_buddy_free(struct fk_buddy *b, struct buddy_chunk *c, uint64_t pfn, uint64_t n)
{
	uint64_t s = pfn - c->start, e = s + n;
	if (bm_find(c->free_bm, s, e, 1) != e || bm_find(c->absent_bm, s, e, 1) != e)
		return FK_EUNUSED;
	free_range(b, c, pfn, n);
	return 0;
}

int fk_buddy_any_free(struct buddy_chunk *c, uint64_t pfn, uint64_t n)
{
	uint64_t s = pfn - c->start, e = s + n;
	return bm_find(c->free_bm, s, e, 1) != e;
}

static void chunk_free(struct buddy_chunk *c)
{
	free((void *)c->free_bm);
	free((void *)c->absent_bm);
	free(c->links);
	free((void *)c->cached_bm);
	free(c);
}

/* Free a fully withdrawn chunk and its table slot (under the writers'
 * locks: no reader can be looking at it). */
static void chunk_drop(struct fk_buddy *b, struct buddy_chunk *c)
{
	b->chunks[c->idx] = NULL;
	while (b->nr_chunks > 0 && b->chunks[b->nr_chunks - 1] == NULL)
		b->nr_chunks--;
	chunk_free(c);
}

int fk_buddy_remove(struct fk_buddy *b, uint64_t pfn, uint64_t n)
{
	unsigned nr = nr_chunks(b);
	uint64_t covered = 0, end = pfn + n;
	/* Check first: every frame of the range must be present and free. */
	for (unsigned i = 0; i < nr; i++) {
		struct buddy_chunk *c = chunk_at(b, i);
		if (!c)
			continue;
		uint64_t s = pfn > c->start ? pfn : c->start, e = end < c->end ? end : c->end;
		if (s >= e)
			continue;
		if (bm_count(c->absent_bm, s - c->start, e - c->start) != 0)
			return FK_EOUTOFBOUND;
		if (bm_find(c->free_bm, s - c->start, e - c->start, 0) != e - c->start)
			return FK_EBUSY;
		covered += e - s;
	}
	if (covered != n)
		return FK_EOUTOFBOUND;
	for (unsigned i = 0; i < nr; i++) {
		struct buddy_chunk *c = chunk_at(b, i);
		if (!c)
			continue;
		uint64_t s = pfn > c->start ? pfn : c->start, e = end < c->end ? end : c->end;
		if (s >= e)
			continue;
		withdraw(b, c, s, e - s);
		bm_set(c->absent_bm, s - c->start, e - c->start);
		c->nr_absent += e - s;
		b->zones[fk_chunk_node(c)].total_frames -= e - s;
		if (c->nr_absent == c->end - c->start)
			chunk_drop(b, c); /* nothing of it left: no reader can hold it */
	}
	return 0;
}

static struct buddy_chunk *chunk_new(uint64_t pfn, uint64_t n, int node, int cached)
{
	struct buddy_chunk *c = calloc(1, sizeof(*c));
	size_t words = (size_t)((n + 63) / 64);
	if (!c)
		return NULL;
	c->start = pfn;
	c->end = pfn + n;
	c->node = node;
	c->free_bm = calloc(words, sizeof(uint64_t));
	c->absent_bm = calloc(words, sizeof(uint64_t));
	c->links = calloc((size_t)n, sizeof(struct buddy_link));
	if (cached)
		c->cached_bm = calloc(words, sizeof(uint64_t));
	if (!c->free_bm || !c->absent_bm || !c->links || (cached && !c->cached_bm)) {
		free((void *)c->free_bm);
		free((void *)c->absent_bm);
		free(c->links);
		free((void *)c->cached_bm);
		free(c);
		return NULL;
	}
	for (uint64_t i = 0; i < n; i++)
		c->links[i].order = -1;
	return c;
}


/* A free slot of the chunk table, growing it if needed; UINT32_MAX if
 * out of host memory. */
static uint32_t chunk_slot(struct fk_buddy *b)
{
	for (unsigned i = 0; i < b->nr_chunks; i++)
		if (b->chunks[i] == NULL)
			return i;
	if (b->nr_chunks == b->cap_chunks) {
		if (b->cap_chunks >= UINT32_MAX / 2)
			return UINT32_MAX;
		unsigned cap = b->cap_chunks ? 2 * b->cap_chunks : 16;
		struct buddy_chunk **t = realloc(b->chunks, cap * sizeof(*t));
		if (!t)
			return UINT32_MAX;
		b->chunks = t;
		b->cap_chunks = cap;
	}
	b->chunks[b->nr_chunks] = NULL;
	return b->nr_chunks++;
}

int fk_buddy_add(struct fk_buddy *b, uint64_t pfn, uint64_t n, int node)
{
	if (n == 0 || node < 0 || (unsigned)node >= b->nr_nodes)
		return FK_EINVAL;
	if (pfn + n < pfn || n > UINT32_MAX * 64ull)
		return FK_EINVAL;
	unsigned nr = nr_chunks(b);
	for (unsigned i = 0; i < nr; i++) {
		struct buddy_chunk *c = chunk_at(b, i);
		if (!c || pfn >= c->end || pfn + n <= c->start)
			continue;
		/* Re-adding withdrawn frames of a chunk revives them. */
		if (pfn < c->start || pfn + n > c->end || fk_chunk_node(c) != node ||
		    bm_count(c->absent_bm, pfn - c->start, pfn + n - c->start) != n)
			return FK_EEXIST;
		bm_clear(c->absent_bm, pfn - c->start, pfn + n - c->start);
		c->nr_absent -= n;
		b->zones[node].total_frames += n;
		free_range(b, c, pfn, n);
		return 0;
	}
	uint32_t idx = chunk_slot(b);
	if (idx == UINT32_MAX)
		return FK_ENOMEM;
	struct buddy_chunk *fresh = chunk_new(pfn, n, node, b->with_cached_bm);
	if (!fresh) {
		if (idx == b->nr_chunks - 1)
			b->nr_chunks--;
		return FK_ENOMEM;
	}
	fresh->idx = idx;
	for (uint64_t i = 0; i < n; i++)
		fresh->links[i].chunk = idx;
	b->chunks[idx] = fresh;
	b->zones[node].total_frames += n;
	free_range(b, fresh, pfn, n);
	return 0;
}

void fk_buddy_stats(struct fk_buddy *b, int node, struct fk_alloc_stats *out)
{
	memset(out, 0, sizeof(*out));
	for (unsigned i = 0; i < b->nr_nodes; i++) {
		if (node >= 0 && (unsigned)node != i)
			continue;
		struct buddy_zone *z = &b->zones[i];
		out->total_frames += z->total_frames;
		out->free_frames += z->free_frames;
		for (unsigned o = 0; o < FK_MAX_ORDER; o++)
			out->free_blocks[o] += z->nr_free[o];
		out->allocs += z->allocs;
		out->frees += z->frees;
		out->remote_frees += z->remote_frees;
		out->fallback_allocs += z->fallback_allocs;
	}
}

int fk_buddy_init(struct fk_buddy *b, const struct fk_alloc_params *params, unsigned nr_nodes,
                  const int *cpu_node, unsigned nr_cpus, int with_cached_bm)
{
	memset(b, 0, sizeof(*b));
	if (nr_nodes == 0 || nr_nodes > FK_MAX_NODES)
		return FK_EINVAL;
	int err = fk_lock_init(&b->lock, params ? params->lock : NULL);
	if (err)
		return err;
	b->zones = calloc(nr_nodes, sizeof(*b->zones));
	if (!b->zones) {
		fk_lock_fini(&b->lock);
		return FK_ENOMEM;
	}
	for (unsigned i = 0; i < nr_nodes; i++)
		for (unsigned o = 0; o < FK_MAX_ORDER; o++)
			list_init(&b->zones[i].head[o]);
	b->nr_nodes = nr_nodes;
	b->cpu_node = cpu_node;
	b->nr_cpus = nr_cpus ? nr_cpus : 1;
	b->with_cached_bm = with_cached_bm;
	return 0;
}

void fk_buddy_fini(struct fk_buddy *b)
{
	unsigned nr = nr_chunks(b);
	for (unsigned i = 0; i < nr; i++)
		if (chunk_at(b, i))
			chunk_free(chunk_at(b, i));
	free(b->chunks);
	free(b->zones);
	fk_lock_fini(&b->lock);
}

/* ---- buddy-global ops ---- */

static int bg_create(const struct fk_alloc_params *params, unsigned nr_nodes, const int *cpu_node,
                     unsigned nr_cpus, void **state)
{
	struct fk_buddy *b = malloc(sizeof(*b));
	if (!b)
		return FK_ENOMEM;
	int err = fk_buddy_init(b, params, nr_nodes, cpu_node, nr_cpus, 0);
	if (err) {
		free(b);
		return err;
	}
	*state = b;
	return 0;
}

static void bg_destroy(void *state)
{
	fk_buddy_fini(state);
	free(state);
}

static int bg_alloc(void *state, uint64_t nframes, unsigned align_order, int node, unsigned flags,
                    uint64_t *paddr)
{
	struct fk_buddy *b = state;
	struct fk_lock_ctx ctx;
	uint64_t pfn = 0;
	int err = FK_ENOMEM;
	if (nframes == 0 || paddr == NULL || align_order >= 64)
		return FK_EINVAL;
	if (flags & FK_ALLOC_ALIGNED && fk_order_ceil(nframes) > align_order)
		align_order = fk_order_ceil(nframes);
	if (node < 0)
		node = FK_ALLOC_NODE_OF(flags);
	if (node < 0)
		node = fk_buddy_cpu_node(b, fk_cpu_current(b->nr_cpus));
	if ((unsigned)node >= b->nr_nodes)
		return FK_EINVAL;
	fk_lock_acquire(&b->lock, &ctx);
	for (unsigned i = 0; i < b->nr_nodes; i++) {
		int n = (int)(((unsigned)node + i) % b->nr_nodes);
		err = fk_buddy_alloc_node(b, nframes, align_order, n, &pfn);
		if (err == 0) {
			b->zones[n].allocs++;
			if (i)
				b->zones[n].fallback_allocs++;
			break;
		}
		if (flags & FK_ALLOC_NODE_STRICT)
			break;
	}
	fk_lock_release(&b->lock, &ctx);
	if (err == 0)
		*paddr = pfn << FK_PAGE_SHIFT;
	return err;
}

static int bg_dealloc(void *state, uint64_t paddr, uint64_t nframes)
{
	struct fk_buddy *b = state;
	struct fk_lock_ctx ctx;
	uint64_t pfn;
	int bad = fk_range_pfn(paddr, nframes, &pfn);
	if (bad)
		return bad;
	int here = fk_buddy_cpu_node(b, fk_cpu_current(b->nr_cpus));
	fk_lock_acquire(&b->lock, &ctx);
	struct buddy_chunk *c = fk_buddy_chunk_of(b, pfn, nframes);
	int err = c ? fk_buddy_free(b, c, pfn, nframes) : FK_EOUTOFBOUND;
	if (err == 0) {
		b->zones[fk_chunk_node(c)].frees++;
		if (here != fk_chunk_node(c))
			b->zones[fk_chunk_node(c)].remote_frees++;
	}
	fk_lock_release(&b->lock, &ctx);
	return err;
}

static int bg_add(void *state, uint64_t paddr, uint64_t nframes, int node)
{
	struct fk_buddy *b = state;
	struct fk_lock_ctx ctx;
	if (paddr & (FK_PAGE_SIZE - 1))
		return FK_ENOTALIGNED;
	fk_lock_acquire(&b->lock, &ctx);
	int err = fk_buddy_add(b, paddr >> FK_PAGE_SHIFT, nframes, node);
	fk_lock_release(&b->lock, &ctx);
	return err;
}

static int bg_remove(void *state, uint64_t paddr, uint64_t nframes)
{
	struct fk_buddy *b = state;
	struct fk_lock_ctx ctx;
	uint64_t pfn;
	int bad = fk_range_pfn(paddr, nframes, &pfn);
	if (bad)
		return bad;
	fk_lock_acquire(&b->lock, &ctx);
	int err = fk_buddy_remove(b, pfn, nframes);
	fk_lock_release(&b->lock, &ctx);
	return err;
}

static void bg_drain(void *state)
{
	(void)state; /* no per-CPU caches */
}

static int bg_stats(void *state, int node, struct fk_alloc_stats *out)
{
	struct fk_buddy *b = state;
	struct fk_lock_ctx ctx;
	if (out == NULL || (node >= 0 && (unsigned)node >= b->nr_nodes))
		return FK_EINVAL;
	fk_lock_acquire(&b->lock, &ctx);
	fk_buddy_stats(b, node, out);
	fk_lock_release(&b->lock, &ctx);
	return 0;
}

const struct fk_allocator_ops fk_alloc_buddy_global_ops = {
    .name = "buddy-global",
    .create = bg_create,
    .destroy = bg_destroy,
    .alloc = bg_alloc,
    .dealloc = bg_dealloc,
    .add_free_memory = bg_add,
    .remove_free_memory = bg_remove,
    .drain = bg_drain,
    .stats = bg_stats,
};
