/* SPDX-License-Identifier: MIT */
/*
 * Claims and releases of frame ranges, shared by frames, segments and the
 * allocating constructors:
 *  - claim by address (from_unused): UNUSED -> BUSY (CAS) -> metadata ->
 *    1/UNIQUE, all frames of a range busy until every one is claimed;
 *  - claim of allocator-granted frames (fk_claim_granted): a plain store of
 *    BUSY, metadata, then one release store of 1 each, no RMW;
 *  - release of frames whose last reference is gone: on_drop, UNUSED, one
 *    dealloc per contiguous run.
 */
#include "alloc_internal.h"
#include "claim_internal.h"
#include "invariant_internal.h"
#include "sched_fuzz_internal.h"

int fk_claim_frame(struct fk_region *r, uint64_t paddr, const struct fk_meta_type *type,
                   fk_meta_init_fn init, void *ctx, uint64_t state)
{
	struct fk_meta_slot *s = fk_region_slot(r, paddr);
	int err = fk_ref_claim(&s->refcount);
	if (err)
		return err;
	/* Exclusive: the word is BUSY and we moved it there. */
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
	FK_SCHED_POINT();
	if (fk_region_managed(r)) {
		/* Each frame's teardown is claimed once per life (its last
		 * reference, fk_ref_dec), so the run is the allocator's to take
		 * back; a refusal would be a double free by the core. */
		int err = fk_ops_dealloc(mem->ops, mem->alloc, start, (end - start) >> FK_PAGE_SHIFT);
		fk_invariant(err == 0, "the allocator takes back every run the core releases");
		(void)err;
	}
	FK_SCHED_POINT();
	fk_read_unlock(&mem->regions.lk);
}

int fk_claim_range(struct fk_region *r, uint64_t start, uint64_t end,
                   const struct fk_meta_type *type, fk_meta_init_fn init, void *ctx)
{
	uint64_t p;
	/*
	 * Phase 1: claim and initialise every frame, leaving each BUSY.
	 * Nobody can take a reference to a busy frame (from_in_use reports
	 * FK_EBUSY), so a rollback tears down frames that are ours alone: a
	 * half-built segment is never observable.
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
	 * Phase 1: the allocator handed these frames to us alone. Each word
	 * goes UNUSED -> BUSY by a plain store before its metadata is written
	 * (fk_ref_claim_granted), so from_in_use reports FK_EBUSY while the
	 * frame is built (init callbacks included), as frame.h promises;
	 * from_unused gets FK_EMANAGED (a managed region), from_raw
	 * FK_ENOTRAW. A rollback therefore tears down frames nobody else can
	 * see, and stores UNUSED back.
	 */
	for (p = start; p < end; p += FK_PAGE_SIZE, s++) {
		FK_SCHED_POINT();
		/* FK_EBUSY: a faulty allocator handed out a frame in use. */
		err = fk_ref_claim_granted(&s->refcount);
		if (err)
			break;
		err = fk_slot_init_meta(s, p, type, init, ctx);
		if (err) {
			fk_ref_release_unused(&s->refcount);
			break;
		}
	}
	if (err) {
		for (uint64_t q = start; q < p; q += FK_PAGE_SIZE) {
			struct fk_meta_slot *t = fk_region_slot(r, q);
			fk_slot_teardown(t, q);
			fk_ref_release_unused(&t->refcount);
		}
		return err;
	}
	/*
	 * Phase 2: publish, one release store per frame (fk_ref_publish),
	 * last frame first: phase 1 just wrote those slots, so a long range
	 * is published while its lines are still in the cache (in order, its
	 * first lines would have been evicted by its last). Frames are
	 * independent; only "all of them, after phase 1" matters.
	 */
	FK_SCHED_POINT();
	while (s > first)
		fk_ref_publish(&(--s)->refcount, 1);
	FK_SCHED_POINT();
	return 0;
}
