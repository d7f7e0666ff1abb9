/* SPDX-License-Identifier: MIT */
/*
 * Stress operations where frames cross threads: addresses published in
 * g.published and taken back with from_in_use while the owner may drop
 * its last reference (race_drop makes that race on purpose), and handles
 * moved through the mutex-protected mailbox.
 */
#include <inttypes.h>
#include <pthread.h>

#include "stress.h"

/* Take a reference by address to something another thread published,
 * possibly while its owner drops the last reference. */
int op_from_in_use(struct worker *w)
{
	uint64_t v =
	    atomic_load_explicit(&g.published[fk_rand_below(&w->rng, NPUB)], memory_order_relaxed);
	if (!v)
		return 0;
	uint64_t pa = v & ~(FK_PAGE_SIZE - 1), gen12 = v & (FK_PAGE_SIZE - 1);
	fk_frame f;
	int rc = fk_frame_from_in_use(g.mem, pa, &f);
	switch (rc) {
	case 0:
		break;
	case FK_EBUSY:
		CNT(fiu_busy);
		return 1;
	case FK_EUNUSED:
		CNT(fiu_unused);
		return 1;
	case FK_EUNIQUE:
		CNT(fiu_unique);
		return 1;
	case FK_EOUTOFBOUND:
		CNT(fiu_oob);
		return 1;
	default:
		fail("from_in_use(0x%" PRIx64 ") -> %s", pa, E(rc));
		return 0;
	}
	EXPECT(f.paddr == pa, "from_in_use: wrong paddr");
	uint64_t c = fk_frame_refcount(&f);
	EXPECT(c >= 1 && c <= FK_REF_MAX, "from_in_use succeeded but refcount is %" PRIu64, c);
	const struct fk_meta_type *t = fk_frame_meta_type(&f);
	const void *m = NULL;
	if (t == &type_a || t == &type_b) {
		EXPECT(fk_frame_meta_as(&f, t, &m) == 0, "meta_as(own type) failed");
		check_meta(t, m, pa, "from_in_use");
		if ((((const struct smeta *)m)->gen & 0xfff) == gen12)
			CNT(fiu_ok_same);
		else
			CNT(fiu_ok_other);
		const struct fk_meta_type *other = t == &type_a ? &type_b : &type_a;
		const void *m2 = NULL;
		EXPECT(fk_frame_meta_as(&f, other, &m2) == FK_ETYPE,
		       "meta_as(wrong type) accepted");
	} else {
		CNT(fiu_ok_other);
	}
	if (fk_rand_chance(&w->rng, 0.5)) {
		/* Short hold; re-check the canary just before our drop (a revived
		 * frame would have been poisoned by the real last drop by now). */
		if (t == &type_a || t == &type_b)
			check_meta(t, fk_frame_meta(&f), pa, "from_in_use (recheck)");
		rc = fk_frame_drop(g.mem, &f);
		EXPECT(rc == 0, "drop after from_in_use -> %s", E(rc));
	} else {
		push_frame(w, f, (t == &type_a || t == &type_b) ? t : NULL);
	}
	return 1;
}

static void publish_pa(struct worker *w, uint64_t pa, const void *meta,
                       const struct fk_meta_type *ft)
{
	uint64_t gen12 = 0;
	if (ft == &type_a || ft == &type_b)
		gen12 = ((const struct smeta *)meta)->gen & 0xfff;
	atomic_store_explicit(&g.published[fk_rand_below(&w->rng, NPUB)], pa | gen12,
	                      memory_order_relaxed);
}

int op_publish(struct worker *w)
{
	int i = pick(w, M_FRAME | M_SEG);
	if (i < 0)
		return 0;
	struct item *it = &w->items[i];
	if (it->kind == IT_FRAME) {
		publish_pa(w, it->f.paddr, fk_frame_meta(&it->f), it->ftype);
	} else {
		uint64_t k = fk_rand_below(&w->rng, fk_segment_nframes(&it->s));
		publish_pa(w, it->s.start + k * FK_PAGE_SIZE, fk_segment_meta(&it->s, k),
		           it->ftype);
	}
	return 1;
}

/* Allocate, publish, drop right away: the last drop races from_in_use. */
int op_race_drop(struct worker *w)
{
	fk_frame f;
	tl_init_fail_at = -1;
	tl_init_index = 0;
	int rc = fk_alloc_frame(g.mem, &type_a, init_meta, type_ctx(&type_a), 0, &f);
	if (rc) {
		EXPECT(rc == FK_ENOMEM, "alloc_frame -> %s", E(rc));
		return 0;
	}
	publish_pa(w, f.paddr, fk_frame_meta(&f), &type_a);
	for (unsigned k = fk_rand_below(&w->rng, 64); k; k--)
		atomic_signal_fence(memory_order_seq_cst);
	rc = fk_frame_drop(g.mem, &f);
	EXPECT(rc == 0, "race_drop: drop -> %s", E(rc));
	return 1;
}

int op_mail_put(struct worker *w)
{
	int i = pick(w, M_ANY);
	if (i < 0)
		return 0;
	int done = 0;
	pthread_mutex_lock(&g.mail_lock);
	if (g.nmail < MAILBOX_CAP) {
		g.mail[g.nmail++] = w->items[i];
		done = 1;
	}
	pthread_mutex_unlock(&g.mail_lock);
	if (done) {
		remove_at(w, i);
		CNT(mail_moves);
	}
	return done;
}

int op_mail_take(struct worker *w)
{
	struct item it;
	int got = 0;
	pthread_mutex_lock(&g.mail_lock);
	if (g.nmail > 0) {
		int k = (int)fk_rand_below(&w->rng, (uint64_t)g.nmail);
		it = g.mail[k];
		g.mail[k] = g.mail[--g.nmail];
		got = 1;
	}
	pthread_mutex_unlock(&g.mail_lock);
	if (!got)
		return 0;
	/* Validate what another thread handed over before keeping it. */
	if (it.kind == IT_FRAME)
		check_meta(it.ftype, fk_frame_meta(&it.f), it.f.paddr, "mail_take");
	else if (it.kind == IT_SEG)
		check_segment_meta(&it.s, it.ftype, "mail_take");
	else if (it.kind == IT_UNIQUE)
		check_meta(it.ftype, fk_unique_frame_meta(&it.u), it.u.paddr, "mail_take");
	*push(w) = it;
	return 1;
}
