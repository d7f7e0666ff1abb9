/* SPDX-License-Identifier: MIT */
/*
 * rmw_floor: the hardware's own fast/checked ratio for the shared
 * clone+drop pattern, without framekit. Two threads (pinned to CPUs 0 and
 * 1) each do QN "ops"; an op is +1 on each of 16 words on 16 cache lines,
 * then -1 on each, as a 16-frame segment clone + drop does on the slots'
 * refcount words:
 *   xadd:    one fetch_add / fetch_sub per word (the fast policy's RMW)
 *   loadcas: a relaxed load, then a CAS retried until it wins (the checked
 *            policy's fk_ref_update, minus its range checks)
 * Trials alternate between the two, and as in core_v2_timing.c's 'x' mode
 * only trials in which both threads ran side by side (common interval >=
 * 95 % of the trial) count; best and median per variant.
 * Build: cc -O2 -std=gnu11 results/core-v2/rmw_floor.c -lpthread
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define LINES   16
#define QN      2000
#define QTRIALS 600

struct line {
	_Alignas(64) _Atomic uint64_t w;
};
static struct line words[LINES];
static atomic_int arrive, done;
static double st[2], en[2];
static double times[2][QTRIALS];
static int ntimes[2];

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec * 1e-9;
}

static void op_xadd(void)
{
	for (int i = 0; i < LINES; i++)
		atomic_fetch_add_explicit(&words[i].w, 1, memory_order_relaxed);
	for (int i = 0; i < LINES; i++)
		atomic_fetch_sub_explicit(&words[i].w, 1, memory_order_release);
}

static void op_loadcas(void)
{
	for (int i = 0; i < LINES; i++) {
		uint64_t v = atomic_load_explicit(&words[i].w, memory_order_relaxed);
		while (!atomic_compare_exchange_weak_explicit(&words[i].w, &v, v + 1,
		                                              memory_order_relaxed,
		                                              memory_order_relaxed))
			;
	}
	for (int i = 0; i < LINES; i++) {
		uint64_t v = atomic_load_explicit(&words[i].w, memory_order_relaxed);
		while (!atomic_compare_exchange_weak_explicit(&words[i].w, &v, v - 1,
		                                              memory_order_acq_rel,
		                                              memory_order_relaxed))
			;
	}
}

static void *thr(void *a)
{
	int id = (int)(long)a;
	cpu_set_t s;
	CPU_ZERO(&s);
	CPU_SET(id, &s);
	sched_setaffinity(0, sizeof(s), &s);
	for (int t = 0; t < QTRIALS; t++) {
		atomic_fetch_add(&arrive, 1);
		while (atomic_load(&arrive) < (t + 1) * 2)
			;
		st[id] = now();
		for (int i = 0; i < QN; i++)
			(t & 1) ? op_loadcas() : op_xadd();
		en[id] = now();
		atomic_fetch_add(&done, 1);
		while (atomic_load(&done) < (t + 1) * 2)
			;
		if (id == 0) {
			double m = 0, os = st[0] > st[1] ? st[0] : st[1];
			double oe = en[0] < en[1] ? en[0] : en[1];
			for (int k = 0; k < 2; k++)
				if (en[k] - st[k] > m)
					m = en[k] - st[k];
			if (oe - os >= 0.95 * m)
				times[t & 1][ntimes[t & 1]++] = m;
		}
	}
	return 0;
}

static int cmpd(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(void)
{
	pthread_t th[2];
	for (long i = 0; i < 2; i++)
		pthread_create(&th[i], 0, thr, (void *)i);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], 0);
	const char *names[2] = {"xadd", "loadcas"};
	double med[2] = {0, 0};
	for (int x = 0; x < 2; x++) {
		int n = ntimes[x];
		if (!n) {
			printf("%s: no side-by-side trial\n", names[x]);
			continue;
		}
		qsort(times[x], (size_t)n, sizeof(double), cmpd);
		med[x] = QN * 2 / times[x][n / 2] / 1e6;
		printf("rmw16 T=2 %s: best %.3f M ops/s, median %.3f M ops/s (%d side-by-side trials)\n",
		       names[x], QN * 2 / times[x][0] / 1e6, med[x], n);
	}
	if (med[1] > 0)
		printf("rmw16 T=2 xadd/loadcas median ratio %.2fx\n", med[0] / med[1]);
	return words[0].w != 0;
}
