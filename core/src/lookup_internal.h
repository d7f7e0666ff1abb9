/* SPDX-License-Identifier: MIT */
/*
 * The read side of a context's region table, in one of two modes
 * (fk_mem_config.lookup):
 *
 *  - FK_LOOKUP_RCU (default): read sections are liburcu memb read-side
 *    critical sections (rcu_internal.h); a writer waits for a grace period.
 *  - FK_LOOKUP_RWLOCK: the baseline a first implementation would use. A
 *    read section holds the context's pthread reader-writer lock for
 *    reading; a writer's "wait for readers" takes it for writing and
 *    releases it at once. Everything else (the copy-on-write table, the
 *    removal protocol, which code runs inside a read section) is the same,
 *    so the two modes differ only in what a reader pays: nothing shared
 *    under RCU, an RMW on the lock's shared cache line (twice) under the
 *    lock.
 *
 * Every read section of the core (lookups, handle checks, allocate +
 * claim, last-drop give-back) and every wait of a writer goes through
 * fk_read_lock / fk_read_unlock / fk_read_synchronize, so "a region's
 * slots stay allocated inside a read section that found it" holds in both
 * modes. Read sections nest (glibc's default rwlock prefers readers, so a
 * nested read lock never waits behind a writer).
 */
#ifndef FK_LOOKUP_INTERNAL_H
#define FK_LOOKUP_INTERNAL_H

#include <pthread.h>

#include <framekit/mem.h>

#include "rcu_internal.h"

struct fk_lookup {
	int mode; /* FK_LOOKUP_* */
	pthread_rwlock_t lock;
};

/* Read sections this thread holds under FK_LOOKUP_RWLOCK, any context. */
extern _Thread_local unsigned fk_rwlock_readers;

/* lk is const for callers that hold a const context; the lock is mutable. */
static inline void fk_read_lock(const struct fk_lookup *lk)
{
	if (lk->mode == FK_LOOKUP_RWLOCK) {
		pthread_rwlock_rdlock((pthread_rwlock_t *)&lk->lock);
		fk_rwlock_readers++;
	} else {
		fk_rcu_read_lock();
	}
}

static inline void fk_read_unlock(const struct fk_lookup *lk)
{
	if (lk->mode == FK_LOOKUP_RWLOCK) {
		fk_rwlock_readers--;
		pthread_rwlock_unlock((pthread_rwlock_t *)&lk->lock);
	} else {
		fk_rcu_read_unlock();
	}
}

/* Wait for every read section that started before (a grace period). */
static inline void fk_read_synchronize(struct fk_lookup *lk)
{
	if (lk->mode == FK_LOOKUP_RWLOCK) {
		pthread_rwlock_wrlock(&lk->lock);
		pthread_rwlock_unlock(&lk->lock);
	} else {
		fk_rcu_synchronize();
	}
}

/*
 * Is the calling thread inside a read section (of any context, in either
 * mode)? A writer's wait would then never end, so hot-plug refuses.
 */
static inline int fk_read_ongoing(void)
{
	return fk_rwlock_readers != 0 || (fk_rcu_registered() && urcu_memb_read_ongoing());
}

#endif /* FK_LOOKUP_INTERNAL_H */
