/* SPDX-License-Identifier: MIT */
/*
 * bench_config.c: the shape of a framekit_bench run, from the machine and
 * the options. Every option is a flag and an FK_BENCH_* variable (the flag
 * wins); a bad value exits 2 with one line. The defaults come from the
 * machine: thread counts 1, 2, 4 ... up to twice the usable CPUs plus the
 * CPU count itself; pinning follows the hwloc topology (one thread per core
 * before any SMT sibling, cores grouped by NUMA node) and only ever names
 * CPUs this process may run on.
 */
#include "bench_common.h"

#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef FK_BENCH_HWLOC
#include <hwloc.h>
#endif

struct bench_config bench_cfg;
const char *bench_allocators[BENCH_MAX_ALLOCATORS];
size_t bench_nr_allocators;
const char *bench_core_allocator = "lockfree";

/*
 * The core's variants: each differs from "default" in one field of
 * fk_mem_config. refcount policy and lookup mode join the list when
 * fk_mem_config has them (CMake checks, see bench/CMakeLists.txt).
 */
const struct bench_core_variant bench_core_variants[] = {
    {"default", "raw tracking on, default refcount policy and lookup", 1, 0, 0},
    {"raw_off", "raw tracking off", 0, 0, 0},
#ifdef FK_BENCH_HAVE_REFCOUNT
    {"refcount_checked", "refcount policy FK_REFCOUNT_CHECKED", 1, FK_REFCOUNT_CHECKED, 0},
#endif
#ifdef FK_BENCH_HAVE_LOOKUP
    {"lookup_rwlock", "paddr lookup under a rwlock (FK_LOOKUP_RWLOCK)", 1, 0, FK_LOOKUP_RWLOCK},
#endif
};
const size_t bench_nr_core_variants = sizeof(bench_core_variants) / sizeof(bench_core_variants[0]);

static const char usage[] =
    "usage: framekit_bench [framekit options] [Google Benchmark options]\n"
    "\n"
    "framekit options (each also an environment variable; the flag wins):\n"
    "  --threads=LIST  FK_BENCH_THREADS  thread counts, e.g. 1,2,8\n"
    "                  (default: 1,2,4.. up to 2x the usable CPUs, + CPUs)\n"
    "  --memory=MIB    FK_BENCH_MEMORY   simulated memory per run, MiB\n"
    "                  (default 1024; alloc runs grow it to fit what\n"
    "                  their threads hold)\n"
    "  --held=SPEC     FK_BENCH_HELD     blocks held per thread in alloc_raw_*,\n"
    "                  ORDER:N[+N..],... (default 0:1024,9:8+1024,10:8)\n"
    "  --numa=MODE     FK_BENCH_NUMA     numa family: real | logical:N\n"
    "                  (default real with >1 node, else logical:2)\n"
    "  --pin=MODE      FK_BENCH_PIN      topo (1) | off (0)   (default topo)\n"
    "  --budget=SEC    FK_BENCH_BUDGET   per-run wall-clock cap (default 2)\n"
    "  --clock=MODE    FK_BENCH_CLOCK    span (default) | per_thread (gbench's\n"
    "                  mean of thread times: inflated when oversubscribed)\n"
    "  --family=LIST   FK_BENCH_FAMILY   suite (default), frag, fill, reclaim, all:\n"
    "                  the long families run only when named; suite = the rest\n"
    "  --seed=N        FK_BENCH_SEED     frag's shuffle and PRNGs (default 42);\n"
    "                  the k-th run of a benchmark uses N + k\n"
    "  --frag=I[:R]    FK_BENCH_FRAG     frag: I iterations reallocating R %\n"
    "                  (default 100:10)\n"
    "  --series=DIR    FK_BENCH_SERIES   frag's per-iteration CSVs (default: the\n"
    "                  directory of --benchmark_out, else none)\n"
    "  --allocator-lib=PATH[:NAME]  FK_BENCH_ALLOCATOR_LIB (comma-separated)\n"
    "                  load an allocator plug-in (.so) and run it in every\n"
    "                  allocation family beside the built-ins; repeatable\n"
    "  --list-allocators   allocator names, one per line\n"
    "  --list-variants     core variant names, one per line\n"
    "  --print-plan        topology, thread counts and pinning plan\n"
    "\n"
    "Names: <family>/<allocator>/... (allocation families) or\n"
    "<family>/core:<variant>/... (core families, allocator fixed).\n"
    "HWLOC_SYNTHETIC / HWLOC_XMLFILE give a planned topology (never pinned).\n"
    "Exit: 0 ok, 1 a run failed or the filter matched nothing, 2 usage.\n"
    "See bench/README.md. Google Benchmark's options follow.\n";

