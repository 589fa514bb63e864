#include "textflag.h"

// func cabi6(a, b, c, d, e, f uint64) uint64
//
// cdecl, as i386 C code calls: the six arguments, one 32-bit word each
// (the low half of each uint64), pushed right to left, so that at
// cabiTarget's entry 0(SP) is the return address and the arguments are
// $stack1..$stack6.
TEXT ·cabi6(SB), NOSPLIT, $24-56
	MOVL a_lo+0(FP), AX
	MOVL AX, 0(SP)
	MOVL b_lo+8(FP), AX
	MOVL AX, 4(SP)
	MOVL c_lo+16(FP), AX
	MOVL AX, 8(SP)
	MOVL d_lo+24(FP), AX
	MOVL AX, 12(SP)
	MOVL e_lo+32(FP), AX
	MOVL AX, 16(SP)
	MOVL f_lo+40(FP), AX
	MOVL AX, 20(SP)
	CALL ·cabiTarget(SB)
	MOVL AX, ret_lo+48(FP)
	MOVL $0, ret_hi+52(FP)
	RET

// cabiTarget: cdecl arguments on the stack above the return address; the
// sum in AX.
// It reads them through CX: they lie in cabi6's frame, which go vet's
// view of a $0-0 function cannot see.
TEXT ·cabiTarget(SB), NOSPLIT, $0-0
	MOVL SP, CX
	MOVL 4(CX), AX
	ADDL 8(CX), AX
	ADDL 12(CX), AX
	ADDL 16(CX), AX
	ADDL 20(CX), AX
	ADDL 24(CX), AX
	RET
