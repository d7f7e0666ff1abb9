/*
 * framekit_stress: randomised multi-threaded workload over every public
 * operation, ending with a conservation check.
 *
 * Each worker keeps private handles (frames, segments, unique frames, raw
 * ranges) and shares others: through a mutex-protected mailbox (ownership
 * moves between threads, raw ranges included) and through a table of
 * published addresses that other threads grab with from_in_use while the
 * owner may be dropping its last reference. Metadata carries a canary that
 * on_drop poisons, so a from_in_use success on a dying frame is caught.
 * A hot-plug thread adds and removes regions under load: removal must be
 * refused while a frame of the region is held and succeed once idle.
 * At the end every handle is dropped and the allocator drained; then every
 * slot must be UNUSED, nothing raw, allocator free == managed total (per
 * node and per order), the leak report empty, and every frame the
 * allocator handed out must have come back exactly once.
 *
 * Every FK_ENOMEM the workload gets is classified (stress_common.h): it
 * was injected, or no aligned free block of the size asked for existed in
 * an allowed region for the whole call; any other one fails the run. The
 * SUMMARY line counts them.
 *
 * Usage: see usage() or `framekit_stress --help`. Seconds and ops bound
 * each allocator's run, whichever comes first; replay a failure with the
 * printed --seed (and the same --threads).
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <framekit/framekit.h>

#include "fk_variants.h"
#include "stress_common.h"

/* ---- Layout of the simulated memory ---- */

#define NR_NODES    4
#define M0_BASE     0x10000000ull /* managed, node 0 */
#define M1_BASE     0x20000000ull /* managed, node 1 */
#define M_FRAMES    8192ull
#define U_BASE      0x30000000ull /* unmanaged, node 0 */
#define U_FRAMES    1024ull
#define HOT_N       2 /* hot-plug regions, node 2 + k */
#define HOT_BASE(k) (0x40000000ull + (uint64_t)(k)*0x1000000ull)
#define HOT_FRAMES  512ull

#define MAX_ITEMS   48
#define MAILBOX_CAP 128
#define NPUB        64
#define INIT_ERR    FK_ENOMEM

/* ---- Metadata: canary checked by every reader, poisoned by on_drop ---- */

#define LIVE_A 0x4c4956452d41ull /* "LIVE-A" */
#define LIVE_B 0x4c4956452d42ull
#define DEAD   0xdeaddeaddeaddeadull

struct smeta {
	uint64_t canary;
	uint64_t paddr;
	uint64_t gen;
	uint64_t cookie; /* mutated only while UNIQUE */
	uint32_t owner;
	uint32_t pad;
};
_Static_assert(sizeof(struct smeta) <= FK_META_MAX_SIZE, "metadata too large");

static void on_drop_meta(void *meta, uint64_t paddr, void *ctx);
static const uint64_t live_a = LIVE_A, live_b = LIVE_B;
static const struct fk_meta_type type_a = {"stress-a", sizeof(struct smeta), on_drop_meta,
                                           (void *)&live_a, 0};
static const struct fk_meta_type type_b = {"stress-b", sizeof(struct smeta), on_drop_meta,
                                           (void *)&live_b, 1};

/* ---- Operation kinds ---- */

enum op {
	OP_ALLOC_SEG,
	OP_ALLOC_FRAME,
	OP_SPLIT,
	OP_SLICE,
	OP_NEXT,
	OP_CLONE,
	OP_DROP,
	OP_INTO_RAW,
	OP_FROM_RAW,
	OP_FROM_IN_USE,
	OP_PUBLISH,
	OP_RACE_DROP,
	OP_VIEW,
	OP_MAIL_PUT,
	OP_MAIL_TAKE,
	OP_FROM_FRAME,
	OP_UNIQUE,
	OP_UNMANAGED,
	OP_BAD_ARGS,
	OP_HOT_ALLOC,
	NR_OPS
};
static const char *const op_name[NR_OPS] = {
    "alloc_seg", "alloc_frame", "split",       "slice",     "next",      "clone",     "drop",
    "into_raw",  "from_raw",    "from_in_use", "publish",   "race_drop", "view",      "mail_put",
    "mail_take", "from_frame",  "unique",      "unmanaged", "bad_args",  "hot_alloc",
};
/* Relative weights. */
static const unsigned op_weight[NR_OPS] = {
    12, 6, 6, 5, 5, 6, 10, 5, 0 /* from_raw: driven by into_raw */, 10, 4, 3,
    5,  3, 3, 2, 3, 4, 3,  2,
};

/* ---- Handles held by the workload ---- */

enum item_kind { IT_FRAME, IT_SEG, IT_UNIQUE, IT_RAW_FRAME, IT_RAW_SEG };

struct item {
	enum item_kind kind;
	fk_frame f;
	fk_segment s;
	fk_unique_frame u;
	uint64_t rs, re;                  /* raw range */
	const struct fk_meta_type *htype; /* handle type (segments, raw) */
	const struct fk_meta_type *ftype; /* real type of the frames (NULL = untyped) */
};

struct worker {
	int id;
	pthread_t th;
	uint64_t rng;
	struct item items[MAX_ITEMS];
	int n;
	uint64_t nops;
	_Atomic uint64_t nops_seen; /* nops for the progress line (relaxed copy) */
	uint64_t ops[NR_OPS], ok[NR_OPS];
};

/* ---- Run state ---- */

