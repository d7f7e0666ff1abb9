/*
 * Built-in allocators by name: one table, made from FK_BUILTIN_ALLOCATORS
 * (alloc_internal.h). Its strong references also pull the allocators'
 * objects out of the static archive. Loaded plug-ins (plugin.c) follow the
 * built-ins in every lookup and listing.
 */
#include <string.h>

#include "alloc_internal.h"
#include "plugin_internal.h"

#define FK_ALLOC_OPS_REF_(id) &fk_alloc_##id##_ops,
static const struct fk_allocator_ops *const builtin[] = {FK_BUILTIN_ALLOCATORS(FK_ALLOC_OPS_REF_)};
#undef FK_ALLOC_OPS_REF_
#define NR_BUILTIN (sizeof(builtin) / sizeof(builtin[0]))

const struct fk_allocator_ops *fk_allocator_find(const char *name)
{
	if (!name)
		return 0;
	for (size_t i = 0; i < NR_BUILTIN; i++)
		if (strcmp(builtin[i]->name, name) == 0)
			return builtin[i];
	return fk_plugin_find_(name);
}

size_t fk_allocator_names(const char **names, size_t max)
{
	for (size_t i = 0; i < NR_BUILTIN && names; i++)
		if (i < max)
			names[i] = builtin[i]->name;
	size_t room = max > NR_BUILTIN ? max - NR_BUILTIN : 0;
	return NR_BUILTIN + fk_plugin_names_(names && room ? names + NR_BUILTIN : NULL, room);
}
