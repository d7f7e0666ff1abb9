/* SPDX-License-Identifier: MIT */
/* Raw reference tracking (see raw_internal.h for the invariant). */
#include "raw_internal.h"
#include "sched_fuzz_internal.h"

/* Every transition of the word, and its ordering: raw_word_internal.h. */
static void raw_undo_record(struct fk_region *r, uint64_t from, uint64_t to)
{
	FK_SCHED_POINT();
	for (uint64_t i = from; i < to; i++)
		fk_raw_word_unrecord(&r->raw[i]);
	FK_SCHED_POINT();
}

static void raw_undo_consume(struct fk_region *r, uint64_t from, uint64_t to)
{
	FK_SCHED_POINT();
	for (uint64_t i = from; i < to; i++)
		fk_raw_word_unconsume(&r->raw[i]);
	FK_SCHED_POINT();
}

int fk_raw_record(struct fk_region *r, uint64_t start, uint64_t end)
{
	if (start == end || !r->raw)
		return 0;
	uint64_t a = fk_region_index(r, start), b = fk_region_index(r, end);
	for (uint64_t i = a; i < b; i++) {
		FK_SCHED_POINT();
		int err = fk_raw_word_record(&r->raw[i]);
		FK_SCHED_POINT();
		if (err) {
			raw_undo_record(r, a, i);
			return err;
		}
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
		FK_SCHED_POINT();
		int err = fk_raw_word_consume(&r->raw[i]);
		FK_SCHED_POINT();
		if (err) {
			raw_undo_consume(r, a, i);
			return err;
		}
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
