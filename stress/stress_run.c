/* SPDX-License-Identifier: MIT */
/*
 * One stress run over one allocator (run_one): wrap the allocator
 * (sc_wrap.c), create the memory, start the workers and the hot-plug
 * thread, print progress, stop them, drop what is left, run the
 * conservation check (sc_conservation.c plus the typed-frame counts here)
 * and print the SUMMARY line. Also the run state `g` and fail().
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sched_fuzz_internal.h"
#include "stress.h"

struct stress_state g;

void fail(const char *fmt, ...)
{
	va_list ap;
	unsigned k = atomic_fetch_add(&g.nfailures, 1);
	if (k < 20) {
		va_start(ap, fmt);
		fprintf(stderr, "STRESS FAILURE [%s]: ", g.alloc_name ? g.alloc_name : "?");
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
		va_end(ap);
	} else if (k == 20) {
		fprintf(stderr, "STRESS FAILURE [%s]: more failures, not shown\n",
		        g.alloc_name ? g.alloc_name : "?");
	}
	atomic_store(&g.failed, 1);
	if (!g.keep_going)
		atomic_store(&g.stop, 1);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* The build's sanitizer, for the JSON summary. */
static const char *sanitizer_name(void)
{
#if defined(__SANITIZE_THREAD__)
	return "thread";
#elif defined(__SANITIZE_ADDRESS__)
	return "address";
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
	return "thread";
#elif __has_feature(address_sanitizer)
	return "address";
#else
	return "none";
#endif
#else
	return "none";
#endif
}

/* One JSON object (one line) per run, beside the SUMMARY line: the same
 * facts for scripts (run-stress.sh collects them). Names are the
 * allocator's and variant's, which need no escaping. */
static void write_json(const char *alloc_name, const struct run_result *res, int conserved,
                       uint64_t dups, uint64_t sched_hits)
{
	FILE *j = g.json;
	fprintf(j,
	        "{\"program\":\"framekit_stress\",\"allocator\":\"%s\",\"variant\":\"%s\","
	        "\"lock\":\"%s\",\"workload\":\"%s\",\"seed\":%" PRIu64 ",\"threads\":%d,"
	        "\"seconds\":%.3f,\"ops\":%" PRIu64 ",\"faults\":%g,\"hotplug\":%s,"
	        "\"sanitizer\":\"%s\",\"sched_fuzz\":{\"on\":%s,\"seed\":%" PRIu64
	        ",\"points_hit\":%" PRIu64 "},",
	        alloc_name, g.run_variant->name, g.run_lock, g.workload == WL_HUGE ? "huge" : "mixed",
	        g.seed, g.threads, res->secs, res->ops, g.faults, g.hotplug ? "true" : "false",
	        sanitizer_name(), g.sched_fuzz ? "true" : "false", g.sched_fuzz, sched_hits);
	fprintf(j,
	        "\"enomem\":{\"total\":%" PRIu64 ",\"injected\":%" PRIu64
	        ",\"no_free_block\":%" PRIu64 ",\"unjustified\":%" PRIu64 "},"
	        "\"refused_removals\":{\"total\":%" PRIu64 ",\"justified\":%" PRIu64
	        ",\"unjustified\":%" PRIu64 "},\"double_allocations\":%" PRIu64 ","
	        "\"hotplug_counts\":{\"add\":%" PRIu64 ",\"remove\":%" PRIu64
	        ",\"refused_held\":%" PRIu64 ",\"refused_busy\":%" PRIu64 "},"
	        "\"frames_out\":%" PRIu64 ",\"frames_back\":%" PRIu64 ",\"failures\":%u,"
	        "\"conservation\":\"%s\",\"result\":\"%s\"}\n",
	        atomic_load(&g.c.enomem), atomic_load(&sc_enomem.injected),
	        atomic_load(&sc_enomem.no_block), atomic_load(&sc_enomem.flagged),
	        atomic_load(&sc_removal.refused), atomic_load(&sc_removal.justified),
	        atomic_load(&sc_removal.flagged), dups, atomic_load(&g.c.hot_add),
	        atomic_load(&g.c.hot_remove), atomic_load(&g.c.hot_refused_held),
	        atomic_load(&g.c.hot_refused_busy), atomic_load(&sc_wstats.alloc_frames),
	        atomic_load(&sc_wstats.dealloc_frames), atomic_load(&g.nfailures),
	        conserved ? "OK" : "FAILED", res->ok ? "OK" : "FAILED");
	fflush(j);
}

