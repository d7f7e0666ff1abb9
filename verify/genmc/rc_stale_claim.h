/* SPDX-License-Identifier: MIT */
/*
 * Scenario of rc_stale_claim_{fast,checked}.c (POLICY defined there): a
 * stale handle's clone races with the allocator-granted claim of its free
 * frame, its publish, a speculative get (from_in_use) and the new owner's
 * use, drop and teardown.
 */
#ifndef POLICY
#error "define POLICY"
#endif
#include "fk_genmc_frame.h"

static void *owner(void *arg)
{
	(void)arg;
	/* fk_claim_granted on one frame: busy, init, publish. */
	int err = fk_ref_claim_granted(&word);
	assert(err == 0);
	meta = META_LIVE;
	fk_ref_publish(&word, 1);
	use();
	drop_hinted(POLICY, 1); /* as a segment drop of a fresh allocation */
	return 0;
}

int main(void)
{
	pthread_t t[3];
	atomic_init(&word, FK_REF_UNUSED); /* freed before; a stale copy survives */
	pthread_create(&t[0], 0, owner, 0);
	pthread_create(&t[1], 0, stale_clone, (void *)(intptr_t)POLICY);
	pthread_create(&t[2], 0, speculative_get, (void *)(intptr_t)POLICY);
	for (int i = 0; i < 3; i++)
		pthread_join(t[i], 0);
	check_end(POLICY, POLICY == FK_REFCOUNT_FAST);
	return 0;
}