static int bad(const char *opt, const char *val, const char *why)
{
	fprintf(stderr, "framekit_bench: invalid %s '%s': %s\n", opt, val, why);
	return -1;
}

static int parse_int_list(const char *opt, const char *s, int *out, int max, int lo, int hi)
{
	int n = 0;
	const char *p = s;
	while (*p) {
		char *end;
		errno = 0;
		long v = strtol(p, &end, 10);
		if (end == p || errno || v < lo || v > hi) {
			char why[80];
			snprintf(why, sizeof(why), "want a comma-separated list of %d..%d", lo, hi);
			return bad(opt, s, why);
		}
		if (n == max)
			return bad(opt, s, "too many values");
		out[n++] = (int)v;
		p = end;
		if (*p == ',')
			p++;
		else if (*p)
			return bad(opt, s, "want a comma-separated list");
	}
	return n ? n : bad(opt, s, "empty list");
}

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

static int set_threads(const char *opt, const char *s)
{
	int n = parse_int_list(opt, s, bench_cfg.threads, BENCH_MAX_LIST, 1, BENCH_MAX_THREADS);
	if (n < 0)
		return -1;
	qsort(bench_cfg.threads, (size_t)n, sizeof(int), cmp_int);
	int u = 0;
	for (int i = 0; i < n; i++)
		if (u == 0 || bench_cfg.threads[u - 1] != bench_cfg.threads[i])
			bench_cfg.threads[u++] = bench_cfg.threads[i];
	bench_cfg.nr_threads = u;
	return 0;
}

static int set_memory(const char *opt, const char *s)
{
	char *end;
	errno = 0;
	long long mib = strtoll(s, &end, 10);
	if (end == s || *end || errno || mib < 16 || mib > (1ll << 22))
		return bad(opt, s, "want MiB, 16..4194304");
	bench_cfg.mem_frames = (uint64_t)mib * 256u; /* 4 KiB frames per MiB */
	return 0;
}

static int set_held(const char *opt, const char *s)
{
	int n = 0;
	const char *p = s;
	while (*p) {
		char *end;
		long order = strtol(p, &end, 10);
		if (end == p || *end != ':' || order < 0 || order > 10)
			return bad(opt, s, "want ORDER:N[+N..],... with ORDER 0..10");
		p = end + 1;
		for (;;) {
			long cnt = strtol(p, &end, 10);
			if (end == p || cnt < 1 || cnt > (1 << 20))
				return bad(opt, s, "want held counts 1..1048576");
			if (n == BENCH_MAX_LIST)
				return bad(opt, s, "too many values");
			bench_cfg.held_order[n] = (int)order;
			bench_cfg.held_count[n++] = (int)cnt;
			p = end;
			if (*p != '+')
				break;
			p++;
		}
		if (*p == ',')
			p++;
		else if (*p)
			return bad(opt, s, "want ORDER:N[+N..],...");
	}
	if (!n)
		return bad(opt, s, "empty");
	bench_cfg.nr_held = n;
	return 0;
}

static int phys_nodes;

static int set_numa(const char *opt, const char *s)
{
	if (strcmp(s, "real") == 0) {
		bench_cfg.numa_real = 1;
		bench_cfg.numa_nodes = (unsigned)(phys_nodes > 0 ? phys_nodes : 1);
		/* One node: a "remote" frame would be local; bench_numa.c skips them. */
		if (bench_cfg.numa_nodes < 2)
			fprintf(stderr, "framekit_bench: warning: %s=real on one NUMA node: every frame "
			                "is local, so the numa family runs its local benchmarks only "
			                "(logical:N splits the node)\n", opt);
		return 0;
	}
	if (strncmp(s, "logical:", 8) == 0) {
		char *end;
		long n = strtol(s + 8, &end, 10);
		if (end != s + 8 && !*end && n >= 2 && n <= FK_MAX_NODES) {
			bench_cfg.numa_real = 0;
			bench_cfg.numa_nodes = (unsigned)n;
			return 0;
		}
	}
	return bad(opt, s, "want real or logical:N (N 2..64)");
}

