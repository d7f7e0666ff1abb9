/* SPDX-License-Identifier: MIT */
/*
 * rc_unique_fast: a unique frame's owner turns it shared, uses and drops
 * it, while a stale handle clones (fast policy) and a speculative get
 * (from_in_use) tries to take a reference. The stale step off UNIQUE must
 * neither make the owner's transition fail (it accepts a displaced UNIQUE)
 * nor be restored onto the new state.
 *
 * Property (fk_genmc_frame.h check_end): the owner's transitions never
 * fail; no read of unpublished or torn-down metadata; at most one
 * teardown; UNUSED after it (or a leak without it).
 *
 * expect: pass
 * genmc: --disable-ipr
 * mutations: 1 2
 *   1 every release weakened to relaxed (into_shared no longer orders the
 *     unique owner's writes before the sharers' reads)
 *   2 every acquire weakened to relaxed
 */
#include "fk_genmc_frame.h"

static void *owner(void *arg)
{
	(void)arg;
	meta = META_LIVE; /* written through the unique handle */
	int err = fk_ref_unique_to_shared(&word);
	assert(err == 0);
	use();
	drop_hinted(FK_REFCOUNT_FAST, 1);
	return 0;
}

int main(void)
{
	pthread_t t[3];
	atomic_init(&word, FK_REF_UNIQUE);
	pthread_create(&t[0], 0, owner, 0);
	pthread_create(&t[1], 0, stale_clone, (void *)(intptr_t)FK_REFCOUNT_FAST);
	pthread_create(&t[2], 0, speculative_get, (void *)(intptr_t)FK_REFCOUNT_FAST);
	for (int i = 0; i < 3; i++)
		pthread_join(t[i], 0);
	check_end(FK_REFCOUNT_FAST, 1);
	return 0;
}
