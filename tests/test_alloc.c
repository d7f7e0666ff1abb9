/* SPDX-License-Identifier: MIT */
/*
 * The frame allocators through their ops table (no fk_mem): every test runs
 * for every built-in allocator (fk_allocator_names) and, for buddy-global,
 * every lock type. A bitmap of owned frames proves that no frame is handed
 * out twice; conservation (free == total after drain) closes each test.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#include "alloc_internal.h"
#include "fk_alloc_fix.h"

#define NODE_PFN(n) (0x10000ull * ((uint64_t)(n) + 1)) /* 2 MiB aligned */
#define MAX_PFN     (0x10000ull * 6)

static int fix_open(struct af *f, unsigned nr_nodes)
{
	return af_open(f, nr_nodes, 0, 0);
}

/* Conservation is judged after a drain, so every cached frame is back. */
static struct fk_alloc_stats stats(struct af *f, int node)
{
	af_drain(f);
	return af_stats(f, node);
}

/* ---- ownership bitmap ---- */

static _Atomic uint64_t owned[MAX_PFN / 64];

static void owned_reset(void)
{
	for (size_t i = 0; i < MAX_PFN / 64; i++)
		atomic_store_explicit(&owned[i], 0, memory_order_relaxed);
}

/* Mark [pfn, pfn+n) owned; 0 if any frame was owned already. */
static int own(uint64_t pfn, uint64_t n)
{
	int ok = pfn + n <= MAX_PFN;
	for (uint64_t i = pfn; ok && i < pfn + n; i++)
		if (atomic_fetch_or_explicit(&owned[i / 64], 1ull << (i % 64),
		                             memory_order_relaxed) &
		    (1ull << (i % 64)))
			ok = 0;
	return ok;
}

static void disown(uint64_t pfn, uint64_t n)
{
	for (uint64_t i = pfn; i < pfn + n; i++)
		atomic_fetch_and_explicit(&owned[i / 64], ~(1ull << (i % 64)),
		                          memory_order_relaxed);
}

/* ---- tests ---- */

static void alloc_exhaust_and_refill_hands_out_every_frame_once(void)
{
	struct af f;
	const uint64_t base = NODE_PFN(0) + 13, n = 2048 + 37; /* partial areas at both edges */
	static uint64_t got[2048 + 37];
	CHECK_OK(fix_open(&f, 1));
	CHECK_OK(af_add(&f, base, n, 0));
	for (int round = 0; round < 2; round++) {
		uint64_t k = 0, pfn;
		owned_reset();
		while (af_alloc(&f, 1, 0, 0, 0, &pfn) == 0) {
			CHECK(k < n);
			CHECK(pfn >= base && pfn < base + n);
			CHECK(own(pfn, 1));
			got[k++] = pfn;
		}
		CHECK_EQ(k, n);
		CHECK_ERR(af_alloc(&f, 1, 0, 0, 0, &pfn), FK_ENOMEM);
		CHECK_EQ(stats(&f, -1).free_frames, 0);
		uint64_t seed = 0x9e3779b97f4a7c15ull + (uint64_t)round;
		for (uint64_t i = n - 1; i > 0; i--) { /* free in random order */
			uint64_t j = fk_rand_next(&seed) % (i + 1), t = got[i];
			got[i] = got[j];
			got[j] = t;
		}
		for (uint64_t i = 0; i < n; i++)
			CHECK_OK(af_dealloc(&f, got[i], 1));
		struct fk_alloc_stats s = stats(&f, -1);
		CHECK_EQ(s.free_frames, n);
		CHECK_EQ(s.total_frames, n);
	}
	af_close(&f);
}

