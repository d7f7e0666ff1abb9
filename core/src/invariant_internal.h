/* SPDX-License-Identifier: MIT */
/*
 * fk_invariant(cond, what): in FK_CHECKED builds, abort with a message when
 * an internal invariant does not hold; nothing otherwise. Caller mistakes
 * are FK_E* codes, never invariants (checked_internal.h).
 */
#ifndef FK_INVARIANT_INTERNAL_H
#define FK_INVARIANT_INTERNAL_H

#ifdef FK_CHECKED
#include <stdio.h>
#include <stdlib.h>

#define fk_invariant(cond, what)                                                                   \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "framekit: invariant violated: %s (%s:%d)\n", what,        \
			        __FILE__, __LINE__);                                               \
			abort();                                                                   \
		}                                                                                  \
	} while (0)
#else
#define fk_invariant(cond, what) ((void)0)
#endif

#endif /* FK_INVARIANT_INTERNAL_H */
