/* SPDX-License-Identifier: MIT */
/*
 * lockfree under contention near exhaustion: an allocation that takes an
 * area's quota and then finds no fitting bits gives the quota back, and
 * while it holds that quota the counter shows less than is free. A
 * concurrent small allocation in that area must not fail for it: a block
 * that stays free for the whole call is found (FK_ENOMEM means "no block").
 *
 * One 512-frame area; the test holds all of it except one aligned 4-frame
 * block X and four isolated frames (free 8 = the quota an 8-frame request
 * takes). A pest thread asks for 8 aligned frames again and again: it
 * always takes all 8 frames of quota and always fails (no aligned run of 8
 * is clear). The main thread takes and frees X (4 frames, then 1 frame)
 * in a loop; the model says X is free before every call, so every
 * FK_ENOMEM there is unjustified. Before the fix this failed in well under
 * a second (the retry path gave up while the pest held the quota).
 *
 * The same for a request that is rounded up inside an area (65-255 frames
 * take 2 or 4 whole words, 257-511 the whole area): its tail was taken
 * with the block and freed right after, so for a moment a concurrent
 * request saw neither quota nor clear bits there and failed, although the
 * tail frames were never allocated (before the fix: hundreds of
 * unjustified failures per second; stress TSan seed 4040).
 */
#include <time.h>

#include "test_lockfree_fix.h"

#define BASE   0x20000ull /* area aligned (512 frames) */
#define FRAMES 512ull
#define X      (BASE + 64) /* the 4-frame block */

struct pest {
	struct lfx *f;
	atomic_int stop;
	uint64_t n;     /* frames per request */
	unsigned align; /* alignment order */
	uint64_t tries, wins;
};

static void pest_main(void *p)
{
	struct pest *e = p;
	uint64_t pfn;
	/* relaxed: a stop flag; nothing else is handed over through it. */
	while (!atomic_load_explicit(&e->stop, memory_order_relaxed)) {
		if (lfx_alloc(e->f, e->n, e->align, &pfn) == 0) {
			e->wins++;
			CHECK_OK(lfx_free(e->f, pfn, e->n));
		}
		e->tries++;
	}
}

