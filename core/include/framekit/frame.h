/* SPDX-License-Identifier: MIT */
/**
 * @file
 * Frame handles: one reference to one metadata slot (Asterinas Frame<M>),
 * and the exclusively owned variant (UniqueFrame<M>).
 *
 * A handle is a small value type. Functions that consume a handle (drop,
 * into_raw, into_shared, ...) clear it, so a second call on the same handle
 * gets FK_EINVAL instead of a double free; a stale *copy* dropped twice is
 * caught as refcount underflow (FK_EUNUSED) when it reaches zero.
 *
 * A handle into a hot-removed region is refused without touching freed
 * memory: region descriptors live until fk_mem_destroy and carry a
 * generation that the handle remembers. With raw tracking on, a drop that
 * would take a frame's count below its raw references (a stale copy of a
 * handle that was turned raw) is refused with FK_EUNUSED. What stays
 * undetectable: a stale copy used while the frame still has other holders
 * (its drop releases someone else's reference, as a double Arc drop
 * would), and, with raw tracking, such a drop racing with a legitimate
 * into_raw of the same frame (the check reads the raw count just before
 * the decrement). A stale handle of a frame that is not shared (free,
 * unique, being built or torn down) gets an error; under FK_REFCOUNT_FAST
 * its step may leak that frame, never anything worse (mem.h, README
 * "Concurrency design"). The accessors that take no context
 * (fk_frame_meta, ...) check the generation but cannot check the context.
 *
 * Errors every function here may return besides those listed with it:
 * FK_EINVAL for a NULL argument, an empty (consumed) handle, a handle of
 * another context, or a calling thread not registered with
 * fk_thread_enter(); FK_EUNUSED for a handle into a region that has been
 * removed since.
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

/**
 * Claims an UNUSED frame of an unmanaged region: CAS UNUSED -> 0, init the
 * metadata, publish refcount 1 (Asterinas Frame::from_unused).
 * @param mem   the context
 * @param paddr the frame's physical address
 * @param type  its metadata type, NULL for untyped
 * @param init  fills the metadata before the frame is published; may be NULL
 * @param ctx   passed to init
 * @param out   receives the handle
 * @return 0, or FK_ENOTALIGNED, FK_EOUTOFBOUND, FK_EMANAGED (managed region:
 *         use fk_alloc_frame()), FK_EINUSE, FK_EBUSY, FK_EUNIQUE, FK_EINVAL
 *         (type larger than FK_META_MAX_SIZE), or init's error.
 */
int fk_frame_from_unused(fk_mem *mem, uint64_t paddr, const struct fk_meta_type *type,
                         fk_meta_init_fn init, void *ctx, fk_frame *out);
/**
 * Takes an extra reference to a frame in use, by address. Never revives a
 * frame whose count already reached 0.
 * @return 0, or FK_ENOTALIGNED, FK_EOUTOFBOUND, FK_EUNUSED (free frame),
 *         FK_EBUSY (being built or torn down), FK_EUNIQUE, FK_EOVERFLOW.
 */
int fk_frame_from_in_use(fk_mem *mem, uint64_t paddr, fk_frame *out);
/**
 * Takes another reference to the frame of `f` (+1).
 * @return 0, or FK_EOVERFLOW at FK_REF_MAX.
 */
int fk_frame_clone(fk_mem *mem, const fk_frame *f, fk_frame *out);
/**
 * Releases the reference and clears `f`. The last one runs on_drop, marks
 * the slot UNUSED and returns the frame to the allocator (managed regions).
 * @return 0, or FK_EUNUSED / FK_EBUSY / FK_EUNIQUE when the count shows the
 *         reference was already released (double drop through a stale
 *         copy); FK_EUNUSED also when (raw tracking on) the drop would take
 *         the count below the frame's raw references. The count is left
 *         unchanged on error.
 */
int fk_frame_drop(fk_mem *mem, fk_frame *f);
/**
 * Forgets the handle (clears `f`); its reference is now raw, recorded per
 * frame when the context tracks raw references.
 * @param mem   the context
 * @param f     the handle to forget
 * @param paddr receives the frame's address, for fk_frame_from_raw()
 * @return 0, or FK_EUNUSED / FK_EBUSY / FK_EUNIQUE if the frame is not
 *         shared (a stale copy); nothing recorded.
 */
int fk_frame_into_raw(fk_mem *mem, fk_frame *f, uint64_t *paddr);
/**
 * Rebuilds a handle from a raw reference made by fk_frame_into_raw(): a
 * one-frame fk_segment_from_raw() (same checks, nothing changed on error).
 * @return 0, or FK_ENOTALIGNED, FK_EOUTOFBOUND, FK_ENOTRAW if no raw
 *         reference is recorded for the frame (with tracking off: if the
 *         frame is not in use).
 */
int fk_frame_from_raw(fk_mem *mem, uint64_t paddr, fk_frame *out);

/** The frame's physical address (0 for NULL). */
uint64_t fk_frame_paddr(const fk_frame *f);
/** Advisory (relaxed) read of the refcount; FK_REF_UNUSED for an invalid handle. */
uint64_t fk_frame_refcount(const fk_frame *f);
/**
 * The frame's metadata, shared and read-only, valid while the reference is
 * held; NULL for an empty or invalid handle.
 */
const void *fk_frame_meta(const fk_frame *f);
/** The frame's metadata type (fk_meta_untyped if claimed with NULL); NULL for an invalid handle. */
const struct fk_meta_type *fk_frame_meta_type(const fk_frame *f);
/**
 * Checked typed view of the metadata.
 * @param f    the frame
 * @param type the expected metadata type
 * @param meta receives the metadata when the frame's type is `type`
 * @return 0, or FK_ETYPE if the frame's type is not `type`.
 */
int fk_frame_meta_as(const fk_frame *f, const struct fk_meta_type *type, const void **meta);

/**
 * Claims an UNUSED frame of an unmanaged region for exclusive ownership
 * (refcount UNIQUE); arguments and errors as fk_frame_from_unused().
 */
int fk_unique_frame_from_unused(fk_mem *mem, uint64_t paddr, const struct fk_meta_type *type,
                                fk_meta_init_fn init, void *ctx, fk_unique_frame *out);
/**
 * Turns exclusive ownership into one shared reference (UNIQUE -> 1,
 * release). Consumes `uf`.
 */
int fk_unique_frame_into_shared(fk_mem *mem, fk_unique_frame *uf, fk_frame *out);
/**
 * Takes exclusive ownership if `f` is the only reference (1 -> UNIQUE,
 * acq_rel), consuming `f`.
 * @return 0, or FK_EINUSE (f unchanged) if other references exist.
 */
int fk_frame_try_into_unique(fk_mem *mem, fk_frame *f, fk_unique_frame *out);
/**
 * Drops a unique frame: on_drop runs, the slot becomes UNUSED and the frame
 * goes back to the allocator (managed regions). Clears `uf`.
 */
int fk_unique_frame_drop(fk_mem *mem, fk_unique_frame *uf);
/**
 * The frame's metadata, writable because the frame is exclusively owned;
 * NULL for an empty or invalid handle.
 */
void *fk_unique_frame_meta(const fk_unique_frame *uf);
/** The frame's physical address (0 for NULL). */
uint64_t fk_unique_frame_paddr(const fk_unique_frame *uf);

#ifdef __cplusplus
}
#endif

#endif /* FRAMEKIT_FRAME_H */
