/* SPDX-License-Identifier: MIT */
/*
 * Fixture for the allocator contract tests (tests/test_alloc_*.c): an
 * allocator driven through its public ops table (fk_allocator_find, no
 * fk_mem), the variants to run (every registered allocator, buddy-global
 * with each lock), a model of which frames the test holds, and a runner
 * that runs a test once per variant with an optional name filter (argv[1]).
 *
 * The model is what makes FK_ENOMEM checkable: the test knows every range
 * it added and every frame it holds, so "an aligned free block of order k
 * exists" is a fact it can compute without asking the allocator.
 */
#ifndef FK_ALLOC_FIX_H
#define FK_ALLOC_FIX_H

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#include <framekit/framekit.h>

#include "fk_test.h"
#include "fk_rand.h"

struct af_variant {
	const char *name, *lock;
};
static struct af_variant af_variants[16];
static size_t af_nr_variants;
static const struct af_variant *af_cur;

#define AF_NCPUS 8

struct af {
	const struct fk_allocator_ops *ops;
	void *st;
	unsigned nr_nodes;
	int cpu_node[AF_NCPUS];
};

static inline int af_open(struct af *f, unsigned nr_nodes, unsigned pcp_high, unsigned pcp_batch)
{
	struct fk_alloc_params p;
	memset(&p, 0, sizeof(p));
	memset(f, 0, sizeof(*f));
	f->ops = fk_allocator_find(af_cur->name);
	f->nr_nodes = nr_nodes;
	for (unsigned c = 0; c < AF_NCPUS; c++)
		f->cpu_node[c] = (int)(c % nr_nodes);
	p.lock = af_cur->lock;
	p.nr_cpus = AF_NCPUS;
	p.pcp_high = pcp_high;
	p.pcp_batch = pcp_batch;
	if (!f->ops)
		return FK_ENOENT;
	return f->ops->create(&p, nr_nodes, f->cpu_node, AF_NCPUS, &f->st);
}

static inline void af_close(struct af *f)
{
	f->ops->destroy(f->st);
}

static inline int af_add(struct af *f, uint64_t pfn, uint64_t n, int node)
{
	return f->ops->add_free_memory(f->st, pfn << FK_PAGE_SHIFT, n, node);
}

static inline int af_remove(struct af *f, uint64_t pfn, uint64_t n)
{
	return f->ops->remove_free_memory(f->st, pfn << FK_PAGE_SHIFT, n);
}

static inline int af_alloc(struct af *f, uint64_t n, unsigned align, int node, unsigned flags,
                           uint64_t *pfn)
{
	uint64_t pa = 0;
	int err = f->ops->alloc(f->st, n, align, node, flags, &pa);
	*pfn = pa >> FK_PAGE_SHIFT;
	return err;
}

static inline int af_dealloc(struct af *f, uint64_t pfn, uint64_t n)
{
	return f->ops->dealloc(f->st, pfn << FK_PAGE_SHIFT, n);
}

static inline void af_drain(struct af *f)
{
	if (f->ops->drain)
		f->ops->drain(f->st);
}

/* Stats without draining first (contract 2: free_frames counts cached ones). */
static inline struct fk_alloc_stats af_stats(struct af *f, int node)
{
	struct fk_alloc_stats s;
	memset(&s, 0, sizeof(s));
	if (f->ops->stats(f->st, node, &s))
		s.total_frames = UINT64_MAX;
	return s;
}

/* Smallest k with 2^k >= n. */
static inline unsigned af_order(uint64_t n)
{
	return n <= 1 ? 0u : (unsigned)(64 - __builtin_clzll(n - 1));
}

/* Move the calling thread to a random allowed CPU (best effort), so that a
 * single-threaded history still spreads over several per-CPU caches. */
static inline void af_migrate(uint64_t *rng)
{
	cpu_set_t all, one;
	if (sched_getaffinity(0, sizeof(all), &all) != 0)
		return;
	int n = CPU_COUNT(&all);
	if (n <= 1)
		return;
	int want = (int)(fk_rand_next(rng) % (uint64_t)n);
	for (int c = 0; c < CPU_SETSIZE; c++) {
		if (!CPU_ISSET(c, &all))
			continue;
		if (want-- == 0) {
			CPU_ZERO(&one);
			CPU_SET(c, &one);
			(void)sched_setaffinity(0, sizeof(one), &one);
			sched_yield();
			/* Give the other CPUs back: later moves pick again. */
			(void)sched_setaffinity(0, sizeof(all), &all);
			return;
		}
	}
}

