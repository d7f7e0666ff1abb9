/* SPDX-License-Identifier: MIT */
/*
 * lockfree's per-CPU cache (claimed bit-field words, core/LOCKFREE.md
 * "Order 0"): order-0 pairs are served from it, frees of cached frames are
 * still checked, and nothing it holds is ever stranded: another CPU, an
 * order-9 request, drain and removal all reach cached frames, and stats
 * count them as free.
 */
#include "fk_rand.h"
#include "test_lockfree_fix.h"

#define BASE   0x20000ull
#define FRAMES (4 * 512ull)

static struct fk_alloc_stats stats_of(struct lfx *f)
{
	return lfx_stats(f);
}

struct job {
	struct lfx *f;
	uint64_t pfn[FRAMES];
	uint64_t n;
	int bad;
};

/* Allocate every frame one by one (into j->pfn), then free every other. */
static void fill_then_free_half(void *p)
{
	struct job *j = p;
	uint64_t pfn;
	while (j->n < FRAMES && lfx_alloc(j->f, 1, 0, &pfn) == 0)
		j->pfn[j->n++] = pfn;
	for (uint64_t i = 0; i < j->n; i += 2)
		if (lfx_free(j->f, j->pfn[i], 1))
			j->bad = 1;
}

static void take_all_frames(void *p)
{
	struct job *j = p;
	uint64_t pfn;
	while (lfx_alloc(j->f, 1, 0, &pfn) == 0)
		j->pfn[j->n++] = pfn;
}

/* The frames that one CPU freed into its cache go to another CPU, and only
 * then does it see FK_ENOMEM. */
static void frames_cached_on_one_cpu_are_allocated_by_another_before_enomem(void)
{
	struct lfx f;
	static struct job a, b;
	a = (struct job){.f = &f};
	b = (struct job){.f = &f};
	CHECK_OK(lfx_open(&f, 2));
	CHECK_OK(lfx_add(&f, BASE, FRAMES));
	if (!lfx_run_on(0, fill_then_free_half, &a)) {
		printf("  (skipped: needs CPUs 0 and 1)\n");
		lfx_close(&f);
		return;
	}
	CHECK_EQ(a.bad, 0);
	CHECK_EQ(a.n, FRAMES);
	struct fk_alloc_stats s = stats_of(&f);
	CHECK_EQ(s.free_frames, FRAMES / 2); /* cached frames count as free */
	CHECK(s.cached_frames > 0);          /* some of them are in CPU 0's cache */
	if (!lfx_run_on(1, take_all_frames, &b)) {
		printf("  (skipped: needs CPUs 0 and 1)\n");
		lfx_close(&f);
		return;
	}
	CHECK_EQ(b.n, FRAMES / 2); /* every freed frame, caches included */
	s = stats_of(&f);
	CHECK_EQ(s.free_frames, 0);
	CHECK_EQ(s.cached_frames, 0);
	for (uint64_t i = 1; i < a.n; i += 2)
		CHECK_OK(lfx_free(&f, a.pfn[i], 1));
	for (uint64_t i = 0; i < b.n; i++)
		CHECK_OK(lfx_free(&f, b.pfn[i], 1));
	s = stats_of(&f);
	CHECK_EQ(s.free_frames, FRAMES);
	lfx_close(&f);
}

/* Cached frames keep their area from being free; an order-9 request takes
 * the cache back instead of failing. */