static int set_pin(const char *opt, const char *s)
{
	if (!strcmp(s, "topo") || !strcmp(s, "1") || !strcmp(s, "on"))
		bench_cfg.pin = 1;
	else if (!strcmp(s, "off") || !strcmp(s, "0"))
		bench_cfg.pin = 0;
	else
		return bad(opt, s, "want topo (1) or off (0)");
	return 0;
}

static int set_budget(const char *opt, const char *s)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (end == s || *end || errno || !(v > 0) || v > 3600)
		return bad(opt, s, "want seconds, > 0 and <= 3600");
	bench_cfg.budget_s = v;
	return 0;
}

static int set_clock(const char *opt, const char *s)
{
	if (!strcmp(s, "span"))
		bench_cfg.gbench_clock = 0;
	else if (!strcmp(s, "per_thread"))
		bench_cfg.gbench_clock = 1;
	else
		return bad(opt, s, "want span or per_thread");
	return 0;
}

/* --family: the opt-in families (bench_frag.c, bench_fill.c, bench_reclaim.c). */
static int set_family(const char *opt, const char *s)
{
	int suite = 0, frag = 0, fill = 0, reclaim = 0;
	const char *p = s;
	while (*p) {
		size_t len = strcspn(p, ",");
		if (len == 5 && !strncmp(p, "suite", 5))
			suite = 1;
		else if (len == 4 && !strncmp(p, "frag", 4))
			frag = 1;
		else if (len == 4 && !strncmp(p, "fill", 4))
			fill = 1;
		else if (len == 7 && !strncmp(p, "reclaim", 7))
			reclaim = 1;
		else if (len == 3 && !strncmp(p, "all", 3))
			suite = frag = fill = reclaim = 1;
		else
			return bad(opt, s, "want a list of suite, frag, fill, reclaim, all");
		p += len;
		if (*p == ',')
			p++;
	}
	if (!(suite | frag | fill | reclaim))
		return bad(opt, s, "empty list");
	bench_cfg.family_suite = suite;
	bench_cfg.family_frag = frag;
	bench_cfg.family_fill = fill;
	bench_cfg.family_reclaim = reclaim;
	return 0;
}

static int set_seed(const char *opt, const char *s)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	if (end == s || *end || errno || *s == '-')
		return bad(opt, s, "want an unsigned integer");
	bench_cfg.seed = v;
	return 0;
}

static int set_frag(const char *opt, const char *s)
{
	char *end;
	errno = 0;
	long it = strtol(s, &end, 10), pct = bench_cfg.frag_realloc;
	if (end != s && *end == ':') {
		const char *r = end + 1;
		pct = strtol(r, &end, 10);
		if (end == r)
			pct = -1;
	}
	if (end == s || *end || errno || it < 1 || it > 100000 || pct < 1 || pct > 100)
		return bad(opt, s, "want ITERATIONS[:REALLOC%], 1..100000 and 1..100");
	bench_cfg.frag_iterations = (int)it;
	bench_cfg.frag_realloc = (int)pct;
	return 0;
}

static int set_series(const char *opt, const char *s)
{
	if (!*s || strlen(s) >= sizeof(bench_cfg.series_dir))
		return bad(opt, s, "want a directory name");
	snprintf(bench_cfg.series_dir, sizeof(bench_cfg.series_dir), "%s", s);
	return 0;
}

/*
 * An allocator plug-in (framekit/allocator.h): registered with the library,
 * so the allocator list below (fk_allocator_names) has it like a built-in.
 * The env variable takes a comma-separated list; the flag repeats.
 */
static int set_allocator_lib(const char *opt, const char *s)
{
	char spec[4096];
	const char *p = s;
	do {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		if (len >= sizeof(spec))
			return bad(opt, s, "path too long");
		memcpy(spec, p, len);
		spec[len] = 0;
		struct fk_plugin_error why;
		if (fk_allocator_load(spec, &why))
			return bad(opt, spec, why.text);
		p = comma ? comma + 1 : NULL;
	} while (p);
	return 0;
}

struct bench_option {
	const char *flag; /* "--threads" */
	const char *env;  /* "FK_BENCH_THREADS" */
	int (*set)(const char *opt, const char *value);
};

