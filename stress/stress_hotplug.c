/* SPDX-License-Identifier: MIT */
/*
 * The stress hot-plug thread: adds and removes the HOT_N regions under
 * load. A duplicate or overlapping add is refused; removal is refused while
 * a frame of the region is held (also as a raw reference) and goes through
 * once the region is idle; a removed region answers FK_EOUTOFBOUND.
 */
#include <inttypes.h>
#include <unistd.h>

#include "stress.h"

static struct fk_region_config hot_cfg(unsigned k)
{
	struct fk_region_config rc = {HOT_BASE(k), HOT_FRAMES, (int)(2 + k), 0};
	return rc;
}

void hot_check_gone(unsigned k)
{
	uint64_t c;
	fk_frame f;
	int rc = fk_mem_refcount_at(g.mem, HOT_BASE(k), &c);
	EXPECT(rc == FK_EOUTOFBOUND, "refcount_at(removed region) -> %s", E(rc));
	rc = fk_frame_from_in_use(g.mem, HOT_BASE(k) + FK_PAGE_SIZE, &f);
	EXPECT(rc == FK_EOUTOFBOUND, "from_in_use(removed region) -> %s", E(rc));
	if (rc == 0)
		fk_frame_drop(g.mem, &f);
}

void *hotplug_main(void *arg)
{
	uint64_t rng = fk_rand_mix(g.seed ^ 0x407);
	(void)arg;
	tl_id = 1000;
	tl_init_fail_at = -1;
	sc_fault_seed(g.seed ^ 0x407);
	fk_thread_enter(g.mem);
	while (!atomic_load_explicit(&g.stop, memory_order_relaxed)) {
		unsigned k = (unsigned)fk_rand_below(&rng, HOT_N);
		struct fk_region_config cfg = hot_cfg(k);
		int rc;
		if (!g.hot_present[k]) {
			rc = fk_mem_add_region(g.mem, &cfg);
			if (rc == FK_ENOMEM && g.faults > 0) {
				CNT(hot_add_fail);
				hot_check_gone(k); /* a failed add leaves nothing behind */
				continue;
			}
			EXPECT(rc == 0, "add_region(hot %u) -> %s", k, E(rc));
			if (rc)
				break;
			CNT(hot_add);
			g.hot_present[k] = 1;
			rc = fk_mem_add_region(g.mem, &cfg);
			EXPECT(rc == FK_EEXIST, "add_region(duplicate) -> %s", E(rc));
			struct fk_region_config ov = cfg;
			ov.base += (HOT_FRAMES / 2) * FK_PAGE_SIZE;
			rc = fk_mem_add_region(g.mem, &ov);
			EXPECT(rc == FK_EEXIST, "add_region(overlapping) -> %s", E(rc));
			continue;
		}
		/* Hold a frame of the region: removal must be refused. */
		fk_frame f;
		tl_init_fail_at = -1;
		tl_init_index = 0;
		unsigned flags = FK_ALLOC_NODE(2 + k) | FK_ALLOC_NODE_STRICT;
		struct sc_call call;
		sc_call_begin(&call);
		rc = fk_alloc_frame(g.mem, &type_a, init_meta, type_ctx(&type_a), flags, &f);
		if (rc == 0) {
			EXPECT(f.paddr >= cfg.base &&
			           f.paddr < cfg.base + HOT_FRAMES * FK_PAGE_SIZE,
			       "strict alloc on node %u gave 0x%" PRIx64, 2 + k, f.paddr);
			int raw = fk_rand_chance(&rng, 0.5);
			uint64_t pa = f.paddr;
			if (raw) /* a raw reference pins the region just the same */
				fk_frame_into_raw(g.mem, &f, &pa);
			struct sc_call hcall;
			sc_call_begin(&hcall);
			rc = fk_mem_remove_region(g.mem, cfg.base);
			if (rc == FK_EINUSE || rc == FK_EBUSY) /* the oracle must agree */
				sc_removal_classify(&hcall, cfg.base, HOT_FRAMES, rc,
				                    "remove_region (frame held)", stderr);
			EXPECT(rc == FK_EINUSE || rc == FK_EBUSY,
			       "remove_region while frame 0x%" PRIx64 " is held%s -> %s", pa,
			       raw ? " (raw)" : "", E(rc));
			if (rc == 0) {
				g.hot_present[k] = 0;
				break; /* the frame is gone with it: nothing sane left to do */
			}
			CNT(hot_refused_held);
			if (raw) {
				rc = fk_frame_from_raw(g.mem, pa, &f);
				EXPECT(rc == 0, "from_raw(hot) -> %s", E(rc));
			}
			rc = fk_frame_drop(g.mem, &f);
			EXPECT(rc == 0, "drop(hot) -> %s", E(rc));
		} else {
			EXPECT(rc == FK_ENOMEM, "alloc_frame(hot node) -> %s", E(rc));
			if (rc == FK_ENOMEM)
				check_enomem(&call, 1, flags, "hotplug alloc_frame");
		}
		/* Idle (unless a worker holds one right now): removal should go through. */
		fk_mem_alloc_drain(g.mem);
		struct sc_call rcall;
		sc_call_begin(&rcall);
		rc = fk_mem_remove_region(g.mem, cfg.base);
		/* The removal oracle: refused only if a frame was allocated. */
		if (rc == FK_EINUSE || rc == FK_EBUSY)
			sc_removal_classify(&rcall, cfg.base, HOT_FRAMES, rc, "remove_region", stderr);
		if (rc == 0) {
			CNT(hot_remove);
			g.hot_present[k] = 0;
			hot_check_gone(k);
		} else {
			EXPECT(rc == FK_EINUSE || rc == FK_EBUSY, "remove_region(hot %u) -> %s", k,
			       E(rc));
			CNT(hot_refused_busy);
		}
		rc = fk_mem_remove_region(g.mem, 0x7700000000ull);
		EXPECT(rc == FK_ENOENT, "remove_region(no such region) -> %s", E(rc));
		usleep(200);
	}
	fk_thread_leave(g.mem);
	return NULL;
}