static void alloc_mixed_orders_never_overlap(void)
{
	struct af f;
	struct {
		uint64_t pfn, n;
	} held[64];
	unsigned nh = 0;
	uint64_t seed = 42, total = 4096;
	CHECK_OK(fix_open(&f, 1));
	CHECK_OK(af_add(&f, NODE_PFN(0), total, 0));
	owned_reset();
	for (int it = 0; it < 3000; it++) {
		if (nh < 64 && (fk_rand_next(&seed) % 3 != 0 || nh == 0)) {
			unsigned o = (unsigned)(fk_rand_next(&seed) % FK_MAX_ORDER);
			uint64_t pfn;
			int err = af_alloc(&f, 1ull << o, o, 0, 0, &pfn);
			if (err == FK_ENOMEM)
				continue;
			CHECK_OK(err);
			CHECK((pfn & ((1ull << o) - 1)) == 0);
			CHECK(pfn >= NODE_PFN(0) && pfn + (1ull << o) <= NODE_PFN(0) + total);
			CHECK(own(pfn, 1ull << o));
			held[nh].pfn = pfn;
			held[nh++].n = 1ull << o;
		} else {
			unsigned i = (unsigned)(fk_rand_next(&seed) % nh);
			disown(held[i].pfn, held[i].n);
			CHECK_OK(af_dealloc(&f, held[i].pfn, held[i].n));
			held[i] = held[--nh];
		}
	}
	while (nh) {
		nh--;
		disown(held[nh].pfn, held[nh].n);
		CHECK_OK(af_dealloc(&f, held[nh].pfn, held[nh].n));
	}
	CHECK_EQ(stats(&f, -1).free_frames, total);
	for (int i = 0; i < 8; i++) { /* everything coalesced: 8 huge pages */
		uint64_t pfn;
		CHECK_OK(af_alloc(&f, 512, 9, 0, 0, &pfn));
	}
	af_close(&f);
}

static void alloc_power_of_two_sizes_are_naturally_aligned(void)
{
	struct af f;
	CHECK_OK(fix_open(&f, 1));
	CHECK_OK(af_add(&f, NODE_PFN(0) + 1, 4095, 0));
	for (unsigned o = 0; o < FK_MAX_ORDER; o++) {
		uint64_t pfn, pad;
		CHECK_OK(af_alloc(&f, 1, 0, 0, 0, &pad)); /* disturb the layout */
		CHECK_OK(af_alloc(&f, 1ull << o, o, 0, 0, &pfn));
		CHECK((pfn & ((1ull << o) - 1)) == 0);
		CHECK_OK(af_dealloc(&f, pfn, 1ull << o));
		CHECK_OK(af_alloc(&f, 1ull << o, 0, 0, FK_ALLOC_ALIGNED, &pfn));
		CHECK((pfn & ((1ull << o) - 1)) == 0);
		CHECK_OK(af_dealloc(&f, pfn, 1ull << o));
		CHECK_OK(af_dealloc(&f, pad, 1));
	}
	CHECK_EQ(stats(&f, -1).free_frames, 4095);
	af_close(&f);
}

static void alloc_non_power_of_two_sizes_are_exact(void)
{
	static const uint64_t sizes[] = {3, 5, 33, 100, 300, 511, 700, 1500};
	struct af f;
	const uint64_t total = 4096;
	CHECK_OK(fix_open(&f, 1));
	CHECK_OK(af_add(&f, NODE_PFN(0), total, 0));
	owned_reset();
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		uint64_t n = sizes[i], pfn;
		CHECK_OK(af_alloc(&f, n, 0, 0, 0, &pfn));
		CHECK(own(pfn, n));
		/* the rounded-up tail went back: free == total - allocated */
		struct fk_alloc_stats s = stats(&f, -1);
		CHECK_EQ(s.free_frames, total - n);
		/* give it back in two pieces, tail first */
		disown(pfn, n);
		CHECK_OK(af_dealloc(&f, pfn + n / 2, n - n / 2));
		CHECK_OK(af_dealloc(&f, pfn, n / 2));
		CHECK_EQ(stats(&f, -1).free_frames, total);
	}
	af_close(&f);
}

