/* SPDX-License-Identifier: MIT */
/*
 * End-of-run conservation check (interface and invariant:
 * sc_conservation.h): slots, allocator accounting per node and order, leak
 * report, and the wrapper's frames out == frames back.
 */
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include <framekit/framekit.h>

#include "sc_conservation.h"
#include "sc_wrap.h"

#define SC_MAX_SHOW 16

/* Frames in the free blocks the stats count by order. */
static uint64_t sc_block_frames(const struct fk_alloc_stats *st)
{
	uint64_t frames = 0;
	for (int o = 0; o < FK_MAX_ORDER; o++)
		frames += st->free_blocks[o] << o;
	return frames;
}

/*
 * Quiescent check (no other thread may use mem). The caller has entered
 * mem. Returns the number of violations; prints each (and up to
 * SC_MAX_SHOW offending frames per region) to `out`.
 */
int sc_check_conservation(fk_mem *mem, const struct sc_region *regions, size_t nr, FILE *out)
{
	int bad = 0;
	fk_mem_alloc_drain(mem);

	/* 1. Every slot UNUSED, no raw reference left. */
	for (size_t r = 0; r < nr; r++) {
		int shown = 0;
		for (uint64_t i = 0; i < regions[r].nframes; i++) {
			uint64_t pa = regions[r].base + i * FK_PAGE_SIZE, rc = 0, raw = 0;
			int e1 = fk_mem_refcount_at(mem, pa, &rc);
			int e2 = fk_mem_raw_count_at(mem, pa, &raw);
			if (e1 || e2 || rc != FK_REF_UNUSED || raw != 0) {
				bad++;
				if (shown++ < SC_MAX_SHOW)
					fprintf(
					    out,
					    "CONSERVATION: frame 0x%" PRIx64 " refcount=%s%" PRIu64
					    " raw=%" PRIu64 " (rc_err=%s raw_err=%s)\n",
					    pa,
					    rc == FK_REF_UNUSED
					        ? "UNUSED/"
					        : (rc == FK_REF_UNIQUE ? "UNIQUE/" : ""),
					    rc, raw, fk_strerror_name(e1), fk_strerror_name(e2));
			}
		}
		if (shown > SC_MAX_SHOW)
			fprintf(out, "CONSERVATION: ... %d more frames in region 0x%" PRIx64 "\n",
			        shown - SC_MAX_SHOW, regions[r].base);
	}

	/* 2. Allocator: free == managed total, per node and per order. */
	uint64_t managed = fk_mem_managed_frames(mem);
	uint64_t expect_managed = 0;
	for (size_t r = 0; r < nr; r++)
		if (!(regions[r].flags & FK_REGION_UNMANAGED))
			expect_managed += regions[r].nframes;
	if (managed != expect_managed) {
		bad++;
		fprintf(out,
		        "CONSERVATION: fk_mem_managed_frames=%" PRIu64 " expected %" PRIu64 "\n",
		        managed, expect_managed);
	}
	struct fk_alloc_stats all;
	memset(&all, 0, sizeof(all));
	int rc = fk_mem_alloc_stats(mem, -1, &all);
	if (rc) {
		bad++;
		fprintf(out, "CONSERVATION: fk_mem_alloc_stats(-1) -> %s\n", fk_strerror_name(rc));
	} else {
		if (all.free_frames != managed || all.total_frames != managed) {
			bad++;
			fprintf(out,
			        "CONSERVATION: allocator free=%" PRIu64 " total=%" PRIu64
			        " but managed frames=%" PRIu64 " (cached=%" PRIu64 ")\n",
			        all.free_frames, all.total_frames, managed, all.cached_frames);
		}
		uint64_t blocks = sc_block_frames(&all);
		if (blocks != 0 && blocks != all.free_frames - all.cached_frames) {
			bad++;
			fprintf(out,
			        "CONSERVATION: sum(free_blocks[o] << o)=%" PRIu64
			        " != free-cached=%" PRIu64 "\n",
			        blocks, all.free_frames - all.cached_frames);
		}
		unsigned nodes = fk_mem_nr_nodes(mem);
		uint64_t sum_free = 0, sum_total = 0;
		for (unsigned n = 0; n < nodes; n++) {
			struct fk_alloc_stats ns;
			memset(&ns, 0, sizeof(ns));
			rc = fk_mem_alloc_stats(mem, (int)n, &ns);
			if (rc) {
				bad++;
				fprintf(out, "CONSERVATION: fk_mem_alloc_stats(%u) -> %s\n", n,
				        fk_strerror_name(rc));
				continue;
			}
			uint64_t nb = sc_block_frames(&ns);
			if (nb != 0 && nb != ns.free_frames - ns.cached_frames) {
				bad++;
				fprintf(out,
				        "CONSERVATION: node %u: sum(free_blocks[o] << o)=%" PRIu64
				        " != free-cached=%" PRIu64 "\n",
				        n, nb, ns.free_frames - ns.cached_frames);
			}
			uint64_t node_managed = 0;
			for (size_t r = 0; r < nr; r++)
				if (!(regions[r].flags & FK_REGION_UNMANAGED) &&
				    regions[r].node == (int)n)
					node_managed += regions[r].nframes;
			if (ns.total_frames != node_managed || ns.free_frames != node_managed) {
				bad++;
				fprintf(out,
				        "CONSERVATION: node %u: free=%" PRIu64 " total=%" PRIu64
				        " expected %" PRIu64 "\n",
				        n, ns.free_frames, ns.total_frames, node_managed);
			}
			sum_free += ns.free_frames;
			sum_total += ns.total_frames;
		}
		if (sum_free != all.free_frames || sum_total != all.total_frames) {
			bad++;
			fprintf(out,
			        "CONSERVATION: per-node sums free=%" PRIu64 " total=%" PRIu64
			        " != all-node stats free=%" PRIu64 " total=%" PRIu64 "\n",
			        sum_free, sum_total, all.free_frames, all.total_frames);
		}
	}

	/* 3. Leak report empty. */
	struct fk_leak_report lr;
	memset(&lr, 0xff, sizeof(lr));
	fk_mem_leak_report(mem, &lr);
	if (lr.frames_referenced || lr.frames_raw || lr.raw_refs ||
	    lr.first_leaked_paddr != UINT64_MAX) {
		bad++;
		fprintf(out,
		        "CONSERVATION: leak report referenced=%" PRIu64 " raw=%" PRIu64
		        " raw_refs=%" PRIu64 " first=0x%" PRIx64 "\n",
		        lr.frames_referenced, lr.frames_raw, lr.raw_refs, lr.first_leaked_paddr);
	}
	return bad;
}

/* Wrapper side of "allocated == freed + held" (held must be 0 here). */
int sc_check_wrap_balance(FILE *out)
{
	uint64_t a = atomic_load(&sc_wstats.alloc_frames),
	         d = atomic_load(&sc_wstats.dealloc_frames);
	uint64_t e = atomic_load(&sc_wstats.dealloc_errors);
	if (a != d || e) {
		fprintf(out,
		        "CONSERVATION: allocator handed out %" PRIu64 " frames, got back %" PRIu64
		        " (dealloc errors %" PRIu64 ")\n",
		        a, d, e);
		return 1;
	}
	return 0;
}
