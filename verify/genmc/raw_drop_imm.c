/* SPDX-License-Identifier: MIT */
/*
 * raw_drop_imm: the raw word's drop check (core/src/raw_word_internal.h)
 * under IMM, the model of weakly ordered CPUs (Arm, POWER): run it with
 * genmc --imm. Issue 18 suspected that a dropper could see another
 * thread's new raw count beside the count from before that thread's +1
 * and refuse a correct drop with FK_EUNUSED.
 *
 * Thread A holds the frame's one counted reference and drops it (drop
 * check, then the fast decrement). Thread B takes a reference by address
 * (from_in_use) and turns it raw (into_raw's record), then a thread C
 * rebuilds that raw reference (from_raw's consume) and drops it. A correct
 * drop is never refused, whatever the order.
 *
 * Settled: with the record relaxed, as it was at 12462eb (mutation 1 is
 * that code), A can read B's record and a count without B's +1: refused.
 * The record is now a release, paired with the check's acquire loads.
 *
 * expect: pass
 * genmc: --imm --disable-ipr
 * mutations: 1 2
 *   1 the record's release weakened to relaxed (the code at 12462eb)
 *   2 the drop check's acquire loads weakened to relaxed
 */
#include <assert.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "refcount_internal.h"

#ifndef FK_MUTATION
#define FK_MUTATION 0
#endif
#if FK_MUTATION == 1
#define memory_order_release memory_order_relaxed
#elif FK_MUTATION == 2
#define memory_order_acquire memory_order_relaxed
#endif
#include "raw_word_internal.h"
#undef memory_order_release
#undef memory_order_acquire

static _Atomic uint64_t count, raw;
static atomic_int handed; /* B's raw address, handed to C */

static void *a_drops(void *arg)
{
	(void)arg;
	assert(fk_raw_drop_check(&count, &raw) == 0);
	assert(fk_ref_dec(&count, FK_REFCOUNT_FAST) >= 0);
	return 0;
}

static void *b_into_raw(void *arg)
{
	(void)arg;
	if (fk_ref_inc_in_use(&count, FK_REF_MAX) == 0) {
		assert(fk_raw_word_record(&raw) == 0);
		/* Release/acquire: the caller's own synchronisation that carries
		 * the raw address to from_raw (raw_internal.h). */
		atomic_store_explicit(&handed, 1, memory_order_release);
	}
	return 0;
}

static void *c_from_raw_and_drop(void *arg)
{
	(void)arg;
	if (!atomic_load_explicit(&handed, memory_order_acquire))
		return 0;
	assert(fk_raw_word_consume(&raw) == 0);
	assert(fk_raw_drop_check(&count, &raw) == 0);
	assert(fk_ref_dec(&count, FK_REFCOUNT_FAST) >= 0);
	return 0;
}

int main(void)
{
	pthread_t t[3];
	atomic_init(&count, 1); /* A's reference */
	atomic_init(&raw, 0);
	pthread_create(&t[0], 0, a_drops, 0);
	pthread_create(&t[1], 0, b_into_raw, 0);
	pthread_create(&t[2], 0, c_from_raw_and_drop, 0);
	for (int i = 0; i < 3; i++)
		pthread_join(t[i], 0);
	return 0;
}