static void alloc_partial_frees_coalesce_back_to_order9(void)
{
	struct af f;
	uint64_t pfn, again;
	CHECK_OK(fix_open(&f, 1));
	CHECK_OK(af_add(&f, NODE_PFN(0), 512, 0));
	CHECK_OK(af_alloc(&f, 512, 9, 0, 0, &pfn));
	CHECK_EQ(pfn, NODE_PFN(0));
	/* sub-ranges of the huge page, in scattered order */
	CHECK_OK(af_dealloc(&f, pfn + 100, 128));
	CHECK_OK(af_dealloc(&f, pfn + 3, 97));
	CHECK_OK(af_dealloc(&f, pfn + 300, 212));
	CHECK_OK(af_dealloc(&f, pfn, 3));
	CHECK_OK(af_dealloc(&f, pfn + 228, 72));
	af_drain(&f);
	CHECK_OK(af_alloc(&f, 512, 9, 0, 0, &again));
	CHECK_EQ(again, pfn);
	CHECK_OK(af_dealloc(&f, again, 512));
	/* 512 single frames freed in reverse order */
	static uint64_t one[512];
	for (int i = 0; i < 512; i++)
		CHECK_OK(af_alloc(&f, 1, 0, 0, 0, &one[i]));
	CHECK_ERR(af_alloc(&f, 1, 0, 0, 0, &again), FK_ENOMEM);
	for (int i = 511; i >= 0; i--)
		CHECK_OK(af_dealloc(&f, one[i], 1));
	af_drain(&f);
	CHECK_OK(af_alloc(&f, 512, 9, 0, 0, &again));
	CHECK_OK(af_dealloc(&f, again, 512));
	CHECK_EQ(stats(&f, -1).free_frames, 512);
	af_close(&f);
}

static void fallback_across(unsigned nodes)
{
	struct af f;
	uint64_t pfn, held[512];
	CHECK_OK(fix_open(&f, nodes));
	for (unsigned n = 0; n < nodes; n++)
		CHECK_OK(af_add(&f, NODE_PFN(n), 512, (int)n));
	for (int i = 0; i < 512; i++) {
		CHECK_OK(af_alloc(&f, 1, 0, 0, FK_ALLOC_NODE_STRICT, &held[i]));
		CHECK(held[i] >= NODE_PFN(0) && held[i] < NODE_PFN(0) + 512);
	}
	CHECK_ERR(af_alloc(&f, 1, 0, 0, FK_ALLOC_NODE_STRICT, &pfn), FK_ENOMEM);
	CHECK_EQ(stats(&f, 0).free_frames, 0);
	/* Not strict: served by another node, and counted as a fallback. */
	CHECK_OK(af_alloc(&f, 1, 0, 0, 0, &pfn));
	CHECK(pfn >= NODE_PFN(1) && pfn < NODE_PFN(nodes));
	unsigned other = (unsigned)((pfn >> 16) - 1);
	CHECK_EQ(stats(&f, (int)other).free_frames, 511);
	CHECK(stats(&f, -1).fallback_allocs >= 1);
	/* Frees go back to the frame's own node. */
	CHECK_OK(af_dealloc(&f, pfn, 1));
	CHECK_EQ(stats(&f, (int)other).free_frames, 512);
	CHECK_OK(af_dealloc(&f, held[7], 1));
	CHECK_EQ(stats(&f, 0).free_frames, 1);
	CHECK_OK(af_alloc(&f, 1, 0, 0, FK_ALLOC_NODE_STRICT, &pfn));
	CHECK_EQ(pfn, held[7]);
	for (int i = 0; i < 512; i++)
		CHECK_OK(af_dealloc(&f, held[i], 1));
	for (unsigned n = 0; n < nodes; n++) {
		struct fk_alloc_stats s = stats(&f, (int)n);
		CHECK_EQ(s.free_frames, 512);
		CHECK_EQ(s.total_frames, 512);
	}
	CHECK_EQ(stats(&f, -1).total_frames, 512ull * nodes);
	af_close(&f);
}

static void alloc_falls_back_across_2_nodes_unless_strict(void)
{
	fallback_across(2);
}

static void alloc_falls_back_across_4_nodes_unless_strict(void)
{
	fallback_across(4);
}

