/* SPDX-License-Identifier: MIT */
/*
 * The stress workload: the table of operations (name, weight, function),
 * the weighted random choice of the next one, and the worker loop that
 * runs them until the run stops, then releases everything it holds.
 * Adding an operation: stress/README.md.
 */
#include <stdatomic.h>

#include "stress.h"

/* Names (SUMMARY line) and relative weights, in enum op order. */
const char *const op_name[NR_OPS] = {
    "alloc_seg", "alloc_frame", "split",       "slice",     "next",      "clone",     "drop",
    "into_raw",  "from_raw",    "from_in_use", "publish",   "race_drop", "view",      "mail_put",
    "mail_take", "from_frame",  "unique",      "unmanaged", "bad_args",  "hot_alloc",
    "huge_split", "part_drop", "drain", "small",
};
static const unsigned op_weight[NR_OPS] = {
    12, 6, 6, 5, 5, 6, 10, 5, 0 /* from_raw: driven by into_raw */, 10, 4, 3,
    5,  3, 3, 2, 3, 4, 3,  2,
    0, 0, 0, 0, /* the huge workload's */
};
/* --workload huge: order-9 blocks freed in parts by several threads,
 * order-0 frames, drains (stress_ops_huge.c). */
static const unsigned op_weight_huge[NR_OPS] = {
    [OP_SMALL_FRAME] = 25, [OP_DROP] = 5, [OP_HUGE_SPLIT] = 30,
    [OP_PART_DROP] = 35,   [OP_DRAIN] = 5,
};

typedef int (*op_fn)(struct worker *);
static const op_fn op_table[NR_OPS] = {
    op_alloc_seg,  op_alloc_frame, op_split,     op_slice,    op_next,
    op_clone,      op_drop,        op_into_raw,  op_from_raw, op_from_in_use,
    op_publish,    op_race_drop,   op_view,      op_mail_put, op_mail_take,
    op_from_frame, op_unique,      op_unmanaged, op_bad_args, op_hot_alloc,
    op_huge_split, op_part_drop,   op_drain,    op_small_frame,
};

static unsigned weight_total;
static const unsigned *weights = op_weight;

/* Once, before the first run (g.workload set). */
void workload_init(void)
{
	if (g.workload == WL_HUGE)
		weights = op_weight_huge;
	for (int k = 0; k < NR_OPS; k++)
		weight_total += weights[k];
}

static enum op choose(struct worker *w)
{
	/* Raw items get restored with the same odds as they were made. */
	if (g.workload == WL_MIXED && pick(w, M_RAW) >= 0 && fk_rand_chance(&w->rng, 0.15))
		return OP_FROM_RAW;
	unsigned r = (unsigned)fk_rand_below(&w->rng, weight_total);
	for (int k = 0; k < NR_OPS; k++) {
		if (r < weights[k])
			return (enum op)k;
		r -= weights[k];
	}
	return OP_DROP;
}

void *worker_main(void *arg)
{
	struct worker *w = arg;
	tl_id = w->id;
	tl_init_fail_at = -1;
	sc_fault_seed(g.seed * 1000003u + (uint64_t)w->id);
	int rc = fk_thread_enter(g.mem);
	EXPECT(rc == 0, "fk_thread_enter -> %s", E(rc));
	while (!atomic_load_explicit(&g.stop, memory_order_relaxed) && w->nops < g.ops_limit) {
		enum op k = choose(w);
		if (k == OP_HOT_ALLOC && !g.hotplug)
			k = OP_DROP;
		w->ops[k]++;
		w->ok[k] += (uint64_t)op_table[k](w);
		w->nops++;
		/* relaxed: a statistic for the progress line only */
		atomic_store_explicit(&w->nops_seen, w->nops, memory_order_relaxed);
	}
	while (w->n > 0) {
		item_release(g.mem, &w->items[w->n - 1]);
		w->n--;
	}
	fk_thread_leave(g.mem);
	atomic_fetch_add(&g.workers_done, 1);
	return NULL;
}