struct counters {
	_Atomic uint64_t init_ok_managed, init_ok_unmanaged;
	_Atomic uint64_t drop_managed, drop_unmanaged;
	_Atomic uint64_t fiu_ok_same, fiu_ok_other, fiu_busy, fiu_unused, fiu_unique, fiu_oob;
	_Atomic uint64_t enomem, init_faults, rollback_checks;
	_Atomic uint64_t hot_add, hot_add_fail, hot_remove, hot_refused_held, hot_refused_busy;
	_Atomic uint64_t mail_moves, raw_restores_split;
};

static struct {
	fk_mem *mem;
	const char *alloc_name;
	int threads;
	double seconds;
	uint64_t ops_limit;
	uint64_t seed;
	double faults;
	int hotplug;
	const char *lock;     /* buddy lock; NULL = rotate ticket/mcs/mutex by seed */
	const char *run_lock; /* the one used by the current run */
	const struct fk_variant *variant;     /* core variant; NULL = rotate by seed */
	const struct fk_variant *run_variant; /* the one used by the current run */
	atomic_int stop;
	atomic_int failed;
	atomic_uint nfailures; /* fail() calls in this run */
	double progress;       /* seconds between progress lines, 0 = none */
	int keep_going;        /* a failure does not stop the run (soaks: count them all) */
	atomic_int workers_done;
	_Atomic uint64_t gen;
	_Atomic uint64_t published[NPUB]; /* paddr | (gen & 0xfff), 0 = empty */
	pthread_mutex_t mail_lock;
	struct item mail[MAILBOX_CAP];
	int nmail;
	int hot_present[HOT_N]; /* hot-plug thread (and main after join) only */
	struct counters c;
} g;

#define CNT(x) atomic_fetch_add_explicit(&g.c.x, 1, memory_order_relaxed)

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail(const char *fmt, ...)
{
	va_list ap;
	unsigned k = atomic_fetch_add(&g.nfailures, 1);
	if (k < 20) {
		va_start(ap, fmt);
		fprintf(stderr, "STRESS FAILURE [%s]: ", g.alloc_name ? g.alloc_name : "?");
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
		va_end(ap);
	} else if (k == 20) {
		fprintf(stderr, "STRESS FAILURE [%s]: more failures, not shown\n",
		        g.alloc_name ? g.alloc_name : "?");
	}
	atomic_store(&g.failed, 1);
	if (!g.keep_going)
		atomic_store(&g.stop, 1);
}

#define EXPECT(cond, ...)                                                                          \
	do {                                                                                       \
		if (!(cond))                                                                       \
			fail(__VA_ARGS__);                                                         \
	} while (0)

static const char *E(int rc)
{
	return fk_strerror_name(rc);
}

static unsigned order_ceil(uint64_t n)
{
	return n <= 1 ? 0u : (unsigned)(64 - __builtin_clzll(n - 1));
}

static int in_unmanaged(uint64_t pa)
{
	return pa >= U_BASE && pa < U_BASE + U_FRAMES * FK_PAGE_SIZE;
}

/* ---- Metadata callbacks ---- */

static _Thread_local int tl_init_index;   /* frames initialised in the current call */
static _Thread_local int tl_init_fail_at; /* -1 = no injected failure */
static _Thread_local int tl_init_failed;
static _Thread_local uint64_t tl_on_drop;
static _Thread_local int tl_id;

static int init_meta(void *meta, uint64_t paddr, void *ctx)
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
static void check_meta(const struct fk_meta_type *t, const void *mp, uint64_t pa, const char *what)
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

/* ---- Item helpers ---- */

/* Release whatever the item holds (raw ranges are restored first). */
static void item_release(fk_mem *mem, struct item *it)
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

static struct item *push(struct worker *w)
{
	if (w->n == MAX_ITEMS) {
		/* Full: release a random one to make room. */
		uint64_t i = sc_below(&w->rng, (uint64_t)w->n);
		item_release(g.mem, &w->items[i]);
		w->items[i] = w->items[--w->n];
	}
	struct item *it = &w->items[w->n++];
	memset(it, 0, sizeof(*it));
	return it;
}

/* Keep a segment handle (push may first release a random item). */
static void push_seg(struct worker *w, fk_segment s, const struct fk_meta_type *htype,
                     const struct fk_meta_type *ftype)
{
	struct item *it = push(w);
	it->kind = IT_SEG;
	it->s = s;
	it->htype = htype;
	it->ftype = ftype;
}

/* Keep a frame handle (push may first release a random item). */
static void push_frame(struct worker *w, fk_frame f, const struct fk_meta_type *ftype)
{
	struct item *it = push(w);
	it->kind = IT_FRAME;
	it->f = f;
	it->ftype = ftype;
}

static void remove_at(struct worker *w, int i)
{
	w->items[i] = w->items[--w->n];
}

/* Random item index of one of the kinds in mask (bit per kind), or -1. */
static int pick(struct worker *w, unsigned mask)
{
	if (w->n == 0)
		return -1;
	int start = (int)sc_below(&w->rng, (uint64_t)w->n);
	for (int k = 0; k < w->n; k++) {
		int i = (start + k) % w->n;
		if (mask & (1u << w->items[i].kind))
			return i;
	}
	return -1;
}

#define M_FRAME  (1u << IT_FRAME)
#define M_SEG    (1u << IT_SEG)
#define M_UNIQUE (1u << IT_UNIQUE)
#define M_RAW    ((1u << IT_RAW_FRAME) | (1u << IT_RAW_SEG))
#define M_ANY    0x1fu

static const struct fk_meta_type *rand_type(struct worker *w)
{
	switch (sc_below(&w->rng, 4)) {
	case 0:
		return NULL;
	case 1:
		return &type_b;
	default:
		return &type_a;
	}
}

