/* SPDX-License-Identifier: MIT */
/*
 * Allocator plug-ins (framekit/allocator.h, "Plug-ins"): fk_allocator_load
 * opens a .so, checks its versioned descriptor and registers a copy of its
 * ops under the chosen name; fk_allocator_register does the same for a
 * descriptor already in the process.
 *
 * The table is append-only: an entry is written completely, then published
 * by a release store of the count, so lookups (fk_plugin_find_, called by
 * fk_allocator_find) read it without a lock while another thread loads.
 * Loads are serialised by one mutex. Nothing is ever unloaded: a context
 * may hold the ops until the process exits.
 *
 * Like a built-in's table (registry.c), the table handed out is a checked
 * view: alloc, dealloc, add_free_memory and remove_free_memory run the
 * shared validation (fk_ops_* in alloc_internal.h) before the plug-in's
 * own, so a plug-in meets the same edges as a built-in whoever calls it.
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "alloc_internal.h"
#include "plugin_internal.h"

#define PLUGIN_NAME_MAX 31

struct plugin_entry {
	char name[PLUGIN_NAME_MAX + 1];
	char origin[256];
	struct fk_allocator_ops raw; /* the plug-in's own callbacks */
	struct fk_allocator_ops ops; /* handed out: raw, checked, .name = name */
};

static struct plugin_entry plugins[FK_PLUGIN_MAX];

/* Slot i's checked entry points: the validation, then plugins[i].raw. */
#define PLUGIN_CHECKED_FNS_(i)                                                                     \
	static int pl_alloc_##i(void *st, uint64_t n, unsigned align, int node, unsigned flags,    \
	                        uint64_t *paddr)                                                   \
	{                                                                                          \
		return fk_ops_alloc(&plugins[i].raw, st, n, align, node, flags, paddr);            \
	}                                                                                          \
	static int pl_dealloc_##i(void *st, uint64_t paddr, uint64_t n)                            \
	{                                                                                          \
		return fk_ops_dealloc(&plugins[i].raw, st, paddr, n);                              \
	}                                                                                          \
	static int pl_add_##i(void *st, uint64_t paddr, uint64_t n, int node)                      \
	{                                                                                          \
		return fk_ops_add_free(&plugins[i].raw, st, paddr, n, node);                       \
	}                                                                                          \
	static int pl_remove_##i(void *st, uint64_t paddr, uint64_t n)                             \
	{                                                                                          \
		return fk_ops_remove_free(&plugins[i].raw, st, paddr, n);                          \
	}
#define PLUGIN_SLOTS_(X)                                                                           \
	X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13) X(14) X(15)
_Static_assert(FK_PLUGIN_MAX == 16, "PLUGIN_SLOTS_ names one slot per plug-in");
PLUGIN_SLOTS_(PLUGIN_CHECKED_FNS_)
#undef PLUGIN_CHECKED_FNS_

static const struct {
	int (*alloc)(void *, uint64_t, unsigned, int, unsigned, uint64_t *);
	int (*dealloc)(void *, uint64_t, uint64_t);
	int (*add)(void *, uint64_t, uint64_t, int);
	int (*remove)(void *, uint64_t, uint64_t);
} plugin_checked[] = {
#define PLUGIN_CHECKED_REF_(i) {pl_alloc_##i, pl_dealloc_##i, pl_add_##i, pl_remove_##i},
    PLUGIN_SLOTS_(PLUGIN_CHECKED_REF_)
#undef PLUGIN_CHECKED_REF_
};
/* Published entries. Release store in plugin_add pairs with the acquire
 * loads in fk_plugin_find_/fk_plugin_names_: an entry is complete before
 * its index is below the count. */
static _Atomic size_t nr_plugins;
static pthread_mutex_t plugins_lock = PTHREAD_MUTEX_INITIALIZER; /* writers */

const struct fk_allocator_ops *fk_plugin_find_(const char *name)
{
	size_t n = atomic_load_explicit(&nr_plugins, memory_order_acquire);
	for (size_t i = 0; i < n; i++)
		if (strcmp(plugins[i].name, name) == 0)
			return &plugins[i].ops;
	return NULL;
}

size_t fk_plugin_names_(const char **names, size_t max)
{
	size_t n = atomic_load_explicit(&nr_plugins, memory_order_acquire);
	for (size_t i = 0; i < n && i < max && names; i++)
		names[i] = plugins[i].name;
	return n;
}

