/*
 * The stress suite's support library, shared by the stress program, the
 * fault-injection test (tests/test_stress_faults.c) and, for the PRNG, the
 * fuzz harness:
 *   sc_rand.h          per-thread PRNG (header only)
 *   sc_track.h/.c      frame tracker and FK_ENOMEM classifier
 *   sc_wrap.h/.c       counting / fault-injecting allocator wrapper
 *   sc_conservation.h/.c  end-of-run conservation check
 * The .c files build the static library fk_stress_support
 * (stress/CMakeLists.txt). See stress/README.md.
 */
#ifndef FK_STRESS_COMMON_H
#define FK_STRESS_COMMON_H

#include "sc_conservation.h"
#include "sc_rand.h"
#include "sc_track.h"
#include "sc_wrap.h"

#endif /* FK_STRESS_COMMON_H */
