/*
 * The refcount word (core/src/refcount_internal.h): its encoding and the
 * pure transitions on plain values, then what each policy does with stale
 * handles and at the maximum, single-threaded and racing with claims.
 */
#include <pthread.h>
#include <stdatomic.h>

#include "fk_test.h"
#include "refcount_internal.h"

static const uint64_t states[] = {0, 1, 2, FK_REF_MAX - 1, FK_REF_MAX, FK_REF_UNIQUE,
                                  FK_REF_UNUSED};
#define NSTATES (sizeof(states) / sizeof(states[0]))

static void a_blind_step_from_any_state_never_lands_on_unused_or_unique(void)
{
	for (size_t i = 0; i < NSTATES; i++) {
		for (int d = -3; d <= 3; d++) {
			uint64_t v = states[i] + (uint64_t)(int64_t)d;
			if (d == 0)
				continue;
			CHECK(v != FK_REF_UNUSED && v != FK_REF_UNIQUE);
		}
	}
	/* ...and a step off UNUSED or UNIQUE stays in its class, which no
	 * transition other than the undo leaves. */
	for (int d = -3; d <= 3; d++) {
		CHECK_EQ(fk_ref_class(FK_REF_UNUSED + (uint64_t)(int64_t)d), FK_REF_C_UNUSED);
		CHECK_EQ(fk_ref_class(FK_REF_UNIQUE + (uint64_t)(int64_t)d), FK_REF_C_UNIQUE);
	}
	CHECK_EQ(fk_ref_class(0), FK_REF_C_BUSY);
	CHECK_EQ(fk_ref_class(0 - 1ull), FK_REF_C_UNDERFLOW);
	CHECK_EQ(fk_ref_class(FK_REF_MAX), FK_REF_C_SHARED);
	CHECK_EQ(fk_ref_class(FK_REF_MAX + 1), FK_REF_C_OVERFLOW);
}

static void state_errors_name_the_state_and_treat_displaced_values_as_busy(void)
{
	CHECK_ERR(fk_ref_state_error(0), FK_EBUSY);
	CHECK_ERR(fk_ref_state_error(0 - 1ull), FK_EBUSY);
	CHECK_ERR(fk_ref_state_error(FK_REF_UNUSED), FK_EUNUSED);
	CHECK_ERR(fk_ref_state_error(FK_REF_UNIQUE), FK_EUNIQUE);
	CHECK_ERR(fk_ref_state_error(FK_REF_MAX + 1), FK_EOVERFLOW);
	/* A CAS expecting an exact state. */
	CHECK_ERR(fk_ref_cas_error(FK_REF_UNUSED + 1, FK_REF_UNUSED), FK_EBUSY);
	CHECK_ERR(fk_ref_cas_error(FK_REF_UNIQUE - 1, FK_REF_UNIQUE), FK_EBUSY);
	CHECK_ERR(fk_ref_cas_error(3, FK_REF_UNUSED), FK_EINUSE);
	CHECK_ERR(fk_ref_cas_error(FK_REF_MAX + 1, FK_REF_UNUSED), FK_EINUSE);
	CHECK_ERR(fk_ref_cas_error(FK_REF_UNIQUE, FK_REF_UNUSED), FK_EUNIQUE);
	CHECK_ERR(fk_ref_cas_error(0, FK_REF_UNIQUE), FK_EBUSY);
}

