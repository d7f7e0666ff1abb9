/* SPDX-License-Identifier: MIT */
/*
 * Broken allocator plug-ins for test_allocator_plugin.c: one source, one
 * defect per PF_CASE (tests/CMakeLists.txt builds each as its own .so).
 * The callbacks are placeholders that refuse every call; the loader must
 * refuse every one of these libraries before any callback could run.
 */
#include <framekit/allocator.h>

static int pf_create(const struct fk_alloc_params *p, unsigned n, const int *c, unsigned nc,
                     void **s)
{
	(void)p, (void)n, (void)c, (void)nc, (void)s;
	return FK_EINVAL;
}
static void pf_destroy(void *s)
{
	(void)s;
}
static int pf_alloc(void *s, uint64_t n, unsigned a, int node, unsigned f, uint64_t *pa)
{
	(void)s, (void)n, (void)a, (void)node, (void)f, (void)pa;
	return FK_EINVAL;
}
static int pf_range(void *s, uint64_t pa, uint64_t n)
{
	(void)s, (void)pa, (void)n;
	return FK_EINVAL;
}
static int pf_add(void *s, uint64_t pa, uint64_t n, int node)
{
	(void)s, (void)pa, (void)n, (void)node;
	return FK_EINVAL;
}
__attribute__((unused)) static int pf_stats(void *s, int node, struct fk_alloc_stats *out)
{
	(void)s, (void)node, (void)out;
	return FK_EINVAL;
}

#define PF_OLD_ABI     1 /* exports fk_allocator_plugin_v0 only */
#define PF_NEW_VERSION 2 /* v1 symbol, descriptor says version 2 */
#define PF_OPS_SIZE    3 /* v1 symbol, smaller ops table */
#define PF_FOREIGN     4 /* v1 symbol, not a descriptor (magic) */
#define PF_NO_STATS    5 /* stats() missing */
#define PF_BAD_NAME    6 /* ops.name "two words" */
#define PF_NO_SYMBOL   7 /* exports no descriptor at all */

static const struct fk_allocator_ops pf_ops = {
#if PF_CASE == PF_BAD_NAME
    .name = "two words",
#else
    .name = "fixture",
#endif
    .create = pf_create,
    .destroy = pf_destroy,
    .alloc = pf_alloc,
    .dealloc = pf_range,
    .add_free_memory = pf_add,
    .remove_free_memory = pf_range,
#if PF_CASE != PF_NO_STATS
    .stats = pf_stats,
#endif
};

#define PF_EXPORT __attribute__((visibility("default")))
#if PF_CASE == PF_OLD_ABI
PF_EXPORT extern const struct fk_allocator_plugin fk_allocator_plugin_v0;
const struct fk_allocator_plugin fk_allocator_plugin_v0 = {FK_ALLOCATOR_PLUGIN_MAGIC, 0,
                                                           sizeof(pf_ops), 0, &pf_ops};
#elif PF_CASE == PF_NEW_VERSION || PF_CASE == PF_OPS_SIZE || PF_CASE == PF_FOREIGN
PF_EXPORT extern const struct fk_allocator_plugin fk_allocator_plugin_v1;
const struct fk_allocator_plugin fk_allocator_plugin_v1 = {
    PF_CASE == PF_FOREIGN ? 0x12345678u : FK_ALLOCATOR_PLUGIN_MAGIC,
    PF_CASE == PF_NEW_VERSION ? FK_ALLOCATOR_PLUGIN_ABI + 1 : FK_ALLOCATOR_PLUGIN_ABI,
    (uint32_t)sizeof(pf_ops) - (PF_CASE == PF_OPS_SIZE ? 8u : 0u), 0, &pf_ops};
#elif PF_CASE == PF_NO_SYMBOL
PF_EXPORT int fk_fixture_something_else(void);
int fk_fixture_something_else(void)
{
	return pf_ops.alloc != 0;
}
#else
FK_ALLOCATOR_PLUGIN(pf_ops);
#endif
