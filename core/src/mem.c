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

/*
 * Descriptor life: taken from mem's free list (or allocated) by add, filled
 * while unpublished, published; removal bumps the generation, unpublishes,
 * waits a grace period, frees the slots and puts the descriptor back on the
 * free list. Only fk_mem_destroy frees descriptors. All under hotplug_lock.
 */
static void region_free_resources(struct fk_region *r)
{
#ifdef FK_HAVE_LIBNUMA
	if (r->slots_numa)
		numa_free(r->slots, r->slots_bytes);
	else
#endif
		free(r->slots);
	free((void *)r->raw);
	if (r->backing)
		munmap(r->backing, r->nframes << FK_PAGE_SHIFT);
	r->slots = 0;
	r->raw = 0;
	r->backing = 0;
}

static struct fk_region *region_desc_get(fk_mem *mem)
{
	struct fk_region *r = mem->regions_free;
	if (r) {
		mem->regions_free = r->next_free;
		return r;
	}
	r = calloc(1, sizeof(*r));
	if (!r)
		return 0;
	r->mem = mem;
	atomic_init(&r->gen, 0);
	r->next_all = mem->regions_all;
	mem->regions_all = r;
	return r;
}

/*
 * Retire a descriptor that is (or was) published: bump the generation so
 * every handle into it is refused from now on. The caller unpublishes and
 * waits a grace period before region_desc_put.
 * Relaxed: see fk_handle_begin (the grace period that follows orders it).
 */
static void region_retire(struct fk_region *r)
{
	atomic_fetch_add_explicit(&r->gen, 1, memory_order_relaxed);
}

/* Back on the free list, resources freed; a grace period has passed since
 * it was last published (or it never was). */
static void region_desc_put(fk_mem *mem, struct fk_region *r)
{
	region_free_resources(r);
	r->next_free = mem->regions_free;
	mem->regions_free = r;
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

static int region_config_check(const fk_mem *mem, const struct fk_region_config *rc)
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
	return 0;
}

