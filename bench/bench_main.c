/*
 * framekit_bench: entry point. Registers every family over every allocator
 * the library was built with (fk_allocator_names), records the run's context
 * in the JSON and hands over to Google Benchmark.
 *
 * Extra flag: --list-allocators prints the allocator names, one per line.
 * Benchmark names are "<family>/<allocator>/<variant...>" so the scripts can
 * split them without knowing the families.
 */
#include <stdio.h>
#include <string.h>

#include "bench_common.h"

/* Wrapper overhead: an empty body, per call and batched. */
static void bm_overhead_keep_running(gb_state *st, void *arg)
{
	(void)arg;
	while (gb_keep_running(st)) {
	}
	gb_set_items_processed(st, gb_iterations_done(st));
}

static void bm_overhead_keep_running_batch(gb_state *st, void *arg)
{
	(void)arg;
	while (gb_keep_running_batch(st, 1000)) {
	}
	gb_set_items_processed(st, gb_iterations_done(st));
}

void bench_register_overhead(void)
{
	gb_use_real_time(
	    gb_register("overhead/none/c_keep_running", bm_overhead_keep_running, NULL));
	gb_use_real_time(gb_register("overhead/none/c_keep_running_batch:1000",
	                             bm_overhead_keep_running_batch, NULL));
	gb_register_native_empty("overhead/none/cpp_native_range_for");
}

int main(int argc, char **argv)
{
	bench_init();
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--list-allocators") == 0) {
			for (size_t a = 0; a < bench_nr_allocators; a++)
				printf("%s\n", bench_allocators[a]);
			return 0;
		}
	}
	char buf[512] = "";
	for (size_t a = 0; a < bench_nr_allocators; a++) {
		strncat(buf, bench_allocators[a], sizeof(buf) - strlen(buf) - 2);
		if (a + 1 < bench_nr_allocators)
			strcat(buf, ",");
	}
	gb_add_context("framekit_allocators", buf);
	snprintf(buf, sizeof(buf), "%d", bench_nr_cpus);
	gb_add_context("online_cpus", buf);
	gb_add_context("thread_pinning", bench_pinning()
	                                     ? "round-robin (thread i -> cpu i % online_cpus)"
	                                     : "off (FK_BENCH_PIN=0)");
	gb_add_context("memory", "1 GiB simulated (262144 unbacked 4 KiB frames) per run");

	bench_register_overhead();
	bench_register_segment();
	bench_register_shared();
	bench_register_lookup();
	bench_register_alloc();
	bench_register_numa();
	int rc = gb_main(argc, argv);
	bench_fini();
	return rc;
}
