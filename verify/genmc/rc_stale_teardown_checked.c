/* SPDX-License-Identifier: MIT */
/*
 * rc_stale_teardown_checked: rc_stale_teardown.h under the checked policy:
 * the frame is torn down exactly once, never leaks.
 *
 * expect: pass
 * genmc: --disable-ipr
 * mutations: 1 2
 *   1 every release weakened to relaxed
 *   2 every acquire weakened to relaxed (the last drop's acquire gone)
 */
#define POLICY FK_REFCOUNT_CHECKED
#include "rc_stale_teardown.h"
