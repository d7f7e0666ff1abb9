/* SPDX-License-Identifier: MIT */
/* Small multi-threaded races: from_in_use against the last drop (never
 * revives a dying frame, never leaks), and contended clone/drop of one
 * shared segment. Bounded by iteration counts, not time. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <time.h>

#include "fk_test.h"

#define POISON 0xDEADDEADull

struct gen_meta {
	_Atomic uint64_t gen;
};

static atomic_ulong on_drops;

static void gen_on_drop(void *meta, uint64_t paddr, void *ctx)
{
	(void)paddr;
	(void)ctx;
	/* Exclusive here (count 0): relaxed is enough, the UNUSED release
	 * store publishes it. */
	atomic_store_explicit(&((struct gen_meta *)meta)->gen, POISON, memory_order_relaxed);
	atomic_fetch_add_explicit(&on_drops, 1, memory_order_relaxed);
}

static const struct fk_meta_type gen_type = {
    .name = "gen", .size = sizeof(struct gen_meta), .on_drop = gen_on_drop};

static int gen_init(void *meta, uint64_t paddr, void *ctx)
{
	(void)paddr;
	atomic_store_explicit(&((struct gen_meta *)meta)->gen, *(uint64_t *)ctx,
	                      memory_order_relaxed);
	return 0;
}

struct race {
	fk_mem *mem;
	pthread_barrier_t start, done;
	int iters;
	uint64_t gen; /* written by main before `start`, read after */
	atomic_int revived, wrong_error, successes;
};

static void *lookup_thread(void *arg)
{
	struct race *r = arg;
	fk_thread_enter(r->mem);
	for (int i = 0; i < r->iters; i++) {
		pthread_barrier_wait(&r->start);
		fk_frame f;
		int err;
		/* Race the dropper: keep trying until the frame is gone. */
		while ((err = fk_frame_from_in_use(r->mem, FIX_U_BASE, &f)) == 0) {
			const struct gen_meta *m = fk_frame_meta(&f);
			if (atomic_load_explicit(&((struct gen_meta *)m)->gen,
			                         memory_order_relaxed) != r->gen)
				atomic_fetch_add(&r->revived, 1);
			atomic_fetch_add(&r->successes, 1);
			if (fk_frame_drop(r->mem, &f))
				atomic_fetch_add(&r->wrong_error, 1);
		}
		if (err != FK_EUNUSED && err != FK_EBUSY)
			atomic_fetch_add(&r->wrong_error, 1);
		pthread_barrier_wait(&r->done);
	}
	fk_thread_leave(r->mem);
	return 0;
}

static void frame_from_in_use_never_revives_a_dying_frame(void)
{
	struct race r = {.iters = 3000};
	pthread_t t;
	r.mem = fix_create("simple", 1);
	CHECK(r.mem);
	pthread_barrier_init(&r.start, 0, 2);
	pthread_barrier_init(&r.done, 0, 2);
	atomic_store(&on_drops, 0);
	CHECK(pthread_create(&t, 0, lookup_thread, &r) == 0);
	for (int i = 0; i < r.iters; i++) {
		fk_frame f;
		r.gen = (uint64_t)i + 1;
		if (fk_frame_from_unused(r.mem, FIX_U_BASE, &gen_type, gen_init, &r.gen, &f))
			atomic_fetch_add(&r.wrong_error, 1);
		pthread_barrier_wait(&r.start);
		if (fk_frame_drop(r.mem, &f))
			atomic_fetch_add(&r.wrong_error, 1);
		pthread_barrier_wait(&r.done);
	}
	pthread_join(t, 0);
	pthread_barrier_destroy(&r.start);
	pthread_barrier_destroy(&r.done);
	CHECK_EQ(atomic_load(&r.revived), 0);
	CHECK_EQ(atomic_load(&r.wrong_error), 0);
	CHECK_EQ(atomic_load(&on_drops), (uint64_t)r.iters); /* exactly one teardown each */
	CHECK_EQ(rc_at(r.mem, FIX_U_BASE), FK_REF_UNUSED);
	printf("     (%d lookups won the race against the last drop)\n", atomic_load(&r.successes));
	CHECK_OK(fix_destroy(r.mem));
}

struct shared {
	fk_mem *mem;
	fk_segment seg;
	int iters;
	atomic_int errors;
};

static void *clone_drop_thread(void *arg)
{
	struct shared *s = arg;
	fk_thread_enter(s->mem);
	for (int i = 0; i < s->iters; i++) {
		fk_segment c, sl;
		if (fk_segment_clone(s->mem, &s->seg, &c) ||
		    fk_segment_slice(s->mem, &s->seg, PG, 3 * PG, &sl))
			atomic_fetch_add(&s->errors, 1);
		if (fk_segment_drop(s->mem, &c) || fk_segment_drop(s->mem, &sl))
			atomic_fetch_add(&s->errors, 1);
	}
	fk_thread_leave(s->mem);
	return 0;
}

