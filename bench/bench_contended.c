/* SPDX-License-Identifier: MIT */
/*
 * Contended split, slice and next, as a kernel produces them.
 *
 * contended_pipeline/<allocator>/piece:P (a page cache filling and
 *   evicting): producers allocate 512-frame segments, split them into
 *   P-frame pieces and push the pieces on a shared queue; consumers pop a
 *   piece, iterate it with next and drop every frame (the last reference:
 *   the frame goes back to the allocator); readers look up random frames of
 *   recently produced segments with fk_frame_from_in_use and drop the
 *   reference (get_page_unless_zero), racing the consumers' last drops.
 *   Roles by thread index: 0 mod 4 producer, 2 mod 4 reader (3+ threads),
 *   else consumer; one thread does everything. A producer that finds the
 *   queue full consumes the piece itself, a consumer that finds it empty
 *   produces a segment (counter "helped"), so no role ever waits.
 *   Items = frames through the pipeline (allocated, split, next, dropped).
 *   Latency: alloc (512-frame fk_alloc_segment), drop (a consumer's
 *   frame drop), lookup (from_in_use + drop).
 * contended_slice/core:<variant>/len:L (a shared I/O buffer): every thread
 *   slices random, overlapping L-frame sub-ranges of one 128-frame segment
 *   and drops them. Items = slice+drop pairs; frames_per_s = items x L.
 *   Latency: slice, drop.
 * contended_split_drop/<allocator>/frames:N: every thread allocates an
 *   N-frame aligned segment, splits it in halves, hands the right half to
 *   the next thread (a single-producer ring per thread) and drops the left
 *   one, then drops a right half handed over by the previous thread: the
 *   two halves of one block return to the allocator from two CPUs at once.
 *   Items = frames returned. Latency: drop (one half).
 *
 * Latency samples: one op in 16 is timed with CLOCK_MONOTONIC, minus the
 * clock's own cost (bench_clock_overhead_ns); counters <op>_p50_ns and
 * <op>_p99_ns over all threads of the run.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_common.h"

#define SAMPLE_MASK 15u /* time one op in 16 */

static inline uint64_t sample_ns(uint64_t t0)
{
	uint64_t d = bench_now_ns() - t0;
	return d > bench_clock_overhead_ns ? d - bench_clock_overhead_ns : 0;
}

/* ---- (a) pipeline ---- */

#define PIPE_SEG    512
#define PIPE_QUEUE  256 /* pieces */
#define PIPE_RECENT 64  /* recently produced segment bases, for readers */

enum { ROLE_PRODUCER, ROLE_CONSUMER, ROLE_READER };

struct pipe {
	pthread_mutex_t mu; /* guards q, head, count */
	fk_segment q[PIPE_QUEUE];
	unsigned head, count;
	_Atomic uint64_t recent[PIPE_RECENT];
	_Atomic uint64_t recent_next;
	_Atomic uint64_t helped, lookups, hits;
	struct bench_hist_shared h_alloc, h_drop, h_lookup;
};

static int pipe_push(struct pipe *p, fk_segment *s)
{
	int ok = 0;
	pthread_mutex_lock(&p->mu);
	if (p->count < PIPE_QUEUE) {
		p->q[(p->head + p->count) % PIPE_QUEUE] = *s;
		p->count++;
		ok = 1;
	}
	pthread_mutex_unlock(&p->mu);
	return ok;
}

static int pipe_pop(struct pipe *p, fk_segment *s)
{
	int ok = 0;
	pthread_mutex_lock(&p->mu);
	if (p->count) {
		*s = p->q[p->head];
		p->head = (p->head + 1) % PIPE_QUEUE;
		p->count--;
		ok = 1;
	}
	pthread_mutex_unlock(&p->mu);
	return ok;
}

static int pipe_setup(struct bench_env *env)
{
	struct pipe *p = calloc(1, sizeof(*p));
	if (!p)
		return FK_ENOMEM;
	pthread_mutex_init(&p->mu, NULL);
	env->shared = p;
	return 0;
}

