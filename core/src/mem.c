/* SPDX-License-Identifier: MIT */
/*
 * fk_mem: the context. Creation and teardown (allocator, then regions),
 * thread registration, hot-plug entry points (the mechanics are in
 * region.c), leak reports and queries.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef FK_HAVE_LIBNUMA
#include <numa.h>
#endif

#include "alloc_internal.h"
#include "mem_internal.h"
#include "raw_internal.h"

/* ---- hot-plug ---- */

int fk_mem_add_region(fk_mem *mem, const struct fk_region_config *rc)
{
	return mem ? fk_regions_add(&mem->regions, rc) : FK_EINVAL;
}

int fk_mem_remove_region(fk_mem *mem, uint64_t base)
{
	return mem ? fk_regions_remove(&mem->regions, base) : FK_EINVAL;
}

/* ---- context ---- */

static int *cpu_node_table(unsigned nr_cpus, unsigned nr_nodes)
{
	int *tab = calloc(nr_cpus, sizeof(int));
	if (!tab)
		return 0;
	int phys = fk_numa_real_nodes();
	for (unsigned c = 0; c < nr_cpus; c++) {
		int n = (int)(c % nr_nodes);
#ifdef FK_HAVE_LIBNUMA
		/* Real topology when the node count matches the machine. */
		if (phys > 1 && (unsigned)phys == nr_nodes) {
			int m = numa_node_of_cpu((int)c);
			if (m >= 0)
				n = m;
		}
#endif
		tab[c] = n;
	}
	(void)phys;
	return tab;
}

static const struct fk_allocator_ops *default_allocator(void)
{
	const struct fk_allocator_ops *ops = fk_allocator_find("lockfree");
	return ops ? ops : fk_allocator_find("simple");
}

int fk_mem_create(const struct fk_mem_config *cfg, fk_mem **out)
{
	int err;
	if (!cfg || !out)
		return FK_EINVAL;
	if (cfg->nr_regions && !cfg->regions)
		return FK_EINVAL;
	unsigned nr_nodes = cfg->nr_nodes ? cfg->nr_nodes : (unsigned)fk_numa_real_nodes();
	if (nr_nodes > FK_MAX_NODES)
		return FK_EINVAL;
	if (cfg->refcount != FK_REFCOUNT_FAST && cfg->refcount != FK_REFCOUNT_CHECKED)
		return FK_EINVAL;
	if (cfg->lookup != FK_LOOKUP_RCU && cfg->lookup != FK_LOOKUP_RWLOCK)
		return FK_EINVAL;
	const struct fk_allocator_ops *ops = cfg->allocator_ops;
	if (!ops)
		ops = cfg->allocator ? fk_allocator_find(cfg->allocator) : default_allocator();
	if (!ops)
		return FK_ENOENT;
	if (!ops->create || !ops->destroy || !ops->alloc || !ops->dealloc ||
	    !ops->add_free_memory || !ops->remove_free_memory || !ops->stats)
		return FK_EINVAL;

	fk_mem *mem = calloc(1, sizeof(*mem));
	if (!mem)
		return FK_ENOMEM;
	mem->nr_nodes = nr_nodes;
	mem->raw_tracking = cfg->raw_tracking != 0;
	mem->refcount = cfg->refcount;
	mem->ref_max = FK_REF_MAX;
	mem->ops = ops;
	long ncpu = sysconf(_SC_NPROCESSORS_CONF);
	mem->nr_cpus = cfg->alloc.nr_cpus ? cfg->alloc.nr_cpus : (unsigned)(ncpu > 0 ? ncpu : 1);
	mem->cpu_node = cpu_node_table(mem->nr_cpus, nr_nodes);
	if (!mem->cpu_node) {
		err = FK_ENOMEM;
		goto fail;
	}
	err = ops->create(&cfg->alloc, nr_nodes, mem->cpu_node, mem->nr_cpus, &mem->alloc);
	if (err) {
		mem->ops = 0;
		goto fail;
	}
	fk_regions_init(&mem->regions, mem, nr_nodes, mem->raw_tracking, cfg->lookup, ops,
	                mem->alloc);
	mem->regions_ready = 1;
	for (size_t i = 0; i < cfg->nr_regions; i++) {
		err = fk_mem_add_region(mem, &cfg->regions[i]);
		if (err)
			goto fail;
	}
	*out = mem;
	return 0;
fail:
	fk_mem_destroy(mem, 0);
	return err;
}

