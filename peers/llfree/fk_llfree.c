/* SPDX-License-Identifier: MIT */
/*
 * framekit adapter for LLFree-c (luhsra/llfree-c, MIT): the allocator of
 * "LLFree: Scalable and Optionally-Persistent Page-Frame Allocation"
 * (USENIX ATC'23), as a framekit allocator plug-in (framekit/allocator.h).
 * Only this adapter is framekit's; LLFree is built from the user's checkout
 * by scripts/build-peers.sh and linked into build/peers/fk_alloc_llfree.so.
 *
 * How it calls LLFree, as LLFree's own benchmarks do: each thread builds
 * its requests once (per thread, on its first call into this instance; one
 * whole request per order), with the local index = the CPU the thread runs
 * on then (the benchmarks pin threads); every call after that passes the
 * prebuilt request of its order. Classing: llfree_classing_simple(nr_cpus),
 * small (order < 9) and huge classes, LLFree's example.
 *
 * The fast path (what the contract costs over calling LLFree directly,
 * about 5-7 ns per alloc+free pair: results/peers/README.md, "Adapter
 * overhead"): where the node asked for (alloc) or the calling CPU's node
 * (dealloc) has exactly one live range, alloc is the argument checks, one
 * thread-local load and compare, one llfree_get and the address; dealloc
 * of a naturally aligned block (every whole allocation) in that range is
 * one bounds check and one llfree_put. No atomic read-modify-write, lock,
 * search or sched_getcpu() of the adapter's own on it; a node with several
 * ranges, a failed get, a tail to give back or a range to split take the
 * general path below.
 *
 * Mapping framekit's contract onto LLFree:
 *  - One LLFree instance per add_free_memory range (a "range"); its frame 0
 *    is the range's first frame rounded down to an LLFree tree (4096
 *    frames), so LLFree's natural alignment is physical alignment; the
 *    frames before the range (and after it, up to LLFree's minimum of 512
 *    frames) are allocated once at add time.
 *  - alloc(n, align): one LLFree block of order max(ceil(log2 n), align)
 *    (at most LLFree's tree order, 12), the tail beyond n put back at once.
 *    Preferred node's ranges first, then the others (unless
 *    FK_ALLOC_NODE_STRICT). On LLFREE_ERR_MEMORY everywhere it drains every
 *    range's CPU reservations (llfree_drain) and tries once more, so
 *    FK_ENOMEM means no suitable free block was found after the drain.
 *  - dealloc(range): split into naturally aligned blocks, each put with
 *    its order (LLFree splits a huge frame when a part of it comes back).
 *    A block that is free already gives FK_EUNUSED; the blocks of the same
 *    call put before it are taken back (llfree_get at that frame).
 *  - remove_free_memory (whole ranges only, as the core removes them):
 *    drain the range's CPU reservations, then take each of its LLFree trees
 *    offline with llfree_change_tree, which succeeds only on an unreserved
 *    tree whose free counter holds all of its donated frames, and sets the
 *    counter to 0 in one CAS, so nothing is handed out from it again. A
 *    range of one tree (framekit_stress's hot regions) is withdrawn
 *    atomically; for a longer one, a refusal part way puts the trees
 *    already offline back online, and for that moment their frames were
 *    unavailable. The range's record stays (dead) until destroy; adding
 *    the same range again brings it back online.
 *  - stats: llfree_stats (it scans the bit fields: exact when quiescent);
 *    free_blocks[9] is LLFree's count of free huge frames, the other
 *    orders are 0 (LLFree keeps no such count). allocs/frees are not
 *    counted (a shared counter would be timed as LLFree's cost).
 */
#define _GNU_SOURCE /* sched_getcpu */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <framekit/allocator.h>

#include <llfree.h>

#define LLF_MAX_RANGES 64
#define LLF_MAX_NODES  64 /* nodes with a fast path (framekit's FK_MAX_NODES) */

struct llf_range {
	uint64_t base_pfn; /* LLFree frame 0 */
	uint64_t head;     /* frames before the donated range (allocated at add) */
	uint64_t nframes;  /* donated frames: LLFree frames [head, head + nframes) */
	int node;
	/* 1 after remove_free_memory: skipped by every callback. Written under
	 * add_lock; relaxed loads elsewhere are a hint only, LLFree's offline
	 * trees refuse allocation by themselves. */
	_Atomic int dead;
	llfree_t *ll;
	llfree_meta_t meta;
};

