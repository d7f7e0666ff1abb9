/**
 * @file
 * framekit error codes.
 *
 * Every public function that can fail returns int: 0 on success or one of
 * the negative FK_E* codes below. On error the state of the context and of
 * every handle passed in is unchanged. The codes mirror Asterinas'
 * GetFrameError plus the preconditions that the Rust code enforces with
 * panics or the Verus proof enforces with `requires`.
 */
#ifndef FRAMEKIT_ERROR_H
#define FRAMEKIT_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

/** Return codes: 0 for success, a negative FK_E* for an error. */
enum fk_error {
	FK_OK = 0,       /**< success */
	FK_EINUSE = -1,  /**< frame already in use (shared refcount) */
	FK_EUNUSED = -2, /**< frame is not in use (UNUSED); includes double drop */
	FK_EBUSY = -3,   /**< frame is being built or torn down (refcount 0), or resource busy */
	FK_EUNIQUE = -4, /**< frame is exclusively owned (UNIQUE) */
	FK_EOUTOFBOUND = -5, /**< paddr or range outside every region / the segment */
	FK_ENOTALIGNED = -6, /**< paddr, offset or range not FK_PAGE_SIZE aligned */
	FK_EINVAL = -7,      /**< bad argument: split offset, slice range, empty range, NULL */
	FK_ENOTRAW = -8,     /**< from_raw on a frame/range that holds no raw reference */
	FK_ETYPE = -9,       /**< typed view does not match the frame's metadata type */
	FK_ENOMEM = -10,     /**< allocator or host memory exhausted */
	FK_EOVERFLOW = -11,  /**< refcount would exceed FK_REF_MAX */
	FK_EMANAGED = -12,   /**< frame belongs to the allocator: obtain it with fk_alloc_* */
	FK_ENOENT = -13,     /**< no such region / allocator name */
	FK_EEXIST = -14,     /**< region overlaps an existing one */
	FK_ERANGE_LAST = -14 /**< the most negative code (for iterating over all codes) */
};

/**
 * Human-readable text for an error code.
 * @param err 0 or a negative FK_E* code; any other value gives a generic text.
 * @return a static string, never NULL.
 */
const char *fk_strerror(int err);

/**
 * Symbolic name of an error code, e.g. "FK_EINUSE".
 * @param err 0 or a negative FK_E* code; any other value gives a generic name.
 * @return a static string, never NULL.
 */
const char *fk_strerror_name(int err);

#ifdef __cplusplus
}
#endif

#endif /* FRAMEKIT_ERROR_H */