void fk_mem_leak_report(fk_mem *mem, struct fk_leak_report *rep)
{
	struct fk_leak_report z = {0, 0, 0, UINT64_MAX};
	/* A registered caller scans inside a read section, so a concurrent
	 * removal cannot free the table or slots under it (the counts are
	 * still only a snapshot). */
	int locked = mem && mem->regions_ready && fk_rcu_registered();
	if (locked)
		fk_read_lock(&mem->regions.lk);
	struct fk_region_table *t =
	    mem && mem->regions_ready ? fk_regions_table(&mem->regions) : 0;
	for (size_t i = 0; t && i < t->n; i++) {
		struct fk_region *r = t->r[i];
		for (uint64_t k = 0; k < r->nframes; k++) {
			uint64_t pa = r->base + (k << FK_PAGE_SHIFT);
			int leaked = 0;
			if (fk_slot_refcount(&r->slots[k]) != FK_REF_UNUSED) {
				z.frames_referenced++;
				leaked = 1;
			}
			uint64_t raw = fk_raw_count(r, pa);
			if (raw) {
				z.frames_raw++;
				z.raw_refs += raw;
				leaked = 1;
			}
			if (leaked && z.first_leaked_paddr == UINT64_MAX)
				z.first_leaked_paddr = pa;
		}
	}
	if (locked)
		fk_read_unlock(&mem->regions.lk);
	if (rep)
		*rep = z;
}

int fk_mem_destroy(fk_mem *mem, struct fk_leak_report *report)
{
	struct fk_leak_report rep;
	if (!mem)
		return FK_EINVAL;
	fk_mem_leak_report(mem, &rep);
	if (report)
		*report = rep;
	if (mem->ops)
		mem->ops->destroy(mem->alloc);
	if (mem->regions_ready)
		fk_regions_destroy(&mem->regions);
	free(mem->cpu_node);
	free(mem);
	return (rep.frames_referenced || rep.frames_raw) ? FK_EBUSY : 0;
}

int fk_thread_enter(fk_mem *mem)
{
	if (!mem)
		return FK_EINVAL;
	fk_rcu_thread_enter();
	return 0;
}

void fk_thread_leave(fk_mem *mem)
{
	if (mem)
		fk_rcu_thread_leave();
}

/* ---- queries ---- */

unsigned fk_mem_nr_nodes(const fk_mem *mem)
{
	return mem ? mem->nr_nodes : 0;
}

int fk_mem_raw_tracking(const fk_mem *mem)
{
	return mem ? mem->raw_tracking : 0;
}

int fk_mem_refcount_policy(const fk_mem *mem)
{
	return mem ? mem->refcount : FK_EINVAL;
}

int fk_mem_lookup_mode(const fk_mem *mem)
{
	return mem ? mem->regions.lk.mode : FK_EINVAL;
}

const char *fk_mem_allocator_name(const fk_mem *mem)
{
	return mem ? mem->ops->name : 0;
}

int fk_mem_current_node(const fk_mem *mem)
{
	if (!mem)
		return FK_EINVAL;
	return mem->cpu_node[fk_cpu_current(mem->nr_cpus)];
}

static int slot_query(fk_mem *mem, uint64_t paddr, uint64_t *rc, uint64_t *raw)
{
	struct fk_region *r;
	if (!mem || !fk_rcu_registered())
		return FK_EINVAL;
	fk_read_lock(&mem->regions.lk);
	int err = fk_region_lookup(&mem->regions, paddr, FK_PAGE_SIZE, &r);
	if (!err) {
		if (rc)
			*rc = fk_slot_refcount(fk_region_slot(r, paddr));
		if (raw)
			*raw = fk_raw_count(r, paddr);
	}
	fk_read_unlock(&mem->regions.lk);
	return err;
}

int fk_mem_refcount_at(fk_mem *mem, uint64_t paddr, uint64_t *rc)
{
	if (!rc)
		return FK_EINVAL;
	return slot_query(mem, paddr, rc, 0);
}

int fk_mem_raw_count_at(fk_mem *mem, uint64_t paddr, uint64_t *count)
{
	if (!count)
		return FK_EINVAL;
	return slot_query(mem, paddr, 0, count);
}

/* Lock-free (callable from callbacks and read sections): the counters are
 * updated under hotplug_lock as regions are published and unpublished. */
uint64_t fk_mem_total_frames(fk_mem *mem)
{
	/* Relaxed: see frames_account. */
	return mem ? atomic_load_explicit(&mem->regions.total_frames, memory_order_relaxed) : 0;
}

uint64_t fk_mem_managed_frames(fk_mem *mem)
{
	/* Relaxed: see frames_account. */
	return mem ? atomic_load_explicit(&mem->regions.managed_frames, memory_order_relaxed) : 0;
}