struct llf {
	struct llf_range *ranges[LLF_MAX_RANGES];
	/* Published ranges: the release store in llf_add_free_memory pairs with
	 * the acquire loads of every other callback (a range is complete
	 * before it is counted). */
	_Atomic unsigned nr_ranges;
	/* The fast path: per node, its one live range when it has exactly
	 * one, else NULL. Recomputed under add_lock by every add and remove;
	 * the release stores pair with the acquire loads in alloc and dealloc
	 * (a range is complete before it is seen here). */
	struct llf_range *_Atomic node_only[LLF_MAX_NODES];
	pthread_mutex_t add_lock; /* serialises add and remove */
	uint64_t id;              /* this instance, for the per-thread requests */
	size_t cores;             /* LLFree local slots per class */
	const int *cpu_node;
	unsigned nr_cpus;
};

/* A thread's requests for the instance it last called (id), one per order,
 * built whole once so each call copies a request as LLFree's benchmarks
 * pass theirs (patching the order byte of a cached request before the copy
 * stalled every call on a failed store-to-load forward). An id is never
 * reused, so a thread that moves on to another instance rebuilds. */
struct llf_thread {
	uint64_t id;
	int node;
	llfree_request_t req[LLFREE_TREE_ORDER + 1];
};
/* The calling thread's block (heap, freed by the key's destructor at
 * thread exit); initial-exec: one %fs-relative load, no __tls_get_addr,
 * and 8 bytes of glibc's static TLS surplus for dlopen'd libraries. */
static _Thread_local struct llf_thread *llf_self __attribute__((tls_model("initial-exec")));
static pthread_key_t llf_key;
static pthread_once_t llf_key_once = PTHREAD_ONCE_INIT;
static int llf_key_ok;
static _Atomic uint64_t llf_next_id = 1; /* relaxed: only uniqueness matters */

static void llf_key_create(void)
{
	llf_key_ok = pthread_key_create(&llf_key, free) == 0;
}

/* A loaded plug-in stays for the process; should it be unloaded, no
 * destructor may point into it afterwards (the blocks leak). */
__attribute__((destructor)) static void llf_key_delete(void)
{
	if (llf_key_ok)
		pthread_key_delete(llf_key);
}

static void llf_thread_fill(struct llf_thread *t, const struct llf *l)
{
	int cpu = sched_getcpu();
	size_t core = (size_t)(cpu < 0 ? 0 : cpu) % l->cores;
	t->id = l->id;
	t->node = l->cpu_node[core % l->nr_cpus];
	for (unsigned o = 0; o <= LLFREE_TREE_ORDER; o++)
		t->req[o] = llfree_simple_request(l->cores, (uint8_t)o, core);
}

/* The first call of a thread into instance l: builds its requests. If no
 * block can be had, *spare (the caller's) is filled and used for this call. */
__attribute__((noinline)) static const struct llf_thread *llf_thread_slow(const struct llf *l,
                                                                          struct llf_thread *spare)
{
	struct llf_thread *t = llf_self;
	if (!t) {
		pthread_once(&llf_key_once, llf_key_create);
		t = llf_key_ok ? malloc(sizeof(*t)) : NULL;
		if (t && pthread_setspecific(llf_key, t)) {
			free(t);
			t = NULL;
		}
		if (!t) {
			llf_thread_fill(spare, l);
			return spare;
		}
		llf_self = t;
	}
	llf_thread_fill(t, l);
	return t;
}

static inline const struct llf_thread *llf_thread(const struct llf *l, struct llf_thread *spare)
{
	const struct llf_thread *t = llf_self;
	if (__builtin_expect(t != NULL && t->id == l->id, 1))
		return t;
	return llf_thread_slow(l, spare);
}

static int llf_trees_change(struct llf_range *r, uint64_t n, int online);
static uint64_t llf_nr_trees(const struct llf_range *r);

static unsigned llf_order_ceil(uint64_t n)
{
	return n <= 1 ? 0u : (unsigned)(64 - __builtin_clzll(n - 1));
}

/* Largest naturally aligned block at f that fits in n frames (LLFree's max). */
static unsigned llf_block_order(uint64_t f, uint64_t n)
{
	unsigned o = f ? (unsigned)__builtin_ctzll(f) : 63u;
	unsigned fit = (unsigned)(63 - __builtin_clzll(n));
	if (fit < o)
		o = fit;
	return o < LLFREE_TREE_ORDER ? o : LLFREE_TREE_ORDER;
}

/* Puts LLFree frames [f, f + n) of r; on a refused block takes back what it
 * put (best effort) and returns -1. */
