/* SPDX-License-Identifier: MIT */
/*
 * Scenario of rc_share_{fast,checked}.c (POLICY defined there): correct
 * use only. A frame claimed by address and published with two holders;
 * holder 1 clones, uses and drops both references, holder 2 uses and
 * drops, a speculative get (from_in_use) takes, uses and drops a
 * reference, and a claimer tries to claim the frame by address again
 * (from_unused: it succeeds only once the frame is UNUSED), and then uses
 * and drops its own life of it.
 *
 * Property: no read of metadata that is being built or torn down (race
 * check), one teardown per life, and the word ends UNUSED.
 */
#ifndef POLICY
#error "define POLICY"
#endif
#include "fk_genmc_frame.h"

static atomic_int lives;

static void *holder1(void *arg)
{
	(void)arg;
	int err = fk_ref_inc_held(&word, POLICY, FK_REF_MAX); /* clone */
	assert(err == 0);
	use();
	drop(POLICY);
	drop_hinted(POLICY, 1);
	return 0;
}

static void *holder2(void *arg)
{
	(void)arg;
	use();
	drop_hinted(POLICY, 1);
	return 0;
}

static void *reclaimer(void *arg)
{
	(void)arg;
	if (fk_ref_claim(&word) == 0) {
		meta = META_LIVE;
		fk_ref_publish(&word, 1);
		atomic_fetch_add_explicit(&lives, 1, memory_order_relaxed);
		use();
		drop(POLICY);
	}
	return 0;
}

int main(void)
{
	pthread_t t[4];
	atomic_init(&word, FK_REF_UNUSED);
	atomic_init(&lives, 1);
	int err = fk_ref_claim(&word);
	assert(err == 0);
	meta = META_LIVE;
	fk_ref_publish(&word, 2); /* holders 1 and 2 */
	pthread_create(&t[0], 0, holder1, 0);
	pthread_create(&t[1], 0, holder2, 0);
	pthread_create(&t[2], 0, speculative_get, (void *)(intptr_t)POLICY);
	pthread_create(&t[3], 0, reclaimer, 0);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], 0);
	assert(atomic_load_explicit(&teardowns, memory_order_relaxed) ==
	       atomic_load_explicit(&lives, memory_order_relaxed));
	assert(atomic_load_explicit(&word, memory_order_relaxed) == FK_REF_UNUSED);
	return 0;
}
