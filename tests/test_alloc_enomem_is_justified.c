/* SPDX-License-Identifier: MIT */
/*
 * Contract 2 of the allocator plug-in (allocator.h): FK_ENOMEM only when no
 * suitable free block exists, per-CPU caches included. Every registered
 * allocator runs random histories of allocations and frees, single-threaded
 * with the thread hopping between CPUs (so per-CPU caches fill on several
 * CPUs) and multi-threaded; the test's own model of what it holds says
 * whether a 2^k-aligned block of 2^k free frames exists, and a quiescent
 * FK_ENOMEM for a request of n <= 2^k frames while one does is a failure.
 * Issue 8 defect 6 (buddy-pcp stranded frames in per-CPU lists) failed here.
 */
#include "fk_alloc_fix.h"

#define R1_BASE 0x10000ull /* 2 MiB aligned */
#define R1_N    1024ull
#define R2_BASE 0x20003ull /* unaligned start, odd size */
#define R2_N    777ull
#define SPAN_LO 0x10000ull
#define SPAN_HI 0x21000ull

struct held {
	uint64_t pfn, n;
};
#define MAX_HELD 4096

struct hist {
	struct af *f;
	struct af_model m;
	struct held h[MAX_HELD];
	unsigned nh;
	uint64_t rng;
	unsigned enomem, allocs;
};

/* A random request: 2^k frames or a size that rounds up to 2^k. */
static uint64_t rand_size(uint64_t *rng)
{
	unsigned k = (unsigned)(fk_rand_next(rng) % 100);
	k = k < 45 ? 0 : k < 70 ? 1 + (unsigned)(fk_rand_next(rng) % 3) : 4 + (unsigned)(fk_rand_next(rng) % 6);
	uint64_t n = 1ull << k;
	if (k > 1 && fk_rand_next(rng) % 3 == 0)
		n = (n >> 1) + 1 + fk_rand_next(rng) % (n >> 1);
	return n;
}

/* One allocation; on FK_ENOMEM the model must show no free 2^k block.
 * Returns 0 on a contract violation. */
static int hist_alloc(struct hist *t, uint64_t n, unsigned align)
{
	uint64_t pfn;
	int err = af_alloc(t->f, n, align, -1, 0, &pfn);
	if (err == FK_ENOMEM) {
		uint64_t blk = af_model_free_block(&t->m, af_order(n), -1);
		t->enomem++;
		if (blk != UINT64_MAX) {
			struct fk_alloc_stats s = af_stats(t->f, -1);
			fprintf(stderr,
			        "  FK_ENOMEM for %" PRIu64 " frames (align %u) but block 0x%" PRIx64
			        " of order %u is free; held %" PRIu64 " of %" PRIu64
			        ", stats free=%" PRIu64 " cached=%" PRIu64 "\n",
			        n, align, blk, af_order(n), t->m.nr_held, (uint64_t)(R1_N + R2_N),
			        s.free_frames, s.cached_frames);
			return 0;
		}
		return 1;
	}
	if (err != 0) {
		fprintf(stderr, "  alloc(%" PRIu64 ", align %u) -> %s\n", n, align,
		        fk_strerror_name(err));
		return 0;
	}
	t->allocs++;
	if ((pfn & ((1ull << align) - 1)) != 0 || !af_model_mark(&t->m, pfn, n, 1)) {
		fprintf(stderr, "  alloc(%" PRIu64 ", align %u) gave 0x%" PRIx64
		        ": misaligned, outside the ranges or handed out twice\n",
		        n, align, pfn);
		return 0;
	}
	if (t->nh == MAX_HELD) {
		af_model_mark(&t->m, pfn, n, 0);
		return af_dealloc(t->f, pfn, n) == 0;
	}
	t->h[t->nh++] = (struct held){pfn, n};
	return 1;
}

/* Free all of a random holding, or a random sub-range of it. */
static int hist_free(struct hist *t)
{
	if (t->nh == 0)
		return 1;
	unsigned i = (unsigned)(fk_rand_next(&t->rng) % t->nh);
	struct held x = t->h[i];
	uint64_t a = 0, b = x.n;
	if (x.n > 1 && fk_rand_next(&t->rng) % 4 == 0) {
		a = fk_rand_next(&t->rng) % x.n;
		b = a + 1 + fk_rand_next(&t->rng) % (x.n - a);
	}
	int err = af_dealloc(t->f, x.pfn + a, b - a);
	if (err) {
		fprintf(stderr, "  dealloc(0x%" PRIx64 ", %" PRIu64 ") -> %s\n", x.pfn + a, b - a,
		        fk_strerror_name(err));
		return 0;
	}
	af_model_mark(&t->m, x.pfn + a, b - a, 0);
	t->h[i] = t->h[--t->nh];
	if (a > 0)
		t->h[t->nh++] = (struct held){x.pfn, a};
	if (b < x.n)
		t->h[t->nh++] = (struct held){x.pfn + b, x.n - b};
	return 1;
}

