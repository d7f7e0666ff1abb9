/* SPDX-License-Identifier: MIT */
/*
 * Fuzz steps that misuse handles: another context's handles (FK_EINVAL),
 * stale copies of dropped handles (FK_EUNUSED, also across removal and
 * re-addition of the hot region, which step_hotplug does here), and empty
 * or forged handles. Nothing may change and no freed memory be touched.
 */
#include <inttypes.h>
#include <string.h>

#include "fuzz.h"

/* ---- A second context ---- */

/* Handles of one context given to the other: FK_EINVAL, nothing changes
 * (verify() after the step checks the counts; the handle bytes here). */
void step_foreign(void)
{
	uint8_t b = byte();
	fk_frame g;
	fk_segment s2, l, r;
	fk_unique_frame u2;
	uint64_t pa, pb;
	if (b & 1) {
		int i = byte() % NF, j = byte() % NS, k = byte() % NQ;
		if (fvalid(i)) {
			fk_frame keep = z.f[i];
			expect_rc("mem2 frame_clone(mem's)", FK_EINVAL, fk_frame_clone(z.mem2, &z.f[i], &g));
			expect_rc("mem2 frame_into_raw(mem's)", FK_EINVAL,
			          fk_frame_into_raw(z.mem2, &z.f[i], &pa));
			expect_rc("mem2 try_into_unique(mem's)", FK_EINVAL,
			          fk_frame_try_into_unique(z.mem2, &z.f[i], &u2));
			expect_rc("mem2 from_frame(mem's)", FK_EINVAL,
			          fk_segment_from_frame(z.mem2, &z.f[i], &s2));
			expect_rc("mem2 frame_drop(mem's)", FK_EINVAL, fk_frame_drop(z.mem2, &z.f[i]));
			if (memcmp(&keep, &z.f[i], sizeof(keep)))
				die("a foreign call changed the frame handle");
		}
		if (svalid(j) && z.s[j].start != z.s[j].end) {
			fk_segment keep = z.s[j];
			uint64_t size = z.s[j].end - z.s[j].start;
			expect_rc("mem2 segment_clone(mem's)", FK_EINVAL,
			          fk_segment_clone(z.mem2, &z.s[j], &s2));
			expect_rc("mem2 segment_slice(mem's)", FK_EINVAL,
			          fk_segment_slice(z.mem2, &z.s[j], 0, size, &s2));
			if (size > PG)
				expect_rc("mem2 segment_split(mem's)", FK_EINVAL,
				          fk_segment_split(z.mem2, &z.s[j], PG, &l, &r));
			expect_rc("mem2 segment_next(mem's)", FK_EINVAL,
			          fk_segment_next(z.mem2, &z.s[j], &g));
			expect_rc("mem2 segment_into_raw(mem's)", FK_EINVAL,
			          fk_segment_into_raw(z.mem2, &z.s[j], &pa, &pb));
			expect_rc("mem2 segment_downcast(mem's)", FK_EINVAL,
			          fk_segment_downcast(z.mem2, &z.s[j], &type_a));
			expect_rc("mem2 segment_drop(mem's)", FK_EINVAL, fk_segment_drop(z.mem2, &z.s[j]));
			if (memcmp(&keep, &z.s[j], sizeof(keep)))
				die("a foreign call changed the segment handle");
		}
		if (qvalid(k)) {
			fk_unique_frame keep = z.q[k];
			expect_rc("mem2 into_shared(mem's)", FK_EINVAL,
			          fk_unique_frame_into_shared(z.mem2, &z.q[k], &g));
			expect_rc("mem2 unique_drop(mem's)", FK_EINVAL,
			          fk_unique_frame_drop(z.mem2, &z.q[k]));
			if (memcmp(&keep, &z.q[k], sizeof(keep)))
				die("a foreign call changed the unique handle");
		}
		return;
	}
	/* mem2's handles given to mem. */
	fk_frame bf;
	fk_segment bs;
	expect_rc("mem2 alloc_frame", 0, fk_alloc_frame(z.mem2, NULL, NULL, NULL, 0, &bf));
	expect_rc("mem2 alloc_segment", 0, fk_alloc_segment(z.mem2, 2, NULL, NULL, NULL, 0, &bs));
	fk_frame fkeep = bf;
	fk_segment skeep = bs;
	expect_rc("frame_clone(mem2's)", FK_EINVAL, fk_frame_clone(z.mem, &bf, &g));
	expect_rc("frame_into_raw(mem2's)", FK_EINVAL, fk_frame_into_raw(z.mem, &bf, &pa));
	expect_rc("frame_drop(mem2's)", FK_EINVAL, fk_frame_drop(z.mem, &bf));
	expect_rc("segment_split(mem2's)", FK_EINVAL, fk_segment_split(z.mem, &bs, PG, &l, &r));
	expect_rc("segment_into_raw(mem2's)", FK_EINVAL, fk_segment_into_raw(z.mem, &bs, &pa, &pb));
	expect_rc("segment_drop(mem2's)", FK_EINVAL, fk_segment_drop(z.mem, &bs));
	if (memcmp(&fkeep, &bf, sizeof(bf)) || memcmp(&skeep, &bs, sizeof(bs)))
		die("a foreign call changed mem2's handle");
	uint64_t rc = 0;
	expect_rc("mem2 refcount_at", 0, fk_mem_refcount_at(z.mem2, bf.paddr, &rc));
	if (rc != 1)
		die("mem2 frame refcount %" PRIu64 " after foreign calls", rc);
	expect_rc("mem2 frame_drop", 0, fk_frame_drop(z.mem2, &bf));
	expect_rc("mem2 segment_drop", 0, fk_segment_drop(z.mem2, &bs));
}

