/*
 * Built-in allocators by name: one table, made from FK_BUILTIN_ALLOCATORS
 * (alloc_internal.h). Its strong references also pull the allocators'
 * objects out of the static archive.
 *
 * fk_allocator_find() hands out a checked view of each table: the same
 * callbacks, except that alloc, dealloc, add_free_memory and
 * remove_free_memory run the shared validation first (fk_ops_* in
 * alloc_internal.h), so a caller that drives a built-in allocator through
 * its table directly meets the same edges as the core does.
 */
#include <pthread.h>
#include <string.h>

#include "alloc_internal.h"

#define FK_ALLOC_OPS_REF_(id) &fk_alloc_##id##_ops,
static const struct fk_allocator_ops *const builtin[] = {FK_BUILTIN_ALLOCATORS(FK_ALLOC_OPS_REF_)};
#undef FK_ALLOC_OPS_REF_
#define NR_BUILTIN (sizeof(builtin) / sizeof(builtin[0]))

/* Each built-in's checked entry points: the validation, then its own. */
#define FK_CHECKED_FNS_(id)                                                                        \
	static int checked_alloc_##id(void *st, uint64_t n, unsigned align, int node,               \
	                              unsigned flags, uint64_t *paddr)                             \
	{                                                                                          \
		return fk_ops_alloc(&fk_alloc_##id##_ops, st, n, align, node, flags, paddr);       \
	}                                                                                          \
	static int checked_dealloc_##id(void *st, uint64_t paddr, uint64_t n)                      \
	{                                                                                          \
		return fk_ops_dealloc(&fk_alloc_##id##_ops, st, paddr, n);                         \
	}                                                                                          \
	static int checked_add_##id(void *st, uint64_t paddr, uint64_t n, int node)                \
	{                                                                                          \
		return fk_ops_add_free(&fk_alloc_##id##_ops, st, paddr, n, node);                  \
	}                                                                                          \
	static int checked_remove_##id(void *st, uint64_t paddr, uint64_t n)                       \
	{                                                                                          \
		return fk_ops_remove_free(&fk_alloc_##id##_ops, st, paddr, n);                     \
	}
FK_BUILTIN_ALLOCATORS(FK_CHECKED_FNS_)
#undef FK_CHECKED_FNS_

struct checked_fns {
	int (*alloc)(void *, uint64_t, unsigned, int, unsigned, uint64_t *);
	int (*dealloc)(void *, uint64_t, uint64_t);
	int (*add)(void *, uint64_t, uint64_t, int);
	int (*remove)(void *, uint64_t, uint64_t);
};
#define FK_CHECKED_REF_(id)                                                                        \
	{checked_alloc_##id, checked_dealloc_##id, checked_add_##id, checked_remove_##id},
static const struct checked_fns checked_fns[] = {FK_BUILTIN_ALLOCATORS(FK_CHECKED_REF_)};
#undef FK_CHECKED_REF_

/* The views: a copy of each table with the checked entry points (filled
 * once; a copy, since C cannot name another table's members in a constant
 * initialiser). */
static struct fk_allocator_ops checked[NR_BUILTIN];
static pthread_once_t checked_once = PTHREAD_ONCE_INIT;

static void checked_init(void)
{
	for (size_t i = 0; i < NR_BUILTIN; i++) {
		checked[i] = *builtin[i];
		checked[i].alloc = checked_fns[i].alloc;
		checked[i].dealloc = checked_fns[i].dealloc;
		checked[i].add_free_memory = checked_fns[i].add;
		checked[i].remove_free_memory = checked_fns[i].remove;
	}
}

const struct fk_allocator_ops *fk_allocator_find(const char *name)
{
	if (!name)
		return 0;
	pthread_once(&checked_once, checked_init);
	for (size_t i = 0; i < NR_BUILTIN; i++)
		if (strcmp(checked[i].name, name) == 0)
			return &checked[i];
	return 0;
}

size_t fk_allocator_names(const char **names, size_t max)
{
	for (size_t i = 0; i < NR_BUILTIN && names; i++)
		if (i < max)
			names[i] = builtin[i]->name;
	return NR_BUILTIN;
}
