#include "textflag.h"

// func cabi6(a, b, c, d, e, f uint64) uint64
//
// AAPCS, as ARM C code calls: the first four arguments, one 32-bit word
// each (the low half of each uint64), in R0-R3, the other two on the stack
// at 0(R13) and 4(R13) when cabiTarget is entered. Go's own frame would put
// the saved link register at 0(R13), so this function keeps none and lays
// out the C call itself.
TEXT ·cabi6(SB), NOSPLIT|NOFRAME, $0-56
	MOVW a_lo+0(FP), R0
	MOVW b_lo+8(FP), R1
	MOVW c_lo+16(FP), R2
	MOVW d_lo+24(FP), R3
	MOVW e_lo+32(FP), R4
	MOVW f_lo+40(FP), R5
	// 16 bytes keep the stack 8-byte aligned, as AAPCS requires at a call.
	SUB  $16, R13
	MOVW R4, 0(R13)
	MOVW R5, 4(R13)
	MOVW R14, 8(R13)
	BL   ·cabiTarget(SB)
	MOVW 8(R13), R14
	ADD  $16, R13
	MOVW R0, ret_lo+48(FP)
	MOVW $0, R1
	MOVW R1, ret_hi+52(FP)
	RET

// cabiTarget: AAPCS arguments in R0-R3, 0(R13), 4(R13); the sum in R0.
TEXT ·cabiTarget(SB), NOSPLIT|NOFRAME, $0-0
	ADD  R1, R0
	ADD  R2, R0
	ADD  R3, R0
	MOVW 0(R13), R4
	ADD  R4, R0
	MOVW 4(R13), R4
	ADD  R4, R0
	RET
