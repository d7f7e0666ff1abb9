/* SPDX-License-Identifier: MIT */
/*
 * Fuzz steps on the handle slots: clone, drop, split, slice, next,
 * into_raw / from_raw (also of forged ranges), typed views, segment from
 * frame, unique frames. Invalid operands must get the error the model
 * predicts and leave the handles unchanged.
 */
#include <inttypes.h>
#include <string.h>

#include "fuzz.h"

void step_frame_clone(void)
{
	int i = byte() % NF, j = byte() % NF;
	if (i == j || !fvalid(i)) {
		fk_frame tmp;
		if (!fvalid(i))
			expect_rc("frame_clone(empty)", FK_EINVAL,
			          fk_frame_clone(z.mem, &z.f[i], &tmp));
		return;
	}
	drop_f(j);
	expect_rc("frame_clone", 0, fk_frame_clone(z.mem, &z.f[i], &z.f[j]));
	z.fr[gi(z.f[j].paddr)].cnt++;
}

void step_frame_drop(void)
{
	int i = byte() % NF;
	if (!fvalid(i))
		return expect_rc("frame_drop(empty)", FK_EINVAL, fk_frame_drop(z.mem, &z.f[i]));
	drop_f(i);
}

void step_segment_drop(void)
{
	int i = byte() % NS;
	if (!svalid(i))
		return expect_rc("segment_drop(empty)", FK_EINVAL, fk_segment_drop(z.mem, &z.s[i]));
	drop_s(i);
}

void step_segment_clone(void)
{
	int i = byte() % NS, j = byte() % NS;
	fk_segment tmp;
	if (!svalid(i))
		return expect_rc("segment_clone(empty)", FK_EINVAL,
		                 fk_segment_clone(z.mem, &z.s[i], &tmp));
	if (i == j)
		return;
	drop_s(j);
	expect_rc("segment_clone", 0, fk_segment_clone(z.mem, &z.s[i], &z.s[j]));
	hold(z.s[j].start, z.s[j].end, NULL, 0);
}

void step_split(void)
{
	int i = byte() % NS, j = byte() % NS;
	uint64_t size = fk_segment_size(&z.s[i]);
	uint64_t off = sel_offset(size);
	if (i == j)
		j = (j + 1) % NS;
	drop_s(j);
	fk_segment orig = z.s[i];
	int rc = fk_segment_split(z.mem, &z.s[i], off, &z.s[i], &z.s[j]);
	struct eset es = {0};
	if (!orig.region)
		add(&es, FK_EINVAL);
	if (off & (PG - 1))
		add(&es, FK_ENOTALIGNED);
	if (off == 0 || off >= size)
		add(&es, FK_EINVAL);
	if (es.n) {
		expect_in("split (invalid)", &es, rc);
		if (memcmp(&orig, &z.s[i], sizeof(orig)) || z.s[j].region)
			die("failed split changed the handles");
		return;
	}
	expect_rc("split", 0, rc);
	if (z.s[i].start != orig.start || z.s[i].end != orig.start + off ||
	    z.s[j].start != z.s[i].end || z.s[j].end != orig.end)
		die("split produced wrong halves");
}

void step_slice(void)
{
	int i = byte() % NS, j = byte() % NS;
	uint64_t size = fk_segment_size(&z.s[i]);
	uint64_t from = sel_offset(size), to = sel_offset(size);
	fk_segment out;
	memset(&out, 0, sizeof(out));
	int rc = fk_segment_slice(z.mem, &z.s[i], from, to, &out);
	struct eset es = {0};
	if (!svalid(i))
		add(&es, FK_EINVAL);
	if ((from | to) & (PG - 1))
		add(&es, FK_ENOTALIGNED);
	if (from > to || to > size)
		add(&es, FK_EINVAL);
	if (es.n) {
		expect_in("slice (invalid)", &es, rc);
		if (out.region)
			die("failed slice produced a handle");
		return;
	}
	expect_rc("slice", 0, rc);
	if (out.start != z.s[i].start + from || out.end != z.s[i].start + to)
		die("slice produced a wrong range");
	hold(out.start, out.end, NULL, 0);
	if (i == j) {
		release(out.start, out.end);
		expect_rc("drop slice", 0, fk_segment_drop(z.mem, &out));
		return;
	}
	drop_s(j);
	z.s[j] = out;
}