/* ---- the model: ranges added, frames held ---- */

#define AF_MAX_RANGES 8
struct af_model {
	uint64_t base[AF_MAX_RANGES], n[AF_MAX_RANGES];
	int node[AF_MAX_RANGES];
	unsigned nr;
	uint64_t lo, hi;  /* pfn span covered by `held` */
	uint8_t *held;    /* one byte per pfn in [lo, hi) */
	uint64_t nr_held; /* frames */
};

static inline void af_model_init(struct af_model *m, uint64_t lo, uint64_t hi)
{
	memset(m, 0, sizeof(*m));
	m->lo = lo;
	m->hi = hi;
	m->held = calloc((size_t)(hi - lo), 1);
}

static inline void af_model_fini(struct af_model *m)
{
	free(m->held);
}

static inline void af_model_range(struct af_model *m, uint64_t base, uint64_t n, int node)
{
	m->base[m->nr] = base;
	m->n[m->nr] = n;
	m->node[m->nr] = node;
	m->nr++;
}

/* Mark [pfn, pfn+n) held (v = 1) or free (v = 0); returns 0 if any frame
 * is outside every range or already in that state (a double hand-out). */
static inline int af_model_mark(struct af_model *m, uint64_t pfn, uint64_t n, uint8_t v)
{
	int ok = 1;
	for (uint64_t p = pfn; p < pfn + n; p++) {
		int in = 0;
		for (unsigned r = 0; r < m->nr; r++)
			in |= p >= m->base[r] && p < m->base[r] + m->n[r];
		if (!in || p < m->lo || p >= m->hi || m->held[p - m->lo] == v) {
			ok = 0;
			continue;
		}
		m->held[p - m->lo] = v;
	}
	if (ok)
		m->nr_held = v ? m->nr_held + n : m->nr_held - n;
	return ok;
}

/* First 2^k-aligned block of 2^k frames that lies inside one added range
 * (of `node`, or any node when node < 0) and holds no held frame; UINT64_MAX
 * if there is none. */
static inline uint64_t af_model_free_block(const struct af_model *m, unsigned k, int node)
{
	uint64_t sz = 1ull << k;
	for (unsigned r = 0; r < m->nr; r++) {
		if (node >= 0 && m->node[r] != node)
			continue;
		uint64_t end = m->base[r] + m->n[r];
		for (uint64_t a = (m->base[r] + sz - 1) & ~(sz - 1); a + sz <= end; a += sz) {
			uint64_t i = 0;
			while (i < sz && !m->held[a + i - m->lo])
				i++;
			if (i == sz)
				return a;
		}
	}
	return UINT64_MAX;
}

/* ---- runner ---- */

static inline void af_run_all(const char *tname, void (*fn)(void))
{
	char var[64], buf[160];
	for (size_t i = 0; i < af_nr_variants; i++) {
		af_cur = &af_variants[i];
		snprintf(var, sizeof(var), "%s%s%s", af_cur->name, af_cur->lock ? "/" : "",
		         af_cur->lock ? af_cur->lock : "");
		snprintf(buf, sizeof(buf), "%s [%s]", tname, var); /* as printed */
		if (!fk_test_selected(buf))
			continue;
		/* Once: no fk_mem here, so the core variants (fk_run_test runs
		 * each of them) do not apply. */
		fk_test_failed_flag = 0;
		fn();
		fk_test_record(tname, var, fk_test_failed_flag);
	}
}

#define AF_RUN_ALL(fn) af_run_all(#fn, fn)

/* Every registered allocator; buddy-global once per lock type. */
static inline size_t af_setup(int argc, char **argv)
{
	const char *names[16];
	size_t n = fk_allocator_names(names, 16);
	fk_test_args(argc, argv);
	for (size_t i = 0; i < n && i < 16; i++) {
		if (strcmp(names[i], "buddy-global") == 0) {
			af_variants[af_nr_variants++] = (struct af_variant){names[i], "ticket"};
			af_variants[af_nr_variants++] = (struct af_variant){names[i], "mcs"};
			af_variants[af_nr_variants++] = (struct af_variant){names[i], "mutex"};
		} else {
			af_variants[af_nr_variants++] = (struct af_variant){names[i], NULL};
		}
	}
	return n;
}

#endif /* FK_ALLOC_FIX_H */
