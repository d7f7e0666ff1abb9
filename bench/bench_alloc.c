/* SPDX-License-Identifier: MIT */
/*
 * Allocation: the LLFree paper's workloads on the allocator alone, with the
 * number of blocks held per thread as the parameter (--held, default
 * order 0: 1024; order 9: 8 and 1024; order 10: 8).
 *
 * alloc_raw_{bulk,repeat,random}/<allocator>/order:K/held:N (the allocator's
 *   ops called with the state the mem created, inside an entered thread;
 *   slots untouched). One item = one alloc+free pair.
 *   bulk   = allocate N blocks, then free all N (in order);
 *   repeat = hold N blocks (allocated before the loop), then alloc+free
 *            pairs of one more block;
 *   random = hold N blocks per thread, shuffled across threads before the
 *            loop (so frees cross CPUs), then free a random held block and
 *            allocate its replacement.
 *   bulk also reports alloc_ns and free_ns per operation.
 * alloc_segment_{repeat,bulk}/<allocator>/order:K: end to end through the
 *   core: fk_alloc_segment (claims the slots) + fk_segment_drop.
 * An allocation family: the axis is the allocator.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_common.h"

#define REPEAT_BATCH 64
#define RANDOM_BATCH 64
#define SEG_BULK0    1024 /* alloc_segment_bulk: blocks per batch, order 0 */
#define SEG_BULK9    8

enum { W_BULK, W_REPEAT, W_RANDOM };

/* random: every thread's held blocks, shuffled across threads by thread 0. */
struct random_pool {
	/* Thread t's blocks: block + t * stride, held of them. stride rounds
	 * held up to whole cache lines and block is line-aligned, so no two
	 * threads write one line of it (unpadded, 8 held blocks per thread
	 * shared a line, whose transfers were timed as allocator cost). */
	uint64_t *block;
	size_t stride;
	int err;
};

/* The i-th of the pool's nthreads * held blocks, in thread order. */
static uint64_t *pool_block(struct random_pool *pool, int64_t held, uint64_t i)
{
	return &pool->block[i / (uint64_t)held * pool->stride + i % (uint64_t)held];
}

