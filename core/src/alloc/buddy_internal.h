/* SPDX-License-Identifier: MIT */
/*
 * Binary buddy core shared by buddy-global (buddy.c) and buddy-pcp (pcp.c).
 *
 * Memory is kept as chunks (one per add_free_memory call), each with its own
 * per-frame array of free-list links and two bitmaps (free, absent). The
 * links live here, never in the metadata slots. Invariants, all under
 * fk_buddy.lock: a frame is free iff its bit in free_bm is set; every free
 * frame belongs to exactly one free block (head: links[].order >= 0, on the
 * zone list of that order); blocks never cross chunk boundaries.
 *
 * The chunk table grows on demand and a chunk whose every frame has been
 * withdrawn is freed at once, its slot reused by the next add, so add/remove
 * cycles never exhaust it. Readers of the table hold b->lock; buddy-pcp's
 * per-CPU fast paths read it under their own per-CPU lock instead, so
 * buddy-pcp changes the table only while holding every per-CPU lock as well
 * (a big-reader lock: pcp.c, pcp_lock_all).
 */
#ifndef FK_ALLOC_BUDDY_INTERNAL_H
#define FK_ALLOC_BUDDY_INTERNAL_H

#include <stdatomic.h>
#include <stdint.h>

#include <framekit/alloc.h>

#include "lock_internal.h"

#define FK_BUDDY_TOP        (FK_MAX_ORDER - 1) /* largest block order */

struct buddy_link {
	struct buddy_link *next, *prev;
	uint32_t chunk;
	int8_t order; /* >= 0: head of a free block of that order; -1 otherwise */
};

struct buddy_chunk {
	uint64_t start, end; /* pfn range [start, end) */
	int node;
	uint32_t idx;                /* slot in fk_buddy.chunks */
	uint64_t nr_absent;          /* frames withdrawn by remove_free_memory */
	_Atomic uint64_t *free_bm;   /* written under lock; pcp reads it */
	_Atomic uint64_t *absent_bm; /* under lock */
	/* buddy-pcp: frames in per-CPU lists or being freed right now (a
	 * claim bit per frame, so two frees of one frame cannot both pass). */
	_Atomic uint64_t *cached_bm;
	struct buddy_link *links; /* per frame: free-list link, block order */
};

struct buddy_zone {
	struct buddy_link head[FK_MAX_ORDER]; /* circular list sentinels */
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
	struct buddy_chunk **chunks; /* NULL = free slot */
	unsigned nr_chunks;          /* slots in use or freed: [0, nr_chunks) */
	unsigned cap_chunks;
};

static inline int fk_chunk_node(const struct buddy_chunk *c)
{
	return c->node;
}

int fk_buddy_init(struct fk_buddy *b, const struct fk_alloc_params *params, unsigned nr_nodes,
                  const int *cpu_node, unsigned nr_cpus, int with_cached_bm);
void fk_buddy_fini(struct fk_buddy *b);

/* Node of the calling CPU. */
int fk_buddy_cpu_node(const struct fk_buddy *b, unsigned cpu);

/* Chunk holding all of [pfn, pfn + n), or NULL. Needs b->lock (or, in
 * buddy-pcp, a per-CPU lock: see the top of this file). */
struct buddy_chunk *fk_buddy_chunk_of(struct fk_buddy *b, uint64_t pfn, uint64_t n);

/* The following need b->lock held (buddy-pcp: every per-CPU lock as well
 * for add and remove, which change the chunk table). No stats counters
 * are touched. */

/* Allocate n frames aligned to 2^align on `node` only. FK_ENOMEM. */
int fk_buddy_alloc_node(struct fk_buddy *b, uint64_t n, unsigned align, int node, uint64_t *pfn);
/* Free [pfn, pfn+n) of chunk c: FK_EUNUSED when any frame is free or absent
 * (nothing changed). */
int fk_buddy_free(struct fk_buddy *b, struct buddy_chunk *c, uint64_t pfn, uint64_t n);
/* remove_free_memory: FK_EBUSY unless every frame is free (nothing
 * changed then), FK_EOUTOFBOUND unless every frame is present. A chunk left
 * with no frame is freed. */
int fk_buddy_remove(struct fk_buddy *b, uint64_t pfn, uint64_t n);
/* add_free_memory (allocates chunk memory under the lock). */
int fk_buddy_add(struct fk_buddy *b, uint64_t pfn, uint64_t n, int node);
/* Zone stats of node (all when < 0), buddy-global's counters included. */
void fk_buddy_stats(struct fk_buddy *b, int node, struct fk_alloc_stats *out);

/* Is any frame of [pfn, pfn+n) free in the buddy? Without b->lock (the
 * chunk must be kept alive otherwise): exact for frames whose last
 * change happened-before the call. */
int fk_buddy_any_free(struct buddy_chunk *c, uint64_t pfn, uint64_t n);

#endif /* FK_ALLOC_BUDDY_INTERNAL_H */
