/* SPDX-License-Identifier: MIT */
/**
 * @file
 * Segments: a handle to a contiguous run of frames [start, end) that owns
 * one reference on each of its frames (Asterinas Segment<M>).
 *
 * `type` is the metadata type every frame shares, or NULL for a type-erased
 * segment (Segment<dyn AnyFrameMeta>). Consuming functions clear the input
 * handle. A segment never spans two regions. Offsets and sizes are in bytes,
 * multiples of FK_PAGE_SIZE.
 *
 * Errors every function here may return besides those listed with it:
 * FK_EINVAL for a NULL argument, an empty (consumed) handle, a handle of
 * another context, or a calling thread not registered with
 * fk_thread_enter(); FK_EUNUSED for a handle into a region that has been
 * removed since (detected without touching freed memory, also after a
 * region was added again there), and from clone, slice, drop and (with raw
 * tracking) into_raw for a stale copy whose frames were already released.
 * The same codes in every build; nothing changes on error (frame.h says
 * what stays undetectable). An empty segment (start == end, e.g. drained by
 * fk_segment_next) holds nothing and may be dropped after its region is
 * gone.
 */
#ifndef FRAMEKIT_SEGMENT_H
#define FRAMEKIT_SEGMENT_H

#include <stdint.h>

#include <framekit/error.h>
#include <framekit/frame.h>
#include <framekit/mem.h>
#include <framekit/meta.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * A segment handle. Treat the fields as opaque: `region` is NULL for an
 * empty (consumed) handle; `gen` is the region descriptor's generation when
 * the handle was made (see fk_frame).
 */
typedef struct fk_segment {
	struct fk_region *region;        /**< NULL = empty handle */
	uint64_t start;                  /**< first byte (physical, page aligned) */
	uint64_t end;                    /**< one past the last byte */
	const struct fk_meta_type *type; /**< shared metadata type, NULL = erased */
	uint64_t gen;                    /**< region generation the handle belongs to */
} fk_segment;

/**
 * Claims every frame of [start, end) in an unmanaged region, or none: on any
 * failure the frames claimed so far are released (on_drop runs for them) and
 * the error of the failing frame is returned. No frame is visible to
 * fk_frame_from_in_use() before all are claimed.
 * @param mem   the context
 * @param start first byte (physical, page aligned)
 * @param end   one past the last byte (page aligned)
 * @param type  metadata type of every frame, NULL for untyped
 * @param init  called once per frame before publication; may be NULL
 * @param ctx   passed to init
 * @param out   receives the segment
 * @return 0, or FK_ENOTALIGNED, FK_EOUTOFBOUND, FK_EINVAL (empty range or
 *         type too large), FK_EMANAGED, FK_EINUSE, FK_EBUSY, FK_EUNIQUE,
 *         init's error.
 */
int fk_segment_from_unused(fk_mem *mem, uint64_t start, uint64_t end,
                           const struct fk_meta_type *type, fk_meta_init_fn init, void *ctx,
                           fk_segment *out);
/**
 * Splits at byte offset (0 < offset < size, page aligned) into [start,
 * start+offset) and [start+offset, end). No refcount changes. Consumes seg
 * (left or right may alias seg).
 * @return 0, or FK_ENOTALIGNED, FK_EINVAL (offset 0 or at or past the end).
 */
int fk_segment_split(fk_mem *mem, fk_segment *seg, uint64_t offset, fk_segment *left,
                     fk_segment *right);
/**
 * A new segment over byte offsets [from, to) of seg, +1 on each of its
 * frames; seg is unchanged. Bounds are checked before any addition. Empty
 * slices are allowed.
 * @return 0, or FK_ENOTALIGNED, FK_EINVAL (from > to or to > size),
 *         FK_EOVERFLOW (counts rolled back).
 */
int fk_segment_slice(fk_mem *mem, const fk_segment *seg, uint64_t from, uint64_t to,
                     fk_segment *out);
/**
 * Moves the first frame's reference into *out and advances start by one
 * page (Rust's Iterator::next). O(1), no atomics, no read section: a
 * stale segment yields stale frames, refused when they are used.
 * @return 1 when a frame was produced, 0 when seg is empty, or a negative
 *         FK_E*.
 */