int run_one(const char *alloc_name, struct run_result *res)
{
	memset(res, 0, sizeof(*res));
	const struct fk_allocator_ops *real = fk_allocator_find(alloc_name);
	if (!real)
		return 1; /* main checked the name */
	memset(&g.c, 0, sizeof(g.c));
	for (int k = 0; k < NPUB; k++)
		atomic_store(&g.published[k], 0);
	atomic_store(&g.stop, 0);
	atomic_store(&g.failed, 0);
	atomic_store(&g.nfailures, 0);
	atomic_store(&g.workers_done, 0);
	g.nmail = 0;
	memset(g.hot_present, 0, sizeof(g.hot_present));
	g.alloc_name = alloc_name;

	struct fk_region_config regs[3] = {
	    {M0_BASE, g.m_frames, 0, 0},
	    {M1_BASE, g.m_frames, 1, 0},
	    {U_BASE, U_FRAMES, 0, FK_REGION_UNMANAGED},
	};
	struct fk_mem_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	cfg.regions = regs;
	cfg.nr_regions = 3;
	cfg.nr_nodes = NR_NODES;
	cfg.raw_tracking = 1;
	cfg.allocator_ops = sc_wrap(real, g.faults);
	/* Every managed range the allocator may hold, for the FK_ENOMEM check. */
	sc_track_add(M0_BASE, g.m_frames, 0);
	sc_track_add(M1_BASE, g.m_frames, 1);
	for (unsigned k = 0; k < HOT_N; k++)
		sc_track_add(HOT_BASE(k), HOT_FRAMES, (int)(2 + k));
	cfg.alloc.lock = g.run_lock;
	fk_variant_apply(&cfg, g.run_variant);
	int rc = fk_mem_create(&cfg, &g.mem);
	if (rc) {
		fprintf(stderr, "fk_mem_create(%s) -> %s\n", alloc_name, E(rc));
		return 1;
	}
	atomic_store(&sc_fault_armed, g.faults > 0);

	struct worker *ws = calloc((size_t)g.threads, sizeof(*ws));
#ifdef FK_SCHED_FUZZ
	fk_sched_fuzz_seed(g.sched_fuzz); /* before the threads start */
	uint64_t hits0 = fk_sched_fuzz_hits();
#endif
	double t0 = now_s();
	for (int i = 0; i < g.threads; i++) {
		ws[i].id = i;
		ws[i].rng = fk_rand_mix(g.seed * 7919u + (uint64_t)i) | 1;
		pthread_create(&ws[i].th, NULL, worker_main, &ws[i]);
	}
	pthread_t hot;
	if (g.hotplug)
		pthread_create(&hot, NULL, hotplug_main, NULL);
	double next = t0 + g.progress;
	int seen_bad_free = 0, seen_dup = 0;
	while (!atomic_load(&g.stop) && atomic_load(&g.workers_done) < g.threads &&
	       now_s() - t0 < g.seconds) {
		usleep(5000);
		/* A free the allocator refused (the core frees only frames it
		 * got from it, once) or a double allocation fails the run now,
		 * not only at the end, so that the time to failure shows. */
		if (!seen_bad_free && atomic_load(&sc_wstats.dealloc_errors)) {
			seen_bad_free = 1;
			fprintf(stderr, "REFUSED FREE: first seen %.2f s into the run\n", now_s() - t0);
			fail("the allocator refused a free of frames it had handed out (WRAP: "
			     "line above), %.2f s into the run",
			     now_s() - t0);
		}
		if (!seen_dup && atomic_load(&sc_double_allocs)) {
			seen_dup = 1;
			fprintf(stderr, "DOUBLE ALLOCATION: first seen %.2f s into the run\n",
			        now_s() - t0);
			fail("double allocation (DOUBLE ALLOCATION line above), %.2f s into the run",
			     now_s() - t0);
		}
		if (g.progress > 0 && now_s() >= next) {
			uint64_t ops = 0;
			for (int i = 0; i < g.threads; i++)
				ops += atomic_load_explicit(&ws[i].nops_seen, memory_order_relaxed);
			double el = now_s() - t0;
			fprintf(stderr,
			        "progress: %s %.0f/%.0fs ops=%" PRIu64 " ops/s=%.0f errors=%u"
			        " enomem=%" PRIu64 " unjustified=%" PRIu64 "\n",
			        alloc_name, el, g.seconds, ops, ops / el, atomic_load(&g.nfailures),
			        atomic_load(&g.c.enomem), atomic_load(&sc_enomem.flagged));
			next += g.progress;
		}
	}
	atomic_store(&g.stop, 1);
	for (int i = 0; i < g.threads; i++)
		pthread_join(ws[i].th, NULL);
	if (g.hotplug)
		pthread_join(hot, NULL);
	res->secs = now_s() - t0;
	atomic_store(&sc_fault_armed, 0);
	uint64_t sched_hits = 0;
#ifdef FK_SCHED_FUZZ
	sched_hits = fk_sched_fuzz_hits() - hits0;
	fk_sched_fuzz_seed(0); /* the quiescent checks below run unperturbed */
#endif

	/* Quiescent: drop what is left in the mailbox, remove hot regions. */
	fk_thread_enter(g.mem);
	for (int i = 0; i < g.nmail; i++)
		item_release(g.mem, &g.mail[i]);
	g.nmail = 0;
	fk_mem_alloc_drain(g.mem);
	for (unsigned k = 0; k < HOT_N; k++) {
		if (!g.hot_present[k])
			continue;
		struct sc_call rcall;
		sc_call_begin(&rcall);
		rc = fk_mem_remove_region(g.mem, HOT_BASE(k));
		if (rc == FK_EINUSE || rc == FK_EBUSY)
			sc_removal_classify(&rcall, HOT_BASE(k), HOT_FRAMES, rc, "final remove_region",
			                    stderr);
		EXPECT(rc == 0, "remove_region(hot %u) when idle -> %s", k, E(rc));
		if (rc == 0) {
			CNT(hot_remove);
			g.hot_present[k] = 0;
			hot_check_gone(k);
		}
	}

	/* Conservation. */
	struct sc_region sregs[3 + HOT_N];
	size_t nr = 0;
	for (int i = 0; i < 3; i++)
		sregs[nr++] =
		    (struct sc_region){regs[i].base, regs[i].nframes, regs[i].node, regs[i].flags};
	for (unsigned k = 0; k < HOT_N; k++)
		if (g.hot_present[k]) /* removal failed above: still check its slots */
			sregs[nr++] = (struct sc_region){HOT_BASE(k), HOT_FRAMES, (int)(2 + k), 0};
	int bad = sc_check_conservation(g.mem, sregs, nr, stderr);
	bad += sc_check_wrap_balance(stderr);
	uint64_t im = atomic_load(&g.c.init_ok_managed), dm = atomic_load(&g.c.drop_managed);
	uint64_t iu = atomic_load(&g.c.init_ok_unmanaged), du = atomic_load(&g.c.drop_unmanaged);
	if (im != dm || iu != du) {
		bad++;
		fprintf(stderr,
		        "CONSERVATION: typed frames initialised/dropped: managed %" PRIu64
		        "/%" PRIu64 ", unmanaged %" PRIu64 "/%" PRIu64 "\n",
		        im, dm, iu, du);
	}
	fk_thread_leave(g.mem);
	struct fk_leak_report lr;
	rc = fk_mem_destroy(g.mem, &lr);
	if (rc) {
		bad++;
		fprintf(stderr,
		        "CONSERVATION: fk_mem_destroy -> %s (referenced=%" PRIu64 " raw=%" PRIu64
		        ")\n",
		        E(rc), lr.frames_referenced, lr.frames_raw);
	}
	g.mem = NULL;

	for (int i = 0; i < g.threads; i++) {
		res->ops += ws[i].nops;
		for (int k = 0; k < NR_OPS; k++) {
			res->per_op[k] += ws[i].ops[k];
			res->ok_op[k] += ws[i].ok[k];
		}
	}
	free(ws);
	uint64_t dups = atomic_load(&sc_double_allocs);
	if (dups)
		fprintf(stderr, "STRESS FAILURE [%s]: %" PRIu64 " double allocations (DOUBLE ALLOCATION lines)\n",
		        alloc_name, dups);
	if (atomic_load(&sc_removal.flagged))
		fprintf(stderr, "STRESS FAILURE [%s]: %" PRIu64 " unjustified refused removals\n",
		        alloc_name, atomic_load(&sc_removal.flagged));
	res->ok = !bad && !atomic_load(&g.failed) && atomic_load(&sc_enomem.flagged) == 0 &&
	          dups == 0 && atomic_load(&sc_removal.flagged) == 0;

	printf("SUMMARY allocator=%s lock=%s threads=%d seconds=%.2f ops=%" PRIu64 " seed=%" PRIu64
	       " faults=%g variant=%s",
	       alloc_name, g.run_lock, g.threads, res->secs, res->ops, g.seed, g.faults,
	       g.run_variant->name);
	for (int k = 0; k < NR_OPS; k++)
		printf(" %s=%" PRIu64 "/%" PRIu64, op_name[k], res->ok_op[k], res->per_op[k]);
	printf(" | from_in_use: same=%" PRIu64 " other=%" PRIu64 " busy=%" PRIu64 " unused=%" PRIu64
	       " unique=%" PRIu64 " oob=%" PRIu64,
	       atomic_load(&g.c.fiu_ok_same), atomic_load(&g.c.fiu_ok_other),
	       atomic_load(&g.c.fiu_busy), atomic_load(&g.c.fiu_unused),
	       atomic_load(&g.c.fiu_unique), atomic_load(&g.c.fiu_oob));
	printf(" | hotplug: add=%" PRIu64 " add_fail=%" PRIu64 " remove=%" PRIu64
	       " refused_held=%" PRIu64 " refused_busy=%" PRIu64,
	       atomic_load(&g.c.hot_add), atomic_load(&g.c.hot_add_fail),
	       atomic_load(&g.c.hot_remove), atomic_load(&g.c.hot_refused_held),
	       atomic_load(&g.c.hot_refused_busy));
	printf(" | enomem=%" PRIu64 " (injected=%" PRIu64 " no_free_block=%" PRIu64
	       " unjustified=%" PRIu64 ") injected_alloc=%" PRIu64 " injected_add=%" PRIu64
	       " init_faults=%" PRIu64 " mail=%" PRIu64 " frames_out=%" PRIu64
	       " frames_back=%" PRIu64,
	       atomic_load(&g.c.enomem), atomic_load(&sc_enomem.injected),
	       atomic_load(&sc_enomem.no_block), atomic_load(&sc_enomem.flagged),
	       atomic_load(&sc_wstats.injected_alloc),
	       atomic_load(&sc_wstats.injected_add), atomic_load(&g.c.init_faults),
	       atomic_load(&g.c.mail_moves), atomic_load(&sc_wstats.alloc_frames),
	       atomic_load(&sc_wstats.dealloc_frames));
	printf(" | removal: refused=%" PRIu64 " justified=%" PRIu64 " unjustified=%" PRIu64
	       " | double_alloc=%" PRIu64 " workload=%s sched_fuzz=%" PRIu64 " sched_points_hit=%" PRIu64,
	       atomic_load(&sc_removal.refused), atomic_load(&sc_removal.justified),
	       atomic_load(&sc_removal.flagged), dups, g.workload == WL_HUGE ? "huge" : "mixed",
	       g.sched_fuzz, sched_hits);
	/* conservation= is the end-of-run check alone (CONSERVATION: lines);
	 * result= also counts STRESS FAILURE lines, unjustified FK_ENOMEM,
	 * unjustified refused removals and double allocations. */
	printf(" conservation=%s result=%s\n", bad ? "FAILED" : "OK", res->ok ? "OK" : "FAILED");
	fflush(stdout);
	if (g.json)
		write_json(alloc_name, res, !bad, dups, sched_hits);
	return res->ok ? 0 : 1;
}
