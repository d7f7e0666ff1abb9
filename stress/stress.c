/* SPDX-License-Identifier: MIT */
/*
 * framekit_stress: randomised multi-threaded workload over every public
 * operation, ending with a conservation check.
 *
 * Each worker keeps private handles (frames, segments, unique frames, raw
 * ranges) and shares others: through a mutex-protected mailbox (ownership
 * moves between threads, raw ranges included) and through a table of
 * published addresses that other threads grab with from_in_use while the
 * owner may be dropping its last reference. Metadata carries a canary that
 * on_drop poisons, so a from_in_use success on a dying frame is caught.
 * A hot-plug thread adds and removes regions under load: removal must be
 * refused while a frame of the region is held and succeed once idle.
 * At the end every handle is dropped and the allocator drained; then every
 * slot must be UNUSED, nothing raw, allocator free == managed total (per
 * node and per order), the leak report empty, and every frame the
 * allocator handed out must have come back exactly once.
 *
 * Every FK_ENOMEM the workload gets is classified (sc_track.c): it
 * was injected, or no aligned free block of the size asked for existed in
 * an allowed region for the whole call; any other one fails the run. The
 * SUMMARY line counts them.
 *
 * Usage: see usage() or `framekit_stress --help`. Seconds and ops bound
 * each allocator's run, whichever comes first; replay a failure with the
 * printed --seed (and the same --threads). The files and how to add an
 * operation: stress/README.md.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sched_fuzz_internal.h"
#include "stress.h"

static void usage(FILE *out)
{
	fprintf(out,
	        "usage: framekit_stress [options]\n"
	        "Randomised multi-threaded workload over the public API with hot-plug,\n"
	        "ending with a conservation check; every FK_ENOMEM must be justified.\n"
	        "  --allocator NAME   one allocator, or 'all' (default; see --list)\n"
	        "  --allocator-lib PATH[:NAME]  load an allocator plug-in (.so) and\n"
	        "                     run it like a built-in; repeatable\n"
	        "  --threads N        worker threads (default 4)\n"
	        "  --seconds S        run time per allocator (default 2)\n"
	        "  --ops N            operations per worker at most\n"
	        "  --seed X           seed (default: time and pid; printed first)\n"
	        "  --faults P         inject allocator/init failures with probability P\n"
	        "  --lock KIND        buddy lock: ticket, mcs or mutex (default rotates)\n"
	        "  --variant NAME     core variant, e.g. fast, checked+rwlock (default\n"
	        "                     rotates; a bad name lists them)\n"
	        "  --no-hotplug       no hot-plug thread\n"
	        "  --workload NAME    mixed (default: every operation) or huge (order-9\n"
	        "                     blocks freed in parts by several threads, small\n"
	        "                     allocations of 1-8 frames, drains, on 2 x 1024\n"
	        "                     frames)\n"
	        "  --sched-fuzz SEED  schedule perturbation seeded by SEED (> 0); needs\n"
	        "                     an FK_SCHED_FUZZ build (preset sched-fuzz)\n"
	        "  --json FILE        append one JSON summary per run to FILE\n"
	        "  --keep-going       run to the end after a failure, counting them all\n"
	        "  --progress[=S]     progress line every S s (default 5) on stderr;\n"
	        "                     on by default when stderr is a terminal\n"
	        "  --no-progress      never print progress lines\n"
	        "  --list             print the allocator names and exit\n"
	        "  --help             this text\n"
	        "Exit: 0 all runs OK, 1 a run failed, 2 bad usage.\n");
}

/* One clear line for a bad argument, exit 2. */
static int bad_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int bad_usage(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("framekit_stress: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputs(" (try --help)\n", stderr);
	va_end(ap);
	return 2;
}

static int parse_u64(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	if (!s || !*s || *s == '-')
		return 0;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno || *end)
		return 0;
	*out = v;
	return 1;
}

static int parse_double(const char *s, double *out)
{
	char *end;
	errno = 0;
	if (!s || !*s)
		return 0;
	double v = strtod(s, &end);
	if (errno || *end || !isfinite(v))
		return 0;
	*out = v;
	return 1;
}

