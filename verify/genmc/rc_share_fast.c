/* SPDX-License-Identifier: MIT */
/*
 * rc_share_fast: rc_share.h (correct use: claim, publish, clone, drop,
 * speculative get, teardown and a new claim racing) under the fast policy.
 *
 * expect: pass
 * genmc: --disable-ipr
 * mutations: 1 2
 *   1 every release weakened to relaxed (drops no longer order uses before
 *     the teardown; publish no longer orders init)
 *   2 every acquire weakened to relaxed (the last drop's acquire gone)
 */
#define POLICY FK_REFCOUNT_FAST
#include "rc_share.h"
