/* SPDX-License-Identifier: MIT */
/*
 * rc_stale_claim_checked: rc_stale_claim.h under the checked policy: the
 * stale clone only ever gets an error (or, once the frame is shared again,
 * a real reference), the word never moves for it, and nothing leaks: the
 * frame is torn down exactly once.
 *
 * expect: pass
 * genmc: --disable-ipr
 * mutations: 1 2
 *   1 every release weakened to relaxed (publish no longer orders init)
 *   2 every acquire weakened to relaxed
 */
#define POLICY FK_REFCOUNT_CHECKED
#include "rc_stale_claim.h"