static void checked_transitions_move_only_from_a_shared_count(void)
{
	uint64_t n = 0;
	CHECK_OK(fk_ref_inc_next(1, FK_REF_MAX, &n));
	CHECK_EQ(n, 2);
	CHECK_OK(fk_ref_inc_next(FK_REF_MAX - 1, FK_REF_MAX, &n));
	CHECK_EQ(n, FK_REF_MAX);
	CHECK_ERR(fk_ref_inc_next(FK_REF_MAX, FK_REF_MAX, &n), FK_EOVERFLOW);
	CHECK_ERR(fk_ref_inc_next(0, FK_REF_MAX, &n), FK_EBUSY);
	CHECK_ERR(fk_ref_inc_next(FK_REF_UNUSED, FK_REF_MAX, &n), FK_EUNUSED);
	CHECK_ERR(fk_ref_inc_next(FK_REF_UNIQUE, FK_REF_MAX, &n), FK_EUNIQUE);
	CHECK_OK(fk_ref_dec_next(1, FK_REF_MAX, &n));
	CHECK_EQ(n, 0);
	CHECK_ERR(fk_ref_dec_next(0, FK_REF_MAX, &n), FK_EBUSY);
	CHECK_ERR(fk_ref_dec_next(FK_REF_UNUSED, FK_REF_MAX, &n), FK_EUNUSED);
	CHECK_ERR(fk_ref_dec_next(FK_REF_UNIQUE, FK_REF_MAX, &n), FK_EUNIQUE);
}

static void fast_verdicts_undo_guard_band_steps_and_leave_busy_steps_to_the_owner(void)
{
	struct fk_ref_verdict v;
	v = fk_ref_fast_inc_verdict(1, FK_REF_MAX);
	CHECK(v.err == 0 && v.fix == FK_REF_FIX_NONE);
	v = fk_ref_fast_inc_verdict(FK_REF_MAX, FK_REF_MAX);
	CHECK(v.err == FK_EOVERFLOW && v.fix == FK_REF_FIX_UNDO);
	v = fk_ref_fast_inc_verdict(FK_REF_UNUSED, FK_REF_MAX);
	CHECK(v.err == FK_EUNUSED && v.fix == FK_REF_FIX_UNDO);
	v = fk_ref_fast_inc_verdict(FK_REF_UNIQUE, FK_REF_MAX);
	CHECK(v.err == FK_EUNIQUE && v.fix == FK_REF_FIX_UNDO);
	v = fk_ref_fast_inc_verdict(FK_REF_MAX + 5, FK_REF_MAX);
	CHECK(v.err == FK_EOVERFLOW && v.fix == FK_REF_FIX_UNDO);
	/* Busy: the owner's publish or UNUSED store overwrites the step. */
	v = fk_ref_fast_inc_verdict(0, FK_REF_MAX);
	CHECK(v.err == FK_EBUSY && v.fix == FK_REF_FIX_NONE);
	v = fk_ref_fast_inc_verdict(0 - 1ull, FK_REF_MAX);
	CHECK(v.err == FK_EBUSY && v.fix == FK_REF_FIX_NONE);

	v = fk_ref_fast_dec_verdict(2);
	CHECK(v.err == 0 && v.fix == FK_REF_FIX_NONE);
	v = fk_ref_fast_dec_verdict(1);
	CHECK(v.err == 1 && v.fix == FK_REF_FIX_NONE); /* the last reference */
	/* A concurrent +1 past the maximum undoes itself; ours is real. */
	v = fk_ref_fast_dec_verdict(FK_REF_MAX + 1);
	CHECK(v.err == 0 && v.fix == FK_REF_FIX_NONE);
	v = fk_ref_fast_dec_verdict(0);
	CHECK(v.err == FK_EBUSY && v.fix == FK_REF_FIX_NONE);
	v = fk_ref_fast_dec_verdict(FK_REF_UNUSED);
	CHECK(v.err == FK_EUNUSED && v.fix == FK_REF_FIX_UNDO);
	v = fk_ref_fast_dec_verdict(FK_REF_UNIQUE);
	CHECK(v.err == FK_EUNIQUE && v.fix == FK_REF_FIX_UNDO);
}

