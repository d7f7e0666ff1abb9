/*
 * fk_fuzz_api: libFuzzer harness for the public API (clang,
 * -fsanitize=fuzzer,address,undefined; see scripts/run-fuzz.sh).
 *
 * The input is a program: byte 0 picks the allocator, then each step is an
 * opcode plus operand bytes. The harness drives frames, segments, unique
 * frames, raw references and hot-plug with hostile operands (random,
 * unaligned and out-of-bounds paddrs, forged raw ranges, overflowing slice
 * bounds, wrong types, stale handle copies, empty handles) and keeps a
 * model of every frame: references held (handles + raw), raw references,
 * UNIQUE, metadata type. It also hands handles of a second context to the
 * first and back (FK_EINVAL, nothing changes), keeps stale copies of
 * handles into the hot region across its removal and re-addition
 * (FK_EUNUSED, no freed memory touched: ASan), and lets the init/on_drop
 * callbacks call back into the library (queries answer as the model says;
 * hot-plug from a callback is refused with FK_EBUSY). After every step it
 * checks that
 *   - an invalid input got an error from the set the model predicts and a
 *     valid one succeeded,
 *   - every slot's refcount and raw count equal the model,
 *   - the allocator's free count equals the managed frames the model holds
 *     free, and an FK_ENOMEM leaves no aligned free block of the size asked
 *     for in an allowed region (the harness is single-threaded, so that is
 *     exact).
 * At the end everything is dropped and the leak report must be empty.
 * Any mismatch aborts (a libFuzzer crash).
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <framekit/framekit.h>

#include "fk_variants.h"

/* ---- Layout ---- */

#define M_BASE 0x100000ull /* managed, node 0 */
#define M_N    32
#define U_BASE 0x200000ull /* unmanaged */
#define U_N    16
#define H_BASE 0x400000ull /* managed, node 1, hot-plugged */
#define H_N    8
#define NFR    (M_N + U_N + H_N)
#define PG     FK_PAGE_SIZE

#define NF 8
#define NS 8
#define NQ 4

/* ---- Types ---- */

static uint64_t fz_on_drops;
static void fz_on_drop(void *meta, uint64_t paddr, void *ctx);
static const struct fk_meta_type type_a = {"fz-a", 16, fz_on_drop, NULL, 0};
static const struct fk_meta_type type_b = {"fz-b", 8, fz_on_drop, NULL, 1};
static const struct fk_meta_type type_big = {"fz-big", FK_META_MAX_SIZE + 1, NULL, NULL, 0};

static void fz_callback_queries(const char *where);

static void fz_on_drop(void *meta, uint64_t paddr, void *ctx)
{
	(void)ctx;
	fz_callback_queries("on_drop");
	uint64_t *m = meta;
	if (m[0] != paddr) {
		fprintf(stderr, "FUZZ: on_drop(0x%" PRIx64 ") sees metadata 0x%" PRIx64 "\n", paddr,
		        m[0]);
		abort();
	}
	m[0] = 0xdead;
	fz_on_drops++;
}

static int fz_init_fail_at = -1, fz_init_calls;
#define INIT_ERR FK_ENOMEM

static int fz_init(void *meta, uint64_t paddr, void *ctx)
{
	(void)ctx;
	fz_callback_queries("init");
	if (fz_init_calls++ == fz_init_fail_at)
		return INIT_ERR;
	*(uint64_t *)meta = paddr;
	return 0;
}

/* ---- Model ---- */

struct mframe {
	uint64_t cnt; /* references: handles + raw (0 = UNUSED unless unique) */
	uint64_t raw;
	int unique;
	const struct fk_meta_type *type; /* slot type while in use */
};

static struct {
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
} z;

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "FUZZ MISMATCH [%s, step %d]: ", z.alloc_name, z.step);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	abort();
}

#define E(rc) fk_strerror_name(rc)

static uint8_t byte(void)
{
	return z.pos < z.len ? z.in[z.pos++] : 0;
}

/* Model index of the frame at pa, or -1 (unaligned, outside, absent region). */
static int gi(uint64_t pa)
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

static int gi_managed(int i)
{
	return i < M_N || i >= M_N + U_N;
}

/* Is [s, e) inside one present region? */
static int range_in_region(uint64_t s, uint64_t e)
{
	if (s >= e || (s | e) & (PG - 1))
		return 0;
	int a = gi(s), b = gi(e - PG);
	if (a < 0 || b < 0)
		return 0;
	int ra = a < M_N ? 0 : a < M_N + U_N ? 1 : 2;
	int rb = b < M_N ? 0 : b < M_N + U_N ? 1 : 2;
	return ra == rb;
}

static uint64_t expected_rc(const struct mframe *m)
{
	return m->unique ? FK_REF_UNIQUE : m->cnt == 0 ? FK_REF_UNUSED : m->cnt;
}