int fk_segment_next(fk_mem *mem, fk_segment *seg, fk_frame *out);
/**
 * Forgets seg (clears it); its references become raw, recorded per frame
 * when the context tracks raw references.
 * @param mem   the context
 * @param seg   the segment to forget
 * @param start receives the first byte, for fk_segment_from_raw()
 * @param end   receives one past the last byte
 * @return 0, or (raw tracking on) FK_EUNUSED / FK_EBUSY / FK_EUNIQUE if a
 *         frame is not shared (a stale copy); nothing recorded.
 */
int fk_segment_into_raw(fk_mem *mem, fk_segment *seg, uint64_t *start, uint64_t *end);
/**
 * Rebuilds a segment from raw references made by fk_segment_into_raw()
 * (any page-aligned sub-range of them).
 * @param mem   the context
 * @param start first byte of the range
 * @param end   one past its last byte
 * @param type  NULL for an erased segment; otherwise the frames' type must
 *              be `type`
 * @param out   receives the segment
 * @return 0, or FK_ENOTALIGNED, FK_EOUTOFBOUND, FK_EINVAL (empty range),
 *         FK_ETYPE (any frame not of `type`), FK_ENOTRAW if any frame of
 *         the range is not shared or holds no raw reference.
 *
 * A call that fails changes nothing, not even transiently: every frame is
 * checked (shared, type, raw reference present) before any raw reference
 * is consumed, so a rejected call (a forged or partly raw range) never
 * makes a concurrent legitimate from_raw of an overlapping frame fail. The
 * one exception is itself a misuse: two callers consuming the same raw
 * reference at once, where the loser rolls back its partial consumption.
 * No metadata is trusted before the references are held: the type is read
 * atomically for the pre-check and checked again after consuming (raw
 * references given back, FK_ETYPE, on a mismatch).
 */
int fk_segment_from_raw(fk_mem *mem, uint64_t start, uint64_t end, const struct fk_meta_type *type,
                        fk_segment *out);
/**
 * Another segment over the same frames, +1 on every frame.
 * @return 0, or FK_EOVERFLOW (counts rolled back).
 */
int fk_segment_clone(fk_mem *mem, const fk_segment *seg, fk_segment *out);
/**
 * Releases every reference and clears seg. Contiguous runs of frames whose
 * count reaches zero go back to the allocator as ranges.
 * @return 0, or the first error (a frame already released, as
 *         fk_frame_drop()) after releasing the rest.
 */
int fk_segment_drop(fk_mem *mem, fk_segment *seg);
/** A one-frame segment from a frame handle (consumes f). */
int fk_segment_from_frame(fk_mem *mem, fk_frame *f, fk_segment *out);

/** Physical address of the first frame (0 for NULL). */
uint64_t fk_segment_start_paddr(const fk_segment *seg);
/** One past the last byte (0 for NULL). */
uint64_t fk_segment_end_paddr(const fk_segment *seg);
/** Size in bytes (0 for NULL or an empty handle). */
uint64_t fk_segment_size(const fk_segment *seg);
/** Number of frames (0 for NULL or an empty handle). */
uint64_t fk_segment_nframes(const fk_segment *seg);
/**
 * Shared, read-only metadata of the frame at index i, valid while the
 * segment is held; NULL when i is out of range or the handle is invalid.
 */
const void *fk_segment_meta(const fk_segment *seg, uint64_t i);

/** Type erasure (Segment<M> -> Segment<dyn>): never fails, no count change. */
void fk_segment_erase(fk_segment *seg);
/**
 * Checked downcast (TryFrom<Segment<dyn>>): records `type` in seg.
 * @return 0, or FK_ETYPE and seg unchanged when any frame is not of
 *         `type`. Every frame is checked, in every build: an erased
 *         segment may hold frames of several types (from_raw of a range
 *         built from several segments).
 */
int fk_segment_downcast(fk_mem *mem, fk_segment *seg, const struct fk_meta_type *type);

#ifdef __cplusplus
}
#endif

#endif /* FRAMEKIT_SEGMENT_H */
