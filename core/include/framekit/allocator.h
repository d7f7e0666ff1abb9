/* SPDX-License-Identifier: MIT */
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

/*
 * ---- Plug-ins: an allocator in a shared library, loaded at run time ----
 *
 * A plug-in is a .so that implements struct fk_allocator_ops and ends with
 *
 *     FK_ALLOCATOR_PLUGIN(my_ops);
 *
 * which exports the descriptor below under the versioned symbol
 * FK_ALLOCATOR_PLUGIN_SYMBOL ("fk_allocator_plugin_v1"). It needs this
 * header only: it calls no libframekit function, so it must not link
 * against libframekit (examples/bitmap_allocator.c builds as one;
 * peers/ holds adapters of outside allocators).
 *
 * fk_allocator_load("PATH[:NAME]") opens it (dlopen), checks the
 * descriptor and registers the allocator under NAME (default: ops->name);
 * from then on fk_allocator_find() finds it and fk_allocator_names() lists
 * it after the built-ins (in load order), exactly like a built-in, so every program that iterates over the allocators
 * (framekit_bench, framekit_stress, fk_fuzz_api: --allocator-lib) runs it
 * through the same paths. A plug-in stays loaded until the process exits.
 *
 * ABI: FK_ALLOCATOR_PLUGIN_ABI is bumped, and with it the symbol name,
 * whenever struct fk_allocator_ops, fk_alloc_stats, fk_alloc_params or a
 * callback's contract changes incompatibly. A plug-in built for another
 * version is refused with FK_PLUGIN_VERSION (its symbol has another
 * suffix, or its descriptor another version or ops size), never called.
 */

/** The plug-in ABI version this header describes. */
#define FK_ALLOCATOR_PLUGIN_ABI 1
/** The exported symbol a plug-in of this ABI version defines. */
#define FK_ALLOCATOR_PLUGIN_SYMBOL "fk_allocator_plugin_v1"
/** First word of every descriptor ("fkap"): catches a foreign symbol. */
#define FK_ALLOCATOR_PLUGIN_MAGIC 0x70616b66u

/** What a plug-in exports (write it with FK_ALLOCATOR_PLUGIN()). */
struct fk_allocator_plugin {
	uint32_t magic;       /**< FK_ALLOCATOR_PLUGIN_MAGIC */
	uint32_t abi_version; /**< FK_ALLOCATOR_PLUGIN_ABI the plug-in was built with */
	uint32_t ops_size;    /**< sizeof(struct fk_allocator_ops) it was built with */
	uint32_t reserved;    /**< 0 */
	const struct fk_allocator_ops *ops; /**< the allocator */
};

/** Defines the exported descriptor of a plug-in whose ops table is ops_. */
#define FK_ALLOCATOR_PLUGIN(ops_)                                                                  \
	extern __attribute__((visibility("default"))) const struct fk_allocator_plugin             \
	    fk_allocator_plugin_v1;                                                                \
	const struct fk_allocator_plugin fk_allocator_plugin_v1 = {                                \
	    FK_ALLOCATOR_PLUGIN_MAGIC, FK_ALLOCATOR_PLUGIN_ABI,                                    \
	    (uint32_t)sizeof(struct fk_allocator_ops), 0, &(ops_)}

/**
 * Why a load was refused: X(reason, value, returned code, text) each; the
 * text opens fk_plugin_error.text, which goes on with the path and detail.
 */
#define FK_PLUGIN_ERROR_LIST(X)                                                                    \
	X(FK_PLUGIN_OK, 0, 0, "loaded")                                                            \
	X(FK_PLUGIN_NO_FILE, 1, FK_ENOENT, "no such file")                                         \
	X(FK_PLUGIN_NOT_LOADABLE, 2, FK_EINVAL, "not a loadable shared library")                   \
	X(FK_PLUGIN_NO_SYMBOL, 3, FK_ENOENT,                                                       \
	  "not a framekit allocator plug-in (no " FK_ALLOCATOR_PLUGIN_SYMBOL ")")                 \
	X(FK_PLUGIN_VERSION, 4, FK_EINVAL, "built for another plug-in ABI version")                \
	X(FK_PLUGIN_BAD_OPS, 5, FK_EINVAL, "incomplete ops table")                                 \
	X(FK_PLUGIN_BAD_NAME, 6, FK_EINVAL, "bad allocator name")                                  \
	X(FK_PLUGIN_NAME_TAKEN, 7, FK_EEXIST, "an allocator of that name exists")                  \
	X(FK_PLUGIN_TOO_MANY, 8, FK_ENOMEM, "too many plug-ins loaded")

/** @cond FK_INTERNAL */
#define FK_PLUGIN_REASON_(reason, value, code, text) reason = value,
/** @endcond */
/** Reasons of FK_PLUGIN_ERROR_LIST. */
enum fk_plugin_reason { FK_PLUGIN_ERROR_LIST(FK_PLUGIN_REASON_) };

/** Most plug-ins one process may load. */
#define FK_PLUGIN_MAX 16

/** Filled by fk_allocator_load() (may be NULL there). */
struct fk_plugin_error {
	int reason;     /**< enum fk_plugin_reason */
	char text[512]; /**< one line: reason, path, detail (e.g. dlerror()) */
};

/**
 * Loads the plug-in at PATH (a file path; without a '/' it is taken
 * relative to the working directory, never searched for) and registers
 * its allocator under NAME, or ops->name without ":NAME". A name is 1..31
 * characters of [A-Za-z0-9_.+-], not "all", and unique among built-ins
 * and plug-ins (so one .so may be loaded twice under two names). Thread
 * safe; lookups may run concurrently.
 * @param spec "PATH" or "PATH:NAME" (split at the last ':' when no '/'
 *        follows it)
 * @param why  NULL, or where to put the reason and a one-line message
 * @return 0; FK_EINVAL (NULL or empty spec, or the reason's code of
 *         FK_PLUGIN_ERROR_LIST: not loadable, version, ops, name),
 *         FK_ENOENT (no file, no symbol), FK_EEXIST (name taken),
 *         FK_ENOMEM (FK_PLUGIN_MAX reached).
 */
int fk_allocator_load(const char *spec, struct fk_plugin_error *why);

/**
 * Registers a plug-in descriptor that is already in the process (linked
 * in, or found by the caller), with fk_allocator_load()'s checks and
 * codes; name NULL takes ops->name.
 */
int fk_allocator_register(const struct fk_allocator_plugin *plugin, const char *name,
                          struct fk_plugin_error *why);

/**
 * Where an allocator came from: the path its plug-in was loaded from,
 * "(registered)" for fk_allocator_register(), or NULL for a built-in or
 * an unknown name.
 */
const char *fk_allocator_origin(const char *name);

#ifdef __cplusplus
}
#endif

#endif /* FRAMEKIT_ALLOCATOR_H */