static int llf_put_run(struct llf_range *r, const struct llf_thread *t, uint64_t f, uint64_t n)
{
	uint64_t at = f;
	while (at < f + n) {
		unsigned o = llf_block_order(at, f + n - at);
		if (!llfree_is_ok(llfree_put(r->ll, frame_id(at), t->req[o])))
			break;
		at += 1ull << o;
	}
	if (at == f + n)
		return 0;
	for (uint64_t back = f; back < at;) {
		unsigned o = llf_block_order(back, at - back);
		llfree_result_t g = llfree_get(r->ll, frame_id_some(frame_id(back)), t->req[o]);
		(void)g; /* taken by another thread meanwhile: nothing better to do */
		back += 1ull << o;
	}
	return -1;
}

/* Takes LLFree frames [f, f + n) of a range no other thread sees yet. */
static int llf_take_run(struct llf_range *r, const struct llf_thread *t, uint64_t f, uint64_t n)
{
	for (uint64_t at = f; at < f + n;) {
		unsigned o = llf_block_order(at, f + n - at);
		if (!llfree_is_ok(llfree_get(r->ll, frame_id_some(frame_id(at)), t->req[o])))
			return -1;
		at += 1ull << o;
	}
	return 0;
}

static int llf_create(const struct fk_alloc_params *params, unsigned nr_nodes, const int *cpu_node,
                      unsigned nr_cpus, void **state)
{
	(void)params;
	(void)nr_nodes;
	struct llf *l = calloc(1, sizeof(*l));
	if (!l)
		return FK_ENOMEM;
	pthread_mutex_init(&l->add_lock, NULL);
	l->id = atomic_fetch_add_explicit(&llf_next_id, 1, memory_order_relaxed);
	l->nr_cpus = nr_cpus ? nr_cpus : 1;
	l->cores = l->nr_cpus;
	l->cpu_node = cpu_node;
	*state = l;
	return 0;
}

static void llf_range_free(struct llf_range *r)
{
	free(r->meta.local);
	free(r->meta.trees);
	free(r->meta.lower);
	free(r->ll);
	free(r);
}

static void llf_destroy(void *state)
{
	struct llf *l = state;
	unsigned n = atomic_load_explicit(&l->nr_ranges, memory_order_acquire);
	for (unsigned i = 0; i < n; i++)
		llf_range_free(l->ranges[i]);
	pthread_mutex_destroy(&l->add_lock);
	free(l);
}

/* One try over the ranges: preferred node first, then (pass 1) the others. */
static int llf_try(struct llf *l, const struct llf_thread *t, unsigned order, int node,
                   unsigned flags, struct llf_range **where, uint64_t *frame)
{
	unsigned n = atomic_load_explicit(&l->nr_ranges, memory_order_acquire);
	for (int pass = 0; pass < 2; pass++) {
		if (pass == 1 && (flags & FK_ALLOC_NODE_STRICT))
			break;
		for (unsigned i = 0; i < n; i++) {
			struct llf_range *r = l->ranges[i];
			if ((r->node == node) != (pass == 0) ||
			    atomic_load_explicit(&r->dead, memory_order_relaxed))
				continue;
			llfree_result_t res = llfree_get(r->ll, frame_id_none(), t->req[order]);
			if (llfree_is_ok(res)) {
				*where = r;
				*frame = res.frame.value;
				return 0;
			}
		}
	}
	return -1;
}

/* Puts back the tail of a block of order that is longer than nframes and
 * returns the block's address. */
static int llf_finish(struct llf_range *r, const struct llf_thread *t, uint64_t f, uint64_t nframes,
                      unsigned order, uint64_t *paddr)
{
	uint64_t block = 1ull << order;
	if (__builtin_expect(block > nframes, 0) &&
	    llf_put_run(r, t, f + nframes, block - nframes)) {
		llf_put_run(r, t, f, nframes); /* cannot happen: the block was ours */
		return FK_ENOMEM;
	}
	*paddr = (r->base_pfn + f) << FK_PAGE_SHIFT;
	return 0;
}

