/* SPDX-License-Identifier: MIT */
/*
 * Two threads clone and drop one shared word (the frame stays held by a
 * third reference, so every drop is a non-last, contended one), 2 M pairs
 * per thread, best of 5, wall time per pair:
 *   gcc -O2 -pthread -std=gnu11 -I <tree>/core/include -I <tree>/core/src \
 *       -DHDR='"refcount_internal.h"' -DLABEL='"name"' mc.c
 */
#include <pthread.h>
#include <stdio.h>
#include <time.h>
#include HDR
static double now(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec*1e9+t.tv_nsec;}
static _Atomic uint64_t w __attribute__((aligned(64)));
static void *th(void *a){(void)a; for(int i=0;i<2000000;i++){fk_ref_inc_held(&w,FK_REFCOUNT_FAST,FK_REF_MAX); fk_ref_dec(&w,FK_REFCOUNT_FAST);} return 0;}
int main(void){ double best=1e9; for(int r=0;r<5;r++){ atomic_store(&w,1); pthread_t a,b; double t0=now(); pthread_create(&a,0,th,0); pthread_create(&b,0,th,0); pthread_join(a,0); pthread_join(b,0); double t=(now()-t0)/2000000; if(t<best)best=t;} printf("%s: 2-thread clone+drop on one word %.1f ns per pair (wall)\n", LABEL, best); }
