/*
 * fk_mem and fk_region internals: the RCU-protected region table, the
 * paddr -> slot lookup, and the handle check.
 *
 * Invariants:
 *  - a region in the published table has its slots allocated; a region is
 *    unpublished and its slots freed only after a grace period and only
 *    when none of its slots is referenced (fk_mem_remove_region);
 *  - a region descriptor (struct fk_region) is never freed before
 *    fk_mem_destroy: removal bumps its generation, waits a grace period,
 *    frees the slots and puts the descriptor on the context's free list for
 *    a later add. `mem` never changes. So a handle's `region` pointer can
 *    always be dereferenced for `mem` and `gen`, and every other field only
 *    after the generation matched inside a read section (fk_handle_begin).
 */
#ifndef FK_MEM_INTERNAL_H
#define FK_MEM_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <framekit/alloc.h>
#include <framekit/mem.h>

#include "lookup_internal.h"
#include "rcu_internal.h"
#include "slot_internal.h"

struct fk_region {
	/* Fixed for the descriptor's life. */
	fk_mem *mem;
	/*
	 * Generation: bumped by fk_mem_remove_region before the grace period
	 * that precedes freeing the slots; handles remember it.
	 */
	_Atomic uint64_t gen;
	struct fk_region *next_free; /* descriptor free list (hotplug_lock) */
	struct fk_region *next_all;  /* every descriptor of mem (hotplug_lock) */
	/* Written only while the descriptor is unpublished. */
	uint64_t base;
	uint64_t end; /* exclusive */
	uint64_t nframes;
	int node;
	unsigned flags;
	struct fk_meta_slot *slots;
	size_t slots_bytes;
	int slots_numa;         /* allocated with numa_alloc_onnode */
	_Atomic uint32_t *raw;  /* per-frame raw reference counts, NULL when off */
	unsigned char *backing; /* host memory for FK_REGION_BACKED */
	/* Set while fk_mem_remove_region decides; claims are refused. */
	_Atomic int offlining;
};

struct fk_region_table {
	size_t n;
	struct fk_region *r[]; /* sorted by base, non-overlapping */
};

struct fk_mem {
	_Atomic(struct fk_region_table *) table;
	/* Read sections and writers' waits: RCU or a rwlock (lookup_internal.h). */
	struct fk_lookup lk;
	/*
	 * Serialises add/remove (control path only). Held across grace periods,
	 * so no function callable inside a read section may take it.
	 */
	pthread_mutex_t hotplug_lock;
	struct fk_region *regions_all;  /* every descriptor, live or free */
	struct fk_region *regions_free; /* descriptors ready for reuse */
	/* Frame totals of the published table, written under hotplug_lock,
	 * read lock-free (relaxed: advisory, like any size query). */
	_Atomic uint64_t total_frames, managed_frames;
	unsigned nr_nodes;
	int raw_tracking;
	int refcount; /* FK_REFCOUNT_* */
	uint64_t ref_max;
	const struct fk_allocator_ops *ops;
	void *alloc;
	unsigned nr_cpus;
	int *cpu_node;
};

static inline int fk_region_managed(const struct fk_region *r)
{
	return !(r->flags & FK_REGION_UNMANAGED);
}

/*
 * May new frames be claimed in r? Not while a removal is deciding. Relaxed:
 * the remover sets the flag before a grace period, and RCU guarantees that
 * every read section it does not wait for observes the store.
 */
static inline int fk_region_claimable(const struct fk_region *r)
{
	return !atomic_load_explicit(&((struct fk_region *)r)->offlining, memory_order_relaxed);
}

/*
 * Begin an operation on a handle (region r, generation gen) in mem: FK_EINVAL
 * for an empty handle, a handle of another context or an unregistered
 * thread; FK_EUNUSED for a handle whose region was hot-removed since the
 * handle was made (its references are gone). On success the caller is in a
 * read section (end it with fk_read_unlock) in which r's slots stay
 * allocated.
 *
 * The generation load is relaxed: the remover bumps it before a grace
 * period, so a read section the grace period does not wait for sees the
 * bump (the RCU guarantee, as for fk_region_claimable), and one it waits
 * for finishes before the slots are freed.
 */
