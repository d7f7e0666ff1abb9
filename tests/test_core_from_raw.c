/* SPDX-License-Identifier: MIT */
/*
 * from_raw under contention (issue 8, defects 3 and 4).
 *
 *  - A rejected from_raw changes nothing, not even transiently: thread A
 *    loops into_raw/from_raw on its own frame F0 while thread X loops
 *    fk_segment_from_raw(F0, F0 + 2 pages), always rejected because F1
 *    holds no raw reference. Before the fix X consumed F0's raw reference
 *    and then rolled back, so 28 % of A's legitimate calls failed.
 *  - A typed from_raw of a forged range reads no metadata without holding
 *    a reference: thread X loops a typed fk_segment_from_raw over frames
 *    that thread A claims and tears down. Before the fix the type was read
 *    with a plain load racing the claim/teardown stores (ThreadSanitizer
 *    reported it in the tsan preset).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "fk_test.h"

#define RUN_NSEC 200000000L
/* The refused-drop race needs a preemption inside a few instructions: on
 * the code before the fix, 3 churners x 3 s failed 2 of 4 variants. */
#define CHURN_NSEC 1000000000L

static fk_mem *mem;
static atomic_int stop;
static atomic_long rejected, accepted_wrongly;
static const struct fk_meta_type type_t = {.name = "t", .size = 8};

static long elapsed_ns(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000000000L + (t.tv_nsec - t0->tv_nsec);
}

static void *forger(void *arg)
{
	const struct fk_meta_type *type = arg;
	fk_thread_enter(mem);
	while (!atomic_load(&stop)) {
		fk_segment s;
		int rc = fk_segment_from_raw(mem, FIX_U_BASE, FIX_U_BASE + 2 * PG, type, &s);
		if (rc == 0) {
			atomic_fetch_add(&accepted_wrongly, 1);
			fk_segment_into_raw(mem, &s, &(uint64_t){0}, &(uint64_t){0});
		} else {
			atomic_fetch_add(&rejected, 1);
		}
	}
	fk_thread_leave(mem);
	return NULL;
}

static void rejected_from_raw_never_disturbs_a_legitimate_one(void)
{
	mem = fix_create("simple", 1);
	CHECK(mem);
	fk_frame f0, f1;
	uint64_t pa;
	CHECK_OK(fk_frame_from_unused(mem, FIX_U_BASE, NULL, NULL, NULL, &f0));
	CHECK_OK(fk_frame_from_unused(mem, FIX_U_BASE + PG, NULL, NULL, NULL, &f1));
	CHECK_OK(fk_frame_into_raw(mem, &f0, &pa));
	atomic_store(&stop, 0);
	atomic_store(&rejected, 0);
	atomic_store(&accepted_wrongly, 0);
	pthread_t th;
	pthread_create(&th, NULL, forger, NULL);
	long ok = 0, failed = 0;
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (elapsed_ns(&t0) < RUN_NSEC || atomic_load(&rejected) < 1000) {
		if (fk_frame_from_raw(mem, pa, &f0) == 0) {
			ok++;
			fk_frame_into_raw(mem, &f0, &pa);
		} else {
			failed++;
		}
	}
	atomic_store(&stop, 1);
	pthread_join(th, NULL);
	printf("  %ld legitimate from_raw ok, %ld failed; %ld forged rejected, %ld accepted\n", ok,
	       failed, atomic_load(&rejected), atomic_load(&accepted_wrongly));
	CHECK_EQ(failed, 0);
	CHECK_EQ(atomic_load(&accepted_wrongly), 0);
	CHECK_OK(fk_frame_from_raw(mem, pa, &f0));
	CHECK_OK(fk_frame_drop(mem, &f0));
	CHECK_OK(fk_frame_drop(mem, &f1));
	CHECK_EQ(fix_destroy(mem), 0);
}