/* Stale copies of consumed handles: must be refused, nothing changes. */
void step_stale(void)
{
	uint8_t b = byte();
	int rc;
	if (b % 3 == 0 && z.has_stale_f && z.gone_f) {
		fk_frame copy = z.stale_f, out;
		fk_segment so;
		uint64_t pa;
		expect_rc("stale frame across removal: clone", FK_EUNUSED,
		          fk_frame_clone(z.mem, &copy, &out));
		expect_rc("stale frame across removal: into_raw", FK_EUNUSED,
		          fk_frame_into_raw(z.mem, &copy, &pa));
		expect_rc("stale frame across removal: from_frame", FK_EUNUSED,
		          fk_segment_from_frame(z.mem, &copy, &so));
		if (fk_frame_meta(&copy) != NULL || fk_frame_refcount(&copy) != FK_REF_UNUSED)
			die("stale frame across removal: meta/refcount readable");
		expect_rc("stale frame across removal: drop", FK_EUNUSED,
		          fk_frame_drop(z.mem, &copy));
		return;
	}
	if (b % 3 == 1 && z.has_stale_s && z.gone_s) {
		fk_segment copy = z.stale_s, out;
		if (copy.start == copy.end)
			return;
		expect_rc("stale segment across removal: clone", FK_EUNUSED,
		          fk_segment_clone(z.mem, &copy, &out));
		expect_rc("stale segment across removal: slice", FK_EUNUSED,
		          fk_segment_slice(z.mem, &copy, 0, PG, &out));
		expect_rc("stale segment across removal: drop", FK_EUNUSED,
		          fk_segment_drop(z.mem, &copy));
		return;
	}
	if (b % 3 == 2 && z.has_stale_q && z.gone_q) {
		fk_unique_frame copy = z.stale_q;
		expect_rc("stale unique across removal: drop", FK_EUNUSED,
		          fk_unique_frame_drop(z.mem, &copy));
		return;
	}
	if (b % 3 == 0 && z.has_stale_f && !z.gone_f) {
		const struct mframe *m = &z.fr[gi(z.stale_f.paddr)];
		if (m->cnt || m->unique)
			return; /* reused: a stale copy is indistinguishable from a live one */
		fk_frame copy = z.stale_f, out;
		if (b & 8)
			rc = fk_frame_clone(z.mem, &copy, &out);
		else
			rc = fk_frame_drop(z.mem, &copy);
		expect_rc("stale frame drop/clone", FK_EUNUSED, rc);
	} else if (b % 3 == 1 && z.has_stale_s && !z.gone_s) {
		fk_segment copy = z.stale_s;
		for (uint64_t p = copy.start; p < copy.end; p += PG) {
			const struct mframe *m = &z.fr[gi(p)];
			if (m->cnt || m->unique)
				return;
		}
		rc = fk_segment_drop(z.mem, &copy);
		if (copy.start == copy.end)
			return;
		expect_rc("stale segment drop", FK_EUNUSED, rc);
	} else if (b % 3 == 2 && z.has_stale_q && !z.gone_q) {
		const struct mframe *m = &z.fr[gi(z.stale_q.paddr)];
		if (m->unique)
			return; /* UNIQUE again: indistinguishable */
		fk_unique_frame copy = z.stale_q;
		rc = fk_unique_frame_drop(z.mem, &copy);
		expect_rc("stale unique drop", m->cnt ? FK_EINUSE : FK_EUNUSED, rc);
	}
}

/* H was removed: stale copies into it are now "gone" for good. */
static void stale_in_h_gone(void)
{
	if (z.has_stale_f && z.stale_f.paddr >= H_BASE)
		z.gone_f = 1;
	if (z.has_stale_s && z.stale_s.start >= H_BASE)
		z.gone_s = 1;
	if (z.has_stale_q && z.stale_q.paddr >= H_BASE)
		z.gone_q = 1;
}

