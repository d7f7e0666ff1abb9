/* SPDX-License-Identifier: MIT */
/*
 * The buddy baselines' locks: one wrapper over Concurrency Kit's ticket and
 * MCS spinlocks and a pthread mutex, chosen by name at creation
 * (fk_alloc_params.lock). CK is inline asm, so ThreadSanitizer cannot see
 * its happens-before edges: every acquire/release is bracketed by the
 * __tsan_mutex_* hooks (tsan_internal.h says where they are documented).
 */
#ifndef FK_ALLOC_LOCK_INTERNAL_H
#define FK_ALLOC_LOCK_INTERNAL_H

#include <ck_spinlock.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <string.h>

#include <framekit/error.h>

#include "tsan_internal.h"

enum fk_lock_kind { FK_LOCK_TICKET, FK_LOCK_MCS, FK_LOCK_MUTEX };

struct fk_lock {
	enum fk_lock_kind kind;
	union {
		ck_spinlock_ticket_t ticket;
		ck_spinlock_mcs_t mcs; /* queue tail */
		pthread_mutex_t mutex;
	} u;
};

/* Per-acquisition state: the MCS queue node lives on the caller's stack. */
struct fk_lock_ctx {
	ck_spinlock_mcs_context_t mcs;
};

/* name NULL or "" = "ticket". FK_EINVAL for an unknown name. */
static inline int fk_lock_init(struct fk_lock *l, const char *name)
{
	if (name == NULL || name[0] == '\0' || strcmp(name, "ticket") == 0) {
		l->kind = FK_LOCK_TICKET;
		ck_spinlock_ticket_init(&l->u.ticket);
	} else if (strcmp(name, "mcs") == 0) {
		l->kind = FK_LOCK_MCS;
		ck_spinlock_mcs_init(&l->u.mcs);
	} else if (strcmp(name, "mutex") == 0) {
		l->kind = FK_LOCK_MUTEX;
		if (pthread_mutex_init(&l->u.mutex, NULL) != 0)
			return FK_ENOMEM;
	} else {
		return FK_EINVAL;
	}
	fk_tsan_mutex_create(l);
	return 0;
}

static inline void fk_lock_fini(struct fk_lock *l)
{
	fk_tsan_mutex_destroy(l);
	if (l->kind == FK_LOCK_MUTEX)
		pthread_mutex_destroy(&l->u.mutex);
}

/*
 * Spinlocks in user space: a FIFO lock (ticket, MCS) hands the lock to the
 * next waiter even when that waiter is descheduled, and with more threads
 * than cores each such hand-off costs a time slice (measured here: 8
 * threads on 2 cores, 190 s instead of 0.01 s). So we first try to take the
 * lock while nobody queues (CK trylock), spinning and then yielding between
 * tries; a thread that is preempted while trying holds no place in the
 * queue. Only after FK_LOCK_TRIES failed tries does it queue for real.
 */
#define FK_LOCK_SPINS 32
#define FK_LOCK_TRIES 256

static inline bool lock_try(struct fk_lock *l, struct fk_lock_ctx *ctx)
{
	switch (l->kind) {
	case FK_LOCK_TICKET:
		return ck_spinlock_ticket_trylock(&l->u.ticket);
	case FK_LOCK_MCS:
		return ck_spinlock_mcs_trylock(&l->u.mcs, &ctx->mcs);
	case FK_LOCK_MUTEX:
		return pthread_mutex_trylock(&l->u.mutex) == 0;
	}
	return false;
}

static inline void fk_lock_acquire(struct fk_lock *l, struct fk_lock_ctx *ctx)
{
	fk_tsan_mutex_pre_lock(l);
	if (l->kind != FK_LOCK_MUTEX) {
		for (unsigned i = 0; i < FK_LOCK_TRIES; i++) {
			if (lock_try(l, ctx))
				goto locked;
			if (i < FK_LOCK_SPINS)
				ck_pr_stall();
			else
				sched_yield();
		}
	}
	switch (l->kind) {
	case FK_LOCK_TICKET:
		ck_spinlock_ticket_lock(&l->u.ticket);
		break;
	case FK_LOCK_MCS:
		ck_spinlock_mcs_lock(&l->u.mcs, &ctx->mcs);
		break;
	case FK_LOCK_MUTEX:
		pthread_mutex_lock(&l->u.mutex);
		break;
	}
locked:
	fk_tsan_mutex_post_lock(l);
}

static inline void fk_lock_release(struct fk_lock *l, struct fk_lock_ctx *ctx)
{
	fk_tsan_mutex_pre_unlock(l);
	switch (l->kind) {
	case FK_LOCK_TICKET:
		ck_spinlock_ticket_unlock(&l->u.ticket);
		break;
	case FK_LOCK_MCS:
		ck_spinlock_mcs_unlock(&l->u.mcs, &ctx->mcs);
		break;
	case FK_LOCK_MUTEX:
		pthread_mutex_unlock(&l->u.mutex);
		break;
	}
	fk_tsan_mutex_post_unlock(l);
}

/* A small uncontended lock (buddy-pcp's per-CPU lists): CK FAS spinlock. */
struct fk_small_lock {
	ck_spinlock_fas_t fas;
};

static inline void fk_small_lock_init(struct fk_small_lock *l)
{
	ck_spinlock_fas_init(&l->fas);
	fk_tsan_mutex_create(l);
}

static inline void fk_small_lock_fini(struct fk_small_lock *l)
{
	fk_tsan_mutex_destroy(l);
}

/*
 * Spin briefly, then yield: user space cannot disable preemption, so the
 * holder of a per-CPU lock may be descheduled (more threads than cores, or
 * two threads sharing a CPU index); pure spinning would burn whole time
 * slices.
 */
static inline void fk_small_lock_acquire(struct fk_small_lock *l)
{
	unsigned spins = 0;
	fk_tsan_mutex_pre_lock(l);
	while (!ck_spinlock_fas_trylock(&l->fas)) {
		if (++spins < 128) {
			ck_pr_stall();
		} else {
			sched_yield();
			spins = 0;
		}
	}
	fk_tsan_mutex_post_lock(l);
}

static inline void fk_small_lock_release(struct fk_small_lock *l)
{
	fk_tsan_mutex_pre_unlock(l);
	ck_spinlock_fas_unlock(&l->fas);
	fk_tsan_mutex_post_unlock(l);
}

#endif /* FK_ALLOC_LOCK_INTERNAL_H */
