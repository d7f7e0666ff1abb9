/* SPDX-License-Identifier: MIT */
/*
 * lockfree never strands free frames: frames that one CPU's reservation
 * covers are reachable from every other CPU without a drain, stats count
 * them as free, and once quiescent an FK_ENOMEM at order k means that no
 * naturally aligned free block of order k exists anywhere (checked against
 * a model of the frames the test holds).
 */
#include "fk_rand.h"
#include "test_lockfree_fix.h"

#define BASE   0x10000ull
#define FRAMES (8 * 512ull)

static uint8_t held[FRAMES]; /* model: 1 = the test holds the frame */

static int model_take(uint64_t pfn, uint64_t n)
{
	if (pfn < BASE || pfn + n > BASE + FRAMES)
		return 0;
	for (uint64_t i = pfn - BASE; i < pfn - BASE + n; i++) {
		if (held[i])
			return 0;
		held[i] = 1;
	}
	return 1;
}

static void model_put(uint64_t pfn, uint64_t n)
{
	for (uint64_t i = pfn - BASE; i < pfn - BASE + n; i++)
		held[i] = 0;
}

/* Does the model have a free naturally aligned block of order k? */
static int model_has_block(unsigned k)
{
	for (uint64_t b = 0; b < FRAMES; b += 1ull << k) {
		uint64_t i = 0;
		while (i < (1ull << k) && !held[b + i])
			i++;
		if (i == (1ull << k))
			return 1;
	}
	return 0;
}

struct churn {
	struct lfx *f;
	uint64_t seed;
	uint64_t pfn[256], n[256];
	unsigned nh;
	int bad;
};

/* Mixed orders on one CPU; keeps about half of what it allocates. */
static void churn(void *p)
{
	struct churn *c = p;
	for (int i = 0; i < 3000; i++) {
		if (c->nh && (c->nh == 256 || fk_rand_below(&c->seed, 2))) {
			unsigned j = (unsigned)fk_rand_below(&c->seed, c->nh);
			model_put(c->pfn[j], c->n[j]);
			if (lfx_free(c->f, c->pfn[j], c->n[j]))
				c->bad = 1;
			c->nh--;
			c->pfn[j] = c->pfn[c->nh];
			c->n[j] = c->n[c->nh];
			continue;
		}
		unsigned k = (unsigned)fk_rand_below(&c->seed, 16);
		k = k < 10 ? 0 : k - 9; /* mostly order 0, some 1..6 */
		uint64_t pfn;
		if (lfx_alloc(c->f, 1ull << k, k, &pfn) == 0) {
			if (!model_take(pfn, 1ull << k))
				c->bad = 2;
			c->pfn[c->nh] = pfn;
			c->n[c->nh++] = 1ull << k;
		}
	}
}

static void give_back(struct lfx *f, struct churn *c)
{
	while (c->nh--) {
		model_put(c->pfn[c->nh], c->n[c->nh]);
		lfx_free(f, c->pfn[c->nh], c->n[c->nh]);
	}
}

static void quiescent_enomem_at_order_k_means_no_aligned_free_block(void)
{
	struct lfx f;
	static struct churn c[2];
	static uint64_t got[FRAMES];
	memset(held, 0, sizeof(held));
	CHECK_OK(lfx_open(&f, 2));
	CHECK_OK(lfx_add(&f, BASE, FRAMES));
	for (unsigned cpu = 0; cpu < 2; cpu++) {
		c[cpu] = (struct churn){.f = &f, .seed = fk_rand_mix(cpu) | 1};
		if (!lfx_run_on(cpu, churn, &c[cpu]))
			churn(&c[cpu]); /* one CPU only: still a valid sequence */
		CHECK_EQ(c[cpu].bad, 0);
	}
	/* No drain: reservations stay as the CPUs left them. */
	for (unsigned k = 0; k <= 10; k++) { /* 10: two areas (a span) */
		unsigned ng = 0;
		uint64_t pfn;
		int err;
		while ((err = lfx_alloc(&f, 1ull << k, k, &pfn)) == 0) {
			CHECK(model_take(pfn, 1ull << k));
			CHECK_EQ(pfn % (1ull << k), 0);
			got[ng++] = pfn;
		}
		CHECK_ERR(err, FK_ENOMEM);
		if (model_has_block(k)) {
			fprintf(stderr, "  order %u: FK_ENOMEM with an aligned free block\n", k);
			CHECK(0);
		}
		while (ng--) {
			model_put(got[ng], 1ull << k);
			CHECK_OK(lfx_free(&f, got[ng], 1ull << k));
		}
	}
	give_back(&f, &c[0]);
	give_back(&f, &c[1]);
	struct fk_alloc_stats s = lfx_stats(&f);
	CHECK_EQ(s.free_frames, FRAMES);
	CHECK_EQ(s.free_blocks[9], FRAMES / 512);
	lfx_close(&f);
}

struct exhaust {
	struct lfx *f;
	uint64_t n;
	int bad;
};

static void reserve_some(void *p)
{
	struct exhaust *e = p;
	uint64_t a, b;
	/* Leaves CPU 0 holding a reservation of a partly used area. */
	if (lfx_alloc(e->f, 1, 0, &a) || lfx_alloc(e->f, 1, 0, &b) || lfx_free(e->f, b, 1))
		e->bad = 1;
	e->n = a;
}

static void take_everything(void *p)
{
	struct exhaust *e = p;
	uint64_t pfn;
	while (lfx_alloc(e->f, 1, 0, &pfn) == 0) {
		if (!model_take(pfn, 1))
			e->bad = 2;
		e->n++;
	}
}

static void frames_reserved_by_one_cpu_are_reachable_from_another(void)
{
	struct lfx f;
	struct exhaust e0 = {.f = &f}, e1 = {.f = &f};
	memset(held, 0, sizeof(held));
	CHECK_OK(lfx_open(&f, 2));
	CHECK_OK(lfx_add(&f, BASE, FRAMES));
	if (!lfx_run_on(0, reserve_some, &e0)) {
		printf("  (skipped: needs CPUs 0 and 1)\n");
		lfx_close(&f);
		return;
	}
	CHECK_EQ(e0.bad, 0);
	CHECK(model_take(e0.n, 1));
	struct fk_alloc_stats s = lfx_stats(&f);
	CHECK_EQ(s.free_frames, FRAMES - 1); /* reserved frames count as free */
	if (!lfx_run_on(1, take_everything, &e1)) {
		printf("  (skipped: needs CPUs 0 and 1)\n");
		lfx_close(&f);
		return;
	}
	CHECK_EQ(e1.bad, 0);
	CHECK_EQ(e1.n, FRAMES - 1); /* without any drain */
	s = lfx_stats(&f);
	CHECK_EQ(s.free_frames, 0);
	for (uint64_t i = 0; i < FRAMES; i++)
		CHECK_OK(lfx_free(&f, BASE + i, 1));
	s = lfx_stats(&f);
	CHECK_EQ(s.free_frames, FRAMES);
	lfx_close(&f);
}

int main(int argc, char **argv)
{
	fk_test_args(argc, argv);
	RUN(quiescent_enomem_at_order_k_means_no_aligned_free_block);
	RUN(frames_reserved_by_one_cpu_are_reachable_from_another);
	return fk_test_finish();
}
