#include "textflag.h"

// func cabi6(a, b, c, d, e, f uint64) uint64
//
// o32, as MIPS C code calls: the first four arguments, one 32-bit word
// each (the low half of each uint64), in R4-R7 (a0-a3); the caller reserves
// 16 bytes of home space for them, so the other two are at 16(R29) and
// 20(R29) when cabiTarget is entered. Go's own frame would put the saved
// link register at 0(R29), so this function keeps none and lays out the C
// call itself.
TEXT ·cabi6(SB), NOSPLIT|NOFRAME, $0-56
	MOVW a_lo+0(FP), R4
	MOVW b_lo+8(FP), R5
	MOVW c_lo+16(FP), R6
	MOVW d_lo+24(FP), R7
	MOVW e_lo+32(FP), R8
	MOVW f_lo+40(FP), R9
	ADDU $-32, R29
	MOVW R8, 16(R29)
	MOVW R9, 20(R29)
	MOVW R31, 24(R29)
	JAL  ·cabiTarget(SB)
	MOVW 24(R29), R31
	ADDU $32, R29
	MOVW R2, ret_lo+48(FP)
	MOVW R0, ret_hi+52(FP)
	RET

// cabiTarget: o32 arguments in R4-R7, 16(R29), 20(R29); the sum in R2 (v0).
TEXT ·cabiTarget(SB), NOSPLIT|NOFRAME, $0-0
	ADDU R4, R5, R2
	ADDU R6, R2
	ADDU R7, R2
	MOVW 16(R29), R8
	ADDU R8, R2
	MOVW 20(R29), R8
	ADDU R8, R2
	RET