static int pipe_teardown(struct bench_env *env)
{
	struct pipe *p = env->shared;
	fk_segment s;
	int ret = 0;
	while (pipe_pop(p, &s)) {
		int err = fk_segment_drop(env->mem, &s);
		if (err && !ret)
			ret = err;
	}
	pthread_mutex_destroy(&p->mu);
	free(p);
	env->shared = NULL;
	return ret;
}

static void pipe_report(gb_state *st, struct bench_env *env)
{
	struct pipe *p = env->shared;
	/* relaxed: every thread finished before bench_end's barrier. */
	gb_counter(st, "helped", (double)atomic_load_explicit(&p->helped, memory_order_relaxed),
	           GB_COUNTER_DEFAULT);
	uint64_t lookups = atomic_load_explicit(&p->lookups, memory_order_relaxed);
	if (lookups) {
		gb_counter(st, "lookups", (double)lookups, GB_COUNTER_DEFAULT);
		gb_counter(st, "lookup_hit_ratio",
		           (double)atomic_load_explicit(&p->hits, memory_order_relaxed) /
		               (double)lookups,
		           GB_COUNTER_DEFAULT);
	}
	bench_hist_report(st, "alloc", &p->h_alloc);
	bench_hist_report(st, "drop", &p->h_drop);
	bench_hist_report(st, "lookup", &p->h_lookup);
}

struct pipe_thread {
	struct bench_hist h_alloc, h_drop, h_lookup;
	uint64_t frames, ops;
};

/* next + drop every frame of the piece. */
static int pipe_consume(struct bench_env *env, struct pipe_thread *t, fk_segment *piece)
{
	fk_frame f;
	int r;
	while ((r = fk_segment_next(env->mem, piece, &f)) == 1) {
		int err;
		if ((t->ops++ & SAMPLE_MASK) == 0) {
			uint64_t t0 = bench_now_ns();
			err = fk_frame_drop(env->mem, &f);
			bench_hist_add(&t->h_drop, sample_ns(t0));
		} else {
			err = fk_frame_drop(env->mem, &f);
		}
		if (err)
			return err;
		t->frames++;
	}
	return r < 0 ? r : fk_segment_drop(env->mem, piece); /* the empty rest */
}

/* Allocate, publish for readers, split into pieces, push (or consume). */
static int pipe_produce(struct bench_env *env, struct pipe *p, struct pipe_thread *t,
                        uint64_t piece)
{
	fk_segment seg, left;
	uint64_t t0 = bench_now_ns();
	int err = fk_alloc_segment(env->mem, PIPE_SEG, NULL, NULL, NULL, 0, &seg);
	bench_hist_add(&t->h_alloc, sample_ns(t0));
	if (err)
		return err;
	/* relaxed: readers only need some recent base; from_in_use validates. */
	uint64_t i = atomic_fetch_add_explicit(&p->recent_next, 1, memory_order_relaxed);
	atomic_store_explicit(&p->recent[i % PIPE_RECENT], fk_segment_start_paddr(&seg),
	                      memory_order_relaxed);
	while (fk_segment_nframes(&seg) > 0) {
		if (fk_segment_nframes(&seg) > piece) {
			err = fk_segment_split(env->mem, &seg, piece * FK_PAGE_SIZE, &left, &seg);
			if (err) {
				fk_segment_drop(env->mem, &seg);
				return err;
			}
		} else {
			left = seg;
			seg.start = seg.end; /* moved */
		}
		if (!pipe_push(p, &left)) {
			/* relaxed: a statistic. */
			atomic_fetch_add_explicit(&p->helped, 1, memory_order_relaxed);
			err = pipe_consume(env, t, &left);
			if (err) {
				fk_segment_drop(env->mem, &seg);
				return err;
			}
		}
	}
	return 0;
}

static int pipe_role(int tid, int nthreads)
{
	if (nthreads == 1 || tid % 4 == 0)
		return ROLE_PRODUCER;
	if (tid % 4 == 2 && nthreads >= 3)
		return ROLE_READER;
	return ROLE_CONSUMER;
}

