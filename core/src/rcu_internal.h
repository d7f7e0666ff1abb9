/* SPDX-License-Identifier: MIT */
/*
 * fk_rcu: a thin wrapper over liburcu's memb flavour.
 *
 * Why a wrapper: liburcu 0.13 is not TSan-instrumented, so the grace period
 * is invisible to TSan. Every read_unlock releases a token and every
 * post-grace-period reclaim acquires it, which states the real ordering
 * (liburcu's rcu_read_unlock / synchronize_rcu contract, urcu/urcu-memb.h
 * and https://liburcu.org; the annotations are TSan's
 * __tsan_release/__tsan_acquire). Threads must be registered (fk_thread_enter)
 * before taking a read lock; fk_rcu_registered() lets public calls refuse
 * unregistered callers with FK_EINVAL instead of silently racing.
 */
#ifndef FK_RCU_INTERNAL_H
#define FK_RCU_INTERNAL_H

/*
 * FK_URCU_INLINE (CMake option, ON by default, forced OFF under TSan):
 * inline liburcu's read-side fast path (its static urcu/static/urcu-memb.h,
 * a few lines each for read_lock/read_unlock) by defining _LGPL_SOURCE.
 * Every handle operation runs a read section (mem_internal.h,
 * fk_handle_begin); through the library's out-of-line wrappers a frame
 * clone+drop pair cost about 4x what it did without read sections, inlined
 * about 2x (README, "Stale handles"). liburcu's urcu-memb.h says
 * "LGPL-compatible code should include this header with
 * #define _LGPL_SOURCE"; LGPL-2.1 section 5 lets any code use inline
 * functions of ten lines or fewer from an LGPL header, which these are. An
 * embedder who cannot take that configures with -DFK_URCU_INLINE=OFF (same
 * behaviour, slower). Never under TSan: liburcu 0.13's inline code uses
 * plain volatile accesses that TSan would report; the out-of-line library
 * calls are invisible to it (see the annotations below).
 */
#include "tsan_internal.h"

#define URCU_INLINE_SMALL_FUNCTIONS 1
#if defined(FK_URCU_INLINE) && !defined(FK_TSAN)
#define _LGPL_SOURCE 1
#endif
#include <urcu/urcu-memb.h>

/* Stands for "a grace period has elapsed since this read section ended". */
extern char fk_rcu_gp_token;
extern _Thread_local unsigned fk_rcu_nesting;

static inline int fk_rcu_registered(void)
{
	return fk_rcu_nesting != 0;
}

static inline void fk_rcu_read_lock(void)
{
	urcu_memb_read_lock();
}

static inline void fk_rcu_read_unlock(void)
{
	fk_tsan_release(&fk_rcu_gp_token);
	urcu_memb_read_unlock();
}

/* Wait for every read section that started before; then reclaim is safe. */
static inline void fk_rcu_synchronize(void)
{
	urcu_memb_synchronize_rcu();
	fk_tsan_acquire(&fk_rcu_gp_token);
}

void fk_rcu_thread_enter(void);
void fk_rcu_thread_leave(void);

#endif /* FK_RCU_INTERNAL_H */
