/* SPDX-License-Identifier: MIT */
/*
 * Measurement driver for results/lockfree-v5/order9 (not part of the build):
 * one allocator (built-in, or a plug-in loaded with fk_allocator_load), one
 * thread, the ops table framekit_bench's alloc_raw_* calls
 * (fk_allocator_find), the same memory size and workload shapes:
 *   repeat: hold H blocks of order K, then P alloc+free pairs of one more;
 *   bulk:   P / H rounds of "allocate H, free the H in order".
 * Under callgrind (--instr-atstart=no) only the measured loop is counted, so
 * Ir / P is the instruction count of one alloc+free pair.
 * Build: cc -O2 -I core/include pair_ir.c build/release/core/libframekit.a -ldl -lpthread
 * TIME is printed as thread CPU ns per pair of the measured pass (run it natively);
 * TRACE=1 prints the areas of three more bulk rounds.
 * Run:   pair_ir ALLOCATOR [PLUGIN.so] repeat|bulk ORDER HELD PAIRS FRAMES
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <valgrind/callgrind.h>

#include <framekit/allocator.h>

int main(int argc, char **argv)
{
	int a = 1;
	if (argc < 7) {
		fprintf(stderr, "usage: %s ALLOC [LIB.so] repeat|bulk ORDER HELD PAIRS FRAMES\n", argv[0]);
		return 2;
	}
	const char *name = argv[a++];
	if (strstr(argv[a], ".so")) {
		struct fk_plugin_error why;
		if (fk_allocator_load(argv[a], &why)) {
			fprintf(stderr, "load failed\n");
			return 1;
		}
		a++;
	}
	const char *mode = argv[a++];
	unsigned order = (unsigned)atoi(argv[a++]);
	long held = atol(argv[a++]), pairs = atol(argv[a++]);
	uint64_t frames = strtoull(argv[a++], NULL, 0);
	const struct fk_allocator_ops *ops = fk_allocator_find(name);
	if (!ops)
		return 1;
	struct fk_alloc_params params = {0};
	int cpu_node[64] = {0};
	unsigned ncpu = getenv("NCPU") ? (unsigned)atoi(getenv("NCPU")) : 2; /* the bench: configured CPUs */
	void *st;
	if (ops->create(&params, 1, cpu_node, ncpu, &st) || ops->add_free_memory(st, 0, frames, 0))
		return 1;
	uint64_t n = 1ull << order, *blk = calloc((size_t)held + 1, sizeof(*blk)), pa;
	int bulk = !strcmp(mode, "bulk");
	if (!bulk)
		for (long i = 0; i < held; i++)
			if (ops->alloc(st, n, order, -1, 0, &blk[i]))
				return 1;
	/* warm-up: as many pairs again, not counted */
	for (int pass = 0; pass < 2; pass++) {
		struct timespec t0, t1;
		if (pass)
			CALLGRIND_START_INSTRUMENTATION;
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
		if (bulk) {
			for (long r = 0; r < pairs / held; r++) {
				for (long i = 0; i < held; i++)
					if (ops->alloc(st, n, order, -1, 0, &blk[i]))
						return 1;
				for (long i = 0; i < held; i++)
					if (ops->dealloc(st, blk[i], n))
						return 1;
			}
		} else {
			for (long i = 0; i < pairs; i++)
				if (ops->alloc(st, n, order, -1, 0, &pa) || ops->dealloc(st, pa, n))
					return 1;
		}
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t1);
		if (pass)
			CALLGRIND_STOP_INSTRUMENTATION;
		if (pass)
			printf("cpu_ns_per_pair %.1f\n", ((double)(t1.tv_sec - t0.tv_sec) * 1e9 +
			                                   (double)(t1.tv_nsec - t0.tv_nsec)) / (double)pairs);
	}
	/* TRACE=1: the areas (pfn / 512) of the first two bulk rounds, where the hint sends takes */
	if (getenv("TRACE") && bulk)
		for (int r = 0; r < 3; r++) {
			for (long i = 0; i < held; i++)
				if (ops->alloc(st, n, order, -1, 0, &blk[i]))
					return 1;
			printf("round %d areas:", r);
			for (long i = 0; i < held; i++)
				printf(" %llu", (unsigned long long)(blk[i] / 4096 / 512));
			printf("\n");
			for (long i = 0; i < held; i++)
				if (ops->dealloc(st, blk[i], n))
					return 1;
		}
	printf("%s %s order %u held %ld pairs %ld frames %llu done\n", name, mode, order, held, pairs,
	       (unsigned long long)frames);
	return 0;
}