static const struct bench_option options[] = {
    {"--threads", "FK_BENCH_THREADS", set_threads},
    {"--memory", "FK_BENCH_MEMORY", set_memory},
    {"--held", "FK_BENCH_HELD", set_held},
    {"--numa", "FK_BENCH_NUMA", set_numa},
    {"--pin", "FK_BENCH_PIN", set_pin},
    {"--budget", "FK_BENCH_BUDGET", set_budget},
    {"--clock", "FK_BENCH_CLOCK", set_clock},
    {"--family", "FK_BENCH_FAMILY", set_family},
    {"--seed", "FK_BENCH_SEED", set_seed},
    {"--frag", "FK_BENCH_FRAG", set_frag},
    {"--series", "FK_BENCH_SERIES", set_series},
    {"--allocator-lib", "FK_BENCH_ALLOCATOR_LIB", set_allocator_lib},
};
#define NR_OPTIONS (sizeof(options) / sizeof(options[0]))

/* ---- machine ---- */

static void default_threads(void)
{
	int n = 0, c = bench_cfg.nr_cpus;
	for (int t = 1; t <= 2 * c && n < BENCH_MAX_LIST - 1; t *= 2)
		bench_cfg.threads[n++] = t;
	bench_cfg.threads[n++] = c;
	qsort(bench_cfg.threads, (size_t)n, sizeof(int), cmp_int);
	int u = 0;
	for (int i = 0; i < n; i++)
		if (u == 0 || bench_cfg.threads[u - 1] != bench_cfg.threads[i])
			bench_cfg.threads[u++] = bench_cfg.threads[i];
	bench_cfg.nr_threads = u;
}

static void plan_append(const char *fmt, ...)
{
	size_t len = strlen(bench_cfg.plan);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(bench_cfg.plan + len, sizeof(bench_cfg.plan) - len, fmt, ap);
	va_end(ap);
}

/* Fallback without hwloc: the allowed CPUs in number order. */
static void plan_from_affinity(const cpu_set_t *allowed)
{
	for (int c = 0; c < CPU_SETSIZE && bench_cfg.nr_cpu_order < BENCH_MAX_THREADS; c++)
		if (CPU_ISSET(c, allowed))
			bench_cfg.cpu_order[bench_cfg.nr_cpu_order++] = c;
	bench_cfg.pin_real = 1;
	snprintf(bench_cfg.topology, sizeof(bench_cfg.topology),
	         "%d usable CPUs (no hwloc: affinity mask only)", bench_cfg.nr_cpus);
}

#ifdef FK_BENCH_HWLOC
static int plan_from_hwloc(const cpu_set_t *allowed)
{
	hwloc_topology_t topo;
	if (hwloc_topology_init(&topo))
		return -1;
	/* hwloc falls back to this machine, silently, on a topology it cannot read. */
	const char *syn = getenv("HWLOC_SYNTHETIC"), *xml = getenv("HWLOC_XMLFILE");
	if ((syn && *syn && hwloc_topology_set_synthetic(topo, syn)) ||
	    (!(syn && *syn) && xml && *xml && hwloc_topology_set_xml(topo, xml))) {
		bad(syn && *syn ? "HWLOC_SYNTHETIC" : "HWLOC_XMLFILE", syn && *syn ? syn : xml,
		    syn && *syn ? "hwloc cannot parse it (e.g. \"node:2 core:4 pu:2\")"
		                : "hwloc cannot read it");
		hwloc_topology_destroy(topo);
		return -2;
	}
	if (hwloc_topology_load(topo)) {
		hwloc_topology_destroy(topo);
		return -1;
	}
	bench_cfg.pin_real = hwloc_topology_is_thissystem(topo);
	int packages = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PACKAGE);
	int nodes = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_NUMANODE);
	int cores = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_CORE);
	int pus = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PU);
	phys_nodes = nodes > 0 ? nodes : 1;
	snprintf(bench_cfg.topology, sizeof(bench_cfg.topology),
	         "%d package(s), %d NUMA node(s), %d core(s), %d PU(s)%s", packages, nodes, cores,
	         pus,
	         bench_cfg.pin_real ? "" : " (planned topology: not this machine, never pinned)");
	/*
	 * Cores in hwloc's logical order are grouped by package and node; take
	 * the first PU of every core, then the second, ... so SMT siblings come
	 * last. On the real machine keep only CPUs the process may use.
	 */
	for (int level = 0; level < 8; level++) {
		int any = 0;
		for (int c = 0; c < cores; c++) {
			hwloc_obj_t core = hwloc_get_obj_by_type(topo, HWLOC_OBJ_CORE, (unsigned)c);
			hwloc_obj_t pu = hwloc_get_obj_inside_cpuset_by_type(
			    topo, core->cpuset, HWLOC_OBJ_PU, (unsigned)level);
			if (!pu)
				continue;
			any = 1;
			int cpu = (int)pu->os_index;
			if (bench_cfg.pin_real && (cpu >= CPU_SETSIZE || !CPU_ISSET(cpu, allowed)))
				continue;
			if (bench_cfg.nr_cpu_order < BENCH_MAX_THREADS)
				bench_cfg.cpu_order[bench_cfg.nr_cpu_order++] = cpu;
		}
		if (!any)
			break;
	}
	hwloc_topology_destroy(topo);
	return bench_cfg.nr_cpu_order > 0 ? 0 : -1;
}
#endif