static void verify(void)
{
	uint64_t held_managed = 0, managed = M_N + (z.h_present ? H_N : 0);
	uint64_t held_node[2] = {0, 0};
	for (int i = 0; i < NFR; i++) {
		uint64_t pa = i < M_N         ? M_BASE + (uint64_t)i * PG
		              : i < M_N + U_N ? U_BASE + (uint64_t)(i - M_N) * PG
		                              : H_BASE + (uint64_t)(i - M_N - U_N) * PG;
		uint64_t rc = 0, raw = 0;
		int e1 = fk_mem_refcount_at(z.mem, pa, &rc);
		int e2 = fk_mem_raw_count_at(z.mem, pa, &raw);
		if (i >= M_N + U_N && !z.h_present) {
			if (e1 != FK_EOUTOFBOUND || e2 != FK_EOUTOFBOUND)
				die("refcount_at/raw_count_at on removed region -> %s/%s", E(e1),
				    E(e2));
			continue;
		}
		const struct mframe *m = &z.fr[i];
		if (e1 || e2 || rc != expected_rc(m) || raw != m->raw)
			die("frame 0x%" PRIx64 ": refcount %" PRIu64 " raw %" PRIu64
			    " (%s/%s), model %" PRIu64 " raw %" PRIu64 " unique %d",
			    pa, rc, raw, E(e1), E(e2), expected_rc(m), m->raw, m->unique);
		if (gi_managed(i) && (m->cnt || m->unique)) {
			held_managed++;
			held_node[i < M_N ? 0 : z.h_node]++;
		}
	}
	if (fk_mem_managed_frames(z.mem) != managed)
		die("managed frames %" PRIu64 ", model %" PRIu64, fk_mem_managed_frames(z.mem),
		    managed);
	struct fk_alloc_stats st;
	int rc = fk_mem_alloc_stats(z.mem, -1, &st);
	if (rc || st.total_frames != managed || st.free_frames != managed - held_managed)
		die("allocator stats (%s): free %" PRIu64 " total %" PRIu64 ", model free %" PRIu64
		    " total %" PRIu64,
		    E(rc), st.free_frames, st.total_frames, managed - held_managed, managed);
	for (int n = 0; n < 2; n++) {
		uint64_t total = (n == 0 ? M_N : 0) + (z.h_present && z.h_node == n ? H_N : 0);
		rc = fk_mem_alloc_stats(z.mem, n, &st);
		if (rc || st.total_frames != total || st.free_frames != total - held_node[n])
			die("allocator stats node %d (%s): free %" PRIu64 " total %" PRIu64
			    ", model free %" PRIu64 " total %" PRIu64,
			    n, E(rc), st.free_frames, st.total_frames, total - held_node[n], total);
	}
}

/* ---- Model transitions ---- */

static void hold(uint64_t s, uint64_t e, const struct fk_meta_type *t, int claim)
{
	for (uint64_t p = s; p < e; p += PG) {
		struct mframe *m = &z.fr[gi(p)];
		if (claim)
			m->type = t ? t : &fk_meta_untyped;
		m->cnt++;
	}
}

static void release(uint64_t s, uint64_t e)
{
	for (uint64_t p = s; p < e; p += PG) {
		struct mframe *m = &z.fr[gi(p)];
		if (m->cnt == 0)
			die("model: release of unheld frame 0x%" PRIx64, p);
		if (--m->cnt == 0)
			m->type = NULL;
	}
}

/* ---- Operand selectors ---- */

static uint64_t sel_paddr(void)
{
	uint8_t b = byte(), i = byte();
	switch (b & 7) {
	case 0:
	case 1:
	case 2:
		return M_BASE + (uint64_t)(i % M_N) * PG;
	case 3:
		return U_BASE + (uint64_t)(i % U_N) * PG;
	case 4:
		return H_BASE + (uint64_t)(i % H_N) * PG;
	case 5:
		return M_BASE + (uint64_t)(i % M_N) * PG + 1 + (uint64_t)(b >> 3) * 97;
	case 6: {
		static const uint64_t oob[8] = {0,
		                                PG,
		                                M_BASE - PG,
		                                M_BASE + M_N * PG,
		                                U_BASE + U_N * PG,
		                                H_BASE + H_N * PG,
		                                UINT64_MAX & ~(PG - 1),
		                                (UINT64_MAX >> 1) & ~(PG - 1)};
		return oob[i & 7];
	}
	default: {
		static const uint64_t edge[4] = {M_BASE + (M_N - 1) * PG, U_BASE,
		                                 U_BASE + (U_N - 1) * PG, H_BASE};
		return edge[i & 3];
	}
	}
}

