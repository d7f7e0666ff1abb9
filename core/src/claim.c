/*
 * Claims and releases of frame ranges, shared by frames, segments and the
 * allocating constructors:
 *  - claim by address (from_unused): UNUSED -> 0 (CAS) -> metadata -> 1/UNIQUE,
 *    all frames of a range busy until every one is claimed;
 *  - claim of allocator-granted frames (fk_claim_granted): metadata while
 *    the words stay UNUSED, then one release store of 1 each, no RMW;
 *  - release of frames whose last reference is gone: on_drop, UNUSED, one
 *    dealloc per contiguous run.
 */
#include "alloc_internal.h"
#include "claim_internal.h"

int fk_claim_frame(struct fk_region *r, uint64_t paddr, const struct fk_meta_type *type,
                   fk_meta_init_fn init, void *ctx, uint64_t state)
{
	struct fk_meta_slot *s = fk_region_slot(r, paddr);
	int err = fk_ref_claim(&s->refcount);
	if (err)
		return err;
	/* Exclusive: the count is 0 and we moved it there. */
	err = fk_slot_init_meta(s, paddr, type, init, ctx);
	if (err) {
		fk_ref_release_unused(&s->refcount);
		return err;
	}
	if (state)
		fk_ref_publish(&s->refcount, state);
	return 0;
}

void fk_release_run(fk_mem *mem, struct fk_region *r, uint64_t start, uint64_t end)
{
	/*
	 * The read section spans the UNUSED stores and the dealloc, so that a
	 * concurrent fk_mem_remove_region that saw these slots UNUSED waits
	 * (second grace period) until the allocator has the frames back.
	 * Last frame first: the caller's decrements just walked the run
	 * forward, so a long run's last lines are the ones still in the cache
	 * (in order, its first lines would have been evicted by its last).
	 */
	fk_read_lock(&mem->regions.lk);
	struct fk_meta_slot *s = fk_region_slot(r, end);
	for (uint64_t p = end; p > start;) {
		p -= FK_PAGE_SIZE;
		s--;
		fk_slot_teardown(s, p);
		fk_ref_release_unused(&s->refcount);
	}
	if (fk_region_managed(r))
		fk_ops_dealloc(mem->ops, mem->alloc, start, (end - start) >> FK_PAGE_SHIFT);
	fk_read_unlock(&mem->regions.lk);
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
				fk_slot_teardown(s, q);
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

int fk_claim_granted(struct fk_region *r, uint64_t start, uint64_t end,
                     const struct fk_meta_type *type, fk_meta_init_fn init, void *ctx)
{
	struct fk_meta_slot *const first = fk_region_slot(r, start);
	struct fk_meta_slot *s = first;
	uint64_t p;
	int err = 0;
	/*
	 * Phase 1: the allocator handed these frames to us alone, and their
	 * words stay UNUSED, so nobody can take a reference meanwhile:
	 * from_in_use reports FK_EUNUSED, from_unused FK_EMANAGED (a managed
	 * region), from_raw FK_ENOTRAW. A rollback therefore tears down
	 * frames nobody else can see, and leaves every word untouched.
	 */
	for (p = start; p < end; p += FK_PAGE_SIZE, s++) {
		if (fk_ref_class(fk_ref_read_granted(&s->refcount)) != FK_REF_C_UNUSED) {
			/* A faulty allocator handed out a frame in use (or a frame
			 * a stale handle is stepping on, see refcount_internal.h). */
			err = FK_EBUSY;
			break;
		}
		err = fk_slot_init_meta(s, p, type, init, ctx);
		if (err)
			break;
	}
	if (err) {
		for (uint64_t q = start; q < p; q += FK_PAGE_SIZE)
			fk_slot_teardown(fk_region_slot(r, q), q);
		return err;
	}
	/*
	 * Phase 2: publish, one release store per frame (fk_ref_publish),
	 * last frame first: phase 1 just wrote those slots, so a long range
	 * is published while its lines are still in the cache (in order, its
	 * first lines would have been evicted by its last). Frames are
	 * independent; only "all of them, after phase 1" matters.
	 */
	while (s > first)
		fk_ref_publish(&(--s)->refcount, 1);
	return 0;
}
