/* SPDX-License-Identifier: MIT */
/*
 * failed_allocations_and_init_callbacks_leave_state_intact
 *
 * Fault injection on every allocator, single-threaded so each failure is
 * checked exactly: the allocator's alloc() and add_free_memory() fail with
 * FK_ENOMEM (wrapper ops, stress/stress_common.h), metadata init callbacks
 * fail in the middle of fk_alloc_segment / fk_segment_from_unused /
 * fk_unique_frame_from_unused. After every failure: the error is the one
 * injected, on_drop ran once per frame claimed before the failure, every
 * slot's refcount and raw count are as before, and the allocator's free
 * count is unchanged. At the end the conservation check must pass.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <framekit/framekit.h>

#include "../stress/stress_common.h"
#include "fk_test.h"

#define M0       0x1000000ull
#define M1       0x2000000ull
#define MN       64
#define U        0x3000000ull
#define UN       16
#define H        0x4000000ull
#define HN       32
#define INIT_ERR FK_ENOMEM
#define TEST_NAME "failed_allocations_and_init_callbacks_leave_state_intact"


static uint64_t on_drops;
static int init_calls, init_fail_at = -1;

static void on_drop(void *meta, uint64_t paddr, void *ctx)
{
	(void)ctx;
	if (*(uint64_t *)meta != paddr) {
		fprintf(stderr, "on_drop(0x%" PRIx64 "): bad metadata\n", paddr);
		abort();
	}
	on_drops++;
}
static const struct fk_meta_type type = {"faults", 8, on_drop, NULL, 0};

static int init(void *meta, uint64_t paddr, void *ctx)
{
	(void)ctx;
	if (init_calls++ == init_fail_at)
		return INIT_ERR;
	*(uint64_t *)meta = paddr;
	return 0;
}

struct snap {
	uint64_t rc[2 * MN + UN], raw[2 * MN + UN];
	uint64_t free_frames, managed;
};

static uint64_t pa_of(int i)
{
	return i < MN       ? M0 + (uint64_t)i * FK_PAGE_SIZE
	       : i < 2 * MN ? M1 + (uint64_t)(i - MN) * FK_PAGE_SIZE
	                    : U + (uint64_t)(i - 2 * MN) * FK_PAGE_SIZE;
}

static void take(fk_mem *mem, struct snap *s)
{
	for (int i = 0; i < 2 * MN + UN; i++) {
		fk_mem_refcount_at(mem, pa_of(i), &s->rc[i]);
		fk_mem_raw_count_at(mem, pa_of(i), &s->raw[i]);
	}
	struct fk_alloc_stats st;
	fk_mem_alloc_stats(mem, -1, &st);
	s->free_frames = st.free_frames;
	s->managed = fk_mem_managed_frames(mem);
}

static void same(fk_mem *mem, const struct snap *a, const char *what)
{
	struct snap b;
	take(mem, &b);
	for (int i = 0; i < 2 * MN + UN; i++)
		EXPECT(a->rc[i] == b.rc[i] && a->raw[i] == b.raw[i],
		      "%s changed frame 0x%" PRIx64 ": refcount %" PRIu64 " -> %" PRIu64, what,
		      pa_of(i), a->rc[i], b.rc[i]);
	EXPECT(a->free_frames == b.free_frames,
	      "%s changed allocator free frames %" PRIu64 " -> %" PRIu64, what, a->free_frames,
	      b.free_frames);
	EXPECT(a->managed == b.managed, "%s changed managed frames", what);
}

static void arm(int fail_at)
{
	init_calls = 0;
	init_fail_at = fail_at;
}

static void run(const char *name, const struct fk_variant *v)
{
	struct fk_region_config regs[3] = {
	    {M0, MN, 0, 0},
	    {M1, MN, 1, 0},
	    {U, UN, 0, FK_REGION_UNMANAGED},
	};
	struct fk_mem_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	cfg.regions = regs;
	cfg.nr_regions = 3;
	cfg.nr_nodes = 2;
	cfg.raw_tracking = 1;
	cfg.allocator_ops = sc_wrap(fk_allocator_find(name), 1.0);
	fk_variant_apply(&cfg, v);
	fk_mem *mem;
	int rc = fk_mem_create(&cfg, &mem);
	EXPECT(rc == 0, "fk_mem_create -> %s", fk_strerror_name(rc));
	if (rc)
		return;
	fk_thread_enter(mem);
	uint64_t rng = 0x5eed;
	fk_segment held[8];
	memset(held, 0, sizeof(held));
	struct snap s;
	int failures0 = fk_test_failures;

	for (int it = 0; it < 400; it++) {
		uint64_t n = 1 + fk_rand_below(&rng, 12);
		int k;
		/* Keep some frames allocated so failures happen next to live ones. */
		int h = (int)fk_rand_below(&rng, 8);
		if (held[h].region) {
			rc = fk_segment_drop(mem, &held[h]);
			EXPECT(rc == 0, "drop -> %s", fk_strerror_name(rc));
		} else {
			arm(-1);
			rc = fk_alloc_segment(mem, n, &type, init, NULL, 0, &held[h]);
			EXPECT(rc == 0 || rc == FK_ENOMEM, "alloc -> %s", fk_strerror_name(rc));
		}
		take(mem, &s);
		uint64_t d0 = on_drops;
		fk_segment seg;
		fk_unique_frame uf;
		switch (fk_rand_below(&rng, 5)) {
		case 0: /* the allocator fails */
			atomic_store(&sc_fault_armed, 1);
			arm(-1);
			rc = fk_alloc_segment(mem, n, &type, init, NULL,
			                      fk_rand_chance(&rng, 0.5) ? FK_ALLOC_ALIGNED : 0, &seg);
			atomic_store(&sc_fault_armed, 0);
			EXPECT(rc == FK_ENOMEM && init_calls == 0,
			      "alloc with failing allocator -> %s, %d init calls",
			      fk_strerror_name(rc), init_calls);
			same(mem, &s, "failed allocation");
			break;
		case 1: /* init fails at frame k of an allocation */
			k = (int)fk_rand_below(&rng, n);
			arm(k);
			rc = fk_alloc_segment(mem, n, &type, init, NULL,
			                      FK_ALLOC_NODE(fk_rand_below(&rng, 2)), &seg);
			if (rc == FK_ENOMEM && init_calls == 0)
				break; /* nothing contiguous: fine */
			EXPECT(rc == INIT_ERR, "alloc_segment with init failing at %d -> %s", k,
			      fk_strerror_name(rc));
			EXPECT(on_drops - d0 == (uint64_t)k,
			      "rollback ran on_drop %" PRIu64 " times for %d", on_drops - d0, k);
			same(mem, &s, "alloc_segment with failing init");
			break;
		case 2: { /* init fails in from_unused of unmanaged frames */
			uint64_t m = 1 + fk_rand_below(&rng, UN / 2);
			uint64_t first = fk_rand_below(&rng, UN - m + 1);
			k = (int)fk_rand_below(&rng, m);
			arm(k);
			rc = fk_segment_from_unused(mem, U + first * FK_PAGE_SIZE,
			                            U + (first + m) * FK_PAGE_SIZE, &type, init,
			                            NULL, &seg);
			EXPECT(rc == INIT_ERR, "segment_from_unused with init failing at %d -> %s",
			      k, fk_strerror_name(rc));
			EXPECT(on_drops - d0 == (uint64_t)k,
			      "rollback ran on_drop %" PRIu64 " times for %d", on_drops - d0, k);
			same(mem, &s, "segment_from_unused with failing init");
			break;
		}
		case 3: /* init fails for a unique frame */
			arm(0);
			rc = fk_unique_frame_from_unused(mem, U + fk_rand_below(&rng, UN) * FK_PAGE_SIZE,
			                                 &type, init, NULL, &uf);
			EXPECT(rc == INIT_ERR && on_drops == d0,
			      "unique from_unused with failing init -> %s", fk_strerror_name(rc));
			same(mem, &s, "unique from_unused with failing init");
			break;
		default: { /* hot-add fails in the allocator, then succeeds */
			struct fk_region_config hc = {H, HN, (int)fk_rand_below(&rng, 2), 0};
			atomic_store(&sc_fault_armed, 1);
			rc = fk_mem_add_region(mem, &hc);
			atomic_store(&sc_fault_armed, 0);
			EXPECT(rc == FK_ENOMEM, "add_region with failing allocator -> %s",
			      fk_strerror_name(rc));
			uint64_t c;
			EXPECT(fk_mem_refcount_at(mem, H, &c) == FK_EOUTOFBOUND,
			      "failed add_region left the region visible");
			same(mem, &s, "failed add_region");
			rc = fk_mem_add_region(mem, &hc);
			EXPECT(rc == 0, "add_region -> %s", fk_strerror_name(rc));
			fk_mem_alloc_drain(mem);
			rc = fk_mem_remove_region(mem, H);
			EXPECT(rc == 0, "remove_region(idle) -> %s", fk_strerror_name(rc));
			same(mem, &s, "add + remove region");
			break;
		}
		}
		if (fk_test_failures - failures0 > 20)
			break;
	}
	for (int h = 0; h < 8; h++)
		if (held[h].region)
			fk_segment_drop(mem, &held[h]);
	/* hot_removed_range_can_come_back_on_another_node */
	for (int node = 0; node < 2; node++) {
		struct fk_region_config hc = {H, HN, node, 0};
		rc = fk_mem_add_region(mem, &hc);
		EXPECT(rc == 0, "re-add of a removed range on node %d -> %s (nothing is there)",
		      node, fk_strerror_name(rc));
		fk_mem_alloc_drain(mem);
		if (rc == 0) {
			rc = fk_mem_remove_region(mem, H);
			EXPECT(rc == 0, "remove_region(idle) -> %s", fk_strerror_name(rc));
		}
	}
	struct sc_region sr[3] = {{M0, MN, 0, 0}, {M1, MN, 1, 0}, {U, UN, 0, FK_REGION_UNMANAGED}};
	int bad = sc_check_conservation(mem, sr, 3, stderr) + sc_check_wrap_balance(stderr);
	EXPECT(bad == 0, "conservation check found %d problem(s)", bad);
	fk_thread_leave(mem);
	rc = fk_mem_destroy(mem, NULL);
	EXPECT(rc == 0, "fk_mem_destroy -> %s", fk_strerror_name(rc));
}

int main(int argc, char **argv)
{
	const char *names[16];
	char var[96], buf[200];
	size_t n = fk_allocator_names(names, 16);
	if (n > 16)
		n = 16;
	fk_test_args(argc, argv);
	for (size_t i = 0; i < n * FK_NR_VARIANTS; i++) {
		const struct fk_variant *v = &fk_variants[i % FK_NR_VARIANTS];
		snprintf(var, sizeof(var), "%s/%s", names[i / FK_NR_VARIANTS], v->name);
		snprintf(buf, sizeof(buf), "%s [%s]", TEST_NAME, var);
		if (!fk_test_selected(buf))
			continue;
		int before = fk_test_failures;
		run(names[i / FK_NR_VARIANTS], v);
		printf("  injected %" PRIu64 " allocator and %" PRIu64 " add_free_memory failures\n",
		       (uint64_t)atomic_load(&sc_wstats.injected_alloc),
		       (uint64_t)atomic_load(&sc_wstats.injected_add));
		fk_test_record(TEST_NAME, var, fk_test_failures != before);
	}
	return fk_test_finish();
}
