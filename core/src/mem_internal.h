/* SPDX-License-Identifier: MIT */
/*
 * The context (struct fk_mem): what fk_mem_create builds. It owns the
 * regions (region_internal.h), the allocator instance and the per-context
 * policies, and checks handles against itself (fk_handle_begin).
 *
 * Layer: above regions; frames, segments, raw tracking's users, claims and
 * the allocating constructors sit above it.
 */
#ifndef FK_MEM_INTERNAL_H
#define FK_MEM_INTERNAL_H

#include <stdint.h>

#include <framekit/alloc.h>
#include <framekit/mem.h>

#include "region_internal.h"

struct fk_mem {
	struct fk_regions regions; /* valid once regions_ready */
	int regions_ready;
	unsigned nr_nodes;
	int raw_tracking;
	int refcount; /* FK_REFCOUNT_* */
	uint64_t ref_max;
	const struct fk_allocator_ops *ops;
	void *alloc;
	unsigned nr_cpus;
	int *cpu_node;
};

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
	fk_read_lock(&mem->regions.lk);
	if (atomic_load_explicit(&((struct fk_region *)r)->gen, memory_order_relaxed) != gen) {
		fk_read_unlock(&mem->regions.lk);
		return FK_EUNUSED;
	}
	return 0;
}

#endif /* FK_MEM_INTERNAL_H */
