/* SPDX-License-Identifier: MIT */
/*
 * The two defect-7 schedules of tests/test_refcount.c
 * (a_stale_fast_clone_never_takes_a_granted_owners_reference,
 * the_last_fast_drop_never_tears_down_a_frame_revived_by_a_stale_clone),
 * written with the API that existed at 12462eb, so that they run against
 * that commit's core/src/refcount_internal.h with only the test pause point
 * added: one line "FK_REF_TEST_PAUSE(w);" after the fetch_add of
 * fk_ref_inc_held and one after the fetch_sub of fk_ref_dec, no logic
 * changed. Output: unit_schedules_at_12462eb.out.
 *
 *   gcc -std=gnu11 -I <tree>/core/include -I <tree>/core/src \
 *       -DHDR='"refcount_internal.h"' unit_schedules_at_12462eb.c
 */
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
static void (*pause_action)(_Atomic uint64_t *w);
static void test_pause(_Atomic uint64_t *w)
{
	void (*a)(_Atomic uint64_t *) = pause_action;
	pause_action = 0;
	if (a)
		a(w);
}
#define FK_REF_TEST_PAUSE(w) test_pause(w)
#include HDR

static int fails;
#define EXPECT(c) do { if (!(c)) { printf("  FAILED: %s (line %d)\n", #c, __LINE__); fails++; } } while (0)

static void grant_and_publish(_Atomic uint64_t *w)
{
#ifdef FK_REF_CLASS_BUSY_LO
	EXPECT(fk_ref_claim_granted(w) == 0);
#else
	/* claim.c:96 and :119 at 12462eb */
	EXPECT(fk_ref_class(fk_ref_read_granted(w)) == FK_REF_C_UNUSED);
#endif
	fk_ref_publish(w, 1);
}

static int revived_rc;
static void stale_clone_then_from_in_use(_Atomic uint64_t *w)
{
	(void)fk_ref_inc_held(w, FK_REFCOUNT_FAST, FK_REF_MAX);
	revived_rc = fk_ref_inc_in_use(w, FK_REF_MAX);
}

int main(void)
{
	_Atomic uint64_t w;
	printf("a_stale_fast_clone_never_takes_a_granted_owners_reference\n");
	atomic_init(&w, FK_REF_UNUSED);
	pause_action = grant_and_publish;
	(void)fk_ref_inc_held(&w, FK_REFCOUNT_FAST, FK_REF_MAX);
	printf("  word after the stale clone's repair: %llu\n", (unsigned long long)atomic_load(&w));
	int last = fk_ref_dec(&w, FK_REFCOUNT_FAST);
	printf("  owner's drop: %d\n", last);
	EXPECT(last == 1);
	printf("the_last_fast_drop_never_tears_down_a_frame_revived_by_a_stale_clone\n");
	atomic_init(&w, 1);
	pause_action = stale_clone_then_from_in_use;
	last = fk_ref_dec(&w, FK_REFCOUNT_FAST);
	printf("  from_in_use: %d, dropper's verdict: %d (1 = tears down)\n", revived_rc, last);
	EXPECT(!(revived_rc == 0 && last == 1));
	printf("%s\n", fails ? "FAIL" : "PASS");
	return fails != 0;
}
