/* SPDX-License-Identifier: MIT */
/*
 * Segment operations on private segments (one 512-frame segment per
 * thread, obtained with fk_alloc_segment): split, slice+drop, next (drain),
 * clone+drop, into_raw/from_raw. A core family: every run uses the same
 * allocator (bench_core_allocator) and the axis is the core variant
 * (raw tracking on/off, ...). Contended split/slice/next: bench_contended.c.
 *
 * split and next change no refcount: the body works on a copy of the
 * thread's handle and discards the results, so the segment's references are
 * still owned exactly once (by `own`) and dropped once at the end.
 */
#include <stdio.h>

#include "bench_common.h"

#define SEG_FRAMES 512
#define SEG_BATCH  64

struct seg_thread {
	fk_segment own;
};

static int seg_thread_begin(gb_state *st, struct bench_env *env, struct seg_thread *t)
{
	if (bench_begin(st, env))
		return -1;
	int err = fk_alloc_segment(env->mem, SEG_FRAMES, NULL, NULL, NULL, 0, &t->own);
	if (err) {
		t->own.region = NULL;
		bench_fail(st, "fk_alloc_segment", err);
		return -1;
	}
	return 0;
}

static void seg_thread_end(gb_state *st, struct bench_env *env, struct seg_thread *t, int64_t items)
{
	if (t->own.region) {
		int err = fk_segment_drop(env->mem, &t->own);
		if (err && !gb_error_occurred(st))
			bench_fail_after(st, "fk_segment_drop", err);
	}
	bench_end(st, env, items);
}

static void bm_split(gb_state *st, void *arg)
{
	struct bench_env *env = arg;
	struct seg_thread t = {0};
	if (seg_thread_begin(st, env, &t) == 0) {
		uint64_t off = 0;
		while (bench_keep_running(st, env, SEG_BATCH)) {
			for (int i = 0; i < SEG_BATCH; i++) {
				fk_segment s = t.own, l, r;
				off = (off % (SEG_FRAMES - 1)) + 1; /* 1..511 pages */
				int err =
				    fk_segment_split(env->mem, &s, off * FK_PAGE_SIZE, &l, &r);
				gb_do_not_optimize(l);
				gb_do_not_optimize(r);
				if (err) {
					bench_fail(st, "fk_segment_split", err);
					goto out;
				}
			}
		}
	out:;
	}
	seg_thread_end(st, env, &t, bench_iterations(st));
}

/* slice+drop of the first `frames` frames; per-phase counters in ns/op. */
static void bm_slice(gb_state *st, void *arg)
{
	struct bench_env *env = arg;
	struct seg_thread t = {0};
	uint64_t frames = (uint64_t)gb_range_arg(st, 0);
	fk_segment out[SEG_BATCH];
	uint64_t slice_ns = 0, drop_ns = 0;
	if (seg_thread_begin(st, env, &t) == 0) {
		while (bench_keep_running(st, env, SEG_BATCH)) {
			uint64_t t0 = bench_now_ns();
			for (int i = 0; i < SEG_BATCH; i++) {
				int err = fk_segment_slice(env->mem, &t.own, 0,
				                           frames * FK_PAGE_SIZE, &out[i]);
				if (err) {
					for (int j = 0; j < i; j++)
						fk_segment_drop(env->mem, &out[j]);
					bench_fail(st, "fk_segment_slice", err);
					goto out;
				}
			}
			uint64_t t1 = bench_now_ns();
			for (int i = 0; i < SEG_BATCH; i++) {
				int err = fk_segment_drop(env->mem, &out[i]);
				if (err) {
					bench_fail(st, "fk_segment_drop", err);
					goto out;
				}
			}
			uint64_t t2 = bench_now_ns();
			slice_ns += t1 - t0;
			drop_ns += t2 - t1;
		}
	out:;
		int64_t n = bench_iterations(st);
		gb_counter(st, "frames_per_s", (double)n * (double)frames, GB_COUNTER_RATE);
		if (n > 0) {
			gb_counter(st, "slice_ns", (double)slice_ns / (double)n,
			           GB_COUNTER_AVG_THREADS);
			gb_counter(st, "drop_ns", (double)drop_ns / (double)n,
			           GB_COUNTER_AVG_THREADS);
		}
	}
	seg_thread_end(st, env, &t, bench_iterations(st));
}

