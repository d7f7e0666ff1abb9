/* SPDX-License-Identifier: MIT */
/*
 * Stress operations on a handle the worker holds: split, slice, next,
 * clone, drop, into_raw / from_raw, typed views, segment from frame, and
 * unique frames. Each checks the handles it gets back against the one it
 * gave.
 */
#include <inttypes.h>

#include "stress.h"

int op_split(struct worker *w)
{
	int i = pick(w, M_SEG);
	if (i < 0)
		return 0;
	struct item *it = &w->items[i];
	uint64_t n = fk_segment_nframes(&it->s);
	if (n < 2)
		return 0;
	uint64_t off = (1 + fk_rand_below(&w->rng, n - 1)) * FK_PAGE_SIZE;
	fk_segment l, r, orig = it->s;
	int rc = fk_segment_split(g.mem, &it->s, off, &l, &r);
	EXPECT(rc == 0, "split(%" PRIu64 " of %" PRIu64 ") -> %s", off, n, E(rc));
	if (rc)
		return 0;
	EXPECT(l.start == orig.start && l.end == orig.start + off && r.start == l.end &&
	           r.end == orig.end && l.type == orig.type && r.type == orig.type,
	       "split: bad halves");
	it->s = l;
	if (w->n < MAX_ITEMS) {
		struct item *it2 = &w->items[w->n++];
		*it2 = *it;
		it2->s = r;
	} else {
		int rc2 = fk_segment_drop(g.mem, &r);
		EXPECT(rc2 == 0, "drop right half -> %s", E(rc2));
	}
	return 1;
}

int op_slice(struct worker *w)
{
	int i = pick(w, M_SEG);
	if (i < 0)
		return 0;
	struct item *it = &w->items[i];
	uint64_t n = fk_segment_nframes(&it->s);
	uint64_t a = fk_rand_below(&w->rng, n + 1), b = fk_rand_below(&w->rng, n + 1);
	if (a > b) {
		uint64_t t = a;
		a = b;
		b = t;
	}
	fk_segment out;
	int rc = fk_segment_slice(g.mem, &it->s, a * FK_PAGE_SIZE, b * FK_PAGE_SIZE, &out);
	EXPECT(rc == 0, "slice([%" PRIu64 ", %" PRIu64 ") of %" PRIu64 ") -> %s", a, b, n, E(rc));
	if (rc)
		return 0;
	EXPECT(out.start == it->s.start + a * FK_PAGE_SIZE &&
	           out.end == it->s.start + b * FK_PAGE_SIZE,
	       "slice: wrong range");
	if (a == b) {
		/* Empty slice: holds nothing; dropping it must be harmless. */
		rc = fk_segment_drop(g.mem, &out);
		EXPECT(rc == 0 || rc == FK_EINVAL, "drop of empty slice -> %s", E(rc));
		return 1;
	}
	/* push may release a random item: `it`'s types are passed by value */
	push_seg(w, out, it->htype, it->ftype);
	return 1;
}

int op_next(struct worker *w)
{
	int i = pick(w, M_SEG);
	if (i < 0)
		return 0;
	struct item *it = &w->items[i];
	uint64_t pa = it->s.start;
	fk_frame f;
	int rc = fk_segment_next(g.mem, &it->s, &f);
	EXPECT(rc == 1, "segment_next -> %d", rc);
	if (rc != 1)
		return 0;
	EXPECT(f.paddr == pa && it->s.start == pa + FK_PAGE_SIZE, "segment_next: wrong frame");
	check_meta(it->ftype, fk_frame_meta(&f), pa, "next");
	const struct fk_meta_type *ft = it->ftype;
	if (fk_segment_nframes(&it->s) == 0) {
		/* Exhausted: next reports 0 and the empty handle drops cleanly. */
		fk_frame f2;
		rc = fk_segment_next(g.mem, &it->s, &f2);
		EXPECT(rc == 0, "segment_next on exhausted segment -> %d", rc);
		rc = fk_segment_drop(g.mem, &it->s);
		EXPECT(rc == 0 || rc == FK_EINVAL, "drop exhausted segment -> %s", E(rc));
		it->kind = IT_FRAME;
		it->f = f;
		it->ftype = ft;
		return 1;
	}
	push_frame(w, f, ft);
	return 1;
}