static inline int fk_handle_begin(const fk_mem *mem, const struct fk_region *r, uint64_t gen)
{
	if (!mem || !r || r->mem != mem || !fk_rcu_registered())
		return FK_EINVAL;
	fk_read_lock(&mem->lk);
	if (atomic_load_explicit(&((struct fk_region *)r)->gen, memory_order_relaxed) != gen) {
		fk_read_unlock(&mem->lk);
		return FK_EUNUSED;
	}
	return 0;
}

/* The generation to store in a new handle; caller holds the read lock and
 * found r published. Relaxed: see fk_handle_begin. */
static inline uint64_t fk_region_gen(const struct fk_region *r)
{
	return atomic_load_explicit(&((struct fk_region *)r)->gen, memory_order_relaxed);
}

static inline struct fk_meta_slot *fk_region_slot(const struct fk_region *r, uint64_t paddr)
{
	return &r->slots[(paddr - r->base) >> FK_PAGE_SHIFT];
}

static inline uint64_t fk_region_index(const struct fk_region *r, uint64_t paddr)
{
	return (paddr - r->base) >> FK_PAGE_SHIFT;
}

/*
 * Find the region holding [paddr, paddr + len). Caller holds the RCU read
 * lock. Alignment is checked first (as Asterinas' get_slot does).
 * Returns FK_ENOTALIGNED, FK_EOUTOFBOUND or 0.
 */
int fk_mem_lookup(fk_mem *mem, uint64_t paddr, uint64_t len, struct fk_region **out);

/*
 * Lookup for a direct claim (from_unused): the region must be unmanaged
 * (FK_EMANAGED otherwise) and not being removed (FK_EBUSY). Caller holds the
 * RCU read lock.
 */
int fk_mem_lookup_claimable(fk_mem *mem, uint64_t paddr, uint64_t len, struct fk_region **out);

/*
 * Release a run of frames whose counts reached 0 (the caller did the
 * decrements): on_drop, UNUSED, then one dealloc for the whole run.
 * [start, end) must lie in r.
 */
void fk_release_run(fk_mem *mem, struct fk_region *r, uint64_t start, uint64_t end);
/* Teardown of one frame at count 0 (on_drop), without the UNUSED store. */
void fk_slot_teardown(struct fk_region *r, struct fk_meta_slot *s, uint64_t paddr);

/* Claim + init + publish `state` (1 or UNIQUE; 0 = leave busy, unpublished);
 * on failure the slot is back to UNUSED. */
int fk_claim_frame(struct fk_region *r, uint64_t paddr, const struct fk_meta_type *type,
                   fk_meta_init_fn init, void *ctx, uint64_t state);
/*
 * Claim [start, end) all or nothing: every frame stays busy until all are
 * claimed, then all are published. On failure the frames claimed so far are
 * torn down (on_drop) and UNUSED again; nothing is deallocated.
 */
int fk_claim_range(struct fk_region *r, uint64_t start, uint64_t end,
                   const struct fk_meta_type *type, fk_meta_init_fn init, void *ctx);
/*
 * Claim [start, end) that the allocator has just handed out (so it is ours
 * alone): metadata first, with every word left UNUSED, then one release
 * store of 1 per frame; no read-modify-write. All or nothing: on failure
 * (init's error, or FK_EBUSY for a frame that is not UNUSED: a faulty
 * allocator) the frames initialised so far are torn down (on_drop), every
 * word is as before, and nothing is deallocated.
 */
int fk_claim_granted(struct fk_region *r, uint64_t start, uint64_t end,
                     const struct fk_meta_type *type, fk_meta_init_fn init, void *ctx);

#endif /* FK_MEM_INTERNAL_H */
