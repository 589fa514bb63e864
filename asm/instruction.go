package asm

import (
	"fmt"
	"strings"
)

// Instruction is one eBPF instruction as the kernel sees it, plus two
// assembly-time annotations.
//
// ld_imm64 is a single Instruction carrying the full 64-bit Constant; it
// takes two 8-byte slots when encoded.
type Instruction struct {
	OpCode OpCode
	Dst    Register
	Src    Register
	Offset int16
	// Constant is the immediate: a sign-extended int32 for every
	// instruction except ld_imm64, which carries all 64 bits.
	Constant int64

	// Symbol labels this instruction as a jump or call target.
	Symbol string
	// Reference names what is still unresolved: a label for jumps and
	// bpf-to-bpf calls, a map name for LoadMapPtr and LoadMapValue.
	// Encode refuses an instruction whose Reference is set.
	Reference string
}

// WithSymbol returns ins labelled with sym, so jumps can target it.
func (ins Instruction) WithSymbol(sym string) Instruction {
	ins.Symbol = sym
	return ins
}

// Slots is the number of 8-byte slots ins takes: 2 for ld_imm64, else 1.
func (ins Instruction) Slots() int {
	if ins.OpCode.IsLoadImm64() {
		return 2
	}
	return 1
}

// isBranch reports whether ins is a jump, gotol or bpf-to-bpf call: an
// instruction whose Reference is a label rather than a map.
func (ins Instruction) isBranch() bool {
	c := ins.OpCode.Class()
	if !c.IsJump() {
		return false
	}
	switch ins.OpCode.JumpOp() {
	case Exit:
		return false
	case Call:
		return ins.Src == PseudoCall
	}
	return true
}

// IsLongJump reports whether ins is JMP32|JA (gotol), whose target offset is
// the 32-bit immediate instead of the 16-bit offset.
func (ins Instruction) IsLongJump() bool {
	return ins.OpCode == OpCode(Jump32Class)|OpCode(Ja)
}

// IsBuiltinCall reports whether ins calls a helper function.
func (ins Instruction) IsBuiltinCall() bool {
	return ins.OpCode == OpCode(JumpClass)|OpCode(Call) && ins.Src == 0
}

// IsLoadMap reports whether ins is an ld_imm64 of a map fd or map value.
func (ins Instruction) IsLoadMap() bool {
	return ins.OpCode.IsLoadImm64() && (ins.Src == PseudoMapFD || ins.Src == PseudoMapValue)
}

// Pseudo source registers of ld_imm64 and call (include/uapi/linux/bpf.h):
// they change what the immediate means.
const (
	PseudoMapFD       Register = 1 // BPF_PSEUDO_MAP_FD: imm is a map fd
	PseudoMapValue    Register = 2 // BPF_PSEUDO_MAP_VALUE: imm fd, next imm value offset
	PseudoBTFID       Register = 3 // BPF_PSEUDO_BTF_ID: kernel variable by BTF id
	PseudoFunc        Register = 4 // BPF_PSEUDO_FUNC: address of a subprogram
	PseudoMapIdx      Register = 5 // BPF_PSEUDO_MAP_IDX
	PseudoMapIdxValue Register = 6 // BPF_PSEUDO_MAP_IDX_VALUE

	PseudoCall      Register = 1 // BPF_PSEUDO_CALL: bpf-to-bpf call, imm is relative
	PseudoKfuncCall Register = 2 // BPF_PSEUDO_KFUNC_CALL
)

func (ins Instruction) String() string {
	var b strings.Builder
	formatInsn(&b, []Instruction{ins}, 0, nil)
	return b.String()
}

// GoString shows the fields, for test failures.
func (ins Instruction) GoString() string {
	return fmt.Sprintf("{op=%#02x(%v) dst=%v src=%d off=%d imm=%d sym=%q ref=%q}",
		uint8(ins.OpCode), ins.OpCode, ins.Dst, uint8(ins.Src), ins.Offset, ins.Constant, ins.Symbol, ins.Reference)
}

// Instructions is a program.
type Instructions []Instruction

// Slots is the number of 8-byte slots the program encodes to.
func (insns Instructions) Slots() int {
	n := 0
	for i := range insns {
		n += insns[i].Slots()
	}
	return n
}
