/*
 * Built-in allocators by name. CMake defines FK_HAVE_ALLOC_<NAME> for each
 * allocator source present, so the table holds strong references (which
 * also pull the objects out of the static archive).
 */
#include <string.h>

#include "alloc_internal.h"

static const struct fk_allocator_ops *const *builtin(size_t *n)
{
	static const struct fk_allocator_ops *const tab[] = {
#ifdef FK_HAVE_ALLOC_LOCKFREE
	    &fk_alloc_lockfree_ops,
#endif
#ifdef FK_HAVE_ALLOC_BUDDY
	    &fk_alloc_buddy_global_ops,
#endif
#ifdef FK_HAVE_ALLOC_PCP
	    &fk_alloc_buddy_pcp_ops,
#endif
	    &fk_alloc_simple_ops,
	};
	*n = sizeof(tab) / sizeof(tab[0]);
	return tab;
}

const struct fk_allocator_ops *fk_allocator_find(const char *name)
{
	size_t n;
	const struct fk_allocator_ops *const *tab = builtin(&n);
	if (!name)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (tab[i] && strcmp(tab[i]->name, name) == 0)
			return tab[i];
	return 0;
}

size_t fk_allocator_names(const char **names, size_t max)
{
	size_t n, k = 0;
	const struct fk_allocator_ops *const *tab = builtin(&n);
	for (size_t i = 0; i < n; i++) {
		if (!tab[i])
			continue;
		if (names && k < max)
			names[k] = tab[i]->name;
		k++;
	}
	return k;
}