static void shared_segment_clone_and_drop_race_back_to_the_start_counts(void)
{
	const char *names[8];
	size_t n = fk_allocator_names(names, 8);
	for (size_t a = 0; a < n; a++) {
		struct shared s = {.iters = 2000};
		pthread_t t[4];
		struct fk_alloc_stats st;
		s.mem = fix_create(names[a], 1);
		CHECK(s.mem);
		CHECK_OK(fk_alloc_segment(s.mem, 4, 0, 0, 0, 0, &s.seg));
		for (int i = 0; i < 4; i++) /* 4 threads on 2 cores */
			CHECK(pthread_create(&t[i], 0, clone_drop_thread, &s) == 0);
		for (int i = 0; i < 4; i++)
			pthread_join(t[i], 0);
		CHECK_EQ(atomic_load(&s.errors), 0);
		for (uint64_t i = 0; i < 4; i++)
			CHECK_EQ(rc_at(s.mem, fk_segment_start_paddr(&s.seg) + i * PG), 1);
		CHECK_OK(fk_segment_drop(s.mem, &s.seg));
		fk_mem_alloc_drain(s.mem);
		CHECK_OK(fk_mem_alloc_stats(s.mem, -1, &st));
		CHECK_EQ(st.free_frames, FIX_M_FRAMES);
		CHECK_OK(fix_destroy(s.mem));
	}
}

struct churn {
	fk_mem *mem;
	atomic_int errors;
	_Atomic int stop, pause;
	atomic_long ops;
};

static void *alloc_churn_thread(void *arg)
{
	struct churn *c = arg;
	fk_thread_enter(c->mem);
	for (uint64_t i = 0; !atomic_load(&c->stop); i++) {
		fk_segment s;
		if (atomic_load(&c->pause)) {
			sched_yield();
			continue;
		}
		int err = fk_alloc_segment(c->mem, 1 + i % 5, 0, 0, 0, 0, &s);
		if (err == FK_ENOMEM)
			continue;
		if (err || fk_segment_drop(c->mem, &s))
			atomic_fetch_add(&c->errors, 1);
		atomic_fetch_add(&c->ops, 1);
	}
	fk_thread_leave(c->mem);
	return 0;
}

/* Add and remove a region 20 times while two threads allocate and free.
 * Removal may be refused (FK_EINUSE) while the load holds its frames; when
 * the load pauses, it must succeed. Nothing may be lost either way. */
static void region_hot_plug_under_allocation_load_keeps_every_frame(void)
{
	const char *names[8];
	size_t n = fk_allocator_names(names, 8);
	for (size_t a = 0; a < n; a++) {
		struct churn c = {0};
		pthread_t t[2];
		struct fk_alloc_stats st;
		c.mem = fix_create(names[a], 1);
		CHECK(c.mem);
		for (int i = 0; i < 2; i++)
			CHECK(pthread_create(&t[i], 0, alloc_churn_thread, &c) == 0);
		int removed = 0, refused = 0, paused = 0;
		for (int k = 0; k < 20; k++) {
			struct fk_region_config rc = {
			    .base = 0x80000000ull, .nframes = 64, .node = 0};
			if (fk_mem_add_region(c.mem, &rc))
				atomic_fetch_add(&c.errors, 1);
			int err = FK_EINUSE;
			/* A refused removal is quick (no grace period), so bound the
			 * retries by time: a loaded machine may keep a paused worker
			 * (holding a frame of the region) off the CPU for a while. */
			time_t deadline = time(NULL) + 20;
			for (int tries = 0; err == FK_EINUSE; tries++) {
				if (tries == 50) {
					atomic_store(&c.pause, 1); /* let the load drain */
					paused++;
				}
				err = fk_mem_remove_region(c.mem, 0x80000000ull);
				refused += err == FK_EINUSE;
				if (err == FK_EINUSE && tries >= 50)
					sched_yield();
				if (time(NULL) > deadline)
					break;
			}
			atomic_store(&c.pause, 0);
			if (err == 0) {
				removed++;
			} else {
				fprintf(stderr, "  %s: removal %d -> %s\n", names[a], k,
				        fk_strerror_name(err));
				break;
			}
		}
		atomic_store(&c.stop, 1);
		for (int i = 0; i < 2; i++)
			pthread_join(t[i], 0);
		CHECK_EQ(atomic_load(&c.errors), 0);
		CHECK_EQ(removed, 20);
		fk_mem_alloc_drain(c.mem);
		CHECK_OK(fk_mem_alloc_stats(c.mem, -1, &st));
		CHECK_EQ(st.total_frames, FIX_M_FRAMES);
		CHECK_EQ(st.free_frames, FIX_M_FRAMES);
		printf("     (%s: %d removals, %d refused while in use, %d after pausing the load, "
		       "%ld allocations)\n",
		       names[a], removed, refused, paused, atomic_load(&c.ops));
		CHECK_OK(fix_destroy(c.mem));
	}
}

int main(int argc, char **argv)
{
	fk_test_args(argc, argv);
	RUN(frame_from_in_use_never_revives_a_dying_frame);
	RUN(shared_segment_clone_and_drop_race_back_to_the_start_counts);
	RUN(region_hot_plug_under_allocation_load_keeps_every_frame);
	return fk_test_finish();
}
