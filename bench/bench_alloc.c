/*
 * Allocation: the LLFree paper's workloads, orders 0 and 9.
 *
 * alloc_raw_{bulk,repeat,random}: the allocator alone (its ops called with
 *   the state the mem created, inside an entered thread; slots untouched).
 *   bulk   = allocate N blocks, then free all N (in order);
 *   repeat = allocate one block and free it, in a loop;
 *   random = allocate N blocks, then free them in a random order.
 *   One item = one alloc+free pair; bulk/random also report alloc_ns and
 *   free_ns per operation (averaged over threads).
 * alloc_segment_{repeat,bulk}: end to end through the core:
 *   fk_alloc_segment (claims the slots) + fk_segment_drop.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_common.h"

#define BULK_ORDER0  1024 /* blocks per thread and batch */
#define BULK_ORDER9  8
#define REPEAT_BATCH 64

enum { W_BULK, W_REPEAT, W_RANDOM };

static int64_t bulk_count(unsigned order)
{
	return order == 0 ? BULK_ORDER0 : BULK_ORDER9;
}

static void bm_alloc_raw(gb_state *st, void *arg)
{
	struct bench_env *env = arg;
	int work = (int)env->p[0];
	unsigned order = (unsigned)env->p[1];
	uint64_t nframes = (uint64_t)1 << order;
	int64_t n = work == W_REPEAT ? REPEAT_BATCH : bulk_count(order);
	uint64_t *blocks = calloc((size_t)n, sizeof(*blocks));
	int64_t *perm = calloc((size_t)n, sizeof(*perm));
	uint64_t alloc_ns = 0, free_ns = 0;
	uint64_t rng = 0x2545F4914F6CDD1DULL * (uint64_t)(gb_thread_index(st) + 1);
	int ok = bench_begin(st, env) == 0;
	if (ok && (!blocks || !perm)) {
		gb_skip_and_finish(st, "calloc");
		ok = 0;
	}
	for (int64_t i = 0; ok && i < n; i++)
		perm[i] = i;
	if (ok && work == W_RANDOM) { /* Fisher-Yates; the batch start rotates below */
		for (int64_t i = n - 1; i > 0; i--) {
			int64_t j = (int64_t)(bench_rand(&rng) % (uint64_t)(i + 1));
			int64_t x = perm[i];
			perm[i] = perm[j];
			perm[j] = x;
		}
	}
	if (ok) {
		const struct fk_allocator_ops *ops = env->real_ops;
		void *state = env->alloc_state;
		int64_t held = 0;
		int err = 0;
		if (work == W_REPEAT) {
			while (gb_keep_running_batch(st, n)) {
				if (bench_over_budget(st, env))
					goto done;
				for (int64_t i = 0; i < n; i++) {
					uint64_t pa;
					err = ops->alloc(state, nframes, order, -1, 0, &pa);
					if (err)
						goto fail;
					gb_do_not_optimize(pa);
					err = ops->dealloc(state, pa, nframes);
					if (err)
						goto fail;
				}
			}
		} else {
			uint64_t rot = 0;
			while (gb_keep_running_batch(st, n)) {
				if (bench_over_budget(st, env))
					goto done;
				uint64_t t0 = bench_now_ns();
				for (held = 0; held < n; held++) {
					err =
					    ops->alloc(state, nframes, order, -1, 0, &blocks[held]);
					if (err)
						goto fail;
				}
				uint64_t t1 = bench_now_ns();
				rot = work == W_RANDOM ? bench_rand(&rng) % (uint64_t)n : 0;
				for (int64_t i = 0; i < n; i++) {
					int64_t k = perm[((uint64_t)i + rot) % (uint64_t)n];
					err = ops->dealloc(state, blocks[k], nframes);
					if (err) {
						held = 0; /* state unknown: leave the rest to the
						             leak report */
						goto fail;
					}
				}
				held = 0;
				alloc_ns += t1 - t0;
				free_ns += bench_now_ns() - t1;
			}
		}
		goto done;
	fail:
		bench_fail(st, work == W_REPEAT ? "alloc/dealloc" : "bulk alloc/dealloc", err);
		for (int64_t i = 0; i < held; i++)
			ops->dealloc(state, blocks[i], nframes);
	done:;
		int64_t it = gb_iterations_done(st);
		gb_set_items_processed(st, it);
		gb_set_bytes_processed(st, it * (int64_t)(nframes * FK_PAGE_SIZE));
		if (work != W_REPEAT && it > 0) {
			gb_counter(st, "alloc_ns", (double)alloc_ns / (double)it,
			           GB_COUNTER_AVG_THREADS);
			gb_counter(st, "free_ns", (double)free_ns / (double)it,
			           GB_COUNTER_AVG_THREADS);
		}
	}
	bench_end(st, env);
	free(blocks);
	free(perm);
}

