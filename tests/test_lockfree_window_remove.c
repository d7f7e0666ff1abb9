/*
 * Issue 18, defect 3: remove_free_memory refused (FK_EBUSY) a range whose
 * frames were all free, because the area's counter was short for a moment:
 * an allocation that cannot fit held quota (take quota, find no fitting
 * bits, give it back), or a CPU's cache claimed a word that straddles the
 * range's edge (its claim takes the word's quota). FK_EBUSY must mean that
 * a frame of the range was allocated during the call.
 *
 * Forced with pause points (tests/test_lockfree_pause.h), no timing.
 */
#include "test_lockfree_fix.h"
#include "test_lockfree_pause.h"

#define BASE 0x40000ull /* area aligned */

struct holder {
	struct lfx *f;
	struct lp_thread lp;
	pthread_t t;
	uint64_t pfn;
	int err, resumed;
};

static void *holder_main(void *p)
{
	struct holder *a = p;
	lp_arm(&a->lp, LF_PAUSE_QUOTA_HELD, 0, NULL, NULL);
	a->err = lfx_alloc(a->f, 5, 3, &a->pfn); /* 5 frames aligned to 8 */
	return NULL;
}

/* At the removal's wait: let the holder give its quota back and finish. */
static void finish_holder(void *p)
{
	struct holder *a = p;
	a->resumed = 1;
	lp_resume(&a->lp);
	pthread_join(a->t, NULL);
}

static void a_free_range_is_removed_while_an_unfitting_allocation_holds_its_quota(void)
{
	struct lfx f;
	uint64_t h;
	struct holder a = {.f = &f};
	struct lp_thread me;
	CHECK_OK(lfx_open(&f, 1));
	CHECK_OK(lfx_add(&f, BASE, 512));
	CHECK_OK(lfx_alloc(&f, 512, 9, &h));
	CHECK_OK(lfx_free(&f, h + 3, 7)); /* the only free run: [3, 10) */
	lp_init(&a.lp);
	lp_init(&me);
	CHECK(pthread_create(&a.t, NULL, holder_main, &a) == 0);
	lp_wait(&a.lp); /* it holds 5 of the 7 frames' quota */
	lp_arm(&me, LF_PAUSE_REMOVE_WAIT, 0, finish_holder, &a);
	int err = lfx_remove(&f, h + 3, 7);
	lp_self = NULL;
	if (!a.resumed)
		finish_holder(&a);
	CHECK_OK(err);
	CHECK_ERR(a.err, FK_ENOMEM); /* nothing fits it, then or now */
	CHECK_OK(lfx_free(&f, h, 3));
	CHECK_OK(lfx_free(&f, h + 10, 502));
	struct fk_alloc_stats s = lfx_stats(&f);
	CHECK_EQ(s.total_frames, 505);
	CHECK_EQ(s.free_frames, 505);
	lp_destroy(&a.lp);
	lp_destroy(&me);
	lfx_close(&f);
}

struct taker {
	struct lfx *f;
	uint64_t pfn;
	int err;
};

/* Another CPU's step at the removal's pause: one frame outside the range,
 * from a word that straddles its edge; the cache then claims that word. */
static void take_one(void *p)
{
	struct taker *t = p;
	t->err = lfx_alloc(t->f, 1, 0, &t->pfn);
}

static void a_free_range_is_removed_while_a_cache_claims_a_word_across_its_edge(void)
{
	struct lfx f;
	uint64_t h;
	struct taker t = {.f = &f};
	struct lp_thread me;
	CHECK_OK(lfx_open(&f, 1));
	CHECK_OK(lfx_add(&f, BASE, 512));
	CHECK_OK(lfx_alloc(&f, 512, 9, &h));
	CHECK_OK(lfx_free(&f, h + 8, 40)); /* free: [8, 48); remove [16, 48) */
	lp_init(&me);
	lp_arm(&me, LF_PAUSE_REMOVE_RETIRED, 0, take_one, &t);
	int err = lfx_remove(&f, h + 16, 32);
	lp_self = NULL;
	CHECK_EQ(me.hits, 1);
	CHECK_OK(t.err);
	CHECK_EQ(t.pfn, h + 8); /* word 0, outside the range */
	CHECK_OK(err);
	CHECK_OK(lfx_free(&f, t.pfn, 1));
	CHECK_OK(lfx_free(&f, h, 8));
	CHECK_OK(lfx_free(&f, h + 48, 464));
	struct fk_alloc_stats s = lfx_stats(&f);
	CHECK_EQ(s.total_frames, 480);
	CHECK_EQ(s.free_frames, 480);
	lp_destroy(&me);
	lfx_close(&f);
}

int main(int argc, char **argv)
{
	fk_test_args(argc, argv);
	RUN(a_free_range_is_removed_while_an_unfitting_allocation_holds_its_quota);
	RUN(a_free_range_is_removed_while_a_cache_claims_a_word_across_its_edge);
	return fk_test_finish();
}
