/* SPDX-License-Identifier: MIT */
/*
 * A custom frame allocator plugged in through struct fk_allocator_ops.
 *
 * "bitmap": one bit per frame (set = allocated), one bitmap per range the
 * core donates with add_free_memory, first fit, all behind one mutex. It is
 * small on purpose: copy it as the skeleton of your own allocator. The demo
 * in main() runs four threads that allocate, split and drop segments on two
 * logical NUMA nodes, then checks that every frame came back.
 *
 * The contract it keeps is stated once, in <framekit/allocator.h>: thread
 * safe callbacks, errors change nothing, FK_ENOMEM only when no suitable
 * block exists (this allocator has no per-CPU caches, so its first-fit
 * search over every range is that check), one of two concurrent frees of
 * a range wins (the mutex), all-or-nothing remove_free_memory.
 *
 * Built with -DFK_BITMAP_PLUGIN it is a run-time plug-in instead of a
 * program: no demo, and the last line exports the ops with
 * FK_ALLOCATOR_PLUGIN() (framekit/allocator.h). It calls no libframekit
 * function, so the .so links nothing but libc (examples/CMakeLists.txt:
 * fk_alloc_bitmap.so):
 *   framekit_stress --allocator-lib fk_alloc_bitmap.so --allocator bitmap
 */
#define _GNU_SOURCE /* sched_getcpu */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <framekit/framekit.h>

/* ---- the allocator ------------------------------------------------------- */

struct bm_range {
	uint64_t base_pfn, nframes, nfree;
	int node;
	uint64_t *bits; /* bit i set = frame base_pfn + i allocated */
};

struct bm {
	pthread_mutex_t lock; /* guards everything below */
	struct bm_range *ranges;
	size_t nranges, cap;
	const int *cpu_node; /* node of each CPU, owned by the core */
	unsigned nr_cpus;
	uint64_t allocs, frees, remote_frees, fallback_allocs;
};

static int bm_bit(const struct bm_range *r, uint64_t i)
{
	return (int)((r->bits[i / 64] >> (i % 64)) & 1);
}

static void bm_set(struct bm_range *r, uint64_t i, uint64_t n, int allocated)
{
	for (uint64_t k = i; k < i + n; k++) {
		if (allocated)
			r->bits[k / 64] |= 1ull << (k % 64);
		else
			r->bits[k / 64] &= ~(1ull << (k % 64));
	}
}

static int bm_current_node(const struct bm *b)
{
	int cpu = sched_getcpu();
	return b->cpu_node[(unsigned)(cpu < 0 ? 0 : cpu) % b->nr_cpus];
}

/* Range holding all of [pfn, pfn + n), or NULL. Caller holds the lock. */
static struct bm_range *bm_find(struct bm *b, uint64_t pfn, uint64_t n)
{
	for (size_t i = 0; i < b->nranges; i++) {
		struct bm_range *r = &b->ranges[i];
		if (pfn >= r->base_pfn && n <= r->nframes && pfn - r->base_pfn <= r->nframes - n)
			return r;
	}
	return NULL;
}

/* First index of n free frames in r whose frame number is a multiple of
 * align, or UINT64_MAX. */
static uint64_t bm_first_fit(const struct bm_range *r, uint64_t n, uint64_t align)
{
	uint64_t i = (align - r->base_pfn % align) % align;
	while (n <= r->nframes && i <= r->nframes - n) {
		uint64_t k = 0;
		while (k < n && !bm_bit(r, i + k))
			k++;
		if (k == n)
			return i;
		/* Frame i + k is taken: next aligned start after it. */
		uint64_t next_pfn = (r->base_pfn + i + k + 1 + align - 1) / align * align;
		i = next_pfn - r->base_pfn;
	}
	return UINT64_MAX;
}

static int bm_create(const struct fk_alloc_params *params, unsigned nr_nodes, const int *cpu_node,
                     unsigned nr_cpus, void **state)
{
	(void)params;
	(void)nr_nodes;
	struct bm *b = calloc(1, sizeof(*b));
	if (!b)
		return FK_ENOMEM; /* host memory */
	pthread_mutex_init(&b->lock, NULL);
	b->cpu_node = cpu_node;
	b->nr_cpus = nr_cpus ? nr_cpus : 1;
	*state = b;
	return 0;
}

