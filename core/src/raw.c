/* Raw reference tracking (see raw_internal.h for the invariant). */
#include "raw_internal.h"
#include "sched_fuzz_internal.h"

/* Every change advances the sequence (raw_internal.h). Relaxed RMWs: see
 * raw_internal.h. */
static void raw_undo_record(struct fk_region *r, uint64_t from, uint64_t to)
{
	FK_SCHED_POINT();
	for (uint64_t i = from; i < to; i++)
		atomic_fetch_add_explicit(&r->raw[i], FK_RAW_SEQ_ONE - 1, memory_order_relaxed);
	FK_SCHED_POINT();
}

static void raw_undo_consume(struct fk_region *r, uint64_t from, uint64_t to)
{
	FK_SCHED_POINT();
	for (uint64_t i = from; i < to; i++)
		atomic_fetch_add_explicit(&r->raw[i], FK_RAW_SEQ_ONE + 1, memory_order_relaxed);
	FK_SCHED_POINT();
}

int fk_raw_record(struct fk_region *r, uint64_t start, uint64_t end)
{
	if (start == end || !r->raw)
		return 0;
	uint64_t a = fk_region_index(r, start), b = fk_region_index(r, end);
	for (uint64_t i = a; i < b; i++) {
		uint64_t v = atomic_load_explicit(&r->raw[i], memory_order_relaxed);
		do {
			if (fk_raw_word_count(v) == UINT32_MAX) {
				raw_undo_record(r, a, i);
				return FK_EOVERFLOW;
			}
			FK_SCHED_POINT();
		} while (!atomic_compare_exchange_weak_explicit(
		    &r->raw[i], &v, v + FK_RAW_SEQ_ONE + 1, memory_order_relaxed,
		    memory_order_relaxed));
		FK_SCHED_POINT();
	}
	return 0;
}

int fk_raw_present(const struct fk_region *r, uint64_t start, uint64_t end)
{
	if (!r->raw)
		return 1;
	for (uint64_t i = fk_region_index(r, start), b = fk_region_index(r, end); i < b; i++)
		if (!fk_raw_word_count(atomic_load_explicit(&r->raw[i], memory_order_relaxed)))
			return 0;
	return 1;
}

int fk_raw_consume(struct fk_region *r, uint64_t start, uint64_t end)
{
	if (start == end || !r->raw)
		return 0;
	uint64_t a = fk_region_index(r, start), b = fk_region_index(r, end);
	for (uint64_t i = a; i < b; i++) {
		uint64_t v = atomic_load_explicit(&r->raw[i], memory_order_relaxed);
		do {
			if (fk_raw_word_count(v) == 0) {
				raw_undo_consume(r, a, i);
				return FK_ENOTRAW;
			}
			FK_SCHED_POINT();
		} while (!atomic_compare_exchange_weak_explicit(
		    &r->raw[i], &v, v + FK_RAW_SEQ_ONE - 1, memory_order_relaxed,
		    memory_order_relaxed));
		FK_SCHED_POINT();
	}
	return 0;
}

uint64_t fk_raw_count(const struct fk_region *r, uint64_t paddr)
{
	if (!r->raw)
		return 0;
	return fk_raw_word_count(
	    atomic_load_explicit(&r->raw[fk_region_index(r, paddr)], memory_order_relaxed));
}
