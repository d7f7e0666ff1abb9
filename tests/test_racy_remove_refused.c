/* SPDX-License-Identifier: MIT */
/*
 * refused_region_removal_is_invisible_to_lookups
 *
 * fk_mem_remove_region on a region with a frame in use must fail with
 * FK_EINUSE and change nothing. Meanwhile every by-address operation on the
 * region's frames (from_in_use, from_raw, refcount_at) must keep working: a
 * refused removal may not make the region transiently disappear, or a
 * caller holding a raw reference gets FK_EOUTOFBOUND from from_raw and can
 * never restore it.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <framekit/framekit.h>

#include "fk_test.h"

#define R_BASE 0x200000ull

static fk_mem *mem;
static atomic_int stop;
static atomic_int removals, bad_remove;

static void *remover(void *arg)
{
	(void)arg;
	fk_thread_enter(mem);
	while (!atomic_load(&stop)) {
		int rc = fk_mem_remove_region(mem, R_BASE);
		if (rc != FK_EINUSE) {
			fprintf(stderr, "remove_region with a frame held -> %s\n",
			        fk_strerror_name(rc));
			atomic_fetch_add(&bad_remove, 1);
			break;
		}
		atomic_fetch_add(&removals, 1);
	}
	fk_thread_leave(mem);
	return NULL;
}

static int run_variant(const struct fk_variant *v)
{
	struct fk_region_config reg = {R_BASE, 8, 0, 0};
	struct fk_mem_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	cfg.regions = &reg;
	cfg.nr_regions = 1;
	cfg.nr_nodes = 1;
	cfg.raw_tracking = 1;
	cfg.allocator = "simple";
	fk_variant_apply(&cfg, v);
	atomic_store(&stop, 0);
	atomic_store(&removals, 0);
	if (fk_mem_create(&cfg, &mem) != 0)
		return 2;
	fk_thread_enter(mem);
	fk_frame held, f;
	if (fk_alloc_frame(mem, NULL, NULL, NULL, 0, &held) != 0)
		return 2;
	uint64_t pa = held.paddr, raw_pa;
	fk_frame_clone(mem, &held, &f);
	fk_frame_into_raw(mem, &f, &raw_pa); /* one raw reference, restored and re-forgotten */

	pthread_t th;
	pthread_create(&th, NULL, remover, NULL);
	int errs_fiu = 0, errs_raw = 0, errs_rc = 0, iters = 0;
	int first_err = 0;
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		int rc = fk_frame_from_in_use(mem, pa, &f);
		if (rc == 0)
			fk_frame_drop(mem, &f);
		else if (errs_fiu++ == 0)
			first_err = rc;
		rc = fk_frame_from_raw(mem, raw_pa, &f);
		if (rc == 0)
			fk_frame_into_raw(mem, &f, &raw_pa);
		else if (errs_raw++ == 0 && !first_err)
			first_err = rc;
		uint64_t c;
		rc = fk_mem_refcount_at(mem, pa, &c);
		if (rc != 0 || c != 2)
			errs_rc++;
		iters++;
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while ((t.tv_sec - t0.tv_sec) * 1000000000L + (t.tv_nsec - t0.tv_nsec) < 300000000L ||
	         atomic_load(&removals) < 50);
	atomic_store(&stop, 1);
	pthread_join(th, NULL);

	int rc = fk_frame_from_raw(mem, raw_pa, &f);
	if (rc == 0)
		fk_frame_drop(mem, &f);
	fk_frame_drop(mem, &held);
	fk_thread_leave(mem);
	int leak = fk_mem_destroy(mem, NULL);

	int failed = errs_fiu || errs_raw || errs_rc || atomic_load(&bad_remove) || rc || leak;
	printf("%d iterations against %d refused removals: from_in_use failed %d times, from_raw "
	       "%d times, refcount_at wrong %d times (first error %s)\n",
	       iters, atomic_load(&removals), errs_fiu, errs_raw, errs_rc,
	       fk_strerror_name(first_err));
	return failed ? 1 : 0;
}

int main(int argc, char **argv)
{
	fk_test_args(argc, argv);
	fk_run_test_v("refused_region_removal_is_invisible_to_lookups", run_variant);
	return fk_test_finish();
}