/* The allocator names, space separated, plus "all". */
static void list_names(char *buf, size_t len)
{
	const char *nm[16];
	size_t k = fk_allocator_names(nm, 16), at = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < k && i < 16 && at < len; i++)
		at += (size_t)snprintf(buf + at, len - at, "%s ", nm[i]);
	if (at < len)
		snprintf(buf + at, len - at, "all");
}

int main(int argc, char **argv)
{
	g.threads = 4;
	g.seconds = 2;
	g.ops_limit = UINT64_MAX;
	g.seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 20);
	g.hotplug = 1;
	g.progress = isatty(STDERR_FILENO) ? 5 : 0;
	const char *alloc = "all";
	static const struct option lo[] = {
	    {"threads", required_argument, 0, 't'},
	    {"seconds", required_argument, 0, 's'},
	    {"seed", required_argument, 0, 'x'},
	    {"allocator", required_argument, 0, 'a'},
	    {"allocator-lib", required_argument, 0, 'A'},
	    {"ops", required_argument, 0, 'o'},
	    {"faults", required_argument, 0, 'f'},
	    {"no-hotplug", no_argument, 0, 'H'},
	    {"lock", required_argument, 0, 'l'},
	    {"variant", required_argument, 0, 'V'},
	    {"progress", optional_argument, 0, 'P'},
	    {"no-progress", no_argument, 0, 'Q'},
	    {"keep-going", no_argument, 0, 'K'},
	    {"workload", required_argument, 0, 'W'},
	    {"sched-fuzz", required_argument, 0, 'S'},
	    {"json", required_argument, 0, 'J'},
	    {"list", no_argument, 0, 'L'},
	    {"help", no_argument, 0, 'h'},
	    {0, 0, 0, 0},
	};
	int c;
	uint64_t u;
	double d;
	char names[512];
	int list_only = 0;
	opterr = 0; /* our own one-line messages */
	while ((c = getopt_long(argc, argv, ":t:s:x:a:o:f:l:LHh", lo, NULL)) != -1) {
		switch (c) {
		case 't':
			if (!parse_u64(optarg, &u) || u < 1 || u > 128)
				return bad_usage("--threads wants 1..128, got '%s'", optarg);
			g.threads = (int)u;
			break;
		case 's':
			if (!parse_double(optarg, &d) || d <= 0)
				return bad_usage("--seconds wants a positive number, got '%s'", optarg);
			g.seconds = d;
			break;
		case 'x':
			if (!parse_u64(optarg, &g.seed))
				return bad_usage("--seed wants an unsigned integer, got '%s'", optarg);
			break;
		case 'a':
			alloc = optarg; /* checked after the loop: a plug-in may follow */
			break;
		case 'A': {
			struct fk_plugin_error why;
			if (fk_allocator_load(optarg, &why))
				return bad_usage("--allocator-lib '%s': %s", optarg, why.text);
			break;
		}
		case 'o':
			if (!parse_u64(optarg, &g.ops_limit) || g.ops_limit == 0)
				return bad_usage("--ops wants a positive integer, got '%s'", optarg);
			break;
		case 'f':
			if (!parse_double(optarg, &g.faults) || g.faults < 0 || g.faults > 1)
				return bad_usage("--faults wants a probability 0..1, got '%s'", optarg);
			break;
		case 'l':
			if (strcmp(optarg, "ticket") && strcmp(optarg, "mcs") && strcmp(optarg, "mutex"))
				return bad_usage("unknown lock '%s'; valid: ticket mcs mutex", optarg);
			g.lock = optarg;
			break;
		case 'V':
			for (size_t v = 0; v < FK_NR_VARIANTS; v++)
				if (strcmp(optarg, fk_variants[v].name) == 0)
					g.variant = &fk_variants[v];
			if (!g.variant) {
				char vn[128] = "";
				for (size_t v = 0; v < FK_NR_VARIANTS; v++)
					snprintf(vn + strlen(vn), sizeof(vn) - strlen(vn), " %s",
					         fk_variants[v].name);
				return bad_usage("unknown variant '%s'; valid:%s", optarg, vn);
			}
			break;
		case 'P':
			g.progress = 5;
			if (optarg && (!parse_double(optarg, &g.progress) || g.progress <= 0))
				return bad_usage("--progress wants seconds > 0, got '%s'", optarg);
			break;
		case 'Q':
			g.progress = 0;
			break;
		case 'K':
			g.keep_going = 1;
			break;
		case 'W':
			if (strcmp(optarg, "mixed") && strcmp(optarg, "huge"))
				return bad_usage("unknown workload '%s'; valid: mixed huge", optarg);
			g.workload = strcmp(optarg, "huge") == 0 ? WL_HUGE : WL_MIXED;
			break;
		case 'S':
			if (!parse_u64(optarg, &g.sched_fuzz) || g.sched_fuzz == 0)
				return bad_usage("--sched-fuzz wants a seed > 0, got '%s'", optarg);
#ifndef FK_SCHED_FUZZ
			return bad_usage("--sched-fuzz needs a build with -DFK_SCHED_FUZZ=ON "
			                 "(cmake --preset sched-fuzz)");
#endif
			break;
		case 'J':
			if (!(g.json = fopen(optarg, "a")))
				return bad_usage("--json: cannot open '%s': %s", optarg, strerror(errno));
			break;
		case 'L':
			list_only = 1;
			break;
		case 'H':
			g.hotplug = 0;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case ':':
			return bad_usage("option '%s' needs a value", argv[optind - 1]);
		default:
			if (optopt)
				return bad_usage("unknown option '-%c'", optopt);
			return bad_usage("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return bad_usage("unexpected argument '%s'", argv[optind]);
	if (list_only) {
		const char *nm[16];
		size_t k = fk_allocator_names(nm, 16);
		for (size_t i = 0; i < k && i < 16; i++)
			printf("%s\n", nm[i]);
		return 0;
	}
	list_names(names, sizeof(names));
	if (strcmp(alloc, "all") != 0 && !fk_allocator_find(alloc))
		return bad_usage("unknown allocator '%s'; valid: %s", alloc, names);
	/* The seed comes first so that any failure can be replayed. */
	printf("seed=%" PRIu64 "\n", g.seed);
	fflush(stdout);
	pthread_mutex_init(&g.mail_lock, NULL);
	g.m_frames = g.workload == WL_HUGE ? HUGE_FRAMES : M_FRAMES;
	workload_init();

	const char *run_names[16];
	size_t n = 0;
	if (strcmp(alloc, "all") == 0) {
		n = fk_allocator_names(run_names, 16);
		if (n > 16)
			n = 16;
	} else {
		run_names[n++] = alloc;
	}
	int failed = 0;
	uint64_t total_ops = 0, total_enomem = 0, total_flagged = 0;
	double total_s = 0;
	for (size_t i = 0; i < n; i++) {
		static const char *const locks[3] = {"ticket", "mcs", "mutex"};
		struct run_result r;
		g.run_lock = g.lock ? g.lock : locks[(g.seed + i) % 3];
		g.run_variant = g.variant ? g.variant : &fk_variants[(g.seed + i) % FK_NR_VARIANTS];
		failed |= run_one(run_names[i], &r);
		total_ops += r.ops;
		total_s += r.secs;
		total_enomem += atomic_load(&g.c.enomem);
		total_flagged += atomic_load(&sc_enomem.flagged);
	}
	printf("TOTAL allocators=%zu threads=%d seconds=%.2f ops=%" PRIu64 " seed=%" PRIu64
	       " enomem=%" PRIu64 " unjustified_enomem=%" PRIu64 " result=%s\n",
	       n, g.threads, total_s, total_ops, g.seed, total_enomem, total_flagged,
	       failed ? "FAILED" : "OK");
	if (g.json)
		fclose(g.json);
	return failed ? 1 : 0;
}
