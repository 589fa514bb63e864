#include "textflag.h"

// func call2(a, b uint64) uint64 enters target with a and b in the System V
// argument registers, as a C caller would.
TEXT ·call2(SB), NOSPLIT, $0-24
	MOVQ a+0(FP), DI
	MOVQ b+8(FP), SI
	CALL ·target(SB)
	MOVQ AX, ret+16(FP)
	RET

// target is the uprobe target: a C-ABI leaf that returns a+b.
TEXT ·target(SB), NOSPLIT|NOFRAME, $0-0
	MOVQ DI, AX
	ADDQ SI, AX
	RET