static int hist_free_all(struct hist *t)
{
	while (t->nh) {
		t->nh--;
		if (af_dealloc(t->f, t->h[t->nh].pfn, t->h[t->nh].n) != 0)
			return 0;
		af_model_mark(&t->m, t->h[t->nh].pfn, t->h[t->nh].n, 0);
	}
	return 1;
}

static int hist_open(struct hist *t, struct af *f, uint64_t seed)
{
	memset(t, 0, sizeof(*t));
	t->f = f;
	t->rng = seed | 1;
	af_model_init(&t->m, SPAN_LO, SPAN_HI);
	if (af_add(f, R1_BASE, R1_N, 0) || af_add(f, R2_BASE, R2_N, 0))
		return 0;
	af_model_range(&t->m, R1_BASE, R1_N, 0);
	af_model_range(&t->m, R2_BASE, R2_N, 0);
	return 1;
}

/* Everything back: free == total without an explicit drain, and a 2 MiB
 * aligned block can be had (R1 is one). */
static int all_back(struct hist *t)
{
	struct fk_alloc_stats s = af_stats(t->f, -1);
	uint64_t pfn;
	if (s.total_frames != R1_N + R2_N || s.free_frames != R1_N + R2_N) {
		fprintf(stderr, "  after freeing everything: total %" PRIu64 " free %" PRIu64 "\n",
		        s.total_frames, s.free_frames);
		return 0;
	}
	int err = af_alloc(t->f, 512, 9, -1, 0, &pfn);
	if (err) {
		fprintf(stderr, "  aligned 2 MiB allocation after freeing everything -> %s\n",
		        fk_strerror_name(err));
		return 0;
	}
	return (pfn & 511) == 0 && pfn >= R1_BASE && pfn < R1_BASE + R1_N &&
	       af_dealloc(t->f, pfn, 512) == 0;
}

static void alloc_enomem_only_when_no_aligned_free_block(void)
{
	struct af f;
	static struct hist t;
	CHECK_OK(af_open(&f, 1, 0, 0));
	CHECK(hist_open(&t, &f, 0x5eed1234));
	int ok = 1;
	for (int op = 0; ok && op < 30000; op++) {
		if (op % 16 == 0)
			af_migrate(&t.rng);
		/* Drift between filling up and emptying, so both full and
		 * fragmented states occur. */
		unsigned p_alloc = (op / 3000) % 2 ? 40 : 65;
		if (fk_rand_next(&t.rng) % 100 < p_alloc) {
			uint64_t n = rand_size(&t.rng);
			ok = hist_alloc(&t, n, fk_rand_next(&t.rng) % 2 ? af_order(n) : 0);
		} else {
			ok = hist_free(&t);
		}
	}
	CHECK(ok);
	CHECK(t.enomem > 0); /* the history did reach exhaustion */
	CHECK(hist_free_all(&t));
	CHECK(all_back(&t));
	af_model_fini(&t.m);
	af_close(&f);
}

/* Issue 8 defect 6, as reported: free one 8-frame block, then allocate
 * frame by frame: every one of the 1024 frames must come out. */
