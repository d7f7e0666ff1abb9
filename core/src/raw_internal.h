/* SPDX-License-Identifier: MIT */
/*
 * Dropped-slot (raw reference) tracking, the run-time counterpart of the
 * Verus `dropped_slots` map: into_raw records one raw reference per frame,
 * from_raw consumes one and fails with FK_ENOTRAW where none is recorded.
 * A per-frame atomic word beside the region's slots; lock-free.
 *
 * The word and its transitions: raw_word_internal.h.
 *
 * Invariant (raw tracking on): a frame's counted references (the slot's
 * refcount) are never fewer than its raw references; each raw reference is
 * a counted reference whose handle was forgotten.
 *
 * Ordering (raw_word_internal.h): a record is a release (a dropper that
 * sees it sees the recorder's counted reference), a consume relaxed; the
 * raw address itself travels from into_raw to from_raw through the
 * caller's own synchronisation. Atomicity alone keeps the count exact and
 * never negative.
 */
#ifndef FK_RAW_INTERNAL_H
#define FK_RAW_INTERNAL_H

#include "raw_word_internal.h"
#include "region_internal.h"

/* Record one raw reference on each frame of [start, end). FK_EOVERFLOW
 * (rolled back) if a counter is saturated. No-op when tracking is off. */
int fk_raw_record(struct fk_region *r, uint64_t start, uint64_t end);
/* Does every frame of [start, end) hold a raw reference? A snapshot that
 * changes nothing (1 when tracking is off): from_raw checks it first, so a
 * rejected call never disturbs a legitimate one. */
int fk_raw_present(const struct fk_region *r, uint64_t start, uint64_t end);
/* Consume one raw reference on each frame, all or nothing. FK_ENOTRAW; the
 * partial consumption is rolled back, which another caller can observe only
 * if it races to consume the same raw reference (a misuse). */
int fk_raw_consume(struct fk_region *r, uint64_t start, uint64_t end);
uint64_t fk_raw_count(const struct fk_region *r, uint64_t paddr);

#endif /* FK_RAW_INTERNAL_H */