static void alloc_out_of_memory_leaves_state_intact(void)
{
	struct af f;
	uint64_t pfn, held[1024];
	CHECK_OK(fix_open(&f, 1));
	CHECK_OK(af_add(&f, NODE_PFN(0), 1024, 0));
	CHECK_ERR(af_alloc(&f, 1025, 0, 0, 0, &pfn), FK_ENOMEM);
	CHECK_ERR(af_alloc(&f, 2048, 11, 0, 0, &pfn), FK_ENOMEM);
	CHECK_EQ(stats(&f, -1).free_frames, 1024);
	for (int i = 0; i < 1024; i++)
		CHECK_OK(af_alloc(&f, 1, 0, 0, 0, &held[i]));
	/* free every other frame: 512 free, no two adjacent */
	owned_reset();
	for (int i = 0; i < 1024; i++)
		CHECK(own(held[i], 1));
	int freed = 0;
	for (int i = 0; i < 1024; i++)
		if (held[i] % 2 == 0) {
			CHECK_OK(af_dealloc(&f, held[i], 1));
			freed++;
		}
	CHECK_EQ(freed, 512);
	CHECK_EQ(stats(&f, -1).free_frames, 512);
	CHECK_ERR(af_alloc(&f, 2, 1, 0, 0, &pfn), FK_ENOMEM);
	CHECK_ERR(af_alloc(&f, 512, 9, 0, 0, &pfn), FK_ENOMEM);
	CHECK_EQ(stats(&f, -1).free_frames, 512);
	/* a failed double free changes nothing either */
	uint64_t even = held[0] % 2 == 0 ? held[0] : held[1];
	CHECK_ERR(af_dealloc(&f, even, 1), FK_EUNUSED);
	CHECK_EQ(stats(&f, -1).free_frames, 512);
	for (int i = 0; i < 1024; i++)
		if (held[i] % 2)
			CHECK_OK(af_dealloc(&f, held[i], 1));
	CHECK_EQ(stats(&f, -1).free_frames, 1024);
	CHECK_OK(af_alloc(&f, 1024, 0, 0, 0, &pfn));
	CHECK_OK(af_dealloc(&f, pfn, 1024));
	af_close(&f);
}

static void alloc_double_free_is_rejected(void)
{
	struct af f;
	uint64_t pfn;
	CHECK_OK(fix_open(&f, 1));
	CHECK_OK(af_add(&f, NODE_PFN(0), 1024, 0));
	CHECK_OK(af_alloc(&f, 4, 2, 0, 0, &pfn));
	CHECK_OK(af_dealloc(&f, pfn, 4));
	CHECK_ERR(af_dealloc(&f, pfn, 4), FK_EUNUSED);
	CHECK_ERR(af_dealloc(&f, pfn + 1, 1), FK_EUNUSED);
	CHECK_EQ(stats(&f, -1).free_frames, 1024);
	CHECK_ERR(af_add(&f, NODE_PFN(0) + 100, 10, 0), FK_EEXIST);
	CHECK_EQ(stats(&f, -1).total_frames, 1024);
	af_close(&f);
}

