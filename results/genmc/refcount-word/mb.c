/* SPDX-License-Identifier: MIT */
/*
 * Single-thread cost of the refcount word's drop and granted-claim paths,
 * on 512 words x 20,000 rounds, best of 7, built against one tree's
 * core/src/refcount_internal.h (no library):
 *   gcc -O2 -std=gnu11 -I <tree>/core/include -I <tree>/core/src \
 *       -DHDR='"refcount_internal.h"' -DLABEL='"name"' mb.c
 * "last drop" is an unhinted fk_ref_dec of a count of 1 (fk_frame_drop),
 * "hinted" the segment drop's fk_ref_dec_hinted(.., 1) (fixed tree only).
 */
#include <stdio.h>
#include <time.h>
#include HDR
static double now(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec*1e9+t.tv_nsec;}
int main(void){
  static _Atomic uint64_t w[512];
  double best_hint=1e9,best_last=1e9,best_nonlast=1e9,best_claim=1e9;
  for(int rep=0;rep<7;rep++){
    double t0=now();
    for(int it=0;it<20000;it++) for(int i=0;i<512;i++){
      atomic_store_explicit(&w[i],1,memory_order_release);
      if(fk_ref_dec(&w[i],FK_REFCOUNT_FAST)==1) fk_ref_release_unused(&w[i]);
    }
    double t1=now();
    for(int it=0;it<20000;it++) for(int i=0;i<512;i++){
      atomic_store_explicit(&w[i],2,memory_order_release);
      (void)fk_ref_dec(&w[i],FK_REFCOUNT_FAST);
    }
    double t2=now();
    for(int it=0;it<20000;it++) for(int i=0;i<512;i++){
#ifdef FK_REF_CLASS_BUSY_LO
      (void)fk_ref_claim_granted(&w[i]);
#else
      (void)fk_ref_class(fk_ref_read_granted(&w[i]));
#endif
      fk_ref_publish(&w[i],1);
    }
    double t3=now();
#ifdef FK_REF_CLASS_BUSY_LO
    for(int it=0;it<20000;it++) for(int i=0;i<512;i++){
      atomic_store_explicit(&w[i],1,memory_order_release);
      if(fk_ref_dec_hinted(&w[i],FK_REFCOUNT_FAST,1)==1) fk_ref_release_unused(&w[i]);
    }
#endif
    double t4=now();
    double n=20000.0*512;
    if((t4-t3)/n<best_hint)best_hint=(t4-t3)/n;
    if((t1-t0)/n<best_last)best_last=(t1-t0)/n;
    if((t2-t1)/n<best_nonlast)best_nonlast=(t2-t1)/n;
    if((t3-t2)/n<best_claim)best_claim=(t3-t2)/n;
  }
  printf("%s: last drop+UNUSED %.2f ns (hinted %.2f), non-last drop %.2f ns, granted claim+publish %.2f ns\n", LABEL, best_last,best_hint<1e9?best_hint:0.0,best_nonlast,best_claim);
}
