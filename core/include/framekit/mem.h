/*
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

typedef struct fk_mem fk_mem;
struct fk_region;
struct fk_allocator_ops;

#define FK_MAX_NODES 64

/* Region flags. */
enum {
	/*
	 * Unmanaged: the frames are never given to the allocator. They are
	 * claimed with fk_frame_from_unused / fk_segment_from_unused and, when
	 * their last reference drops, simply become UNUSED again (Asterinas'
	 * reserved and kernel ranges). Managed regions (the default) belong to
	 * the allocator: their frames are obtained with fk_alloc_* and returned
	 * to it by the last drop.
	 */
	FK_REGION_UNMANAGED = 1u << 0,
	/* Back the region with host memory so frames can be zeroed/accessed. */
	FK_REGION_BACKED = 1u << 1,
};

struct fk_region_config {
	uint64_t base;    /* paddr, FK_PAGE_SIZE aligned */
	uint64_t nframes; /* > 0 */
	int node;         /* logical NUMA node, < fk_mem_config.nr_nodes */
	unsigned flags;   /* FK_REGION_* */
};

struct fk_alloc_params {
	/* Lock for the buddy baselines: "ticket" (default), "mcs", "mutex". */
	const char *lock;
	/* buddy-pcp: per-CPU list high watermark and batch (0 = default). */
	unsigned pcp_high;
	unsigned pcp_batch;
	/* Number of per-CPU cache slots (0 = number of online CPUs). */
	unsigned nr_cpus;
};

struct fk_mem_config {
	const struct fk_region_config *regions; /* initial regions, may be NULL */
	size_t nr_regions;
	/*
	 * Logical NUMA nodes (0 = discover with libnuma). On a 1-node machine
	 * a value > 1 is a logical split: the frames are partitioned by the
	 * regions' node field and CPUs are spread round-robin over nodes.
	 */
	unsigned nr_nodes;
	/* Track raw (into_raw'd) references per frame; off = no checks. */
	int raw_tracking;
	/* Allocator name: "simple", "lockfree", "buddy-global", "buddy-pcp". NULL = "lockfree" if
	 * built, else "simple". */
	const char *allocator;
	/* Or a caller-supplied allocator (overrides `allocator`); see alloc.h. */
	const struct fk_allocator_ops *allocator_ops;
	struct fk_alloc_params alloc;
};

/* What fk_mem_destroy found still alive. */
struct fk_leak_report {
	uint64_t frames_referenced;  /* slots not UNUSED */
	uint64_t frames_raw;         /* slots with raw references left */
	uint64_t raw_refs;           /* sum of raw references */
	uint64_t first_leaked_paddr; /* UINT64_MAX if none */
};

int fk_mem_create(const struct fk_mem_config *cfg, fk_mem **out);
/*
 * Tear down. Fills *report (may be NULL) with what was still referenced or
 * raw; returns 0 when nothing leaked, FK_EBUSY when something did (the
 * context is destroyed either way). No thread may use mem concurrently.
 */
int fk_mem_destroy(fk_mem *mem, struct fk_leak_report *report);

/* Per-thread registration (RCU reader, allocator per-CPU state). Nests. */
int fk_thread_enter(fk_mem *mem);
void fk_thread_leave(fk_mem *mem);

/* Hot-plug. add: FK_EEXIST on overlap. remove: FK_EINUSE while any frame of
 * the region is referenced or held by the allocator's users, FK_ENOENT if no
 * region starts at base. Removal waits for an RCU grace period. */
int fk_mem_add_region(fk_mem *mem, const struct fk_region_config *rc);
int fk_mem_remove_region(fk_mem *mem, uint64_t base);

/* Leak scan without destroying (quiescent use only). */
void fk_mem_leak_report(fk_mem *mem, struct fk_leak_report *report);

unsigned fk_mem_nr_nodes(const fk_mem *mem);
int fk_mem_raw_tracking(const fk_mem *mem);
const char *fk_mem_allocator_name(const fk_mem *mem);
/* Logical node of the calling thread's CPU. */
int fk_mem_current_node(const fk_mem *mem);
/* Refcount of the frame at paddr (advisory), or a negative FK_E*. */
int fk_mem_refcount_at(fk_mem *mem, uint64_t paddr, uint64_t *rc);
/* Raw references recorded for the frame at paddr (0 when tracking is off). */
int fk_mem_raw_count_at(fk_mem *mem, uint64_t paddr, uint64_t *count);
/* Total frames in all regions, and in managed regions. */
uint64_t fk_mem_total_frames(fk_mem *mem);
uint64_t fk_mem_managed_frames(fk_mem *mem);

#ifdef __cplusplus
}
#endif

#endif /* FRAMEKIT_MEM_H */
