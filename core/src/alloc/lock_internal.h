/*
 * The buddy baselines' locks: one wrapper over Concurrency Kit's ticket and
 * MCS spinlocks and a pthread mutex, chosen by name at creation
 * (fk_alloc_params.lock). CK is inline asm, so ThreadSanitizer cannot see
 * its happens-before edges: every acquire/release is bracketed by the
 * __tsan_mutex_* hooks (tsan_internal.h; ecosystem.md section 3).
 */
#ifndef FK_ALLOC_LOCK_INTERNAL_H
#define FK_ALLOC_LOCK_INTERNAL_H

#include <ck_spinlock.h>
#include <pthread.h>
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

static inline void fk_lock_acquire(struct fk_lock *l, struct fk_lock_ctx *ctx)
{
	fk_tsan_mutex_pre_lock(l);
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

static inline void fk_small_lock_acquire(struct fk_small_lock *l)
{
	fk_tsan_mutex_pre_lock(l);
	ck_spinlock_fas_lock(&l->fas);
	fk_tsan_mutex_post_lock(l);
}

static inline void fk_small_lock_release(struct fk_small_lock *l)
{
	fk_tsan_mutex_pre_unlock(l);
	ck_spinlock_fas_unlock(&l->fas);
	fk_tsan_mutex_post_unlock(l);
}

#endif /* FK_ALLOC_LOCK_INTERNAL_H */
