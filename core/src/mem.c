/*
 * fk_mem: context creation and teardown, regions and hot-plug, the
 * RCU-protected paddr -> region lookup, thread registration, leak reports.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#ifdef FK_HAVE_LIBNUMA
#include <numa.h>
#endif

#include "alloc_internal.h"
#include "checked_internal.h"
#include "mem_internal.h"
#include "raw_internal.h"

/* ---- region table (published with release, read with acquire) ---- */

static struct fk_region_table *table_load(fk_mem *mem)
{
	/* Acquire pairs with the release in table_publish(): a reader sees a
	 * fully built table and fully initialised regions. */
	return atomic_load_explicit(&mem->table, memory_order_acquire);
}

static void table_publish(fk_mem *mem, struct fk_region_table *t)
{
#ifdef FK_CHECKED
	/* Region table inv: sorted, non-overlapping, non-empty regions. */
	for (size_t i = 0; t && i < t->n; i++) {
		fk_invariant(t->r[i]->base < t->r[i]->end, "region non-empty");
		fk_invariant(i == 0 || t->r[i - 1]->end <= t->r[i]->base,
		             "regions sorted and disjoint");
	}
#endif
	atomic_store_explicit(&mem->table, t, memory_order_release);
}

static struct fk_region_table *table_with(const struct fk_region_table *old, struct fk_region *add,
                                          const struct fk_region *del)
{
	size_t n = old ? old->n : 0, i, j = 0;
	struct fk_region_table *t = malloc(sizeof(*t) + (n + 1) * sizeof(t->r[0]));
	if (!t)
		return 0;
	for (i = 0; i < n; i++) {
		if (add && old->r[i]->base > add->base) {
			t->r[j++] = add;
			add = 0;
		}
		if (old->r[i] != del)
			t->r[j++] = old->r[i];
	}
	if (add)
		t->r[j++] = add;
	t->n = j;
	return t;
}

int fk_mem_lookup(fk_mem *mem, uint64_t paddr, uint64_t len, struct fk_region **out)
{
	if ((paddr | len) & (FK_PAGE_SIZE - 1))
		return FK_ENOTALIGNED;
	struct fk_region_table *t = table_load(mem);
	size_t lo = 0, hi = t ? t->n : 0;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		struct fk_region *r = t->r[mid];
		if (paddr < r->base) {
			hi = mid;
		} else if (paddr >= r->end) {
			lo = mid + 1;
		} else {
			if (len > r->end - paddr)
				return FK_EOUTOFBOUND;
			*out = r;
			return 0;
		}
	}
	return FK_EOUTOFBOUND;
}

int fk_mem_lookup_claimable(fk_mem *mem, uint64_t paddr, uint64_t len, struct fk_region **out)
{
	struct fk_region *r;
	int err = fk_mem_lookup(mem, paddr, len, &r);
	if (err)
		return err;
	if (fk_region_managed(r))
		return FK_EMANAGED;
	if (!fk_region_claimable(r))
		return FK_EBUSY;
	*out = r;
	return 0;
}

/* ---- regions ---- */

static void region_free(struct fk_region *r)
{
	if (!r)
		return;
#ifdef FK_HAVE_LIBNUMA
	if (r->slots_numa)
		numa_free(r->slots, r->slots_bytes);
	else
#endif
		free(r->slots);
	free((void *)r->raw);
	if (r->backing)
		munmap(r->backing, r->nframes << FK_PAGE_SHIFT);
	free(r);
}

static int real_nodes(void)
{
#ifdef FK_HAVE_LIBNUMA
	if (numa_available() >= 0)
		return numa_max_node() + 1;
#endif
	return 1;
}

/* Slots of a node's frames live on that node when the node is real. */
static struct fk_meta_slot *slots_alloc(fk_mem *mem, int node, size_t bytes, int *numa)
{
	*numa = 0;
#ifdef FK_HAVE_LIBNUMA
	if (numa_available() >= 0 && real_nodes() > 1) {
		int phys = node % real_nodes();
		void *p = numa_alloc_onnode(bytes, phys);
		if (p) {
			*numa = 1;
			return p;
		}
	}
#endif
	(void)mem;
	(void)node;
	return aligned_alloc(FK_META_SLOT_SIZE, bytes);
}

