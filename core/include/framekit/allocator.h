/**
 * @file
 * The allocator plug-in contract (Asterinas' GlobalFrameAllocator): what a
 * frame allocator implements so that a context (fk_mem) hands out frames
 * through it.
 *
 * An allocator hands out bare physical ranges whose slots are UNUSED; the
 * core turns them into handles (fk_alloc_segment()). When the last
 * reference drops, the core returns runs of frames with dealloc(), possibly
 * a sub-range of what was allocated and in any order.
 *
 * Adding an allocator: implement struct fk_allocator_ops (copy
 * examples/bitmap_allocator.c, a complete one), then either pass it in
 * fk_mem_config.allocator_ops, or, for a built-in one, add one line to the
 * FK_BUILTIN_ALLOCATORS list in core/src/alloc_internal.h.
 *
 * Preconditions and guarantees shared by every callback:
 *  - Callbacks run concurrently from any thread (except create() and
 *    destroy()) and must be thread safe; none may call back into the
 *    context that owns the allocator.
 *  - Addresses are in bytes and FK_PAGE_SIZE aligned, sizes in frames and
 *    > 0; align_order is log2 of the alignment in frames. A misaligned
 *    address gets FK_ENOTALIGNED, an empty range FK_EINVAL.
 *  - One shared validation runs in front of every call of alloc, dealloc,
 *    add_free_memory and remove_free_memory, whichever the allocator: the
 *    core's calls (to any table, plug-ins included) and the built-in tables
 *    that fk_allocator_find() returns. An allocator never sees these; the
 *    caller gets, and nothing changes:
 *    FK_ENOTALIGNED  paddr not FK_PAGE_SIZE aligned;
 *    FK_EINVAL       nframes 0; a range whose end, paddr + nframes pages,
 *                    does not fit in 64 bits (it would wrap past 2^64);
 *                    add_free_memory with node < 0; alloc with paddr NULL,
 *                    nframes above 2^52 - 1 (UINT64_MAX >> FK_PAGE_SHIFT:
 *                    its bytes do not fit) or align_order >= 52 (2^64
 *                    bytes). An allocator may refuse more (a node it does
 *                    not have; lockfree: align_order >= 40).
 *  - Errors change nothing (the allocator's state is as before the call).
 *  - No stranding: alloc() returns FK_ENOMEM only if, after pulling back
 *    every per-CPU cache, no suitable (aligned, if asked) free block
 *    exists; stats() counts cached frames as free.
 *  - dealloc() of a range that is (partly) free already returns FK_EUNUSED
 *    and changes nothing, even when two threads free the same range
 *    concurrently (exactly one succeeds).
 *  - remove_free_memory() is all or nothing, see its comment.
 */
#ifndef FRAMEKIT_ALLOCATOR_H
#define FRAMEKIT_ALLOCATOR_H

#include <stddef.h>
#include <stdint.h>

#include <framekit/error.h>
#include <framekit/mem.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Number of block orders: orders 0..FK_MAX_ORDER-1 are 4 KiB .. 2 MiB. */
#define FK_MAX_ORDER 10

/** Flags for fk_alloc_* and fk_allocator_ops.alloc. */
enum {
	FK_ALLOC_ZEROED = 1u << 0,      /**< zero the frames (needs FK_REGION_BACKED) */
	FK_ALLOC_NODE_STRICT = 1u << 1, /**< no fallback to other nodes */
	FK_ALLOC_ALIGNED = 1u << 2,     /**< align to the next power of two >= nframes */
};
/** Flag: prefer node n (default: the calling CPU's node). */
#define FK_ALLOC_NODE(n) ((((unsigned)(n)) + 1u) << 8)
/** The node FK_ALLOC_NODE() put in flags, or -1 for the calling CPU's. */
#define FK_ALLOC_NODE_OF(flags) ((int)((flags) >> 8) - 1)

