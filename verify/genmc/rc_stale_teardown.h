/* SPDX-License-Identifier: MIT */
/*
 * Scenario of rc_stale_teardown_{fast,checked}.c (POLICY defined there):
 * the last holder uses and drops a published frame while a stale handle
 * clones and a speculative get (from_in_use) tries to take a reference.
 */
#ifndef POLICY
#error "define POLICY"
#endif
#include "fk_genmc_frame.h"

static void *holder(void *arg)
{
	(void)arg;
	use();
	drop(POLICY);
	return 0;
}

int main(void)
{
	pthread_t t[3];
	/* A published frame with one holder; a stale copy of an earlier
	 * holder's handle survives. */
	meta = META_LIVE;
	atomic_init(&word, 1);
	pthread_create(&t[0], 0, holder, 0);
	pthread_create(&t[1], 0, stale_clone, (void *)(intptr_t)POLICY);
	pthread_create(&t[2], 0, speculative_get, (void *)(intptr_t)POLICY);
	for (int i = 0; i < 3; i++)
		pthread_join(t[i], 0);
	check_end(POLICY, POLICY == FK_REFCOUNT_FAST);
	return 0;
}
