/* SPDX-License-Identifier: MIT */
/*
 * core_v2_timing: the issue-10 measurements (results/core-v2/README.md).
 *
 *   t shared<T> [policy] [raw]        T threads clone+drop one 16-frame segment
 *   t lookup<T>[c] [policy] [raw] [lookup]
 *                                     T threads from_in_use+drop over a pool of
 *                                     64 allocated frames; 'c': one more thread
 *                                     adds and removes a 16-frame region in a loop
 *   t alloc512 [policy] [raw]         fk_alloc_segment(512)+drop vs the allocator
 *                                     alone (its own instance), ns per frame
 *   t shared<T>q, t lookup<T>[c]q     the same, min-of-trials mode (below)
 *   t single [policy] [raw]           single-thread frame clone+drop, 16-frame
 *                                     segment clone+drop, slice(1)+drop, split, next
 * policy: 0 fast, 1 checked; raw: raw tracking 1/0; lookup: 0 RCU, 1 rwlock.
 * Allocator "lockfree", one managed region of 65536 frames. Throughput runs
 * are best of 5 x 0.5 s, workers pinned to CPUs 0..T-1, with the fraction
 * of the span the workers were on a CPU (util; 1.0 = all ran all along).
 * Build: cc -O2 -std=gnu11 -DHAVE_POLICY -DHAVE_LOOKUP -Icore/include
 *   results/core-v2/core_v2_timing.c build/release/core/libframekit.a
 *   -lurcu-memb -lurcu-common -lnuma -lpthread
 * (without -DHAVE_POLICY -DHAVE_LOOKUP for commits before those fields).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <time.h>
#include <framekit/framekit.h>

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
#define BASE 0x100000000ull
#define NFR (1u << 16)
static fk_mem *mk(int policy, int raw, int lookup)
{
	struct fk_region_config rc = {.base = BASE, .nframes = NFR, .node = 0};
	struct fk_mem_config cfg = {0};
	cfg.regions = &rc; cfg.nr_regions = 1; cfg.nr_nodes = 1; cfg.raw_tracking = raw;
	cfg.allocator = "lockfree";
#ifdef HAVE_POLICY
	cfg.refcount = policy;
#else
	(void)policy;
#endif
#ifdef HAVE_LOOKUP
	cfg.lookup = lookup;
#else
	(void)lookup;
#endif
	fk_mem *m; if (fk_mem_create(&cfg, &m)) { fprintf(stderr, "create\n"); exit(1); }
	fk_thread_enter(m); return m;
}
static fk_mem *M; static fk_segment SEG; static atomic_int go, stop; static double dur = 0.5;
static _Atomic double cpu_sum;
static void pin(int cpu) { cpu_set_t s; CPU_ZERO(&s); CPU_SET(cpu, &s); sched_setaffinity(0, sizeof(s), &s); }
static double thread_cpu(void) { struct timespec t; clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
static void add_cpu(double c) { double o = atomic_load(&cpu_sum); while (!atomic_compare_exchange_weak(&cpu_sum, &o, o + c)); }
static double last_util;
static void *shared_thr(void *a)
{
	long n = 0; pin((int)*(long *)a); fk_thread_enter(M);
	while (!atomic_load(&go));
	double c0 = thread_cpu();
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		for (int i = 0; i < 32; i++) { fk_segment c; if (fk_segment_clone(M, &SEG, &c) || fk_segment_drop(M, &c)) abort(); }
		n += 32;
	}
	add_cpu(thread_cpu() - c0);
	fk_thread_leave(M); *(long *)a = n; return 0;
}
static double shared(int T)
{
	pthread_t th[8]; long n[8]; atomic_store(&go, 0); atomic_store(&stop, 0); atomic_store(&cpu_sum, 0);
	for (int i = 0; i < T; i++) { n[i] = i; pthread_create(&th[i], 0, shared_thr, &n[i]); }
	double t0 = now(); atomic_store(&go, 1);
	while (now() - t0 < dur);
	atomic_store(&stop, 1); long tot = 0;
	for (int i = 0; i < T; i++) { pthread_join(th[i], 0); tot += n[i]; }
	double el = now() - t0;
	last_util = atomic_load(&cpu_sum) / (el * T);
	return tot / el;
}
#define POOL 64
static uint64_t pool_pa[POOL];
static atomic_long churns;
static void *lookup_thr(void *a)
{
	long n = 0; unsigned i = (unsigned)(long)*(long *)a; pin((int)(i / 17)); fk_thread_enter(M);
	while (!atomic_load(&go));
	double c0 = thread_cpu();
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		for (int k = 0; k < 32; k++, i++) { fk_frame f; if (fk_frame_from_in_use(M, pool_pa[i % POOL], &f) || fk_frame_drop(M, &f)) abort(); }
		n += 32;
	}
	add_cpu(thread_cpu() - c0);
	fk_thread_leave(M); *(long *)a = n; return 0;
}
static void *churn_thr(void *a)
{
	(void)a; fk_thread_enter(M);
	struct fk_region_config rc = {.base = 0x900000000ull, .nframes = 16, .node = 0, .flags = FK_REGION_UNMANAGED};
	while (!atomic_load(&go));
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		if (fk_mem_add_region(M, &rc) || fk_mem_remove_region(M, rc.base)) abort();
		atomic_fetch_add(&churns, 1);
	}
	fk_thread_leave(M); return 0;
}
static double run_lookup(int T, int churn)
{
	pthread_t th[8], ct; long n[8]; atomic_store(&go, 0); atomic_store(&stop, 0); atomic_store(&cpu_sum, 0);
	for (int i = 0; i < T; i++) { n[i] = i * 17; pthread_create(&th[i], 0, lookup_thr, &n[i]); }
	if (churn) pthread_create(&ct, 0, churn_thr, 0);
	double t0 = now(); atomic_store(&go, 1);
	while (now() - t0 < dur);
	atomic_store(&stop, 1); long tot = 0;
	for (int i = 0; i < T; i++) { pthread_join(th[i], 0); tot += n[i]; }
	double el = now() - t0;
	if (churn) pthread_join(ct, 0);
	last_util = atomic_load(&cpu_sum) / (el * T);
	return tot / el;
}
/*
 * Min-of-trials mode (suffix 'q'), for a loaded machine: T workers meet at
 * a spinning barrier (so all of them are on a CPU when a trial starts), each
 * does QN operations, and a trial lasts until the last one ends. Only
 * trials in which the workers really ran side by side count (their common
 * interval covers >= 95 % of the trial, so the cache lines did bounce); the
 * fastest of those is the one the other load disturbed least, and its
 * throughput is reported with the number of trials that counted.
 */