static void bm_destroy(void *state)
{
	struct bm *b = state;
	for (size_t i = 0; i < b->nranges; i++)
		free(b->ranges[i].bits);
	free(b->ranges);
	pthread_mutex_destroy(&b->lock);
	free(b);
}

static int bm_alloc(void *state, uint64_t nframes, unsigned align_order, int node, unsigned flags,
                    uint64_t *paddr)
{
	struct bm *b = state;
	if (nframes == 0 || align_order >= 64)
		return FK_EINVAL;
	if (node < 0)
		node = bm_current_node(b);
	int err = FK_ENOMEM;
	pthread_mutex_lock(&b->lock);
	/* Pass 0: ranges of the preferred node; pass 1: the others. */
	for (int pass = 0; pass < 2 && err; pass++) {
		if (pass == 1 && (flags & FK_ALLOC_NODE_STRICT))
			break;
		for (size_t i = 0; i < b->nranges && err; i++) {
			struct bm_range *r = &b->ranges[i];
			if ((r->node == node) != (pass == 0) || r->nfree < nframes)
				continue;
			uint64_t at = bm_first_fit(r, nframes, 1ull << align_order);
			if (at == UINT64_MAX)
				continue;
			bm_set(r, at, nframes, 1);
			r->nfree -= nframes;
			b->allocs++;
			b->fallback_allocs += (uint64_t)pass;
			*paddr = (r->base_pfn + at) << FK_PAGE_SHIFT;
			err = 0;
		}
	}
	pthread_mutex_unlock(&b->lock);
	return err;
}

static int bm_dealloc(void *state, uint64_t paddr, uint64_t nframes)
{
	struct bm *b = state;
	if (paddr % FK_PAGE_SIZE)
		return FK_ENOTALIGNED;
	if (nframes == 0)
		return FK_EINVAL;
	uint64_t pfn = paddr >> FK_PAGE_SHIFT;
	int here = bm_current_node(b), err = 0;
	pthread_mutex_lock(&b->lock);
	struct bm_range *r = bm_find(b, pfn, nframes);
	if (!r) {
		err = FK_EOUTOFBOUND;
	} else {
		uint64_t at = pfn - r->base_pfn;
		for (uint64_t k = 0; k < nframes && !err; k++)
			if (!bm_bit(r, at + k))
				err = FK_EUNUSED; /* (partly) free already: change nothing */
		if (!err) {
			bm_set(r, at, nframes, 0);
			r->nfree += nframes;
			b->frees++;
			b->remote_frees += r->node != here;
		}
	}
	pthread_mutex_unlock(&b->lock);
	return err;
}

static int bm_add_free_memory(void *state, uint64_t paddr, uint64_t nframes, int node)
{
	struct bm *b = state;
	if (paddr % FK_PAGE_SIZE)
		return FK_ENOTALIGNED;
	if (nframes == 0 || nframes > (UINT64_MAX >> FK_PAGE_SHIFT) - (paddr >> FK_PAGE_SHIFT))
		return FK_EINVAL;
	uint64_t pfn = paddr >> FK_PAGE_SHIFT;
	uint64_t *bits = calloc((size_t)((nframes + 63) / 64), sizeof(uint64_t));
	if (!bits)
		return FK_ENOMEM; /* host memory for the bitmap */
	int err = 0;
	pthread_mutex_lock(&b->lock);
	for (size_t i = 0; i < b->nranges && !err; i++) {
		const struct bm_range *r = &b->ranges[i];
		if (pfn < r->base_pfn + r->nframes && r->base_pfn < pfn + nframes)
			err = FK_EEXIST;
	}
	if (!err && b->nranges == b->cap) {
		size_t cap = b->cap ? 2 * b->cap : 4;
		struct bm_range *grown = realloc(b->ranges, cap * sizeof(*grown));
		if (grown) {
			b->ranges = grown;
			b->cap = cap;
		} else {
			err = FK_ENOMEM; /* host memory for the range table */
		}
	}
	if (!err) {
		b->ranges[b->nranges++] = (struct bm_range){.base_pfn = pfn,
		                                            .nframes = nframes,
		                                            .nfree = nframes,
		                                            .node = node,
		                                            .bits = bits};
		bits = NULL;
	}
	pthread_mutex_unlock(&b->lock);
	free(bits);
	return err;
}

