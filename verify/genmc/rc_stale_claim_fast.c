/* SPDX-License-Identifier: MIT */
/*
 * rc_stale_claim_fast: rc_stale_claim.h under the fast policy. Issue 18,
 * defect 7 (first half) and defect 6: a stale clone's step off UNUSED
 * races with the allocator-granted claim (plain stores, no RMW).
 *
 * Property (fk_genmc_frame.h): the owner's drop never fails; nobody reads
 * the metadata while it is built or torn down (GenMC's race check); at
 * most one teardown; the word ends UNUSED after it, or shared without it
 * (a leak, the one cost a stale fast step may have). At 12462eb the stale
 * clone's blind undo landed on the owner's count and the owner's drop got
 * FK_EBUSY: fails there (results/genmc/).
 *
 * expect: pass
 * genmc: --disable-ipr
 * mutations: 1 2 3
 *   1 every release weakened to relaxed (publish no longer orders init)
 *   2 every acquire weakened to relaxed
 *   3 FK_REF_BUSY at 0 (a stale +1 revives a frame being built)
 */
#define POLICY FK_REFCOUNT_FAST
#include "rc_stale_claim.h"