static void bm_alloc_segment(gb_state *st, void *arg)
{
	struct bench_env *env = arg;
	int work = (int)env->p[0];
	unsigned order = (unsigned)env->p[1];
	uint64_t nframes = (uint64_t)1 << order;
	unsigned flags = order ? FK_ALLOC_ALIGNED : 0;
	int64_t n = work == W_REPEAT ? REPEAT_BATCH : bulk_count(order);
	fk_segment *segs = calloc((size_t)n, sizeof(*segs));
	int ok = bench_begin(st, env) == 0;
	if (ok && !segs) {
		gb_skip_and_finish(st, "calloc");
		ok = 0;
	}
	if (ok) {
		int err = 0;
		int64_t held = 0;
		while (gb_keep_running_batch(st, n)) {
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
	done:;
		int64_t it = gb_iterations_done(st);
		gb_set_items_processed(st, it);
		gb_set_bytes_processed(st, it * (int64_t)(nframes * FK_PAGE_SIZE));
	}
	bench_end(st, env);
	free(segs);
}

/* Extra lock flavours of buddy-global (alloc_raw_repeat only). */
static const char *const buddy_locks[] = {"mcs", "mutex"};

void bench_register_alloc(void)
{
	static const char *const works[] = {"bulk", "repeat", "random"};
	static const unsigned orders[] = {0, 9};
	char name[160];
	for (int w = 0; w < 3; w++) {
		for (size_t a = 0; a < bench_nr_allocators; a++) {
			for (int o = 0; o < 2; o++) {
				struct bench_env *env = bench_env_new(bench_allocators[a]);
				env->capture_alloc = 1;
				env->p[0] = w;
				env->p[1] = orders[o];
				snprintf(name, sizeof(name), "alloc_raw_%s/%s/order:%u", works[w],
				         bench_allocators[a], orders[o]);
				bench_register(name, bm_alloc_raw, env);
			}
		}
	}
	/* The buddy-global lock flavours, where the lock is the whole story. */
	for (size_t a = 0; a < bench_nr_allocators; a++) {
		if (strcmp(bench_allocators[a], "buddy-global") != 0)
			continue;
		for (size_t l = 0; l < sizeof(buddy_locks) / sizeof(buddy_locks[0]); l++) {
			struct bench_env *env = bench_env_new(bench_allocators[a]);
			env->capture_alloc = 1;
			env->lock = buddy_locks[l];
			env->p[0] = W_REPEAT;
			env->p[1] = 0;
			snprintf(name, sizeof(name), "alloc_raw_repeat/buddy-global+%s/order:0",
			         buddy_locks[l]);
			bench_register(name, bm_alloc_raw, env);
		}
	}
	for (int w = 0; w < 2; w++) {
		for (size_t a = 0; a < bench_nr_allocators; a++) {
			for (int o = 0; o < 2; o++) {
				struct bench_env *env = bench_env_new(bench_allocators[a]);
				env->p[0] = w;
				env->p[1] = orders[o];
				snprintf(name, sizeof(name), "alloc_segment_%s/%s/order:%u",
				         works[w], bench_allocators[a], orders[o]);
				bench_register(name, bm_alloc_segment, env);
			}
		}
	}
}
