/* SPDX-License-Identifier: MIT */
/*
 * The handles a stress worker holds (struct item: a frame, segment, unique
 * frame or raw range, with its metadata types): keep one, pick one at
 * random by kind, release one (a raw range is restored first).
 */
#include <inttypes.h>
#include <string.h>

#include "stress.h"

/* ---- Item helpers ---- */

/* Release whatever the item holds (raw ranges are restored first). */
void item_release(fk_mem *mem, struct item *it)
{
	int rc;
	fk_segment s;
	fk_frame f;
	switch (it->kind) {
	case IT_FRAME:
		rc = fk_frame_drop(mem, &it->f);
		EXPECT(rc == 0, "frame_drop(0x%" PRIx64 ") -> %s", it->f.paddr, E(rc));
		break;
	case IT_SEG:
		rc = fk_segment_drop(mem, &it->s);
		EXPECT(rc == 0, "segment_drop -> %s", E(rc));
		break;
	case IT_UNIQUE:
		rc = fk_unique_frame_drop(mem, &it->u);
		EXPECT(rc == 0, "unique_frame_drop -> %s", E(rc));
		break;
	case IT_RAW_FRAME:
		rc = fk_frame_from_raw(mem, it->rs, &f);
		EXPECT(rc == 0, "frame_from_raw(0x%" PRIx64 ") -> %s", it->rs, E(rc));
		if (rc == 0) {
			rc = fk_frame_drop(mem, &f);
			EXPECT(rc == 0, "frame_drop after from_raw -> %s", E(rc));
		}
		break;
	case IT_RAW_SEG:
		rc = fk_segment_from_raw(mem, it->rs, it->re, it->htype, &s);
		EXPECT(rc == 0, "segment_from_raw(0x%" PRIx64 ", 0x%" PRIx64 ") -> %s", it->rs,
		       it->re, E(rc));
		if (rc == 0) {
			rc = fk_segment_drop(mem, &s);
			EXPECT(rc == 0, "segment_drop after from_raw -> %s", E(rc));
		}
		break;
	}
	memset(it, 0, sizeof(*it));
}

struct item *push(struct worker *w)
{
	if (w->n == MAX_ITEMS) {
		/* Full: release a random one to make room. */
		uint64_t i = fk_rand_below(&w->rng, (uint64_t)w->n);
		item_release(g.mem, &w->items[i]);
		w->items[i] = w->items[--w->n];
	}
	struct item *it = &w->items[w->n++];
	memset(it, 0, sizeof(*it));
	return it;
}

/* Keep a segment handle (push may first release a random item). */
void push_seg(struct worker *w, fk_segment s, const struct fk_meta_type *htype,
              const struct fk_meta_type *ftype)
{
	struct item *it = push(w);
	it->kind = IT_SEG;
	it->s = s;
	it->htype = htype;
	it->ftype = ftype;
}

/* Keep a frame handle (push may first release a random item). */
void push_frame(struct worker *w, fk_frame f, const struct fk_meta_type *ftype)
{
	struct item *it = push(w);
	it->kind = IT_FRAME;
	it->f = f;
	it->ftype = ftype;
}

void remove_at(struct worker *w, int i)
{
	w->items[i] = w->items[--w->n];
}

/* Random item index of one of the kinds in mask (bit per kind), or -1. */
int pick(struct worker *w, unsigned mask)
{
	if (w->n == 0)
		return -1;
	int start = (int)fk_rand_below(&w->rng, (uint64_t)w->n);
	for (int k = 0; k < w->n; k++) {
		int i = (start + k) % w->n;
		if (mask & (1u << w->items[i].kind))
			return i;
	}
	return -1;
}

const struct fk_meta_type *rand_type(struct worker *w)
{
	switch (fk_rand_below(&w->rng, 4)) {
	case 0:
		return NULL;
	case 1:
		return &type_b;
	default:
		return &type_a;
	}
}

void *type_ctx(const struct fk_meta_type *t)
{
	return t ? t->ctx : NULL;
}
