/* SPDX-License-Identifier: MIT */
/*
 * Regions: the physical ranges a context manages, their metadata slots and
 * the paddr -> region table, with hot-plug (region.c).
 *
 * Layer: above slots (slot_internal.h) and read sections
 * (lookup_internal.h), below the context (mem_internal.h), raw tracking,
 * frames and segments. Nothing here knows the context's refcount policy or
 * its allocating constructors; hot-plug talks to the allocator only through
 * its plug-in interface (add_free_memory / remove_free_memory).
 *
 * Invariants:
 *  - a region in the published table has its slots allocated; a region is
 *    unpublished and its slots freed only after a grace period and only
 *    when none of its slots is referenced (fk_regions_remove);
 *  - a region descriptor (struct fk_region) is never freed before
 *    fk_regions_destroy: removal bumps its generation, waits a grace
 *    period, frees the slots and puts the descriptor on the free list for a
 *    later add. `mem` never changes. So a handle's `region` pointer can
 *    always be dereferenced for `mem` and `gen`, and every other field only
 *    after the generation matched inside a read section (fk_handle_begin);
 *  - the table is copy-on-write: published with a release store, read with
 *    an acquire load inside a read section; an old table is freed after a
 *    grace period.
 */
#ifndef FK_REGION_INTERNAL_H
#define FK_REGION_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <framekit/alloc.h>
#include <framekit/mem.h>

#include "lookup_internal.h"
#include "slot_internal.h"

struct fk_region {
	/* Fixed for the descriptor's life. */
	fk_mem *mem;
	/*
	 * Generation: bumped by fk_regions_remove before the grace period
	 * that precedes freeing the slots; handles remember it.
	 */
	_Atomic uint64_t gen;
	struct fk_region *next_free; /* descriptor free list (hotplug_lock) */
	struct fk_region *next_all;  /* every descriptor (hotplug_lock) */
	/* Written only while the descriptor is unpublished. */
	uint64_t base;
	uint64_t end; /* exclusive */
	uint64_t nframes;
	int node;
	unsigned flags;
	struct fk_meta_slot *slots;
	size_t slots_bytes;
	int slots_numa;         /* allocated with numa_alloc_onnode */
	_Atomic uint64_t *raw;  /* per-frame raw words (raw_internal.h), NULL when off */
	unsigned char *backing; /* host memory for FK_REGION_BACKED */
	/* Set while fk_regions_remove decides; claims are refused. */
	_Atomic int offlining;
};

struct fk_region_table {
	size_t n;
	struct fk_region *r[]; /* sorted by base, non-overlapping */
};

/* A context's regions (fk_mem.regions). */
struct fk_regions {
	_Atomic(struct fk_region_table *) table;
	/* Read sections and writers' waits: RCU or a rwlock (lookup_internal.h). */
	struct fk_lookup lk;
	/*
	 * Serialises add/remove (control path only). Held across grace periods,
	 * so no function callable inside a read section may take it.
	 */
	pthread_mutex_t hotplug_lock;
	struct fk_region *all;  /* every descriptor, live or free */
	struct fk_region *free; /* descriptors ready for reuse */
	/* Frame totals of the published table, written under hotplug_lock,
	 * read lock-free (relaxed: advisory, like any size query). */
	_Atomic uint64_t total_frames, managed_frames;
	/* Fixed by fk_regions_init. */
	fk_mem *owner; /* stored in every descriptor, for the handle check */
	unsigned nr_nodes;
	int raw_tracking;
	const struct fk_allocator_ops *ops; /* the context's allocator */
	void *alloc;
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

/* The published table. Acquire pairs with the release publish in
 * region.c: a reader sees a fully built table and fully initialised
 * regions. Inside a read section (or under hotplug_lock). */
static inline struct fk_region_table *fk_regions_table(const struct fk_regions *rs)
{
	return atomic_load_explicit(&((struct fk_regions *)rs)->table, memory_order_acquire);
}

/* Nodes of the machine (libnuma), 1 without it. */
int fk_numa_real_nodes(void);

/* Set up an empty region set for owner (cannot fail); the allocator must
 * exist before the first add. */
void fk_regions_init(struct fk_regions *rs, fk_mem *owner, unsigned nr_nodes, int raw_tracking,
                     int lookup, const struct fk_allocator_ops *ops, void *alloc);
/* Free every descriptor and the table; nothing may use rs afterwards. */
void fk_regions_destroy(struct fk_regions *rs);

/*
 * Find the region holding [paddr, paddr + len). Caller is in a read
 * section. Alignment is checked first (as Asterinas' get_slot does).
 * Returns FK_ENOTALIGNED, FK_EOUTOFBOUND or 0.
 */
int fk_region_lookup(const struct fk_regions *rs, uint64_t paddr, uint64_t len,
                     struct fk_region **out);
/*
 * Lookup for a direct claim (from_unused): the region must be unmanaged
 * (FK_EMANAGED otherwise) and not being removed (FK_EBUSY). Caller is in a
 * read section.
 */
int fk_region_lookup_claimable(const struct fk_regions *rs, uint64_t paddr, uint64_t len,
                               struct fk_region **out);

/* Hot-plug (fk_mem_add_region / fk_mem_remove_region, mem.h); same errors. */
int fk_regions_add(struct fk_regions *rs, const struct fk_region_config *rc);
int fk_regions_remove(struct fk_regions *rs, uint64_t base);

#endif /* FK_REGION_INTERNAL_H */
