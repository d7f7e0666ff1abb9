/**
 * @file
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
 * copy. All callbacks are called concurrently from any thread and must be
 * thread safe. Addresses are in bytes, sizes in frames; align_order is log2
 * of the alignment in frames. Pass one to fk_mem_create() in
 * fk_mem_config.allocator_ops.
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
	 * node: preferred node, or -1 for the calling CPU's. FK_ENOMEM.
	 */
	int (*alloc)(void *state, uint64_t nframes, unsigned align_order, int node, unsigned flags,
	             uint64_t *paddr);
	/** Takes back any sub-range of an allocation. FK_EUNUSED if (partly) free already. */
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
 * A built-in allocator by name: "simple", "buddy-global", "buddy-pcp",
 * "lockfree"; NULL if there is none of that name.
 */
const struct fk_allocator_ops *fk_allocator_find(const char *name);
/** Names of all built-in allocators; returns the count (fills up to max). */
size_t fk_allocator_names(const char **names, size_t max);

/**
 * Allocates nframes and claims them as a segment, with metadata from init.
 * @param mem     the context
 * @param nframes number of frames, > 0
 * @param type    metadata type of every frame, NULL for untyped
 * @param init    called once per frame before publication; may be NULL
 * @param ctx     passed to init
 * @param flags   FK_ALLOC_* and FK_ALLOC_NODE(n)
 * @param out     receives the segment
 * @return 0, or FK_EINVAL (nframes 0, or FK_ALLOC_ALIGNED beyond
 *         FK_MAX_ORDER), FK_ENOMEM, or init's error (frames returned to the
 *         allocator), or FK_EBUSY if the allocator handed out a range
 *         outside every published managed region or one being removed, or
 *         a frame that is not free (only a faulty allocator does; the
 *         range, less any frame in use, goes back to it).
 *
 * Placement without FK_ALLOC_ALIGNED (what each built-in allocator may
 * return, so which requests can fail although enough contiguous frames are
 * free):
 *  - "simple": any nframes contiguous free frames (first fit, page
 *    alignment only); fails only if no such run exists.
 *  - "buddy-global", "buddy-pcp": a request of up to 2^(FK_MAX_ORDER-1)
 *    frames is carved from a free block of order ceil(log2(nframes)), which
 *    is naturally aligned (the unused tail is freed again): a power-of-two
 *    request is always naturally aligned, and fails when no such aligned
 *    block is free even if an unaligned run is. Larger requests are first
 *    fit with page alignment only.
 *  - "lockfree": power-of-two requests up to 512 frames are naturally
 *    aligned; other requests of up to 64 frames may start at any frame; 65
 *    to 256 frames start on a 128- or 256-frame boundary; 257 to 512 frames
 *    and larger requests take whole 2 MiB-aligned 512-frame areas (only
 *    the aligned 2 MiB parts of a region serve them).
 *
 * So 512 frames from a free 512-frame region whose base is not 2 MiB
 * aligned succeed on "simple" and fail with FK_ENOMEM on the other three.
 * With FK_ALLOC_ALIGNED every allocator aligns the start to the next power
 * of two >= nframes.
 */
int fk_alloc_segment(fk_mem *mem, uint64_t nframes, const struct fk_meta_type *type,
                     fk_meta_init_fn init, void *ctx, unsigned flags, fk_segment *out);
/** Allocates one frame: fk_alloc_segment() with nframes 1, as a frame handle. */
int fk_alloc_frame(fk_mem *mem, const struct fk_meta_type *type, fk_meta_init_fn init, void *ctx,
                   unsigned flags, fk_frame *out);

/**
 * The allocator's statistics for node, or for all nodes when node < 0.
 * @return 0, or FK_EINVAL (NULL, or node >= fk_mem_nr_nodes()).
 */
int fk_mem_alloc_stats(fk_mem *mem, int node, struct fk_alloc_stats *out);
/** Flushes the allocator's per-CPU caches (before stats or region removal). */
void fk_mem_alloc_drain(fk_mem *mem);

#ifdef __cplusplus
}
#endif

#endif /* FRAMEKIT_ALLOC_H */
