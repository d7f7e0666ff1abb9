/*
 * Frame allocation: the allocator plug-in interface (Asterinas'
 * GlobalFrameAllocator) and the allocating constructors.
 *
 * An allocator hands out bare physical ranges whose slots are UNUSED; the
 * core turns them into handles. When the last reference drops, the core
 * returns runs of frames with dealloc(), possibly a sub-range of what was
 * allocated and in any order.
 */
#ifndef FRAMEKIT_ALLOC_H
#define FRAMEKIT_ALLOC_H

#include <stddef.h>
#include <stdint.h>

#include <framekit/error.h>
#include <framekit/frame.h>
#include <framekit/mem.h>
#include <framekit/meta.h>
#include <framekit/segment.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FK_MAX_ORDER 10 /* orders 0..FK_MAX_ORDER-1 = 4 KiB .. 2 MiB */

/* Flags for fk_alloc_* and fk_allocator_ops.alloc. */
enum {
	FK_ALLOC_ZEROED = 1u << 0,      /* zero the frames (needs FK_REGION_BACKED) */
	FK_ALLOC_NODE_STRICT = 1u << 1, /* no fallback to other nodes */
	FK_ALLOC_ALIGNED = 1u << 2,     /* align to the next power of two >= nframes */
};
/* Preferred node n (default: the calling CPU's node). */
#define FK_ALLOC_NODE(n)        ((((unsigned)(n)) + 1u) << 8)
#define FK_ALLOC_NODE_OF(flags) ((int)((flags) >> 8) - 1) /* -1 = current */

struct fk_alloc_stats {
	uint64_t total_frames;
	uint64_t free_frames; /* including frames in per-CPU caches */
	/* Free blocks of each order in the global structure (implementation's view). */
	uint64_t free_blocks[FK_MAX_ORDER];
	uint64_t cached_frames; /* in per-CPU caches */
	uint64_t allocs, frees;
	uint64_t remote_frees;    /* freed by a CPU of another node */
	uint64_t fallback_allocs; /* served by another node than requested */
	uint64_t cache_hits, cache_misses;
};

/*
 * The plug-in interface. All callbacks are thread safe. Addresses and sizes
 * are in bytes / frames as named; align_order is log2 of the alignment in
 * frames.
 */
struct fk_allocator_ops {
	const char *name;
	/*
	 * nr_nodes logical nodes; cpu_node[c] is the node of CPU c for
	 * c < nr_cpus (the table outlives the allocator).
	 */
	int (*create)(const struct fk_alloc_params *params, unsigned nr_nodes, const int *cpu_node,
	              unsigned nr_cpus, void **state);
	void (*destroy)(void *state);
	/* node: preferred node, or -1 for the calling CPU's. FK_ENOMEM. */
	int (*alloc)(void *state, uint64_t nframes, unsigned align_order, int node, unsigned flags,
	             uint64_t *paddr);
	/* Any sub-range of an allocation. FK_EUNUSED if detectably free already. */
	int (*dealloc)(void *state, uint64_t paddr, uint64_t nframes);
	/* Donate never-added memory. FK_EEXIST on overlap. */
	int (*add_free_memory)(void *state, uint64_t paddr, uint64_t nframes, int node);
	/* Withdraw added memory: all of it must be free (FK_EBUSY otherwise, nothing changed). */
	int (*remove_free_memory)(void *state, uint64_t paddr, uint64_t nframes);
	/* Return per-CPU cached frames to the global structure. */
	void (*drain)(void *state);
	/* Stats for node (or all nodes when node < 0). */
	int (*stats)(void *state, int node, struct fk_alloc_stats *out);
};

/* Registered allocators: "simple", "buddy-global", "buddy-pcp", "lockfree". */
const struct fk_allocator_ops *fk_allocator_find(const char *name);
/* Names of all built-in allocators; returns the count (fills up to max). */
size_t fk_allocator_names(const char **names, size_t max);

/*
 * Allocate nframes (> 0) and claim them as a segment with metadata from
 * init (type may be NULL). FK_EINVAL (nframes 0), FK_ENOMEM, init's error
 * (frames returned to the allocator).
 */
int fk_alloc_segment(fk_mem *mem, uint64_t nframes, const struct fk_meta_type *type,
                     fk_meta_init_fn init, void *ctx, unsigned flags, fk_segment *out);
int fk_alloc_frame(fk_mem *mem, const struct fk_meta_type *type, fk_meta_init_fn init, void *ctx,
                   unsigned flags, fk_frame *out);

int fk_mem_alloc_stats(fk_mem *mem, int node, struct fk_alloc_stats *out);
/* Flush the allocator's per-CPU caches (before stats or region removal). */
void fk_mem_alloc_drain(fk_mem *mem);

#ifdef __cplusplus
}
#endif

#endif /* FRAMEKIT_ALLOC_H */