/* 0, or -2: a planned topology (HWLOC_SYNTHETIC / HWLOC_XMLFILE) hwloc cannot read. */
static int discover(void)
{
	cpu_set_t allowed;
	CPU_ZERO(&allowed);
	if (sched_getaffinity(0, sizeof(allowed), &allowed) == 0 && CPU_COUNT(&allowed) > 0) {
		bench_cfg.nr_cpus = CPU_COUNT(&allowed);
	} else {
		bench_cfg.nr_cpus = 1;
		CPU_SET(0, &allowed);
	}
	int done = -1;
#ifdef FK_BENCH_HWLOC
	done = plan_from_hwloc(&allowed);
	if (done == -2)
		return -2;
#else
	if (getenv("HWLOC_SYNTHETIC") || getenv("HWLOC_XMLFILE"))
		fprintf(stderr, "framekit_bench: warning: built without hwloc: HWLOC_SYNTHETIC and "
		                "HWLOC_XMLFILE are ignored\n");
#endif
	if (done) {
		bench_cfg.nr_cpu_order = 0;
		plan_from_affinity(&allowed);
	}
	if (phys_nodes < 1)
		phys_nodes = 1;
	return 0;
}

static void describe_plan(void)
{
	bench_cfg.plan[0] = 0;
	if (!bench_cfg.pin || !bench_cfg.pin_real) {
		snprintf(bench_cfg.plan, sizeof(bench_cfg.plan), "%s; planned order",
		         !bench_cfg.pin ? "off (FK_BENCH_PIN=0)"
		                        : "off (topology is not this machine)");
	} else {
		snprintf(bench_cfg.plan, sizeof(bench_cfg.plan),
		         "hwloc order (cores before SMT siblings, by node), thread i -> cpu:");
	}
	int show = bench_cfg.nr_cpu_order < 16 ? bench_cfg.nr_cpu_order : 16;
	for (int i = 0; i < show; i++)
		plan_append(" %d:%d", i, bench_cfg.cpu_order[i]);
	if (show < bench_cfg.nr_cpu_order)
		plan_append(" ... (%d CPUs, then repeats)", bench_cfg.nr_cpu_order);
	else
		plan_append(" (then repeats)");
}

static const char *default_held = "0:1024,9:8+1024,10:8";

/*
 * A plug-in linked into this binary rather than loaded (weak: absent in
 * framekit_bench). framekit_bench_bitmap links examples/bitmap_allocator.c
 * built as a plug-in, registered here as "bitmap-linked", so one run
 * compares it with the same code loaded by --allocator-lib.
 */
extern const struct fk_allocator_plugin fk_allocator_plugin_v1 __attribute__((weak));

static int register_linked_plugin(void)
{
	if (!&fk_allocator_plugin_v1 || !fk_allocator_plugin_v1.ops)
		return 0;
	char name[64];
	snprintf(name, sizeof(name), "%s-linked", fk_allocator_plugin_v1.ops->name);
	struct fk_plugin_error why;
	if (fk_allocator_register(&fk_allocator_plugin_v1, name, &why) == 0)
		return 0;
	fprintf(stderr, "framekit_bench: linked plug-in: %s\n", why.text);
	return -1;
}