static void an_order9_request_retires_the_caches_that_split_its_area(void)
{
	struct lfx f;
	uint64_t pfn[512], huge;
	CHECK_OK(lfx_open(&f, 1));
	CHECK_OK(lfx_add(&f, BASE, 512)); /* one area */
	for (unsigned i = 0; i < 512; i++)
		CHECK_OK(lfx_alloc(&f, 1, 0, &pfn[i]));
	for (unsigned i = 0; i < 512; i++)
		CHECK_OK(lfx_free(&f, pfn[i], 1));
	struct fk_alloc_stats s = stats_of(&f);
	CHECK_EQ(s.free_frames, 512);
	CHECK(s.cached_frames > 0); /* the frees went (partly) to the cache */
	CHECK_OK(lfx_alloc(&f, 512, 9, &huge));
	CHECK_EQ(huge, BASE);
	s = stats_of(&f);
	CHECK_EQ(s.free_frames, 0);
	CHECK_OK(lfx_free(&f, huge, 512));
	s = stats_of(&f);
	CHECK_EQ(s.free_blocks[9], 1);
	lfx_close(&f);
}

/* A cached frame is free: freeing it again is refused and changes nothing. */
static void a_second_free_of_a_cached_frame_is_refused(void)
{
	struct lfx f;
	uint64_t a, b, c;
	CHECK_OK(lfx_open(&f, 1));
	CHECK_OK(lfx_add(&f, BASE, FRAMES));
	CHECK_OK(lfx_alloc(&f, 1, 0, &a));
	CHECK_OK(lfx_alloc(&f, 1, 0, &b));
	CHECK_OK(lfx_free(&f, b, 1)); /* into the cache */
	CHECK_ERR(lfx_free(&f, b, 1), FK_EUNUSED);
	struct fk_alloc_stats s = stats_of(&f);
	CHECK_EQ(s.free_frames, FRAMES - 1);
	if (b == a + 1) /* a range with a cached frame is partly free */
		CHECK_ERR(lfx_free(&f, a, 2), FK_EUNUSED);
	CHECK_EQ(stats_of(&f).free_frames, FRAMES - 1);
	CHECK_OK(lfx_alloc(&f, 1, 0, &c)); /* the cache hands b out once */
	CHECK_EQ(c, b);
	CHECK_OK(lfx_free(&f, c, 1));
	CHECK_OK(lfx_free(&f, a, 1));
	s = stats_of(&f);
	CHECK_EQ(s.free_frames, FRAMES);
	lfx_close(&f);
}

/* Alloc+free pairs on one CPU stay in its cache (the order-0 fast path). */
static void repeated_pairs_are_served_from_the_cache(void)
{
	struct lfx f;
	uint64_t pfn;
	CHECK_OK(lfx_open(&f, 1));
	CHECK_OK(lfx_add(&f, BASE, FRAMES));
	CHECK_OK(lfx_alloc(&f, 1, 0, &pfn));
	CHECK_OK(lfx_free(&f, pfn, 1));
	struct fk_alloc_stats s0 = stats_of(&f);
	for (int i = 0; i < 1000; i++) {
		CHECK_OK(lfx_alloc(&f, 1, 0, &pfn));
		CHECK_OK(lfx_free(&f, pfn, 1));
	}
	struct fk_alloc_stats s1 = stats_of(&f);
	CHECK_EQ(s1.cache_misses - s0.cache_misses, 0);
	CHECK_EQ(s1.cache_hits - s0.cache_hits, 1000);
	CHECK_EQ(s1.free_frames, FRAMES);
	lfx_close(&f);
}

/* Removal counts cached frames as free and pulls them back; drain empties
 * every cache. */
