/* SPDX-License-Identifier: MIT */
/*
 * framekit_stress internals shared by its files (file map: README.md):
 * the simulated memory layout, the metadata the workload writes, the
 * operation kinds, the handles a worker holds, the run state `g`, and the
 * failure macros every check uses.
 */
#ifndef FK_STRESS_H
#define FK_STRESS_H

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>

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

/* The two metadata types (stress_checks.c); their ctx is the live canary. */
extern const struct fk_meta_type type_a, type_b;

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
	OP_HUGE_SPLIT, /* --workload huge only (stress_ops_huge.c) */
	OP_PART_DROP,
	OP_DRAIN,
	OP_SMALL_FRAME,
	NR_OPS
};
extern const char *const op_name[NR_OPS]; /* stress_workload.c */

/* ---- Workloads (--workload) ---- */

enum { WL_MIXED, WL_HUGE };
#define HUGE_FRAMES 1024ull /* per managed region in the huge workload */

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

struct stress_state {
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
	int workload;          /* WL_MIXED or WL_HUGE (--workload) */
	uint64_t m_frames;     /* frames of each managed region M0, M1 */
	uint64_t sched_fuzz;   /* --sched-fuzz seed; 0 = off */
	FILE *json;            /* --json: one JSON object per run, or NULL */
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
};
extern struct stress_state g;

#define CNT(x) atomic_fetch_add_explicit(&g.c.x, 1, memory_order_relaxed)

/* A failed check (stress_run.c): prints the first 20, marks the run failed
 * and stops it unless --keep-going. */
void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define EXPECT(cond, ...)                                                                          \
	do {                                                                                       \
		if (!(cond))                                                                       \
			fail(__VA_ARGS__);                                                         \
	} while (0)

static inline const char *E(int rc)
{
	return fk_strerror_name(rc);
}

static inline unsigned order_ceil(uint64_t n)
{
	return n <= 1 ? 0u : (unsigned)(64 - __builtin_clzll(n - 1));
}

static inline int in_unmanaged(uint64_t pa)
{
	return pa >= U_BASE && pa < U_BASE + U_FRAMES * FK_PAGE_SIZE;
}

/* Per-thread state of the metadata callbacks (stress_checks.c). */
extern _Thread_local int tl_init_index;   /* frames initialised in the current call */
extern _Thread_local int tl_init_fail_at; /* -1 = no injected failure */
extern _Thread_local int tl_init_failed;
extern _Thread_local uint64_t tl_on_drop;
extern _Thread_local int tl_id;

/* ---- stress_checks.c: metadata callbacks and the checks every op makes ---- */

int init_meta(void *meta, uint64_t paddr, void *ctx);
void check_meta(const struct fk_meta_type *t, const void *mp, uint64_t pa, const char *what);
void check_segment_meta(const fk_segment *s, const struct fk_meta_type *ftype, const char *what);
int arm_init_fault(struct worker *w, const struct fk_meta_type *t, uint64_t nframes);
int check_claim_failure(const char *what, int rc);
void check_enomem(const struct sc_call *call, uint64_t n, unsigned flags, const char *what);

/* ---- stress_items.c: the handles a worker holds ---- */

#define M_FRAME  (1u << IT_FRAME)
#define M_SEG    (1u << IT_SEG)
#define M_UNIQUE (1u << IT_UNIQUE)
#define M_RAW    ((1u << IT_RAW_FRAME) | (1u << IT_RAW_SEG))
#define M_ANY    0x1fu

void item_release(fk_mem *mem, struct item *it);
struct item *push(struct worker *w);
void push_seg(struct worker *w, fk_segment s, const struct fk_meta_type *htype,
              const struct fk_meta_type *ftype);
void push_frame(struct worker *w, fk_frame f, const struct fk_meta_type *ftype);
void remove_at(struct worker *w, int i);
int pick(struct worker *w, unsigned mask);
const struct fk_meta_type *rand_type(struct worker *w);
void *type_ctx(const struct fk_meta_type *t);

/* ---- Operations: 1 if the operation did something, 0 if it had nothing
 * to work on or failed (a failed check has called fail()) ---- */

/* stress_ops_alloc.c: take frames from the allocator or by address */
int op_alloc_seg(struct worker *w);
int op_alloc_frame(struct worker *w);
int op_unmanaged(struct worker *w);
int op_hot_alloc(struct worker *w);
/* stress_ops_handle.c: work on a handle the worker holds */
int op_split(struct worker *w);
int op_slice(struct worker *w);
int op_next(struct worker *w);
int op_clone(struct worker *w);
int op_drop(struct worker *w);
int op_into_raw(struct worker *w);
int op_from_raw(struct worker *w);
int op_view(struct worker *w);
int op_from_frame(struct worker *w);
int op_unique(struct worker *w);
/* stress_ops_share.c: frames that cross threads */
int op_from_in_use(struct worker *w);
int op_publish(struct worker *w);
int op_race_drop(struct worker *w);
int op_mail_put(struct worker *w);
int op_mail_take(struct worker *w);
/* stress_ops_bad.c: invalid arguments */
int op_bad_args(struct worker *w);
/* stress_ops_huge.c: the huge workload */
int op_huge_split(struct worker *w);
int op_part_drop(struct worker *w);
int op_drain(struct worker *w);
int op_small_frame(struct worker *w);

/* ---- stress_workload.c: weighted choice of operations, worker loop ---- */

void workload_init(void);
void *worker_main(void *arg);

/* ---- stress_hotplug.c: the hot-plug thread ---- */

void hot_check_gone(unsigned k);
void *hotplug_main(void *arg);

/* ---- stress_run.c: one run over one allocator ---- */

struct run_result {
	uint64_t ops, per_op[NR_OPS], ok_op[NR_OPS];
	double secs;
	int ok;
};

int run_one(const char *alloc_name, struct run_result *res);

#endif /* FK_STRESS_H */
