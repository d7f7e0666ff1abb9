/*
 * A tiny test harness: CHECK macros that report file:line and the FK_E*
 * names, a runner that prints one line per test and the closing
 * "N passed, N failed" line, and a standard fixture context.
 */
#ifndef FK_TEST_H
#define FK_TEST_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <framekit/framekit.h>

#include "fk_variants.h"

static int fk_test_failed_flag;
/* The variant the current test runs under (RUN runs each test under all). */
static const struct fk_variant *fk_test_variant = &fk_variants[0];
static int fk_tests_passed, fk_tests_failed;

#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c)) {                                                                        \
			fprintf(stderr, "  %s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #c);    \
			fk_test_failed_flag = 1;                                                   \
			return;                                                                    \
		}                                                                                  \
	} while (0)

#define CHECK_EQ(a, b)                                                                             \
	do {                                                                                       \
		uint64_t _a = (uint64_t)(a), _b = (uint64_t)(b);                                   \
		if (_a != _b) {                                                                    \
			fprintf(stderr,                                                            \
			        "  %s:%d: CHECK_EQ failed: %s == %s (%" PRIu64 " != %" PRIu64      \
			        ")\n",                                                             \
			        __FILE__, __LINE__, #a, #b, _a, _b);                               \
			fk_test_failed_flag = 1;                                                   \
			return;                                                                    \
		}                                                                                  \
	} while (0)

#define CHECK_ERR(expr, code)                                                                      \
	do {                                                                                       \
		int _e = (expr);                                                                   \
		if (_e != (code)) {                                                                \
			fprintf(stderr, "  %s:%d: %s returned %s, expected %s\n", __FILE__,        \
			        __LINE__, #expr, fk_strerror_name(_e), fk_strerror_name(code));    \
			fk_test_failed_flag = 1;                                                   \
			return;                                                                    \
		}                                                                                  \
	} while (0)

#define CHECK_OK(expr) CHECK_ERR(expr, 0)

static inline void fk_run_test(const char *name, void (*fn)(void))
{
	for (size_t v = 0; v < FK_NR_VARIANTS; v++) {
		fk_test_variant = &fk_variants[v];
		fk_test_failed_flag = 0;
		fn();
		if (fk_test_failed_flag) {
			fk_tests_failed++;
			printf("FAIL %s [%s]\n", name, fk_test_variant->name);
		} else {
			fk_tests_passed++;
			printf("ok   %s [%s]\n", name, fk_test_variant->name);
		}
		fflush(stdout);
	}
}

#define RUN(fn) fk_run_test(#fn, fn)

static inline int fk_test_finish(void)
{
	printf("%d passed, %d failed\n", fk_tests_passed, fk_tests_failed);
	return fk_tests_failed ? 1 : 0;
}

/* Standard fixture: an unmanaged region U and a managed region M. */
#define FIX_U_BASE   0x100000ull
#define FIX_U_FRAMES 256ull
#define FIX_M_BASE   0x10000000ull
#define FIX_M_FRAMES 1024ull
#define PG           FK_PAGE_SIZE

static inline fk_mem *fix_create(const char *allocator, int raw_tracking)
{
	struct fk_region_config regs[2] = {
	    {.base = FIX_U_BASE, .nframes = FIX_U_FRAMES, .node = 0, .flags = FK_REGION_UNMANAGED},
	    {.base = FIX_M_BASE, .nframes = FIX_M_FRAMES, .node = 0, .flags = FK_REGION_BACKED},
	};
	struct fk_mem_config cfg = {0};
	cfg.regions = regs;
	cfg.nr_regions = 2;
	cfg.nr_nodes = 1;
	cfg.raw_tracking = raw_tracking;
	cfg.allocator = allocator;
	fk_variant_apply(&cfg, fk_test_variant);
	fk_mem *mem = 0;
	if (fk_mem_create(&cfg, &mem))
		return 0;
	if (fk_thread_enter(mem)) {
		fk_mem_destroy(mem, 0);
		return 0;
	}
	return mem;
}

/* Leave, destroy and report whether anything leaked (0 = clean). */
static inline int fix_destroy(fk_mem *mem)
{
	struct fk_leak_report rep;
	fk_thread_leave(mem);
	int err = fk_mem_destroy(mem, &rep);
	if (err)
		fprintf(stderr,
		        "  leak: %" PRIu64 " referenced, %" PRIu64 " raw, first at %#" PRIx64 "\n",
		        rep.frames_referenced, rep.frames_raw, rep.first_leaked_paddr);
	return err;
}

static inline uint64_t rc_at(fk_mem *mem, uint64_t pa)
{
	uint64_t rc = 0;
	if (fk_mem_refcount_at(mem, pa, &rc))
		return 0xdeadull;
	return rc;
}

#endif /* FK_TEST_H */
