/* SPDX-License-Identifier: MIT */
/*
 * a_late_dealloc_does_not_mark_a_later_free_done
 *
 * The stress harness's FK_ENOMEM classifier (stress/stress_common.h) keeps
 * a word per frame: FREE means the allocator has the frame. A dealloc
 * moves the frames HELD -> FREEING before its call and FREEING -> FREE
 * after it. If that thread is preempted between the call and its second
 * move (a mutex unlock that wakes a waiter is a typical place), another
 * thread may allocate the frames and start freeing them (FREEING again)
 * before the first thread resumes. The resumed move must not take the
 * second dealloc's FREEING for its own: the frames are not back in the
 * allocator yet, and an allocation failing right then is justified.
 *
 * Driven step by step with a fake allocator whose dealloc parks the
 * calling thread (after giving the frames back, or before), so the
 * interleaving is exact. This is the interleaving behind the flagged
 * "UNJUSTIFIED FK_ENOMEM ... 512-frame block at 0x40000000" of
 * framekit_stress (buddy-global, lock mutex, seed 581819; issue 8).
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <framekit/framekit.h>

#include "../stress/stress_common.h"
#include "fk_test.h"

#define TEST_NAME "a_late_dealloc_does_not_mark_a_later_free_done"
#define BASE      0x10000000ull
#define NF        8ull

/* ---- the fake allocator: one range of NF frames, all or nothing ---- */

enum park { PARK_NONE, PARK_AFTER, PARK_BEFORE };

static pthread_mutex_t fa_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t fa_cv = PTHREAD_COND_INITIALIZER;
static int fa_free;            /* the range is free in the fake allocator */
static enum park fa_next_park; /* what the next dealloc does */
static int fa_parked[3];       /* a dealloc is parked (by park kind) */
static int fa_go[3];           /* the parked dealloc may return */

static void fa_wait_go(enum park k)
{
	fa_parked[k] = 1;
	pthread_cond_broadcast(&fa_cv);
	while (!fa_go[k])
		pthread_cond_wait(&fa_cv, &fa_mu);
	fa_parked[k] = 0;
	fa_go[k] = 0;
}

static int fa_create(const struct fk_alloc_params *p, unsigned nn, const int *cn, unsigned nc,
                     void **st)
{
	(void)p, (void)nn, (void)cn, (void)nc;
	*st = &fa_free;
	return 0;
}

static void fa_destroy(void *st)
{
	(void)st;
}

static int fa_alloc(void *st, uint64_t n, unsigned align, int node, unsigned flags, uint64_t *pa)
{
	(void)st, (void)align, (void)node, (void)flags;
	int rc = FK_ENOMEM;
	pthread_mutex_lock(&fa_mu);
	if (n == NF && fa_free) {
		fa_free = 0;
		*pa = BASE;
		rc = 0;
	}
	pthread_mutex_unlock(&fa_mu);
	return rc;
}

static int fa_dealloc(void *st, uint64_t pa, uint64_t n)
{
	(void)st;
	int rc = 0;
	pthread_mutex_lock(&fa_mu);
	enum park k = fa_next_park;
	fa_next_park = PARK_NONE;
	if (k == PARK_BEFORE)
		fa_wait_go(k);
	if (pa != BASE || n != NF || fa_free)
		rc = FK_EUNUSED;
	else
		fa_free = 1;
	if (k == PARK_AFTER)
		fa_wait_go(k);
	pthread_mutex_unlock(&fa_mu);
	return rc;
}

static int fa_add(void *st, uint64_t pa, uint64_t n, int node)
{
	(void)st, (void)node;
	pthread_mutex_lock(&fa_mu);
	int rc = pa == BASE && n == NF && !fa_free ? (fa_free = 1, 0) : FK_EEXIST;
	pthread_mutex_unlock(&fa_mu);
	return rc;
}

static int fa_remove(void *st, uint64_t pa, uint64_t n)
{
	(void)st, (void)pa, (void)n;
	return FK_EBUSY;
}

static int fa_stats(void *st, int node, struct fk_alloc_stats *out)
{
	(void)st, (void)node;
	memset(out, 0, sizeof(*out));
	return 0;
}

static const struct fk_allocator_ops fa_ops = {
    .name = "fake",
    .create = fa_create,
    .destroy = fa_destroy,
    .alloc = fa_alloc,
    .dealloc = fa_dealloc,
    .add_free_memory = fa_add,
    .remove_free_memory = fa_remove,
    .stats = fa_stats,
};