#define QN      2000
#define QTRIALS 600
static atomic_int q_arrive, q_round;
/* 'x' mode: two contexts (variants A and B), trials alternate between them. */
static fk_mem *XM[2];
static fk_segment XSEG[2];
static uint64_t xpool[2][64];
static int q_alt;
static double q_times[2][600];
static int q_ntimes[2];
static double q_end[8], q_st[8], q_en[8];
static int q_counted;
static int q_T, q_kind; /* 0 shared clone+drop, 1 from_in_use+drop */
static void q_op(unsigned i, int x)
{
	fk_mem *m = q_alt ? XM[x] : M;
	if (q_kind == 0) {
		fk_segment c;
		if (fk_segment_clone(m, q_alt ? &XSEG[x] : &SEG, &c) || fk_segment_drop(m, &c))
			abort();
	} else {
		fk_frame f;
		uint64_t pa = q_alt ? xpool[x][i % POOL] : pool_pa[i % POOL];
		if (fk_frame_from_in_use(m, pa, &f) || fk_frame_drop(m, &f))
			abort();
	}
}
static double q_start;
static void *q_thr(void *a)
{
	int id = (int)(long)a;
	pin(id);
	fk_thread_enter(M);
	if (q_alt) {
		fk_thread_enter(XM[0]);
		fk_thread_enter(XM[1]);
	}
	for (int t = 0; t < QTRIALS; t++) {
		/* barrier: every worker spins until all arrived for trial t */
		atomic_fetch_add(&q_arrive, 1);
		while (atomic_load(&q_arrive) < (t + 1) * q_T)
			;
		if (id == 0)
			q_start = now();
		double t0 = now();
		q_st[id] = t0;
		(void)q_start;
		for (unsigned i = 0; i < QN; i++)
			q_op(i * 7 + (unsigned)id * 31, t & 1);
		q_en[id] = now();
		q_end[id] = q_en[id] - t0;
		atomic_fetch_add(&q_round, 1);
		while (atomic_load(&q_round) < (t + 1) * q_T)
			;
		if (id == 0) {
			double m = 0, os = 0, oe = 1e300;
			for (int k = 0; k < q_T; k++) {
				if (q_end[k] > m)
					m = q_end[k];
				if (q_st[k] > os)
					os = q_st[k];
				if (q_en[k] < oe)
					oe = q_en[k];
			}
			if ((oe - os) >= 0.95 * m) {
				q_counted++;
				q_times[t & 1][q_ntimes[t & 1]++] = m;
				q_end[7] = q_end[7] == 0 || m < q_end[7] ? m : q_end[7];
			}
		}
	}
	if (q_alt) {
		fk_thread_leave(XM[0]);
		fk_thread_leave(XM[1]);
	}
	fk_thread_leave(M);
	return 0;
}
static void *xchurn_thr(void *a)
{
	(void)a;
	struct fk_region_config rc = {.base = 0x900000000ull, .nframes = 16, .node = 0, .flags = FK_REGION_UNMANAGED};
	fk_thread_enter(XM[0]);
	fk_thread_enter(XM[1]);
	for (int k = 0; !atomic_load_explicit(&stop, memory_order_relaxed); k ^= 1) {
		if (fk_mem_add_region(XM[k], &rc) || fk_mem_remove_region(XM[k], rc.base)) abort();
		atomic_fetch_add(&churns, 1);
	}
	fk_thread_leave(XM[1]);
	fk_thread_leave(XM[0]);
	return 0;
}
static int cmpd(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}
/* Fastest and median side-by-side trial of variant x, as M ops/s. */
static void q_report(const char *what, int x, int T)
{
	int n = q_ntimes[x];
	qsort(q_times[x], (size_t)n, sizeof(double), cmpd);
	if (!n) {
		printf("%s: no side-by-side trial\n", what);
		return;
	}
	printf("%s: best %.3f M ops/s, median %.3f M ops/s (%d side-by-side trials)\n", what,
	       QN * T / q_times[x][0] / 1e6, QN * T / q_times[x][n / 2] / 1e6, n);
}
static double run_q(int T, int kind, int churn)
{
	pthread_t th[8], ct;
	q_T = T;
	q_kind = kind;
	q_end[7] = 0;
	q_counted = 0;
	q_ntimes[0] = q_ntimes[1] = 0;
	atomic_store(&q_arrive, 0);
	atomic_store(&q_round, 0);
	atomic_store(&stop, 0);
	atomic_store(&go, 1);
	if (churn)
		pthread_create(&ct, 0, q_alt ? xchurn_thr : churn_thr, 0);
	for (long i = 0; i < T; i++)
		pthread_create(&th[i], 0, q_thr, (void *)i);
	for (int i = 0; i < T; i++)
		pthread_join(th[i], 0);
	atomic_store(&stop, 1);
	if (churn)
		pthread_join(ct, 0);
	return q_end[7] > 0 ? (double)QN * T / q_end[7] : 0;
}