static void fast_steps_on_a_word_restore_it_exactly(void)
{
	_Atomic uint64_t w;
	const uint64_t restored[] = {FK_REF_UNUSED, FK_REF_UNIQUE, FK_REF_MAX};
	for (size_t i = 0; i < 3; i++) {
		atomic_init(&w, restored[i]);
		CHECK(fk_ref_inc_held(&w, FK_REFCOUNT_FAST, FK_REF_MAX) < 0);
		CHECK_EQ(atomic_load(&w), restored[i]);
		if (restored[i] != FK_REF_MAX) {
			CHECK(fk_ref_dec(&w, FK_REFCOUNT_FAST) < 0);
			CHECK_EQ(atomic_load(&w), restored[i]);
		}
	}
	atomic_init(&w, 3);
	CHECK_EQ(fk_ref_dec(&w, FK_REFCOUNT_FAST), 0);
	CHECK_OK(fk_ref_inc_held(&w, FK_REFCOUNT_FAST, FK_REF_MAX));
	CHECK_EQ(atomic_load(&w), 3);
	atomic_init(&w, 1);
	CHECK_EQ(fk_ref_dec(&w, FK_REFCOUNT_FAST), 1);
	CHECK_EQ(atomic_load(&w), 0);
}

static void mem_create_rejects_an_unknown_refcount_policy(void)
{
	fk_mem *mem = 0;
	struct fk_mem_config cfg = {.nr_nodes = 1, .allocator = "simple", .refcount = 2};
	CHECK_ERR(fk_mem_create(&cfg, &mem), FK_EINVAL);
	cfg.refcount = -1;
	CHECK_ERR(fk_mem_create(&cfg, &mem), FK_EINVAL);
	cfg.refcount = fk_test_variant->refcount;
	CHECK_OK(fk_mem_create(&cfg, &mem));
	CHECK_EQ(fk_mem_refcount_policy(mem), fk_test_variant->refcount);
	CHECK_OK(fk_mem_destroy(mem, 0));
	CHECK_ERR(fk_mem_refcount_policy(0), FK_EINVAL);
}

static void mem_create_rejects_an_unknown_lookup_mode(void)
{
	fk_mem *mem = 0;
	struct fk_mem_config cfg = {.nr_nodes = 1, .allocator = "simple", .lookup = 2};
	CHECK_ERR(fk_mem_create(&cfg, &mem), FK_EINVAL);
	cfg.lookup = -1;
	CHECK_ERR(fk_mem_create(&cfg, &mem), FK_EINVAL);
	fk_variant_apply(&cfg, fk_test_variant);
	CHECK_OK(fk_mem_create(&cfg, &mem));
	CHECK_EQ(fk_mem_lookup_mode(mem), fk_test_variant->lookup);
	CHECK_OK(fk_mem_destroy(mem, 0));
	CHECK_ERR(fk_mem_lookup_mode(0), FK_EINVAL);
}

static void stale_handles_of_a_unique_frame_are_reported_and_leave_it_unique(void)
{
	fk_mem *mem = fix_create("simple", 1);
	fk_frame f, stale, g;
	fk_unique_frame u;
	CHECK(mem);
	CHECK_OK(fk_frame_from_unused(mem, FIX_U_BASE, 0, 0, 0, &f));
	stale = f;
	CHECK_OK(fk_frame_try_into_unique(mem, &f, &u));
	CHECK_ERR(fk_frame_clone(mem, &stale, &g), FK_EUNIQUE);
	CHECK_ERR(fk_frame_drop(mem, &stale), FK_EUNIQUE);
	CHECK_EQ(rc_at(mem, FIX_U_BASE), FK_REF_UNIQUE);
	CHECK_OK(fk_unique_frame_drop(mem, &u));
	CHECK_EQ(rc_at(mem, FIX_U_BASE), FK_REF_UNUSED);
	CHECK_OK(fix_destroy(mem));
}

/* on_drop runs with the frame busy: try stale handles on it right there. */
static fk_mem *busy_mem;
static fk_frame busy_stale;
static int busy_drop_rc, busy_clone_rc, busy_fiu_rc, busy_calls;

