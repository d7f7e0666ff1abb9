/* SPDX-License-Identifier: MIT */
/*
 * The core variants every test runs under (README "Concurrency design"):
 * each refcount policy with each lookup mode. One list, so that a new variant reaches every test
 * by one line here. Tests built on fk_test.h get it through RUN; the racy
 * and stress tests loop over fk_variants[] themselves.
 */
#ifndef FK_VARIANTS_H
#define FK_VARIANTS_H

#include <framekit/framekit.h>

struct fk_variant {
	const char *name;
	int refcount; /* fk_mem_config.refcount */
	int lookup;   /* fk_mem_config.lookup */
};

static const struct fk_variant fk_variants[] = {
    {"fast", FK_REFCOUNT_FAST, FK_LOOKUP_RCU},
    {"checked", FK_REFCOUNT_CHECKED, FK_LOOKUP_RCU},
    {"fast+rwlock", FK_REFCOUNT_FAST, FK_LOOKUP_RWLOCK},
    {"checked+rwlock", FK_REFCOUNT_CHECKED, FK_LOOKUP_RWLOCK},
};
#define FK_NR_VARIANTS (sizeof(fk_variants) / sizeof(fk_variants[0]))

static inline void fk_variant_apply(struct fk_mem_config *cfg, const struct fk_variant *v)
{
	cfg->refcount = v->refcount;
	cfg->lookup = v->lookup;
}

#endif /* FK_VARIANTS_H */