const char *fk_allocator_origin(const char *name)
{
	if (!name)
		return NULL;
	size_t n = atomic_load_explicit(&nr_plugins, memory_order_acquire);
	for (size_t i = 0; i < n; i++)
		if (strcmp(plugins[i].name, name) == 0)
			return plugins[i].origin;
	return NULL;
}

/* ---- errors ---- */

#define PLUGIN_CODE_(reason, value, code, text) [value] = code,
static const int reason_code[] = {FK_PLUGIN_ERROR_LIST(PLUGIN_CODE_)};
#undef PLUGIN_CODE_
#define PLUGIN_TEXT_(reason, value, code, text) [value] = text,
static const char *const reason_text[] = {FK_PLUGIN_ERROR_LIST(PLUGIN_TEXT_)};
#undef PLUGIN_TEXT_

/* Records reason and "text: where: detail" in *why; returns the reason's code. */
static int refuse(struct fk_plugin_error *why, int reason, const char *where, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int refuse(struct fk_plugin_error *why, int reason, const char *where, const char *fmt, ...)
{
	if (why) {
		why->reason = reason;
		int len =
		    snprintf(why->text, sizeof(why->text), "%s: %s", reason_text[reason], where);
		if (fmt && len >= 0 && (size_t)len < sizeof(why->text)) {
			va_list ap;
			va_start(ap, fmt);
			strcat(why->text, ": ");
			size_t at = strlen(why->text);
			vsnprintf(why->text + at, sizeof(why->text) - at, fmt, ap);
			va_end(ap);
		}
	}
	return reason_code[reason];
}

/* ---- checks ---- */

static int name_valid(const char *name)
{
	size_t len = strlen(name);
	if (len == 0 || len > PLUGIN_NAME_MAX || strcmp(name, "all") == 0 || name[0] == '-')
		return 0;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '.' || c == '+' || c == '-'))
			return 0;
	}
	return 1;
}

/* The callbacks fk_mem_create() requires (drain is optional). */
static const char *ops_missing(const struct fk_allocator_ops *o)
{
	if (!o->create)
		return "create";
	if (!o->destroy)
		return "destroy";
	if (!o->alloc)
		return "alloc";
	if (!o->dealloc)
		return "dealloc";
	if (!o->add_free_memory)
		return "add_free_memory";
	if (!o->remove_free_memory)
		return "remove_free_memory";
	if (!o->stats)
		return "stats";
	return NULL;
}

/* Checks a descriptor and publishes it as name (NULL: ops->name). */
static int plugin_add(const struct fk_allocator_plugin *p, const char *name, const char *origin,
                      struct fk_plugin_error *why)
{
	if (p->magic != FK_ALLOCATOR_PLUGIN_MAGIC)
		return refuse(why, FK_PLUGIN_NO_SYMBOL, origin,
		              "%s is not a framekit descriptor (magic %#x)",
		              FK_ALLOCATOR_PLUGIN_SYMBOL, (unsigned)p->magic);
	if (p->abi_version != FK_ALLOCATOR_PLUGIN_ABI ||
	    p->ops_size != sizeof(struct fk_allocator_ops))
		return refuse(why, FK_PLUGIN_VERSION, origin,
		              "descriptor says ABI v%u with a %u-byte ops table, this framekit "
		              "is v%u with %zu bytes; rebuild the plug-in against this header",
		              (unsigned)p->abi_version, (unsigned)p->ops_size,
		              FK_ALLOCATOR_PLUGIN_ABI, sizeof(struct fk_allocator_ops));
	if (!p->ops)
		return refuse(why, FK_PLUGIN_BAD_OPS, origin,
		              "the descriptor's ops pointer is NULL");
	const char *missing = ops_missing(p->ops);
	if (missing)
		return refuse(why, FK_PLUGIN_BAD_OPS, origin, "%s() is NULL", missing);
	if (!name)
		name = p->ops->name;
	if (!name)
		return refuse(why, FK_PLUGIN_BAD_NAME, origin,
		              "ops.name is NULL and no :NAME was given");
	if (!name_valid(name))
		return refuse(why, FK_PLUGIN_BAD_NAME, origin,
		              "'%s' (want 1..%d characters of [A-Za-z0-9_.+-], not 'all')", name,
		              PLUGIN_NAME_MAX);