static void stale_ops_on_drop(void *meta, uint64_t paddr, void *ctx)
{
	fk_frame g;
	(void)meta;
	(void)ctx;
	busy_calls++;
	busy_drop_rc = fk_frame_drop(busy_mem, &busy_stale);
	busy_clone_rc = fk_frame_clone(busy_mem, &busy_stale, &g);
	busy_fiu_rc = fk_frame_from_in_use(busy_mem, paddr, &g);
}

static const struct fk_meta_type stale_type = {.name = "stale-in-on-drop",
                                               .on_drop = stale_ops_on_drop};

static void stale_handles_of_a_frame_being_torn_down_get_ebusy_and_teardown_wins(void)
{
	fk_mem *mem = fix_create("simple", 1);
	fk_frame f;
	CHECK(mem);
	busy_mem = mem;
	busy_calls = 0;
	CHECK_OK(fk_frame_from_unused(mem, FIX_U_BASE, &stale_type, 0, 0, &f));
	busy_stale = f;
	CHECK_OK(fk_frame_drop(mem, &f));
	CHECK_EQ(busy_calls, 1);
	CHECK_ERR(busy_drop_rc, FK_EBUSY);
	CHECK_ERR(busy_clone_rc, FK_EBUSY);
	CHECK_ERR(busy_fiu_rc, FK_EBUSY); /* never revived */
	/* The teardown's UNUSED store overwrote the stale steps. */
	CHECK_EQ(rc_at(mem, FIX_U_BASE), FK_REF_UNUSED);
	CHECK_OK(fk_frame_from_unused(mem, FIX_U_BASE, 0, 0, 0, &f));
	CHECK_EQ(rc_at(mem, FIX_U_BASE), 1);
	CHECK_OK(fk_frame_drop(mem, &f));
	CHECK_OK(fix_destroy(mem));
}

/*
 * One thread claims and drops a frame in a loop; another clones it through
 * a stale handle (dropping what it got when the clone succeeded because the
 * frame was live again). Under checked, whatever the interleaving: every
 * claim is torn down exactly once, the word ends UNUSED, nothing leaks.
 * Fast promises nothing here (README "Concurrency design"): a stale clone
 * that lands while the frame is busy reads as count 1 until the owner's
 * store, so a second one can succeed and its drop later hit a new owner.
 */
#define RACE_ROUNDS 20000
static atomic_int race_on_drops, race_done;
static fk_mem *race_mem;

static void race_on_drop(void *meta, uint64_t paddr, void *ctx)
{
	(void)meta;
	(void)paddr;
	(void)ctx;
	atomic_fetch_add_explicit(&race_on_drops, 1, memory_order_relaxed);
}

static const struct fk_meta_type race_type = {.name = "race", .on_drop = race_on_drop};

static void *stale_cloner(void *arg)
{
	fk_frame stale = *(fk_frame *)arg, g;
	fk_thread_enter(race_mem);
	while (!atomic_load_explicit(&race_done, memory_order_acquire))
		if (fk_frame_clone(race_mem, &stale, &g) == 0)
			fk_frame_drop(race_mem, &g);
	fk_thread_leave(race_mem);
	return 0;
}

