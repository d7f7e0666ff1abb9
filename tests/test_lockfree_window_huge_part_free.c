/*
 * Issue 18, defect 1: parts of one huge frame freed concurrently. A free of
 * a part spanning several words met a word still marked as a whole-area
 * block (another free was converting the block word by word) after it had
 * cleared earlier words, and set them again. Between the clear and the
 * re-set those frames were free to a quota holder; its frames were then
 * freed under it by the retried release (a frame with two owners).
 *
 * The interleaving is forced with pause points (tests/test_lockfree_pause.h):
 * B converts the block and stops before word 3; A frees words 1..3 and stops
 * after clearing word 1; the test frees other parts (quota) and allocates
 * 20 frames, which land in word 1; then A and B finish. The taker must still
 * own its frames.
 */
#include "test_lockfree_fix.h"
#include "test_lockfree_pause.h"

#define BASE 0x40000ull /* area aligned */

struct racer {
	struct lfx *f;
	struct lp_thread lp;
	enum lf_pause_point point;
	unsigned skip;
	uint64_t pfn, n;
	int err;
};

static void *racer_free(void *p)
{
	struct racer *r = p;
	lp_arm(&r->lp, r->point, r->skip, NULL, NULL);
	r->err = lfx_free(r->f, r->pfn, r->n);
	return NULL;
}

static void a_part_free_meeting_a_block_being_converted_never_frees_a_takers_frames(void)
{
	struct lfx f;
	uint64_t h, x;
	pthread_t ta, tb;
	CHECK_OK(lfx_open(&f, 1));
	CHECK_OK(lfx_add(&f, BASE, 512));
	CHECK_OK(lfx_alloc(&f, 512, 9, &h));
	/* B: frees frame 0; converts the block, stops before word 3. */
	struct racer b = {.f = &f, .point = LF_PAUSE_UNHUGE_WORD, .skip = 3, .pfn = h, .n = 1};
	/* A: frees words 1..3, stops after clearing its first word. */
	struct racer a = {.f = &f, .point = LF_PAUSE_RELEASE_WORD, .pfn = h + 32, .n = 96};
	lp_init(&a.lp);
	lp_init(&b.lp);
	CHECK(pthread_create(&tb, NULL, racer_free, &b) == 0);
	lp_wait(&b.lp);
	CHECK(pthread_create(&ta, NULL, racer_free, &a) == 0);
	lp_wait(&a.lp);
	/* Other parts of converted word 0 give quota (runs of 19 and 11,
	 * frame 20 kept); a 20-frame request then fits only in A's words. */
	int e1 = lfx_free(&f, h + 1, 19), e2 = lfx_free(&f, h + 21, 11);
	int e3 = lfx_alloc(&f, 20, 0, &x);
	lp_resume(&a.lp);
	pthread_join(ta, NULL);
	lp_resume(&b.lp);
	pthread_join(tb, NULL);
	CHECK_OK(e1);
	CHECK_OK(e2);
	CHECK_OK(e3);
	CHECK_EQ(x, h + 32); /* the window: the taker got A's cleared frames */
	CHECK_OK(a.err);
	CHECK_OK(b.err);
	/* The taker still owns them: its free succeeds once, and everything
	 * freed makes the area whole again. */
	CHECK_OK(lfx_free(&f, x, 20));
	CHECK_ERR(lfx_free(&f, x, 20), FK_EUNUSED);
	CHECK_OK(lfx_free(&f, h + 20, 1));
	CHECK_OK(lfx_free(&f, h + 128, 384));
	struct fk_alloc_stats s = lfx_stats(&f);
	CHECK_EQ(s.free_frames, 512);
	CHECK_EQ(s.free_blocks[9], 1);
	CHECK_OK(lfx_alloc(&f, 512, 9, &h));
	CHECK_OK(lfx_free(&f, h, 512));
	lp_destroy(&a.lp);
	lp_destroy(&b.lp);
	lfx_close(&f);
}

int main(int argc, char **argv)
{
	fk_test_args(argc, argv);
	RUN(a_part_free_meeting_a_block_being_converted_never_frees_a_takers_frames);
	return fk_test_finish();
}