/* Drain a 512-frame segment with next(); one item = one frame. */
static void bm_next(gb_state *st, void *arg)
{
	struct bench_env *env = arg;
	struct seg_thread t = {0};
	if (seg_thread_begin(st, env, &t) == 0) {
		while (bench_keep_running(st, env, SEG_FRAMES)) {
			fk_segment s = t.own;
			fk_frame f;
			int r, n = 0;
			while ((r = fk_segment_next(env->mem, &s, &f)) == 1) {
				gb_do_not_optimize(f);
				n++;
			}
			if (r < 0 || n != SEG_FRAMES) {
				bench_fail(st, "fk_segment_next", r < 0 ? r : FK_EINVAL);
				break;
			}
		}
	}
	seg_thread_end(st, env, &t, bench_iterations(st));
}

static void bm_clone_drop(gb_state *st, void *arg)
{
	struct bench_env *env = arg;
	struct seg_thread t = {0};
	uint64_t frames = (uint64_t)gb_range_arg(st, 0);
	if (seg_thread_begin(st, env, &t) == 0) {
		fk_segment base;
		int err = frames == SEG_FRAMES
		              ? fk_segment_clone(env->mem, &t.own, &base)
		              : fk_segment_slice(env->mem, &t.own, 0, frames * FK_PAGE_SIZE, &base);
		if (err) {
			bench_fail(st, "fk_segment_slice", err);
		} else {
			while (bench_keep_running(st, env, SEG_BATCH)) {
				for (int i = 0; i < SEG_BATCH; i++) {
					fk_segment c;
					err = fk_segment_clone(env->mem, &base, &c);
					if (err == 0)
						err = fk_segment_drop(env->mem, &c);
					if (err) {
						bench_fail(st, "clone/drop", err);
						goto out;
					}
				}
			}
		out:
			fk_segment_drop(env->mem, &base);
			gb_counter(st, "frames_per_s",
			           (double)bench_iterations(st) * (double)frames, GB_COUNTER_RATE);
		}
	}
	seg_thread_end(st, env, &t, bench_iterations(st));
}

/* into_raw then from_raw of a `frames`-frame segment (tracking per env). */
static void bm_raw(gb_state *st, void *arg)
{
	struct bench_env *env = arg;
	struct seg_thread t = {0};
	uint64_t frames = (uint64_t)gb_range_arg(st, 0);
	if (seg_thread_begin(st, env, &t) == 0) {
		fk_segment s;
		int err = fk_segment_slice(env->mem, &t.own, 0, frames * FK_PAGE_SIZE, &s);
		if (err) {
			bench_fail(st, "fk_segment_slice", err);
		} else {
			while (bench_keep_running(st, env, SEG_BATCH)) {
				for (int i = 0; i < SEG_BATCH; i++) {
					uint64_t a, b;
					err = fk_segment_into_raw(env->mem, &s, &a, &b);
					if (err) {
						bench_fail(st, "fk_segment_into_raw", err);
						goto out;
					}
					err = fk_segment_from_raw(env->mem, a, b, NULL, &s);
					if (err) {
						/* The references are raw now: rebuild or leak. */
						bench_fail(st, "fk_segment_from_raw", err);
						s.region = NULL;
						goto out;
					}
				}
			}
		out:
			if (s.region)
				fk_segment_drop(env->mem, &s);
			gb_counter(st, "frames_per_s",
			           (double)bench_iterations(st) * (double)frames, GB_COUNTER_RATE);
		}
	}
	seg_thread_end(st, env, &t, bench_iterations(st));
}

void bench_register_segment(void)
{
	char name[128];
	for (size_t v = 0; v < bench_nr_core_variants; v++) {
		const struct bench_core_variant *cv = &bench_core_variants[v];
		gb_bench *b;

		snprintf(name, sizeof(name), "seg_split/core:%s", cv->name);
		bench_register(name, bm_split, bench_env_core(cv));

		snprintf(name, sizeof(name), "seg_slice_drop/core:%s", cv->name);
		b = gb_arg_name(gb_register(name, bm_slice, bench_env_core(cv)), "frames");
		bench_threads(gb_arg(gb_arg(gb_arg(b, 1), 16), 512));

		snprintf(name, sizeof(name), "seg_next/core:%s/frames:%d", cv->name, SEG_FRAMES);
		bench_register(name, bm_next, bench_env_core(cv));

		snprintf(name, sizeof(name), "seg_clone_drop/core:%s", cv->name);
		b = gb_arg_name(gb_register(name, bm_clone_drop, bench_env_core(cv)), "frames");
		bench_threads(gb_arg(gb_arg(b, 1), SEG_FRAMES));

		snprintf(name, sizeof(name), "seg_raw_roundtrip/core:%s", cv->name);
		b = gb_arg_name(gb_register(name, bm_raw, bench_env_core(cv)), "frames");
		bench_threads(gb_arg(gb_arg(b, 1), SEG_FRAMES));
	}
}
