/* SPDX-License-Identifier: MIT */
/*
 * The stress suite's removal oracle (sc_removal_classify, stress/sc_track.h):
 * a refused removal (FK_EBUSY from an allocator's remove_free_memory,
 * FK_EINUSE from fk_mem_remove_region) is justified only if a frame of the
 * range was allocated before or during the call; a refusal while every
 * frame stayed free must be flagged, and fails a stress run.
 *
 *  - removal_oracle_flags_a_refusal_while_every_frame_is_free: every
 *    allocator, its removal refused by the fault-injecting wrapper
 *    (sc_fault_refuse_removals) on an idle region: flagged, at the
 *    allocator's level and at fk_mem_remove_region's.
 *  - removal_oracle_accepts_a_refusal_while_a_frame_is_held: every
 *    allocator, a frame of the region held: fk_mem_remove_region refuses,
 *    justified.
 *  - removal_oracle_accepts_a_frame_allocated_during_the_call: a fake
 *    allocator whose remove_free_memory sees a frame taken and given back
 *    while it runs (as a concurrent allocation would), then refuses:
 *    justified, although every frame is free again when it returns.
 * Single-threaded and exact; under each core variant.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <framekit/framekit.h>

#include "../stress/stress_common.h"
#include "fk_test.h"

#define M_BASE 0x10000000ull
#define M_N    1024ull
#define H_BASE 0x20000000ull
#define H_N    512ull

static const char *allocators[] = {"lockfree", "buddy-global", "buddy-pcp", "simple"};
#define NR_ALLOCATORS (sizeof(allocators) / sizeof(allocators[0]))

/* A wrapped fk_mem over `name`: region M (node 0) and hot region H (node 1). */
static fk_mem *wrapped_create(const char *name)
{
	struct fk_region_config regs[2] = {{M_BASE, M_N, 0, 0}, {H_BASE, H_N, 1, 0}};
	struct fk_mem_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	cfg.regions = regs;
	cfg.nr_regions = 2;
	cfg.nr_nodes = 2;
	const struct fk_allocator_ops *real = fk_allocator_find(name);
	if (!real)
		return NULL;
	cfg.allocator_ops = sc_wrap(real, 0);
	if (sc_track_add(M_BASE, M_N, 0) || sc_track_add(H_BASE, H_N, 1))
		return NULL;
	fk_variant_apply(&cfg, fk_test_variant);
	fk_mem *mem = NULL;
	if (fk_mem_create(&cfg, &mem))
		return NULL;
	if (fk_thread_enter(mem)) {
		fk_mem_destroy(mem, NULL);
		return NULL;
	}
	return mem;
}

static void wrapped_destroy(fk_mem *mem)
{
	fk_thread_leave(mem);
	fk_mem_destroy(mem, NULL);
}

static void removal_oracle_flags_a_refusal_while_every_frame_is_free(void)
{
	for (size_t a = 0; a < NR_ALLOCATORS; a++) {
		fk_mem *mem = wrapped_create(allocators[a]);
		CHECK(mem);
		struct sc_call c;
		atomic_store(&sc_fault_refuse_removals, 1);
		sc_call_begin(&c);
		int rc = fk_mem_remove_region(mem, H_BASE);
		CHECK_ERR(rc, FK_EINUSE);
		CHECK_EQ(atomic_load(&sc_wstats.injected_refusals), 1);
		/* The wrapper judged the allocator's FK_EBUSY: flagged. */
		CHECK_EQ(atomic_load(&sc_removal.refused), 1);
		CHECK_EQ(atomic_load(&sc_removal.flagged), 1);
		/* And the core's FK_EINUSE, as the stress workload judges it. */
		CHECK_EQ(sc_removal_classify(&c, H_BASE, H_N, rc, "test remove_region", stderr), 1);
		CHECK_EQ(atomic_load(&sc_removal.flagged), 2);
		CHECK_EQ(atomic_load(&sc_removal.justified), 0);
		/* Without the injected refusal the idle region goes. */
		CHECK_OK(fk_mem_remove_region(mem, H_BASE));
		wrapped_destroy(mem);
	}
}

