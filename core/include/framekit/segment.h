/*
 * Segments: a handle to a contiguous run of frames [start, end) that owns
 * one reference on each of its frames (Asterinas Segment<M>).
 *
 * `type` is the metadata type every frame shares, or NULL for a type-erased
 * segment (Segment<dyn AnyFrameMeta>). Consuming functions clear the input
 * handle. A segment never spans two regions.
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

/*
 * Claim every frame of [start, end) in an unmanaged region, or none: on any
 * failure the frames claimed so far are released (on_drop runs for them) and
 * the error of the failing frame is returned.
 * Errors: FK_ENOTALIGNED, FK_EOUTOFBOUND, FK_EINVAL (empty range or type too
 * large), FK_EMANAGED, FK_EINUSE, FK_EBUSY, FK_EUNIQUE, init's error.
 */
int fk_segment_from_unused(fk_mem *mem, uint64_t start, uint64_t end,
                           const struct fk_meta_type *type, fk_meta_init_fn init, void *ctx,
                           fk_segment *out);
/*
 * Split at byte offset (0 < offset < size, page aligned) into [start,
 * start+offset) and [start+offset, end). No refcount changes. Consumes seg
 * (left or right may alias seg). FK_ENOTALIGNED, FK_EINVAL.
 */
int fk_segment_split(fk_mem *mem, fk_segment *seg, uint64_t offset, fk_segment *left,
                     fk_segment *right);
/*
 * New segment over byte offsets [from, to) of seg, +1 on each of its frames.
 * Bounds are checked before any addition. Empty slices are allowed.
 * FK_ENOTALIGNED, FK_EINVAL (from > to or to > size), FK_EOVERFLOW (state
 * rolled back).
 */
int fk_segment_slice(fk_mem *mem, const fk_segment *seg, uint64_t from, uint64_t to,
                     fk_segment *out);
/*
 * Move the first frame's reference into *out and advance start by one page.
 * O(1), no atomics. Returns 1 when a frame was produced, 0 when seg is
 * empty, or a negative FK_E*.
 */
int fk_segment_next(fk_mem *mem, fk_segment *seg, fk_frame *out);
/* Forget seg; its references become raw (tracked when enabled). */
int fk_segment_into_raw(fk_mem *mem, fk_segment *seg, uint64_t *start, uint64_t *end);
/*
 * Rebuild a segment from raw references. type NULL = erased; otherwise the
 * frames' type must match (FK_ETYPE). FK_ENOTRAW if any frame of the range
 * holds no raw reference (nothing changed).
 */
int fk_segment_from_raw(fk_mem *mem, uint64_t start, uint64_t end, const struct fk_meta_type *type,
                        fk_segment *out);
/* +1 on every frame. FK_EOVERFLOW (rolled back). */
int fk_segment_clone(fk_mem *mem, const fk_segment *seg, fk_segment *out);
/*
 * Release every reference. Contiguous runs of frames whose count reaches
 * zero go back to the allocator as ranges. Returns the first error (a frame
 * already released) after releasing the rest.
 */
int fk_segment_drop(fk_mem *mem, fk_segment *seg);
/* A one-frame segment from a frame handle (consumes f). */
int fk_segment_from_frame(fk_mem *mem, fk_frame *f, fk_segment *out);

uint64_t fk_segment_start_paddr(const fk_segment *seg);
uint64_t fk_segment_end_paddr(const fk_segment *seg);
uint64_t fk_segment_size(const fk_segment *seg);
uint64_t fk_segment_nframes(const fk_segment *seg);
/* Shared metadata of the frame at index i (NULL when out of range). */
const void *fk_segment_meta(const fk_segment *seg, uint64_t i);

/* Type erasure (Segment<M> -> Segment<dyn>): never fails, no count change. */
void fk_segment_erase(fk_segment *seg);
/*
 * Checked downcast (TryFrom<Segment<dyn>>): FK_ETYPE and seg unchanged when
 * the frames are not of `type` (the first frame is checked; every frame in
 * an FK_CHECKED build).
 */
int fk_segment_downcast(fk_mem *mem, fk_segment *seg, const struct fk_meta_type *type);

#ifdef __cplusplus
}
#endif

#endif /* FRAMEKIT_SEGMENT_H */