static void removal_and_drain_pull_cached_frames_back(void)
{
	struct lfx f;
	uint64_t pfn[64];
	CHECK_OK(lfx_open(&f, 1));
	CHECK_OK(lfx_add(&f, BASE, 512));
	for (unsigned i = 0; i < 64; i++)
		CHECK_OK(lfx_alloc(&f, 1, 0, &pfn[i]));
	for (unsigned i = 0; i < 64; i++)
		CHECK_OK(lfx_free(&f, pfn[i], 1));
	CHECK(stats_of(&f).cached_frames > 0);
	f.ops->drain(f.st);
	struct fk_alloc_stats s = stats_of(&f);
	CHECK_EQ(s.cached_frames, 0);
	CHECK_EQ(s.free_frames, 512);
	for (unsigned i = 0; i < 64; i++)
		CHECK_OK(lfx_alloc(&f, 1, 0, &pfn[i]));
	for (unsigned i = 0; i < 64; i++)
		CHECK_OK(lfx_free(&f, pfn[i], 1));
	CHECK(stats_of(&f).cached_frames > 0);
	CHECK_OK(lfx_remove(&f, BASE, 512)); /* no drain before */
	s = stats_of(&f);
	CHECK_EQ(s.free_frames, 0);
	CHECK_EQ(s.total_frames, 0);
	uint64_t x;
	CHECK_ERR(lfx_alloc(&f, 1, 0, &x), FK_ENOMEM);
	CHECK_OK(lfx_add(&f, BASE, 512));
	CHECK_EQ(stats_of(&f).free_frames, 512);
	lfx_close(&f);
}

struct mix {
	struct lfx *f;
	unsigned cpu;
	uint64_t seed, held[128];
	unsigned nh;
	_Atomic int *go;
	int bad;
};

/* Order-0 pairs and frees of frames another thread allocated (handed over
 * through a shared pool), so frees land in other CPUs' caches. */
static uint64_t pool[256];
static _Atomic unsigned pool_n;
static _Atomic int pool_lock;

static void pool_put(uint64_t pfn)
{
	int z = 0;
	while (!atomic_compare_exchange_weak(&pool_lock, &z, 1))
		z = 0;
	pool[pool_n++] = pfn; /* callers keep pool_n below 200 + 2 */
	atomic_store(&pool_lock, 0);
}

static int pool_get(uint64_t *pfn)
{
	int z = 0, ok = 0;
	while (!atomic_compare_exchange_weak(&pool_lock, &z, 1))
		z = 0;
	if (pool_n) {
		*pfn = pool[--pool_n];
		ok = 1;
	}
	atomic_store(&pool_lock, 0);
	return ok;
}

static void mixer(void *p)
{
	struct mix *m = p;
	while (!atomic_load(m->go))
		;
	for (int i = 0; i < 20000; i++) {
		uint64_t pfn;
		unsigned r = (unsigned)fk_rand_below(&m->seed, 4);
		if (r == 0 && m->nh < 128 && pool_n < 200) {
			if (lfx_alloc(m->f, 1, 0, &pfn) == 0)
				pool_put(pfn); /* for the other thread to free */
		} else if (r == 1 && pool_get(&pfn)) {
			if (lfx_free(m->f, pfn, 1))
				m->bad = 1;
		} else if (m->nh < 128 && lfx_alloc(m->f, 1, 0, &pfn) == 0) {
			m->held[m->nh++] = pfn;
		} else if (m->nh) {
			unsigned j = (unsigned)fk_rand_below(&m->seed, m->nh);
			if (lfx_free(m->f, m->held[j], 1))
				m->bad = 2;
			m->held[j] = m->held[--m->nh];
		}
	}
}

static void *mixer_main(void *p)
{
	struct mix *m = p;
	lfx_pin(m->cpu); /* best effort: one CPU runs both as well */
	mixer(p);
	return NULL;
}

/* Two CPUs freeing into each other's caches: every frame is accounted for
 * at the end, and all of them can be allocated again. */