/** Allocator statistics (fk_mem_alloc_stats(), fk_allocator_ops.stats). */
struct fk_alloc_stats {
	uint64_t total_frames; /**< frames donated and not withdrawn */
	uint64_t free_frames;  /**< free frames, including those in per-CPU caches */
	/** Free blocks of each order in the global structure (implementation's view). */
	uint64_t free_blocks[FK_MAX_ORDER];
	uint64_t cached_frames;   /**< frames in per-CPU caches */
	uint64_t allocs;          /**< successful alloc calls */
	uint64_t frees;           /**< successful dealloc calls */
	uint64_t remote_frees;    /**< freed by a CPU of another node */
	uint64_t fallback_allocs; /**< served by another node than requested */
	uint64_t cache_hits;      /**< allocations served from a per-CPU cache */
	uint64_t cache_misses;    /**< allocations that had to go to the global structure */
};

/**
 * The plug-in interface; examples/bitmap_allocator.c is a complete one to
 * copy, and the file comment above lists the preconditions every callback
 * shares. Pass one to fk_mem_create() in fk_mem_config.allocator_ops.
 */
struct fk_allocator_ops {
	const char *name; /**< reported by fk_mem_allocator_name() */
	/**
	 * Creates the allocator's state. nr_nodes logical nodes; cpu_node[c] is
	 * the node of CPU c for c < nr_cpus (the table outlives the allocator).
	 */
	int (*create)(const struct fk_alloc_params *params, unsigned nr_nodes, const int *cpu_node,
	              unsigned nr_cpus, void **state);
	/** Frees the state; no other callback runs concurrently or afterwards. */
	void (*destroy)(void *state);
	/**
	 * Allocates nframes contiguous frames aligned to 2^align_order frames.
	 * node: preferred node, or -1 for the calling CPU's; never another node
	 * with FK_ALLOC_NODE_STRICT in flags. FK_ENOMEM only if, after pulling
	 * back every per-CPU cache, no suitable free block exists.
	 */
	int (*alloc)(void *state, uint64_t nframes, unsigned align_order, int node, unsigned flags,
	             uint64_t *paddr);
	/**
	 * Takes back any sub-range of an allocation. FK_EUNUSED (and no
	 * change) if any frame of it is free already; of two concurrent frees
	 * of one range exactly one succeeds.
	 */
	int (*dealloc)(void *state, uint64_t paddr, uint64_t nframes);
	/** Donates never-added memory on node. FK_EEXIST on overlap. */
	int (*add_free_memory)(void *state, uint64_t paddr, uint64_t nframes, int node);
	/**
	 * Withdraws added memory, atomically: iff every frame of the range is
	 * free (frames in per-CPU caches count as free; the allocator pulls
	 * them back itself), withdraws all of it and returns 0; otherwise
	 * FK_EBUSY and nothing changed. Runs concurrently with alloc/dealloc of
	 * other ranges and must never make them fail or block for long. After
	 * success the allocator never hands those frames out again and keeps
	 * no metadata alive for them. fk_mem_remove_region() calls it first,
	 * so a refused removal never disturbs allocation.
	 */
	int (*remove_free_memory)(void *state, uint64_t paddr, uint64_t nframes);
	/** Returns per-CPU cached frames to the global structure; may be NULL. */
	void (*drain)(void *state);
	/** Stats for node (or all nodes when node < 0), into a zeroed *out. */
	int (*stats)(void *state, int node, struct fk_alloc_stats *out);
};

/**
 * A built-in allocator by name (the FK_BUILTIN_ALLOCATORS list in core/src/alloc_internal.h;
 * fk_allocator_names() lists them); NULL if there is none of that name.
 */
const struct fk_allocator_ops *fk_allocator_find(const char *name);
/** Names of all built-in allocators; returns the count (fills up to max). */
size_t fk_allocator_names(const char **names, size_t max);

#ifdef __cplusplus
}
#endif

#endif /* FRAMEKIT_ALLOCATOR_H */
