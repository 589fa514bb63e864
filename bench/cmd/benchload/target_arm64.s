#include "textflag.h"

// func call2(a, b uint64) uint64 enters target with a and b in the AAPCS64
// argument registers, as a C caller would.
TEXT ·call2(SB), NOSPLIT, $16-24
	MOVD a+0(FP), R0
	MOVD b+8(FP), R1
	CALL ·target(SB)
	MOVD R0, ret+16(FP)
	RET

// target is the uprobe target: a C-ABI leaf that returns a+b.
TEXT ·target(SB), NOSPLIT|NOFRAME, $0-0
	ADD R1, R0, R0
	RET
