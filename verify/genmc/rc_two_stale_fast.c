/* SPDX-License-Identifier: MIT */
/*
 * rc_two_stale_fast: two stale handles clone (fast policy) while the
 * allocator-granted claim builds, publishes, uses and drops the frame.
 * Their steps and restores interleave with each other and with the
 * owner's plain stores: each restore moves the word one step toward the
 * state only while it is still displaced in that state's class, so the
 * word is exact once both are done, whatever the order.
 *
 * Property (fk_genmc_frame.h check_end): the owner's drop never fails;
 * no read of unpublished or torn-down metadata; at most one teardown;
 * UNUSED after it, or a leak (shared) without it.
 *
 * expect: pass
 * genmc: --disable-ipr
 * mutations: 1 3
 *   1 every release weakened to relaxed
 *   3 FK_REF_BUSY at 0 (a stale +1 revives a frame being built)
 */
#include "fk_genmc_frame.h"

static void *owner(void *arg)
{
	(void)arg;
	int err = fk_ref_claim_granted(&word);
	assert(err == 0);
	meta = META_LIVE;
	fk_ref_publish(&word, 1);
	use();
	drop_hinted(FK_REFCOUNT_FAST, 1);
	return 0;
}

int main(void)
{
	pthread_t t[3];
	atomic_init(&word, FK_REF_UNUSED);
	pthread_create(&t[0], 0, owner, 0);
	pthread_create(&t[1], 0, stale_clone, (void *)(intptr_t)FK_REFCOUNT_FAST);
	pthread_create(&t[2], 0, stale_clone, (void *)(intptr_t)FK_REFCOUNT_FAST);
	for (int i = 0; i < 3; i++)
		pthread_join(t[i], 0);
	check_end(FK_REFCOUNT_FAST, 1);
	return 0;
}
