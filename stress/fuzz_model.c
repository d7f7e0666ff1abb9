/* SPDX-License-Identifier: MIT */
/*
 * The fuzz harness's model (fuzz.h: struct mframe, z): the metadata types
 * and callbacks, the model transitions (hold, release, the handle slots'
 * drops), verify() after every step, the FK_ENOMEM justification and the
 * final teardown check. The callbacks may call back into the library
 * (fz_callback_queries): queries must answer as the model says.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

uint64_t fz_on_drops;
static void fz_on_drop(void *meta, uint64_t paddr, void *ctx);
const struct fk_meta_type type_a = {"fz-a", 16, fz_on_drop, NULL, 0};
const struct fk_meta_type type_b = {"fz-b", 8, fz_on_drop, NULL, 1};
const struct fk_meta_type type_big = {"fz-big", FK_META_MAX_SIZE + 1, NULL, NULL, 0};

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

int fz_init_fail_at = -1, fz_init_calls;

int fz_init(void *meta, uint64_t paddr, void *ctx)
{
	(void)ctx;
	fz_callback_queries("init");
	if (fz_init_calls++ == fz_init_fail_at)
		return INIT_ERR;
	*(uint64_t *)meta = paddr;
	return 0;
}

struct fuzz_state z;

void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "FUZZ MISMATCH [%s, step %d]: ", z.alloc_name, z.step);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	abort();
}

/* Is [s, e) inside one present region? */
int range_in_region(uint64_t s, uint64_t e)
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

void verify(void)
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

void hold(uint64_t s, uint64_t e, const struct fk_meta_type *t, int claim)
{
	for (uint64_t p = s; p < e; p += PG) {
		struct mframe *m = &z.fr[gi(p)];
		if (claim)
			m->type = t ? t : &fk_meta_untyped;
		m->cnt++;
	}
}

void release(uint64_t s, uint64_t e)
{
	for (uint64_t p = s; p < e; p += PG) {
		struct mframe *m = &z.fr[gi(p)];
		if (m->cnt == 0)
			die("model: release of unheld frame 0x%" PRIx64, p);
		if (--m->cnt == 0)
			m->type = NULL;
	}
}

void drop_f(int i)
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

void drop_s(int i)
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

void drop_q(int i)
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
int free_block_exists(uint64_t n, int node, int strict)
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

void teardown_check(void)
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