/* The allocation families' axis: every allocator, plug-ins included. */
static void list_allocators(void)
{
	size_t n = fk_allocator_names(bench_allocators, BENCH_MAX_ALLOCATORS);
	bench_nr_allocators = n < BENCH_MAX_ALLOCATORS ? n : BENCH_MAX_ALLOCATORS;
	if (!fk_allocator_find(bench_core_allocator) && bench_nr_allocators)
		bench_core_allocator = bench_allocators[0];
}

int bench_configure(int *argc, char **argv, int *code)
{
	*code = 2;
	if (register_linked_plugin())
		return -1;
	if (discover())
		return -1;
	bench_cfg.mem_frames = 262144; /* 1 GiB */
	bench_cfg.pin = 1;
	bench_cfg.budget_s = 2.0;
	bench_cfg.numa_real = phys_nodes > 1;
	bench_cfg.numa_nodes = phys_nodes > 1 ? (unsigned)phys_nodes : 2;
	default_threads();
	set_held("--held", default_held);
	bench_cfg.family_suite = 1;
	bench_cfg.seed = 42;
	bench_cfg.frag_iterations = 100;
	bench_cfg.frag_realloc = 10;

	/* Environment first, flags override. */
	for (size_t o = 0; o < NR_OPTIONS; o++) {
		const char *v = getenv(options[o].env);
		if (v && options[o].set(options[o].env, v))
			return -1;
	}
	int out = 1, list_alloc = 0, list_var = 0, plan = 0, help = 0;
	for (int i = 1; i < *argc; i++) {
		const char *a = argv[i];
		int used = 0;
		for (size_t o = 0; o < NR_OPTIONS && !used; o++) {
			size_t len = strlen(options[o].flag);
			if (strncmp(a, options[o].flag, len) != 0)
				continue;
			if (a[len] == '=') {
				used = 1;
				if (options[o].set(options[o].flag, a + len + 1))
					return -1;
			} else if (a[len] == 0) {
				used = 1;
				if (i + 1 >= *argc) {
					fprintf(stderr, "framekit_bench: %s needs a value\n", a);
					return -1;
				}
				if (options[o].set(options[o].flag, argv[++i]))
					return -1;
			}
		}
		if (!used && !strcmp(a, "--list-allocators"))
			used = list_alloc = 1;
		else if (!used && !strcmp(a, "--list-variants"))
			used = list_var = 1;
		else if (!used && !strcmp(a, "--print-plan"))
			used = plan = 1;
		else if (!used && (!strcmp(a, "--help") || !strcmp(a, "-h")))
			help = 1;
		if (!used)
			argv[out++] = argv[i];
	}
	*argc = out;
	argv[out] = NULL;
	/* --series defaults to the directory of --benchmark_out (left for gbench). */
	for (int i = 1; i < out && !bench_cfg.series_dir[0]; i++) {
		if (strncmp(argv[i], "--benchmark_out=", 16) != 0)
			continue;
		const char *path = argv[i] + 16, *slash = strrchr(path, '/');
		size_t len = slash ? (size_t)(slash - path) : 1;
		if (slash == path) /* "/x.json": the root */
			len = 1;
		if (len < sizeof(bench_cfg.series_dir))
			snprintf(bench_cfg.series_dir, sizeof(bench_cfg.series_dir), "%.*s",
			         (int)len, slash ? path : ".");
	}
	list_allocators(); /* after --allocator-lib */
	describe_plan();
	*code = 0;
	if (help) {
		fputs(usage, stdout);
		fflush(stdout);
		return 0; /* gbench's Initialize prints its help and exits 0 */
	}
	if (list_alloc || list_var || plan) {
		for (size_t a = 0; list_alloc && a < bench_nr_allocators; a++)
			printf("%s\n", bench_allocators[a]);
		for (size_t v = 0; list_var && v < bench_nr_core_variants; v++)
			printf("%s\n", bench_core_variants[v].name);
		if (plan) {
			printf("topology: %s\nusable CPUs: %d\nthreads:", bench_cfg.topology,
			       bench_cfg.nr_cpus);
			for (int i = 0; i < bench_cfg.nr_threads; i++)
				printf("%s%d", i ? "," : " ", bench_cfg.threads[i]);
			printf("\npinning: %s\n", bench_cfg.plan);
		}
		return -1;
	}
	return 0;
}

