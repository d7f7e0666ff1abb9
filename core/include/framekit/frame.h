/*
 * Frame handles: one reference to one metadata slot (Asterinas Frame<M>),
 * and the exclusively owned variant (UniqueFrame<M>).
 *
 * A handle is a small value type. Functions that consume a handle (drop,
 * into_raw, into_shared, ...) clear it, so a second call on the same handle
 * gets FK_EINVAL instead of a double free; a stale *copy* dropped twice is
 * caught as refcount underflow (FK_EUNUSED) when it reaches zero.
 */
#ifndef FRAMEKIT_FRAME_H
#define FRAMEKIT_FRAME_H

#include <stdint.h>

#include <framekit/error.h>
#include <framekit/mem.h>
#include <framekit/meta.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * A shared reference to one frame. Treat the fields as opaque: `region` is
 * NULL for an empty (consumed) handle; `gen` is the generation of the
 * region's descriptor when the handle was made, so that a handle into a
 * region that has since been hot-removed (and perhaps re-added) is refused
 * with FK_EUNUSED without touching freed memory.
 */
typedef struct fk_frame {
	struct fk_region *region; /**< NULL = empty handle */
	uint64_t paddr;           /**< physical address of the frame */
	uint64_t gen;             /**< region generation the handle belongs to */
} fk_frame;

/** The exclusively owned variant of fk_frame (same fields, same rules). */
typedef struct fk_unique_frame {
	struct fk_region *region; /**< NULL = empty handle */
	uint64_t paddr;           /**< physical address of the frame */
	uint64_t gen;             /**< region generation the handle belongs to */
} fk_unique_frame;

/*
 * Claim an UNUSED frame of an unmanaged region: CAS UNUSED -> 0, init the
 * metadata (type may be NULL for untyped), publish refcount 1.
 * Errors: FK_ENOTALIGNED, FK_EOUTOFBOUND, FK_EMANAGED, FK_EINUSE, FK_EBUSY,
 * FK_EUNIQUE, FK_EINVAL (type too large), or init's error.
 */
int fk_frame_from_unused(fk_mem *mem, uint64_t paddr, const struct fk_meta_type *type,
                         fk_meta_init_fn init, void *ctx, fk_frame *out);
/*
 * Take an extra reference to a frame in use, by address. Never revives a
 * frame whose count already reached 0. Errors: FK_ENOTALIGNED,
 * FK_EOUTOFBOUND, FK_EUNUSED, FK_EBUSY, FK_EUNIQUE, FK_EOVERFLOW.
 */
int fk_frame_from_in_use(fk_mem *mem, uint64_t paddr, fk_frame *out);
/* +1 on the frame. FK_EOVERFLOW at FK_REF_MAX. */
int fk_frame_clone(fk_mem *mem, const fk_frame *f, fk_frame *out);
/*
 * Release the reference. The last one runs on_drop, marks the slot UNUSED
 * and returns the frame to the allocator (managed regions).
 * FK_EUNUSED / FK_EBUSY / FK_EUNIQUE when the count shows the handle was
 * already released (double drop); the count is left unchanged.
 */
int fk_frame_drop(fk_mem *mem, fk_frame *f);
/* Forget the handle; its reference is now raw (tracked when enabled). */
int fk_frame_into_raw(fk_mem *mem, fk_frame *f, uint64_t *paddr);
/* Rebuild a handle from a raw reference. FK_ENOTRAW if none is recorded. */
int fk_frame_from_raw(fk_mem *mem, uint64_t paddr, fk_frame *out);

uint64_t fk_frame_paddr(const fk_frame *f);
/* Advisory (relaxed) read of the refcount. */
uint64_t fk_frame_refcount(const fk_frame *f);
/* Shared, read-only metadata (NULL for an empty handle). */
const void *fk_frame_meta(const fk_frame *f);
const struct fk_meta_type *fk_frame_meta_type(const fk_frame *f);
/* Checked typed view: FK_ETYPE if the frame's type is not `type`. */
int fk_frame_meta_as(const fk_frame *f, const struct fk_meta_type *type, const void **meta);

/* Unique frames (refcount UNIQUE). */
int fk_unique_frame_from_unused(fk_mem *mem, uint64_t paddr, const struct fk_meta_type *type,
                                fk_meta_init_fn init, void *ctx, fk_unique_frame *out);
/* UNIQUE -> 1 (release). Consumes uf. */
int fk_unique_frame_into_shared(fk_mem *mem, fk_unique_frame *uf, fk_frame *out);
/* 1 -> UNIQUE if f is the only reference; FK_EINUSE (f unchanged) otherwise. */
int fk_frame_try_into_unique(fk_mem *mem, fk_frame *f, fk_unique_frame *out);
/* Drop a unique frame: on_drop, UNUSED, back to the allocator. */
int fk_unique_frame_drop(fk_mem *mem, fk_unique_frame *uf);
/* Mutable metadata: legal only because the frame is exclusively owned. */
void *fk_unique_frame_meta(const fk_unique_frame *uf);
uint64_t fk_unique_frame_paddr(const fk_unique_frame *uf);

#ifdef __cplusplus
}
#endif

#endif /* FRAMEKIT_FRAME_H */