static void remove_free_memory_refused_while_allocated(void)
{
	struct af f;
	uint64_t pfn, q;
	CHECK_OK(fix_open(&f, 2));
	CHECK_OK(af_add(&f, NODE_PFN(0), 1024, 0));
	CHECK_OK(af_add(&f, NODE_PFN(1) + 5, 600, 1));
	CHECK_OK(af_alloc(&f, 1, 0, 1, FK_ALLOC_NODE_STRICT, &pfn));
	CHECK(pfn >= NODE_PFN(1));
	struct fk_alloc_stats before = stats(&f, 1);
	CHECK_ERR(f.ops->remove_free_memory(f.st, (NODE_PFN(1) + 5) << FK_PAGE_SHIFT, 600),
	          FK_EBUSY);
	struct fk_alloc_stats after = stats(&f, 1);
	CHECK_EQ(after.free_frames, before.free_frames);
	CHECK_EQ(after.total_frames, 600);
	CHECK_OK(af_alloc(&f, 1, 0, 1, FK_ALLOC_NODE_STRICT, &q)); /* still usable */
	CHECK_OK(af_dealloc(&f, q, 1));
	CHECK_OK(af_dealloc(&f, pfn, 1));
	af_drain(&f);
	CHECK_OK(f.ops->remove_free_memory(f.st, (NODE_PFN(1) + 5) << FK_PAGE_SHIFT, 600));
	CHECK_EQ(stats(&f, 1).total_frames, 0);
	CHECK_EQ(stats(&f, 1).free_frames, 0);
	CHECK_ERR(af_alloc(&f, 1, 0, 1, FK_ALLOC_NODE_STRICT, &pfn), FK_ENOMEM);
	CHECK_EQ(stats(&f, -1).total_frames, 1024);
	/* hot-plug back */
	CHECK_OK(af_add(&f, NODE_PFN(1) + 5, 600, 1));
	CHECK_OK(af_alloc(&f, 1, 0, 1, FK_ALLOC_NODE_STRICT, &pfn));
	CHECK(pfn >= NODE_PFN(1) + 5 && pfn < NODE_PFN(1) + 605);
	CHECK_OK(af_dealloc(&f, pfn, 1));
	CHECK_EQ(stats(&f, -1).free_frames, 1624);
	/* and once more, now on the other node */
	CHECK_OK(f.ops->remove_free_memory(f.st, (NODE_PFN(1) + 5) << FK_PAGE_SHIFT, 600));
	CHECK_OK(af_add(&f, NODE_PFN(1) + 5, 600, 0));
	CHECK_EQ(stats(&f, 0).total_frames, 1624);
	CHECK_EQ(stats(&f, 1).total_frames, 0);
	CHECK_ERR(af_alloc(&f, 1, 0, 1, FK_ALLOC_NODE_STRICT, &pfn), FK_ENOMEM);
	CHECK_OK(af_alloc(&f, 512, 9, 0, FK_ALLOC_NODE_STRICT, &pfn)); /* node 0's own area */
	CHECK_OK(af_alloc(&f, 100, 0, 0, FK_ALLOC_NODE_STRICT, &q));
	CHECK(q < NODE_PFN(1) + 605);
	CHECK_OK(af_dealloc(&f, q, 100));
	CHECK_OK(af_dealloc(&f, pfn, 512));
	CHECK_EQ(stats(&f, 0).free_frames, 1624);
	af_close(&f);
}

static void alloc_stats_are_per_node(void)
{
	struct af f;
	uint64_t a[10], b[3];
	CHECK_OK(fix_open(&f, 2));
	CHECK_OK(af_add(&f, NODE_PFN(0), 1024, 0));
	CHECK_OK(af_add(&f, NODE_PFN(1), 512, 1));
	for (int i = 0; i < 10; i++)
		CHECK_OK(af_alloc(&f, 1, 0, 0, FK_ALLOC_NODE_STRICT, &a[i]));
	for (int i = 0; i < 3; i++)
		CHECK_OK(af_alloc(&f, 2, 1, 1, FK_ALLOC_NODE_STRICT, &b[i]));
	struct fk_alloc_stats s0 = stats(&f, 0), s1 = stats(&f, 1), all = stats(&f, -1);
	CHECK_EQ(s0.total_frames, 1024);
	CHECK_EQ(s0.free_frames, 1014);
	CHECK_EQ(s1.total_frames, 512);
	CHECK_EQ(s1.free_frames, 506);
	CHECK_EQ(all.total_frames, 1536);
	CHECK_EQ(all.free_frames, 1520);
	CHECK_EQ(all.allocs, 13);
	for (int i = 0; i < 10; i++)
		CHECK_OK(af_dealloc(&f, a[i], 1));
	for (int i = 0; i < 3; i++)
		CHECK_OK(af_dealloc(&f, b[i], 2));
	all = stats(&f, -1);
	CHECK_EQ(all.frees, 13);
	CHECK_EQ(all.free_frames, 1536);
	if (strcmp(af_cur->name, "simple") != 0) { /* simple keeps totals only */
		CHECK_EQ(stats(&f, 0).allocs, 10);
		CHECK_EQ(stats(&f, 1).allocs, 3);
		uint64_t blocks = 0;
		for (int o = 0; o < FK_MAX_ORDER; o++)
			blocks += stats(&f, 1).free_blocks[o] << o;
		CHECK_EQ(blocks, 512);
	}
	af_close(&f);
}

/* ---- concurrency ---- */

#define CT_ITERS 4000
#define CT_HOLD  16

struct ct_arg {
	struct af *f;
	unsigned id;
	int failed;
};

