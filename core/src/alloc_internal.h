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
