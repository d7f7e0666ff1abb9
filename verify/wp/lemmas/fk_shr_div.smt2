; ACSL axiom fk_shr_div (core/src/segment_arith.h):
;   \forall integer x; 0 <= x <= 2^64-1 ==> (x >> 12) == x / 4096
; For non-negative x, ACSL's >> is the logical shift of its binary form and
; / is floor division. Same three steps as fk_mask_mod.smt2, each unsat.
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
(assert (not (= (bv2nat (bvlshr x #x000000000000000c)) (div (bv2nat x) 4096))))
(check-sat)