/* A range: mostly start + n frames, sometimes a forged end. */
static void sel_range(uint64_t *s, uint64_t *e)
{
	*s = sel_paddr();
	uint8_t b = byte();
	if (b < 200)
		*e = *s + (uint64_t)(b % 12) * PG;
	else if (b < 230)
		*e = sel_paddr();
	else
		*e = *s + (uint64_t)(b % 12) * PG + 7; /* unaligned end */
}

static const struct fk_meta_type *sel_type(void)
{
	switch (byte() % 6) {
	case 0:
		return NULL;
	case 1:
	case 2:
		return &type_a;
	case 3:
		return &type_b;
	case 4:
		return &fk_meta_untyped;
	default:
		return &type_big;
	}
}

static uint64_t sel_offset(uint64_t size)
{
	uint8_t b = byte();
	switch (b % 8) {
	case 0:
		return 0;
	case 1:
		return size;
	case 2:
		return size + PG;
	case 3:
		return (uint64_t)(b >> 3) * 13 + 1; /* unaligned */
	case 4:
		return UINT64_MAX & ~(PG - 1);
	default:
		return (uint64_t)(b >> 3) % (size / PG + 1) * PG;
	}
}

/* Arm an init failure for the next claim of n frames. */
static int arm_fail(const struct fk_meta_type *t, uint64_t n)
{
	fz_init_calls = 0;
	fz_init_fail_at = -1;
	uint8_t b = byte();
	/* Only types with on_drop, so the rollback's on_drop count can be checked. */
	if ((t == &type_a || t == &type_b) && n && (b & 3) == 0) {
		fz_init_fail_at = (int)((b >> 2) % n);
		return 1;
	}
	return 0;
}

/* ---- Error sets ---- */

struct eset {
	int n;
	int e[8];
};

static void add(struct eset *s, int e)
{
	for (int i = 0; i < s->n; i++)
		if (s->e[i] == e)
			return;
	s->e[s->n++] = e;
}

static int in_set(const struct eset *s, int rc)
{
	for (int i = 0; i < s->n; i++)
		if (s->e[i] == rc)
			return 1;
	return 0;
}

static void expect_in(const char *what, const struct eset *s, int rc)
{
	if (!in_set(s, rc)) {
		char buf[160] = "";
		for (int i = 0; i < s->n; i++) {
			strcat(buf, E(s->e[i]));
			strcat(buf, " ");
		}
		die("%s -> %s, expected one of { %s}", what, E(rc), buf);
	}
}

static void expect_rc(const char *what, int want, int rc)
{
	if (rc != want)
		die("%s -> %s, expected %s", what, E(rc), E(want));
}

/* ---- Handle slots ---- */

static int fvalid(int i)
{
	return z.f[i].region != NULL;
}
static int svalid(int i)
{
	return z.s[i].region != NULL;
}
static int qvalid(int i)
{
	return z.q[i].region != NULL;
}

static void drop_f(int i)
{
	if (!fvalid(i))
		return;
	uint64_t pa = z.f[i].paddr;
	z.stale_f = z.f[i];
	z.has_stale_f = 1;
	z.gone_f = 0;
	expect_rc("frame_drop", 0, fk_frame_drop(z.mem, &z.f[i]));
	release(pa, pa + PG);
	if (z.f[i].region)
		die("frame_drop did not clear the handle");
}

static void drop_s(int i)
{
	if (!svalid(i))
		return;
	uint64_t s = z.s[i].start, e = z.s[i].end;
	z.stale_s = z.s[i];
	z.has_stale_s = 1;
	z.gone_s = 0;
	expect_rc("segment_drop", 0, fk_segment_drop(z.mem, &z.s[i]));
	release(s, e);
}

static void drop_q(int i)
{
	if (!qvalid(i))
		return;
	uint64_t pa = z.q[i].paddr;
	z.stale_q = z.q[i];
	z.has_stale_q = 1;
	z.gone_q = 0;
	expect_rc("unique_frame_drop", 0, fk_unique_frame_drop(z.mem, &z.q[i]));
	struct mframe *m = &z.fr[gi(pa)];
	m->unique = 0;
	m->type = NULL;
}

/* ---- Callbacks that call back into the library ---- */

/*
 * From inside init / on_drop (a read section): the queries answer as the
 * model says (the frame totals cannot move: hot-plug never runs while a
 * callback does in this single-threaded harness), and hot-plug is refused
 * with FK_EBUSY instead of waiting for a grace period that cannot end.
 */
