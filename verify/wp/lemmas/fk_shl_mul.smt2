; ACSL axiom fk_shl_mul (core/src/segment_arith.h):
;   \forall integer i; 0 <= i <= 2^52-1 ==> (i << 12) == i * 4096
; In that range the 64-bit shift loses no bit (see fk_mask_mod.smt2 for why
; 64-bit vectors cover the integer statement). unsat.
(set-logic ALL)
(declare-const i (_ BitVec 64))
(assert (bvule i #x000fffffffffffff))
(assert (not (= (bv2nat (bvshl i #x000000000000000c))
                (* (bv2nat i) 4096))))
(check-sat)