	pthread_mutex_lock(&plugins_lock);
	int err = 0;
	/* relaxed: writers are serialised by plugins_lock. */
	size_t n = atomic_load_explicit(&nr_plugins, memory_order_relaxed);
	if (fk_allocator_find(name))
		err = refuse(why, FK_PLUGIN_NAME_TAKEN, origin,
		             "'%s' (load it under another name: PATH:NAME)", name);
	else if (n == FK_PLUGIN_MAX)
		err = refuse(why, FK_PLUGIN_TOO_MANY, origin, "at most %d", FK_PLUGIN_MAX);
	if (!err) {
		struct plugin_entry *e = &plugins[n];
		snprintf(e->name, sizeof(e->name), "%s", name);
		snprintf(e->origin, sizeof(e->origin), "%s", origin);
		e->raw = *p->ops;
		e->ops = e->raw;
		e->ops.name = e->name;
		e->ops.alloc = plugin_checked[n].alloc;
		e->ops.dealloc = plugin_checked[n].dealloc;
		e->ops.add_free_memory = plugin_checked[n].add;
		e->ops.remove_free_memory = plugin_checked[n].remove;
		/* release: pairs with the acquire loads of the readers. */
		atomic_store_explicit(&nr_plugins, n + 1, memory_order_release);
		if (why) {
			why->reason = FK_PLUGIN_OK;
			snprintf(why->text, sizeof(why->text), "loaded '%s' from %s", name, origin);
		}
	}
	pthread_mutex_unlock(&plugins_lock);
	return err;
}

int fk_allocator_register(const struct fk_allocator_plugin *plugin, const char *name,
                          struct fk_plugin_error *why)
{
	if (!plugin)
		return refuse(why, FK_PLUGIN_BAD_OPS, "(registered)", "NULL descriptor");
	return plugin_add(plugin, name, "(registered)", why);
}

/* ---- the loader ---- */

/* A descriptor of another ABI version, probed by its symbol name. */
static int other_version(void *handle)
{
	for (unsigned v = 0; v < FK_ALLOCATOR_PLUGIN_ABI + 16; v++) {
		char sym[64];
		if (v == FK_ALLOCATOR_PLUGIN_ABI)
			continue;
		snprintf(sym, sizeof(sym), "fk_allocator_plugin_v%u", v);
		if (dlsym(handle, sym))
			return (int)v;
	}
	return -1;
}

int fk_allocator_load(const char *spec, struct fk_plugin_error *why)
{
	if (!spec || !*spec)
		return refuse(why, FK_PLUGIN_NO_FILE, "(empty)", "want PATH[:NAME]");
	/* PATH[:NAME]: split at the last ':' when no '/' follows it. */
	char path[4096];
	const char *name = NULL;
	const char *colon = strrchr(spec, ':');
	size_t plen = strlen(spec);
	if (colon && !strchr(colon, '/')) {
		plen = (size_t)(colon - spec);
		name = colon + 1;
	}
	/* A bare file name is relative to the working directory: dlopen would
	 * search the library path for it instead. */
	const char *prefix = memchr(spec, '/', plen) ? "" : "./";
	if (plen == 0 || plen + 3 > sizeof(path))
		return refuse(why, FK_PLUGIN_NO_FILE, spec, "want PATH[:NAME]");
	snprintf(path, sizeof(path), "%s%.*s", prefix, (int)plen, spec);
	if (name && !*name)
		return refuse(why, FK_PLUGIN_BAD_NAME, path, "empty NAME after ':'");
	if (access(path, R_OK) != 0)
		return refuse(why, FK_PLUGIN_NO_FILE, path, "%s", strerror(errno));

	void *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!handle) {
		const char *e = dlerror();
		return refuse(why, FK_PLUGIN_NOT_LOADABLE, path, "%s", e ? e : "dlopen failed");
	}
	int err;
	const struct fk_allocator_plugin *p = dlsym(handle, FK_ALLOCATOR_PLUGIN_SYMBOL);
	if (p) {
		err = plugin_add(p, name, path, why);
	} else {
		int v = other_version(handle);
		if (v >= 0)
			err = refuse(why, FK_PLUGIN_VERSION, path,
			             "it exports fk_allocator_plugin_v%d, this framekit loads "
			             "%s; rebuild the plug-in against this header",
			             v, FK_ALLOCATOR_PLUGIN_SYMBOL);
		else
			err = refuse(why, FK_PLUGIN_NO_SYMBOL, path,
			             "end the plug-in with FK_ALLOCATOR_PLUGIN(ops)");
	}
	/* A refused library is closed; a loaded one stays for the process. */
	if (err)
		dlclose(handle);
	return err;
}
