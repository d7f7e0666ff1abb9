/*
 * NUMA placement on a logical split (this machine has one physical node):
 * the 1 GiB is divided into nr_nodes regions, one per logical node, and
 * CPUs are spread round-robin over the nodes by the core. Each thread
 * allocates frames (fk_alloc_frame, node-strict) on its own node ("local")
 * or on the next node ("remote", freed by a CPU of another node) and drops
 * them. On one physical node the difference is allocator bookkeeping
 * (per-node structures, remote frees), not memory latency: the runs are
 * labelled "logical split".
 */
#include <stdio.h>

#include "bench_common.h"

#define NUMA_BATCH 32

static void bm_numa(gb_state *st, void *arg)
{
	struct bench_env *env = arg;
	int remote = (int)env->p[0];
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
			while (gb_keep_running_batch(st, NUMA_BATCH)) {
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
			gb_set_items_processed(st, gb_iterations_done(st));
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
	bench_end(st, env);
}

void bench_register_numa(void)
{
	static const unsigned split[] = {2, 4};
	char name[160];
	for (size_t a = 0; a < bench_nr_allocators; a++) {
		for (int n = 0; n < 2; n++) {
			for (int remote = 0; remote < 2; remote++) {
				struct bench_env *env = bench_env_new(bench_allocators[a]);
				env->nr_nodes = split[n];
				env->p[0] = remote;
				env->label = "logical split";
				snprintf(name, sizeof(name), "numa/%s/logical_nodes:%u/%s",
				         bench_allocators[a], split[n],
				         remote ? "remote" : "local");
				bench_register(name, bm_numa, env);
			}
		}
	}
}
