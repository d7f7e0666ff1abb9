; ACSL axiom fk_mask_mod (core/src/segment_arith.h):
;   \forall integer x; 0 <= x <= 2^64-1 ==> (x & 4095) == x % 4096
; Each x in that range is bv2nat of exactly one 64-bit vector, and for
; non-negative values ACSL's & is the and of their binary forms, so the
; axiom holds iff it holds for every 64-bit vector. Three steps, each must
; be unsat (scripts/prove.sh checks that z3 prints exactly "unsat" three
; times):
;   1. every 64-bit vector is (concat hi lo) of a 52-bit hi and 12-bit lo;
;   2. bv2nat (concat hi lo) = 4096 * bv2nat hi + bv2nat lo;
;   3. with 2 as a hypothesis, the axiom for x = (concat hi lo).
(set-logic ALL)
(declare-const v (_ BitVec 64))
(push)
(assert (not (= v (concat ((_ extract 63 12) v) ((_ extract 11 0) v)))))
(check-sat)
(pop)
(declare-const hi (_ BitVec 52))
(declare-const lo (_ BitVec 12))
(define-fun x () (_ BitVec 64) (concat hi lo))
(push)
(assert (not (= (bv2nat x) (+ (* 4096 (bv2nat hi)) (bv2nat lo)))))
(check-sat)
(pop)
(assert (= (bv2nat x) (+ (* 4096 (bv2nat hi)) (bv2nat lo))))
(assert (not (= (bv2nat (bvand x #x0000000000000fff)) (mod (bv2nat x) 4096))))
(check-sat)
