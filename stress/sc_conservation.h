/* SPDX-License-Identifier: MIT */
/*
 * End-of-run conservation check of the stress suite (sc_conservation.c).
 *
 * The invariant: once every handle is dropped and the allocator drained,
 * every frame the allocator handed out came back exactly once, every slot
 * is UNUSED with no raw reference, and the allocator's own per-node /
 * per-order accounting adds up to the managed total.
 */
#ifndef FK_SC_CONSERVATION_H
#define FK_SC_CONSERVATION_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <framekit/framekit.h>

struct sc_region {
	uint64_t base, nframes;
	int node;
	unsigned flags;
};

/*
 * Quiescent check (no other thread may use mem). The caller has entered
 * mem. Returns the number of violations; prints each (and up to 16
 * offending frames per region) to `out`.
 */
int sc_check_conservation(fk_mem *mem, const struct sc_region *regions, size_t nr, FILE *out);

/* Wrapper side of "allocated == freed + held" (held must be 0 here):
 * 1 and a line on `out` when it does not hold. */
int sc_check_wrap_balance(FILE *out);

#endif /* FK_SC_CONSERVATION_H */
