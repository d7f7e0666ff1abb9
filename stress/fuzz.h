/* SPDX-License-Identifier: MIT */
/*
 * fk_fuzz_api internals shared by its files (file map: README.md): the
 * layout of the simulated memory, the model of every frame and the handle
 * slots (z), and the declarations of the model, operand and step files.
 */
#ifndef FK_FUZZ_H
#define FK_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include <framekit/framekit.h>

/* ---- Layout ---- */

#define M_BASE 0x100000ull /* managed, node 0 */
#define M_N    32
#define U_BASE 0x200000ull /* unmanaged */
#define U_N    16
#define H_BASE 0x400000ull /* managed, node 1, hot-plugged */
#define H_N    8
#define NFR    (M_N + U_N + H_N)
#define PG     FK_PAGE_SIZE

#define B_BASE 0x800000ull /* mem2's managed region (a second context) */
#define B_N    8

#define NF 8
#define NS 8
#define NQ 4

/* ---- Types and callbacks (fuzz_model.c) ---- */

extern const struct fk_meta_type type_a, type_b, type_big;
extern uint64_t fz_on_drops;
extern int fz_init_fail_at, fz_init_calls;
#define INIT_ERR FK_ENOMEM
int fz_init(void *meta, uint64_t paddr, void *ctx);

/* ---- Model ---- */

struct mframe {
	uint64_t cnt; /* references: handles + raw (0 = UNUSED unless unique) */
	uint64_t raw;
	int unique;
	const struct fk_meta_type *type; /* slot type while in use */
};

struct fuzz_state {
	fk_mem *mem;
	int h_present;
	int h_node; /* node of the hot region while present */
	struct mframe fr[NFR];
	fk_frame f[NF];
	fk_segment s[NS];
	fk_unique_frame q[NQ];
	fk_frame stale_f;
	fk_segment stale_s;
	fk_unique_frame stale_q;
	int has_stale_f, has_stale_s, has_stale_q;
	/* The stale copy points into a hot region removed since (maybe re-added):
	 * every use must give FK_EUNUSED whatever the frames are now. */
	int gone_f, gone_s, gone_q;
	fk_mem *mem2;  /* a second context: its handles are foreign to mem */
	int cb_query;  /* callbacks call back into the library (bit 1: hot-plug too) */
	const uint8_t *in;
	size_t len, pos;
	int step;
	const char *alloc_name;
};
extern struct fuzz_state z;

/* A model mismatch: print it with the step and abort (a libFuzzer crash). */
void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#define E(rc) fk_strerror_name(rc)

static inline uint8_t byte(void)
{
	return z.pos < z.len ? z.in[z.pos++] : 0;
}

/* Model index of the frame at pa, or -1 (unaligned, outside, absent region). */
static inline int gi(uint64_t pa)
{
	if (pa & (PG - 1))
		return -1;
	if (pa >= M_BASE && pa < M_BASE + M_N * PG)
		return (int)((pa - M_BASE) / PG);
	if (pa >= U_BASE && pa < U_BASE + U_N * PG)
		return M_N + (int)((pa - U_BASE) / PG);
	if (z.h_present && pa >= H_BASE && pa < H_BASE + H_N * PG)
		return M_N + U_N + (int)((pa - H_BASE) / PG);
	return -1;
}

static inline int gi_managed(int i)
{
	return i < M_N || i >= M_N + U_N;
}

static inline int fvalid(int i)
{
	return z.f[i].region != NULL;
}
static inline int svalid(int i)
{
	return z.s[i].region != NULL;
}
static inline int qvalid(int i)
{
	return z.q[i].region != NULL;
}

/* ---- fuzz_model.c: the model, its transitions and its checks ---- */

/* Is [s, e) inside one present region? */
int range_in_region(uint64_t s, uint64_t e);
/* Every slot, the allocator's counts and the region totals equal the model. */
void verify(void);
/* One more reference on every frame of [s, e) (claim: set the slot type). */
void hold(uint64_t s, uint64_t e, const struct fk_meta_type *t, int claim);
void release(uint64_t s, uint64_t e);
/* Drop what a handle slot holds (keeping a stale copy) and update the model. */
void drop_f(int i);
void drop_s(int i);
void drop_q(int i);
/* Is a free 2^k-aligned block of 2^k frames left in a region the request
 * (node, strict) may use? */
int free_block_exists(uint64_t n, int node, int strict);
/* Drop everything, restore every raw reference, check the leak report. */
void teardown_check(void);

/* ---- fuzz_operands.c: operands from the input, expected errors ---- */

uint64_t sel_paddr(void);
void sel_range(uint64_t *s, uint64_t *e);
const struct fk_meta_type *sel_type(void);
uint64_t sel_offset(uint64_t size);
int arm_fail(const struct fk_meta_type *t, uint64_t n);

struct eset {
	int n;
	int e[8];
};

void add(struct eset *s, int e);
int in_set(const struct eset *s, int rc);
/* Add the errors a range [s, e) earns by itself (unaligned, empty or
 * reversed, not inside one present region); 1 when it lies in one region. */
int add_range_errors(struct eset *es, uint64_t s, uint64_t e);
void expect_in(const char *what, const struct eset *s, int rc);
void expect_rc(const char *what, int want, int rc);

/* ---- Steps (one call each from LLVMFuzzerTestOneInput) ---- */

/* fuzz_steps_claim.c: take frames (allocate, from_unused, from_in_use) */
/* A frame by address into a frame slot: the model index, or -1 when the
 * paddr was unaligned or outside (the error already checked). */
int frame_by_paddr(int (*fn)(fk_mem *, uint64_t, fk_frame *), const char *unaligned,
                   const char *outside, int *rc);
void step_alloc(int single);
void step_from_unused(int unique);
void step_segment_from_unused(void);
void step_from_in_use(void);
/* fuzz_steps_handle.c: work on the handle slots */
void step_frame_clone(void);
void step_frame_drop(void);
void step_segment_drop(void);
void step_segment_clone(void);
void step_split(void);
void step_slice(void);
void step_next(void);
void step_into_raw(void);
void step_from_raw(void);
void step_views(void);
void step_from_frame(void);
void step_unique(void);
/* fuzz_steps_misuse.c: foreign, stale and empty handles; hot-plug */
void step_foreign(void);
void step_stale(void);
void step_hotplug(void);
void step_empty_handles(void);

#endif /* FK_FUZZ_H */
