/* SPDX-License-Identifier: MIT */
/*
 * The plug-in registry's face to registry.c: fk_allocator_find() and
 * fk_allocator_names() look here after the built-in table (plugin.c owns
 * the table and the loader).
 */
#ifndef FK_PLUGIN_INTERNAL_H
#define FK_PLUGIN_INTERNAL_H

#include <stddef.h>

#include <framekit/allocator.h>

/* The registered plug-in of that name, or NULL. Lock-free. */
const struct fk_allocator_ops *fk_plugin_find_(const char *name);
/* Registered plug-ins' names in load order into names[0..max); returns the count. */
size_t fk_plugin_names_(const char **names, size_t max);

#endif /* FK_PLUGIN_INTERNAL_H */