int op_clone(struct worker *w)
{
	int i = pick(w, M_FRAME | M_SEG);
	if (i < 0)
		return 0;
	struct item copy = w->items[i];
	int rc;
	if (copy.kind == IT_FRAME) {
		uint64_t before = fk_frame_refcount(&copy.f);
		fk_frame f;
		rc = fk_frame_clone(g.mem, &copy.f, &f);
		EXPECT(rc == 0 && f.paddr == copy.f.paddr, "frame_clone -> %s", E(rc));
		if (rc)
			return 0;
		EXPECT(fk_frame_refcount(&f) >= 2 && before >= 1,
		       "frame_clone: refcount %" PRIu64 " after clone", fk_frame_refcount(&f));
		struct item *n2 = push(w);
		*n2 = copy;
		n2->f = f;
	} else {
		fk_segment s;
		rc = fk_segment_clone(g.mem, &copy.s, &s);
		EXPECT(rc == 0 && s.start == copy.s.start && s.end == copy.s.end,
		       "segment_clone -> %s", E(rc));
		if (rc)
			return 0;
		struct item *n2 = push(w);
		*n2 = copy;
		n2->s = s;
	}
	return 1;
}

int op_drop(struct worker *w)
{
	int i = pick(w, M_ANY);
	if (i < 0)
		return 0;
	item_release(g.mem, &w->items[i]);
	remove_at(w, i);
	return 1;
}

int op_into_raw(struct worker *w)
{
	int i = pick(w, M_FRAME | M_SEG);
	if (i < 0)
		return 0;
	struct item *it = &w->items[i];
	int rc;
	if (it->kind == IT_FRAME) {
		uint64_t pa = it->f.paddr, out = 0, raw1 = 0;
		rc = fk_frame_into_raw(g.mem, &it->f, &out);
		EXPECT(rc == 0 && out == pa, "frame_into_raw -> %s", E(rc));
		if (rc)
			return 0;
		EXPECT(it->f.region == NULL, "into_raw did not clear the handle");
		if (fk_mem_raw_tracking(g.mem)) {
			rc = fk_mem_raw_count_at(g.mem, pa, &raw1);
			EXPECT(rc == 0 && raw1 >= 1,
			       "into_raw: raw_count_at(0x%" PRIx64 ") -> %s, count %" PRIu64, pa,
			       E(rc), raw1);
		}
		it->kind = IT_RAW_FRAME;
		it->rs = pa;
		it->re = pa + FK_PAGE_SIZE;
	} else {
		uint64_t s = 0, e = 0, s0 = it->s.start, e0 = it->s.end;
		const struct fk_meta_type *ht = it->s.type;
		rc = fk_segment_into_raw(g.mem, &it->s, &s, &e);
		EXPECT(rc == 0 && s == s0 && e == e0, "segment_into_raw -> %s", E(rc));
		if (rc)
			return 0;
		it->kind = IT_RAW_SEG;
		it->rs = s;
		it->re = e;
		it->htype = ht;
	}
	return 1;
}

/* Restore a raw item (possibly in two pieces) into handles. */
int op_from_raw(struct worker *w)
{
	int i = pick(w, M_RAW);
	if (i < 0)
		return 0;
	struct item it = w->items[i];
	remove_at(w, i);
	int rc;
	if (it.kind == IT_RAW_FRAME) {
		fk_frame f;
		rc = fk_frame_from_raw(g.mem, it.rs, &f);
		EXPECT(rc == 0 && f.paddr == it.rs, "frame_from_raw(0x%" PRIx64 ") -> %s", it.rs,
		       E(rc));
		if (rc)
			return 0;
		check_meta(it.ftype, fk_frame_meta(&f), f.paddr, "from_raw");
		push_frame(w, f, it.ftype);
		return 1;
	}
	uint64_t n = (it.re - it.rs) / FK_PAGE_SIZE;
	/* Wrong type must be refused without consuming the raw references. */
	if (it.ftype && fk_rand_chance(&w->rng, 0.2)) {
		fk_segment bad;
		const struct fk_meta_type *wrong = it.ftype == &type_a ? &type_b : &type_a;
		rc = fk_segment_from_raw(g.mem, it.rs, it.re, wrong, &bad);
		EXPECT(rc == FK_ETYPE, "segment_from_raw with wrong type -> %s", E(rc));
		if (rc == 0)
			fk_segment_drop(g.mem, &bad);
	}
	uint64_t cut = n >= 2 && fk_rand_chance(&w->rng, 0.3) ? 1 + fk_rand_below(&w->rng, n - 1) : n;
	uint64_t mid = it.rs + cut * FK_PAGE_SIZE;
	fk_segment s1, s2;
	rc = fk_segment_from_raw(g.mem, it.rs, mid, it.htype, &s1);
	EXPECT(rc == 0, "segment_from_raw(0x%" PRIx64 ", 0x%" PRIx64 ") -> %s", it.rs, mid, E(rc));
	if (rc)
		return 0;
	check_segment_meta(&s1, it.ftype, "from_raw");
	push_seg(w, s1, it.htype, it.ftype);
	if (cut < n) {
		CNT(raw_restores_split);
		rc = fk_segment_from_raw(g.mem, mid, it.re, it.htype, &s2);
		EXPECT(rc == 0, "segment_from_raw(second piece) -> %s", E(rc));
		if (rc)
			return 0;
		push_seg(w, s2, it.htype, it.ftype);
	}
	return 1;
}