static void stale_clones_racing_with_claim_and_drop_never_corrupt_the_count(void)
{
	fk_mem *mem = fix_create("simple", 1);
	fk_frame f;
	pthread_t th;
	int claims = 0, refused = 0;
	CHECK(mem);
	if (fk_test_variant->refcount != FK_REFCOUNT_CHECKED) {
		CHECK_OK(fix_destroy(mem));
		return;
	}
	race_mem = mem;
	atomic_store(&race_on_drops, 0);
	atomic_store(&race_done, 0);
	CHECK_OK(fk_frame_from_unused(mem, FIX_U_BASE, &race_type, 0, 0, &f));
	claims++;
	fk_frame stale = f;
	CHECK_OK(fk_frame_drop(mem, &f));
	CHECK(pthread_create(&th, 0, stale_cloner, &stale) == 0);
	for (int i = 0; i < RACE_ROUNDS; i++) {
		int rc = fk_frame_from_unused(mem, FIX_U_BASE, &race_type, 0, 0, &f);
		if (rc) {
			/* Only transient refusals: a step being undone, or the
			 * cloner's reference that it is about to drop. */
			CHECK(rc == FK_EBUSY || rc == FK_EINUSE);
			refused++;
			continue;
		}
		claims++;
		rc = fk_frame_drop(mem, &f);
		CHECK_OK(rc);
	}
	atomic_store_explicit(&race_done, 1, memory_order_release);
	pthread_join(th, 0);
	CHECK_EQ(rc_at(mem, FIX_U_BASE), FK_REF_UNUSED);
	CHECK_EQ(atomic_load(&race_on_drops), claims);
	(void)refused;
	CHECK_OK(fix_destroy(mem));
}

/*
 * The owner turns its frame unique and back to shared in a loop while
 * another thread clones it through a stale handle. Under both policies a
 * clone of the unique frame is refused and leaves it unique (fast: the
 * step is undone, and the owner's CAS meanwhile gets FK_EBUSY and
 * retries); a clone of the shared frame succeeds and is dropped. The
 * frame is never torn down before the owner's final drop.
 */
static void stale_clones_of_a_frame_toggling_unique_never_corrupt_it(void)
{
	fk_mem *mem = fix_create("simple", 1);
	fk_frame f;
	fk_unique_frame u;
	pthread_t th;
	CHECK(mem);
	race_mem = mem;
	atomic_store(&race_on_drops, 0);
	atomic_store(&race_done, 0);
	CHECK_OK(fk_frame_from_unused(mem, FIX_U_BASE, &race_type, 0, 0, &f));
	fk_frame stale = f;
	CHECK(pthread_create(&th, 0, stale_cloner, &stale) == 0);
	for (int i = 0; i < RACE_ROUNDS; i++) {
		int rc = fk_frame_try_into_unique(mem, &f, &u);
		if (rc) {
			CHECK_ERR(rc, FK_EINUSE); /* the cloner holds one */
			continue;
		}
		while ((rc = fk_unique_frame_into_shared(mem, &u, &f)) != 0)
			CHECK_ERR(rc, FK_EBUSY); /* a step being undone */
	}
	atomic_store_explicit(&race_done, 1, memory_order_release);
	pthread_join(th, 0);
	CHECK_EQ(atomic_load(&race_on_drops), 0);
	CHECK_EQ(rc_at(mem, FIX_U_BASE), 1);
	CHECK_OK(fk_frame_drop(mem, &f));
	CHECK_EQ(atomic_load(&race_on_drops), 1);
	CHECK_OK(fix_destroy(mem));
}

int main(int argc, char **argv)
{
	fk_test_args(argc, argv);
	RUN(a_blind_step_from_any_state_never_lands_on_unused_or_unique);
	RUN(state_errors_name_the_state_and_treat_displaced_values_as_busy);
	RUN(checked_transitions_move_only_from_a_shared_count);
	RUN(fast_verdicts_undo_guard_band_steps_and_leave_busy_steps_to_the_owner);
	RUN(fast_steps_on_a_word_restore_it_exactly);
	RUN(mem_create_rejects_an_unknown_refcount_policy);
	RUN(mem_create_rejects_an_unknown_lookup_mode);
	RUN(stale_handles_of_a_unique_frame_are_reported_and_leave_it_unique);
	RUN(stale_handles_of_a_frame_being_torn_down_get_ebusy_and_teardown_wins);
	RUN(stale_clones_racing_with_claim_and_drop_never_corrupt_the_count);
	RUN(stale_clones_of_a_frame_toggling_unique_never_corrupt_it);
	return fk_test_finish();
}