static void *type_ctx(const struct fk_meta_type *t)
{
	return t ? t->ctx : NULL;
}

/*
 * Prepare an init-failure injection for the next claim of nframes frames.
 * Returns 1 if one was armed.
 */
static int arm_init_fault(struct worker *w, const struct fk_meta_type *t, uint64_t nframes)
{
	tl_init_index = 0;
	tl_init_failed = 0;
	tl_init_fail_at = -1;
	tl_on_drop = 0;
	if (t && g.faults > 0 && sc_chance(&w->rng, g.faults)) {
		tl_init_fail_at = (int)sc_below(&w->rng, nframes);
		return 1;
	}
	return 0;
}

/* After a failed claim: an injected init failure must surface as init's
 * error with every frame claimed so far rolled back (on_drop ran for it). */
static int check_claim_failure(const char *what, int rc)
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

static void check_segment_meta(const fk_segment *s, const struct fk_meta_type *ftype,
                               const char *what)
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
static void check_enomem(const struct sc_call *call, uint64_t n, unsigned flags, const char *what)
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

/* ---- Operations ---- */

static int op_alloc_seg(struct worker *w)
{
	uint64_t r = sc_below(&w->rng, 100), n;
	if (r < 70)
		n = 1 + sc_below(&w->rng, 8);
	else if (r < 96)
		n = 9 + sc_below(&w->rng, 56);
	else
		n = 65 + sc_below(&w->rng, 448);
	unsigned flags = 0;
	if (sc_chance(&w->rng, 0.2))
		flags |= FK_ALLOC_ALIGNED;
	if (sc_chance(&w->rng, 0.3))
		flags |= FK_ALLOC_NODE(sc_below(&w->rng, 2));
	const struct fk_meta_type *t = rand_type(w);
	arm_init_fault(w, t, n);
	fk_segment s;
	struct sc_call call;
	sc_call_begin(&call);
	int rc = fk_alloc_segment(g.mem, n, t, t ? init_meta : NULL, type_ctx(t), flags, &s);
	if (rc) {
		if (rc == FK_ENOMEM && !tl_init_failed) {
			check_enomem(&call, n, flags, "alloc_segment");
			EXPECT(tl_init_index == 0, "alloc_segment ENOMEM after %d inits",
			       tl_init_index);
			return 0;
		}
		if (!check_claim_failure("alloc_segment", rc))
			fail("alloc_segment(%" PRIu64
			     ") -> %s (only FK_ENOMEM or init's error expected)",
			     n, E(rc));
		return 0;
	}
	EXPECT(!tl_init_failed, "alloc_segment succeeded although init failed");
	EXPECT(fk_segment_nframes(&s) == n && s.end - s.start == n * FK_PAGE_SIZE,
	       "alloc_segment(%" PRIu64 ") gave [0x%" PRIx64 ", 0x%" PRIx64 ")", n, s.start, s.end);
	EXPECT(!(flags & FK_ALLOC_ALIGNED) ||
	           ((s.start / FK_PAGE_SIZE) & (((uint64_t)1 << order_ceil(n)) - 1)) == 0,
	       "alloc_segment(%" PRIu64 ", ALIGNED) gave misaligned 0x%" PRIx64, n, s.start);
	EXPECT(!in_unmanaged(s.start), "allocator handed out unmanaged frame 0x%" PRIx64, s.start);
	check_segment_meta(&s, t, "alloc_segment");
	push_seg(w, s, t, t);
	return 1;
}

static int op_alloc_frame(struct worker *w)
{
	const struct fk_meta_type *t = rand_type(w);
	arm_init_fault(w, t, 1);
	fk_frame f;
	struct sc_call call;
	sc_call_begin(&call);
	int rc = fk_alloc_frame(g.mem, t, t ? init_meta : NULL, type_ctx(t), 0, &f);
	if (rc) {
		if (rc == FK_ENOMEM && !tl_init_failed) {
			check_enomem(&call, 1, 0, "alloc_frame");
			return 0;
		}
		if (!check_claim_failure("alloc_frame", rc))
			fail("alloc_frame -> %s (only FK_ENOMEM or init's error expected)", E(rc));
		return 0;
	}
	EXPECT(fk_frame_refcount(&f) >= 1 && fk_frame_refcount(&f) <= FK_REF_MAX,
	       "alloc_frame: refcount %" PRIu64, fk_frame_refcount(&f));
	check_meta(t, fk_frame_meta(&f), f.paddr, "alloc_frame");
	push_frame(w, f, t);
	return 1;
}