/* Only whole ranges, as added (the core removes whole regions):
 * FK_EOUTOFBOUND for any other range. */
static int bm_remove_free_memory(void *state, uint64_t paddr, uint64_t nframes)
{
	struct bm *b = state;
	if (paddr % FK_PAGE_SIZE)
		return FK_ENOTALIGNED;
	if (nframes == 0)
		return FK_EINVAL;
	uint64_t pfn = paddr >> FK_PAGE_SHIFT;
	int err = FK_EOUTOFBOUND;
	pthread_mutex_lock(&b->lock);
	for (size_t i = 0; i < b->nranges; i++) {
		struct bm_range *r = &b->ranges[i];
		if (r->base_pfn != pfn || r->nframes != nframes)
			continue;
		if (r->nfree != r->nframes) {
			err = FK_EBUSY; /* some frame is allocated: change nothing */
			break;
		}
		free(r->bits);
		*r = b->ranges[--b->nranges];
		err = 0;
		break;
	}
	pthread_mutex_unlock(&b->lock);
	return err;
}

/* Free blocks by order: every maximal free run split into aligned
 * power-of-two blocks, as a buddy allocator would hold it. */
static void bm_count_blocks(const struct bm_range *r, uint64_t *blocks)
{
	uint64_t i = 0;
	while (i < r->nframes) {
		if (bm_bit(r, i)) {
			i++;
			continue;
		}
		uint64_t end = i;
		while (end < r->nframes && !bm_bit(r, end))
			end++;
		while (i < end) {
			unsigned o = FK_MAX_ORDER - 1;
			while (o > 0 &&
			       (((r->base_pfn + i) & ((1ull << o) - 1)) || i + (1ull << o) > end))
				o--;
			blocks[o]++;
			i += 1ull << o;
		}
	}
}

static int bm_stats(void *state, int node, struct fk_alloc_stats *out)
{
	struct bm *b = state;
	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&b->lock);
	for (size_t i = 0; i < b->nranges; i++) {
		const struct bm_range *r = &b->ranges[i];
		if (node >= 0 && r->node != node)
			continue;
		out->total_frames += r->nframes;
		out->free_frames += r->nfree;
		bm_count_blocks(r, out->free_blocks);
	}
	if (node < 0) { /* the counters are kept for all nodes together */
		out->allocs = b->allocs;
		out->frees = b->frees;
		out->remote_frees = b->remote_frees;
		out->fallback_allocs = b->fallback_allocs;
	}
	pthread_mutex_unlock(&b->lock);
	return 0;
}

static const struct fk_allocator_ops bitmap_ops = {
    .name = "bitmap",
    .create = bm_create,
    .destroy = bm_destroy,
    .alloc = bm_alloc,
    .dealloc = bm_dealloc,
    .add_free_memory = bm_add_free_memory,
    .remove_free_memory = bm_remove_free_memory,
    .drain = NULL, /* optional: no per-CPU caches to flush */
    .stats = bm_stats,
};

#ifdef FK_BITMAP_PLUGIN
FK_ALLOCATOR_PLUGIN(bitmap_ops);
#else
/* ---- the demo ------------------------------------------------------------ */

#define CHECK(call)                                                                                \
	do {                                                                                       \
		int err_ = (call);                                                                 \
		if (err_ < 0) {                                                                    \
			fprintf(stderr, "%s: %s\n", #call, fk_strerror_name(err_));                \
			exit(1);                                                                   \
		}                                                                                  \
	} while (0)
#define EXPECT(cond)                                                                               \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: expected %s\n", __FILE__, __LINE__, #cond);        \
			exit(1);                                                                   \
		}                                                                                  \
	} while (0)

enum { THREADS = 4, ROUNDS = 2000, KEEP = 8 };

