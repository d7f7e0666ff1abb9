/* SPDX-License-Identifier: MIT */
/*
 * Fuzz steps that take frames: allocation (with every flag, and init
 * failures that must roll back), from_unused for frames, unique frames and
 * segments, and from_in_use by address. Each predicts the error from the
 * model, or checks the frames it got.
 */
#include <inttypes.h>

#include "fuzz.h"

/* ---- Steps ---- */

/*
 * Take a frame by address into a frame slot: pick the paddr and the slot
 * (dropping what it held), call fn and check the error an unaligned or an
 * outside paddr must get. Returns the model index of the frame, or -1 when
 * the paddr was unaligned or outside (the result is already checked).
 */
int frame_by_paddr(int (*fn)(fk_mem *, uint64_t, fk_frame *), const char *unaligned,
                   const char *outside, int *rc)
{
	uint64_t pa = sel_paddr();
	int j = byte() % NF;
	drop_f(j);
	*rc = fn(z.mem, pa, &z.f[j]);
	int i = gi(pa);
	if (pa & (PG - 1)) {
		expect_rc(unaligned, FK_ENOTALIGNED, *rc);
		return -1;
	}
	if (i < 0) {
		expect_rc(outside, FK_EOUTOFBOUND, *rc);
		return -1;
	}
	return i;
}

void step_alloc(int single)
{
	uint8_t b = byte();
	uint64_t n = single ? 1 : b % 24;
	unsigned flags = 0;
	uint8_t fb = byte();
	if (fb & 1)
		flags |= FK_ALLOC_ALIGNED;
	if (fb & 2)
		flags |= FK_ALLOC_NODE((fb >> 2) % 3); /* node 2 does not exist */
	if (fb & 16)
		flags |= FK_ALLOC_NODE_STRICT;
	const struct fk_meta_type *t = sel_type();
	int armed = arm_fail(t, n);
	int node = (fb & 2) ? (fb >> 2) % 3 : -1;
	int j = byte() % (single ? NF : NS);
	if (single)
		drop_f(j);
	else
		drop_s(j);
	uint64_t drops0 = fz_on_drops;
	int rc;
	uint64_t s = 0, e = 0;
	int here0 = fk_mem_current_node(z.mem);
	if (single) {
		rc = fk_alloc_frame(z.mem, t, t ? fz_init : NULL, NULL, flags, &z.f[j]);
		if (rc == 0) {
			s = z.f[j].paddr;
			e = s + PG;
		}
	} else {
		rc = fk_alloc_segment(z.mem, n, t, t ? fz_init : NULL, NULL, flags, &z.s[j]);
		if (rc == 0) {
			s = z.s[j].start;
			e = z.s[j].end;
		}
	}
	struct eset es = {0};
	if (n == 0 || node >= 2 || t == &type_big)
		add(&es, FK_EINVAL);
	if (es.n) {
		expect_in("alloc (invalid)", &es, rc);
		return;
	}
	if (rc == FK_ENOMEM && fz_init_calls == 0) {
		/* Justified only if nothing suitable was free (alloc.h). A strict
		 * request for "this CPU's node" is checked only if the thread
		 * stayed on one node. */
		int strict = (flags & FK_ALLOC_NODE_STRICT) != 0, nd = node;
		if (strict && nd < 0)
			nd = here0 == fk_mem_current_node(z.mem) ? here0 : -2;
		if (nd != -2 && free_block_exists(n, nd, strict))
			die("alloc(%" PRIu64 ", flags 0x%x) -> FK_ENOMEM with an aligned free block "
			    "of %" PRIu64 " frames left",
			    n, flags, n);
		return;
	}
	if (armed) {
		expect_rc("alloc with failing init", INIT_ERR, rc);
		if (fz_on_drops - drops0 != (uint64_t)fz_init_fail_at)
			die("alloc rollback ran on_drop %" PRIu64 " times for %d claimed frames",
			    fz_on_drops - drops0, fz_init_fail_at);
		return;
	}
	expect_rc("alloc", 0, rc);
	if (e - s != n * PG || !range_in_region(s, e))
		die("alloc(%" PRIu64 ") gave [0x%" PRIx64 ", 0x%" PRIx64 ")", n, s, e);
	for (uint64_t p = s; p < e; p += PG) {
		int i = gi(p);
		if (!gi_managed(i) || z.fr[i].cnt || z.fr[i].unique)
			die("allocator handed out frame 0x%" PRIx64 " that is %s", p,
			    gi_managed(i) ? "in use" : "unmanaged");
	}
	if ((flags & FK_ALLOC_ALIGNED) && n > 1) {
		uint64_t a = 1;
		while (a < n)
			a <<= 1;
		if ((s / PG) % a)
			die("ALIGNED alloc(%" PRIu64 ") at 0x%" PRIx64, n, s);
	}
	if ((flags & FK_ALLOC_NODE_STRICT) && node >= 0) {
		int got = s >= H_BASE ? z.h_node : 0;
		if (got != node)
			die("NODE_STRICT(%d) alloc gave 0x%" PRIx64 " (node %d)", node, s, got);
	}
	hold(s, e, t, 1);
}

