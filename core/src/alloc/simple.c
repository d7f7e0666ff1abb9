/* SPDX-License-Identifier: MIT */
/*
 * "simple": a first-fit bitmap allocator behind one pthread mutex.
 *
 * Not a contender: the reference allocator that makes "the last reference
 * frees the frame" real and serves as an oracle in tests. One bitmap per
 * donated range (chunk); bit set = allocated. Node-local chunks first, then
 * the others unless FK_ALLOC_NODE_STRICT. Everything happens under the
 * mutex, so a double free is seen as such (FK_EUNUSED) even when two
 * threads free one range at once, and FK_ENOMEM means no chunk of an
 * allowed node holds a free aligned run of the size asked for.
 *
 * remove_free_memory withdraws whole ranges as they were added (the core
 * removes whole regions); the chunk array is compacted, so add/remove
 * cycles never exhaust it.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "alloc_internal.h"
#include "tsan_internal.h"

struct simple_chunk {
	uint64_t base_pfn, nframes, nfree, hint;
	int node;
	uint64_t *bits;
};

struct simple {
	pthread_mutex_t lock;
	struct simple_chunk *chunks;
	size_t nr_chunks, cap;
	unsigned nr_nodes, nr_cpus;
	const int *cpu_node;
	uint64_t allocs, frees, remote_frees, fallbacks;
};

static int cpu_node(const struct simple *s)
{
	int n = s->cpu_node ? s->cpu_node[fk_cpu_current(s->nr_cpus)] : 0;
	return n >= 0 && (unsigned)n < s->nr_nodes ? n : 0;
}

static int bit(const struct simple_chunk *z, uint64_t i)
{
	return (int)((z->bits[i >> 6] >> (i & 63)) & 1);
}

static void set_bits(struct simple_chunk *z, uint64_t i, uint64_t n, int v)
{
	for (uint64_t k = i; k < i + n; k++) {
		if (v)
			z->bits[k >> 6] |= 1ull << (k & 63);
		else
			z->bits[k >> 6] &= ~(1ull << (k & 63));
	}
}

static int simple_create(const struct fk_alloc_params *p, unsigned nr_nodes, const int *cpu_node,
                         unsigned nr_cpus, void **out)
{
	(void)p;
	if (nr_nodes == 0 || nr_nodes > FK_MAX_NODES || out == NULL)
		return FK_EINVAL;
	struct simple *s = calloc(1, sizeof(*s));
	if (!s)
		return FK_ENOMEM;
	pthread_mutex_init(&s->lock, 0);
	s->nr_nodes = nr_nodes;
	s->cpu_node = cpu_node;
	s->nr_cpus = nr_cpus;
	*out = s;
	return 0;
}

static void simple_destroy(void *a)
{
	struct simple *s = a;
	for (size_t i = 0; i < s->nr_chunks; i++)
		free(s->chunks[i].bits);
	free(s->chunks);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

/* First fit of n frames aligned to 2^align in chunk z; UINT64_MAX if none. */
static uint64_t chunk_find(struct simple_chunk *z, uint64_t n, unsigned align)
{
	uint64_t a = 1ull << align;
	for (int pass = 0; pass < 2; pass++) {
		uint64_t from = pass == 0 ? z->hint : 0, to = pass == 0 ? z->nframes : z->hint;
		uint64_t i = from;
		while (i < to) {
			uint64_t pfn = z->base_pfn + i;
			uint64_t mis = pfn & (a - 1);
			if (mis) {
				i += a - mis;
				continue;
			}
			if (i + n > z->nframes)
				break;
			uint64_t k = 0;
			while (k < n && !bit(z, i + k))
				k++;
			if (k == n)
				return i;
			i += k + 1;
		}
	}
	return UINT64_MAX;
}

static int simple_alloc(void *a, uint64_t n, unsigned align, int node, unsigned flags,
                        uint64_t *paddr)
{
	struct simple *s = a;
	if (n == 0 || paddr == NULL || align >= 64)
		return FK_EINVAL;
	if (node < 0)
		node = FK_ALLOC_NODE_OF(flags);
	if (node < 0)
		node = cpu_node(s);
	if ((unsigned)node >= s->nr_nodes)
		return FK_EINVAL;
	pthread_mutex_lock(&s->lock);
	for (int pass = 0; pass < 2; pass++) {
		if (pass == 1 && (flags & FK_ALLOC_NODE_STRICT))
			break;
		for (size_t i = 0; i < s->nr_chunks; i++) {
			struct simple_chunk *z = &s->chunks[i];
			if ((pass == 0) != (z->node == node) || z->nfree < n)
				continue;
			uint64_t at = chunk_find(z, n, align);
			if (at == UINT64_MAX)
				continue;
			set_bits(z, at, n, 1);
			z->nfree -= n;
			z->hint = at + n < z->nframes ? at + n : 0;
			s->allocs++;
			s->fallbacks += pass;
			*paddr = (z->base_pfn + at) << FK_PAGE_SHIFT;
			pthread_mutex_unlock(&s->lock);
			return 0;
		}
	}
	pthread_mutex_unlock(&s->lock);
	return FK_ENOMEM;
}

