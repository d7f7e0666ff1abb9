/* SPDX-License-Identifier: MIT */
/*
 * The allocator plug-in loader (framekit/allocator.h, "Plug-ins"): every
 * refusal gets its own reason, code and message and leaves the allocator
 * list unchanged; a loaded plug-in is found, listed and used like a
 * built-in. The broken plug-ins are tests/plugin_fixture.c, the good one
 * the bitmap example's plug-in build.
 *
 * Loading is process-wide, so each test runs once (not per core variant).
 */
#include "fk_test.h"

#define FIX(name) FK_PLUGIN_FIXTURE_DIR "/fixture_" name ".so"

static size_t nr_allocators(void)
{
	return fk_allocator_names(NULL, 0);
}

/* fk_allocator_load(spec) is refused with code, reason and a message
 * containing text; the allocator list does not change. */
static int refused(const char *spec, int code, int reason, const char *text)
{
	size_t before = nr_allocators();
	struct fk_plugin_error why = {.reason = -1};
	int err = fk_allocator_load(spec, &why);
	int ok = err == code && why.reason == reason && strstr(why.text, text) &&
	         nr_allocators() == before;
	if (!ok)
		fprintf(stderr, "  %s: got %s, reason %d, \"%s\"; want %s, reason %d, \"%s\"\n",
		        spec, fk_strerror_name(err), why.reason, why.text, fk_strerror_name(code),
		        reason, text);
	return ok;
}

static void plugin_load_of_missing_file_says_no_such_file(void)
{
	CHECK(refused(FK_PLUGIN_FIXTURE_DIR "/no_such.so", FK_ENOENT, FK_PLUGIN_NO_FILE,
	              "no such file"));
	CHECK(refused("", FK_ENOENT, FK_PLUGIN_NO_FILE, "PATH[:NAME]"));
	CHECK_ERR(fk_allocator_load(NULL, NULL), FK_ENOENT);
}

static void plugin_load_of_a_file_that_is_no_library_is_refused(void)
{
	CHECK(refused(FK_PLUGIN_NOT_A_LIBRARY, FK_EINVAL, FK_PLUGIN_NOT_LOADABLE,
	              "not a loadable shared library"));
}

static void plugin_load_of_library_without_descriptor_says_no_symbol(void)
{
	CHECK(
	    refused(FIX("no_symbol"), FK_ENOENT, FK_PLUGIN_NO_SYMBOL, FK_ALLOCATOR_PLUGIN_SYMBOL));
}

static void plugin_load_of_old_abi_symbol_names_both_versions(void)
{
	CHECK(
	    refused(FIX("old_abi"), FK_EINVAL, FK_PLUGIN_VERSION,
	            "exports fk_allocator_plugin_v0, this framekit loads fk_allocator_plugin_v1"));
}

static void plugin_load_of_descriptor_of_another_version_or_size_is_refused(void)
{
	CHECK(refused(FIX("new_version"), FK_EINVAL, FK_PLUGIN_VERSION, "ABI v2"));
	CHECK(refused(FIX("ops_size"), FK_EINVAL, FK_PLUGIN_VERSION, "rebuild the plug-in"));
}

static void plugin_load_of_foreign_symbol_is_refused_without_calling_it(void)
{
	CHECK(refused(FIX("foreign"), FK_ENOENT, FK_PLUGIN_NO_SYMBOL, "magic 0x12345678"));
}

static void plugin_load_of_incomplete_ops_names_the_missing_callback(void)
{
	CHECK(refused(FIX("no_stats"), FK_EINVAL, FK_PLUGIN_BAD_OPS, "stats() is NULL"));
}

static void plugin_load_refuses_bad_names(void)
{
	CHECK(refused(FIX("bad_name"), FK_EINVAL, FK_PLUGIN_BAD_NAME, "'two words'"));
	/* The same library under a valid name is fine on every other count:
	 * only the name was wrong. */
	CHECK(refused(FIX("bad_name") ":all", FK_EINVAL, FK_PLUGIN_BAD_NAME, "'all'"));
	CHECK(refused(FIX("bad_name") ":", FK_EINVAL, FK_PLUGIN_BAD_NAME, "empty NAME"));
	CHECK(refused(FIX("bad_name") ":a-name-of-more-than-thirty-one-chars", FK_EINVAL,
	              FK_PLUGIN_BAD_NAME, "1..31"));
	CHECK(refused(FIX("bad_name") ":lockfree", FK_EEXIST, FK_PLUGIN_NAME_TAKEN, "'lockfree'"));
}

#ifdef FK_PLUGIN_BITMAP
static void plugin_loaded_is_found_listed_and_used_like_a_builtin(void)
{
	size_t before = nr_allocators();
	struct fk_plugin_error why;
	CHECK_OK(fk_allocator_load(FK_PLUGIN_BITMAP ":bitmap-a", &why));
	CHECK_EQ(why.reason, FK_PLUGIN_OK);
	CHECK_EQ(nr_allocators(), before + 1);
	const char *names[32];
	CHECK_EQ(fk_allocator_names(names, 32), before + 1);
	CHECK(strcmp(names[before], "bitmap-a") == 0); /* after the built-ins */
	const struct fk_allocator_ops *ops = fk_allocator_find("bitmap-a");
	CHECK(ops && strcmp(ops->name, "bitmap-a") == 0);
	CHECK(fk_allocator_origin("bitmap-a") && strstr(fk_allocator_origin("bitmap-a"), ".so"));
	CHECK(fk_allocator_origin("lockfree") == NULL);

	/* A context by name allocates and frees through the plug-in. */
	fk_mem *mem = fix_create("bitmap-a", 1);
	CHECK(mem);
	CHECK(strcmp(fk_mem_allocator_name(mem), "bitmap-a") == 0);
	fk_segment seg;
	CHECK_OK(fk_alloc_segment(mem, 8, NULL, NULL, NULL, 0, &seg));
	struct fk_alloc_stats st;
	CHECK_OK(fk_mem_alloc_stats(mem, -1, &st));
	CHECK_EQ(st.free_frames, FIX_M_FRAMES - 8);
	CHECK_OK(fk_segment_drop(mem, &seg));
	CHECK_OK(fk_mem_alloc_stats(mem, -1, &st));
	CHECK_EQ(st.free_frames, FIX_M_FRAMES);
	CHECK_EQ(st.allocs, 1);
	CHECK_OK(fix_destroy(mem));
}

