/*
 * The core variants every test runs under (README "Concurrency design"):
 * each refcount policy. One list, so that a new variant reaches every test
 * by one line here. Tests built on fk_test.h get it through RUN; the racy
 * and stress tests loop over fk_variants[] themselves.
 */
#ifndef FK_VARIANTS_H
#define FK_VARIANTS_H

#include <framekit/framekit.h>

struct fk_variant {
	const char *name;
	int refcount; /* fk_mem_config.refcount */
};

static const struct fk_variant fk_variants[] = {
    {"fast", FK_REFCOUNT_FAST},
    {"checked", FK_REFCOUNT_CHECKED},
};
#define FK_NR_VARIANTS (sizeof(fk_variants) / sizeof(fk_variants[0]))

static inline void fk_variant_apply(struct fk_mem_config *cfg, const struct fk_variant *v)
{
	cfg->refcount = v->refcount;
}

#endif /* FK_VARIANTS_H */