static void fz_callback_queries(const char *where)
{
	if (!z.cb_query || !z.mem)
		return;
	uint64_t want_managed = M_N + (z.h_present ? H_N : 0), v = 0;
	uint64_t tot = fk_mem_total_frames(z.mem), man = fk_mem_managed_frames(z.mem);
	if (tot != want_managed + U_N || man != want_managed)
		die("%s callback: total/managed frames %" PRIu64 "/%" PRIu64 ", model %" PRIu64
		    "/%" PRIu64,
		    where, tot, man, want_managed + U_N, want_managed);
	if (fk_mem_nr_nodes(z.mem) != 2)
		die("%s callback: nr_nodes %u", where, fk_mem_nr_nodes(z.mem));
	int nd = fk_mem_current_node(z.mem);
	if (nd < 0 || nd >= 2)
		die("%s callback: current node %d", where, nd);
	expect_rc("refcount_at from a callback", 0, fk_mem_refcount_at(z.mem, U_BASE, &v));
	expect_rc("raw_count_at from a callback", 0, fk_mem_raw_count_at(z.mem, U_BASE, &v));
	if (z.cb_query & 2) {
		struct fk_region_config far = {0x7000000ull, 4, 0, FK_REGION_UNMANAGED};
		expect_rc("add_region from a callback", FK_EBUSY, fk_mem_add_region(z.mem, &far));
		expect_rc("remove_region from a callback", FK_EBUSY,
		          fk_mem_remove_region(z.mem, M_BASE));
	}
}

/* ---- FK_ENOMEM must be justified ---- */

/* Is a free 2^k-aligned block of 2^k frames left in a region the request
 * (node, strict) may use? Free = managed and UNUSED in the model. */
static int free_block_exists(uint64_t n, int node, int strict)
{
	unsigned k = 0;
	while ((1ull << k) < n)
		k++;
	uint64_t sz = 1ull << k;
	for (int r = 0; r < 2; r++) {
		uint64_t base = r == 0 ? M_BASE : H_BASE, nfr = r == 0 ? M_N : H_N;
		int rnode = r == 0 ? 0 : z.h_node;
		if (r == 1 && !z.h_present)
			continue;
		if (strict && node >= 0 && rnode != node)
			continue;
		uint64_t b = base / PG;
		for (uint64_t a = (b + sz - 1) & ~(sz - 1); a + sz <= b + nfr; a += sz) {
			uint64_t i = 0;
			while (i < sz) {
				const struct mframe *m = &z.fr[gi((a + i) * PG)];
				if (m->cnt || m->unique)
					break;
				i++;
			}
			if (i == sz)
				return 1;
		}
	}
	return 0;
}

/* ---- A second context ---- */

#define B_BASE 0x800000ull /* mem2's managed region */
#define B_N    8

/* Handles of one context given to the other: FK_EINVAL, nothing changes
 * (verify() after the step checks the counts; the handle bytes here). */