static void bm_pipeline(gb_state *st, void *arg)
{
	struct bench_env *env = arg;
	uint64_t piece = (uint64_t)env->p[0];
	int tid = gb_thread_index(st);
	int role = pipe_role(tid, gb_thread_count(st));
	uint64_t rng = 0x9E3779B97F4A7C15ULL * (uint64_t)(tid + 1), lookups = 0, hits = 0;
	struct pipe_thread *t = calloc(1, sizeof(*t));
	int err = 0;
	if (bench_begin(st, env) == 0) {
		struct pipe *p = env->shared;
		if (!t) {
			bench_fail(st, "calloc", FK_ENOMEM);
			goto out;
		}
		/* One iteration: a frame produced / consumed, or one lookup. */
		int64_t batch = role == ROLE_PRODUCER   ? PIPE_SEG
		                : role == ROLE_CONSUMER ? (int64_t)piece
		                                        : 64;
		while (bench_keep_running(st, env, batch)) {
			if (bench_over_budget(st, env))
				break;
			if (role == ROLE_PRODUCER) {
				err = pipe_produce(env, p, t, piece);
			} else if (role == ROLE_CONSUMER) {
				fk_segment s;
				if (pipe_pop(p, &s)) {
					err = pipe_consume(env, t, &s);
				} else {
					/* relaxed: a statistic. */
					atomic_fetch_add_explicit(&p->helped, 1,
					                          memory_order_relaxed);
					err = pipe_produce(env, p, t, piece);
				}
			} else {
				for (int i = 0; i < 64 && !err; i++) {
					uint64_t r = fk_rand_next(&rng);
					/* relaxed: see pipe_produce */
					uint64_t base = atomic_load_explicit(
					    &p->recent[r % PIPE_RECENT], memory_order_relaxed);
					if (!base)
						continue;
					uint64_t pa = base + ((r >> 32) % PIPE_SEG) * FK_PAGE_SIZE;
					fk_frame f;
					uint64_t t0 = bench_now_ns();
					int e = fk_frame_from_in_use(env->mem, pa, &f);
					lookups++;
					if (e == 0) {
						hits++;
						err = fk_frame_drop(env->mem, &f);
					} else if (e != FK_EUNUSED && e != FK_EBUSY) {
						err = e;
					}
					if ((lookups & SAMPLE_MASK) == 0)
						bench_hist_add(&t->h_lookup, sample_ns(t0));
				}
			}
			if (err) {
				bench_fail(st, "pipeline", err);
				break;
			}
		}
		bench_hist_merge(&p->h_alloc, &t->h_alloc);
		bench_hist_merge(&p->h_drop, &t->h_drop);
		bench_hist_merge(&p->h_lookup, &t->h_lookup);
		/* relaxed: read after bench_end's barrier. */
		atomic_fetch_add_explicit(&p->lookups, lookups, memory_order_relaxed);
		atomic_fetch_add_explicit(&p->hits, hits, memory_order_relaxed);
	}
out:
	bench_end(st, env, t ? (int64_t)t->frames : 0);
	free(t);
}

/* ---- (b) slices of one shared segment ---- */

#define SLICE_BUF   128
#define SLICE_BATCH 32

struct slice_shared {
	struct bench_hist_shared h_slice, h_drop;
};

static int slice_setup(struct bench_env *env)
{
	struct slice_shared *s = calloc(1, sizeof(*s));
	if (!s)
		return FK_ENOMEM;
	int err = fk_alloc_segment(env->mem, SLICE_BUF, NULL, NULL, NULL, 0, &env->seg);
	if (err) {
		free(s);
		return err;
	}
	env->shared = s;
	return 0;
}

static int slice_teardown(struct bench_env *env)
{
	free(env->shared);
	env->shared = NULL;
	return fk_segment_drop(env->mem, &env->seg);
}

static void slice_report(gb_state *st, struct bench_env *env)
{
	struct slice_shared *s = env->shared;
	bench_hist_report(st, "slice", &s->h_slice);
	bench_hist_report(st, "drop", &s->h_drop);
}

