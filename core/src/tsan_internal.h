/* SPDX-License-Identifier: MIT */
/*
 * ThreadSanitizer annotations. liburcu 0.13 (Debian's) and Concurrency Kit
 * are not instrumented, so TSan cannot see their happens-before edges;
 * these hooks state them. Compiled to nothing outside TSan builds.
 *  - CK's atomics and spinlocks are inline assembly, e.g.
 *    https://github.com/concurrencykit/ck/blob/master/include/gcc/x86_64/ck_pr.h
 *  - liburcu gained C11-atomics builds (visible to TSan) only in 0.15.0
 *    ("Add CMM memory model", "configure: Add
 *    --enable-compiler-atomic-builtins option",
 *    https://github.com/urcu/userspace-rcu/blob/master/ChangeLog); 0.13
 *    uses volatile accesses and asm barriers.
 *  - The hooks: __tsan_acquire/__tsan_release and the __tsan_mutex_*
 *    family of LLVM's compiler-rt/include/sanitizer/tsan_interface.h
 *    (https://github.com/llvm/llvm-project/blob/main/compiler-rt/include/sanitizer/tsan_interface.h),
 *    which GCC's libtsan shares.
 */
#ifndef FK_TSAN_INTERNAL_H
#define FK_TSAN_INTERNAL_H

#if defined(__SANITIZE_THREAD__)
#define FK_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define FK_TSAN 1
#endif
#endif

#ifdef FK_TSAN
#include <sanitizer/tsan_interface.h>
void __tsan_acquire(void *addr);
void __tsan_release(void *addr);
#define fk_tsan_acquire(p)           __tsan_acquire((void *)(p))
#define fk_tsan_release(p)           __tsan_release((void *)(p))
#define fk_tsan_mutex_pre_lock(m)    __tsan_mutex_pre_lock((void *)(m), 0)
#define fk_tsan_mutex_post_lock(m)   __tsan_mutex_post_lock((void *)(m), 0, 0)
#define fk_tsan_mutex_pre_unlock(m)  __tsan_mutex_pre_unlock((void *)(m), 0)
#define fk_tsan_mutex_post_unlock(m) __tsan_mutex_post_unlock((void *)(m), 0)
#define fk_tsan_mutex_create(m)      __tsan_mutex_create((void *)(m), 0)
#define fk_tsan_mutex_destroy(m)     __tsan_mutex_destroy((void *)(m), 0)
#else
#define fk_tsan_acquire(p)           ((void)(p))
#define fk_tsan_release(p)           ((void)(p))
#define fk_tsan_mutex_pre_lock(m)    ((void)(m))
#define fk_tsan_mutex_post_lock(m)   ((void)(m))
#define fk_tsan_mutex_pre_unlock(m)  ((void)(m))
#define fk_tsan_mutex_post_unlock(m) ((void)(m))
#define fk_tsan_mutex_create(m)      ((void)(m))
#define fk_tsan_mutex_destroy(m)     ((void)(m))
#endif

#endif /* FK_TSAN_INTERNAL_H */
