/*
 * Dropped-slot (raw reference) tracking, the run-time counterpart of the
 * Verus `dropped_slots` map: into_raw records one raw reference per frame,
 * from_raw consumes one and fails with FK_ENOTRAW where none is recorded.
 * A per-frame atomic word beside the region's slots; lock-free.
 *
 * The word: low 32 bits the raw count, high 32 bits a change sequence that
 * every record and consume advances, so that a reader can tell "the count
 * did not change between two loads" without ABA (fk_raw_drop_check); it
 * wraps only after 2^32 changes of one frame.
 *
 * Invariant (raw tracking on): a frame's counted references (the slot's
 * refcount) are never fewer than its raw references; each raw reference is
 * a counted reference whose handle was forgotten.
 *
 * Ordering: record and consume are relaxed. The counters carry no data; the
 * raw address itself travels from into_raw to from_raw through the caller's
 * own synchronisation, which orders the two RMWs. Atomicity alone keeps the
 * count exact and never negative. fk_raw_drop_check adds acquire loads.
 */
#ifndef FK_RAW_INTERNAL_H
#define FK_RAW_INTERNAL_H

#include "region_internal.h"

#define FK_RAW_SEQ_ONE ((uint64_t)1 << 32)

static inline uint32_t fk_raw_word_count(uint64_t w)
{
	return (uint32_t)w;
}

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

/*
 * May a handle drop one counted reference of the frame whose refcount word
 * is *count and raw word *raw? FK_EUNUSED if the count is not above the raw
 * count, i.e. the drop would leave fewer counted than raw references (a
 * stale copy of a handle that was turned raw); 0 otherwise. Read-only: the
 * caller decrements afterwards (fk_ref_dec).
 *
 * The verdict comes from one instant: raw (acquire), count (acquire), raw
 * again; if the raw word changed (its sequence moved) the three loads are
 * repeated. A first raw load that finds no raw reference decides alone
 * (that instant allows any count) without reading the count. With the raw word constant around the count load, the pair is a
 * consistent snapshot, and a legitimate holder always sees count >= raw + 1
 * (its own reference is counted and not raw), so it is never refused, even
 * while other threads run from_in_use+into_raw or from_raw+drop on the same
 * frame (either order changes the raw word between our loads, or is seen
 * whole: an acquire load of a count written by a release drop also sees the
 * consumption before it). Lock-free: a retry means another thread changed
 * the raw word.
 */
static inline int fk_raw_drop_check(const _Atomic uint64_t *count, const _Atomic uint64_t *raw)
{
	uint64_t r0, r1, v;
	/* Acquire: orders the following loads after this one (each pairs with
	 * nothing in particular; they make the three loads a sequence). */
	r1 = atomic_load_explicit((_Atomic uint64_t *)raw, memory_order_acquire);
	/* No raw reference at this instant: no count can be at or below it,
	 * so "allow" is the verdict of this instant whatever the count is.
	 * The common case, and it leaves the count's line alone: a load of it
	 * here would fetch the line shared and the caller's RMW would then
	 * fetch it again to own it (two transfers per drop when another CPU
	 * is using the frame, measured in results/core-v2/README.md). */
	if (!fk_raw_word_count(r1))
		return 0;
	do {
		r0 = r1;
		v = fk_ref_read_acquire(count);
		r1 = atomic_load_explicit((_Atomic uint64_t *)raw, memory_order_acquire);
	} while (r0 != r1);
	if (fk_ref_is_shared(v) && v <= fk_raw_word_count(r0))
		return FK_EUNUSED;
	return 0;
}

#endif /* FK_RAW_INTERNAL_H */