/* Park the next dealloc (kind k); wait until a thread is parked there. */
static void arm_park(enum park k)
{
	pthread_mutex_lock(&fa_mu);
	fa_next_park = k;
	pthread_mutex_unlock(&fa_mu);
}

static void wait_parked(enum park k)
{
	pthread_mutex_lock(&fa_mu);
	while (!fa_parked[k])
		pthread_cond_wait(&fa_cv, &fa_mu);
	pthread_mutex_unlock(&fa_mu);
}

static void release(enum park k)
{
	pthread_mutex_lock(&fa_mu);
	fa_go[k] = 1;
	pthread_cond_broadcast(&fa_cv);
	pthread_mutex_unlock(&fa_mu);
}

/* ---- the two freeing threads ---- */

static const struct fk_allocator_ops *ops; /* the wrapper */
static void *wst;

static void *dealloc_main(void *arg)
{
	*(int *)arg = ops->dealloc(wst, BASE, NF);
	return NULL;
}

static unsigned word_state(uint64_t i)
{
	return sc_track_state(BASE + i * FK_PAGE_SIZE);
}

static void run(void)
{
	uint64_t pa = 0;
	int rc_d = -1, rc_a = -1;
	pthread_t d, a;
	ops = sc_wrap(&fa_ops, 0);
	CHECK(sc_track_add(BASE, NF, 0) == 0);
	CHECK_OK(ops->create(NULL, 1, NULL, 1, &wst));
	CHECK_OK(ops->add_free_memory(wst, BASE, NF, 0));
	CHECK_EQ(word_state(0), SC_FREE);

	/* D holds the range and frees it; its call gives the frames back and
	 * then D is "preempted" before the wrapper records it. */
	CHECK_OK(ops->alloc(wst, NF, 0, 0, 0, &pa));
	CHECK_EQ(pa, BASE);
	arm_park(PARK_AFTER);
	CHECK(pthread_create(&d, NULL, dealloc_main, &rc_d) == 0);
	wait_parked(PARK_AFTER);

	/* Meanwhile the range is allocated again, and A starts freeing it; A's
	 * call has not given it back yet (waits for the allocator's lock). */
	CHECK_OK(ops->alloc(wst, NF, 0, 0, 0, &pa));
	CHECK_EQ(pa, BASE);
	CHECK_EQ(word_state(0), SC_HELD);
	arm_park(PARK_BEFORE);
	CHECK(pthread_create(&a, NULL, dealloc_main, &rc_a) == 0);
	wait_parked(PARK_BEFORE);
	CHECK_EQ(word_state(0), SC_FREEING);

	/* D resumes and finishes its dealloc. */
	release(PARK_AFTER);
	pthread_join(d, NULL);
	CHECK_OK(rc_d);

	/* The range is not in the allocator: this allocation fails, and the
	 * classifier must find no free block (the words still say FREEING). */
	int failed = 0;
	for (uint64_t i = 0; i < NF; i++)
		if (word_state(i) != SC_FREEING) {
			fprintf(stderr, "  frame %" PRIu64 ": state %u, expected FREEING (%u)\n", i,
			        word_state(i), SC_FREEING);
			failed = 1;
		}
	struct sc_call call;
	sc_call_begin(&call);
	int rc = ops->alloc(wst, NF, 0, 0, 0, &pa);
	int flagged = rc == FK_ENOMEM ? sc_enomem_classify(&call, NF, 0, stderr) : -1;

	release(PARK_BEFORE);
	pthread_join(a, NULL);
	CHECK_ERR(rc, FK_ENOMEM);
	CHECK_OK(rc_a);
	CHECK_EQ(flagged, 0);
	CHECK_EQ(atomic_load(&sc_enomem.no_block), 1);
	CHECK(!failed);
	/* A's dealloc recorded: the range is free again, for the tracker too. */
	for (uint64_t i = 0; i < NF; i++)
		CHECK_EQ(word_state(i), SC_FREE);
	CHECK_OK(ops->alloc(wst, NF, 0, 0, 0, &pa));
	CHECK_OK(ops->dealloc(wst, pa, NF));
	CHECK(sc_check_wrap_balance(stderr) == 0);
	ops->destroy(wst);
	sc_track_reset();
}

int main(int argc, char **argv)
{
	fk_test_args(argc, argv);
	if (fk_test_selected(TEST_NAME " [tracker]")) {
		fk_test_failed_flag = 0;
		run();
		fk_test_record(TEST_NAME, "tracker", fk_test_failed_flag);
	}
	return fk_test_finish();
}