static struct simple_chunk *chunk_of(struct simple *s, uint64_t pfn, uint64_t n)
{
	for (size_t i = 0; i < s->nr_chunks; i++) {
		struct simple_chunk *z = &s->chunks[i];
		if (pfn >= z->base_pfn && pfn - z->base_pfn + n <= z->nframes)
			return z;
	}
	return 0;
}

static int simple_dealloc(void *a, uint64_t paddr, uint64_t n)
{
	struct simple *s = a;
	uint64_t pfn;
	int bad = fk_range_pfn(paddr, n, &pfn);
	if (bad)
		return bad;
	pthread_mutex_lock(&s->lock);
	struct simple_chunk *z = chunk_of(s, pfn, n);
	int err = z ? 0 : FK_EOUTOFBOUND;
	for (uint64_t k = 0; !err && k < n; k++)
		if (!bit(z, pfn - z->base_pfn + k))
			err = FK_EUNUSED; /* double free: state unchanged */
	if (!err) {
		set_bits(z, pfn - z->base_pfn, n, 0);
		z->nfree += n;
		s->frees++;
		if (z->node != cpu_node(s))
			s->remote_frees++;
	}
	pthread_mutex_unlock(&s->lock);
	return err;
}

static int simple_add(void *a, uint64_t paddr, uint64_t n, int node)
{
	struct simple *s = a;
	uint64_t pfn;
	int err = fk_range_pfn(paddr, n, &pfn);
	if (err)
		return err;
	if (node < 0 || (unsigned)node >= s->nr_nodes || pfn + n < pfn)
		return FK_EINVAL;
	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < s->nr_chunks; i++)
		if (pfn < s->chunks[i].base_pfn + s->chunks[i].nframes &&
		    s->chunks[i].base_pfn < pfn + n)
			err = FK_EEXIST;
	if (!err && s->nr_chunks == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 4;
		struct simple_chunk *nz = realloc(s->chunks, cap * sizeof(*nz));
		if (!nz)
			err = FK_ENOMEM;
		else {
			s->chunks = nz;
			s->cap = cap;
		}
	}
	if (!err) {
		struct simple_chunk *z = &s->chunks[s->nr_chunks];
		memset(z, 0, sizeof(*z));
		z->bits = calloc((n + 63) / 64, sizeof(uint64_t));
		if (!z->bits) {
			err = FK_ENOMEM;
		} else {
			z->base_pfn = pfn;
			z->nframes = z->nfree = n;
			z->node = node;
			s->nr_chunks++;
		}
	}
	pthread_mutex_unlock(&s->lock);
	return err;
}

static int simple_remove(void *a, uint64_t paddr, uint64_t n)
{
	struct simple *s = a;
	uint64_t pfn;
	int err = fk_range_pfn(paddr, n, &pfn);
	if (err)
		return err;
	err = FK_EOUTOFBOUND; /* not a range as added */
	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < s->nr_chunks; i++) {
		struct simple_chunk *z = &s->chunks[i];
		if (z->base_pfn != pfn || z->nframes != n)
			continue;
		err = FK_EBUSY;
		if (z->nfree == n) {
			free(z->bits);
			s->chunks[i] = s->chunks[--s->nr_chunks];
			err = 0;
		}
		break;
	}
	pthread_mutex_unlock(&s->lock);
	return err;
}

static int simple_stats(void *a, int node, struct fk_alloc_stats *st)
{
	struct simple *s = a;
	if (st == NULL || (node >= 0 && (unsigned)node >= s->nr_nodes))
		return FK_EINVAL;
	memset(st, 0, sizeof(*st));
	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < s->nr_chunks; i++) {
		struct simple_chunk *z = &s->chunks[i];
		if (node >= 0 && z->node != node)
			continue;
		st->total_frames += z->nframes;
		st->free_frames += z->nfree;
	}
	if (node < 0) {
		st->allocs = s->allocs;
		st->frees = s->frees;
		st->remote_frees = s->remote_frees;
		st->fallback_allocs = s->fallbacks;
	}
	pthread_mutex_unlock(&s->lock);
	return 0;
}

const struct fk_allocator_ops fk_alloc_simple_ops = {
    .name = "simple",
    .create = simple_create,
    .destroy = simple_destroy,
    .alloc = simple_alloc,
    .dealloc = simple_dealloc,
    .add_free_memory = simple_add,
    .remove_free_memory = simple_remove,
    .drain = 0,
    .stats = simple_stats,
};