static void bm_alloc_raw(gb_state *st, void *arg)
{
	struct bench_env *env = arg;
	int work = (int)env->p[0];
	unsigned order = (unsigned)env->p[1];
	int64_t held = env->p[2];
	uint64_t nframes = (uint64_t)1 << order;
	int tid = gb_thread_index(st), nthreads = gb_thread_count(st);
	uint64_t *blocks = calloc((size_t)held, sizeof(*blocks));
	uint64_t alloc_ns = 0, free_ns = 0, rng = 0x2545F4914F6CDD1DULL * (uint64_t)(tid + 1);
	int64_t items = 0, nheld = 0;
	uint64_t *mine = blocks; /* random: this thread's part of the pool */
	int ok = bench_begin(st, env) == 0;
	const struct fk_allocator_ops *ops = env->real_ops;
	void *state = env->alloc_state;
	int err = 0;
	if (ok && !blocks) {
		gb_skip_and_finish(st, "calloc");
		ok = 0;
	}
	/* Untimed: repeat and random hold their blocks before the loop. */
	if (ok && work != W_BULK) {
		for (; nheld < held; nheld++) {
			err = ops->alloc(state, nframes, order, -1, 0, &blocks[nheld]);
			if (err)
				break;
		}
	}
	if (work == W_RANDOM) {
		/* Every thread reaches both barriers, even a failed one. */
		struct random_pool *pool = env->shared, nopool = {NULL, 0, FK_EINVAL};
		if (!pool)
			pool = &nopool; /* setup failed: every thread failed already */
		if (ok && !err)
			memcpy(pool->block + (size_t)tid * pool->stride, blocks,
			       (size_t)held * sizeof(*blocks));
		else if (ok)
			pool->err = err; /* written before the barrier, read after */
		gb_barrier_wait(env->barrier, nthreads);
		if (tid == 0 && !pool->err) {
			uint64_t n = (uint64_t)nthreads * (uint64_t)held;
			for (uint64_t i = n - 1; i > 0; i--) { /* Fisher-Yates */
				uint64_t j = fk_rand_next(&rng) % (i + 1);
				uint64_t x = *pool_block(pool, held, i);
				*pool_block(pool, held, i) = *pool_block(pool, held, j);
				*pool_block(pool, held, j) = x;
			}
		}
		gb_barrier_wait(env->barrier, nthreads);
		if (ok && !err && pool->err)
			err = pool->err;
		mine = pool->block + (size_t)tid * pool->stride;
		if (!err)
			nheld = 0; /* now held in the pool; freed by the pool below */
	}
	if (ok && err) {
		bench_fail(st, "hold: alloc", err);
		ok = 0;
	}
	if (ok) {
		if (work == W_REPEAT) {
			while (bench_keep_running(st, env, REPEAT_BATCH)) {
				if (bench_over_budget(st, env))
					break;
				for (int i = 0; i < REPEAT_BATCH; i++) {
					uint64_t pa;
					err = ops->alloc(state, nframes, order, -1, 0, &pa);
					if (!err)
						err = ops->dealloc(state, pa, nframes);
					if (err)
						goto fail;
				}
			}
		} else if (work == W_RANDOM) {
			while (bench_keep_running(st, env, RANDOM_BATCH)) {
				if (bench_over_budget(st, env))
					break;
				for (int i = 0; i < RANDOM_BATCH; i++) {
					uint64_t k = fk_rand_next(&rng) % (uint64_t)held;
					err = ops->dealloc(state, mine[k], nframes);
					if (err)
						goto fail;
					err = ops->alloc(state, nframes, order, -1, 0, &mine[k]);
					if (err) {
						mine[k] = UINT64_MAX; /* nothing held there */
						goto fail;
					}
				}
			}
		} else {
			while (bench_keep_running(st, env, held)) {
				if (bench_over_budget(st, env))
					break;
				uint64_t t0 = bench_now_ns();
				for (nheld = 0; nheld < held; nheld++) {
					err = ops->alloc(state, nframes, order, -1, 0,
					                 &blocks[nheld]);
					if (err)
						goto fail;
				}
				uint64_t t1 = bench_now_ns();
				for (int64_t i = 0; i < held; i++) {
					err = ops->dealloc(state, blocks[i], nframes);
					if (err) {
						/* state unknown: the leak check reports */
						nheld = 0;
						goto fail;
					}
				}
				nheld = 0;
				alloc_ns += t1 - t0;
				free_ns += bench_now_ns() - t1;
			}
		}
		goto done;
	fail:
		bench_fail(st, work == W_BULK ? "bulk alloc/dealloc" : "alloc/dealloc", err);
	done:
		items = bench_iterations(st);
		if (work == W_BULK && items > 0) {
			gb_counter(st, "alloc_ns", (double)alloc_ns / (double)items,
			           GB_COUNTER_AVG_THREADS);
			gb_counter(st, "free_ns", (double)free_ns / (double)items,
			           GB_COUNTER_AVG_THREADS);
		}
	}
	/* Release what this thread holds (bulk: a failed batch's blocks). */
	for (int64_t i = 0; work == W_BULK && i < nheld; i++)
		ops->dealloc(state, blocks[i], nframes);
	for (int64_t i = 0; work == W_REPEAT && i < nheld; i++)
		ops->dealloc(state, blocks[i], nframes);
	if (work == W_RANDOM) {
		for (int64_t i = 0; i < nheld; i++) /* a failed hold phase */
			ops->dealloc(state, blocks[i], nframes);
		struct random_pool *pool = env->shared;
		for (int64_t i = 0; ok && pool && !pool->err && i < held; i++)
			if (mine[i] != UINT64_MAX)
				ops->dealloc(state, mine[i], nframes);
	}
	bench_end(st, env, items);
	free(blocks);
}

static int random_setup(struct bench_env *env)
{
	struct random_pool *pool = calloc(1, sizeof(*pool));
	if (!pool)
		return FK_ENOMEM;
	/* BENCH_MAX_THREADS bound: the pool is sized for the largest run. */
	pool->stride = ((size_t)env->p[2] + 7) / 8 * 8;
	size_t bytes = (size_t)BENCH_MAX_THREADS * pool->stride * sizeof(uint64_t);
	pool->block = aligned_alloc(64, bytes);
	if (!pool->block) {
		free(pool);
		return FK_ENOMEM;
	}
	memset(pool->block, 0, bytes);
	env->shared = pool;
	return 0;
}

static int random_teardown(struct bench_env *env)
{
	struct random_pool *pool = env->shared;
	if (pool) {
		free(pool->block);
		free(pool);
	}
	env->shared = NULL;
	return 0;
}

