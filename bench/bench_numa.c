/* SPDX-License-Identifier: MIT */
/*
 * NUMA placement (--numa / FK_BENCH_NUMA): "real" uses one region per
 * physical node and the core maps CPUs to nodes with libnuma; "logical:N"
 * divides the memory into N regions on a machine with fewer nodes and the
 * core spreads CPUs round-robin over them. Each thread
 * allocates frames (fk_alloc_frame, node-strict) on its own node ("local")
 * or on the next node ("remote", freed by a CPU of another node) and drops
 * them. On a logical split the difference is allocator bookkeeping
 * (per-node structures, remote frees), not memory latency: those runs are
 * labelled "logical split".
 */
#include <stdio.h>

#include "bench_common.h"

#define NUMA_BATCH 32

static void bm_numa(gb_state *st, void *arg)
{
	struct bench_env *env = arg;
	int remote = (int)env->p[0];
	int64_t items = 0;
	if (bench_begin(st, env) == 0) {
		int nodes = (int)fk_mem_nr_nodes(env->mem);
		int here = fk_mem_current_node(env->mem);
		int target = remote ? (here + 1) % nodes : here;
		unsigned flags = FK_ALLOC_NODE(target) | FK_ALLOC_NODE_STRICT;
		fk_frame f[NUMA_BATCH];
		int err = 0, held = 0;
		if (here < 0 || nodes != (int)env->nr_nodes) {
			bench_fail(st, "fk_mem_current_node/nr_nodes", here < 0 ? here : FK_EINVAL);
		} else {
			while (bench_keep_running(st, env, NUMA_BATCH)) {
				if (bench_over_budget(st, env))
					goto done;
				for (held = 0; held < NUMA_BATCH; held++) {
					err = fk_alloc_frame(env->mem, NULL, NULL, NULL, flags,
					                     &f[held]);
					if (err)
						goto fail;
				}
				for (; held > 0; held--) {
					err = fk_frame_drop(env->mem, &f[held - 1]);
					if (err)
						goto fail;
				}
			}
			goto done;
		fail:
			bench_fail(st, "fk_alloc_frame/fk_frame_drop", err);
			while (held-- > 0)
				fk_frame_drop(env->mem, &f[held]);
		done:
			items = bench_iterations(st);
			if (gb_thread_index(st) == 0) {
				/* After the stop barrier: every thread is out of the loop. */
				struct fk_alloc_stats s;
				if (fk_mem_alloc_stats(env->mem, -1, &s) == 0) {
					gb_counter(st, "remote_frees", (double)s.remote_frees, 0);
					gb_counter(st, "fallback_allocs", (double)s.fallback_allocs,
					           0);
				}
			}
		}
	}
	bench_end(st, env, items);
}

void bench_register_numa(void)
{
	char name[160];
	for (size_t a = 0; a < bench_nr_allocators; a++) {
		/* On one real node a "remote" frame is local: local runs only. */
		for (int remote = 0; remote < (bench_cfg.numa_nodes > 1 ? 2 : 1); remote++) {
			struct bench_env *env = bench_env_new(bench_allocators[a]);
			env->nr_nodes = bench_cfg.numa_nodes;
			env->p[0] = remote;
			env->label = bench_cfg.numa_real ? NULL : "logical split";
			snprintf(name, sizeof(name), "numa/%s/%s_nodes:%u/%s", bench_allocators[a],
			         bench_cfg.numa_real ? "real" : "logical", bench_cfg.numa_nodes,
			         remote ? "remote" : "local");
			bench_register(name, bm_numa, env);
		}
	}
}