void bench_add_context(void)
{
	char buf[512] = "";
	for (size_t a = 0; a < bench_nr_allocators; a++) {
		strncat(buf, bench_allocators[a], sizeof(buf) - strlen(buf) - 2);
		if (a + 1 < bench_nr_allocators)
			strcat(buf, " ");
	}
	gb_add_context("framekit_allocators", buf);
	buf[0] = 0;
	for (size_t a = 0; a < bench_nr_allocators; a++) {
		const char *from = fk_allocator_origin(bench_allocators[a]);
		size_t len = strlen(buf);
		if (from)
			snprintf(buf + len, sizeof(buf) - len, "%s%s=%s", len ? "; " : "",
			         bench_allocators[a], from);
	}
	if (buf[0])
		gb_add_context("framekit_plugins", buf);
	buf[0] = 0;
	for (size_t v = 0; v < bench_nr_core_variants; v++) {
		size_t len = strlen(buf);
		snprintf(buf + len, sizeof(buf) - len, "%s%s (%s)", v ? "; " : "",
		         bench_core_variants[v].name, bench_core_variants[v].what);
	}
	gb_add_context("core_variants", buf);
	gb_add_context("core_allocator", bench_core_allocator);
	snprintf(buf, sizeof(buf), "%d", bench_cfg.nr_cpus);
	gb_add_context("usable_cpus", buf);
	buf[0] = 0;
	for (int i = 0; i < bench_cfg.nr_threads; i++) {
		size_t len = strlen(buf);
		snprintf(buf + len, sizeof(buf) - len, "%s%d", i ? " " : "", bench_cfg.threads[i]);
	}
	gb_add_context("thread_counts", buf);
	gb_add_context("topology", bench_cfg.topology);
	gb_add_context("thread_pinning", bench_cfg.plan);
	snprintf(buf, sizeof(buf), "%llu MiB floor per run (unbacked 4 KiB frames)",
	         (unsigned long long)(bench_cfg.mem_frames / 256));
	gb_add_context("memory", buf);
	buf[0] = 0;
	for (int i = 0; i < bench_cfg.nr_held; i++) {
		size_t len = strlen(buf);
		snprintf(buf + len, sizeof(buf) - len, "%sorder %d: %d", i ? "; " : "",
		         bench_cfg.held_order[i], bench_cfg.held_count[i]);
	}
	gb_add_context("held_per_thread", buf);
	if (bench_cfg.numa_real)
		snprintf(buf, sizeof(buf), "real (%u node(s))%s", bench_cfg.numa_nodes,
		         bench_cfg.numa_nodes < 2 ? ": one node, remote benchmarks skipped" : "");
	else
		snprintf(buf, sizeof(buf), "logical:%u (split of %d physical node(s))",
		         bench_cfg.numa_nodes, phys_nodes);
	gb_add_context("numa_mode", buf);
	snprintf(buf, sizeof(buf), "%g", bench_cfg.budget_s);
	gb_add_context("run_budget_s", buf);
	gb_add_context("clock",
	               bench_cfg.gbench_clock
	                   ? "per_thread (FK_BENCH_CLOCK): Google Benchmark's mean of the threads' "
	                     "own wall times; inflated when threads > CPUs"
	                   : "span: all threads' items / span from the start barrier to the end of "
	                     "the last thread's work; cpu_util and cpu_ns_per_item from thread CPU "
	                     "time");
	snprintf(buf, sizeof(buf), "suite%s%s%s%s", bench_cfg.family_suite ? "" : " (off)",
	         bench_cfg.family_frag ? ", frag" : "", bench_cfg.family_fill ? ", fill" : "",
	         bench_cfg.family_reclaim ? ", reclaim" : "");
	gb_add_context("families", buf);
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)bench_cfg.seed);
	gb_add_context("seed", buf);
	if (bench_cfg.family_frag) {
		snprintf(buf, sizeof(buf), "%d iterations, %d %% reallocated per iteration",
		         bench_cfg.frag_iterations, bench_cfg.frag_realloc);
		gb_add_context("frag", buf);
		gb_add_context("frag_series", bench_cfg.series_dir[0] ? bench_cfg.series_dir
		                                                      : "(none: no --series)");
	}
	snprintf(buf, sizeof(buf), "one op in 16 timed, %llu ns clock cost subtracted",
	         (unsigned long long)bench_clock_overhead_ns);
	gb_add_context("latency_sampling", buf);
}