static void step_foreign(void)
{
	uint8_t b = byte();
	fk_frame g;
	fk_segment s2, l, r;
	fk_unique_frame u2;
	uint64_t pa, pb;
	if (b & 1) {
		int i = byte() % NF, j = byte() % NS, k = byte() % NQ;
		if (fvalid(i)) {
			fk_frame keep = z.f[i];
			expect_rc("mem2 frame_clone(mem's)", FK_EINVAL, fk_frame_clone(z.mem2, &z.f[i], &g));
			expect_rc("mem2 frame_into_raw(mem's)", FK_EINVAL,
			          fk_frame_into_raw(z.mem2, &z.f[i], &pa));
			expect_rc("mem2 try_into_unique(mem's)", FK_EINVAL,
			          fk_frame_try_into_unique(z.mem2, &z.f[i], &u2));
			expect_rc("mem2 from_frame(mem's)", FK_EINVAL,
			          fk_segment_from_frame(z.mem2, &z.f[i], &s2));
			expect_rc("mem2 frame_drop(mem's)", FK_EINVAL, fk_frame_drop(z.mem2, &z.f[i]));
			if (memcmp(&keep, &z.f[i], sizeof(keep)))
				die("a foreign call changed the frame handle");
		}
		if (svalid(j) && z.s[j].start != z.s[j].end) {
			fk_segment keep = z.s[j];
			uint64_t size = z.s[j].end - z.s[j].start;
			expect_rc("mem2 segment_clone(mem's)", FK_EINVAL,
			          fk_segment_clone(z.mem2, &z.s[j], &s2));
			expect_rc("mem2 segment_slice(mem's)", FK_EINVAL,
			          fk_segment_slice(z.mem2, &z.s[j], 0, size, &s2));
			if (size > PG)
				expect_rc("mem2 segment_split(mem's)", FK_EINVAL,
				          fk_segment_split(z.mem2, &z.s[j], PG, &l, &r));
			expect_rc("mem2 segment_next(mem's)", FK_EINVAL,
			          fk_segment_next(z.mem2, &z.s[j], &g));
			expect_rc("mem2 segment_into_raw(mem's)", FK_EINVAL,
			          fk_segment_into_raw(z.mem2, &z.s[j], &pa, &pb));
			expect_rc("mem2 segment_downcast(mem's)", FK_EINVAL,
			          fk_segment_downcast(z.mem2, &z.s[j], &type_a));
			expect_rc("mem2 segment_drop(mem's)", FK_EINVAL, fk_segment_drop(z.mem2, &z.s[j]));
			if (memcmp(&keep, &z.s[j], sizeof(keep)))
				die("a foreign call changed the segment handle");
		}
		if (qvalid(k)) {
			fk_unique_frame keep = z.q[k];
			expect_rc("mem2 into_shared(mem's)", FK_EINVAL,
			          fk_unique_frame_into_shared(z.mem2, &z.q[k], &g));
			expect_rc("mem2 unique_drop(mem's)", FK_EINVAL,
			          fk_unique_frame_drop(z.mem2, &z.q[k]));
			if (memcmp(&keep, &z.q[k], sizeof(keep)))
				die("a foreign call changed the unique handle");
		}
		return;
	}
	/* mem2's handles given to mem. */
	fk_frame bf;
	fk_segment bs;
	expect_rc("mem2 alloc_frame", 0, fk_alloc_frame(z.mem2, NULL, NULL, NULL, 0, &bf));
	expect_rc("mem2 alloc_segment", 0, fk_alloc_segment(z.mem2, 2, NULL, NULL, NULL, 0, &bs));
	fk_frame fkeep = bf;
	fk_segment skeep = bs;
	expect_rc("frame_clone(mem2's)", FK_EINVAL, fk_frame_clone(z.mem, &bf, &g));
	expect_rc("frame_into_raw(mem2's)", FK_EINVAL, fk_frame_into_raw(z.mem, &bf, &pa));
	expect_rc("frame_drop(mem2's)", FK_EINVAL, fk_frame_drop(z.mem, &bf));
	expect_rc("segment_split(mem2's)", FK_EINVAL, fk_segment_split(z.mem, &bs, PG, &l, &r));
	expect_rc("segment_into_raw(mem2's)", FK_EINVAL, fk_segment_into_raw(z.mem, &bs, &pa, &pb));
	expect_rc("segment_drop(mem2's)", FK_EINVAL, fk_segment_drop(z.mem, &bs));
	if (memcmp(&fkeep, &bf, sizeof(bf)) || memcmp(&skeep, &bs, sizeof(bs)))
		die("a foreign call changed mem2's handle");
	uint64_t rc = 0;
	expect_rc("mem2 refcount_at", 0, fk_mem_refcount_at(z.mem2, bf.paddr, &rc));
	if (rc != 1)
		die("mem2 frame refcount %" PRIu64 " after foreign calls", rc);
	expect_rc("mem2 frame_drop", 0, fk_frame_drop(z.mem2, &bf));
	expect_rc("mem2 segment_drop", 0, fk_segment_drop(z.mem2, &bs));
}

/* ---- Steps ---- */

/*
 * Take a frame by address into a frame slot: pick the paddr and the slot
 * (dropping what it held), call fn and check the error an unaligned or an
 * outside paddr must get. Returns the model index of the frame, or -1 when
 * the paddr was unaligned or outside (the result is already checked).
 */
