#include "textflag.h"

// func cabi6(a, b, c, d, e, f uint64) uint64
TEXT ·cabi6(SB), NOSPLIT, $0-56
	MOVQ a+0(FP), DI
	MOVQ b+8(FP), SI
	MOVQ c+16(FP), DX
	MOVQ d+24(FP), CX
	MOVQ e+32(FP), R8
	MOVQ f+40(FP), R9
	CALL ·cabiTarget(SB)
	MOVQ AX, ret+48(FP)
	RET

// cabiTarget: System V arguments in DI, SI, DX, CX, R8, R9; the sum in AX.
TEXT ·cabiTarget(SB), NOSPLIT|NOFRAME, $0-0
	MOVQ DI, AX
	ADDQ SI, AX
	ADDQ DX, AX
	ADDQ CX, AX
	ADDQ R8, AX
	ADDQ R9, AX
	RET