static void bm_shared_slice(gb_state *st, void *arg)
{
	struct bench_env *env = arg;
	uint64_t len = (uint64_t)env->p[0];
	uint64_t rng = 0xD1B54A32D192ED03ULL * (uint64_t)(gb_thread_index(st) + 1), ops = 0;
	struct bench_hist *hs = calloc(2, sizeof(*hs));
	int64_t items = 0;
	if (bench_begin(st, env) == 0) {
		struct slice_shared *sh = env->shared;
		if (!hs) {
			bench_fail(st, "calloc", FK_ENOMEM);
			goto out;
		}
		while (bench_keep_running(st, env, SLICE_BATCH)) {
			for (int i = 0; i < SLICE_BATCH; i++) {
				uint64_t from = fk_rand_next(&rng) % (SLICE_BUF - len + 1);
				fk_segment s;
				int timed = (ops++ & SAMPLE_MASK) == 0;
				uint64_t t0 = timed ? bench_now_ns() : 0;
				int err = fk_segment_slice(env->mem, &env->seg, from * FK_PAGE_SIZE,
				                           (from + len) * FK_PAGE_SIZE, &s);
				if (timed) {
					bench_hist_add(&hs[0], sample_ns(t0));
					t0 = bench_now_ns();
				}
				if (!err)
					err = fk_segment_drop(env->mem, &s);
				if (timed)
					bench_hist_add(&hs[1], sample_ns(t0));
				if (err) {
					bench_fail(st, "slice/drop", err);
					goto done;
				}
			}
		}
	done:
		items = bench_iterations(st);
		gb_counter(st, "frames_per_s", (double)items * (double)len, GB_COUNTER_RATE);
		bench_hist_merge(&sh->h_slice, &hs[0]);
		bench_hist_merge(&sh->h_drop, &hs[1]);
	}
out:
	bench_end(st, env, items);
	free(hs);
}

/* ---- (c) split and drop halves from two CPUs ---- */

#define RING 32 /* right halves in flight per thread */

struct ring {
	_Atomic unsigned head; /* next to pop: the consumer's */
	char pad0[60];
	_Atomic unsigned tail; /* next to push: the producer's */
	char pad1[60];
	fk_segment slot[RING];
};

struct split_shared {
	struct ring ring[BENCH_MAX_THREADS];
	struct bench_hist_shared h_drop;
};

static int ring_push(struct ring *r, const fk_segment *s)
{
	unsigned t = atomic_load_explicit(&r->tail, memory_order_relaxed); /* own */
	/* acquire: pairs with ring_pop's release of head (the slot is free). */
	unsigned h = atomic_load_explicit(&r->head, memory_order_acquire);
	if (t - h == RING)
		return 0;
	r->slot[t % RING] = *s;
	/* release: publishes the slot; pairs with ring_pop's acquire of tail. */
	atomic_store_explicit(&r->tail, t + 1, memory_order_release);
	return 1;
}

static int ring_pop(struct ring *r, fk_segment *s)
{
	unsigned h = atomic_load_explicit(&r->head, memory_order_relaxed); /* own */
	/* acquire: pairs with ring_push's release of tail. */
	unsigned t = atomic_load_explicit(&r->tail, memory_order_acquire);
	if (h == t)
		return 0;
	*s = r->slot[h % RING];
	/* release: the slot was read; pairs with ring_push's acquire of head. */
	atomic_store_explicit(&r->head, h + 1, memory_order_release);
	return 1;
}

static int split_setup(struct bench_env *env)
{
	struct split_shared *s = calloc(1, sizeof(*s));
	if (!s)
		return FK_ENOMEM;
	env->shared = s;
	return 0;
}

static int split_teardown(struct bench_env *env)
{
	struct split_shared *s = env->shared;
	int ret = 0;
	fk_segment seg;
	for (int i = 0; i < BENCH_MAX_THREADS; i++) {
		while (ring_pop(&s->ring[i], &seg)) {
			int err = fk_segment_drop(env->mem, &seg);
			if (err && !ret)
				ret = err;
		}
	}
	free(s);
	env->shared = NULL;
	return ret;
}