static void *ct_worker(void *p)
{
	struct ct_arg *a = p;
	struct {
		uint64_t pfn, n;
	} held[CT_HOLD];
	unsigned nh = 0;
	uint64_t seed = 0x1234567ull * (a->id + 1);
	for (int it = 0; it < CT_ITERS && !a->failed; it++) {
		if (nh < CT_HOLD && (fk_rand_next(&seed) & 1)) {
			uint64_t r = fk_rand_next(&seed) % 64, pfn;
			unsigned o = r < 40 ? 0 : r < 52 ? 1 : r < 60 ? 3 : r < 63 ? 5 : 9;
			uint64_t n = r == 57 ? 3 : 1ull << o; /* an odd size now and then */
			int node = (int)(fk_rand_next(&seed) % a->f->nr_nodes);
			int err = af_alloc(a->f, n, n == 3 ? 0 : o, node, 0, &pfn);
			if (err == FK_ENOMEM)
				continue;
			if (err || !own(pfn, n)) {
				a->failed = 1;
				break;
			}
			held[nh].pfn = pfn;
			held[nh++].n = n;
		} else if (nh) {
			unsigned i = (unsigned)(fk_rand_next(&seed) % nh);
			disown(held[i].pfn, held[i].n);
			/* huge pages come back in two halves, as the core may do */
			if (held[i].n == 512) {
				if (af_dealloc(a->f, held[i].pfn + 256, 256) ||
				    af_dealloc(a->f, held[i].pfn, 256))
					a->failed = 2;
			} else if (af_dealloc(a->f, held[i].pfn, held[i].n)) {
				a->failed = 3;
			}
			held[i] = held[--nh];
		}
	}
	while (nh--) {
		disown(held[nh].pfn, held[nh].n);
		if (af_dealloc(a->f, held[nh].pfn, held[nh].n))
			a->failed = 4;
	}
	return NULL;
}

static void concurrent(unsigned threads)
{
	struct af f;
	pthread_t t[8];
	struct ct_arg arg[8];
	CHECK_OK(fix_open(&f, 2));
	CHECK_OK(af_add(&f, NODE_PFN(0), 2048, 0));
	CHECK_OK(af_add(&f, NODE_PFN(1) + 1, 2047, 1));
	owned_reset();
	for (unsigned i = 0; i < threads; i++) {
		arg[i] = (struct ct_arg){.f = &f, .id = i};
		CHECK(pthread_create(&t[i], NULL, ct_worker, &arg[i]) == 0);
	}
	for (unsigned i = 0; i < threads; i++)
		pthread_join(t[i], NULL);
	for (unsigned i = 0; i < threads; i++)
		CHECK_EQ(arg[i].failed, 0);
	struct fk_alloc_stats s = stats(&f, -1);
	CHECK_EQ(s.total_frames, 4095);
	CHECK_EQ(s.free_frames, 4095);
	uint64_t pfn;
	CHECK_OK(af_alloc(&f, 512, 9, 0, FK_ALLOC_NODE_STRICT, &pfn)); /* nothing leaked */
	CHECK_OK(af_dealloc(&f, pfn, 512));
	af_close(&f);
}

static void alloc_concurrent_4_threads_conserve_frames(void)
{
	concurrent(4);
}

static void alloc_concurrent_8_threads_conserve_frames(void)
{
	concurrent(8);
}

/* Hot-remove races: while workers allocate and free, the main thread
 * removes and re-adds a region; a successful removal must own every frame. */

struct rm_arg {
	struct af *f;
	unsigned id;
	_Atomic int *stop, *started;
	int failed;
};

static void *rm_worker(void *p)
{
	struct rm_arg *a = p;
	uint64_t held[8], seed = 77 + a->id;
	unsigned nh = 0;
	/* relaxed: start/stop flags; the join orders the rest */
	atomic_fetch_add_explicit(a->started, 1, memory_order_relaxed);
	for (int it = 0; it < 200000 && !atomic_load_explicit(a->stop, memory_order_relaxed);
	     it++) {
		uint64_t pfn;
		if (nh < 8 && fk_rand_next(&seed) % 2) {
			int err = af_alloc(a->f, 1, 0, 0, FK_ALLOC_NODE_STRICT, &pfn);
			if (err == FK_ENOMEM)
				continue;
			if (err || !own(pfn, 1)) {
				a->failed = 1;
				break;
			}
			held[nh++] = pfn;
		} else if (nh) {
			unsigned i = (unsigned)(fk_rand_next(&seed) % nh);
			disown(held[i], 1);
			if (af_dealloc(a->f, held[i], 1))
				a->failed = 2;
			held[i] = held[--nh];
		}
	}
	while (nh--) {
		disown(held[nh], 1);
		if (af_dealloc(a->f, held[nh], 1))
			a->failed = 3;
	}
	return NULL;
}

