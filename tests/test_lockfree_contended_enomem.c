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
 */
#include <time.h>

#include "test_lockfree_fix.h"

#define BASE   0x20000ull /* area aligned (512 frames) */
#define FRAMES 512ull
#define X      (BASE + 64) /* the 4-frame block */

struct pest {
	struct lfx *f;
	atomic_int stop;
	uint64_t tries, wins;
};

static void pest_main(void *p)
{
	struct pest *e = p;
	uint64_t pfn;
	/* relaxed: a stop flag; nothing else is handed over through it. */
	while (!atomic_load_explicit(&e->stop, memory_order_relaxed)) {
		if (lfx_alloc(e->f, 8, 3, &pfn) == 0) {
			e->wins++; /* cannot happen: no aligned run of 8 is free */
			lfx_free(e->f, pfn, 8);
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

	struct pest e = {.f = &f};
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

int main(int argc, char **argv)
{
	fk_test_args(argc, argv);
	RUN(small_alloc_finds_a_free_block_while_a_failing_request_holds_quota);
	return fk_test_finish();
}
