/* SPDX-License-Identifier: MIT */
/*
 * Stress operation bad_args: invalid arguments to the public API must get
 * their documented error and change nothing.
 */
#include <inttypes.h>
#include <string.h>

#include "stress.h"

/* Invalid arguments: an error and no state change. */
int op_bad_args(struct worker *w)
{
	int rc;
	fk_segment l, r, o;
	fk_frame f;
	switch (fk_rand_below(&w->rng, 8)) {
	case 0: { /* split at 0, at size, unaligned */
		int i = pick(w, M_SEG);
		if (i < 0)
			return 0;
		struct item *it = &w->items[i];
		fk_segment keep = it->s;
		uint64_t size = fk_segment_size(&it->s);
		uint64_t offs[3] = {0, size, FK_PAGE_SIZE / 2};
		uint64_t off = offs[fk_rand_below(&w->rng, 3)];
		rc = fk_segment_split(g.mem, &it->s, off, &l, &r);
		EXPECT((rc == FK_EINVAL || rc == FK_ENOTALIGNED) && it->s.start == keep.start &&
		           it->s.end == keep.end && it->s.region == keep.region,
		       "split(bad offset %" PRIu64 ") -> %s / handle changed", off, E(rc));
		return 1;
	}
	case 1: { /* slice out of range, reversed, overflowing */
		int i = pick(w, M_SEG);
		if (i < 0)
			return 0;
		struct item *it = &w->items[i];
		uint64_t size = fk_segment_size(&it->s);
		uint64_t from[4] = {0, FK_PAGE_SIZE, UINT64_MAX - FK_PAGE_SIZE + 1, size};
		uint64_t to[4] = {size + FK_PAGE_SIZE, 0, UINT64_MAX - FK_PAGE_SIZE + 1, 1};
		unsigned k = (unsigned)fk_rand_below(&w->rng, 4);
		rc = fk_segment_slice(g.mem, &it->s, from[k], to[k], &o);
		int want = k == 3 ? FK_ENOTALIGNED : FK_EINVAL;
		EXPECT(rc == want || (k == 3 && rc == FK_EINVAL),
		       "slice(%" PRIx64 ", %" PRIx64 ") of size %" PRIu64 " -> %s (want %s)",
		       from[k], to[k], size, E(rc), E(want));
		if (rc == 0)
			fk_segment_drop(g.mem, &o);
		return 1;
	}
	case 2: /* from_in_use: unaligned, out of bounds */
		rc = fk_frame_from_in_use(g.mem, M0_BASE + 123, &f);
		EXPECT(rc == FK_ENOTALIGNED, "from_in_use(unaligned) -> %s", E(rc));
		rc = fk_frame_from_in_use(g.mem, 0x7000000000ull, &f);
		EXPECT(rc == FK_EOUTOFBOUND, "from_in_use(out of bounds) -> %s", E(rc));
		return 1;
	case 3: /* from_unused on a managed frame */
		rc = fk_frame_from_unused(g.mem,
		                          M0_BASE + fk_rand_below(&w->rng, M_FRAMES) * FK_PAGE_SIZE,
		                          &type_a, init_meta, type_ctx(&type_a), &f);
		EXPECT(rc == FK_EMANAGED || rc == FK_EINUSE || rc == FK_EBUSY || rc == FK_EUNIQUE,
		       "frame_from_unused(managed) -> %s", E(rc));
		if (rc == 0)
			fk_frame_drop(g.mem, &f);
		return 1;
	case 4: /* empty handles */
		memset(&f, 0, sizeof(f));
		memset(&o, 0, sizeof(o));
		rc = fk_frame_drop(g.mem, &f);
		EXPECT(rc == FK_EINVAL, "drop(empty frame) -> %s", E(rc));
		rc = fk_frame_clone(g.mem, &f, &f);
		EXPECT(rc == FK_EINVAL, "clone(empty frame) -> %s", E(rc));
		rc = fk_segment_clone(g.mem, &o, &l);
		EXPECT(rc == FK_EINVAL, "clone(empty segment) -> %s", E(rc));
		rc = fk_segment_split(g.mem, &o, FK_PAGE_SIZE, &l, &r);
		EXPECT(rc == FK_EINVAL, "split(empty segment) -> %s", E(rc));
		return 1;
	case 5: /* zero-frame allocation */
		rc = fk_alloc_segment(g.mem, 0, NULL, NULL, NULL, 0, &o);
		EXPECT(rc == FK_EINVAL, "alloc_segment(0) -> %s", E(rc));
		return 1;
	case 6: /* from_raw outside every region */
		rc = fk_frame_from_raw(g.mem, 0x7000000000ull, &f);
		EXPECT(rc == FK_EOUTOFBOUND || rc == FK_ENOTRAW, "from_raw(out of bounds) -> %s",
		       E(rc));
		return 1;
	default: { /* into_raw of an empty handle, next on an empty segment */
		uint64_t pa;
		memset(&f, 0, sizeof(f));
		memset(&o, 0, sizeof(o));
		rc = fk_frame_into_raw(g.mem, &f, &pa);
		EXPECT(rc == FK_EINVAL, "into_raw(empty frame) -> %s", E(rc));
		rc = fk_segment_next(g.mem, &o, &f);
		EXPECT(rc == 0 || rc == FK_EINVAL, "next(empty segment) -> %d", rc);
		return 1;
	}
	}
}
