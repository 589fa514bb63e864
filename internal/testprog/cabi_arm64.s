#include "textflag.h"

// func cabi6(a, b, c, d, e, f uint64) uint64
TEXT ·cabi6(SB), NOSPLIT, $16-56
	MOVD a+0(FP), R0
	MOVD b+8(FP), R1
	MOVD c+16(FP), R2
	MOVD d+24(FP), R3
	MOVD e+32(FP), R4
	MOVD f+40(FP), R5
	CALL ·cabiTarget(SB)
	MOVD R0, ret+48(FP)
	RET

// cabiTarget: AAPCS64 arguments in R0-R5; the sum in R0.
TEXT ·cabiTarget(SB), NOSPLIT|NOFRAME, $0-0
	ADD R1, R0, R0
	ADD R2, R0, R0
	ADD R3, R0, R0
	ADD R4, R0, R0
	ADD R5, R0, R0
	RET