static void plugin_loaded_twice_needs_a_second_name(void)
{
	CHECK_OK(fk_allocator_load(FK_PLUGIN_BITMAP, NULL)); /* as "bitmap" */
	CHECK(refused(FK_PLUGIN_BITMAP, FK_EEXIST, FK_PLUGIN_NAME_TAKEN, "'bitmap'"));
	CHECK_OK(fk_allocator_load(FK_PLUGIN_BITMAP ":bitmap-b", NULL));
	CHECK(fk_allocator_find("bitmap") && fk_allocator_find("bitmap-b"));
	/* The same code under two names (alloc & co. are each slot's checked
	 * entry points, so compare an unwrapped callback). */
	CHECK(fk_allocator_find("bitmap")->create == fk_allocator_find("bitmap-b")->create);
}

/* A plug-in's table, like a built-in's, runs the shared validation before
 * the plug-in sees a call: these edges never reach its (here absent) state. */
static void plugin_table_runs_the_shared_validation(void)
{
	if (!fk_allocator_find("bitmap"))
		CHECK_OK(fk_allocator_load(FK_PLUGIN_BITMAP, NULL));
	const struct fk_allocator_ops *o = fk_allocator_find("bitmap");
	uint64_t pa = 0;
	CHECK_EQ(o->alloc(NULL, 0, 0, 0, 0, &pa), FK_EINVAL);
	CHECK_EQ(o->alloc(NULL, 1, 0, 0, 0, NULL), FK_EINVAL);
	CHECK_EQ(o->dealloc(NULL, 4096 + 1, 1), FK_ENOTALIGNED);
	CHECK_EQ(o->add_free_memory(NULL, UINT64_MAX - 4095, 2, 0), FK_EINVAL);
	CHECK_EQ(o->remove_free_memory(NULL, 0, 0), FK_EINVAL);
}
#endif

/* A descriptor linked into the program goes through the same checks. */
static int linked_create(const struct fk_alloc_params *p, unsigned n, const int *c, unsigned nc,
                         void **s)
{
	return fk_allocator_find("simple")->create(p, n, c, nc, s);
}

static void plugin_register_checks_a_linked_descriptor(void)
{
	static struct fk_allocator_ops ops;
	ops = *fk_allocator_find("simple");
	ops.name = "linked";
	ops.create = linked_create;
	struct fk_allocator_plugin desc = {FK_ALLOCATOR_PLUGIN_MAGIC, FK_ALLOCATOR_PLUGIN_ABI,
	                                   sizeof(ops), 0, &ops};
	struct fk_plugin_error why;
	desc.abi_version = 0;
	CHECK_ERR(fk_allocator_register(&desc, NULL, &why), FK_EINVAL);
	CHECK_EQ(why.reason, FK_PLUGIN_VERSION);
	desc.abi_version = FK_ALLOCATOR_PLUGIN_ABI;
	CHECK_ERR(fk_allocator_register(NULL, NULL, &why), FK_EINVAL);
	CHECK_OK(fk_allocator_register(&desc, NULL, &why));
	CHECK(strcmp(fk_allocator_origin("linked"), "(registered)") == 0);
	fk_mem *mem = fix_create("linked", 0);
	CHECK(mem);
	fk_frame f;
	CHECK_OK(fk_alloc_frame(mem, NULL, NULL, NULL, 0, &f));
	CHECK_OK(fk_frame_drop(mem, &f));
	CHECK_OK(fix_destroy(mem));
}

static void once(const char *name, void (*fn)(void))
{
	if (!fk_test_selected(name))
		return;
	fk_test_failed_flag = 0;
	fn();
	fk_test_record(name, "-", fk_test_failed_flag);
}
#define ONCE(fn) once(#fn, fn)

int main(int argc, char **argv)
{
	fk_test_args(argc, argv);
	ONCE(plugin_load_of_missing_file_says_no_such_file);
	ONCE(plugin_load_of_a_file_that_is_no_library_is_refused);
	ONCE(plugin_load_of_library_without_descriptor_says_no_symbol);
	ONCE(plugin_load_of_old_abi_symbol_names_both_versions);
	ONCE(plugin_load_of_descriptor_of_another_version_or_size_is_refused);
	ONCE(plugin_load_of_foreign_symbol_is_refused_without_calling_it);
	ONCE(plugin_load_of_incomplete_ops_names_the_missing_callback);
	ONCE(plugin_load_refuses_bad_names);
#ifdef FK_PLUGIN_BITMAP
	ONCE(plugin_loaded_is_found_listed_and_used_like_a_builtin);
	ONCE(plugin_loaded_twice_needs_a_second_name);
	ONCE(plugin_table_runs_the_shared_validation);
#endif
	ONCE(plugin_register_checks_a_linked_descriptor);
	return fk_test_finish();
}