struct worker {
	pthread_t th;
	fk_mem *mem;
	uint64_t rng;
};

static uint64_t next_rand(uint64_t *s) /* xorshift64 */
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	fk_segment held[KEEP] = {0};
	CHECK(fk_thread_enter(w->mem));
	for (int i = 0; i < ROUNDS; i++) {
		fk_segment *s = &held[next_rand(&w->rng) % KEEP];
		if (fk_segment_nframes(s)) {
			/* Drop in two parts: the allocator gets sub-ranges back. */
			fk_segment left, right;
			if (fk_segment_nframes(s) > 1) {
				CHECK(fk_segment_split(w->mem, s, FK_PAGE_SIZE, &left, &right));
				CHECK(fk_segment_drop(w->mem, &right));
				*s = left;
			}
			CHECK(fk_segment_drop(w->mem, s));
			continue;
		}
		uint64_t r = next_rand(&w->rng);
		unsigned flags = FK_ALLOC_NODE(r % 2) | ((r >> 1) % 4 == 0 ? FK_ALLOC_ALIGNED : 0);
		int err = fk_alloc_segment(w->mem, 1 + (r >> 8) % 32, NULL, NULL, NULL, flags, s);
		EXPECT(err == 0 || err == FK_ENOMEM);
	}
	for (int k = 0; k < KEEP; k++)
		if (fk_segment_nframes(&held[k])) /* dropping an empty handle is FK_EINVAL */
			CHECK(fk_segment_drop(w->mem, &held[k]));
	fk_thread_leave(w->mem);
	return NULL;
}

int main(void)
{
	struct fk_region_config regs[2] = {
	    {.base = 1ull << 32, .nframes = 2048, .node = 0},
	    {.base = 1ull << 33, .nframes = 2048, .node = 1},
	};
	struct fk_mem_config cfg = {
	    .regions = regs, .nr_regions = 2, .nr_nodes = 2, .allocator_ops = &bitmap_ops};
	fk_mem *mem;
	CHECK(fk_mem_create(&cfg, &mem));
	CHECK(fk_thread_enter(mem));
	EXPECT(strcmp(fk_mem_allocator_name(mem), "bitmap") == 0);

	struct worker w[THREADS];
	for (int i = 0; i < THREADS; i++) {
		w[i] =
		    (struct worker){.mem = mem, .rng = 0x9e3779b97f4a7c15ull * (uint64_t)(i + 1)};
		EXPECT(pthread_create(&w[i].th, NULL, worker_main, &w[i]) == 0);
	}
	for (int i = 0; i < THREADS; i++)
		EXPECT(pthread_join(w[i].th, NULL) == 0);

	/* Conservation: every frame is back, on its own node. */
	for (int node = 0; node < 2; node++) {
		struct fk_alloc_stats st;
		CHECK(fk_mem_alloc_stats(mem, node, &st));
		EXPECT(st.total_frames == 2048 && st.free_frames == 2048);
	}
	struct fk_alloc_stats all;
	CHECK(fk_mem_alloc_stats(mem, -1, &all));
	EXPECT(all.allocs > 0 && all.frees >= all.allocs);

	/* Hot-remove goes through remove_free_memory: refused (FK_EBUSY from
	 * the allocator, FK_EINUSE from the core) while a frame is allocated. */
	fk_frame f;
	CHECK(fk_alloc_frame(mem, NULL, NULL, NULL, FK_ALLOC_NODE(1) | FK_ALLOC_NODE_STRICT, &f));
	EXPECT(fk_mem_remove_region(mem, regs[1].base) == FK_EINUSE);
	CHECK(fk_frame_drop(mem, &f));
	CHECK(fk_mem_remove_region(mem, regs[1].base));
	CHECK(fk_mem_alloc_stats(mem, -1, &all));
	EXPECT(all.total_frames == 2048);

	fk_thread_leave(mem);
	CHECK(fk_mem_destroy(mem, NULL));
	printf("bitmap_allocator: ok, %d threads x %d rounds, every frame returned\n", THREADS,
	       ROUNDS);
	return 0;
}
#endif /* FK_BITMAP_PLUGIN */