static void removal_oracle_accepts_a_refusal_while_a_frame_is_held(void)
{
	for (size_t a = 0; a < NR_ALLOCATORS; a++) {
		fk_mem *mem = wrapped_create(allocators[a]);
		CHECK(mem);
		fk_frame f;
		CHECK_OK(fk_alloc_frame(mem, NULL, NULL, NULL,
		                        FK_ALLOC_NODE(1) | FK_ALLOC_NODE_STRICT, &f));
		CHECK(f.paddr >= H_BASE && f.paddr < H_BASE + H_N * FK_PAGE_SIZE);
		struct sc_call c;
		sc_call_begin(&c);
		int rc = fk_mem_remove_region(mem, H_BASE);
		CHECK_ERR(rc, FK_EINUSE);
		CHECK_EQ(sc_removal_classify(&c, H_BASE, H_N, rc, "test remove_region", stderr), 0);
		CHECK_EQ(atomic_load(&sc_removal.justified), 1);
		CHECK_EQ(atomic_load(&sc_removal.flagged), 0);
		CHECK_OK(fk_frame_drop(mem, &f));
		fk_mem_alloc_drain(mem);
		CHECK_OK(fk_mem_remove_region(mem, H_BASE));
		CHECK_EQ(atomic_load(&sc_removal.flagged), 0);
		wrapped_destroy(mem);
	}
}

/* ---- a fake allocator: one range, frame 0 taken and given back during
 * its remove_free_memory, which then refuses ---- */

static const struct fk_allocator_ops *wops; /* the wrapper around fake_ops */
static void *wst;

static int fake_create(const struct fk_alloc_params *p, unsigned nn, const int *cn, unsigned nc,
                       void **st)
{
	(void)p, (void)nn, (void)cn, (void)nc;
	*st = &wops;
	return 0;
}
static void fake_destroy(void *st)
{
	(void)st;
}
static int fake_alloc(void *st, uint64_t n, unsigned align, int node, unsigned flags,
                      uint64_t *pa)
{
	(void)st, (void)n, (void)align, (void)node, (void)flags;
	*pa = M_BASE;
	return 0;
}
static int fake_dealloc(void *st, uint64_t pa, uint64_t n)
{
	(void)st, (void)pa, (void)n;
	return 0;
}
static int fake_add(void *st, uint64_t pa, uint64_t n, int node)
{
	(void)st, (void)pa, (void)n, (void)node;
	return 0;
}
static int fake_remove(void *st, uint64_t pa, uint64_t n)
{
	(void)st, (void)pa, (void)n;
	/* "Another thread" takes frame 0 and gives it back meanwhile. */
	uint64_t got;
	if (wops->alloc(wst, 1, 0, 0, 0, &got) == 0)
		wops->dealloc(wst, got, 1);
	return FK_EBUSY;
}
static int fake_stats(void *st, int node, struct fk_alloc_stats *out)
{
	(void)st, (void)node;
	memset(out, 0, sizeof(*out));
	return 0;
}
static const struct fk_allocator_ops fake_ops = {
    .name = "fake",
    .create = fake_create,
    .destroy = fake_destroy,
    .alloc = fake_alloc,
    .dealloc = fake_dealloc,
    .add_free_memory = fake_add,
    .remove_free_memory = fake_remove,
    .stats = fake_stats,
};

static void removal_oracle_accepts_a_frame_allocated_during_the_call(void)
{
	wops = sc_wrap(&fake_ops, 0);
	CHECK(sc_track_add(M_BASE, M_N, 0) == 0);
	CHECK_OK(wops->create(NULL, 1, NULL, 1, &wst));
	CHECK_OK(wops->add_free_memory(wst, M_BASE, M_N, 0));
	CHECK_EQ(sc_track_state(M_BASE), SC_FREE);
	CHECK_ERR(wops->remove_free_memory(wst, M_BASE, M_N), FK_EBUSY);
	CHECK_EQ(sc_track_state(M_BASE), SC_FREE); /* free again at the end */
	CHECK_EQ(atomic_load(&sc_removal.refused), 1);
	CHECK_EQ(atomic_load(&sc_removal.justified), 1);
	CHECK_EQ(atomic_load(&sc_removal.flagged), 0);
	/* The same refusal with nothing taken meanwhile is flagged. */
	struct sc_call c;
	sc_call_begin(&c);
	CHECK_EQ(sc_removal_classify(&c, M_BASE, M_N, FK_EBUSY, "test remove_free_memory",
	                             stderr),
	         1);
	wops->destroy(wst);
}

int main(int argc, char **argv)
{
	fk_test_args(argc, argv);
	RUN(removal_oracle_flags_a_refusal_while_every_frame_is_free);
	RUN(removal_oracle_accepts_a_refusal_while_a_frame_is_held);
	RUN(removal_oracle_accepts_a_frame_allocated_during_the_call);
	return fk_test_finish();
}
