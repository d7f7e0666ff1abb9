/*
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

#define FK_PAGE_SHIFT     12
#define FK_PAGE_SIZE      ((uint64_t)1 << FK_PAGE_SHIFT)
#define FK_META_SLOT_SIZE 64
#define FK_META_MAX_SIZE  40

/* Refcount states (the slot's state word, as in Asterinas' MetaSlot). */
#define FK_REF_UNUSED UINT64_MAX            /* free or untracked */
#define FK_REF_UNIQUE (UINT64_MAX - 1)      /* exclusively owned */
#define FK_REF_MAX    ((uint64_t)INT64_MAX) /* largest legal shared count */
/* 0 = busy (being built or torn down); 1..FK_REF_MAX = shared. */

struct fk_meta_type {
	const char *name;
	size_t size; /* <= FK_META_MAX_SIZE */
	/*
	 * Called once when the last reference goes away, with the slot in the
	 * busy state (refcount 0) and exclusive access to the metadata.
	 * May be NULL.
	 */
	void (*on_drop)(void *meta, uint64_t paddr, void *ctx);
	void *ctx;
	/* Nonzero if the frame's bytes are "untyped" (Asterinas AnyUFrameMeta). */
	int untyped;
};

/*
 * Initialise metadata of one frame: called by from_unused with exclusive
 * access before the frame is published. Return 0 or a negative FK_E* code
 * to abort the claim (the whole segment is then rolled back).
 */
typedef int (*fk_meta_init_fn)(void *meta, uint64_t paddr, void *ctx);

/* The empty metadata type (Rust's `()`): size 0, untyped. */
extern const struct fk_meta_type fk_meta_untyped;

#ifdef __cplusplus
}
#endif

#endif /* FRAMEKIT_META_H */
