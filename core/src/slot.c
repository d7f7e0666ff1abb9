/*
 * Slot life cycle: claim (UNUSED -> 0 -> 1/UNIQUE) and teardown
 * (0 -> on_drop -> UNUSED -> allocator), shared by frames, segments and the
 * allocating constructors.
 */
#include <string.h>

#include "mem_internal.h"

const struct fk_meta_type fk_meta_untyped = {
    .name = "untyped",
    .size = 0,
    .on_drop = 0,
    .ctx = 0,
    .untyped = 1,
};

int fk_claim_frame(struct fk_region *r, uint64_t paddr, const struct fk_meta_type *type,
                   fk_meta_init_fn init, void *ctx, uint64_t state)
{
	struct fk_meta_slot *s = fk_region_slot(r, paddr);
	int err = fk_ref_claim(&s->refcount);
	if (err)
		return err;
	/* Exclusive: the count is 0 and we moved it there. */
	memset(s->storage, 0, sizeof(s->storage));
	fk_slot_set_type(s, type ? type : &fk_meta_untyped);
	if (init) {
		err = init(s->storage, paddr, ctx);
		if (err) {
			/* Not published: no on_drop, as for a failed Rust claim. */
			fk_slot_set_type(s, 0);
			fk_ref_release_unused(&s->refcount);
			return err < 0 ? err : FK_EINVAL;
		}
	}
	if (state)
		fk_ref_publish(&s->refcount, state);
	return 0;
}

void fk_slot_teardown(struct fk_region *r, struct fk_meta_slot *s, uint64_t paddr)
{
	const struct fk_meta_type *t = fk_slot_type(s);
	(void)r;
	if (t && t->on_drop)
		t->on_drop(s->storage, paddr, t->ctx);
	fk_slot_set_type(s, 0);
	/* Relaxed: only the owner of list membership writes it; we are the sole
	 * owner of this slot now (count 0). */
	atomic_store_explicit(&s->in_list, 0, memory_order_relaxed);
}

void fk_release_run(fk_mem *mem, struct fk_region *r, uint64_t start, uint64_t end)
{
	uint64_t p;
	/*
	 * The read section spans the UNUSED stores and the dealloc, so that a
	 * concurrent fk_mem_remove_region that saw these slots UNUSED waits
	 * (second grace period) until the allocator has the frames back.
	 */
	fk_rcu_read_lock();
	for (p = start; p < end; p += FK_PAGE_SIZE) {
		struct fk_meta_slot *s = fk_region_slot(r, p);
		fk_slot_teardown(r, s, p);
		fk_ref_release_unused(&s->refcount);
	}
	if (fk_region_managed(r))
		mem->ops->dealloc(mem->alloc, start, (end - start) >> FK_PAGE_SHIFT);
	fk_rcu_read_unlock();
}

int fk_claim_range(struct fk_region *r, uint64_t start, uint64_t end,
                   const struct fk_meta_type *type, fk_meta_init_fn init, void *ctx)
{
	uint64_t p;
	/*
	 * Phase 1: claim and initialise every frame, leaving each at count 0
	 * (busy). Nobody can take a reference to a busy frame (from_in_use
	 * reports FK_EBUSY), so a rollback tears down frames that are ours
	 * alone: a half-built segment is never observable.
	 */
	for (p = start; p < end; p += FK_PAGE_SIZE) {
		int err = fk_claim_frame(r, p, type, init, ctx, 0);
		if (err) {
			for (uint64_t q = start; q < p; q += FK_PAGE_SIZE) {
				struct fk_meta_slot *s = fk_region_slot(r, q);
				fk_slot_teardown(r, s, q);
				fk_ref_release_unused(&s->refcount);
			}
			return err;
		}
	}
	/* Phase 2: publish (release, see fk_ref_publish). */
	for (p = start; p < end; p += FK_PAGE_SIZE)
		fk_ref_publish(&fk_region_slot(r, p)->refcount, 1);
	return 0;
}
