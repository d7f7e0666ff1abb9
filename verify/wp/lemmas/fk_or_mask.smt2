; ACSL axiom fk_or_mask (core/src/segment_arith.h):
;   \forall integer a, b; 0 <= a, b <= 2^64-1 ==>
;     (((a | b) & 4095) == 0 <==> ((a & 4095) == 0 && (b & 4095) == 0))
; Zero tests only, so no integer conversion is involved: the statement over
; every pair of 64-bit vectors is the axiom (see fk_mask_mod.smt2). unsat.
(set-logic ALL)
(declare-const a (_ BitVec 64))
(declare-const b (_ BitVec 64))
(define-fun m () (_ BitVec 64) #x0000000000000fff)
(define-fun z () (_ BitVec 64) #x0000000000000000)
(assert (not (= (= (bvand (bvor a b) m) z)
                (and (= (bvand a m) z) (= (bvand b m) z)))))
(check-sat)
