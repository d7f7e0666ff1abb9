/* SPDX-License-Identifier: MIT */
/**
 * @file
 * Metadata types and refcount constants.
 *
 * Each frame has one 64-byte metadata slot holding an atomic refcount, a
 * pointer to its metadata type, an in_list tag and FK_META_MAX_SIZE bytes of
 * typed metadata. A struct fk_meta_type plays the role of Rust's
 * AnyFrameMeta vtable: identity (the pointer), size and an optional on_drop.
 */
#ifndef FRAMEKIT_META_H
#define FRAMEKIT_META_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** log2 of the frame size. */
#define FK_PAGE_SHIFT 12
/** Frame size in bytes (4 KiB); every paddr, offset and range is a multiple of it. */
#define FK_PAGE_SIZE ((uint64_t)1 << FK_PAGE_SHIFT)
/** Size of one frame's metadata slot, refcount and type included. */
#define FK_META_SLOT_SIZE 64
/** Largest typed metadata a frame can carry (struct fk_meta_type.size). */
#define FK_META_MAX_SIZE 40

/*
 * Refcount states (the slot's state word, as in Asterinas' MetaSlot):
 * FK_REF_BUSY = being built or torn down (0 for an instant, between the
 * fast policy's last decrement and its teardown claim); 1..FK_REF_MAX =
 * shared. Unlike Asterinas (u64::MAX, u64::MAX - 1), UNUSED, UNIQUE and
 * BUSY sit far from each other and from 0 and FK_REF_MAX, so that a blind
 * +1/-1 through a stale handle (the fast refcount policy) lands in a guard
 * band, never on another state; every other value is that guard band.
 * Compare with these macros, never with UINT64_MAX.
 */
/** Refcount of a free (or untracked) frame. */
#define FK_REF_UNUSED 0xC000000000000000ull
/** Refcount of an exclusively owned frame (fk_unique_frame). */
#define FK_REF_UNIQUE 0xA000000000000000ull
/** Refcount of a frame being built or torn down (also 0, see above). */
#define FK_REF_BUSY 0xE000000000000000ull
/** Largest legal shared refcount; one more is FK_EOVERFLOW. */
#define FK_REF_MAX ((uint64_t)INT64_MAX)

/**
 * A metadata type: the C counterpart of Rust's AnyFrameMeta vtable. Its
 * address is its identity (typed views and downcasts compare pointers), so
 * define each type once, usually as a static const object that outlives
 * every frame of that type.
 */
struct fk_meta_type {
	const char *name; /**< for diagnostics */
	size_t size;      /**< bytes of metadata used, <= FK_META_MAX_SIZE */
	/**
	 * Called once when the last reference goes away, with the slot in the
	 * busy state (FK_REF_BUSY) and exclusive access to the metadata, on the
	 * thread that dropped the last reference, inside a read section (see
	 * @ref fk_callbacks for what it may call). May be NULL.
	 */
	void (*on_drop)(void *meta, uint64_t paddr, void *ctx);
	void *ctx;   /**< passed to on_drop */
	int untyped; /**< nonzero if the frame's bytes are "untyped" (Asterinas AnyUFrameMeta) */
};

/**
 * Initialises the metadata of one frame. Called by the from_unused and
 * fk_alloc_* constructors for each frame, with exclusive access to the
 * metadata (its first type->size bytes zeroed; the rest of the
 * FK_META_MAX_SIZE bytes is not cleared), before any frame of the claim is
 * published, inside a read section (see @ref fk_callbacks for what it may
 * call).
 * @param meta  FK_META_MAX_SIZE bytes of metadata, the first type->size zeroed
 * @param paddr the frame's physical address
 * @param ctx   the constructor's ctx argument
 * @return 0, or a negative FK_E* code to abort the claim (the whole segment
 *         is then rolled back and the constructor returns this code).
 */
typedef int (*fk_meta_init_fn)(void *meta, uint64_t paddr, void *ctx);

/** The empty metadata type (Rust's `()`): size 0, untyped; what a NULL type means. */
extern const struct fk_meta_type fk_meta_untyped;

#ifdef __cplusplus
}
#endif

#endif /* FRAMEKIT_META_H */