static void alloc_frame_by_frame_after_freeing_a_block_yields_every_frame(void)
{
	struct af f;
	uint64_t pfn, rng = 99, got = 0;
	static uint64_t frames[R1_N];
	CHECK_OK(af_open(&f, 1, 0, 0));
	CHECK_OK(af_add(&f, R1_BASE, R1_N, 0));
	CHECK_OK(af_alloc(&f, 8, 3, -1, 0, &pfn));
	CHECK_OK(af_dealloc(&f, pfn, 8));
	for (;;) {
		if (got % 8 == 0)
			af_migrate(&rng);
		int err = af_alloc(&f, 1, 0, -1, 0, &pfn);
		if (err == FK_ENOMEM)
			break;
		CHECK_OK(err);
		CHECK(got < R1_N);
		frames[got++] = pfn;
	}
	CHECK_EQ(got, R1_N);
	/* Exhaust, release everything from several CPUs: 2 MiB aligned works. */
	for (uint64_t i = 0; i < got; i++) {
		if (i % 8 == 0)
			af_migrate(&rng);
		CHECK_OK(af_dealloc(&f, frames[i], 1));
	}
	CHECK_OK(af_alloc(&f, 512, 9, -1, 0, &pfn));
	CHECK_OK(af_alloc(&f, 512, 9, -1, 0, &frames[0]));
	CHECK_OK(af_dealloc(&f, pfn, 512));
	CHECK_OK(af_dealloc(&f, frames[0], 512));
	struct fk_alloc_stats s = af_stats(&f, -1);
	CHECK_EQ(s.free_frames, R1_N);
	af_close(&f);
}

/* Several threads churn, then stop holding what they hold; the quiescent
 * allocator must then hand out every free aligned block of every order. */
#define NTHREADS 4
static struct hist th[NTHREADS];

static void *churn(void *p)
{
	struct hist *t = p;
	for (int op = 0; op < 4000; op++) {
		if (fk_rand_next(&t->rng) % 100 < 55) {
			uint64_t n = rand_size(&t->rng), pfn;
			unsigned al = fk_rand_next(&t->rng) % 2 ? af_order(n) : 0;
			int err = af_alloc(t->f, n, al, -1, 0, &pfn);
			if (err == 0 && t->nh < MAX_HELD)
				t->h[t->nh++] = (struct held){pfn, n};
			else if (err == 0)
				af_dealloc(t->f, pfn, n);
			else if (err != FK_ENOMEM)
				t->enomem = 1u << 30; /* flag: unexpected error */
		} else if (t->nh) {
			unsigned i = (unsigned)(fk_rand_next(&t->rng) % t->nh);
			if (af_dealloc(t->f, t->h[i].pfn, t->h[i].n) != 0)
				t->enomem = 1u << 30;
			t->h[i] = t->h[--t->nh];
		}
	}
	return NULL;
}

static void alloc_enomem_after_concurrent_history_means_no_free_block(void)
{
	struct af f;
	static struct hist t;
	pthread_t tid[NTHREADS];
	CHECK_OK(af_open(&f, 1, 0, 0));
	CHECK(hist_open(&t, &f, 0xabcdef));
	for (unsigned i = 0; i < NTHREADS; i++) {
		memset(&th[i], 0, sizeof(th[i]));
		th[i].f = &f;
		th[i].rng = 1000003ull * (i + 1);
		CHECK(pthread_create(&tid[i], NULL, churn, &th[i]) == 0);
	}
	for (unsigned i = 0; i < NTHREADS; i++)
		pthread_join(tid[i], NULL);
	/* Adopt what the threads still hold. */
	for (unsigned i = 0; i < NTHREADS; i++) {
		CHECK(th[i].enomem == 0);
		for (unsigned j = 0; j < th[i].nh; j++) {
			CHECK(af_model_mark(&t.m, th[i].h[j].pfn, th[i].h[j].n, 1));
			CHECK(t.nh < MAX_HELD);
			t.h[t.nh++] = th[i].h[j];
		}
	}
	/* Quiescent: for each order, largest first, take blocks until
	 * FK_ENOMEM; each FK_ENOMEM is checked against the model. */
	for (int k = 9; k >= 0; k--) {
		unsigned before = t.enomem;
		while (t.enomem == before)
			CHECK(hist_alloc(&t, 1ull << k, (unsigned)k));
		CHECK(af_model_free_block(&t.m, (unsigned)k, -1) == UINT64_MAX);
	}
	CHECK_EQ(t.m.nr_held, R1_N + R2_N); /* order 0 took the last frame */
	CHECK(hist_free_all(&t));
	CHECK(all_back(&t));
	af_model_fini(&t.m);
	af_close(&f);
}

int main(int argc, char **argv)
{
	size_t n = af_setup(argc, argv);
	AF_RUN_ALL(alloc_enomem_only_when_no_aligned_free_block);
	AF_RUN_ALL(alloc_frame_by_frame_after_freeing_a_block_yields_every_frame);
	AF_RUN_ALL(alloc_enomem_after_concurrent_history_means_no_free_block);
	if (n < 4)
		return 1;
	return fk_test_finish();
}
