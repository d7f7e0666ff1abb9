/* SPDX-License-Identifier: MIT */
/**
 * @file
 * framekit error codes.
 *
 * Every public function that can fail returns int: 0 on success or one of
 * the negative FK_E* codes below. On error the state of the context and of
 * every handle passed in is unchanged. The codes mirror Asterinas'
 * GetFrameError plus the preconditions that the Rust code enforces with
 * panics or the Verus proof enforces with `requires`.
 *
 * FK_ERROR_LIST is the one home of the codes: the enum below,
 * fk_strerror() and fk_strerror_name() (core/src/error.c) are built from
 * it, and scripts/check-docs.sh checks the README's error table against it
 * (a ctest). To add a code, add one line at the end of the list.
 */
#ifndef FRAMEKIT_ERROR_H
#define FRAMEKIT_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Every code, one X(NAME, value, message, meaning) line each: `message` is
 * what fk_strerror() returns, `meaning` the README table's second column.
 * Values are 0, -1, -2, ... in list order (error.c checks this).
 */
#define FK_ERROR_LIST(X)                                                                           \
	X(FK_OK, 0, "success", "success")                                                          \
	X(FK_EINUSE, -1, "frame is in use", "frame in use")                                        \
	X(FK_EUNUSED, -2, "frame is not in use (already released?)", "frame not in use")           \
	X(FK_EBUSY, -3, "frame or resource is busy (being built or torn down)",                    \
	  "count is 0 (being built or torn down), or busy region")                                 \
	X(FK_EUNIQUE, -4, "frame is exclusively owned", "exclusively owned")                       \
	X(FK_EOUTOFBOUND, -5, "address or range out of bounds",                                    \
	  "address or range outside every region")                                                 \
	X(FK_ENOTALIGNED, -6, "address, offset or range not page aligned", "not page aligned")     \
	X(FK_EINVAL, -7, "invalid argument", "bad argument")                                       \
	X(FK_ENOTRAW, -8, "no raw reference recorded for this frame or range",                     \
	  "no raw reference recorded")                                                             \
	X(FK_ETYPE, -9, "metadata type mismatch", "metadata type mismatch")                        \
	X(FK_ENOMEM, -10, "out of memory", "out of frames or host memory")                         \
	X(FK_EOVERFLOW, -11, "reference count overflow", "refcount would pass `FK_REF_MAX`")       \
	X(FK_EMANAGED, -12, "frame belongs to the allocator; use fk_alloc_*",                      \
	  "frame belongs to the allocator")                                                        \
	X(FK_ENOENT, -13, "no such region or allocator", "no such region / allocator")             \
	X(FK_EEXIST, -14, "region overlaps an existing one", "region overlaps")

/** @cond FK_INTERNAL */
#define FK_ERROR_ENUMERATOR_(name, value, message, meaning) name = value,
#define FK_ERROR_COUNT_ONE_(name, value, message, meaning) +1
/** @endcond */

/**
 * Return codes: 0 (FK_OK) for success, a negative FK_E* for an error; the
 * codes and their meanings are FK_ERROR_LIST.
 */
enum fk_error {
	/** @cond FK_INTERNAL */
	FK_ERROR_LIST(FK_ERROR_ENUMERATOR_)
	/** @endcond */
	/** The most negative code (for iterating over all codes). */
	FK_ERANGE_LAST = 1 - (0 FK_ERROR_LIST(FK_ERROR_COUNT_ONE_))
};

/**
 * Human-readable text for an error code (the list's `message`).
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
