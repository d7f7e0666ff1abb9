/* SPDX-License-Identifier: MIT */
/*
 * fk_racy_demo: a deliberately racy use of framekit that ThreadSanitizer must
 * report (negative control for the TSan setup: the core's annotations and
 * stress/tsan.supp must not blind it).
 *
 * The race is on real framekit state: thread B drops its reference to a
 * shared frame and then reads the frame's metadata through a pointer it
 * kept (use after drop), while thread A drops the last reference, so
 * on_drop writes the same metadata. B's read happens after its release
 * decrement, so nothing orders it before A's on_drop: a data race. The two
 * threads hand-shake with relaxed atomics only, which carry no
 * happens-before for TSan.
 *
 * Expected: "WARNING: ThreadSanitizer: data race" naming
 * stale_meta_read_after_drop and on_drop_poison, exit code 66.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <framekit/framekit.h>

#ifndef FK_RACY_DEMO
#error "built only with FK_RACY_DEMO (stress/CMakeLists.txt, TSan builds)"
#endif

struct demo_meta {
	uint64_t value;
};

static void on_drop_poison(void *meta, uint64_t paddr, void *ctx)
{
	(void)paddr;
	(void)ctx;
	((struct demo_meta *)meta)->value = 0xdead; /* exclusive access: count is 0 */
}

static const struct fk_meta_type demo_type = {"racy-demo", sizeof(struct demo_meta), on_drop_poison,
                                              NULL, 0};

static int init_value(void *meta, uint64_t paddr, void *ctx)
{
	(void)paddr;
	(void)ctx;
	((struct demo_meta *)meta)->value = 42;
	return 0;
}

static fk_mem *mem;
static fk_frame b_ref;
static atomic_int b_read_done, a_dropped;
static volatile uint64_t sink;

static __attribute__((noinline)) uint64_t stale_meta_read_after_drop(const struct demo_meta *m)
{
	return m->value; /* BUG (on purpose): no reference held any more */
}

static void *thread_b(void *arg)
{
	(void)arg;
	fk_thread_enter(mem);
	const struct demo_meta *m = fk_frame_meta(&b_ref);
	sink = m->value; /* fine: we hold a reference */
	if (fk_frame_drop(mem, &b_ref) != 0)
		abort();
	sink = stale_meta_read_after_drop(m);
	atomic_store_explicit(&b_read_done, 1, memory_order_relaxed);
	while (!atomic_load_explicit(&a_dropped, memory_order_relaxed))
		;
	fk_thread_leave(mem);
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc > 1) {
		int help = strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0;
		if (help)
			printf("usage: fk_racy_demo\n"
			       "A deliberate data race on framekit state: a TSan build must report\n"
			       "it (exit 66). Negative control run by scripts/run-stress.sh.\n");
		else
			fprintf(stderr, "fk_racy_demo: unexpected argument '%s' (try --help)\n",
			        argv[1]);
		return help ? 0 : 2;
	}
	struct fk_region_config reg = {0x100000, 4, 0, FK_REGION_UNMANAGED};
	struct fk_mem_config cfg = {0};
	cfg.regions = &reg;
	cfg.nr_regions = 1;
	cfg.nr_nodes = 1;
	cfg.raw_tracking = 1;
	if (fk_mem_create(&cfg, &mem) != 0)
		return 2;
	fk_thread_enter(mem);
	fk_frame a_ref;
	if (fk_frame_from_unused(mem, 0x100000, &demo_type, init_value, NULL, &a_ref) != 0 ||
	    fk_frame_clone(mem, &a_ref, &b_ref) != 0)
		return 2;
	pthread_t th;
	pthread_create(&th, NULL, thread_b, NULL);
	while (!atomic_load_explicit(&b_read_done, memory_order_relaxed))
		;
	fk_frame_drop(mem, &a_ref); /* last reference: on_drop_poison writes the metadata */
	atomic_store_explicit(&a_dropped, 1, memory_order_relaxed);
	pthread_join(th, NULL);
	fk_thread_leave(mem);
	fk_mem_destroy(mem, NULL);
	printf("racy demo finished without a TSan report (sink=%llu)\n", (unsigned long long)sink);
	return 0;
}