static void split_report(gb_state *st, struct bench_env *env)
{
	struct split_shared *s = env->shared;
	bench_hist_report(st, "drop", &s->h_drop);
}

static int timed_drop(struct bench_env *env, fk_segment *s, struct bench_hist *h, uint64_t *ops)
{
	if ((*ops)++ & SAMPLE_MASK)
		return fk_segment_drop(env->mem, s);
	uint64_t t0 = bench_now_ns();
	int err = fk_segment_drop(env->mem, s);
	bench_hist_add(h, sample_ns(t0));
	return err;
}

static void bm_split_drop(gb_state *st, void *arg)
{
	struct bench_env *env = arg;
	uint64_t n = (uint64_t)env->p[0];
	int tid = gb_thread_index(st), nthreads = gb_thread_count(st);
	struct bench_hist *h = calloc(1, sizeof(*h));
	uint64_t ops = 0;
	int64_t items = 0;
	if (bench_begin(st, env) == 0) {
		struct split_shared *sh = env->shared;
		struct ring *out = &sh->ring[tid], *in = &sh->ring[(tid + nthreads - 1) % nthreads];
		if (!h) {
			bench_fail(st, "calloc", FK_ENOMEM);
			goto out;
		}
		while (bench_keep_running(st, env, 8)) {
			if (bench_over_budget(st, env))
				break;
			for (int i = 0; i < 8; i++) {
				fk_segment seg, l, r;
				int err = fk_alloc_segment(env->mem, n, NULL, NULL, NULL,
				                           FK_ALLOC_ALIGNED, &seg);
				if (!err)
					err = fk_segment_split(env->mem, &seg, n / 2 * FK_PAGE_SIZE,
					                       &l, &r);
				if (!err && !ring_push(out, &r))
					err = timed_drop(env, &r, h, &ops); /* full: drop it here */
				if (!err)
					err = timed_drop(env, &l, h, &ops);
				if (!err && ring_pop(in, &r))
					err = timed_drop(env, &r, h, &ops);
				if (err) {
					bench_fail(st, "alloc/split/drop", err);
					goto done;
				}
			}
		}
	done:
		items = bench_iterations(st) * (int64_t)n;
		bench_hist_merge(&sh->h_drop, h);
	}
out:
	bench_end(st, env, items);
	free(h);
}

void bench_register_contended(void)
{
	char name[160];
	for (size_t a = 0; a < bench_nr_allocators; a++) {
		struct bench_env *env = bench_env_new(bench_allocators[a]);
		env->p[0] = 32;
		env->setup = pipe_setup;
		env->teardown = pipe_teardown;
		env->report = pipe_report;
		env->frames_per_thread = 2 * PIPE_SEG + PIPE_QUEUE * 32;
		snprintf(name, sizeof(name), "contended_pipeline/%s/piece:32", bench_allocators[a]);
		bench_register(name, bm_pipeline, env);
	}
	static const int lens[] = {8, 64};
	for (size_t v = 0; v < bench_nr_core_variants; v++) {
		for (int l = 0; l < 2; l++) {
			struct bench_env *env = bench_env_core(&bench_core_variants[v]);
			env->p[0] = lens[l];
			env->setup = slice_setup;
			env->teardown = slice_teardown;
			env->report = slice_report;
			snprintf(name, sizeof(name), "contended_slice/core:%s/len:%d",
			         bench_core_variants[v].name, lens[l]);
			bench_register(name, bm_shared_slice, env);
		}
	}
	static const int sizes[] = {2, 512};
	for (size_t a = 0; a < bench_nr_allocators; a++) {
		for (int s = 0; s < 2; s++) {
			struct bench_env *env = bench_env_new(bench_allocators[a]);
			env->p[0] = sizes[s];
			env->setup = split_setup;
			env->teardown = split_teardown;
			env->report = split_report;
			env->frames_per_thread = (uint64_t)sizes[s] * (RING + 2);
			snprintf(name, sizeof(name), "contended_split_drop/%s/frames:%d",
			         bench_allocators[a], sizes[s]);
			bench_register(name, bm_split_drop, env);
		}
	}
}
