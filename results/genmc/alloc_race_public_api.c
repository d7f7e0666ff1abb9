/* SPDX-License-Identifier: MIT */
/*
 * tests/test_refcount.c stale_clones_racing_with_alloc_and_drop_never_fail_a_correct_drop
 * with the public API only (up to 2 M rounds), to run against the library
 * at 12462eb and after the fix (release preset libframekit.a):
 *
 *   gcc -O1 -D_GNU_SOURCE -I <tree>/core/include alloc_race_public_api.c \
 *       <tree>/build/release/core/libframekit.a \
 *       $(pkg-config --libs liburcu-memb ck numa) -lpthread
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <framekit/framekit.h>
static fk_mem *mem;
static atomic_int done;
static void *cloner(void *arg)
{
	fk_frame stale = *(fk_frame *)arg, g;
	fk_thread_enter(mem);
	while (!atomic_load(&done))
		if (fk_frame_clone(mem, &stale, &g) == 0)
			fk_frame_drop(mem, &g);
	fk_thread_leave(mem);
	return 0;
}
int main(void)
{
	struct fk_region_config reg = {.base = 0x10000000ull, .nframes = 1024, .node = 0, .flags = FK_REGION_BACKED};
	struct fk_mem_config cfg = {0};
	cfg.regions = &reg; cfg.nr_regions = 1; cfg.nr_nodes = 1; cfg.allocator = "simple"; cfg.raw_tracking = 1;
	if (fk_mem_create(&cfg, &mem) || fk_thread_enter(mem)) return 2;
	fk_frame f, stale; pthread_t th;
	fk_alloc_frame(mem, 0, 0, 0, 0, &f); stale = f; fk_frame_drop(mem, &f);
	pthread_create(&th, 0, cloner, &stale);
	int bad = 0, i;
	for (i = 0; i < 2000000 && !bad; i++) {
		int rc = fk_alloc_frame(mem, 0, 0, 0, 0, &f);
		if (rc) { printf("round %d: alloc -> %s\n", i, fk_strerror_name(rc)); bad = 1; break; }
		rc = fk_frame_drop(mem, &f);
		if (rc) { printf("round %d: the owner's drop -> %s\n", i, fk_strerror_name(rc)); bad = 1; }
	}
	atomic_store(&done, 1); pthread_join(th, 0);
	printf("%s after %d rounds\n", bad ? "FAIL" : "PASS", i);
	return bad;
}
