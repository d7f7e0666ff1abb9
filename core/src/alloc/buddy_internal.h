/*
 * Binary buddy core shared by buddy-global (buddy.c) and buddy-pcp (pcp.c).
 *
 * Memory is kept as chunks (one per add_free_memory call), each with its own
 * per-frame array of free-list links and two bitmaps (free, absent). The
 * links live here, never in the metadata slots. Invariants, all under
 * fk_buddy.lock: a frame is free iff its bit in free_bm is set; every free
 * frame belongs to exactly one free block (head: nodes[].order >= 0, on the
 * zone list of that order); blocks never cross chunk boundaries.
 *
 * The chunk table is append-only and chunks are freed only at destroy, so
 * fk_buddy_chunk_of() may run without the lock (start/end/node never change
 * after publication).
 */
#ifndef FK_ALLOC_BUDDY_INTERNAL_H
#define FK_ALLOC_BUDDY_INTERNAL_H

#include <stdatomic.h>
#include <stdint.h>

#include <framekit/alloc.h>

#include "lock_internal.h"

#define FK_BUDDY_MAX_CHUNKS 256
#define FK_BUDDY_TOP        (FK_MAX_ORDER - 1) /* largest block order */

struct buddy_node {
	struct buddy_node *next, *prev;
	uint32_t chunk;
	int8_t order; /* >= 0: head of a free block of that order; -1 otherwise */
};

struct buddy_chunk {
	uint64_t start, end; /* pfn range [start, end) */
	/* Both change only under the lock while the chunk is fully withdrawn
	 * (dead), so lock-free readers that found it live see stable values. */
	_Atomic int node;
	_Atomic int dead; /* every frame withdrawn: skipped by lookups */
	uint32_t idx;
	uint64_t nr_absent;          /* frames withdrawn by remove_free_memory */
	_Atomic uint64_t *free_bm;   /* written under lock; pcp reads it */
	_Atomic uint64_t *absent_bm; /* under lock */
	_Atomic uint64_t *cached_bm; /* buddy-pcp: frames in per-CPU lists */
	struct buddy_node *nodes;
};

struct buddy_zone {
	struct buddy_node head[FK_MAX_ORDER]; /* circular list sentinels */
	uint64_t nr_free[FK_MAX_ORDER];
	uint64_t free_frames, total_frames;
	uint64_t allocs, frees, remote_frees, fallback_allocs; /* buddy-global's counters */
};

struct fk_buddy {
	struct fk_lock lock;
	unsigned nr_nodes, nr_cpus;
	const int *cpu_node;
	int with_cached_bm;
	struct buddy_zone *zones;
	_Atomic(struct buddy_chunk *) chunks[FK_BUDDY_MAX_CHUNKS];
	_Atomic unsigned nr_chunks;
};

static inline int fk_chunk_node(struct buddy_chunk *c)
{
	/* relaxed: see the field; ordered by the dead flag's release/acquire. */
	return atomic_load_explicit(&c->node, memory_order_relaxed);
}

int fk_buddy_init(struct fk_buddy *b, const struct fk_alloc_params *params, unsigned nr_nodes,
                  const int *cpu_node, unsigned nr_cpus, int with_cached_bm);
void fk_buddy_fini(struct fk_buddy *b);

/* Node of the calling CPU. */
int fk_buddy_cpu_node(const struct fk_buddy *b, unsigned cpu);

/* Live chunk holding all of [pfn, pfn + n), or NULL. Lock-free. */
struct buddy_chunk *fk_buddy_chunk_of(struct fk_buddy *b, uint64_t pfn, uint64_t n);

/* The following need b->lock held. No stats counters are touched. */

/* Allocate n frames aligned to 2^align on `node` only. FK_ENOMEM. */
int fk_buddy_alloc_node(struct fk_buddy *b, uint64_t n, unsigned align, int node, uint64_t *pfn);
/* Free [pfn, pfn+n) of chunk c: FK_EUNUSED when any frame is free or absent
 * (nothing changed). */
int fk_buddy_free(struct fk_buddy *b, struct buddy_chunk *c, uint64_t pfn, uint64_t n);
/* remove_free_memory: FK_EBUSY unless every frame is free. */
int fk_buddy_remove(struct fk_buddy *b, uint64_t pfn, uint64_t n);
/* Is any frame of [pfn, pfn+n) free in the buddy? Lock-free; exact for
 * frames the caller owns (their clear happened-before the caller got them). */
int fk_buddy_any_free(struct buddy_chunk *c, uint64_t pfn, uint64_t n);
/* Zone stats of node (all when < 0), buddy-global's counters included. */
void fk_buddy_stats(struct fk_buddy *b, int node, struct fk_alloc_stats *out);

/* Takes the lock itself (allocates chunk memory). */
int fk_buddy_add(struct fk_buddy *b, uint64_t pfn, uint64_t n, int node);

#endif /* FK_ALLOC_BUDDY_INTERNAL_H */
