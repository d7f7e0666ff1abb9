/* SPDX-License-Identifier: MIT */
/*
 * fk_frame_from_in_use lookups (the RCU paddr -> slot path): every thread
 * looks up random frames of a shared pool, takes a reference and drops it.
 *
 * stable: the pool never changes (every lookup hits).
 * racing: pool entry i is owned by thread i % nthreads, which, once every
 *   LOOKUP_CHURN lookups, drops its frame (the address stays published, so
 *   other threads' lookups race that last drop) and publishes a freshly
 *   allocated one. A miss (FK_EUNUSED / FK_EBUSY) is a correct answer, and
 *   is counted.
 * A core family (allocator fixed, axis = core variant: the lookup mode).
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench_common.h"

#define LOOKUP_POOL  4096
#define LOOKUP_BATCH 64
#define LOOKUP_CHURN 8

struct lookup_pool {
	_Atomic uint64_t paddr[LOOKUP_POOL]; /* read by everyone */
	fk_frame frame[LOOKUP_POOL];         /* entry i: owner thread only */
};

static int lookup_setup(struct bench_env *env)
{
	struct lookup_pool *p = calloc(1, sizeof(*p));
	if (!p)
		return FK_ENOMEM;
	for (int i = 0; i < LOOKUP_POOL; i++) {
		int err = fk_alloc_frame(env->mem, NULL, NULL, NULL, 0, &p->frame[i]);
		if (err) {
			while (i-- > 0)
				fk_frame_drop(env->mem, &p->frame[i]);
			free(p);
			return err;
		}
		/* relaxed: the start barrier (a mutex) publishes the pool. */
		atomic_store_explicit(&p->paddr[i], fk_frame_paddr(&p->frame[i]),
		                      memory_order_relaxed);
	}
	env->shared = p;
	return 0;
}

static int lookup_teardown(struct bench_env *env)
{
	struct lookup_pool *p = env->shared;
	int ret = 0;
	for (int i = 0; i < LOOKUP_POOL; i++) {
		int err = p->frame[i].region ? fk_frame_drop(env->mem, &p->frame[i]) : 0;
		if (err && !ret)
			ret = err;
	}
	free(p);
	env->shared = NULL;
	return ret;
}

static void bm_lookup(gb_state *st, void *arg)
{
	struct bench_env *env = arg;
	int racing = (int)env->p[0];
	int tid = gb_thread_index(st), nthreads = gb_thread_count(st);
	uint64_t rng = 0x9E3779B97F4A7C15ULL * (uint64_t)(tid + 1);
	uint64_t hits = 0, misses = 0, churns = 0;
	int64_t items = 0;
	if (bench_begin(st, env) == 0) {
		struct lookup_pool *p = env->shared;
		/* Owned entries: tid, tid + nthreads, ... */
		int owned = (LOOKUP_POOL - tid + nthreads - 1) / nthreads;
		int next_own = 0;
		while (bench_keep_running(st, env, LOOKUP_BATCH)) {
			if (bench_over_budget(st, env))
				goto out;
			for (int i = 0; i < LOOKUP_BATCH; i++) {
				uint64_t r = fk_rand_next(&rng);
				uint64_t pa = atomic_load_explicit(&p->paddr[r % LOOKUP_POOL],
				                                   memory_order_relaxed);
				fk_frame f;
				int err = fk_frame_from_in_use(env->mem, pa, &f);
				if (err == 0) {
					hits++;
					err = fk_frame_drop(env->mem, &f);
				} else if (err == FK_EUNUSED || err == FK_EBUSY) {
					misses++;
					err = 0;
				}
				if (err) {
					bench_fail(st, "from_in_use/drop", err);
					goto out;
				}
				if (racing && owned > 0 && i % LOOKUP_CHURN == 0) {
					int idx = tid + next_own * nthreads;
					next_own = (next_own + 1) % owned;
					err = fk_frame_drop(env->mem, &p->frame[idx]);
					if (err == 0)
						err = fk_alloc_frame(env->mem, NULL, NULL, NULL, 0,
						                     &p->frame[idx]);
					if (err) {
						p->frame[idx].region = NULL;
						bench_fail(st, "churn drop/alloc", err);
						goto out;
					}
					atomic_store_explicit(&p->paddr[idx],
					                      fk_frame_paddr(&p->frame[idx]),
					                      memory_order_relaxed);
					churns++;
				}
			}
		}
	out:
		items = bench_iterations(st);
		gb_counter(st, "hits", (double)hits, GB_COUNTER_DEFAULT);
		gb_counter(st, "misses", (double)misses, GB_COUNTER_DEFAULT);
		gb_counter(st, "churns", (double)churns, GB_COUNTER_DEFAULT);
	}
	bench_end(st, env, items);
}

void bench_register_lookup(void)
{
	char name[128];
	for (size_t v = 0; v < bench_nr_core_variants; v++) {
		for (int racing = 0; racing < 2; racing++) {
			struct bench_env *env = bench_env_core(&bench_core_variants[v]);
			env->p[0] = racing;
			env->setup = lookup_setup;
			env->teardown = lookup_teardown;
			snprintf(name, sizeof(name), "lookup/core:%s/%s",
			         bench_core_variants[v].name, racing ? "racing_drops" : "stable");
			bench_register(name, bm_lookup, env);
		}
	}
}