int main(int argc, char **argv)
{
	const char *test = argv[1]; int policy = argc > 2 ? atoi(argv[2]) : 0; int raw = argc > 3 ? atoi(argv[3]) : 1;
	int lookup = argc > 4 ? atoi(argv[4]) : 0;
	M = mk(policy, raw, lookup);
	if (strchr(test, 'x')) {
		/* sharedTx: fast vs checked; lookupT[c]x: RCU vs rwlock; trials alternate */
		int T = test[6] - '0', lk = test[0] == 'l', churn = lk && strchr(test, 'c') != 0;
		const char *names[2] = {lk ? "rcu" : "fast", lk ? "rwlock" : "checked"};
		for (int x = 0; x < 2; x++) {
			XM[x] = mk(lk ? policy : x, raw, lk ? x : lookup);
			if (lk) {
				for (int i = 0; i < POOL; i++) {
					fk_frame f;
					if (fk_alloc_frame(XM[x], 0, 0, 0, 0, &f)) abort();
					xpool[x][i] = fk_frame_paddr(&f); /* held until destroy (leak-reported) */
				}
			} else if (fk_alloc_segment(XM[x], 16, 0, 0, 0, 0, &XSEG[x])) {
				abort();
			}
		}
		q_alt = 1;
		atomic_store(&churns, 0);
		run_q(T, lk, churn);
		for (int x = 0; x < 2; x++) {
			char what[96];
			snprintf(what, sizeof what, "%s T=%d churn=%d %s raw=%d", lk ? "lookup" : "shared16", T, churn, names[x], raw);
			q_report(what, x, T);
		}
		if (churn)
			printf("  (%ld hot-plug cycles over both contexts)\n", (long)atomic_load(&churns));
	} else if (!strncmp(test, "shared", 6) && strchr(test, 'q')) {
		int T = test[6] - '0';
		if (fk_alloc_segment(M, 16, 0, 0, 0, 0, &SEG)) abort();
		double x = run_q(T, 0, 0);
		printf("shared16q T=%d policy=%d raw=%d: %.3f M ops/s (fastest of %d/%d side-by-side trials of %d ops per thread)\n", T, policy, raw, x / 1e6, q_counted, QTRIALS, QN);
		fk_segment_drop(M, &SEG);
	} else if (!strncmp(test, "lookup", 6) && strchr(test, 'q')) {
		int T = test[6] - '0', churn = strchr(test, 'c') != 0;
		fk_frame fr[POOL];
		for (int i = 0; i < POOL; i++) { if (fk_alloc_frame(M, 0, 0, 0, 0, &fr[i])) abort(); pool_pa[i] = fk_frame_paddr(&fr[i]); }
		atomic_store(&churns, 0);
		double x = run_q(T, 1, churn);
		printf("lookupq T=%d churn=%d policy=%d lookup=%d: %.3f M ops/s (fastest of %d/%d side-by-side trials of %d ops per thread; %ld hot-plug cycles)\n", T, churn, policy, lookup, x / 1e6, q_counted, QTRIALS, QN, (long)atomic_load(&churns));
		for (int i = 0; i < POOL; i++) fk_frame_drop(M, &fr[i]);
	} else if (!strncmp(test, "shared", 6)) {
		int T = atoi(test + 6);
		if (fk_alloc_segment(M, 16, 0, 0, 0, 0, &SEG)) abort();
		double b = 0, u = 0; for (int r = 0; r < 5; r++) { double x = shared(T); if (x > b) { b = x; u = last_util; } }
		printf("shared16 T=%d policy=%d raw=%d: %.3f M ops/s (util %.2f)\n", T, policy, raw, b / 1e6, u);
		fk_segment_drop(M, &SEG);
	} else if (!strncmp(test, "lookup", 6)) {
		int T = test[6] - '0', churn = test[7] == 'c';
		fk_frame fr[POOL];
		for (int i = 0; i < POOL; i++) { if (fk_alloc_frame(M, 0, 0, 0, 0, &fr[i])) abort(); pool_pa[i] = fk_frame_paddr(&fr[i]); }
		double b = 0, u = 0; atomic_store(&churns, 0);
		for (int r = 0; r < 5; r++) { double x = run_lookup(T, churn); if (x > b) { b = x; u = last_util; } }
		printf("lookup T=%d churn=%d policy=%d lookup=%d: %.3f M ops/s (util %.2f, %ld hot-plug cycles in 5 runs)\n", T, churn, policy, lookup, b / 1e6, u, (long)atomic_load(&churns));
		for (int i = 0; i < POOL; i++) fk_frame_drop(M, &fr[i]);
	} else if (!strcmp(test, "alloc512")) {
		const int N = 200; double be = 1e9, ba = 1e9;
		const struct fk_allocator_ops *ops = fk_allocator_find("lockfree");
		struct fk_alloc_params ap = {0}; int cpu_node[256] = {0}; void *st;
		if (ops->create(&ap, 1, cpu_node, 256, &st) || ops->add_free_memory(st, BASE, NFR, 0)) abort();
		for (int r = 0; r < 60; r++) {
			double t0 = now();
			for (int i = 0; i < N; i++) { fk_segment s; if (fk_alloc_segment(M, 512, 0, 0, 0, 0, &s) || fk_segment_drop(M, &s)) abort(); }
			double e = (now() - t0) / N / 512 * 1e9;
			t0 = now();
			for (int i = 0; i < N; i++) { uint64_t pa; if (ops->alloc(st, 512, 0, 0, 0, &pa) || ops->dealloc(st, pa, 512)) abort(); }
			double a = (now() - t0) / N / 512 * 1e9;
			if (e < be)
				be = e;
			if (a < ba)
				ba = a;
		}
		printf("alloc512 policy=%d raw=%d: end-to-end %.2f ns/frame, allocator alone %.2f ns/frame, core share %.2f ns/frame, ratio %.2fx\n", policy, raw, be, ba, be - ba, be / ba);
		ops->destroy(st);
	} else if (!strcmp(test, "single")) {
		const int N = 20000; double b[5] = {1e9, 1e9, 1e9, 1e9, 1e9};
		fk_segment s; fk_frame f, g;
		if (fk_alloc_segment(M, 16, 0, 0, 0, 0, &s) || fk_alloc_frame(M, 0, 0, 0, 0, &f)) abort();
		for (int r = 0; r < 40; r++) {
			double t0 = now();
			for (int i = 0; i < N; i++) { if (fk_frame_clone(M, &f, &g) || fk_frame_drop(M, &g)) abort(); }
			double x = (now() - t0) / N * 1e9; if (x < b[0]) b[0] = x;
			t0 = now();
			for (int i = 0; i < N; i++) { fk_segment c; if (fk_segment_clone(M, &s, &c) || fk_segment_drop(M, &c)) abort(); }
			x = (now() - t0) / N * 1e9; if (x < b[1]) b[1] = x;
			t0 = now();
			for (int i = 0; i < N; i++) { fk_segment c; if (fk_segment_slice(M, &s, 0, FK_PAGE_SIZE, &c) || fk_segment_drop(M, &c)) abort(); }
			x = (now() - t0) / N * 1e9; if (x < b[2]) b[2] = x;
			t0 = now();
			for (int i = 0; i < N; i++) { fk_segment l, rr; if (fk_segment_split(M, &s, 8 * FK_PAGE_SIZE, &l, &rr)) abort(); s = l; s.end = rr.end; }
			x = (now() - t0) / N * 1e9; if (x < b[3]) b[3] = x;
			t0 = now();
			for (int i = 0; i < N; i++) { fk_frame h; if (fk_segment_next(M, &s, &h) != 1) abort(); s.start -= FK_PAGE_SIZE; }
			x = (now() - t0) / N * 1e9; if (x < b[4]) b[4] = x;
		}
		printf("single policy=%d raw=%d: frame clone+drop %.2f ns, seg16 clone+drop %.2f ns, slice1+drop %.2f ns, split %.2f ns, next %.2f ns\n", policy, raw, b[0], b[1], b[2], b[3], b[4]);
		fk_segment_drop(M, &s); fk_frame_drop(M, &f);
	}
	fk_thread_leave(M);
	return fk_mem_destroy(M, 0) ? 3 : 0;
}