static void frees_into_other_cpus_caches_conserve_every_frame(void)
{
	struct lfx f;
	static struct mix m[2];
	_Atomic int go = 0;
	pthread_t t[2];
	CHECK_OK(lfx_open(&f, 2));
	CHECK_OK(lfx_add(&f, BASE, FRAMES));
	pool_n = 0;
	for (unsigned i = 0; i < 2; i++) {
		m[i] = (struct mix){.f = &f, .cpu = i, .seed = fk_rand_mix(i + 7) | 1, .go = &go};
		CHECK(pthread_create(&t[i], NULL, mixer_main, &m[i]) == 0);
	}
	atomic_store(&go, 1);
	for (unsigned i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	CHECK_EQ(m[0].bad, 0);
	CHECK_EQ(m[1].bad, 0);
	uint64_t held = pool_n + m[0].nh + m[1].nh, pfn;
	struct fk_alloc_stats s = stats_of(&f);
	CHECK_EQ(s.free_frames, FRAMES - held);
	static uint64_t all[FRAMES];
	uint64_t n = 0;
	while (lfx_alloc(&f, 1, 0, &pfn) == 0)
		all[n++] = pfn;
	CHECK_EQ(n, FRAMES - held); /* nothing stranded in any cache */
	while (n--)
		CHECK_OK(lfx_free(&f, all[n], 1));
	while (pool_get(&pfn))
		CHECK_OK(lfx_free(&f, pfn, 1));
	for (unsigned i = 0; i < 2; i++)
		while (m[i].nh)
			CHECK_OK(lfx_free(&f, m[i].held[--m[i].nh], 1));
	s = stats_of(&f);
	CHECK_EQ(s.free_frames, FRAMES);
	CHECK_EQ(s.free_blocks[9], FRAMES / 512);
	lfx_close(&f);
}

struct handover {
	struct lfx *f;
	uint64_t pfn[64];
	unsigned n;
	int bad;
};

static void take_64(void *p)
{
	struct handover *h = p;
	for (h->n = 0; h->n < 64; h->n++)
		if (lfx_alloc(h->f, 1, 0, &h->pfn[h->n]))
			h->bad = 1;
}

/* Frees them, then allocates one frame into pfn[0]. */
static void free_64_then_take_one(void *p)
{
	struct handover *h = p;
	for (unsigned i = 0; i < h->n; i++)
		if (lfx_free(h->f, h->pfn[i], 1))
			h->bad = 2;
	if (lfx_alloc(h->f, 1, 0, &h->pfn[0]))
		h->bad = 3;
}

/* CPU 1 frees frames that CPU 0 took from its area: they go back to that
 * area, not into CPU 1's cache, so CPU 1 does not write CPU 0's bit-field
 * lines from then on (its next frame comes from an area of its own). */
static void frees_of_another_cpus_frames_leave_them_in_its_area(void)
{
	struct lfx f;
	static struct handover h;
	h = (struct handover){.f = &f};
	CHECK_OK(lfx_open(&f, 2));
	CHECK_OK(lfx_add(&f, BASE, FRAMES));
	if (!lfx_run_on(0, take_64, &h)) {
		printf("  (skipped: needs CPUs 0 and 1)\n");
		lfx_close(&f);
		return;
	}
	CHECK_EQ(h.bad, 0);
	uint64_t area0 = h.pfn[0] / 512;
	for (unsigned i = 0; i < 64; i++)
		CHECK_EQ(h.pfn[i] / 512, area0); /* CPU 0's reserved area */
	if (!lfx_run_on(1, free_64_then_take_one, &h)) {
		printf("  (skipped: needs CPUs 0 and 1)\n");
		lfx_close(&f);
		return;
	}
	CHECK_EQ(h.bad, 0);
	CHECK(h.pfn[0] / 512 != area0);
	CHECK_OK(lfx_free(&f, h.pfn[0], 1));
	CHECK_EQ(stats_of(&f).free_frames, FRAMES);
	lfx_close(&f);
}

int main(int argc, char **argv)
{
	fk_test_args(argc, argv);
	RUN(frames_cached_on_one_cpu_are_allocated_by_another_before_enomem);
	RUN(an_order9_request_retires_the_caches_that_split_its_area);
	RUN(a_second_free_of_a_cached_frame_is_refused);
	RUN(repeated_pairs_are_served_from_the_cache);
	RUN(removal_and_drain_pull_cached_frames_back);
	RUN(frees_into_other_cpus_caches_conserve_every_frame);
	RUN(frees_of_another_cpus_frames_leave_them_in_its_area);
	return fk_test_finish();
}