void step_next(void)
{
	int i = byte() % NS, j = byte() % NF;
	drop_f(j);
	fk_segment orig = z.s[i];
	int rc = fk_segment_next(z.mem, &z.s[i], &z.f[j]);
	if (!orig.region)
		return expect_rc("next(empty handle)", FK_EINVAL, rc);
	if (orig.start == orig.end) {
		if (rc != 0)
			die("next on exhausted segment -> %d", rc);
		return;
	}
	if (rc != 1 || z.f[j].paddr != orig.start || z.s[i].start != orig.start + PG)
		die("next -> %d", rc);
}

void step_into_raw(void)
{
	uint64_t s, e;
	if (byte() & 1) {
		int i = byte() % NF;
		int v = fvalid(i);
		uint64_t pa = z.f[i].paddr;
		int rc = fk_frame_into_raw(z.mem, &z.f[i], &s);
		if (!v)
			return expect_rc("frame_into_raw(empty)", FK_EINVAL, rc);
		expect_rc("frame_into_raw", 0, rc);
		if (s != pa || z.f[i].region)
			die("frame_into_raw: paddr/handle");
		z.fr[gi(pa)].raw++;
		return;
	}
	int i = byte() % NS;
	int v = svalid(i);
	fk_segment orig = z.s[i];
	int rc = fk_segment_into_raw(z.mem, &z.s[i], &s, &e);
	if (!v)
		return expect_rc("segment_into_raw(empty)", FK_EINVAL, rc);
	expect_rc("segment_into_raw", 0, rc);
	if (s != orig.start || e != orig.end || z.s[i].region)
		die("segment_into_raw: range/handle");
	for (uint64_t p = s; p < e; p += PG)
		z.fr[gi(p)].raw++;
}

void step_from_raw(void)
{
	if (byte() & 1) {
		int rc;
		int i = frame_by_paddr(fk_frame_from_raw, "frame_from_raw(unaligned)",
		                       "frame_from_raw(outside)", &rc);
		if (i < 0)
			return;
		if (z.fr[i].raw == 0)
			return expect_rc("frame_from_raw(not raw)", FK_ENOTRAW, rc);
		expect_rc("frame_from_raw", 0, rc);
		z.fr[i].raw--;
		return;
	}
	uint64_t s, e;
	sel_range(&s, &e);
	const struct fk_meta_type *t = sel_type();
	if (t == &type_big)
		t = NULL;
	int j = byte() % NS;
	drop_s(j);
	int rc = fk_segment_from_raw(z.mem, s, e, t, &z.s[j]);
	struct eset es = {0};
	add_range_errors(&es, s, e);
	if (es.n)
		return expect_in("segment_from_raw (invalid)", &es, rc);
	int not_shared = 0, no_raw = 0, wrong_type = 0;
	for (uint64_t p = s; p < e; p += PG) {
		const struct mframe *m = &z.fr[gi(p)];
		if (m->unique || m->cnt == 0)
			not_shared = 1;
		if (m->raw == 0)
			no_raw = 1;
		if (t && m->type != t)
			wrong_type = 1;
	}
	if (not_shared)
		add(&es, FK_ENOTRAW);
	else {
		if (no_raw)
			add(&es, FK_ENOTRAW);
		if (wrong_type)
			add(&es, FK_ETYPE);
	}
	if (es.n) {
		expect_in("segment_from_raw (forged)", &es, rc);
		if (z.s[j].region)
			die("failed from_raw produced a handle");
		return;
	}
	expect_rc("segment_from_raw", 0, rc);
	for (uint64_t p = s; p < e; p += PG)
		z.fr[gi(p)].raw--;
}

