/* SPDX-License-Identifier: MIT */
/*
 * Thread registration for the RCU flavour, with nesting so that a thread
 * may enter several fk_mem contexts (liburcu asserts on double register).
 */
#include "lookup_internal.h"
#include "rcu_internal.h"

char fk_rcu_gp_token;
_Thread_local unsigned fk_rcu_nesting;
_Thread_local unsigned fk_rwlock_readers; /* lookup_internal.h */

void fk_rcu_thread_enter(void)
{
	if (fk_rcu_nesting++ == 0)
		urcu_memb_register_thread();
}

void fk_rcu_thread_leave(void)
{
	if (fk_rcu_nesting == 0)
		return;
	if (--fk_rcu_nesting == 0)
		urcu_memb_unregister_thread();
}
