/* SPDX-License-Identifier: MIT */
/*
 * rc_stale_teardown_fast: rc_stale_teardown.h under the fast policy.
 * Issue 18, defect 7 (second half): at 12462eb a stale +1 on the busy 0
 * of a last drop let from_in_use take a reference to the frame being torn
 * down (it reads torn-down metadata, and its own drop is a second "last"):
 * fails there (results/genmc/). Now the last dropper's CAS to BUSY fails
 * on the revived word and the frame leaks with the phantom reference.
 *
 * expect: pass
 * genmc: --disable-ipr
 * mutations: 1 2 3
 *   1 every release weakened to relaxed (a holder's drop no longer orders
 *     its use before the teardown)
 *   2 every acquire weakened to relaxed (the last drop's acquire gone)
 *   3 FK_REF_BUSY at 0 (a stale +1 revives a frame being torn down)
 */
#define POLICY FK_REFCOUNT_FAST
#include "rc_stale_teardown.h"
