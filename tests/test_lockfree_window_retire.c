/*
 * Issue 18, defect 2: a whole-area request failed (FK_ENOMEM) while every
 * frame was free. Retiring a cached word is one CAS on the word (claim ->
 * 0) and then the quota given to the counter; a thread stopped between the
 * two (a drain, or another failing allocation's retirement) leaves a fully
 * free area whose counter is short. The order-9 (or span) request found
 * nothing left to retire, and its retry did not wait because the bit-field
 * check (lf_block_visible) answered "no" for whole areas.
 *
 * Forced with pause points (tests/test_lockfree_pause.h): D drains and
 * stops after retiring the cached word; the test asks for the whole memory;
 * when (and only if) the request waits for a holder, D finishes.
 */
#include "test_lockfree_fix.h"
#include "test_lockfree_pause.h"

#define BASE 0x40000ull /* aligned to 2 areas */

struct drainer {
	struct lfx *f;
	struct lp_thread lp;
	pthread_t t;
	int resumed;
};

static void *drain_main(void *p)
{
	struct drainer *d = p;
	lp_arm(&d->lp, LF_PAUSE_RETIRED, 0, NULL, NULL);
	d->f->ops->drain(d->f->st);
	return NULL;
}

/* At the request's wait: let D give its quota back, and wait for it. */
static void finish_drainer(void *p)
{
	struct drainer *d = p;
	d->resumed = 1;
	lp_resume(&d->lp);
	pthread_join(d->t, NULL);
}

static void whole_request_during_retirement(uint64_t frames, unsigned align)
{
	struct lfx f;
	uint64_t x, h;
	struct drainer d = {.f = &f};
	struct lp_thread me;
	CHECK_OK(lfx_open(&f, 1));
	CHECK_OK(lfx_add(&f, BASE, frames));
	/* One order-0 pair leaves its word claimed by the CPU's cache. */
	CHECK_OK(lfx_alloc(&f, 1, 0, &x));
	CHECK_OK(lfx_free(&f, x, 1));
	lp_init(&d.lp);
	lp_init(&me);
	CHECK(pthread_create(&d.t, NULL, drain_main, &d) == 0);
	lp_wait(&d.lp); /* the word is retired, its quota not given */
	lp_arm(&me, LF_PAUSE_ALLOC_WAIT, 0, finish_drainer, &d);
	int err = lfx_alloc(&f, frames, align, &h);
	lp_self = NULL;
	if (!d.resumed)
		finish_drainer(&d);
	CHECK_OK(err);
	CHECK_EQ(h, BASE);
	CHECK_OK(lfx_free(&f, h, frames));
	CHECK_EQ(lfx_stats(&f).free_frames, frames);
	lp_destroy(&d.lp);
	lp_destroy(&me);
	lfx_close(&f);
}

static void an_order_9_request_waits_out_a_retirement_instead_of_failing(void)
{
	whole_request_during_retirement(512, 9);
}

static void a_two_area_request_waits_out_a_retirement_instead_of_failing(void)
{
	whole_request_during_retirement(1024, 10);
}

int main(int argc, char **argv)
{
	fk_test_args(argc, argv);
	RUN(an_order_9_request_waits_out_a_retirement_instead_of_failing);
	RUN(a_two_area_request_waits_out_a_retirement_instead_of_failing);
	return fk_test_finish();
}
