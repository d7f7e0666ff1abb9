/*
 * Pause points for the race-window tests (tests/test_lockfree_window_*.c):
 * these binaries build the lockfree sources with FK_LF_PAUSE_HOOKS
 * (tests/CMakeLists.txt), so every LF_PAUSE(point) in them calls
 * lf_test_pause below. A thread arms one point for itself (lp_arm); when it
 * gets there it either stops until the test resumes it (the test waits for
 * it with lp_wait), or runs a callback (another thread's step, done at that
 * instant). No sleep, no timing: the interleaving is forced by handshakes.
 */
#ifndef TEST_LOCKFREE_PAUSE_H
#define TEST_LOCKFREE_PAUSE_H

#include <pthread.h>
#include <semaphore.h>

#include "alloc/lockfree/lockfree_internal.h"

struct lp_thread {
	int want;           /* the armed point, or -1 */
	unsigned skip;      /* arrivals at it to let pass first */
	void (*fn)(void *); /* if set: run instead of stopping */
	void *arg;
	sem_t reached, resume;
	int hits; /* times the armed point stopped or ran fn */
};

static __thread struct lp_thread *lp_self;

static inline void lp_init(struct lp_thread *t)
{
	memset(t, 0, sizeof(*t));
	t->want = -1;
	sem_init(&t->reached, 0, 0);
	sem_init(&t->resume, 0, 0);
}

static inline void lp_destroy(struct lp_thread *t)
{
	sem_destroy(&t->reached);
	sem_destroy(&t->resume);
}

/* The calling thread stops (fn NULL) or runs fn(arg) at its skip+1-th
 * arrival at point p; once. t must outlive the arrival. */
static inline void lp_arm(struct lp_thread *t, enum lf_pause_point p, unsigned skip,
                          void (*fn)(void *), void *arg)
{
	t->want = (int)p;
	t->skip = skip;
	t->fn = fn;
	t->arg = arg;
	lp_self = t;
}

/* Wait until thread t stopped at its point (it waits for lp_resume). */
static inline void lp_wait(struct lp_thread *t)
{
	while (sem_wait(&t->reached))
		;
}

static inline void lp_resume(struct lp_thread *t)
{
	sem_post(&t->resume);
}

void lf_test_pause(enum lf_pause_point p)
{
	struct lp_thread *t = lp_self;
	if (!t || t->want != (int)p)
		return;
	if (t->skip) {
		t->skip--;
		return;
	}
	t->want = -1; /* once: the step below may pass the point again */
	t->hits++;
	if (t->fn) {
		t->fn(t->arg);
		return;
	}
	sem_post(&t->reached);
	while (sem_wait(&t->resume))
		;
}

#endif /* TEST_LOCKFREE_PAUSE_H */