static int frame_by_paddr(int (*fn)(fk_mem *, uint64_t, fk_frame *), const char *unaligned,
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

static void step_alloc(int single)
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

static void step_from_unused(int unique)
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

static void step_segment_from_unused(void)
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
	if ((s | e) & (PG - 1))
		add(&es, FK_ENOTALIGNED);
	if (s >= e)
		add(&es, FK_EINVAL);
	else if (!range_in_region(s & ~(PG - 1), (e + PG - 1) & ~(PG - 1)))
		add(&es, FK_EOUTOFBOUND);
	else if (!((s | e) & (PG - 1)) && gi_managed(gi(s)))
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

static void step_from_in_use(void)
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

static void step_frame_clone(void)
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

static void step_frame_drop(void)
{
	int i = byte() % NF;
	if (!fvalid(i))
		return expect_rc("frame_drop(empty)", FK_EINVAL, fk_frame_drop(z.mem, &z.f[i]));
	drop_f(i);
}

static void step_segment_drop(void)
{
	int i = byte() % NS;
	if (!svalid(i))
		return expect_rc("segment_drop(empty)", FK_EINVAL, fk_segment_drop(z.mem, &z.s[i]));
	drop_s(i);
}

static void step_segment_clone(void)
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

static void step_split(void)
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

static void step_slice(void)
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

static void step_next(void)
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

static void step_into_raw(void)
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

static void step_from_raw(void)
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
	if ((s | e) & (PG - 1))
		add(&es, FK_ENOTALIGNED);
	if (s >= e)
		add(&es, FK_EINVAL);
	else if (!range_in_region(s & ~(PG - 1), (e + PG - 1) & ~(PG - 1)))
		add(&es, FK_EOUTOFBOUND);
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

static void step_views(void)
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

static void step_from_frame(void)
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

static void step_unique(void)
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

/* Stale copies of consumed handles: must be refused, nothing changes. */
static void step_stale(void)
{
	uint8_t b = byte();
	int rc;
	if (b % 3 == 0 && z.has_stale_f && z.gone_f) {
		fk_frame copy = z.stale_f, out;
		fk_segment so;
		uint64_t pa;
		expect_rc("stale frame across removal: clone", FK_EUNUSED,
		          fk_frame_clone(z.mem, &copy, &out));
		expect_rc("stale frame across removal: into_raw", FK_EUNUSED,
		          fk_frame_into_raw(z.mem, &copy, &pa));
		expect_rc("stale frame across removal: from_frame", FK_EUNUSED,
		          fk_segment_from_frame(z.mem, &copy, &so));
		if (fk_frame_meta(&copy) != NULL || fk_frame_refcount(&copy) != FK_REF_UNUSED)
			die("stale frame across removal: meta/refcount readable");
		expect_rc("stale frame across removal: drop", FK_EUNUSED,
		          fk_frame_drop(z.mem, &copy));
		return;
	}
	if (b % 3 == 1 && z.has_stale_s && z.gone_s) {
		fk_segment copy = z.stale_s, out;
		if (copy.start == copy.end)
			return;
		expect_rc("stale segment across removal: clone", FK_EUNUSED,
		          fk_segment_clone(z.mem, &copy, &out));
		expect_rc("stale segment across removal: slice", FK_EUNUSED,
		          fk_segment_slice(z.mem, &copy, 0, PG, &out));
		expect_rc("stale segment across removal: drop", FK_EUNUSED,
		          fk_segment_drop(z.mem, &copy));
		return;
	}
	if (b % 3 == 2 && z.has_stale_q && z.gone_q) {
		fk_unique_frame copy = z.stale_q;
		expect_rc("stale unique across removal: drop", FK_EUNUSED,
		          fk_unique_frame_drop(z.mem, &copy));
		return;
	}
	if (b % 3 == 0 && z.has_stale_f && !z.gone_f) {
		const struct mframe *m = &z.fr[gi(z.stale_f.paddr)];
		if (m->cnt || m->unique)
			return; /* reused: a stale copy is indistinguishable from a live one */
		fk_frame copy = z.stale_f, out;
		if (b & 8)
			rc = fk_frame_clone(z.mem, &copy, &out);
		else
			rc = fk_frame_drop(z.mem, &copy);
		expect_rc("stale frame drop/clone", FK_EUNUSED, rc);
	} else if (b % 3 == 1 && z.has_stale_s && !z.gone_s) {
		fk_segment copy = z.stale_s;
		for (uint64_t p = copy.start; p < copy.end; p += PG) {
			const struct mframe *m = &z.fr[gi(p)];
			if (m->cnt || m->unique)
				return;
		}
		rc = fk_segment_drop(z.mem, &copy);
		if (copy.start == copy.end)
			return;
		expect_rc("stale segment drop", FK_EUNUSED, rc);
	} else if (b % 3 == 2 && z.has_stale_q && !z.gone_q) {
		const struct mframe *m = &z.fr[gi(z.stale_q.paddr)];
		if (m->unique)
			return; /* UNIQUE again: indistinguishable */
		fk_unique_frame copy = z.stale_q;
		rc = fk_unique_frame_drop(z.mem, &copy);
		expect_rc("stale unique drop", m->cnt ? FK_EINUSE : FK_EUNUSED, rc);
	}
}

/* H was removed: stale copies into it are now "gone" for good. */
static void stale_in_h_gone(void)
{
	if (z.has_stale_f && z.stale_f.paddr >= H_BASE)
		z.gone_f = 1;
	if (z.has_stale_s && z.stale_s.start >= H_BASE)
		z.gone_s = 1;
	if (z.has_stale_q && z.stale_q.paddr >= H_BASE)
		z.gone_q = 1;
}

static void step_hotplug(void)
{
	uint8_t b = byte();
	/* The hot region comes back on either node: re-adding a removed range
	 * on another node must work. */
	struct fk_region_config h = {H_BASE, H_N, (b >> 2) & 1, 0};
	int rc;
	if (b & 1) {
		rc = fk_mem_add_region(z.mem, &h);
		expect_rc("add_region", z.h_present ? FK_EEXIST : 0, rc);
		if (!z.h_present)
			z.h_node = h.node;
		z.h_present = 1;
		if (b & 2) { /* overlapping M */
			struct fk_region_config o = {M_BASE + 4 * PG, 4, 0, 0};
			expect_rc("add_region(overlap)", FK_EEXIST, fk_mem_add_region(z.mem, &o));
		}
		return;
	}
	fk_mem_alloc_drain(z.mem);
	rc = fk_mem_remove_region(z.mem, (b & 2) ? H_BASE + PG : H_BASE);
	if ((b & 2) || !z.h_present)
		return expect_rc("remove_region(no such)", FK_ENOENT, rc);
	int busy = 0;
	for (int i = M_N + U_N; i < NFR; i++)
		if (z.fr[i].cnt || z.fr[i].unique || z.fr[i].raw)
			busy = 1;
	expect_rc("remove_region", busy ? FK_EINUSE : 0, rc);
	if (!busy) {
		z.h_present = 0;
		stale_in_h_gone();
		/* Empty segments of the removed region stay: they hold nothing
		 * and must drop cleanly without touching the freed region. */
	}
}

static void step_empty_handles(void)
{
	fk_frame f, f2;
	fk_segment s, s2, s3;
	fk_unique_frame q;
	uint64_t a, b;
	memset(&f, 0, sizeof(f));
	memset(&s, 0, sizeof(s));
	memset(&q, 0, sizeof(q));
	expect_rc("drop(empty frame)", FK_EINVAL, fk_frame_drop(z.mem, &f));
	expect_rc("clone(empty frame)", FK_EINVAL, fk_frame_clone(z.mem, &f, &f2));
	expect_rc("into_raw(empty frame)", FK_EINVAL, fk_frame_into_raw(z.mem, &f, &a));
	expect_rc("drop(empty segment)", FK_EINVAL, fk_segment_drop(z.mem, &s));
	expect_rc("clone(empty segment)", FK_EINVAL, fk_segment_clone(z.mem, &s, &s2));
	expect_rc("split(empty segment)", FK_EINVAL, fk_segment_split(z.mem, &s, PG, &s2, &s3));
	expect_rc("slice(empty segment)", FK_EINVAL, fk_segment_slice(z.mem, &s, 0, 0, &s2));
	expect_rc("next(empty segment)", FK_EINVAL, fk_segment_next(z.mem, &s, &f2));
	expect_rc("into_raw(empty segment)", FK_EINVAL, fk_segment_into_raw(z.mem, &s, &a, &b));
	expect_rc("downcast(empty segment)", FK_EINVAL, fk_segment_downcast(z.mem, &s, &type_a));
	expect_rc("from_frame(empty)", FK_EINVAL, fk_segment_from_frame(z.mem, &f, &s2));
	expect_rc("unique drop(empty)", FK_EINVAL, fk_unique_frame_drop(z.mem, &q));
	expect_rc("into_shared(empty)", FK_EINVAL, fk_unique_frame_into_shared(z.mem, &q, &f2));
	expect_rc("try_into_unique(empty)", FK_EINVAL, fk_frame_try_into_unique(z.mem, &f, &q));
	/* A forged handle: region of a live frame, paddr outside it. */
	for (int i = 0; i < NF; i++) {
		if (!fvalid(i))
			continue;
		fk_frame forged = z.f[i];
		forged.paddr = 0x7f000000ull;
		expect_rc("drop(forged paddr)", FK_EINVAL, fk_frame_drop(z.mem, &forged));
		forged.paddr = z.f[i].paddr + 1;
		expect_rc("drop(unaligned handle)", FK_EINVAL, fk_frame_drop(z.mem, &forged));
		break;
	}
	expect_rc("alloc_segment(0)", FK_EINVAL,
	          fk_alloc_segment(z.mem, 0, NULL, NULL, NULL, 0, &s2));
}

static void teardown_check(void)
{
	for (int i = 0; i < NF; i++)
		drop_f(i);
	for (int i = 0; i < NS; i++)
		drop_s(i);
	for (int i = 0; i < NQ; i++)
		drop_q(i);
	/* Restore and drop every raw reference. */
	for (int i = 0; i < NFR; i++) {
		while (z.fr[i].raw) {
			uint64_t pa = i < M_N         ? M_BASE + (uint64_t)i * PG
			              : i < M_N + U_N ? U_BASE + (uint64_t)(i - M_N) * PG
			                              : H_BASE + (uint64_t)(i - M_N - U_N) * PG;
			expect_rc("teardown from_raw", 0, fk_frame_from_raw(z.mem, pa, &z.f[0]));
			z.fr[i].raw--;
			drop_f(0);
		}
	}
	fk_mem_alloc_drain(z.mem);
	verify();
	struct fk_leak_report lr;
	fk_mem_leak_report(z.mem, &lr);
	if (lr.frames_referenced || lr.frames_raw || lr.raw_refs ||
	    lr.first_leaked_paddr != UINT64_MAX)
		die("leak report not empty: referenced %" PRIu64 " raw %" PRIu64,
		    lr.frames_referenced, lr.frames_raw);
}

/*
 * Before libFuzzer parses the command line: --help prints our usage (libFuzzer
 * would take "--help" for a corpus directory and fuzz forever), and any other
 * "--" option is a mistake (libFuzzer's own flags take one dash).
 */
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	for (int i = 1; i < *argc; i++) {
		const char *a = (*argv)[i];
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			printf("usage: fk_fuzz_api [libFuzzer flags] [corpus dirs or inputs]\n"
			       "Fuzzes the public API against a model (stress/fuzz_api.c).\n"
			       "  -max_total_time=S  stop after S seconds (default: never)\n"
			       "  -runs=N            stop after N inputs\n"
			       "  -help=1            libFuzzer's own flags\n"
			       "  INPUT              replay one input (e.g. a crash file)\n"
			       "scripts/run-fuzz.sh builds it and runs a bounded session.\n");
			exit(0);
		}
		if (a[0] == '-' && a[1] == '-') {
			fprintf(stderr,
			        "fk_fuzz_api: unknown option '%s' (libFuzzer flags take one dash; "
			        "try --help)\n",
			        a);
			exit(2);
		}
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *names[16];
	static size_t nnames;
	if (!nnames) {
		nnames = fk_allocator_names(names, 16);
		if (nnames > 16)
			nnames = 16;
	}
	if (size < 1 || nnames == 0)
		return 0;
	memset(&z, 0, sizeof(z));
	z.in = data;
	z.len = size;
	z.pos = 1;
	z.alloc_name = names[data[0] % nnames];
	static const char *const locks[3] = {"ticket", "mcs", "mutex"};

	struct fk_region_config regs[2] = {
	    {M_BASE, M_N, 0, 0},
	    {U_BASE, U_N, 0, FK_REGION_UNMANAGED},
	};
	struct fk_mem_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	cfg.regions = regs;
	cfg.nr_regions = 2;
	cfg.nr_nodes = 2;
	cfg.raw_tracking = 1;
	cfg.allocator = z.alloc_name;
	cfg.alloc.lock = locks[(data[0] >> 4) % 3];
	fk_variant_apply(&cfg, &fk_variants[(data[0] >> 6) % FK_NR_VARIANTS]);
	int rc = fk_mem_create(&cfg, &z.mem);
	if (rc)
		die("fk_mem_create -> %s", E(rc));
	fk_thread_enter(z.mem);
	struct fk_region_config breg = {B_BASE, B_N, 0, 0};
	struct fk_mem_config cfg2 = cfg;
	cfg2.regions = &breg;
	cfg2.nr_regions = 1;
	rc = fk_mem_create(&cfg2, &z.mem2);
	if (rc)
		die("fk_mem_create(second context) -> %s", E(rc));
	fk_thread_enter(z.mem2);
	verify();
	for (z.step = 0; z.pos < z.len && z.step < 400; z.step++) {
		switch (byte() % 22) {
		case 0:
		case 1:
			step_alloc(0);
			break;
		case 2:
			step_alloc(1);
			break;
		case 3:
			step_from_unused(0);
			break;
		case 4:
			step_from_unused(1);
			break;
		case 5:
			step_segment_from_unused();
			break;
		case 6:
			step_from_in_use();
			break;
		case 7:
			step_frame_clone();
			break;
		case 8:
			step_frame_drop();
			break;
		case 9:
			step_segment_drop();
			break;
		case 10:
			step_segment_clone();
			break;
		case 11:
			step_split();
			break;
		case 12:
			step_slice();
			break;
		case 13:
			step_next();
			break;
		case 14:
			step_into_raw();
			break;
		case 15:
			step_from_raw();
			break;
		case 16:
			step_views();
			break;
		case 17:
			step_from_frame();
			step_unique();
			break;
		case 18:
			step_stale();
			step_hotplug();
			break;
		case 20:
			step_foreign();
			break;
		case 21:
			z.cb_query = byte() % 4;
			break;
		default:
			step_empty_handles();
			break;
		}
		fz_init_fail_at = -1;
		verify();
	}
	z.cb_query = 0;
	teardown_check();
	fk_thread_leave(z.mem2);
	struct fk_leak_report lr2;
	rc = fk_mem_destroy(z.mem2, &lr2);
	if (rc)
		die("fk_mem_destroy(second context) -> %s", E(rc));
	fk_thread_leave(z.mem);
	struct fk_leak_report lr;
	rc = fk_mem_destroy(z.mem, &lr);
	if (rc)
		die("fk_mem_destroy -> %s (referenced %" PRIu64 ")", E(rc), lr.frames_referenced);
	return 0;
}