/* Every range in node order, then the drain and once more. */
__attribute__((noinline)) static int llf_alloc_slow(struct llf *l, const struct llf_thread *t,
                                                    uint64_t nframes, unsigned order, int node,
                                                    unsigned flags, uint64_t *paddr)
{
	struct llf_range *r;
	uint64_t f;
	if (llf_try(l, t, order, node, flags, &r, &f)) {
		/* Pull back every CPU's reservation, then once more. */
		unsigned n = atomic_load_explicit(&l->nr_ranges, memory_order_acquire);
		for (unsigned i = 0; i < n; i++)
			llfree_drain(l->ranges[i]->ll);
		if (llf_try(l, t, order, node, flags, &r, &f))
			return FK_ENOMEM;
	}
	return llf_finish(r, t, f, nframes, order, paddr);
}

static int llf_alloc(void *state, uint64_t nframes, unsigned align_order, int node, unsigned flags,
                     uint64_t *paddr)
{
	struct llf *l = state;
	if (nframes == 0 || align_order >= 64)
		return FK_EINVAL;
	unsigned order = llf_order_ceil(nframes);
	if (align_order > order)
		order = align_order;
	if (order > LLFREE_TREE_ORDER)
		return FK_ENOMEM; /* LLFree's largest block is one tree */
	struct llf_thread spare;
	const struct llf_thread *t = llf_thread(l, &spare);
	if (node < 0)
		node = t->node;
	/* The node has one live range (the bench's case): one llfree_get, no
	 * search; it is what the search would try first. acquire: pairs with
	 * the release stores in llf_only_update. */
	if (__builtin_expect((unsigned)node < LLF_MAX_NODES, 1)) {
		struct llf_range *r =
		    atomic_load_explicit(&l->node_only[node], memory_order_acquire);
		if (__builtin_expect(r != NULL, 1)) {
			llfree_result_t res = llfree_get(r->ll, frame_id_none(), t->req[order]);
			if (__builtin_expect(llfree_is_ok(res), 1))
				return llf_finish(r, t, res.frame.value, nframes, order, paddr);
		}
	}
	return llf_alloc_slow(l, t, nframes, order, node, flags, paddr);
}

/* The range holding pfn .. pfn + n - 1, or NULL. */
static struct llf_range *llf_find(struct llf *l, uint64_t pfn, uint64_t n)
{
	unsigned nr = atomic_load_explicit(&l->nr_ranges, memory_order_acquire);
	for (unsigned i = 0; i < nr; i++) {
		struct llf_range *r = l->ranges[i];
		uint64_t first = r->base_pfn + r->head;
		if (pfn >= first && n <= r->nframes && pfn - first <= r->nframes - n &&
		    !atomic_load_explicit(&r->dead, memory_order_relaxed))
			return r;
	}
	return NULL;
}

static int llf_dealloc(void *state, uint64_t paddr, uint64_t nframes)
{
	struct llf *l = state;
	if (paddr % FK_PAGE_SIZE)
		return FK_ENOTALIGNED;
	if (nframes == 0)
		return FK_EINVAL;
	uint64_t pfn = paddr >> FK_PAGE_SHIFT;
	struct llf_thread spare;
	const struct llf_thread *t = llf_thread(l, &spare);
	/* The calling CPU's node's one live range first (acquire: pairs with
	 * the release stores in llf_only_update), else the search. */
	struct llf_range *r =
	    (unsigned)t->node < LLF_MAX_NODES
	        ? atomic_load_explicit(&l->node_only[t->node], memory_order_acquire)
	        : NULL;
	uint64_t off; /* frames from the range's first */
	if (__builtin_expect(r == NULL, 0) || (off = pfn - (r->base_pfn + r->head)) >= r->nframes ||
	    nframes > r->nframes - off) {
		r = llf_find(l, pfn, nframes);
		if (!r)
			return FK_EOUTOFBOUND;
	}
	uint64_t f = pfn - r->base_pfn;
	/* One naturally aligned block (every alloc's own): one llfree_put. */
	if (__builtin_expect((nframes & (nframes - 1)) == 0 && (f & (nframes - 1)) == 0 &&
	                         nframes <= LLFREE_TREE_SIZE,
	                     1)) {
		unsigned o = (unsigned)__builtin_ctzll(nframes);
		return llfree_is_ok(llfree_put(r->ll, frame_id(f), t->req[o])) ? 0 : FK_EUNUSED;
	}
	if (llf_put_run(r, t, f, nframes))
		return FK_EUNUSED;
	return 0;
}

/* Republishes the fast path's ranges: per node, its one live range, or
 * NULL. Under add_lock. */
