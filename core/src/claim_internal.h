/* SPDX-License-Identifier: MIT */
/*
 * Claims and releases of frame ranges (claim.c). Layer: above the context
 * (a release gives frames back to its allocator inside a read section),
 * below frames, segments and the allocating constructors.
 */
#ifndef FK_CLAIM_INTERNAL_H
#define FK_CLAIM_INTERNAL_H

#include "mem_internal.h"

/* Claim + init + publish `state` (1 or UNIQUE; 0 = leave BUSY, unpublished);
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
 * alone): a plain store of BUSY and the metadata per frame, then one
 * release store of 1 per frame; no read-modify-write. All or nothing: on
 * failure (init's error, or FK_EBUSY for a frame that is not UNUSED: a
 * faulty allocator) the frames initialised so far are torn down (on_drop),
 * every word is UNUSED again (a faulty allocator's frame untouched), and
 * nothing is deallocated.
 */
int fk_claim_granted(struct fk_region *r, uint64_t start, uint64_t end,
                     const struct fk_meta_type *type, fk_meta_init_fn init, void *ctx);
/*
 * Release a run of frames whose counts reached 0 (the caller did the
 * decrements): on_drop, UNUSED, then one dealloc for the whole run.
 * [start, end) must lie in r.
 */
void fk_release_run(fk_mem *mem, struct fk_region *r, uint64_t start, uint64_t end);

#endif /* FK_CLAIM_INTERNAL_H */
