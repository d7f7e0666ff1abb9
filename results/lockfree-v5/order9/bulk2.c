/* SPDX-License-Identifier: MIT */
/*
 * Measurement driver for results/lockfree-v5/order9 (not part of the build):
 * T threads (pinned to CPUs 0..T-1), each "allocate H blocks of order K,
 * free the H" for R rounds, freeing in allocation order (as framekit_bench's
 * alloc_raw_bulk) or in reverse order (REV=1). Reverse order makes the last
 * block freed the round's first, so lockfree's huge hint sends the next
 * round back to the same areas instead of walking forward: an A/B of the
 * placement (sweep) hypothesis without touching the allocator.
 * Prints thread CPU ns per alloc+free pair, averaged over the threads.
 * Build: cc -O2 -I core/include bulk2.c build/release/core/libframekit.a -ldl -lpthread -lnuma
 * Run:   bulk2 ALLOC [LIB.so] THREADS ORDER HELD ROUNDS FRAMES   (env REV=1)
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <framekit/allocator.h>

static const struct fk_allocator_ops *ops;
static void *st;
static unsigned order;
static long held, rounds;
static int rev;
static pthread_barrier_t bar;
static double ns[64];

static void *worker(void *arg)
{
	long t = (long)arg;
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET((int)t, &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	uint64_t n = 1ull << order, *blk = calloc((size_t)held, sizeof(*blk));
	struct timespec t0, t1;
	for (int pass = 0; pass < 2; pass++) { /* pass 0: warm-up */
		pthread_barrier_wait(&bar);
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
		for (long r = 0; r < rounds; r++) {
			for (long i = 0; i < held; i++)
				if (ops->alloc(st, n, order, -1, 0, &blk[i]))
					abort();
			for (long i = 0; i < held; i++)
				if (ops->dealloc(st, blk[rev ? held - 1 - i : i], n))
					abort();
		}
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t1);
	}
	ns[t] = ((double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec)) /
	        (double)(rounds * held);
	free(blk);
	return NULL;
}

int main(int argc, char **argv)
{
	int a = 1;
	if (argc < 7)
		return 2;
	const char *name = argv[a++];
	if (strstr(argv[a], ".so")) {
		struct fk_plugin_error why;
		if (fk_allocator_load(argv[a++], &why))
			return 1;
	}
	int threads = atoi(argv[a++]);
	order = (unsigned)atoi(argv[a++]);
	held = atol(argv[a++]);
	rounds = atol(argv[a++]);
	uint64_t frames = strtoull(argv[a++], NULL, 0);
	rev = getenv("REV") != NULL;
	ops = fk_allocator_find(name);
	struct fk_alloc_params params = {0};
	int cpu_node[64] = {0};
	if (!ops || ops->create(&params, 1, cpu_node, 2, &st) || ops->add_free_memory(st, 0, frames, 0))
		return 1;
	pthread_barrier_init(&bar, NULL, (unsigned)threads);
	pthread_t th[64];
	for (long t = 0; t < threads; t++)
		pthread_create(&th[t], NULL, worker, (void *)t);
	double sum = 0;
	for (long t = 0; t < threads; t++) {
		pthread_join(th[t], NULL);
		sum += ns[t];
	}
	printf("%s threads %d order %u held %ld rev %d cpu_ns_per_pair %.1f\n", name, threads, order,
	       held, rev, sum / threads);
	return 0;
}