static int region_new(fk_mem *mem, const struct fk_region_config *rc, struct fk_region **out)
{
	if (!rc || rc->nframes == 0)
		return FK_EINVAL;
	if (rc->base & (FK_PAGE_SIZE - 1))
		return FK_ENOTALIGNED;
	if (rc->node < 0 || (unsigned)rc->node >= mem->nr_nodes)
		return FK_EINVAL;
	if (rc->flags & ~(unsigned)(FK_REGION_UNMANAGED | FK_REGION_BACKED))
		return FK_EINVAL;
	/* base + nframes pages must not wrap; keep one page of headroom so end
	 * fits in 64 bits. */
	if (rc->nframes > (UINT64_MAX >> FK_PAGE_SHIFT) ||
	    rc->base > UINT64_MAX - (rc->nframes << FK_PAGE_SHIFT))
		return FK_EOUTOFBOUND;
	if (rc->nframes > SIZE_MAX / sizeof(struct fk_meta_slot))
		return FK_ENOMEM;

	struct fk_region *r = calloc(1, sizeof(*r));
	if (!r)
		return FK_ENOMEM;
	r->base = rc->base;
	r->nframes = rc->nframes;
	r->end = rc->base + (rc->nframes << FK_PAGE_SHIFT);
	r->node = rc->node;
	r->flags = rc->flags;
	r->mem = mem;
	r->slots_bytes = (size_t)rc->nframes * sizeof(struct fk_meta_slot);
	r->slots = slots_alloc(mem, rc->node, r->slots_bytes, &r->slots_numa);
	if (!r->slots)
		goto nomem;
	for (uint64_t i = 0; i < rc->nframes; i++) {
		struct fk_meta_slot *s = &r->slots[i];
		memset(s->storage, 0, sizeof(s->storage));
		s->type = 0;
		atomic_init(&s->refcount, FK_REF_UNUSED);
		atomic_init(&s->in_list, 0);
	}
	if (mem->raw_tracking) {
		r->raw = calloc(rc->nframes, sizeof(r->raw[0]));
		if (!r->raw)
			goto nomem;
	}
	if (rc->flags & FK_REGION_BACKED) {
		void *p = mmap(0, rc->nframes << FK_PAGE_SHIFT, PROT_READ | PROT_WRITE,
		               MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (p == MAP_FAILED)
			goto nomem;
		r->backing = p;
	}
	*out = r;
	return 0;
nomem:
	region_free(r);
	return FK_ENOMEM;
}

static int overlaps(const struct fk_region_table *t, uint64_t base, uint64_t end)
{
	for (size_t i = 0; t && i < t->n; i++)
		if (base < t->r[i]->end && t->r[i]->base < end)
			return 1;
	return 0;
}

int fk_mem_add_region(fk_mem *mem, const struct fk_region_config *rc)
{
	struct fk_region *r;
	int err;
	if (!mem)
		return FK_EINVAL;
	/* A grace period cannot end inside our own read section. */
	if (fk_rcu_registered() && urcu_memb_read_ongoing())
		return FK_EBUSY;
	err = region_new(mem, rc, &r);
	if (err)
		return err;
	pthread_mutex_lock(&mem->hotplug_lock);
	struct fk_region_table *old = table_load(mem);
	if (overlaps(old, r->base, r->end)) {
		err = FK_EEXIST;
		goto fail;
	}
	struct fk_region_table *t = table_with(old, r, 0);
	if (!t) {
		err = FK_ENOMEM;
		goto fail;
	}
	table_publish(mem, t);
	/* Readers may still walk the old table; free it after a grace period. */
	fk_rcu_synchronize();
	free(old);
	if (fk_region_managed(r)) {
		err = mem->ops->add_free_memory(mem->alloc, r->base, r->nframes, r->node);
		if (err) {
			struct fk_region_table *t2 = table_with(t, 0, r);
			if (t2) {
				table_publish(mem, t2);
				fk_rcu_synchronize();
				free(t);
				pthread_mutex_unlock(&mem->hotplug_lock);
				region_free(r);
				return err;
			}
			/* Cannot unpublish without memory: keep the region, unmanaged. */
			r->flags |= FK_REGION_UNMANAGED;
		}
	}
	pthread_mutex_unlock(&mem->hotplug_lock);
	return err;
fail:
	pthread_mutex_unlock(&mem->hotplug_lock);
	region_free(r);
	return err;
}

static int region_idle(const struct fk_region *r)
{
	for (uint64_t i = 0; i < r->nframes; i++) {
		/* Acquire pairs with the release UNUSED store of the last dropper:
		 * its teardown is complete before we free the slots. */
		if (atomic_load_explicit(&r->slots[i].refcount, memory_order_acquire) !=
		    FK_REF_UNUSED)
			return 0;
		if (r->raw && atomic_load_explicit(&r->raw[i], memory_order_relaxed))
			return 0;
	}
	return 1;
}

int fk_mem_remove_region(fk_mem *mem, uint64_t base)
{
	struct fk_region *r = 0;
	int err = 0;
	if (!mem)
		return FK_EINVAL;
	/* A grace period cannot end inside our own read section. */
	if (fk_rcu_registered() && urcu_memb_read_ongoing())
		return FK_EBUSY;
	pthread_mutex_lock(&mem->hotplug_lock);
	struct fk_region_table *old = table_load(mem);
	for (size_t i = 0; old && i < old->n; i++)
		if (old->r[i]->base == base)
			r = old->r[i];
	if (!r) {
		pthread_mutex_unlock(&mem->hotplug_lock);
		return FK_ENOENT;
	}
	/*
	 * 1. Stop new claims (from_unused, allocate+claim) in the region, then
	 *    wait for claims in flight. The region stays published, so lookups
	 *    of frames in use keep working if the removal is refused.
	 *    Relaxed store: the grace period orders it before every read
	 *    section it does not wait for (see fk_region_claimable).
	 */
	atomic_store_explicit(&r->offlining, 1, memory_order_relaxed);
	fk_rcu_synchronize();
	/*
	 * 2. Any reference left? Handles need no lookup, so a referenced frame
	 *    shows as a count other than UNUSED; a slot seen UNUSED stays so,
	 *    because only a claim leaves UNUSED.
	 */
	if (!region_idle(r)) {
		atomic_store_explicit(&r->offlining, 0, memory_order_relaxed);
		pthread_mutex_unlock(&mem->hotplug_lock);
		return FK_EINUSE;
	}
	struct fk_region_table *t = table_with(old, 0, r);
	if (!t) {
		atomic_store_explicit(&r->offlining, 0, memory_order_relaxed);
		pthread_mutex_unlock(&mem->hotplug_lock);
		return FK_ENOMEM;
	}
	/*
	 * 3. Unpublish and wait: for lookups that found the region, and for
	 *    last droppers and refused allocations that give frames back to
	 *    the allocator inside a read section (fk_release_run,
	 *    fk_alloc_segment).
	 */
	table_publish(mem, t);
	fk_rcu_synchronize();
	/* 4. The allocator must hold every frame as free. */
	if (fk_region_managed(r)) {
		if (mem->ops->drain)
			mem->ops->drain(mem->alloc);
		err = mem->ops->remove_free_memory(mem->alloc, r->base, r->nframes);
		if (err) {
			table_publish(mem, old);
			fk_rcu_synchronize();
			free(t);
			atomic_store_explicit(&r->offlining, 0, memory_order_relaxed);
			pthread_mutex_unlock(&mem->hotplug_lock);
			return FK_EINUSE;
		}
	}
	free(old);
	pthread_mutex_unlock(&mem->hotplug_lock);
	region_free(r);
	return 0;
}

/* ---- context ---- */

static int *cpu_node_table(unsigned nr_cpus, unsigned nr_nodes)
{
	int *tab = calloc(nr_cpus, sizeof(int));
	if (!tab)
		return 0;
	int phys = real_nodes();
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
	unsigned nr_nodes = cfg->nr_nodes ? cfg->nr_nodes : (unsigned)real_nodes();
	if (nr_nodes > FK_MAX_NODES)
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
	pthread_mutex_init(&mem->hotplug_lock, 0);
	atomic_init(&mem->table, 0);
	mem->nr_nodes = nr_nodes;
	mem->raw_tracking = cfg->raw_tracking != 0;
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
	struct fk_region_table *t = mem ? table_load(mem) : 0;
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
	struct fk_region_table *t = table_load(mem);
	if (mem->ops)
		mem->ops->destroy(mem->alloc);
	for (size_t i = 0; t && i < t->n; i++)
		region_free(t->r[i]);
	free(t);
	free(mem->cpu_node);
	pthread_mutex_destroy(&mem->hotplug_lock);
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
	fk_rcu_read_lock();
	int err = fk_mem_lookup(mem, paddr, FK_PAGE_SIZE, &r);
	if (!err) {
		if (rc)
			*rc = fk_slot_refcount(fk_region_slot(r, paddr));
		if (raw)
			*raw = fk_raw_count(r, paddr);
	}
	fk_rcu_read_unlock();
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

static uint64_t frames_where(fk_mem *mem, int managed_only)
{
	uint64_t n = 0;
	if (!mem)
		return 0;
	pthread_mutex_lock(&mem->hotplug_lock);
	struct fk_region_table *t = table_load(mem);
	for (size_t i = 0; t && i < t->n; i++)
		if (!managed_only || fk_region_managed(t->r[i]))
			n += t->r[i]->nframes;
	pthread_mutex_unlock(&mem->hotplug_lock);
	return n;
}

uint64_t fk_mem_total_frames(fk_mem *mem)
{
	return frames_where(mem, 0);
}

uint64_t fk_mem_managed_frames(fk_mem *mem)
{
	return frames_where(mem, 1);
}
