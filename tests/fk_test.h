/* SPDX-License-Identifier: MIT */
/*
 * A tiny test harness: CHECK macros that report file:line and the FK_E*
 * names, a runner that prints one line per test and the closing
 * "N passed, N failed" line, the command line every test binary takes
 * (fk_test_args: a name filter, --help), and a standard fixture context.
 *
 *   int main(int argc, char **argv)
 *   {
 *           fk_test_args(argc, argv);
 *           RUN(frame_drop_of_last_reference_frees_it);   // once per variant
 *           return fk_test_finish();
 *   }
 *
 * A run is selected when "name [variant]" (its result line) contains the
 * filter (argv[1]); a binary with its own loop asks fk_test_selected() and
 * reports with fk_test_record(name, variant, failed).
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
static const char *fk_test_filter; /* argv[1]: run only names containing it */
static int fk_tests_selected;
static int fk_test_failures; /* failed EXPECTs since the start */

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

/* A check that reports a printf-style message and lets the test go on (it
 * must clean up, or counts its failures in fk_test_failures). */
#define EXPECT(c, ...)                                                                             \
	do {                                                                                       \
		if (!(c)) {                                                                        \
			fprintf(stderr, "  %s:%d: EXPECT failed: %s: ", __FILE__, __LINE__, #c);   \
			fprintf(stderr, __VA_ARGS__);                                              \
			fputc('\n', stderr);                                                       \
			fk_test_failed_flag = 1;                                                   \
			fk_test_failures++;                                                        \
		}                                                                                  \
	} while (0)

/* The command line of every test binary: [FILTER] or --help (exit 0); a
 * bad one gets one line on stderr and exit 2. */
static inline void fk_test_args(int argc, char **argv)
{
	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		printf("usage: %s [FILTER]\n"
		       "Runs every test of this binary, once per variant (core variant or\n"
		       "allocator), whose result line \"NAME [VARIANT]\" contains FILTER (all\n"
		       "without one), then prints \"N passed, N failed\". Exit 0 if all passed,\n"
		       "1 if one failed or FILTER matched no run, 2 on a bad argument.\n",
		       argv[0]);
		exit(0);
	}
	if (argc > 2 || (argc == 2 && argv[1][0] == '-')) {
		fprintf(stderr, "%s: unknown option '%s' (try --help)\n", argv[0], argv[argc - 1]);
		exit(2);
	}
	fk_test_filter = argc == 2 ? argv[1] : NULL;
}

/* Does the filter select the test `name`? (Counts the selected ones.) */
static inline int fk_test_selected(const char *name)
{
	if (fk_test_filter && !strstr(name, fk_test_filter))
		return 0;
	fk_tests_selected++;
	return 1;
}

/* One result line, counted for fk_test_finish(). */
static inline void fk_test_record(const char *name, const char *variant, int failed)
{
	if (failed)
		fk_tests_failed++;
	else
		fk_tests_passed++;
	printf("%s %s [%s]\n", failed ? "FAIL" : "ok  ", name, variant);
	fflush(stdout);
}

/*
 * Runs a test once per core variant (fk_variants.h) that the filter
 * selects: it is matched against "name [variant]", as the result line
 * prints it. The test is either fn (fails through CHECK*) or fn_v, which
 * returns nonzero when it failed and reports its own failures.
 */
static inline void fk_run_variants(const char *name, void (*fn)(void),
                                   int (*fn_v)(const struct fk_variant *))
{
	char buf[200];
	for (size_t v = 0; v < FK_NR_VARIANTS; v++) {
		snprintf(buf, sizeof(buf), "%s [%s]", name, fk_variants[v].name);
		if (!fk_test_selected(buf))
			continue;
		fk_test_variant = &fk_variants[v];
		fk_test_failed_flag = 0;
		if (fn)
			fn();
		else if (fn_v(fk_test_variant))
			fk_test_failed_flag = 1;
		fk_test_record(name, fk_test_variant->name, fk_test_failed_flag);
	}
}

static inline void fk_run_test(const char *name, void (*fn)(void))
{
	fk_run_variants(name, fn, NULL);
}

#define RUN(fn) fk_run_test(#fn, fn)

/* RUN for a test written as `int fn(const struct fk_variant *)`. */
static inline void fk_run_test_v(const char *name, int (*fn)(const struct fk_variant *))
{
	fk_run_variants(name, NULL, fn);
}

static inline int fk_test_finish(void)
{
	(void)fk_test_failures; /* only EXPECT uses it */
	printf("%d passed, %d failed\n", fk_tests_passed, fk_tests_failed);
	if (fk_test_filter && !fk_tests_selected) {
		fprintf(stderr, "no test name contains '%s'\n", fk_test_filter);
		return 1;
	}
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