static void typed_from_raw_of_forged_range_reads_no_metadata_without_a_reference(void)
{
	mem = fix_create("simple", 1);
	CHECK(mem);
	atomic_store(&stop, 0);
	atomic_store(&rejected, 0);
	atomic_store(&accepted_wrongly, 0);
	pthread_t th;
	pthread_create(&th, NULL, forger, (void *)&type_t);
	long rounds = 0;
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (elapsed_ns(&t0) < RUN_NSEC || atomic_load(&rejected) < 1000) {
		fk_segment s;
		if (fk_segment_from_unused(mem, FIX_U_BASE, FIX_U_BASE + 2 * PG, &type_t, NULL,
		                           NULL, &s) == 0)
			fk_segment_drop(mem, &s);
		rounds++;
	}
	atomic_store(&stop, 1);
	pthread_join(th, NULL);
	printf("  %ld claim/teardown rounds; %ld forged rejected, %ld accepted\n", rounds,
	       atomic_load(&rejected), atomic_load(&accepted_wrongly));
	CHECK_EQ(atomic_load(&accepted_wrongly), 0);
	CHECK_EQ(fix_destroy(mem), 0);
}

/*
 * A legitimate drop is never refused by the raw-reference check (issue 8,
 * defect 10's fix must not reject what is allowed): the main thread clones
 * and drops its own frame while other threads take references by address
 * turn them raw and back (from_in_use, into_raw, from_raw, drop) on the
 * same frame (three threads). Before the raw word carried a change
 * sequence, the drop read the count and then the raw count: a from_in_use +
 * into_raw between the two loads made count <= raw and refused the
 * legitimate drop (seen once in the stress suite as "drop right half ->
 * FK_EUNUSED").
 */
static atomic_long churn;

static void *raw_churner(void *arg)
{
	uint64_t pa = *(uint64_t *)arg;
	fk_thread_enter(mem);
	while (!atomic_load(&stop)) {
		fk_frame f;
		uint64_t q;
		if (fk_frame_from_in_use(mem, pa, &f) || fk_frame_into_raw(mem, &f, &q) ||
		    fk_frame_from_raw(mem, q, &f) || fk_frame_drop(mem, &f)) {
			atomic_fetch_add(&accepted_wrongly, 1);
			break;
		}
		atomic_fetch_add(&churn, 1);
	}
	fk_thread_leave(mem);
	return NULL;
}

static void legitimate_drop_is_never_refused_while_others_turn_references_raw(void)
{
	mem = fix_create("simple", 1);
	CHECK(mem);
	fk_frame f;
	uint64_t pa;
	CHECK_OK(fk_frame_from_unused(mem, FIX_U_BASE, NULL, NULL, NULL, &f));
	/* One raw reference keeps the frame alive: every other reference is
	 * then either ours (not raw) or the other threads'. */
	CHECK_OK(fk_frame_into_raw(mem, &f, &pa));
	atomic_store(&stop, 0);
	atomic_store(&churn, 0);
	atomic_store(&accepted_wrongly, 0);
	pthread_t th[3];
	for (int i = 0; i < 3; i++)
		pthread_create(&th[i], NULL, raw_churner, &pa);
	long ok = 0, refused = 0;
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (elapsed_ns(&t0) < CHURN_NSEC || atomic_load(&churn) < 1000) {
		fk_frame c;
		if (fk_frame_from_in_use(mem, pa, &c) == 0) {
			if (fk_frame_drop(mem, &c) == 0) {
				ok++;
			} else {
				refused++;
				break; /* c still holds its reference */
			}
		}
	}
	atomic_store(&stop, 1);
	for (int i = 0; i < 3; i++)
		pthread_join(th[i], NULL);
	printf("  %ld from_in_use+drop pairs, %ld drops refused; %ld raw round trips by the other "
	       "threads (%ld failed)\n",
	       ok, refused, atomic_load(&churn), atomic_load(&accepted_wrongly));
	CHECK_EQ(refused, 0);
	CHECK_EQ(atomic_load(&accepted_wrongly), 0);
	CHECK_EQ(rc_at(mem, pa), 1);
	CHECK_OK(fk_frame_from_raw(mem, pa, &f));
	CHECK_OK(fk_frame_drop(mem, &f));
	CHECK_EQ(fix_destroy(mem), 0);
}

int main(int argc, char **argv)
{
	fk_test_args(argc, argv);
	RUN(rejected_from_raw_never_disturbs_a_legitimate_one);
	RUN(typed_from_raw_of_forged_range_reads_no_metadata_without_a_reference);
	RUN(legitimate_drop_is_never_refused_while_others_turn_references_raw);
	return fk_test_finish();
}