void step_hotplug(void)
{
	uint8_t b = byte();
	/* The hot region comes back on either node: re-adding a removed range
	 * on another node must work. */
	struct fk_region_config h = {H_BASE, H_N, (b >> 2) & 1, 0};
	int rc;
	if (b & 1) {
		rc = fk_mem_add_region(z.mem, &h);
		expect_rc("add_region", z.h_present ? FK_EEXIST : 0, rc);
		if (!z.h_present)
			z.h_node = h.node;
		z.h_present = 1;
		if (b & 2) { /* overlapping M */
			struct fk_region_config o = {M_BASE + 4 * PG, 4, 0, 0};
			expect_rc("add_region(overlap)", FK_EEXIST, fk_mem_add_region(z.mem, &o));
		}
		return;
	}
	fk_mem_alloc_drain(z.mem);
	rc = fk_mem_remove_region(z.mem, (b & 2) ? H_BASE + PG : H_BASE);
	if ((b & 2) || !z.h_present)
		return expect_rc("remove_region(no such)", FK_ENOENT, rc);
	int busy = 0;
	for (int i = M_N + U_N; i < NFR; i++)
		if (z.fr[i].cnt || z.fr[i].unique || z.fr[i].raw)
			busy = 1;
	/* The removal oracle: the model is exact (one thread). */
	if (!busy && (rc == FK_EINUSE || rc == FK_EBUSY))
		die("UNJUSTIFIED REFUSED REMOVAL: remove_region(hot) -> %s while no frame of it "
		    "is held, raw or allocated",
		    E(rc));
	expect_rc("remove_region", busy ? FK_EINUSE : 0, rc);
	if (!busy) {
		z.h_present = 0;
		stale_in_h_gone();
		/* Empty segments of the removed region stay: they hold nothing
		 * and must drop cleanly without touching the freed region. */
	}
}

void step_empty_handles(void)
{
	fk_frame f, f2;
	fk_segment s, s2, s3;
	fk_unique_frame q;
	uint64_t a, b;
	memset(&f, 0, sizeof(f));
	memset(&s, 0, sizeof(s));
	memset(&q, 0, sizeof(q));
	expect_rc("drop(empty frame)", FK_EINVAL, fk_frame_drop(z.mem, &f));
	expect_rc("clone(empty frame)", FK_EINVAL, fk_frame_clone(z.mem, &f, &f2));
	expect_rc("into_raw(empty frame)", FK_EINVAL, fk_frame_into_raw(z.mem, &f, &a));
	expect_rc("drop(empty segment)", FK_EINVAL, fk_segment_drop(z.mem, &s));
	expect_rc("clone(empty segment)", FK_EINVAL, fk_segment_clone(z.mem, &s, &s2));
	expect_rc("split(empty segment)", FK_EINVAL, fk_segment_split(z.mem, &s, PG, &s2, &s3));
	expect_rc("slice(empty segment)", FK_EINVAL, fk_segment_slice(z.mem, &s, 0, 0, &s2));
	expect_rc("next(empty segment)", FK_EINVAL, fk_segment_next(z.mem, &s, &f2));
	expect_rc("into_raw(empty segment)", FK_EINVAL, fk_segment_into_raw(z.mem, &s, &a, &b));
	expect_rc("downcast(empty segment)", FK_EINVAL, fk_segment_downcast(z.mem, &s, &type_a));
	expect_rc("from_frame(empty)", FK_EINVAL, fk_segment_from_frame(z.mem, &f, &s2));
	expect_rc("unique drop(empty)", FK_EINVAL, fk_unique_frame_drop(z.mem, &q));
	expect_rc("into_shared(empty)", FK_EINVAL, fk_unique_frame_into_shared(z.mem, &q, &f2));
	expect_rc("try_into_unique(empty)", FK_EINVAL, fk_frame_try_into_unique(z.mem, &f, &q));
	/* A forged handle: region of a live frame, paddr outside it. */
	for (int i = 0; i < NF; i++) {
		if (!fvalid(i))
			continue;
		fk_frame forged = z.f[i];
		forged.paddr = 0x7f000000ull;
		expect_rc("drop(forged paddr)", FK_EINVAL, fk_frame_drop(z.mem, &forged));
		forged.paddr = z.f[i].paddr + 1;
		expect_rc("drop(unaligned handle)", FK_EINVAL, fk_frame_drop(z.mem, &forged));
		break;
	}
	expect_rc("alloc_segment(0)", FK_EINVAL,
	          fk_alloc_segment(z.mem, 0, NULL, NULL, NULL, 0, &s2));
}