void step_views(void)
{
	uint8_t b = byte();
	const struct fk_meta_type *t = sel_type();
	if (b & 1) {
		int i = byte() % NF;
		const void *m = NULL;
		int rc = fk_frame_meta_as(&z.f[i], t, &m);
		if (!fvalid(i) || !t)
			return expect_rc("meta_as(empty/NULL)", FK_EINVAL, rc);
		const struct mframe *mf = &z.fr[gi(z.f[i].paddr)];
		expect_rc("meta_as", mf->type == t ? 0 : FK_ETYPE, rc);
		if (rc == 0 && (t == &type_a || t == &type_b) &&
		    *(const uint64_t *)m != z.f[i].paddr)
			die("meta_as: metadata of 0x%" PRIx64 " is wrong", z.f[i].paddr);
		if (fk_frame_meta_type(&z.f[i]) != mf->type)
			die("meta_type mismatch");
		return;
	}
	int i = byte() % NS;
	if (b & 2) {
		fk_segment_erase(&z.s[i]);
		if (z.s[i].type)
			die("erase kept the type");
		return;
	}
	fk_segment orig = z.s[i];
	int rc = fk_segment_downcast(z.mem, &z.s[i], t);
	if (!t || !orig.region)
		return expect_rc("downcast(NULL/empty)", FK_EINVAL, rc);
	if (orig.start == orig.end)
		return expect_rc("downcast(empty range)", 0, rc);
	expect_rc("downcast", z.fr[gi(orig.start)].type == t ? 0 : FK_ETYPE, rc);
	if (rc && memcmp(&orig, &z.s[i], sizeof(orig)))
		die("failed downcast changed the handle");
}

void step_from_frame(void)
{
	int i = byte() % NF, j = byte() % NS;
	if (!fvalid(i)) {
		fk_segment tmp;
		return expect_rc("from_frame(empty)", FK_EINVAL,
		                 fk_segment_from_frame(z.mem, &z.f[i], &tmp));
	}
	drop_s(j);
	uint64_t pa = z.f[i].paddr;
	expect_rc("from_frame", 0, fk_segment_from_frame(z.mem, &z.f[i], &z.s[j]));
	if (z.s[j].start != pa || z.s[j].end != pa + PG || z.f[i].region)
		die("from_frame: range/handle");
}

void step_unique(void)
{
	uint8_t b = byte();
	int rc;
	if (b % 3 == 0) { /* into_shared */
		int i = byte() % NQ, j = byte() % NF;
		drop_f(j);
		int v = qvalid(i);
		uint64_t pa = z.q[i].paddr;
		rc = fk_unique_frame_into_shared(z.mem, &z.q[i], &z.f[j]);
		if (!v)
			return expect_rc("into_shared(empty)", FK_EINVAL, rc);
		expect_rc("into_shared", 0, rc);
		struct mframe *m = &z.fr[gi(pa)];
		m->unique = 0;
		m->cnt = 1;
	} else if (b % 3 == 1) { /* try_into_unique */
		int i = byte() % NF, j = byte() % NQ;
		drop_q(j);
		int v = fvalid(i);
		fk_frame orig = z.f[i];
		rc = fk_frame_try_into_unique(z.mem, &z.f[i], &z.q[j]);
		if (!v)
			return expect_rc("try_into_unique(empty)", FK_EINVAL, rc);
		struct mframe *m = &z.fr[gi(orig.paddr)];
		if (m->cnt != 1) {
			expect_rc("try_into_unique(shared)", FK_EINUSE, rc);
			if (memcmp(&orig, &z.f[i], sizeof(orig)))
				die("failed try_into_unique changed the handle");
			return;
		}
		expect_rc("try_into_unique", 0, rc);
		m->cnt = 0;
		m->unique = 1;
		uint64_t *meta = fk_unique_frame_meta(&z.q[j]);
		if (m->type == &type_a && meta[0] == orig.paddr)
			meta[1]++; /* mutable while unique */
	} else {
		int i = byte() % NQ;
		if (!qvalid(i))
			return expect_rc("unique_drop(empty)", FK_EINVAL,
			                 fk_unique_frame_drop(z.mem, &z.q[i]));
		drop_q(i);
	}
}
