/*
 * bench_common.c: per-run fk_mem lifecycle (thread-0 pattern), pinning and
 * registration over every allocator and thread count.
 *
 * Invariant: every thread of a run passes exactly one bench_begin and one
 * bench_end, so the two gb_barrier_wait calls in each always see
 * gb_thread_count() arrivals, even when setup or the body failed.
 */
#include "bench_common.h"

#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

const char *bench_allocators[BENCH_MAX_ALLOCATORS];
size_t bench_nr_allocators;
int bench_nr_cpus = 1;
static int bench_pin = 1;
double bench_budget_s = 2.0;

static const int bench_thread_counts[] = {1, 2, 4, 8, 16};

void bench_init(void)
{
	size_t n = fk_allocator_names(bench_allocators, BENCH_MAX_ALLOCATORS);
	bench_nr_allocators = n < BENCH_MAX_ALLOCATORS ? n : BENCH_MAX_ALLOCATORS;
	long c = sysconf(_SC_NPROCESSORS_ONLN);
	bench_nr_cpus = c > 0 ? (int)c : 1;
	const char *pin = getenv("FK_BENCH_PIN");
	if (pin && strcmp(pin, "0") == 0)
		bench_pin = 0;
	const char *budget = getenv("FK_BENCH_BUDGET");
	if (budget && atof(budget) > 0)
		bench_budget_s = atof(budget);
}

int bench_pinning(void)
{
	return bench_pin;
}

static struct bench_env *all_envs;

void bench_fini(void)
{
	while (all_envs) {
		struct bench_env *env = all_envs;
		all_envs = env->next_env;
		gb_barrier_free(env->barrier);
		free(env);
	}
}

struct bench_env *bench_env_new(const char *allocator)
{
	struct bench_env *env = calloc(1, sizeof(*env));
	if (!env) {
		perror("calloc");
		exit(1);
	}
	env->allocator = allocator;
	env->raw_tracking = 1;
	env->barrier = gb_barrier_new();
	env->next_env = all_envs;
	all_envs = env;
	return env;
}

gb_bench *bench_register(const char *name, gb_fn fn, struct bench_env *env)
{
	return bench_threads_real_time(gb_register(name, fn, env));
}

gb_bench *bench_threads_real_time(gb_bench *b)
{
	gb_thread_list(b, bench_thread_counts,
	               sizeof(bench_thread_counts) / sizeof(bench_thread_counts[0]));
	return gb_use_real_time(b);
}

uint64_t bench_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void bench_fail(gb_state *st, const char *what, int err)
{
	char msg[160];
	snprintf(msg, sizeof(msg), "%s: %s (%s)", what, fk_strerror_name(err), fk_strerror(err));
	gb_skip_and_finish(st, msg);
}

void bench_fail_after(gb_state *st, const char *what, int err)
{
	char msg[160];
	snprintf(msg, sizeof(msg), "%s: %s (%s)", what, fk_strerror_name(err), fk_strerror(err));
	gb_skip_with_error(st, msg);
}

int bench_over_budget(gb_state *st, struct bench_env *env)
{
	uint64_t elapsed = bench_now_ns() - env->run_start_ns;
	if ((double)elapsed < bench_budget_s * 1e9)
		return 0;
	char msg[256];
	double rate =
	    (double)gb_iterations_done(st) * gb_thread_count(st) / ((double)elapsed / 1e9);
	snprintf(msg, sizeof(msg),
	         "timeout: run exceeded the %g s budget (FK_BENCH_BUDGET); about %.4g items/s "
	         "(thread %d's rate x %d threads)%s",
	         bench_budget_s, rate, gb_thread_index(st), gb_thread_count(st),
	         gb_thread_count(st) > bench_nr_cpus ? ", oversubscribed" : "");
	gb_skip_and_finish(st, msg);
	return 1;
}

