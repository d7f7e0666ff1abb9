/* SPDX-License-Identifier: MIT */
/*
 * The stress suite's support library, shared by the stress program and the
 * fault-injection test (tests/test_stress_faults.c):
 *   fk_rand.h          per-thread PRNG (tests/, header only)
 *   sc_track.h/.c      frame tracker and FK_ENOMEM classifier
 *   sc_wrap.h/.c       counting / fault-injecting allocator wrapper
 *   sc_conservation.h/.c  end-of-run conservation check
 * The .c files build the static library fk_stress_support
 * (stress/CMakeLists.txt). See stress/README.md.
 */
#ifndef FK_STRESS_COMMON_H
#define FK_STRESS_COMMON_H

#include "fk_rand.h"
#include "sc_conservation.h"
#include "sc_track.h"
#include "sc_wrap.h"

#endif /* FK_STRESS_COMMON_H */
