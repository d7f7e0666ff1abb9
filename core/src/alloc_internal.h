/* SPDX-License-Identifier: MIT */
/*
 * Private allocator plumbing: the built-in allocators' ops tables and small
 * helpers they share (order arithmetic, current CPU).
 */
#ifndef FK_ALLOC_INTERNAL_H
#define FK_ALLOC_INTERNAL_H

#include <sched.h>
#include <stdint.h>

#include <framekit/alloc.h>

/*
 * The built-in allocators, the one place an allocator is registered: X(id)
 * for each `const struct fk_allocator_ops fk_alloc_<id>_ops` (its source goes
 * under src/alloc/, which CMake globs). fk_allocator_names() lists them in
 * this order; the plug-in contract is <framekit/allocator.h>.
 */
#define FK_BUILTIN_ALLOCATORS(X) X(lockfree) X(buddy_global) X(buddy_pcp) X(simple)

#define FK_ALLOC_OPS_DECL_(id) extern const struct fk_allocator_ops fk_alloc_##id##_ops;
FK_BUILTIN_ALLOCATORS(FK_ALLOC_OPS_DECL_)
#undef FK_ALLOC_OPS_DECL_

/* CPU the caller runs on, folded into [0, nr_cpus). Only a hint: the
 * thread may migrate right after, so per-CPU state must stay consistent
 * when two threads share a CPU index. */
static inline unsigned fk_cpu_current(unsigned nr_cpus)
{
	int c = sched_getcpu();
	if (c < 0)
		c = 0;
	return (unsigned)c % (nr_cpus ? nr_cpus : 1);
}

/*
 * The argument check every allocator entry point starts with: a page-aligned
 * address (FK_ENOTALIGNED) and a non-empty range (FK_EINVAL); *pfn is the
 * first frame number.
 */
static inline int fk_range_pfn(uint64_t paddr, uint64_t nframes, uint64_t *pfn)
{
	if (paddr & (FK_PAGE_SIZE - 1))
		return FK_ENOTALIGNED;
	if (nframes == 0)
		return FK_EINVAL;
	*pfn = paddr >> FK_PAGE_SHIFT;
	return 0;
}

/*
 * The shared validation in front of every struct fk_allocator_ops call
 * (issue 18): the edges of the 64-bit address space, checked once here so
 * that no allocator, built-in or plug-in, sees them. The core calls every
 * allocator through fk_ops_* below; fk_allocator_find() hands out built-in
 * tables whose entry points run the same functions (alloc/registry.c). The
 * codes are documented in <framekit/allocator.h>.
 */
/* Frame counts whose bytes fit in 64 bits; an alignment of 2^52 frames or
 * more is 2^64 bytes or more. */
#define FK_OPS_MAX_FRAMES (UINT64_MAX >> FK_PAGE_SHIFT)
#define FK_OPS_MAX_ALIGN  (64 - FK_PAGE_SHIFT)

/* A byte range [paddr, paddr + nframes pages) for dealloc, add and remove:
 * fk_range_pfn's check (FK_ENOTALIGNED, FK_EINVAL if empty), and FK_EINVAL
 * if its end does not fit in 64 bits (it would wrap past 2^64). */
static inline int fk_ops_check_range(uint64_t paddr, uint64_t nframes)
{
	uint64_t pfn;
	int err = fk_range_pfn(paddr, nframes, &pfn);
	if (!err && nframes > (UINT64_MAX - paddr) >> FK_PAGE_SHIFT)
		err = FK_EINVAL;
	return err;
}

/* An alloc request: FK_EINVAL for no result pointer, a count of 0 or one
 * whose bytes do not fit in 64 bits, or an alignment of 2^64 bytes or more. */
static inline int fk_ops_check_alloc(uint64_t nframes, unsigned align_order, const uint64_t *paddr)
{
	if (!paddr || nframes == 0 || nframes > FK_OPS_MAX_FRAMES || align_order >= FK_OPS_MAX_ALIGN)
		return FK_EINVAL;
	return 0;
}

static inline int fk_ops_alloc(const struct fk_allocator_ops *ops, void *st, uint64_t nframes,
                               unsigned align_order, int node, unsigned flags, uint64_t *paddr)
{
	int err = fk_ops_check_alloc(nframes, align_order, paddr);
	return err ? err : ops->alloc(st, nframes, align_order, node, flags, paddr);
}

static inline int fk_ops_dealloc(const struct fk_allocator_ops *ops, void *st, uint64_t paddr,
                                 uint64_t nframes)
{
	int err = fk_ops_check_range(paddr, nframes);
	return err ? err : ops->dealloc(st, paddr, nframes);
}

/* add_free_memory: the range, and a node that is not negative (each
 * allocator checks it against its node count). */
static inline int fk_ops_add_free(const struct fk_allocator_ops *ops, void *st, uint64_t paddr,
                                  uint64_t nframes, int node)
{
	int err = fk_ops_check_range(paddr, nframes);
	if (!err && node < 0)
		err = FK_EINVAL;
	return err ? err : ops->add_free_memory(st, paddr, nframes, node);
}

static inline int fk_ops_remove_free(const struct fk_allocator_ops *ops, void *st, uint64_t paddr,
                                     uint64_t nframes)
{
	int err = fk_ops_check_range(paddr, nframes);
	return err ? err : ops->remove_free_memory(st, paddr, nframes);
}

/* Smallest order with (1 << order) >= n (n >= 1). */
static inline unsigned fk_order_ceil(uint64_t n)
{
	return n <= 1 ? 0u : (unsigned)(64 - __builtin_clzll(n - 1));
}

/* Largest order such that a block at paddr (frame index) of that order is
 * naturally aligned and fits in n frames. */
static inline unsigned fk_order_fit(uint64_t pfn, uint64_t n, unsigned max_order)
{
	unsigned o = pfn ? (unsigned)__builtin_ctzll(pfn) : 63u;
	unsigned f = (unsigned)(63 - __builtin_clzll(n));
	if (f < o)
		o = f;
	return o < max_order ? o : max_order;
}

#endif /* FK_ALLOC_INTERNAL_H */
