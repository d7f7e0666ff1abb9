/* SPDX-License-Identifier: MIT */
/**
 * @file
 * Frame allocation: the allocating constructors and allocator statistics.
 * The allocator plug-in contract (struct fk_allocator_ops, FK_ALLOC_*
 * flags) is <framekit/allocator.h>, included here for compatibility.
 */
#ifndef FRAMEKIT_ALLOC_H
#define FRAMEKIT_ALLOC_H

#include <stddef.h>
#include <stdint.h>

#include <framekit/allocator.h>
#include <framekit/error.h>
#include <framekit/frame.h>
#include <framekit/mem.h>
#include <framekit/meta.h>
#include <framekit/segment.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Allocates nframes and claims them as a segment, with metadata from init.
 * @param mem     the context
 * @param nframes number of frames, > 0
 * @param type    metadata type of every frame, NULL for untyped
 * @param init    called once per frame before publication; may be NULL
 * @param ctx     passed to init
 * @param flags   FK_ALLOC_* and FK_ALLOC_NODE(n)
 * @param out     receives the segment
 * @return 0, or FK_EINVAL (nframes 0, or FK_ALLOC_ALIGNED beyond
 *         FK_MAX_ORDER), FK_ENOMEM, or init's error (frames returned to the
 *         allocator), or FK_EBUSY if the allocator handed out a range
 *         outside every published managed region or one being removed, or
 *         a frame that is not free (only a faulty allocator does; the
 *         range, less any frame in use, goes back to it).
 *
 * Placement without FK_ALLOC_ALIGNED (what each built-in allocator may
 * return, so which requests can fail although enough contiguous frames are
 * free):
 *  - "simple": any nframes contiguous free frames (first fit, page
 *    alignment only); fails only if no such run exists.
 *  - "buddy-global", "buddy-pcp": a request of up to 2^(FK_MAX_ORDER-1)
 *    frames is carved from a free block of order ceil(log2(nframes)), which
 *    is naturally aligned (the unused tail is freed again): a power-of-two
 *    request is always naturally aligned, and fails when no such aligned
 *    block is free even if an unaligned run is. Larger requests are first
 *    fit with page alignment only.
 *  - "lockfree": power-of-two requests up to 512 frames are naturally
 *    aligned; other requests of up to 32 frames may start at any frame but
 *    never cross a 32-frame boundary; 33 to 256 frames start on a 64-, 128-
 *    or 256-frame boundary; 257 to 512 frames and larger requests take
 *    whole 2 MiB-aligned 512-frame areas (only the aligned 2 MiB parts of a
 *    region serve them).
 *
 * So 512 frames from a free 512-frame region whose base is not 2 MiB
 * aligned succeed on "simple" and fail with FK_ENOMEM on the other three.
 * With FK_ALLOC_ALIGNED every allocator aligns the start to the next power
 * of two >= nframes.
 */
int fk_alloc_segment(fk_mem *mem, uint64_t nframes, const struct fk_meta_type *type,
                     fk_meta_init_fn init, void *ctx, unsigned flags, fk_segment *out);
/** Allocates one frame: fk_alloc_segment() with nframes 1, as a frame handle. */
int fk_alloc_frame(fk_mem *mem, const struct fk_meta_type *type, fk_meta_init_fn init, void *ctx,
                   unsigned flags, fk_frame *out);

/**
 * The allocator's statistics for node, or for all nodes when node < 0.
 * @return 0, or FK_EINVAL (NULL, or node >= fk_mem_nr_nodes()).
 */
int fk_mem_alloc_stats(fk_mem *mem, int node, struct fk_alloc_stats *out);
/** Flushes the allocator's per-CPU caches (before stats or region removal). */
void fk_mem_alloc_drain(fk_mem *mem);

#ifdef __cplusplus
}
#endif

#endif /* FRAMEKIT_ALLOC_H */
