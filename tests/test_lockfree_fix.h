/* SPDX-License-Identifier: MIT */
/*
 * Shared fixture of the tests/test_lockfree_*.c binaries: the lockfree
 * allocator through its ops table (no fk_mem), simulated CPUs as threads
 * pinned with sched affinity (CPU c of the allocator = online CPU c), and a
 * model of the frames the test holds, to judge every FK_ENOMEM.
 */
#ifndef TEST_LOCKFREE_FIX_H
#define TEST_LOCKFREE_FIX_H

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <unistd.h>

#include "alloc_internal.h"
#include "fk_test.h"

struct lfx {
	const struct fk_allocator_ops *ops;
	void *st;
	int cpu_node[64];
};

static inline int lfx_open(struct lfx *f, unsigned nr_cpus)
{
	struct fk_alloc_params p = {0};
	memset(f, 0, sizeof(*f));
	f->ops = &fk_alloc_lockfree_ops;
	p.nr_cpus = nr_cpus;
	return f->ops->create(&p, 1, f->cpu_node, nr_cpus, &f->st);
}

static inline void lfx_close(struct lfx *f)
{
	f->ops->destroy(f->st);
}

static inline int lfx_add(struct lfx *f, uint64_t pfn, uint64_t n)
{
	return f->ops->add_free_memory(f->st, pfn << FK_PAGE_SHIFT, n, 0);
}

static inline int lfx_remove(struct lfx *f, uint64_t pfn, uint64_t n)
{
	return f->ops->remove_free_memory(f->st, pfn << FK_PAGE_SHIFT, n);
}

static inline int lfx_alloc(struct lfx *f, uint64_t n, unsigned align, uint64_t *pfn)
{
	uint64_t pa = 0;
	int err = f->ops->alloc(f->st, n, align, -1, 0, &pa);
	*pfn = pa >> FK_PAGE_SHIFT;
	return err;
}

static inline int lfx_free(struct lfx *f, uint64_t pfn, uint64_t n)
{
	return f->ops->dealloc(f->st, pfn << FK_PAGE_SHIFT, n);
}

/* Stats WITHOUT draining: cached frames must count as free anyway. */
static inline struct fk_alloc_stats lfx_stats(struct lfx *f)
{
	struct fk_alloc_stats s;
	memset(&s, 0, sizeof(s));
	if (f->ops->stats(f->st, -1, &s))
		s.total_frames = UINT64_MAX;
	return s;
}

/* Pin the calling thread to online CPU c; 0 if the machine lacks it. */
static inline int lfx_pin(unsigned c)
{
	cpu_set_t set;
	if (c >= (unsigned)sysconf(_SC_NPROCESSORS_ONLN))
		return 0;
	CPU_ZERO(&set);
	CPU_SET(c, &set);
	if (pthread_setaffinity_np(pthread_self(), sizeof(set), &set))
		return 0;
	sched_yield();
	return sched_getcpu() == (int)c;
}

/* Run fn(arg) on a thread pinned to CPU c and wait for it; 0 if no CPU c. */
struct lfx_on {
	unsigned cpu;
	void (*fn)(void *);
	void *arg;
	int pinned;
};

static inline void *lfx_on_main(void *p)
{
	struct lfx_on *o = p;
	o->pinned = lfx_pin(o->cpu);
	if (o->pinned)
		o->fn(o->arg);
	return NULL;
}

static inline int lfx_run_on(unsigned cpu, void (*fn)(void *), void *arg)
{
	pthread_t t;
	struct lfx_on o = {.cpu = cpu, .fn = fn, .arg = arg};
	if (pthread_create(&t, NULL, lfx_on_main, &o))
		return 0;
	pthread_join(t, NULL);
	return o.pinned;
}

#endif /* TEST_LOCKFREE_FIX_H */
