/* SPDX-License-Identifier: MIT */
/*
 * What every stress operation checks, and the metadata callbacks behind it:
 * init writes a live canary, on_drop checks and poisons it (so a reference
 * taken on a dying frame shows up as DEAD), an injected init failure must
 * roll back every frame claimed so far, and an FK_ENOMEM must be justified
 * (the classifier: sc_track.c).
 */
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>

#include "stress.h"

_Thread_local int tl_init_index;   /* frames initialised in the current call */
_Thread_local int tl_init_fail_at; /* -1 = no injected failure */
_Thread_local int tl_init_failed;
_Thread_local uint64_t tl_on_drop;
_Thread_local int tl_id;

static void on_drop_meta(void *meta, uint64_t paddr, void *ctx);
static const uint64_t live_a = LIVE_A, live_b = LIVE_B;
const struct fk_meta_type type_a = {"stress-a", sizeof(struct smeta), on_drop_meta,
                                           (void *)&live_a, 0};
const struct fk_meta_type type_b = {"stress-b", sizeof(struct smeta), on_drop_meta,
                                           (void *)&live_b, 1};

int init_meta(void *meta, uint64_t paddr, void *ctx)
{
	const uint64_t *live = ctx;
	if (tl_init_index == tl_init_fail_at) {
		tl_init_failed = 1;
		return INIT_ERR;
	}
	tl_init_index++;
	struct smeta *m = meta;
	m->canary = *live;
	m->paddr = paddr;
	m->gen = atomic_fetch_add_explicit(&g.gen, 1, memory_order_relaxed);
	m->cookie = 0;
	m->owner = (uint32_t)tl_id;
	m->pad = 0;
	if (in_unmanaged(paddr))
		CNT(init_ok_unmanaged);
	else
		CNT(init_ok_managed);
	return 0;
}

static void on_drop_meta(void *meta, uint64_t paddr, void *ctx)
{
	const uint64_t *live = ctx;
	struct smeta *m = meta;
	if (m->canary != *live || m->paddr != paddr)
		fail("on_drop(0x%" PRIx64 "): corrupt metadata canary=0x%" PRIx64
		     " paddr=0x%" PRIx64 " (expected canary 0x%" PRIx64 ")",
		     paddr, m->canary, m->paddr, *live);
	m->canary = DEAD;
	tl_on_drop++;
	if (in_unmanaged(paddr))
		CNT(drop_unmanaged);
	else
		CNT(drop_managed);
}

/* Check a live frame's metadata through a handle we hold. */
void check_meta(const struct fk_meta_type *t, const void *mp, uint64_t pa, const char *what)
{
	if (t != &type_a && t != &type_b)
		return;
	const struct smeta *m = mp;
	uint64_t live = t == &type_a ? LIVE_A : LIVE_B;
	EXPECT(m && m->canary == live && m->paddr == pa,
	       "%s: frame 0x%" PRIx64 " held but metadata is %s (canary 0x%" PRIx64
	       ", paddr 0x%" PRIx64 ")",
	       what, pa, m && m->canary == DEAD ? "DEAD (revived after last drop?)" : "corrupt",
	       m ? m->canary : 0, m ? m->paddr : 0);
}

/*
 * Prepare an init-failure injection for the next claim of nframes frames.
 * Returns 1 if one was armed.
 */
int arm_init_fault(struct worker *w, const struct fk_meta_type *t, uint64_t nframes)
{
	tl_init_index = 0;
	tl_init_failed = 0;
	tl_init_fail_at = -1;
	tl_on_drop = 0;
	if (t && g.faults > 0 && fk_rand_chance(&w->rng, g.faults)) {
		tl_init_fail_at = (int)fk_rand_below(&w->rng, nframes);
		return 1;
	}
	return 0;
}

/* After a failed claim: an injected init failure must surface as init's
 * error with every frame claimed so far rolled back (on_drop ran for it). */
int check_claim_failure(const char *what, int rc)
{
	if (tl_init_failed) {
		CNT(init_faults);
		CNT(rollback_checks);
		EXPECT(rc == INIT_ERR, "%s: init failed with %s but call returned %s", what,
		       E(INIT_ERR), E(rc));
		EXPECT(tl_on_drop == (uint64_t)tl_init_index,
		       "%s: init failed at frame %d but on_drop ran %" PRIu64
		       " times during rollback",
		       what, tl_init_index, tl_on_drop);
		return 1;
	}
	EXPECT(tl_on_drop == (uint64_t)tl_init_index,
	       "%s: failed with %s after %d inits but %" PRIu64 " on_drops", what, E(rc),
	       tl_init_index, tl_on_drop);
	return 0;
}

void check_segment_meta(const fk_segment *s, const struct fk_meta_type *ftype, const char *what)
{
	uint64_t n = fk_segment_nframes(s);
	if (n == 0 || !ftype)
		return;
	/* first, last and one in the middle */
	uint64_t idx[3] = {0, n - 1, n / 2};
	for (int k = 0; k < 3; k++)
		check_meta(ftype, fk_segment_meta(s, idx[k]), s->start + idx[k] * FK_PAGE_SIZE,
		           what);
}

/* An FK_ENOMEM from an allocating call: justified or the run fails. */
void check_enomem(const struct sc_call *call, uint64_t n, unsigned flags, const char *what)
{
	CNT(enomem);
	if (sc_enomem_classify(call, n, flags, stderr)) {
		/* The allocator's own view now, for the report. */
		struct fk_alloc_stats st;
		int node = (flags & FK_ALLOC_NODE_STRICT) ? FK_ALLOC_NODE_OF(flags) : -1;
		if (atomic_load(&g.nfailures) < 20 && fk_mem_alloc_stats(g.mem, node, &st) == 0) {
			fprintf(stderr,
			        "  allocator stats (node %d) now: total=%" PRIu64 " free=%" PRIu64
			        " cached=%" PRIu64 " free blocks by order:",
			        node, st.total_frames, st.free_frames, st.cached_frames);
			for (int o = 0; o < FK_MAX_ORDER; o++)
				fprintf(stderr, " %" PRIu64, st.free_blocks[o]);
			fputc('\n', stderr);
		}
		fail("%s(%" PRIu64 " frames, flags 0x%x): unjustified FK_ENOMEM (see above)", what,
		     n, flags);
	}
}
