/* SPDX-License-Identifier: MIT */
/*
 * Turns one version's lockfree sources into an allocator plug-in, so that
 * v4, v5 and v6 run side by side in one framekit_bench process (build.sh).
 * The ops table layout is the same in all three (checked by build.sh).
 */
#include <framekit/allocator.h>

extern const struct fk_allocator_ops fk_alloc_lockfree_ops;

FK_ALLOCATOR_PLUGIN(fk_alloc_lockfree_ops);
