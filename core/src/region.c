/*
 * Regions and the region table: descriptors and their slots, the
 * copy-on-write paddr -> region table, lookups, and hot-plug (add, and the
 * withdraw-first removal of COORD contract 1). See region_internal.h for
 * the invariants; the context (mem.c) owns one struct fk_regions.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#ifdef FK_HAVE_LIBNUMA
#include <numa.h>
#endif

#include "alloc_internal.h"
#include "invariant_internal.h"
#include "region_internal.h"

/* ---- region table (published with release, read with acquire) ---- */

/* Release pairs with the acquire load in fk_regions_table(). */
static void table_publish(struct fk_regions *rs, struct fk_region_table *t)
{
#ifdef FK_CHECKED
	/* Region table inv: sorted, non-overlapping, non-empty regions. */
	for (size_t i = 0; t && i < t->n; i++) {
		fk_invariant(t->r[i]->base < t->r[i]->end, "region non-empty");
		fk_invariant(i == 0 || t->r[i - 1]->end <= t->r[i]->base,
		             "regions sorted and disjoint");
	}
#endif
	atomic_store_explicit(&rs->table, t, memory_order_release);
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

int fk_region_lookup(const struct fk_regions *rs, uint64_t paddr, uint64_t len,
                     struct fk_region **out)
{
	if ((paddr | len) & (FK_PAGE_SIZE - 1))
		return FK_ENOTALIGNED;
	struct fk_region_table *t = fk_regions_table(rs);
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

int fk_region_lookup_claimable(const struct fk_regions *rs, uint64_t paddr, uint64_t len,
                               struct fk_region **out)
{
	struct fk_region *r;
	int err = fk_region_lookup(rs, paddr, len, &r);
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
 * Descriptor life: taken from the free list (or allocated) by add, filled
 * while unpublished, published; removal bumps the generation, unpublishes,
 * waits a grace period, frees the slots and puts the descriptor back on the
 * free list. Only fk_regions_destroy frees descriptors. All under hotplug_lock.
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

static struct fk_region *region_desc_get(struct fk_regions *rs)
{
	struct fk_region *r = rs->free;
	if (r) {
		rs->free = r->next_free;
		return r;
	}
	r = calloc(1, sizeof(*r));
	if (!r)
		return 0;
	r->mem = rs->owner;
	atomic_init(&r->gen, 0);
	r->next_all = rs->all;
	rs->all = r;
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
static void region_desc_put(struct fk_regions *rs, struct fk_region *r)
{
	region_free_resources(r);
	r->next_free = rs->free;
	rs->free = r;
}

int fk_numa_real_nodes(void)
{
#ifdef FK_HAVE_LIBNUMA
	if (numa_available() >= 0)
		return numa_max_node() + 1;
#endif
	return 1;
}

/* Slots of a node's frames live on that node when the node is real. */
static struct fk_meta_slot *slots_alloc(int node, size_t bytes, int *numa)
{
	*numa = 0;
#ifdef FK_HAVE_LIBNUMA
	if (numa_available() >= 0 && fk_numa_real_nodes() > 1) {
		int phys = node % fk_numa_real_nodes();
		void *p = numa_alloc_onnode(bytes, phys);
		if (p) {
			*numa = 1;
			return p;
		}
	}
#endif
	(void)node;
	return aligned_alloc(FK_META_SLOT_SIZE, bytes);
}

static int region_config_check(const struct fk_regions *rs, const struct fk_region_config *rc)
{
	if (!rc || rc->nframes == 0)
		return FK_EINVAL;
	if (rc->base & (FK_PAGE_SIZE - 1))
		return FK_ENOTALIGNED;
	if (rc->node < 0 || (unsigned)rc->node >= rs->nr_nodes)
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
static int region_fill(struct fk_regions *rs, struct fk_region *r,
                       const struct fk_region_config *rc)
{
	r->base = rc->base;
	r->nframes = rc->nframes;
	r->end = rc->base + (rc->nframes << FK_PAGE_SHIFT);
	r->node = rc->node;
	r->flags = rc->flags;
	atomic_store_explicit(&r->offlining, 0, memory_order_relaxed); /* unpublished */
	r->slots_bytes = (size_t)rc->nframes * sizeof(struct fk_meta_slot);
	r->slots = slots_alloc(rc->node, r->slots_bytes, &r->slots_numa);
	if (!r->slots)
		goto nomem;
	for (uint64_t i = 0; i < rc->nframes; i++) {
		struct fk_meta_slot *s = &r->slots[i];
		memset(s->storage, 0, sizeof(s->storage));
		atomic_init(&s->type, 0);
		fk_ref_init(&s->refcount);
		atomic_init(&s->in_list, 0);
	}
	if (rs->raw_tracking) {
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
static void frames_account(struct fk_regions *rs, const struct fk_region *r, int sign)
{
	uint64_t n = r->nframes * (uint64_t)(int64_t)sign;
	/* Relaxed: advisory counters, no data hangs on them. */
	atomic_fetch_add_explicit(&rs->total_frames, n, memory_order_relaxed);
	if (fk_region_managed(r))
		atomic_fetch_add_explicit(&rs->managed_frames, n, memory_order_relaxed);
}

int fk_regions_add(struct fk_regions *rs, const struct fk_region_config *rc)
{
	struct fk_region *r;
	int err;
	/* A grace period cannot end inside our own read section. */
	if (fk_read_ongoing())
		return FK_EBUSY;
	err = region_config_check(rs, rc);
	if (err)
		return err;
	pthread_mutex_lock(&rs->hotplug_lock);
	struct fk_region_table *old = fk_regions_table(rs), *t = 0;
	if (overlaps(old, rc->base, rc->base + (rc->nframes << FK_PAGE_SHIFT))) {
		pthread_mutex_unlock(&rs->hotplug_lock);
		return FK_EEXIST;
	}
	r = region_desc_get(rs);
	if (!r) {
		pthread_mutex_unlock(&rs->hotplug_lock);
		return FK_ENOMEM;
	}
	err = region_fill(rs, r, rc);
	if (!err) {
		t = table_with(old, r, 0);
		if (!t)
			err = FK_ENOMEM;
	}
	if (err) {
		region_desc_put(rs, r); /* never published */
		pthread_mutex_unlock(&rs->hotplug_lock);
		return err;
	}
	table_publish(rs, t);
	if (fk_region_managed(r)) {
		/* The allocator hands the frames out only from here on, so every
		 * allocation that gets one finds the region published. */
		err = fk_ops_add_free(rs->ops, rs->alloc, r->base, r->nframes, r->node);
		if (err) {
			/* Nobody can hold a frame of it: unpublish (old is still
			 * allocated), then free after a grace period. */
			region_retire(r);
			table_publish(rs, old);
			fk_read_synchronize(&rs->lk);
			free(t);
			region_desc_put(rs, r);
			pthread_mutex_unlock(&rs->hotplug_lock);
			return err;
		}
	}
	frames_account(rs, r, 1);
	/* Readers may still walk the old table; free it after a grace period. */
	fk_read_synchronize(&rs->lk);
	free(old);
	pthread_mutex_unlock(&rs->hotplug_lock);
	return 0;
}

static int region_idle(const struct fk_region *r)
{
	for (uint64_t i = 0; i < r->nframes; i++) {
		/* Acquire (see fk_ref_is_unused_acquire): the last dropper's
		 * teardown is complete before we free the slots. */
		if (!fk_ref_is_unused_acquire(&r->slots[i].refcount))
			return 0;
		/* Low 32 bits: the raw count (raw_internal.h). */
		if (r->raw && (uint32_t)atomic_load_explicit(&r->raw[i], memory_order_relaxed))
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
int fk_regions_remove(struct fk_regions *rs, uint64_t base)
{
	struct fk_region *r = 0;
	int err = 0;
	/* A grace period cannot end inside our own read section. */
	if (fk_read_ongoing())
		return FK_EBUSY;
	pthread_mutex_lock(&rs->hotplug_lock);
	struct fk_region_table *old = fk_regions_table(rs);
	for (size_t i = 0; old && i < old->n; i++)
		if (old->r[i]->base == base)
			r = old->r[i];
	if (!r) {
		pthread_mutex_unlock(&rs->hotplug_lock);
		return FK_ENOENT;
	}
	/* 1. Handles need no lookup, so a referenced frame shows as a count
	 *    other than UNUSED (or a raw count). */
	if (!region_idle(r)) {
		pthread_mutex_unlock(&rs->hotplug_lock);
		return FK_EINUSE;
	}
	struct fk_region_table *t = table_with(old, 0, r);
	if (!t) {
		pthread_mutex_unlock(&rs->hotplug_lock);
		return FK_ENOMEM;
	}
	/* 2. Withdraw. FK_EBUSY: a frame is allocated (perhaps being claimed
	 *    or given back right now). */
	if (fk_region_managed(r)) {
		err = fk_ops_remove_free(rs->ops, rs->alloc, r->base, r->nframes);
		if (err) {
			free(t);
			pthread_mutex_unlock(&rs->hotplug_lock);
			return err == FK_EBUSY ? FK_EINUSE : err;
		}
	}
	/*
	 * 3. Relaxed store: the grace period orders it before every read
	 *    section it does not wait for (see fk_region_claimable).
	 */
	atomic_store_explicit(&r->offlining, 1, memory_order_relaxed);
	fk_read_synchronize(&rs->lk);
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
			err = fk_ops_add_free(rs->ops, rs->alloc, r->base, r->nframes, r->node);
		free(t);
		pthread_mutex_unlock(&rs->hotplug_lock);
		return err ? err : FK_EINUSE;
	}
	/*
	 * 5. Unpublish and wait: for lookups that found the region, for handle
	 *    operations that saw the old generation, and for last droppers
	 *    that give frames back inside a read section (fk_release_run).
	 */
	region_retire(r);
	table_publish(rs, t);
	frames_account(rs, r, -1);
	fk_read_synchronize(&rs->lk);
	free(old);
	region_desc_put(rs, r);
	pthread_mutex_unlock(&rs->hotplug_lock);
	return 0;
}

/* ---- set up and tear down ---- */

void fk_regions_init(struct fk_regions *rs, fk_mem *owner, unsigned nr_nodes, int raw_tracking,
                     int lookup, const struct fk_allocator_ops *ops, void *alloc)
{
	memset(rs, 0, sizeof(*rs));
	atomic_init(&rs->table, 0);
	rs->lk.mode = lookup;
	pthread_rwlock_init(&rs->lk.lock, 0);
	pthread_mutex_init(&rs->hotplug_lock, 0);
	atomic_init(&rs->total_frames, 0);
	atomic_init(&rs->managed_frames, 0);
	rs->owner = owner;
	rs->nr_nodes = nr_nodes;
	rs->raw_tracking = raw_tracking;
	rs->ops = ops;
	rs->alloc = alloc;
}

void fk_regions_destroy(struct fk_regions *rs)
{
	/* Every descriptor, published or free; free ones hold no resources. */
	for (struct fk_region *r = rs->all, *next; r; r = next) {
		next = r->next_all;
		region_free_resources(r);
		free(r);
	}
	free(fk_regions_table(rs));
	pthread_mutex_destroy(&rs->hotplug_lock);
	pthread_rwlock_destroy(&rs->lk.lock);
}