void step_from_unused(int unique)
{
	uint64_t pa = sel_paddr();
	const struct fk_meta_type *t = sel_type();
	int armed = arm_fail(t, 1);
	int j = byte() % (unique ? NQ : NF);
	if (unique)
		drop_q(j);
	else
		drop_f(j);
	int rc = unique
	             ? fk_unique_frame_from_unused(z.mem, pa, t, t ? fz_init : NULL, NULL, &z.q[j])
	             : fk_frame_from_unused(z.mem, pa, t, t ? fz_init : NULL, NULL, &z.f[j]);
	struct eset es = {0};
	int i = gi(pa);
	if (t == &type_big)
		add(&es, FK_EINVAL);
	if (pa & (PG - 1))
		add(&es, FK_ENOTALIGNED);
	else if (i < 0)
		add(&es, FK_EOUTOFBOUND);
	else if (gi_managed(i))
		add(&es, FK_EMANAGED);
	if (es.n) {
		expect_in("from_unused (invalid)", &es, rc);
		return;
	}
	struct mframe *m = &z.fr[i];
	if (m->unique)
		return expect_rc("from_unused on UNIQUE", FK_EUNIQUE, rc);
	if (m->cnt)
		return expect_rc("from_unused on in-use", FK_EINUSE, rc);
	if (armed)
		return expect_rc("from_unused with failing init", INIT_ERR, rc);
	expect_rc("from_unused", 0, rc);
	m->type = t ? t : &fk_meta_untyped;
	if (unique)
		m->unique = 1;
	else
		m->cnt = 1;
}

void step_segment_from_unused(void)
{
	uint64_t s, e;
	sel_range(&s, &e);
	const struct fk_meta_type *t = sel_type();
	uint64_t n = e > s ? (e - s) / PG : 0;
	int armed = arm_fail(t, n);
	int j = byte() % NS;
	drop_s(j);
	uint64_t drops0 = fz_on_drops;
	int rc = fk_segment_from_unused(z.mem, s, e, t, t ? fz_init : NULL, NULL, &z.s[j]);
	struct eset es = {0};
	if (t == &type_big)
		add(&es, FK_EINVAL);
	if (add_range_errors(&es, s, e) && !((s | e) & (PG - 1)) && gi_managed(gi(s)))
		add(&es, FK_EMANAGED);
	if (es.n) {
		expect_in("segment_from_unused (invalid)", &es, rc);
		return;
	}
	/* Frames are claimed in order; the first failure wins. */
	int want = 0;
	uint64_t k = 0;
	for (uint64_t p = s; p < e; p += PG, k++) {
		struct mframe *m = &z.fr[gi(p)];
		if (m->unique) {
			want = FK_EUNIQUE;
			break;
		}
		if (m->cnt) {
			want = FK_EINUSE;
			break;
		}
		if (armed && (int)k == fz_init_fail_at) {
			want = INIT_ERR;
			break;
		}
	}
	expect_rc("segment_from_unused", want, rc);
	if (want) {
		uint64_t claimed = (t == &type_a || t == &type_b) ? k : 0; /* others: no on_drop */
		if (fz_on_drops - drops0 != claimed)
			die("segment_from_unused rollback ran on_drop %" PRIu64 " times, %" PRIu64
			    " frames were claimed",
			    fz_on_drops - drops0, k);
		return;
	}
	hold(s, e, t, 1);
}

void step_from_in_use(void)
{
	int rc;
	int i = frame_by_paddr(fk_frame_from_in_use, "from_in_use(unaligned)",
	                       "from_in_use(outside)", &rc);
	if (i < 0)
		return;
	struct mframe *m = &z.fr[i];
	if (m->unique)
		return expect_rc("from_in_use(UNIQUE)", FK_EUNIQUE, rc);
	if (m->cnt == 0)
		return expect_rc("from_in_use(UNUSED)", FK_EUNUSED, rc);
	expect_rc("from_in_use", 0, rc);
	m->cnt++;
}
