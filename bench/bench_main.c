/* SPDX-License-Identifier: MIT */
/*
 * framekit_bench: entry point. Registers every family over every allocator
 * (fk_allocator_names: the library's built-ins, then the plug-ins that
 * --allocator-lib loaded), records the run's context in the JSON and hands
 * over to Google Benchmark.
 *
 * framekit's own options (--threads, --memory, --held, --numa, --pin,
 * --budget, --clock, --allocator-lib, --list-allocators, --list-variants,
 * --print-plan; --help) are parsed by bench_config.c. Benchmark names are
 * "<family>/<allocator>/<variant...>" (allocation families) or
 * "<family>/core:<variant>/..." (core families), so the scripts split them
 * without knowing the families.
 */
#include "bench_common.h"

/*
 * Wrapper overhead: a body that is only a compiler barrier (so the loop
 * cannot be folded away), per call and batched; the C++ twin is
 * gb_register_native_empty.
 */
static void bm_overhead_keep_running(gb_state *st, void *arg)
{
	(void)arg;
	while (gb_keep_running(st))
		gb_clobber_memory();
	gb_set_items_processed(st, gb_iterations_done(st));
}

static void bm_overhead_keep_running_batch(gb_state *st, void *arg)
{
	(void)arg;
	while (gb_keep_running_batch(st, 1000))
		for (int i = 0; i < 1000; i++)
			gb_clobber_memory();
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
	int code = 0;
	if (bench_configure(&argc, argv, &code))
		return code;
	bench_init();
	bench_add_context();
	/* The long families run only when --family names them (bench/README.md). */
	bench_register_frag();
	bench_register_fill();
	bench_register_reclaim();
	if (!bench_cfg.family_suite) {
		int rc_optin = gb_main(argc, argv);
		bench_fini();
		return rc_optin;
	}
	bench_register_overhead();
	bench_register_segment();
	bench_register_shared();
	bench_register_lookup();
	bench_register_contended();
	bench_register_alloc();
	bench_register_numa();
	int rc = gb_main(argc, argv);
	bench_fini();
	return rc;
}
