/* SPDX-License-Identifier: MIT */
/**
 * @file
 * fk_mem: one simulated physical memory with its regions, metadata slots,
 * raw-reference tracking and frame allocator.
 *
 * Several contexts may live in one process. Regions can be added and removed
 * at run time; paddr -> slot lookups are RCU-protected (liburcu memb), so
 * every thread that calls into a context must be registered with
 * fk_thread_enter() first and call fk_thread_leave() when done.
 */
#ifndef FRAMEKIT_MEM_H
#define FRAMEKIT_MEM_H

#include <stddef.h>
#include <stdint.h>

#include <framekit/error.h>
#include <framekit/meta.h>

#ifdef __cplusplus
extern "C" {
#endif

/** A context: regions, their metadata slots and an allocator (opaque). */
typedef struct fk_mem fk_mem;
struct fk_region;
struct fk_allocator_ops;

/** Largest number of logical NUMA nodes (fk_mem_config.nr_nodes). */
#define FK_MAX_NODES 64

/** Region flags (fk_region_config.flags). */
enum {
	/**
	 * Unmanaged: the frames are never given to the allocator. They are
	 * claimed with fk_frame_from_unused / fk_segment_from_unused and, when
	 * their last reference drops, simply become UNUSED again (Asterinas'
	 * reserved and kernel ranges). Managed regions (the default) belong to
	 * the allocator: their frames are obtained with fk_alloc_* and returned
	 * to it by the last drop.
	 */
	FK_REGION_UNMANAGED = 1u << 0,
	/** Back the region with host memory so frames can be zeroed and accessed. */
	FK_REGION_BACKED = 1u << 1,
};

/** One region of simulated physical memory. */
struct fk_region_config {
	uint64_t base;    /**< physical address, FK_PAGE_SIZE aligned */
	uint64_t nframes; /**< number of frames, > 0 */
	int node;         /**< logical NUMA node, < fk_mem_config.nr_nodes */
	unsigned flags;   /**< FK_REGION_* */
};

/** Tuning of the built-in allocators (zero = defaults). */
struct fk_alloc_params {
	/** Lock for the buddy baselines: "ticket" (default), "mcs", "mutex". */
	const char *lock;
	unsigned pcp_high;  /**< buddy-pcp: per-CPU list high watermark (0 = default) */
	unsigned pcp_batch; /**< buddy-pcp: per-CPU list batch (0 = default) */
	/** Number of per-CPU cache slots (0 = number of configured CPUs). */
	unsigned nr_cpus;
};

/**
 * Refcount policy of a context (fk_mem_config.refcount): how holders add
 * and drop references (clone, slice, drop); from_in_use is a CAS under
 * both. README "Concurrency design" lists what each detects.
 */
enum {
	/** fetch_add / fetch_sub, checked after the fact (Asterinas, Linux).
	 *  A stale handle of a frame that is not shared gets an error and
	 *  never changes what a correct handle sees, never runs on_drop twice
	 *  nor frees twice; like Linux's refcount_t it may leak that frame. */
	FK_REFCOUNT_FAST = 0,
	/** CAS loops that move only from a shared count: a stale handle of a
	 *  frame that is not shared is always reported and the count never
	 *  moves for it (nothing leaks). */
	FK_REFCOUNT_CHECKED = 1,
};

/**
 * Lookup mode of a context (fk_mem_config.lookup): what protects the
 * paddr -> region table against hot-remove. Same semantics in both (a
 * removal waits for every reader that may have found the region).
 */
enum {
	/** RCU read sections (liburcu memb): readers share nothing. */
	FK_LOOKUP_RCU = 0,
	/** A reader-writer lock around every lookup: the lock-based baseline. */
	FK_LOOKUP_RWLOCK = 1,
};

/** What fk_mem_create() builds. */
struct fk_mem_config {
	const struct fk_region_config *regions; /**< initial regions, may be NULL */
	size_t nr_regions;                      /**< entries in regions */
	/**
	 * Logical NUMA nodes (0 = discover with libnuma). On a 1-node machine
	 * a value > 1 is a logical split: the frames are partitioned by the
	 * regions' node field and CPUs are spread round-robin over nodes.
	 */
	unsigned nr_nodes;
	/** Track raw (into_raw'd) references per frame; 0 = no checks. */
	int raw_tracking;
	/** FK_REFCOUNT_FAST (0, the default) or FK_REFCOUNT_CHECKED; else FK_EINVAL. */
	int refcount;
	/** FK_LOOKUP_RCU (0, the default) or FK_LOOKUP_RWLOCK; else FK_EINVAL. */
	int lookup;
	/**
	 * Allocator name: "simple", "lockfree", "buddy-global", "buddy-pcp".
	 * NULL = "lockfree" if built, else "simple".
	 */
	const char *allocator;
	/** Or a caller-supplied allocator (overrides `allocator`); see allocator.h. */
	const struct fk_allocator_ops *allocator_ops;
	struct fk_alloc_params alloc; /**< tuning of the built-in allocators */
};

/** What fk_mem_destroy() or fk_mem_leak_report() found still alive. */
struct fk_leak_report {
	uint64_t frames_referenced;  /**< slots not UNUSED */
	uint64_t frames_raw;         /**< slots with raw references left */
	uint64_t raw_refs;           /**< sum of raw references */
	uint64_t first_leaked_paddr; /**< UINT64_MAX if none */
};

/**
 * Creates a context with cfg's regions and allocator.
 * @param cfg regions, nodes, allocator; read only during the call
 * @param out receives the context
 * @return 0, or FK_EINVAL (bad config, or an allocator_ops missing a
 *         required callback), FK_ENOENT (no allocator of that name),
 *         FK_ENOMEM, or any error of fk_mem_add_region() for a region.
 */
int fk_mem_create(const struct fk_mem_config *cfg, fk_mem **out);
/**
 * Tears the context down. No thread may use mem concurrently.
 * @param mem    the context; freed
 * @param report filled with what was still referenced or raw; may be NULL
 * @return 0 when nothing leaked, FK_EBUSY when something did (the context
 *         is destroyed either way).
 */
int fk_mem_destroy(fk_mem *mem, struct fk_leak_report *report);

/**
 * Registers the calling thread (RCU reader, allocator per-CPU state); call
 * before any other function on mem from this thread. Nests.
 * @return 0, or FK_EINVAL for NULL.
 */
int fk_thread_enter(fk_mem *mem);
/** Undoes one fk_thread_enter() of the calling thread. */
void fk_thread_leave(fk_mem *mem);

/**
 * Hot-adds a region; its frames go to the allocator unless it is
 * FK_REGION_UNMANAGED. Waits for an RCU grace period, so it must not be
 * called from inside a callback.
 * @return 0, or FK_EINVAL, FK_ENOTALIGNED (bad config), FK_EEXIST (overlap),
 *         FK_EBUSY (called inside a read section, e.g. from a callback),
 *         FK_ENOMEM, or the allocator's error.
 */
int fk_mem_add_region(fk_mem *mem, const struct fk_region_config *rc);
/**
 * Hot-removes the region that starts at base, only if none of its frames
 * is referenced, raw or allocated; lookups of other regions are never
 * disturbed. Waits for RCU grace periods.
 *
 * The allocator is asked first: fk_allocator_ops.remove_free_memory
 * withdraws the frames atomically or refuses, and a region with a frame
 * held is refused before the allocator is even asked. So a removal attempt
 * never makes an allocation fail, and allocations never get frames of a
 * region being removed: they are served from the other regions. Then
 * direct claims (from_unused) are stopped, the region is checked idle once
 * more (its frames go back to the allocator if not), unpublished, and its
 * slots freed after a grace period. Handles into it (stale copies) are
 * then refused with FK_EUNUSED, also after a region is added again at the
 * same base. Region descriptors are reused, so add/remove cycles never
 * exhaust anything in the core.
 * @return 0, or FK_ENOENT (no region starts at base), FK_EINUSE (a frame is
 *         in use; nothing changed), FK_EBUSY (called inside a read section,
 *         e.g. from a callback), FK_ENOMEM.
 */
int fk_mem_remove_region(fk_mem *mem, uint64_t base);

/**
 * Leak scan without destroying: a snapshot, exact only when no thread
 * changes references concurrently. From a registered thread it scans
 * inside a read section, so it is safe beside hot-plug and from callbacks.
 */
void fk_mem_leak_report(fk_mem *mem, struct fk_leak_report *report);

/** Number of logical NUMA nodes. */
unsigned fk_mem_nr_nodes(const fk_mem *mem);
/** Whether raw references are tracked (fk_mem_config.raw_tracking). */
int fk_mem_raw_tracking(const fk_mem *mem);
/** The context's FK_REFCOUNT_* policy, or FK_EINVAL for NULL. */
int fk_mem_refcount_policy(const fk_mem *mem);
/** The context's FK_LOOKUP_* mode, or FK_EINVAL for NULL. */
int fk_mem_lookup_mode(const fk_mem *mem);
/** Name of the context's allocator. */
const char *fk_mem_allocator_name(const fk_mem *mem);
/** Logical node of the calling thread's CPU. */
int fk_mem_current_node(const fk_mem *mem);
/**
 * Refcount of the frame at paddr (advisory: it may change at once).
 * @return 0, or a negative FK_E* (FK_ENOTALIGNED, FK_EOUTOFBOUND, FK_EINVAL).
 */
int fk_mem_refcount_at(fk_mem *mem, uint64_t paddr, uint64_t *rc);
/**
 * Raw references recorded for the frame at paddr (0 when tracking is off).
 * @return 0, or a negative FK_E* (FK_ENOTALIGNED, FK_EOUTOFBOUND, FK_EINVAL).
 */
int fk_mem_raw_count_at(fk_mem *mem, uint64_t paddr, uint64_t *count);
/**
 * Total frames in all regions. Lock-free (a counter updated as regions are
 * added and removed), so callable from callbacks and beside hot-plug.
 */
uint64_t fk_mem_total_frames(fk_mem *mem);
/** Frames in managed regions (those the allocator owns); lock-free. */
uint64_t fk_mem_managed_frames(fk_mem *mem);

/**
 * @page fk_callbacks What init and on_drop callbacks may call
 *
 * A metadata init function (fk_meta_init_fn) and a type's on_drop run
 * inside an RCU read section of the calling thread, with the frame busy
 * (refcount FK_REF_BUSY). They may call every query of mem.h (fk_mem_total_frames,
 * fk_mem_managed_frames, fk_mem_nr_nodes, fk_mem_raw_tracking,
 * fk_mem_allocator_name, fk_mem_current_node, fk_mem_refcount_at,
 * fk_mem_raw_count_at, fk_mem_leak_report), fk_mem_alloc_stats,
 * fk_allocator_find, fk_allocator_names, fk_strerror, fk_strerror_name,
 * and the frame, segment and allocation functions on *other* frames: none
 * of them blocks on a lock that a grace-period waiter holds (the hot-plug
 * lock is taken only by fk_mem_add_region and fk_mem_remove_region, which
 * return FK_EBUSY inside a read section: a grace period cannot end inside
 * the caller's own read section). They must not call fk_mem_destroy or
 * fk_thread_leave. tests/test_core_callbacks.c calls every query from both
 * callbacks while another thread hot-plugs.
 */

#ifdef __cplusplus
}
#endif

#endif /* FRAMEKIT_MEM_H */