/* Fill an unpublished descriptor for rc. On failure its resources are freed. */
static int region_fill(fk_mem *mem, struct fk_region *r, const struct fk_region_config *rc)
{
	r->base = rc->base;
	r->nframes = rc->nframes;
	r->end = rc->base + (rc->nframes << FK_PAGE_SHIFT);
	r->node = rc->node;
	r->flags = rc->flags;
	atomic_store_explicit(&r->offlining, 0, memory_order_relaxed); /* unpublished */
	r->slots_bytes = (size_t)rc->nframes * sizeof(struct fk_meta_slot);
	r->slots = slots_alloc(mem, rc->node, r->slots_bytes, &r->slots_numa);
	if (!r->slots)
		goto nomem;
	for (uint64_t i = 0; i < rc->nframes; i++) {
		struct fk_meta_slot *s = &r->slots[i];
		memset(s->storage, 0, sizeof(s->storage));
		atomic_init(&s->type, 0);
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
	return 0;
nomem:
	region_free_resources(r);
	return FK_ENOMEM;
}

static int overlaps(const struct fk_region_table *t, uint64_t base, uint64_t end)
{
	for (size_t i = 0; t && i < t->n; i++)
		if (base < t->r[i]->end && t->r[i]->base < end)
			return 1;
	return 0;
}

/* The lock-free size counters (fk_mem_total_frames); under hotplug_lock. */
static void frames_account(fk_mem *mem, const struct fk_region *r, int sign)
{
	uint64_t n = r->nframes * (uint64_t)(int64_t)sign;
	/* Relaxed: advisory counters, no data hangs on them. */
	atomic_fetch_add_explicit(&mem->total_frames, n, memory_order_relaxed);
	if (fk_region_managed(r))
		atomic_fetch_add_explicit(&mem->managed_frames, n, memory_order_relaxed);
}

int fk_mem_add_region(fk_mem *mem, const struct fk_region_config *rc)
{
	struct fk_region *r;
	int err;
	if (!mem)
		return FK_EINVAL;
	/* A grace period cannot end inside our own read section. */
	if (fk_read_ongoing())
		return FK_EBUSY;
	err = region_config_check(mem, rc);
	if (err)
		return err;
	pthread_mutex_lock(&mem->hotplug_lock);
	struct fk_region_table *old = table_load(mem), *t = 0;
	if (overlaps(old, rc->base, rc->base + (rc->nframes << FK_PAGE_SHIFT))) {
		pthread_mutex_unlock(&mem->hotplug_lock);
		return FK_EEXIST;
	}
	r = region_desc_get(mem);
	if (!r) {
		pthread_mutex_unlock(&mem->hotplug_lock);
		return FK_ENOMEM;
	}
	err = region_fill(mem, r, rc);
	if (!err) {
		t = table_with(old, r, 0);
		if (!t)
			err = FK_ENOMEM;
	}
	if (err) {
		region_desc_put(mem, r); /* never published */
		pthread_mutex_unlock(&mem->hotplug_lock);
		return err;
	}
	table_publish(mem, t);
	if (fk_region_managed(r)) {
		/* The allocator hands the frames out only from here on, so every
		 * allocation that gets one finds the region published. */
		err = mem->ops->add_free_memory(mem->alloc, r->base, r->nframes, r->node);
		if (err) {
			/* Nobody can hold a frame of it: unpublish (old is still
			 * allocated), then free after a grace period. */
			region_retire(r);
			table_publish(mem, old);
			fk_read_synchronize(&mem->lk);
			free(t);
			region_desc_put(mem, r);
			pthread_mutex_unlock(&mem->hotplug_lock);
			return err;
		}
	}
	frames_account(mem, r, 1);
	/* Readers may still walk the old table; free it after a grace period. */
	fk_read_synchronize(&mem->lk);
	free(old);
	pthread_mutex_unlock(&mem->hotplug_lock);
	return 0;
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

/*
 * Removal (COORD contract 1): the allocator agrees first, so an attempt
 * that is refused never disturbs allocation.
 *  1. quick idle check (racy, no side effect): a region with a frame held
 *     is refused without touching the allocator;
 *  2. withdraw the frames from the allocator (remove_free_memory): it
 *     succeeds only if every frame is free there, and from then on the
 *     allocator never hands them out;
 *  3. stop direct claims (offlining, for unmanaged regions' from_unused)
 *     and wait a grace period for claims in flight;
 *  4. idle check again; if a frame is referenced, undo 3 and 2;
 *  5. retire (generation bump), unpublish, grace period, free the slots.
 */
int fk_mem_remove_region(fk_mem *mem, uint64_t base)
{
	struct fk_region *r = 0;
	int err = 0;
	if (!mem)
		return FK_EINVAL;
	/* A grace period cannot end inside our own read section. */
	if (fk_read_ongoing())
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
	/* 1. Handles need no lookup, so a referenced frame shows as a count
	 *    other than UNUSED (or a raw count). */
	if (!region_idle(r)) {
		pthread_mutex_unlock(&mem->hotplug_lock);
		return FK_EINUSE;
	}
	struct fk_region_table *t = table_with(old, 0, r);
	if (!t) {
		pthread_mutex_unlock(&mem->hotplug_lock);
		return FK_ENOMEM;
	}
	/* 2. Withdraw. FK_EBUSY: a frame is allocated (perhaps being claimed
	 *    or given back right now). */
	if (fk_region_managed(r)) {
		err = mem->ops->remove_free_memory(mem->alloc, r->base, r->nframes);
		if (err) {
			free(t);
			pthread_mutex_unlock(&mem->hotplug_lock);
			return err == FK_EBUSY ? FK_EINUSE : err;
		}
	}
	/*
	 * 3. Relaxed store: the grace period orders it before every read
	 *    section it does not wait for (see fk_region_claimable).
	 */
	atomic_store_explicit(&r->offlining, 1, memory_order_relaxed);
	fk_read_synchronize(&mem->lk);
	/*
	 * 4. A slot seen UNUSED now stays so: only a claim leaves UNUSED, and
	 *    no claim can start (the allocator no longer hands the frames out;
	 *    from_unused sees offlining). For a managed region this cannot
	 *    fail with a correct allocator: a frame free in the allocator is
	 *    UNUSED (the core stores UNUSED before dealloc).
	 */
	if (!region_idle(r)) {
		/* Undo in reverse: claimable again before the allocator may hand
		 * the frames out (the allocator's own synchronisation orders the
		 * store before any allocation that returns them). */
		atomic_store_explicit(&r->offlining, 0, memory_order_relaxed);
		if (fk_region_managed(r))
			err = mem->ops->add_free_memory(mem->alloc, r->base, r->nframes, r->node);
		free(t);
		pthread_mutex_unlock(&mem->hotplug_lock);
		return err ? err : FK_EINUSE;
	}
	/*
	 * 5. Unpublish and wait: for lookups that found the region, for handle
	 *    operations that saw the old generation, and for last droppers
	 *    that give frames back inside a read section (fk_release_run).
	 */
	region_retire(r);
	table_publish(mem, t);
	frames_account(mem, r, -1);
	fk_read_synchronize(&mem->lk);
	free(old);
	region_desc_put(mem, r);
	pthread_mutex_unlock(&mem->hotplug_lock);
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
	pthread_mutex_init(&mem->hotplug_lock, 0);
	mem->lk.mode = cfg->lookup;
	pthread_rwlock_init(&mem->lk.lock, 0);
	atomic_init(&mem->table, 0);
	atomic_init(&mem->total_frames, 0);
	atomic_init(&mem->managed_frames, 0);
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
	int locked = mem && fk_rcu_registered();
	if (locked)
		fk_read_lock(&mem->lk);
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
	if (locked)
		fk_read_unlock(&mem->lk);
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
	/* Every descriptor, published or free; free ones hold no resources. */
	for (struct fk_region *r = mem->regions_all, *next; r; r = next) {
		next = r->next_all;
		region_free_resources(r);
		free(r);
	}
	free(t);
	free(mem->cpu_node);
	pthread_mutex_destroy(&mem->hotplug_lock);
	pthread_rwlock_destroy(&mem->lk.lock);
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
	return mem ? mem->lk.mode : FK_EINVAL;
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
	fk_read_lock(&mem->lk);
	int err = fk_mem_lookup(mem, paddr, FK_PAGE_SIZE, &r);
	if (!err) {
		if (rc)
			*rc = fk_slot_refcount(fk_region_slot(r, paddr));
		if (raw)
			*raw = fk_raw_count(r, paddr);
	}
	fk_read_unlock(&mem->lk);
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
	return mem ? atomic_load_explicit(&mem->total_frames, memory_order_relaxed) : 0;
}

uint64_t fk_mem_managed_frames(fk_mem *mem)
{
	/* Relaxed: see frames_account. */
	return mem ? atomic_load_explicit(&mem->managed_frames, memory_order_relaxed) : 0;
}