static void llf_only_update(struct llf *l)
{
	unsigned n = atomic_load_explicit(&l->nr_ranges, memory_order_relaxed);
	for (int node = 0; node < LLF_MAX_NODES; node++) {
		struct llf_range *live = NULL;
		unsigned nlive = 0;
		for (unsigned i = 0; i < n; i++) {
			struct llf_range *r = l->ranges[i];
			if (r->node == node &&
			    !atomic_load_explicit(&r->dead, memory_order_relaxed)) {
				live = r;
				nlive++;
			}
		}
		/* release: pairs with the acquire loads in llf_alloc and llf_dealloc. */
		atomic_store_explicit(&l->node_only[node], nlive == 1 ? live : NULL,
		                      memory_order_release);
	}
}

static int llf_add_free_memory(void *state, uint64_t paddr, uint64_t nframes, int node)
{
	struct llf *l = state;
	if (paddr % FK_PAGE_SIZE)
		return FK_ENOTALIGNED;
	uint64_t pfn = paddr >> FK_PAGE_SHIFT;
	if (nframes == 0 || nframes > (UINT64_MAX >> FK_PAGE_SHIFT) - pfn)
		return FK_EINVAL;
	/* The same range again: its record is still here, bring it back. */
	pthread_mutex_lock(&l->add_lock);
	unsigned nr = atomic_load_explicit(&l->nr_ranges, memory_order_relaxed);
	for (unsigned i = 0; i < nr; i++) {
		struct llf_range *d = l->ranges[i];
		if (!atomic_load_explicit(&d->dead, memory_order_relaxed) ||
		    d->base_pfn + d->head != pfn || d->nframes != nframes || d->node != node)
			continue;
		int err = llf_trees_change(d, llf_nr_trees(d), 1) ? FK_ENOMEM : 0;
		if (!err) {
			atomic_store_explicit(&d->dead, 0, memory_order_relaxed);
			llf_only_update(l);
		}
		pthread_mutex_unlock(&l->add_lock);
		return err;
	}
	pthread_mutex_unlock(&l->add_lock);

	struct llf_range *r = calloc(1, sizeof(*r));
	if (!r)
		return FK_ENOMEM;
	r->base_pfn = pfn & ~((uint64_t)LLFREE_TREE_SIZE - 1);
	r->head = pfn - r->base_pfn;
	r->nframes = nframes;
	r->node = node;
	llfree_classing_t c = llfree_classing_simple(l->cores);
	/* LLFree manages at least one 512-frame child (llfree_init refuses
	 * fewer): a shorter range is padded with frames it never hands out. */
	uint64_t end = r->head + nframes;
	size_t frames = (size_t)(end < LLFREE_CHILD_SIZE ? LLFREE_CHILD_SIZE : end);
	llfree_meta_size_t m = llfree_metadata_size(&c, frames);
	r->ll = aligned_alloc(64, (m.llfree + 63) & ~(size_t)63);
	r->meta.local = aligned_alloc(64, (m.local + 63) & ~(size_t)63);
	r->meta.trees = aligned_alloc(64, (m.trees + 63) & ~(size_t)63);
	r->meta.lower = aligned_alloc(4096, (m.lower + 4095) & ~(size_t)4095);
	if (!r->ll || !r->meta.local || !r->meta.trees || !r->meta.lower ||
	    !llfree_is_ok(llfree_init(r->ll, frames, LLFREE_INIT_FREE, r->meta, &c))) {
		llf_range_free(r);
		return FK_ENOMEM;
	}
	/* The frames before the range (to the tree boundary) and the padding
	 * after it are never handed out: taken once, here. */
	struct llf_thread spare;
	const struct llf_thread *t = llf_thread(l, &spare);
	if (llf_take_run(r, t, 0, r->head) || llf_take_run(r, t, end, frames - end)) {
		llf_range_free(r);
		return FK_ENOMEM;
	}
	llfree_drain(r->ll);

	int err = 0;
	pthread_mutex_lock(&l->add_lock);
	/* relaxed: writers are serialised by add_lock. */
	unsigned n = atomic_load_explicit(&l->nr_ranges, memory_order_relaxed);
	for (unsigned i = 0; i < n && !err; i++) {
		const struct llf_range *o = l->ranges[i];
		uint64_t first = o->base_pfn + o->head;
		if (pfn < first + o->nframes && first < pfn + nframes &&
		    !atomic_load_explicit(&o->dead, memory_order_relaxed))
			err = FK_EEXIST;
	}
	if (!err && n == LLF_MAX_RANGES)
		err = FK_ENOMEM;
	if (!err) {
		l->ranges[n] = r;
		/* release: pairs with the acquire loads of the readers. */
		atomic_store_explicit(&l->nr_ranges, n + 1, memory_order_release);
		llf_only_update(l);
	}
	pthread_mutex_unlock(&l->add_lock);
	if (err)
		llf_range_free(r);
	return err;
}