static int op_split(struct worker *w)
{
	int i = pick(w, M_SEG);
	if (i < 0)
		return 0;
	struct item *it = &w->items[i];
	uint64_t n = fk_segment_nframes(&it->s);
	if (n < 2)
		return 0;
	uint64_t off = (1 + sc_below(&w->rng, n - 1)) * FK_PAGE_SIZE;
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

static int op_slice(struct worker *w)
{
	int i = pick(w, M_SEG);
	if (i < 0)
		return 0;
	struct item *it = &w->items[i];
	uint64_t n = fk_segment_nframes(&it->s);
	uint64_t a = sc_below(&w->rng, n + 1), b = sc_below(&w->rng, n + 1);
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

static int op_next(struct worker *w)
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

static int op_clone(struct worker *w)
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

static int op_drop(struct worker *w)
{
	int i = pick(w, M_ANY);
	if (i < 0)
		return 0;
	item_release(g.mem, &w->items[i]);
	remove_at(w, i);
	return 1;
}

static int op_into_raw(struct worker *w)
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
static int op_from_raw(struct worker *w)
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
	if (it.ftype && sc_chance(&w->rng, 0.2)) {
		fk_segment bad;
		const struct fk_meta_type *wrong = it.ftype == &type_a ? &type_b : &type_a;
		rc = fk_segment_from_raw(g.mem, it.rs, it.re, wrong, &bad);
		EXPECT(rc == FK_ETYPE, "segment_from_raw with wrong type -> %s", E(rc));
		if (rc == 0)
			fk_segment_drop(g.mem, &bad);
	}
	uint64_t cut = n >= 2 && sc_chance(&w->rng, 0.3) ? 1 + sc_below(&w->rng, n - 1) : n;
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

/* Take a reference by address to something another thread published,
 * possibly while its owner drops the last reference. */
static int op_from_in_use(struct worker *w)
{
	uint64_t v =
	    atomic_load_explicit(&g.published[sc_below(&w->rng, NPUB)], memory_order_relaxed);
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
	if (sc_chance(&w->rng, 0.5)) {
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
	atomic_store_explicit(&g.published[sc_below(&w->rng, NPUB)], pa | gen12,
	                      memory_order_relaxed);
}

static int op_publish(struct worker *w)
{
	int i = pick(w, M_FRAME | M_SEG);
	if (i < 0)
		return 0;
	struct item *it = &w->items[i];
	if (it->kind == IT_FRAME) {
		publish_pa(w, it->f.paddr, fk_frame_meta(&it->f), it->ftype);
	} else {
		uint64_t k = sc_below(&w->rng, fk_segment_nframes(&it->s));
		publish_pa(w, it->s.start + k * FK_PAGE_SIZE, fk_segment_meta(&it->s, k),
		           it->ftype);
	}
	return 1;
}

/* Allocate, publish, drop right away: the last drop races from_in_use. */
static int op_race_drop(struct worker *w)
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
	for (unsigned k = sc_below(&w->rng, 64); k; k--)
		atomic_signal_fence(memory_order_seq_cst);
	rc = fk_frame_drop(g.mem, &f);
	EXPECT(rc == 0, "race_drop: drop -> %s", E(rc));
	return 1;
}

/* Typed views: meta_as, erase + downcast (right and wrong type). */
static int op_view(struct worker *w)
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
	if (sc_chance(&w->rng, 0.7)) {
		rc = fk_segment_downcast(g.mem, &it->s, it->ftype);
		EXPECT(rc == 0 && it->s.type == it->ftype, "downcast to own type -> %s", E(rc));
		if (rc == 0)
			it->htype = it->ftype;
	}
	return 1;
}

static int op_mail_put(struct worker *w)
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

static int op_mail_take(struct worker *w)
{
	struct item it;
	int got = 0;
	pthread_mutex_lock(&g.mail_lock);
	if (g.nmail > 0) {
		int k = (int)sc_below(&w->rng, (uint64_t)g.nmail);
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

static int op_from_frame(struct worker *w)
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
static int op_unique(struct worker *w)
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
		if (sc_chance(&w->rng, 0.5)) {
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

/* Claim frames of the unmanaged region by address (segment or unique). */
static int op_unmanaged(struct worker *w)
{
	uint64_t n = 1 + sc_below(&w->rng, 4);
	uint64_t first = sc_below(&w->rng, U_FRAMES - n + 1);
	uint64_t s = U_BASE + first * FK_PAGE_SIZE, e = s + n * FK_PAGE_SIZE;
	const struct fk_meta_type *t = sc_chance(&w->rng, 0.5) ? &type_a : &type_b;
	arm_init_fault(w, t, n);
	int rc;
	if (n == 1 && sc_chance(&w->rng, 0.3)) {
		fk_unique_frame u;
		rc = fk_unique_frame_from_unused(g.mem, s, t, init_meta, t->ctx, &u);
		if (rc == 0) {
			EXPECT(!tl_init_failed,
			       "unique from_unused succeeded although init failed");
			struct item *it = push(w);
			it->kind = IT_UNIQUE;
			it->u = u;
			it->ftype = t;
			return 1;
		}
	} else {
		fk_segment seg;
		rc = fk_segment_from_unused(g.mem, s, e, t, init_meta, t->ctx, &seg);
		if (rc == 0) {
			EXPECT(!tl_init_failed, "from_unused succeeded although init failed");
			check_segment_meta(&seg, t, "from_unused");
			push_seg(w, seg, t, t);
			return 1;
		}
	}
	if (check_claim_failure("from_unused", rc))
		return 0;
	EXPECT(rc == FK_EINUSE || rc == FK_EBUSY || rc == FK_EUNIQUE,
	       "from_unused([0x%" PRIx64 ", 0x%" PRIx64 ")) -> %s", s, e, E(rc));
	return 0;
}

/* Invalid arguments: an error and no state change. */
static int op_bad_args(struct worker *w)
{
	int rc;
	fk_segment l, r, o;
	fk_frame f;
	switch (sc_below(&w->rng, 8)) {
	case 0: { /* split at 0, at size, unaligned */
		int i = pick(w, M_SEG);
		if (i < 0)
			return 0;
		struct item *it = &w->items[i];
		fk_segment keep = it->s;
		uint64_t size = fk_segment_size(&it->s);
		uint64_t offs[3] = {0, size, FK_PAGE_SIZE / 2};
		uint64_t off = offs[sc_below(&w->rng, 3)];
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
		unsigned k = (unsigned)sc_below(&w->rng, 4);
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
		                          M0_BASE + sc_below(&w->rng, M_FRAMES) * FK_PAGE_SIZE,
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

/* Short-lived allocation from a hot-plug node (strict): races removal. */
static int op_hot_alloc(struct worker *w)
{
	unsigned k = (unsigned)sc_below(&w->rng, HOT_N);
	uint64_t n = 1 + sc_below(&w->rng, 4);
	fk_segment s;
	tl_init_fail_at = -1;
	tl_init_index = 0;
	unsigned flags = FK_ALLOC_NODE(2 + k) | FK_ALLOC_NODE_STRICT;
	struct sc_call call;
	sc_call_begin(&call);
	int rc = fk_alloc_segment(g.mem, n, &type_a, init_meta, type_ctx(&type_a), flags, &s);
	if (rc) {
		EXPECT(rc == FK_ENOMEM, "alloc_segment(hot node %u) -> %s", 2 + k, E(rc));
		if (rc == FK_ENOMEM)
			check_enomem(&call, n, flags, "hot_alloc");
		return 0;
	}
	EXPECT(s.start >= HOT_BASE(k) && s.end <= HOT_BASE(k) + HOT_FRAMES * FK_PAGE_SIZE,
	       "strict node %u allocation gave [0x%" PRIx64 ", 0x%" PRIx64 ")", 2 + k, s.start,
	       s.end);
	check_segment_meta(&s, &type_a, "hot_alloc");
	rc = fk_segment_drop(g.mem, &s);
	EXPECT(rc == 0, "hot drop -> %s", E(rc));
	return 1;
}

typedef int (*op_fn)(struct worker *);
static const op_fn op_table[NR_OPS] = {
    op_alloc_seg,  op_alloc_frame, op_split,     op_slice,    op_next,
    op_clone,      op_drop,        op_into_raw,  op_from_raw, op_from_in_use,
    op_publish,    op_race_drop,   op_view,      op_mail_put, op_mail_take,
    op_from_frame, op_unique,      op_unmanaged, op_bad_args, op_hot_alloc,
};

static unsigned weight_total;

static enum op choose(struct worker *w)
{
	/* Raw items get restored with the same odds as they were made. */
	if (pick(w, M_RAW) >= 0 && sc_chance(&w->rng, 0.15))
		return OP_FROM_RAW;
	unsigned r = (unsigned)sc_below(&w->rng, weight_total);
	for (int k = 0; k < NR_OPS; k++) {
		if (r < op_weight[k])
			return (enum op)k;
		r -= op_weight[k];
	}
	return OP_DROP;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	tl_id = w->id;
	tl_init_fail_at = -1;
	sc_fault_seed(g.seed * 1000003u + (uint64_t)w->id);
	int rc = fk_thread_enter(g.mem);
	EXPECT(rc == 0, "fk_thread_enter -> %s", E(rc));
	while (!atomic_load_explicit(&g.stop, memory_order_relaxed) && w->nops < g.ops_limit) {
		enum op k = choose(w);
		if (k == OP_HOT_ALLOC && !g.hotplug)
			k = OP_DROP;
		w->ops[k]++;
		w->ok[k] += (uint64_t)op_table[k](w);
		w->nops++;
		/* relaxed: a statistic for the progress line only */
		atomic_store_explicit(&w->nops_seen, w->nops, memory_order_relaxed);
	}
	while (w->n > 0) {
		item_release(g.mem, &w->items[w->n - 1]);
		w->n--;
	}
	fk_thread_leave(g.mem);
	atomic_fetch_add(&g.workers_done, 1);
	return NULL;
}

/* ---- Hot-plug thread ---- */

static struct fk_region_config hot_cfg(unsigned k)
{
	struct fk_region_config rc = {HOT_BASE(k), HOT_FRAMES, (int)(2 + k), 0};
	return rc;
}

static void hot_check_gone(unsigned k)
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

static void *hotplug_main(void *arg)
{
	uint64_t rng = sc_splitmix(g.seed ^ 0x407);
	(void)arg;
	tl_id = 1000;
	tl_init_fail_at = -1;
	sc_fault_seed(g.seed ^ 0x407);
	fk_thread_enter(g.mem);
	while (!atomic_load_explicit(&g.stop, memory_order_relaxed)) {
		unsigned k = (unsigned)sc_below(&rng, HOT_N);
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
			int raw = sc_chance(&rng, 0.5);
			uint64_t pa = f.paddr;
			if (raw) /* a raw reference pins the region just the same */
				fk_frame_into_raw(g.mem, &f, &pa);
			rc = fk_mem_remove_region(g.mem, cfg.base);
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
		rc = fk_mem_remove_region(g.mem, cfg.base);
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

/* ---- One run over one allocator ---- */

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

struct run_result {
	uint64_t ops, per_op[NR_OPS], ok_op[NR_OPS];
	double secs;
	int ok;
};

static int run_one(const char *alloc_name, struct run_result *res)
{
	memset(res, 0, sizeof(*res));
	const struct fk_allocator_ops *real = fk_allocator_find(alloc_name);
	if (!real)
		return 1; /* main checked the name */
	memset(&g.c, 0, sizeof(g.c));
	for (int k = 0; k < NPUB; k++)
		atomic_store(&g.published[k], 0);
	atomic_store(&g.stop, 0);
	atomic_store(&g.failed, 0);
	atomic_store(&g.nfailures, 0);
	atomic_store(&g.workers_done, 0);
	g.nmail = 0;
	memset(g.hot_present, 0, sizeof(g.hot_present));
	g.alloc_name = alloc_name;

	struct fk_region_config regs[3] = {
	    {M0_BASE, M_FRAMES, 0, 0},
	    {M1_BASE, M_FRAMES, 1, 0},
	    {U_BASE, U_FRAMES, 0, FK_REGION_UNMANAGED},
	};
	struct fk_mem_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	cfg.regions = regs;
	cfg.nr_regions = 3;
	cfg.nr_nodes = NR_NODES;
	cfg.raw_tracking = 1;
	cfg.allocator_ops = sc_wrap(real, g.faults);
	/* Every managed range the allocator may hold, for the FK_ENOMEM check. */
	sc_track_add(M0_BASE, M_FRAMES, 0);
	sc_track_add(M1_BASE, M_FRAMES, 1);
	for (unsigned k = 0; k < HOT_N; k++)
		sc_track_add(HOT_BASE(k), HOT_FRAMES, (int)(2 + k));
	cfg.alloc.lock = g.run_lock;
	fk_variant_apply(&cfg, g.run_variant);
	int rc = fk_mem_create(&cfg, &g.mem);
	if (rc) {
		fprintf(stderr, "fk_mem_create(%s) -> %s\n", alloc_name, E(rc));
		return 1;
	}
	atomic_store(&sc_fault_armed, g.faults > 0);

	struct worker *ws = calloc((size_t)g.threads, sizeof(*ws));
	double t0 = now_s();
	for (int i = 0; i < g.threads; i++) {
		ws[i].id = i;
		ws[i].rng = sc_splitmix(g.seed * 7919u + (uint64_t)i) | 1;
		pthread_create(&ws[i].th, NULL, worker_main, &ws[i]);
	}
	pthread_t hot;
	if (g.hotplug)
		pthread_create(&hot, NULL, hotplug_main, NULL);
	double next = t0 + g.progress;
	while (!atomic_load(&g.stop) && atomic_load(&g.workers_done) < g.threads &&
	       now_s() - t0 < g.seconds) {
		usleep(5000);
		if (g.progress > 0 && now_s() >= next) {
			uint64_t ops = 0;
			for (int i = 0; i < g.threads; i++)
				ops += atomic_load_explicit(&ws[i].nops_seen, memory_order_relaxed);
			double el = now_s() - t0;
			fprintf(stderr,
			        "progress: %s %.0f/%.0fs ops=%" PRIu64 " ops/s=%.0f errors=%u"
			        " enomem=%" PRIu64 " unjustified=%" PRIu64 "\n",
			        alloc_name, el, g.seconds, ops, ops / el, atomic_load(&g.nfailures),
			        atomic_load(&g.c.enomem), atomic_load(&sc_enomem.flagged));
			next += g.progress;
		}
	}
	atomic_store(&g.stop, 1);
	for (int i = 0; i < g.threads; i++)
		pthread_join(ws[i].th, NULL);
	if (g.hotplug)
		pthread_join(hot, NULL);
	res->secs = now_s() - t0;
	atomic_store(&sc_fault_armed, 0);

	/* Quiescent: drop what is left in the mailbox, remove hot regions. */
	fk_thread_enter(g.mem);
	for (int i = 0; i < g.nmail; i++)
		item_release(g.mem, &g.mail[i]);
	g.nmail = 0;
	fk_mem_alloc_drain(g.mem);
	for (unsigned k = 0; k < HOT_N; k++) {
		if (!g.hot_present[k])
			continue;
		rc = fk_mem_remove_region(g.mem, HOT_BASE(k));
		EXPECT(rc == 0, "remove_region(hot %u) when idle -> %s", k, E(rc));
		if (rc == 0) {
			CNT(hot_remove);
			g.hot_present[k] = 0;
			hot_check_gone(k);
		}
	}

	/* Conservation. */
	struct sc_region sregs[3 + HOT_N];
	size_t nr = 0;
	for (int i = 0; i < 3; i++)
		sregs[nr++] =
		    (struct sc_region){regs[i].base, regs[i].nframes, regs[i].node, regs[i].flags};
	for (unsigned k = 0; k < HOT_N; k++)
		if (g.hot_present[k]) /* removal failed above: still check its slots */
			sregs[nr++] = (struct sc_region){HOT_BASE(k), HOT_FRAMES, (int)(2 + k), 0};
	int bad = sc_check_conservation(g.mem, sregs, nr, stderr);
	bad += sc_check_wrap_balance(stderr);
	uint64_t im = atomic_load(&g.c.init_ok_managed), dm = atomic_load(&g.c.drop_managed);
	uint64_t iu = atomic_load(&g.c.init_ok_unmanaged), du = atomic_load(&g.c.drop_unmanaged);
	if (im != dm || iu != du) {
		bad++;
		fprintf(stderr,
		        "CONSERVATION: typed frames initialised/dropped: managed %" PRIu64
		        "/%" PRIu64 ", unmanaged %" PRIu64 "/%" PRIu64 "\n",
		        im, dm, iu, du);
	}
	fk_thread_leave(g.mem);
	struct fk_leak_report lr;
	rc = fk_mem_destroy(g.mem, &lr);
	if (rc) {
		bad++;
		fprintf(stderr,
		        "CONSERVATION: fk_mem_destroy -> %s (referenced=%" PRIu64 " raw=%" PRIu64
		        ")\n",
		        E(rc), lr.frames_referenced, lr.frames_raw);
	}
	g.mem = NULL;

	for (int i = 0; i < g.threads; i++) {
		res->ops += ws[i].nops;
		for (int k = 0; k < NR_OPS; k++) {
			res->per_op[k] += ws[i].ops[k];
			res->ok_op[k] += ws[i].ok[k];
		}
	}
	free(ws);
	res->ok = !bad && !atomic_load(&g.failed) && atomic_load(&sc_enomem.flagged) == 0;

	printf("SUMMARY allocator=%s lock=%s threads=%d seconds=%.2f ops=%" PRIu64 " seed=%" PRIu64
	       " faults=%g variant=%s",
	       alloc_name, g.run_lock, g.threads, res->secs, res->ops, g.seed, g.faults,
	       g.run_variant->name);
	for (int k = 0; k < NR_OPS; k++)
		printf(" %s=%" PRIu64 "/%" PRIu64, op_name[k], res->ok_op[k], res->per_op[k]);
	printf(" | from_in_use: same=%" PRIu64 " other=%" PRIu64 " busy=%" PRIu64 " unused=%" PRIu64
	       " unique=%" PRIu64 " oob=%" PRIu64,
	       atomic_load(&g.c.fiu_ok_same), atomic_load(&g.c.fiu_ok_other),
	       atomic_load(&g.c.fiu_busy), atomic_load(&g.c.fiu_unused),
	       atomic_load(&g.c.fiu_unique), atomic_load(&g.c.fiu_oob));
	printf(" | hotplug: add=%" PRIu64 " add_fail=%" PRIu64 " remove=%" PRIu64
	       " refused_held=%" PRIu64 " refused_busy=%" PRIu64,
	       atomic_load(&g.c.hot_add), atomic_load(&g.c.hot_add_fail),
	       atomic_load(&g.c.hot_remove), atomic_load(&g.c.hot_refused_held),
	       atomic_load(&g.c.hot_refused_busy));
	printf(" | enomem=%" PRIu64 " (injected=%" PRIu64 " no_free_block=%" PRIu64
	       " unjustified=%" PRIu64 ") injected_alloc=%" PRIu64 " injected_add=%" PRIu64
	       " init_faults=%" PRIu64 " mail=%" PRIu64 " frames_out=%" PRIu64
	       " frames_back=%" PRIu64,
	       atomic_load(&g.c.enomem), atomic_load(&sc_enomem.injected),
	       atomic_load(&sc_enomem.no_block), atomic_load(&sc_enomem.flagged),
	       atomic_load(&sc_wstats.injected_alloc),
	       atomic_load(&sc_wstats.injected_add), atomic_load(&g.c.init_faults),
	       atomic_load(&g.c.mail_moves), atomic_load(&sc_wstats.alloc_frames),
	       atomic_load(&sc_wstats.dealloc_frames));
	printf(" conservation=%s\n", res->ok ? "OK" : "FAILED");
	fflush(stdout);
	return res->ok ? 0 : 1;
}

static void usage(FILE *out)
{
	fprintf(out,
	        "usage: framekit_stress [options]\n"
	        "Randomised multi-threaded workload over the public API with hot-plug,\n"
	        "ending with a conservation check; every FK_ENOMEM must be justified.\n"
	        "  --allocator NAME   one allocator, or 'all' (default; see --list)\n"
	        "  --threads N        worker threads (default 4)\n"
	        "  --seconds S        run time per allocator (default 2)\n"
	        "  --ops N            operations per worker at most\n"
	        "  --seed X           seed (default: time and pid; printed first)\n"
	        "  --faults P         inject allocator/init failures with probability P\n"
	        "  --lock KIND        buddy lock: ticket, mcs or mutex (default rotates)\n"
	        "  --variant NAME     core variant, e.g. fast, checked+rwlock (default\n"
	        "                     rotates; a bad name lists them)\n"
	        "  --no-hotplug       no hot-plug thread\n"
	        "  --keep-going       run to the end after a failure, counting them all\n"
	        "  --progress[=S]     progress line every S s (default 5) on stderr;\n"
	        "                     on by default when stderr is a terminal\n"
	        "  --no-progress      never print progress lines\n"
	        "  --list             print the allocator names and exit\n"
	        "  --help             this text\n"
	        "Exit: 0 all runs OK, 1 a run failed, 2 bad usage.\n");
}

/* One clear line for a bad argument, exit 2. */
static int bad_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int bad_usage(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("framekit_stress: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputs(" (try --help)\n", stderr);
	va_end(ap);
	return 2;
}

static int parse_u64(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	if (!s || !*s || *s == '-')
		return 0;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno || *end)
		return 0;
	*out = v;
	return 1;
}

static int parse_double(const char *s, double *out)
{
	char *end;
	errno = 0;
	if (!s || !*s)
		return 0;
	double v = strtod(s, &end);
	if (errno || *end || !isfinite(v))
		return 0;
	*out = v;
	return 1;
}

/* The allocator names, space separated, plus "all". */
static void list_names(char *buf, size_t len)
{
	const char *nm[16];
	size_t k = fk_allocator_names(nm, 16), at = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < k && i < 16 && at < len; i++)
		at += (size_t)snprintf(buf + at, len - at, "%s ", nm[i]);
	if (at < len)
		snprintf(buf + at, len - at, "all");
}

int main(int argc, char **argv)
{
	g.threads = 4;
	g.seconds = 2;
	g.ops_limit = UINT64_MAX;
	g.seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 20);
	g.hotplug = 1;
	g.progress = isatty(STDERR_FILENO) ? 5 : 0;
	const char *alloc = "all";
	static const struct option lo[] = {
	    {"threads", required_argument, 0, 't'},
	    {"seconds", required_argument, 0, 's'},
	    {"seed", required_argument, 0, 'x'},
	    {"allocator", required_argument, 0, 'a'},
	    {"ops", required_argument, 0, 'o'},
	    {"faults", required_argument, 0, 'f'},
	    {"no-hotplug", no_argument, 0, 'H'},
	    {"lock", required_argument, 0, 'l'},
	    {"variant", required_argument, 0, 'V'},
	    {"progress", optional_argument, 0, 'P'},
	    {"no-progress", no_argument, 0, 'Q'},
	    {"keep-going", no_argument, 0, 'K'},
	    {"list", no_argument, 0, 'L'},
	    {"help", no_argument, 0, 'h'},
	    {0, 0, 0, 0},
	};
	int c;
	uint64_t u;
	double d;
	char names[256];
	list_names(names, sizeof(names));
	opterr = 0; /* our own one-line messages */
	while ((c = getopt_long(argc, argv, ":t:s:x:a:o:f:l:LHh", lo, NULL)) != -1) {
		switch (c) {
		case 't':
			if (!parse_u64(optarg, &u) || u < 1 || u > 128)
				return bad_usage("--threads wants 1..128, got '%s'", optarg);
			g.threads = (int)u;
			break;
		case 's':
			if (!parse_double(optarg, &d) || d <= 0)
				return bad_usage("--seconds wants a positive number, got '%s'", optarg);
			g.seconds = d;
			break;
		case 'x':
			if (!parse_u64(optarg, &g.seed))
				return bad_usage("--seed wants an unsigned integer, got '%s'", optarg);
			break;
		case 'a':
			alloc = optarg;
			if (strcmp(alloc, "all") != 0 && !fk_allocator_find(alloc))
				return bad_usage("unknown allocator '%s'; valid: %s", alloc, names);
			break;
		case 'o':
			if (!parse_u64(optarg, &g.ops_limit) || g.ops_limit == 0)
				return bad_usage("--ops wants a positive integer, got '%s'", optarg);
			break;
		case 'f':
			if (!parse_double(optarg, &g.faults) || g.faults < 0 || g.faults > 1)
				return bad_usage("--faults wants a probability 0..1, got '%s'", optarg);
			break;
		case 'l':
			if (strcmp(optarg, "ticket") && strcmp(optarg, "mcs") && strcmp(optarg, "mutex"))
				return bad_usage("unknown lock '%s'; valid: ticket mcs mutex", optarg);
			g.lock = optarg;
			break;
		case 'V':
			for (size_t v = 0; v < FK_NR_VARIANTS; v++)
				if (strcmp(optarg, fk_variants[v].name) == 0)
					g.variant = &fk_variants[v];
			if (!g.variant) {
				char vn[128] = "";
				for (size_t v = 0; v < FK_NR_VARIANTS; v++)
					snprintf(vn + strlen(vn), sizeof(vn) - strlen(vn), " %s",
					         fk_variants[v].name);
				return bad_usage("unknown variant '%s'; valid:%s", optarg, vn);
			}
			break;
		case 'P':
			g.progress = 5;
			if (optarg && (!parse_double(optarg, &g.progress) || g.progress <= 0))
				return bad_usage("--progress wants seconds > 0, got '%s'", optarg);
			break;
		case 'Q':
			g.progress = 0;
			break;
		case 'K':
			g.keep_going = 1;
			break;
		case 'L': {
			const char *nm[16];
			size_t k = fk_allocator_names(nm, 16);
			for (size_t i = 0; i < k && i < 16; i++)
				printf("%s\n", nm[i]);
			return 0;
		}
		case 'H':
			g.hotplug = 0;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case ':':
			return bad_usage("option '%s' needs a value", argv[optind - 1]);
		default:
			if (optopt)
				return bad_usage("unknown option '-%c'", optopt);
			return bad_usage("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return bad_usage("unexpected argument '%s'", argv[optind]);
	/* The seed comes first so that any failure can be replayed. */
	printf("seed=%" PRIu64 "\n", g.seed);
	fflush(stdout);
	pthread_mutex_init(&g.mail_lock, NULL);
	for (int k = 0; k < NR_OPS; k++)
		weight_total += op_weight[k];

	const char *run_names[16];
	size_t n = 0;
	if (strcmp(alloc, "all") == 0) {
		n = fk_allocator_names(run_names, 16);
		if (n > 16)
			n = 16;
	} else {
		run_names[n++] = alloc;
	}
	int failed = 0;
	uint64_t total_ops = 0, total_enomem = 0, total_flagged = 0;
	double total_s = 0;
	for (size_t i = 0; i < n; i++) {
		static const char *const locks[3] = {"ticket", "mcs", "mutex"};
		struct run_result r;
		g.run_lock = g.lock ? g.lock : locks[(g.seed + i) % 3];
		g.run_variant = g.variant ? g.variant : &fk_variants[(g.seed + i) % FK_NR_VARIANTS];
		failed |= run_one(run_names[i], &r);
		total_ops += r.ops;
		total_s += r.secs;
		total_enomem += atomic_load(&g.c.enomem);
		total_flagged += atomic_load(&sc_enomem.flagged);
	}
	printf("TOTAL allocators=%zu threads=%d seconds=%.2f ops=%" PRIu64 " seed=%" PRIu64
	       " enomem=%" PRIu64 " unjustified_enomem=%" PRIu64 " result=%s\n",
	       n, g.threads, total_s, total_ops, g.seed, total_enomem, total_flagged,
	       failed ? "FAILED" : "OK");
	return failed ? 1 : 0;
}
