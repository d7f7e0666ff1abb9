/* SPDX-License-Identifier: MIT */
/*
 * fk_fuzz_api: libFuzzer harness for the public API (clang,
 * -fsanitize=fuzzer,address,undefined; see scripts/run-fuzz.sh).
 *
 * The input is a program: byte 0 picks the allocator, then each step is an
 * opcode plus operand bytes. The harness drives frames, segments, unique
 * frames, raw references and hot-plug with hostile operands (random,
 * unaligned and out-of-bounds paddrs, forged raw ranges, overflowing slice
 * bounds, wrong types, stale handle copies, empty handles) and keeps a
 * model of every frame: references held (handles + raw), raw references,
 * UNIQUE, metadata type. It also hands handles of a second context to the
 * first and back (FK_EINVAL, nothing changes), keeps stale copies of
 * handles into the hot region across its removal and re-addition
 * (FK_EUNUSED, no freed memory touched: ASan), and lets the init/on_drop
 * callbacks call back into the library (queries answer as the model says;
 * hot-plug from a callback is refused with FK_EBUSY). After every step it
 * checks that
 *   - an invalid input got an error from the set the model predicts and a
 *     valid one succeeded,
 *   - every slot's refcount and raw count equal the model,
 *   - the allocator's free count equals the managed frames the model holds
 *     free, and an FK_ENOMEM leaves no aligned free block of the size asked
 *     for in an allowed region (the harness is single-threaded, so that is
 *     exact).
 * At the end everything is dropped and the leak report must be empty.
 * Any mismatch aborts (a libFuzzer crash). The files and how to add a step:
 * stress/README.md.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <framekit/framekit.h>

#include "fk_variants.h"
#include "fuzz.h"

/*
 * Before libFuzzer parses the command line: --help prints our usage (libFuzzer
 * would take "--help" for a corpus directory and fuzz forever), and any other
 * "--" option is a mistake (libFuzzer's own flags take one dash).
 */
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	/* --allocator-lib PATH[:NAME] (or =): load a plug-in, which byte 0 then
	 * picks like a built-in; taken out of argv before libFuzzer sees it. */
	int out = 1;
	for (int i = 1; i < *argc; i++) {
		const char *a = (*argv)[i], *spec = NULL;
		if (strncmp(a, "--allocator-lib=", 16) == 0)
			spec = a + 16;
		else if (strcmp(a, "--allocator-lib") == 0 && i + 1 < *argc)
			spec = (*argv)[++i];
		if (!spec) {
			(*argv)[out++] = (*argv)[i];
			continue;
		}
		struct fk_plugin_error why;
		if (fk_allocator_load(spec, &why)) {
			fprintf(stderr, "fk_fuzz_api: --allocator-lib '%s': %s\n", spec, why.text);
			exit(2);
		}
	}
	*argc = out;
	(*argv)[out] = NULL;
	for (int i = 1; i < *argc; i++) {
		const char *a = (*argv)[i];
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			printf("usage: fk_fuzz_api [libFuzzer flags] [corpus dirs or inputs]\n"
			       "Fuzzes the public API against a model (stress/fuzz_api.c).\n"
			       "  -max_total_time=S  stop after S seconds (default: never)\n"
			       "  -runs=N            stop after N inputs\n"
			       "  --allocator-lib PATH[:NAME]  also fuzz a plug-in allocator\n"
			       "  -help=1            libFuzzer's own flags\n"
			       "  INPUT              replay one input (e.g. a crash file)\n"
			       "scripts/run-fuzz.sh builds it and runs a bounded session.\n");
			exit(0);
		}
		if (a[0] == '-' && a[1] == '-') {
			fprintf(stderr,
			        "fk_fuzz_api: unknown option '%s' (libFuzzer flags take one dash; "
			        "try --help)\n",
			        a);
			exit(2);
		}
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *names[16];
	static size_t nnames;
	if (!nnames) {
		nnames = fk_allocator_names(names, 16);
		if (nnames > 16)
			nnames = 16;
	}
	if (size < 1 || nnames == 0)
		return 0;
	memset(&z, 0, sizeof(z));
	z.in = data;
	z.len = size;
	z.pos = 1;
	z.alloc_name = names[data[0] % nnames];
	static const char *const locks[3] = {"ticket", "mcs", "mutex"};

	struct fk_region_config regs[2] = {
	    {M_BASE, M_N, 0, 0},
	    {U_BASE, U_N, 0, FK_REGION_UNMANAGED},
	};
	struct fk_mem_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	cfg.regions = regs;
	cfg.nr_regions = 2;
	cfg.nr_nodes = 2;
	cfg.raw_tracking = 1;
	cfg.allocator = z.alloc_name;
	cfg.alloc.lock = locks[(data[0] >> 4) % 3];
	fk_variant_apply(&cfg, &fk_variants[(data[0] >> 6) % FK_NR_VARIANTS]);
	int rc = fk_mem_create(&cfg, &z.mem);
	if (rc)
		die("fk_mem_create -> %s", E(rc));
	fk_thread_enter(z.mem);
	struct fk_region_config breg = {B_BASE, B_N, 0, 0};
	struct fk_mem_config cfg2 = cfg;
	cfg2.regions = &breg;
	cfg2.nr_regions = 1;
	rc = fk_mem_create(&cfg2, &z.mem2);
	if (rc)
		die("fk_mem_create(second context) -> %s", E(rc));
	fk_thread_enter(z.mem2);
	verify();
	for (z.step = 0; z.pos < z.len && z.step < 400; z.step++) {
		switch (byte() % 22) {
		case 0:
		case 1:
			step_alloc(0);
			break;
		case 2:
			step_alloc(1);
			break;
		case 3:
			step_from_unused(0);
			break;
		case 4:
			step_from_unused(1);
			break;
		case 5:
			step_segment_from_unused();
			break;
		case 6:
			step_from_in_use();
			break;
		case 7:
			step_frame_clone();
			break;
		case 8:
			step_frame_drop();
			break;
		case 9:
			step_segment_drop();
			break;
		case 10:
			step_segment_clone();
			break;
		case 11:
			step_split();
			break;
		case 12:
			step_slice();
			break;
		case 13:
			step_next();
			break;
		case 14:
			step_into_raw();
			break;
		case 15:
			step_from_raw();
			break;
		case 16:
			step_views();
			break;
		case 17:
			step_from_frame();
			step_unique();
			break;
		case 18:
			step_stale();
			step_hotplug();
			break;
		case 20:
			step_foreign();
			break;
		case 21:
			z.cb_query = byte() % 4;
			break;
		default:
			step_empty_handles();
			break;
		}
		fz_init_fail_at = -1;
		verify();
	}
	z.cb_query = 0;
	teardown_check();
	fk_thread_leave(z.mem2);
	struct fk_leak_report lr2;
	rc = fk_mem_destroy(z.mem2, &lr2);
	if (rc)
		die("fk_mem_destroy(second context) -> %s", E(rc));
	fk_thread_leave(z.mem);
	struct fk_leak_report lr;
	rc = fk_mem_destroy(z.mem, &lr);
	if (rc)
		die("fk_mem_destroy -> %s (referenced %" PRIu64 ")", E(rc), lr.frames_referenced);
	return 0;
}