/* Frames of the range in LLFree tree t (its free counter when all are free). */
static uint64_t llf_tree_share(const struct llf_range *r, uint64_t t)
{
	uint64_t lo = t * LLFREE_TREE_SIZE, hi = lo + LLFREE_TREE_SIZE;
	uint64_t first = r->head, end = r->head + r->nframes;
	if (lo < first)
		lo = first;
	if (hi > end)
		hi = end;
	return hi > lo ? hi - lo : 0;
}

/* Takes trees [0, n) of r offline (online = 0) or back online (1). */
static int llf_trees_change(struct llf_range *r, uint64_t n, int online)
{
	for (uint64_t t = 0; t < n; t++) {
		llfree_tree_match_t m = {.id = tree_id_some(tree_id((size_t)t)),
		                         .class = LLFREE_CLASS_NONE,
		                         .free = online ? 0 : (size_t)llf_tree_share(r, t)};
		llfree_tree_change_t c = {.class = LLFREE_CLASS_NONE,
		                          .operation = online ? LLFREE_TREE_OP_ONLINE
		                                              : LLFREE_TREE_OP_OFFLINE};
		if (!llfree_is_ok(llfree_change_tree(r->ll, m, c))) {
			if (!online)
				llf_trees_change(r, t, 1); /* refused: undo */
			return -1;
		}
	}
	return 0;
}

static uint64_t llf_nr_trees(const struct llf_range *r)
{
	return (r->head + r->nframes + LLFREE_TREE_SIZE - 1) / LLFREE_TREE_SIZE;
}

static int llf_remove_free_memory(void *state, uint64_t paddr, uint64_t nframes)
{
	struct llf *l = state;
	if (paddr % FK_PAGE_SIZE)
		return FK_ENOTALIGNED;
	if (nframes == 0)
		return FK_EINVAL;
	uint64_t pfn = paddr >> FK_PAGE_SHIFT;
	int err = FK_EOUTOFBOUND;
	pthread_mutex_lock(&l->add_lock);
	unsigned n = atomic_load_explicit(&l->nr_ranges, memory_order_relaxed);
	for (unsigned i = 0; i < n; i++) {
		struct llf_range *r = l->ranges[i];
		if (r->base_pfn + r->head != pfn || r->nframes != nframes ||
		    atomic_load_explicit(&r->dead, memory_order_relaxed))
			continue;
		llfree_drain(r->ll);
		if (llf_trees_change(r, llf_nr_trees(r), 0)) {
			err = FK_EBUSY; /* a frame is allocated (or a tree reserved) */
		} else {
			atomic_store_explicit(&r->dead, 1, memory_order_relaxed);
			llf_only_update(l);
			err = 0;
		}
		break;
	}
	pthread_mutex_unlock(&l->add_lock);
	return err;
}

static void llf_drain(void *state)
{
	struct llf *l = state;
	unsigned n = atomic_load_explicit(&l->nr_ranges, memory_order_acquire);
	for (unsigned i = 0; i < n; i++)
		llfree_drain(l->ranges[i]->ll);
}

static int llf_stats(void *state, int node, struct fk_alloc_stats *out)
{
	struct llf *l = state;
	memset(out, 0, sizeof(*out));
	unsigned n = atomic_load_explicit(&l->nr_ranges, memory_order_acquire);
	for (unsigned i = 0; i < n; i++) {
		struct llf_range *r = l->ranges[i];
		if ((node >= 0 && r->node != node) ||
		    atomic_load_explicit(&r->dead, memory_order_relaxed))
			continue;
		ll_stats_t s = llfree_stats(r->ll);
		out->total_frames += r->nframes;
		out->free_frames += s.free_frames; /* the head frames are allocated */
		out->free_blocks[LLFREE_HUGE_ORDER] += s.free_huge;
	}
	return 0;
}

static const struct fk_allocator_ops llfree_ops = {
    .name = "llfree",
    .create = llf_create,
    .destroy = llf_destroy,
    .alloc = llf_alloc,
    .dealloc = llf_dealloc,
    .add_free_memory = llf_add_free_memory,
    .remove_free_memory = llf_remove_free_memory,
    .drain = llf_drain,
    .stats = llf_stats,
};

FK_ALLOCATOR_PLUGIN(llfree_ops);
