/* SPDX-License-Identifier: MIT */
/*
 * Shared frames: every thread clones/slices and drops the SAME segment
 * (refcount cache lines bounce between CPUs) versus one private segment
 * per thread (no sharing). Same work, so the ratio is the contention cost.
 * A core family (allocator fixed, axis = core variant).
 */
#include <stdio.h>

#include "bench_common.h"

#define SHARED_FRAMES 16
#define SHARED_BATCH  32

enum { OP_CLONE_DROP, OP_SLICE1_DROP };

static int shared_setup(struct bench_env *env)
{
	int err = fk_alloc_segment(env->mem, SHARED_FRAMES, NULL, NULL, NULL, 0, &env->seg);
	if (err == 0)
		env->shared = &env->seg;
	return err;
}

static int shared_teardown(struct bench_env *env)
{
	fk_segment *seg = env->shared;
	return seg ? fk_segment_drop(env->mem, seg) : 0;
}

static void bm_shared(gb_state *st, void *arg)
{
	struct bench_env *env = arg;
	int op = (int)env->p[0], private_seg = (int)env->p[1];
	fk_segment mine = {0};
	int64_t items = 0;
	const fk_segment *seg = NULL;
	if (bench_begin(st, env) == 0) {
		int err = 0;
		if (private_seg) {
			err = fk_alloc_segment(env->mem, SHARED_FRAMES, NULL, NULL, NULL, 0, &mine);
			seg = &mine;
		} else {
			seg = env->shared;
		}
		if (err) {
			mine.region = NULL;
			bench_fail(st, "fk_alloc_segment", err);
		} else {
			while (bench_keep_running(st, env, SHARED_BATCH)) {
				for (int i = 0; i < SHARED_BATCH; i++) {
					fk_segment c;
					err = op == OP_CLONE_DROP
					          ? fk_segment_clone(env->mem, seg, &c)
					          : fk_segment_slice(env->mem, seg, 0, FK_PAGE_SIZE,
					                             &c);
					if (err == 0)
						err = fk_segment_drop(env->mem, &c);
					if (err) {
						bench_fail(st, "clone|slice/drop", err);
						goto out;
					}
				}
			}
		out:
			items = bench_iterations(st);
		}
		if (mine.region)
			fk_segment_drop(env->mem, &mine);
	}
	bench_end(st, env, items);
}

void bench_register_shared(void)
{
	static const char *const ops[] = {"clone_drop_16", "slice1_drop"};
	char name[128];
	for (size_t v = 0; v < bench_nr_core_variants; v++) {
		for (int op = 0; op < 2; op++) {
			for (int priv = 0; priv < 2; priv++) {
				struct bench_env *env = bench_env_core(&bench_core_variants[v]);
				env->p[0] = op;
				env->p[1] = priv;
				if (!priv) {
					env->setup = shared_setup;
					env->teardown = shared_teardown;
				}
				snprintf(name, sizeof(name), "shared/core:%s/%s/%s",
				         bench_core_variants[v].name, ops[op],
				         priv ? "private" : "same_segment");
				bench_register(name, bm_shared, env);
			}
		}
	}
}