static void bm_alloc_segment(gb_state *st, void *arg)
{
	struct bench_env *env = arg;
	int work = (int)env->p[0];
	unsigned order = (unsigned)env->p[1];
	uint64_t nframes = (uint64_t)1 << order;
	unsigned flags = order ? FK_ALLOC_ALIGNED : 0;
	int64_t n = work == W_REPEAT ? REPEAT_BATCH : order ? SEG_BULK9 : SEG_BULK0;
	fk_segment *segs = calloc((size_t)n, sizeof(*segs));
	int64_t items = 0;
	int ok = bench_begin(st, env) == 0;
	if (ok && !segs) {
		gb_skip_and_finish(st, "calloc");
		ok = 0;
	}
	if (ok) {
		int err = 0;
		int64_t held = 0;
		while (bench_keep_running(st, env, n)) {
			if (bench_over_budget(st, env))
				goto done;
			if (work == W_REPEAT) {
				for (int64_t i = 0; i < n; i++) {
					fk_segment s;
					err = fk_alloc_segment(env->mem, nframes, NULL, NULL, NULL,
					                       flags, &s);
					if (err)
						goto fail;
					err = fk_segment_drop(env->mem, &s);
					if (err)
						goto fail;
				}
			} else {
				for (held = 0; held < n; held++) {
					err = fk_alloc_segment(env->mem, nframes, NULL, NULL, NULL,
					                       flags, &segs[held]);
					if (err)
						goto fail;
				}
				for (; held > 0; held--) {
					err = fk_segment_drop(env->mem, &segs[held - 1]);
					if (err)
						goto fail;
				}
			}
		}
		goto done;
	fail:
		bench_fail(st, "fk_alloc_segment/fk_segment_drop", err);
		for (int64_t i = 0; i < held; i++)
			if (segs[i].region)
				fk_segment_drop(env->mem, &segs[i]);
	done:
		items = bench_iterations(st);
	}
	bench_end(st, env, items);
	free(segs);
}

/* Extra lock flavours of buddy-global (alloc_raw_repeat order 0 only). */
static const char *const buddy_locks[] = {"mcs", "mutex"};

/* shown: the name's axis component (copied by gb_register). */
static void register_raw(const char *allocator, const char *shown, const char *lock, int work,
                         int order, int held)
{
	static const char *const works[] = {"bulk", "repeat", "random"};
	char name[160];
	struct bench_env *env = bench_env_new(allocator);
	env->capture_alloc = 1;
	env->lock = lock;
	env->p[0] = work;
	env->p[1] = order;
	env->p[2] = held;
	env->frames_per_thread = ((uint64_t)held + 1) << order;
	if (work == W_RANDOM) {
		env->setup = random_setup;
		env->teardown = random_teardown;
	}
	snprintf(name, sizeof(name), "alloc_raw_%s/%s/order:%d/held:%d", works[work], shown, order,
	         held);
	bench_register(name, bm_alloc_raw, env);
}

void bench_register_alloc(void)
{
	for (int w = 0; w < 3; w++)
		for (size_t a = 0; a < bench_nr_allocators; a++)
			for (int h = 0; h < bench_cfg.nr_held; h++)
				register_raw(bench_allocators[a], bench_allocators[a], NULL, w,
				             bench_cfg.held_order[h], bench_cfg.held_count[h]);
	/* The buddy-global lock flavours, where the lock is the whole story. */
	for (size_t a = 0; a < bench_nr_allocators; a++) {
		if (strcmp(bench_allocators[a], "buddy-global") != 0)
			continue;
		for (size_t l = 0; l < sizeof(buddy_locks) / sizeof(buddy_locks[0]); l++) {
			char shown[64];
			snprintf(shown, sizeof(shown), "buddy-global+%s", buddy_locks[l]);
			for (int h = 0; h < bench_cfg.nr_held; h++)
				if (bench_cfg.held_order[h] == 0)
					register_raw(bench_allocators[a], shown, buddy_locks[l],
					             W_REPEAT, 0, bench_cfg.held_count[h]);
		}
	}
	static const char *const segworks[] = {"bulk", "repeat"};
	static const int orders[] = {0, 9};
	char name[160];
	for (int w = 0; w < 2; w++) {
		for (size_t a = 0; a < bench_nr_allocators; a++) {
			for (int o = 0; o < 2; o++) {
				struct bench_env *env = bench_env_new(bench_allocators[a]);
				env->p[0] = w;
				env->p[1] = orders[o];
				env->frames_per_thread =
				    (uint64_t)(orders[o] ? SEG_BULK9 : SEG_BULK0) << orders[o];
				snprintf(name, sizeof(name), "alloc_segment_%s/%s/order:%d",
				         segworks[w], bench_allocators[a], orders[o]);
				bench_register(name, bm_alloc_segment, env);
			}
		}
	}
}