static void pin_thread(int tid)
{
	if (!bench_pin)
		return;
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(tid % bench_nr_cpus, &set);
	/* Best effort: a failure only costs placement, not correctness. */
	(void)pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

/*
 * Allocator capture: a copy of the real ops whose create also records the
 * state, so a body can call real_ops->alloc(alloc_state, ...) directly
 * (the LLFree workloads on the allocator alone). Only thread 0 creates
 * mems, one at a time, so a thread-local pointer is enough.
 */
static _Thread_local struct bench_env *capture_env;

static int capture_create(const struct fk_alloc_params *params, unsigned nr_nodes,
                          const int *cpu_node, unsigned nr_cpus, void **state)
{
	struct bench_env *env = capture_env;
	int err = env->real_ops->create(params, nr_nodes, cpu_node, nr_cpus, state);
	if (err == 0)
		env->alloc_state = *state;
	return err;
}

static int create_mem(struct bench_env *env)
{
	struct fk_region_config regions[FK_MAX_NODES];
	unsigned nodes = env->nr_nodes > 1 ? env->nr_nodes : 1;
	uint64_t per = BENCH_MEM_FRAMES / nodes;
	for (unsigned i = 0; i < nodes; i++) {
		regions[i].base = BENCH_MEM_BASE + (uint64_t)i * per * FK_PAGE_SIZE;
		regions[i].nframes = per;
		regions[i].node = (int)i;
		regions[i].flags = 0; /* managed, unbacked */
	}
	struct fk_mem_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	cfg.regions = regions;
	cfg.nr_regions = nodes;
	cfg.nr_nodes = nodes;
	cfg.raw_tracking = env->raw_tracking;
	cfg.allocator = env->allocator;
	cfg.alloc.lock = env->lock;
	if (env->capture_alloc) {
		env->real_ops = fk_allocator_find(env->allocator);
		if (!env->real_ops)
			return FK_ENOENT;
		env->wrap_ops = *env->real_ops;
		env->wrap_ops.create = capture_create;
		env->alloc_state = NULL;
		cfg.allocator_ops = &env->wrap_ops;
		capture_env = env;
	}
	int err = fk_mem_create(&cfg, &env->mem);
	capture_env = NULL;
	if (err == 0 && env->capture_alloc && !env->alloc_state) {
		/* The core did not call ops->create: nothing to measure. */
		fk_mem_destroy(env->mem, NULL);
		env->mem = NULL;
		return FK_EINVAL;
	}
	return err;
}

int bench_begin(gb_state *st, struct bench_env *env)
{
	int tid = gb_thread_index(st);
	pin_thread(tid);
	env->entered[tid] = 0;
	if (tid == 0) {
		env->shared = NULL;
		env->mem = NULL;
		env->setup_ok = 0;
		int err = create_mem(env);
		if (err == 0) {
			err = fk_thread_enter(env->mem);
			if (err == 0) {
				env->entered[0] = 1;
				if (env->setup)
					err = env->setup(env);
			}
		}
		env->setup_ok = err == 0;
		env->setup_err = err;
		env->run_start_ns = bench_now_ns();
	}
	gb_barrier_wait(env->barrier, gb_thread_count(st));
	if (env->setup_err) {
		bench_fail(st, "setup", env->setup_err);
		return -1;
	}
	if (tid != 0) {
		int err = fk_thread_enter(env->mem);
		if (err) {
			bench_fail(st, "fk_thread_enter", err);
			return -1;
		}
		env->entered[tid] = 1;
	}
	return 0;
}

void bench_end(gb_state *st, struct bench_env *env)
{
	int tid = gb_thread_index(st);
	if (tid != 0 && env->entered[tid])
		fk_thread_leave(env->mem);
	gb_barrier_wait(env->barrier, gb_thread_count(st));
	if (tid != 0)
		return;
	int over = gb_thread_count(st) > bench_nr_cpus;
	if (env->label || over) {
		char label[128];
		snprintf(label, sizeof(label), "%s%s%s", env->label ? env->label : "",
		         env->label && over ? ", " : "", over ? "oversubscribed" : "");
		gb_set_label(st, label);
	}
	if (!env->mem)
		return;
	if (env->teardown && env->setup_ok)
		env->teardown(env);
	/*
	 * Conservation: with every handle and raw block released, the allocator
	 * must hold every frame again. The leak report below only sees slots,
	 * so this is what catches a block lost inside an allocator (or by the
	 * raw workloads, which bypass the slots).
	 */
	struct fk_alloc_stats as;
	fk_mem_alloc_drain(env->mem);
	if (env->setup_ok && !gb_error_occurred(st) &&
	    fk_mem_alloc_stats(env->mem, -1, &as) == 0 && as.free_frames != as.total_frames) {
		char msg[160];
		snprintf(msg, sizeof(msg),
		         "allocator conservation: %llu of %llu frames free after the run",
		         (unsigned long long)as.free_frames, (unsigned long long)as.total_frames);
		gb_skip_with_error(st, msg);
	}
	if (env->entered[0])
		fk_thread_leave(env->mem);
	struct fk_leak_report rep;
	memset(&rep, 0, sizeof(rep));
	int err = fk_mem_destroy(env->mem, &rep);
	env->mem = NULL;
	env->alloc_state = NULL;
	if (err && !gb_error_occurred(st)) {
		char msg[200];
		snprintf(msg, sizeof(msg),
		         "leak report not clean: %llu referenced, %llu raw (%llu refs), first "
		         "0x%llx (%s)",
		         (unsigned long long)rep.frames_referenced,
		         (unsigned long long)rep.frames_raw, (unsigned long long)rep.raw_refs,
		         (unsigned long long)rep.first_leaked_paddr, fk_strerror_name(err));
		gb_skip_with_error(st, msg);
	}
}
