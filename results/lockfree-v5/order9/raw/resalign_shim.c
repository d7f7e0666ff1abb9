/* SPDX-License-Identifier: MIT */
/* LD_PRELOAD for bulk2 only (it never destroys the allocator, so the shifted
 * block is never freed): aligned_alloc(64, 256), lockfree's per-CPU slot array
 * for 2 CPU slots, placed at an address = RES_MOD (0 or 64) modulo 128. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
void *aligned_alloc(size_t al, size_t sz)
{
	static void *(*real)(size_t, size_t);
	if (!real)
		real = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT, "aligned_alloc");
	if (al == 64 && sz == 256 && getenv("RES_MOD")) {
		char *p = real(128, sz + 128);
		return p ? p + (atoi(getenv("RES_MOD")) == 64 ? 64 : 0) : p;
	}
	return real(al, sz);
}