static void remove_free_memory_races_with_allocators_safely(void)
{
	struct af f;
	pthread_t t[2];
	struct rm_arg arg[2];
	_Atomic int stop = 0, started = 0;
	const uint64_t r2 = NODE_PFN(0) + 1024, n2 = 512;
	int removed = 0, busy = 0;
	CHECK_OK(fix_open(&f, 1));
	CHECK_OK(af_add(&f, NODE_PFN(0), 8, 0)); /* small: the workers spill into r2 */
	CHECK_OK(af_add(&f, r2, n2, 0));
	owned_reset();
	for (unsigned i = 0; i < 2; i++) {
		arg[i] = (struct rm_arg){.f = &f, .id = i, .stop = &stop, .started = &started};
		CHECK(pthread_create(&t[i], NULL, rm_worker, &arg[i]) == 0);
	}
	while (atomic_load_explicit(&started, memory_order_relaxed) < 2)
		sched_yield();
	for (int k = 0; k < 300; k++) {
		int err = f.ops->remove_free_memory(f.st, r2 << FK_PAGE_SHIFT, n2);
		if (err == FK_EBUSY) {
			busy++;
			sched_yield();
			continue;
		}
		if (err != 0 || !own(r2, n2)) { /* nobody may hold a removed frame */
			atomic_store_explicit(&stop, 1, memory_order_relaxed);
			removed = -1;
			break;
		}
		removed++;
		sched_yield(); /* let the workers find it gone */
		disown(r2, n2);
		if (af_add(&f, r2, n2, 0) != 0) {
			removed = -1;
			break;
		}
		sched_yield(); /* and let them use it again */
	}
	atomic_store_explicit(&stop, 1, memory_order_relaxed);
	for (unsigned i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	CHECK(removed >= 0);
	if (getenv("FK_TEST_VERBOSE"))
		fprintf(stderr, "  %d removals, %d refused\n", removed, busy);
	for (unsigned i = 0; i < 2; i++)
		CHECK_EQ(arg[i].failed, 0);
	struct fk_alloc_stats s = stats(&f, -1);
	CHECK_EQ(s.total_frames, 8 + n2);
	CHECK_EQ(s.free_frames, 8 + n2);
	af_close(&f);
}

int main(int argc, char **argv)
{
	size_t n = af_setup(argc, argv);
	if (n < 4)
		fprintf(stderr, "only %zu allocators registered\n", n);
	AF_RUN_ALL(alloc_exhaust_and_refill_hands_out_every_frame_once);
	AF_RUN_ALL(alloc_mixed_orders_never_overlap);
	AF_RUN_ALL(alloc_power_of_two_sizes_are_naturally_aligned);
	AF_RUN_ALL(alloc_non_power_of_two_sizes_are_exact);
	AF_RUN_ALL(alloc_partial_frees_coalesce_back_to_order9);
	AF_RUN_ALL(alloc_falls_back_across_2_nodes_unless_strict);
	AF_RUN_ALL(alloc_falls_back_across_4_nodes_unless_strict);
	AF_RUN_ALL(alloc_out_of_memory_leaves_state_intact);
	AF_RUN_ALL(alloc_double_free_is_rejected);
	AF_RUN_ALL(remove_free_memory_refused_while_allocated);
	AF_RUN_ALL(alloc_stats_are_per_node);
	AF_RUN_ALL(remove_free_memory_races_with_allocators_safely);
	AF_RUN_ALL(alloc_concurrent_4_threads_conserve_frames);
	AF_RUN_ALL(alloc_concurrent_8_threads_conserve_frames);
	if (n < 4)
		return 1;
	return fk_test_finish();
}