/* Typed views: meta_as, erase + downcast (right and wrong type). */
int op_view(struct worker *w)
{
	int i = pick(w, M_FRAME | M_SEG);
	if (i < 0)
		return 0;
	struct item *it = &w->items[i];
	int rc;
	if (it->kind == IT_FRAME) {
		const void *m = NULL;
		if (it->ftype) {
			rc = fk_frame_meta_as(&it->f, it->ftype, &m);
			EXPECT(rc == 0, "frame_meta_as(own type) -> %s", E(rc));
			check_meta(it->ftype, m, it->f.paddr, "meta_as");
		}
		const struct fk_meta_type *wrong = it->ftype == &type_a ? &type_b : &type_a;
		rc = fk_frame_meta_as(&it->f, wrong, &m);
		EXPECT(rc == FK_ETYPE, "frame_meta_as(wrong type) -> %s", E(rc));
		return 1;
	}
	fk_segment before = it->s;
	fk_segment_erase(&it->s);
	EXPECT(it->s.type == NULL && it->s.start == before.start && it->s.end == before.end,
	       "segment_erase changed the range or kept the type");
	it->htype = NULL;
	if (!it->ftype)
		return 1;
	const struct fk_meta_type *wrong = it->ftype == &type_a ? &type_b : &type_a;
	rc = fk_segment_downcast(g.mem, &it->s, wrong);
	EXPECT(rc == FK_ETYPE && it->s.type == NULL && it->s.start == before.start,
	       "downcast to wrong type -> %s", E(rc));
	if (fk_rand_chance(&w->rng, 0.7)) {
		rc = fk_segment_downcast(g.mem, &it->s, it->ftype);
		EXPECT(rc == 0 && it->s.type == it->ftype, "downcast to own type -> %s", E(rc));
		if (rc == 0)
			it->htype = it->ftype;
	}
	return 1;
}

int op_from_frame(struct worker *w)
{
	int i = pick(w, M_FRAME);
	if (i < 0)
		return 0;
	struct item *it = &w->items[i];
	uint64_t pa = it->f.paddr;
	fk_segment s;
	int rc = fk_segment_from_frame(g.mem, &it->f, &s);
	EXPECT(rc == 0 && s.start == pa && s.end == pa + FK_PAGE_SIZE, "segment_from_frame -> %s",
	       E(rc));
	if (rc)
		return 0;
	it->kind = IT_SEG;
	it->s = s;
	it->htype = s.type;
	return 1;
}

/* Unique frames: frame -> unique (only if sole owner), mutate, -> shared. */
int op_unique(struct worker *w)
{
	int i = pick(w, M_FRAME | M_UNIQUE);
	if (i < 0)
		return 0;
	struct item *it = &w->items[i];
	int rc;
	if (it->kind == IT_UNIQUE) {
		if (it->ftype) {
			struct smeta *m = fk_unique_frame_meta(&it->u);
			check_meta(it->ftype, m, it->u.paddr, "unique meta");
			m->cookie++;
		}
		uint64_t rc0 = 0;
		rc = fk_mem_refcount_at(g.mem, it->u.paddr, &rc0);
		EXPECT(rc == 0 && rc0 == FK_REF_UNIQUE,
		       "unique frame 0x%" PRIx64 ": refcount_at -> %s, refcount %" PRIu64,
		       it->u.paddr, E(rc), rc0);
		if (fk_rand_chance(&w->rng, 0.5)) {
			fk_frame f;
			uint64_t pa = it->u.paddr;
			rc = fk_unique_frame_into_shared(g.mem, &it->u, &f);
			EXPECT(rc == 0 && f.paddr == pa && fk_frame_refcount(&f) >= 1,
			       "unique_into_shared -> %s", E(rc));
			if (rc)
				return 0;
			it->kind = IT_FRAME;
			it->f = f;
		} else {
			item_release(g.mem, it);
			remove_at(w, i);
		}
		return 1;
	}
	fk_unique_frame u;
	fk_frame keep = it->f;
	rc = fk_frame_try_into_unique(g.mem, &it->f, &u);
	if (rc == FK_EINUSE) {
		EXPECT(it->f.region == keep.region && it->f.paddr == keep.paddr,
		       "try_into_unique failure changed the handle");
		return 1;
	}
	EXPECT(rc == 0, "try_into_unique -> %s", E(rc));
	if (rc)
		return 0;
	EXPECT(u.paddr == keep.paddr, "try_into_unique: wrong paddr");
	it->kind = IT_UNIQUE;
	it->u = u;
	return 1;
}