static void *pest_thread(void *p)
{
	struct pest *e = p;
	lfx_pin(1);
	pest_main(e);
	return NULL;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void small_alloc_finds_a_free_block_while_a_failing_request_holds_quota(void)
{
	struct lfx f;
	uint64_t all;
	CHECK_OK(lfx_open(&f, 2));
	CHECK_OK(lfx_add(&f, BASE, FRAMES));
	CHECK_OK(lfx_alloc(&f, FRAMES, 9, &all));
	CHECK_EQ(all, BASE);
	/* free: X (4 frames at an offset aligned to 4) and four isolated frames */
	CHECK_OK(lfx_free(&f, X, 4));
	static const uint64_t lone[4] = {BASE + 129, BASE + 259, BASE + 389, BASE + 501};
	for (int i = 0; i < 4; i++)
		CHECK_OK(lfx_free(&f, lone[i], 1));

	struct pest e = {.f = &f, .n = 8, .align = 3}; /* never wins: no aligned run of 8 */
	pthread_t t;
	CHECK_OK(pthread_create(&t, NULL, pest_thread, &e));
	lfx_pin(0);
	uint64_t calls = 0, enomem = 0, waited = 0;
	int unexpected = 0;
	double end = now_s() + 1.0; /* a bound on the work, not a speed check */
	while (now_s() < end && calls < 400000) {
		uint64_t pfn;
		/* the model: the test holds every frame but X and the lone four,
		 * the pest never wins; so a 4-frame request has X, and a 1-frame
		 * request has X and the lone four. */
		unsigned n = (calls & 1) ? 1 : 4;
		double t0 = now_s();
		int err = lfx_alloc(&f, n, 0, &pfn);
		calls++;
		if (err == FK_ENOMEM) {
			/* The allocator waits a bounded time (50 ms, LOCKFREE.md
			 * "Progress") for a quota holder; the pest preempted for
			 * longer on a loaded machine may outlast it. Only a
			 * failure that did not wait that long is wrong. */
			if (now_s() - t0 < 0.045)
				enomem++;
			else
				waited++;
			continue;
		}
		if (err || (n == 4 && pfn != X) ||
		    (n == 1 && !(pfn >= X && pfn < X + 4) && pfn != lone[0] && pfn != lone[1] &&
		     pfn != lone[2] && pfn != lone[3])) {
			unexpected++;
			break;
		}
		CHECK_OK(lfx_free(&f, pfn, n));
	}
	/* relaxed: see pest_main. */
	atomic_store_explicit(&e.stop, 1, memory_order_relaxed);
	pthread_join(t, NULL);
	printf("  %" PRIu64 " calls, %" PRIu64 " pest tries, %" PRIu64 " waited out\n", calls, e.tries,
	       waited);
	CHECK_EQ(unexpected, 0);
	CHECK_EQ(e.wins, 0);
	CHECK_EQ(enomem, 0); /* each one had X free for the whole call */
	for (int i = 0; i < 4; i++)
		CHECK_EQ(lfx_free(&f, lone[i], 1), FK_EUNUSED); /* still free */
	struct fk_alloc_stats s = lfx_stats(&f);
	CHECK_EQ(s.free_frames, 8);
	lfx_close(&f);
}

/*
 * The pest allocates and frees n frames (rounded up inside the area) in a
 * loop; the main thread allocates and frees one frame. Before every call
 * of the main thread at least `spare` frames of the area are free (the
 * pest holds at most n of the `free` the test left), so every FK_ENOMEM
 * there is unjustified.
 */
static void one_frame_beside_a_rounded_up_request(uint64_t n, uint64_t held)
{
	struct lfx f;
	uint64_t all;
	CHECK_OK(lfx_open(&f, 2));
	CHECK_OK(lfx_add(&f, BASE, FRAMES));
	CHECK_OK(lfx_alloc(&f, FRAMES, 9, &all));
	CHECK_EQ(all, BASE);
	/* the test holds the first `held` frames, the rest is free */
	if (held)
		CHECK_OK(lfx_free(&f, BASE + held, FRAMES - held));
	else
		CHECK_OK(lfx_free(&f, BASE, FRAMES));

	struct pest e = {.f = &f, .n = n, .align = 0};
	pthread_t t;
	CHECK_OK(pthread_create(&t, NULL, pest_thread, &e));
	lfx_pin(0);
	uint64_t calls = 0, enomem = 0, waited = 0, wins = 0;
	int unexpected = 0;
	double end = now_s() + 0.5; /* a bound on the work, not a speed check */
	while (now_s() < end && calls < 200000) {
		uint64_t pfn;
		double t0 = now_s();
		int err = lfx_alloc(&f, 1, 0, &pfn);
		calls++;
		if (err == FK_ENOMEM) {
			if (now_s() - t0 < 0.045) /* as above: a wait outlasted */
				enomem++;
			else
				waited++;
			continue;
		}
		if (err || pfn < BASE + held || pfn >= BASE + FRAMES) {
			unexpected++;
			break;
		}
		wins++;
		CHECK_OK(lfx_free(&f, pfn, 1));
	}
	/* relaxed: see pest_main. */
	atomic_store_explicit(&e.stop, 1, memory_order_relaxed);
	pthread_join(t, NULL);
	printf("  n=%" PRIu64 ": %" PRIu64 " calls (%" PRIu64 " FK_ENOMEM), %" PRIu64
	       " pest tries (%" PRIu64 " won), %" PRIu64 " waited out\n",
	       n, calls, enomem, e.tries, e.wins, waited);
	EXPECT(unexpected == 0, "a frame outside the free part");
	/* each call had FRAMES - held - n frames free throughout */
	EXPECT(enomem == 0, "%" PRIu64 " unjustified FK_ENOMEM", enomem);
	struct fk_alloc_stats s = lfx_stats(&f);
	CHECK_EQ(s.free_frames, FRAMES - held);
	if (held)
		CHECK_OK(lfx_free(&f, BASE, held));
	s = lfx_stats(&f);
	CHECK_EQ(s.free_frames, FRAMES);
	lfx_close(&f);
}

/* 65 frames take two whole words (128 frames); 63 stay free. */
static void one_frame_is_found_in_the_tail_of_a_rounded_up_65_frame_request(void)
{
	one_frame_beside_a_rounded_up_request(65, 384);
}

/* 200 frames take four whole words (256 frames); 56 stay free. */
static void one_frame_is_found_in_the_tail_of_a_rounded_up_200_frame_request(void)
{
	one_frame_beside_a_rounded_up_request(200, 256);
}

/* 300 frames take the whole area; 212 stay free. */
static void one_frame_is_found_in_the_tail_of_a_rounded_up_300_frame_request(void)
{
	one_frame_beside_a_rounded_up_request(300, 0);
}

int main(int argc, char **argv)
{
	fk_test_args(argc, argv);
	RUN(small_alloc_finds_a_free_block_while_a_failing_request_holds_quota);
	RUN(one_frame_is_found_in_the_tail_of_a_rounded_up_65_frame_request);
	RUN(one_frame_is_found_in_the_tail_of_a_rounded_up_200_frame_request);
	RUN(one_frame_is_found_in_the_tail_of_a_rounded_up_300_frame_request);
	return fk_test_finish();
}
