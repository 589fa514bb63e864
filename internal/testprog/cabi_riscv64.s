#include "textflag.h"

// func cabi6(a, b, c, d, e, f uint64) uint64
TEXT ·cabi6(SB), NOSPLIT, $16-56
	MOV  a+0(FP), A0
	MOV  b+8(FP), A1
	MOV  c+16(FP), A2
	MOV  d+24(FP), A3
	MOV  e+32(FP), A4
	MOV  f+40(FP), A5
	CALL ·cabiTarget(SB)
	MOV  A0, ret+48(FP)
	RET

// cabiTarget: RISC-V LP64 arguments in A0-A5 (x10-x15); the sum in A0.
TEXT ·cabiTarget(SB), NOSPLIT|NOFRAME, $0-0
	ADD A1, A0
	ADD A2, A0
	ADD A3, A0
	ADD A4, A0
	ADD A5, A0
	RET
