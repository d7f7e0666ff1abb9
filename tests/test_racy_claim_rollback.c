/* SPDX-License-Identifier: MIT */
/*
 * claim_rollback_never_tears_down_a_frame_someone_else_holds
 *
 * While fk_segment_from_unused / fk_alloc_segment claims a range, another
 * thread tries to take a reference to an already claimed frame by address
 * (from_in_use) before the claim of a later frame fails.
 *
 * framekit keeps every frame of a range busy (FK_REF_BUSY, allocator-granted
 * frames too) until the whole range is claimed, so the half-built
 * segment is never observable: the other thread gets FK_EBUSY,
 * and the rollback tears down frames that are
 * the claimer's alone (on_drop once per claimed frame, all UNUSED, all back
 * to the allocator). An earlier version published each frame as it was
 * claimed; then this thread got a reference and the rollback tore down
 * the frame under it (on_drop and UNUSED while the handle was live).
 *
 * Deterministic: the failing init callback (frame 1) waits until a second
 * thread has made its attempt on frame 0.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <framekit/framekit.h>

#include "fk_test.h"

#define U_BASE 0x100000ull
#define M_BASE 0x400000ull


static atomic_int on_drops;
static void on_drop(void *meta, uint64_t paddr, void *ctx)
{
	(void)meta;
	(void)paddr;
	(void)ctx;
	atomic_fetch_add(&on_drops, 1);
}
static const struct fk_meta_type type = {"rollback", 8, on_drop, NULL, 0};

static fk_mem *mem;
static uint64_t first_pa; /* set before the claim: the frame the thief takes */
static atomic_int go, taken;
static fk_frame stolen;
static int steal_rc;

static void *thief(void *arg)
{
	(void)arg;
	fk_thread_enter(mem);
	while (!atomic_load(&go))
		;
	steal_rc = fk_frame_from_in_use(mem, first_pa, &stolen);
	atomic_store(&taken, 1);
	fk_thread_leave(mem);
	return NULL;
}

/* Frame 0: ok. Frame 1: let the thief take frame 0, then fail. */
static int init_fail_second(void *meta, uint64_t paddr, void *ctx)
{
	(void)ctx;
	*(uint64_t *)meta = paddr;
	if (paddr == first_pa)
		return 0;
	if (first_pa == 0) /* alloc path: frame 0's address is only known now */
		return 0;
	atomic_store(&go, 1);
	while (!atomic_load(&taken))
		;
	return FK_ENOMEM;
}

static int init_alloc(void *meta, uint64_t paddr, void *ctx)
{
	(void)ctx;
	*(uint64_t *)meta = paddr;
	if (first_pa == 0) {
		first_pa = paddr;
		return 0;
	}
	atomic_store(&go, 1);
	while (!atomic_load(&taken))
		;
	return FK_ENOMEM;
}

static void run(int managed)
{
	pthread_t th;
	atomic_store(&go, 0);
	atomic_store(&taken, 0);
	atomic_store(&on_drops, 0);
	memset(&stolen, 0, sizeof(stolen));
	steal_rc = -100;
	pthread_create(&th, NULL, thief, NULL);
	fk_segment seg;
	int rc;
	if (managed) {
		first_pa = 0;
		rc = fk_alloc_segment(mem, 2, &type, init_alloc, NULL, 0, &seg);
	} else {
		first_pa = U_BASE;
		rc = fk_segment_from_unused(mem, U_BASE, U_BASE + 2 * 4096, &type, init_fail_second,
		                            NULL, &seg);
	}
	pthread_join(th, NULL);
	const char *what = managed ? "alloc_segment" : "segment_from_unused";
	EXPECT(rc == FK_ENOMEM, "%s: expected init's error FK_ENOMEM, got %s", what,
	      fk_strerror_name(rc));
	/* Both hold their frames busy until all are claimed (issue 18,
	 * defect 6: alloc_segment used to leave them UNUSED, FK_EUNUSED). */
	int expect_rc = FK_EBUSY;
	EXPECT(steal_rc == expect_rc,
	      "%s: from_in_use on a frame of a half-built segment -> %s, expected %s", what,
	      fk_strerror_name(steal_rc), fk_strerror_name(expect_rc));
	if (steal_rc == 0)
		fk_frame_drop(mem, &stolen);
	uint64_t c = 0;
	fk_mem_refcount_at(mem, first_pa, &c);
	EXPECT(c == FK_REF_UNUSED, "%s: frame 0 not UNUSED after the rollback", what);
	EXPECT(atomic_load(&on_drops) == 1, "%s: on_drop ran %d times, expected 1 (frame 0)", what,
	      atomic_load(&on_drops));
	if (managed) {
		struct fk_alloc_stats st;
		fk_mem_alloc_drain(mem);
		fk_mem_alloc_stats(mem, -1, &st);
		EXPECT(st.free_frames == st.total_frames,
		      "%s: allocator free %llu != total %llu (frame lost or returned twice)", what,
		      (unsigned long long)st.free_frames, (unsigned long long)st.total_frames);
	}
}

static void claim_rollback_never_tears_down_a_frame_someone_else_holds(void)
{
	struct fk_region_config regs[2] = {
	    {U_BASE, 4, 0, FK_REGION_UNMANAGED},
	    {M_BASE, 16, 0, 0},
	};
	struct fk_mem_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	cfg.regions = regs;
	cfg.nr_regions = 2;
	cfg.nr_nodes = 1;
	cfg.raw_tracking = 1;
	cfg.allocator = "simple";
	fk_variant_apply(&cfg, fk_test_variant);
	CHECK_OK(fk_mem_create(&cfg, &mem));
	fk_thread_enter(mem);
	run(0);
	run(1);
	fk_thread_leave(mem);
	struct fk_leak_report lr;
	int rc = fk_mem_destroy(mem, &lr);
	EXPECT(rc == 0, "leak report: referenced=%llu raw=%llu",
	      (unsigned long long)lr.frames_referenced, (unsigned long long)lr.frames_raw);
}

int main(int argc, char **argv)
{
	fk_test_args(argc, argv);
	RUN(claim_rollback_never_tears_down_a_frame_someone_else_holds);
	return fk_test_finish();
}
