package asm

import "fmt"

// JumpOp is a branch, call or exit (the BPF_OP bits of a JMP opcode).
type JumpOp uint8

// Jump operations.
const (
	Ja   JumpOp = 0x00
	JEq  JumpOp = 0x10
	JGT  JumpOp = 0x20
	JGE  JumpOp = 0x30
	JSet JumpOp = 0x40
	JNE  JumpOp = 0x50
	JSGT JumpOp = 0x60
	JSGE JumpOp = 0x70
	Call JumpOp = 0x80
	Exit JumpOp = 0x90
	JLT  JumpOp = 0xa0
	JLE  JumpOp = 0xb0
	JSLT JumpOp = 0xc0
	JSLE JumpOp = 0xd0
)

var jumpNames = [16]string{"Ja", "JEq", "JGT", "JGE", "JSet", "JNE", "JSGT", "JSGE", "Call", "Exit", "JLT", "JLE", "JSLT", "JSLE", "", ""}

func (op JumpOp) String() string {
	if s := jumpNames[op>>4]; s != "" && op&0x0f == 0 {
		return s
	}
	return fmt.Sprintf("JumpOp(%#x)", uint8(op))
}

// Imm is "if dst op imm goto label" comparing 64 bits.
func (op JumpOp) Imm(dst Register, imm int32, label string) Instruction {
	return Instruction{OpCode: OpCode(JumpClass) | OpCode(op), Dst: dst, Constant: int64(imm), Reference: label}
}

// Reg is "if dst op src goto label" comparing 64 bits.
func (op JumpOp) Reg(dst, src Register, label string) Instruction {
	return Instruction{OpCode: OpCode(JumpClass) | OpCode(op) | OpCode(RegSource), Dst: dst, Src: src, Reference: label}
}

// Imm32 is "if wdst op imm goto label" comparing the low 32 bits (5.1).
func (op JumpOp) Imm32(dst Register, imm int32, label string) Instruction {
	return Instruction{OpCode: OpCode(Jump32Class) | OpCode(op), Dst: dst, Constant: int64(imm), Reference: label}
}

// Reg32 is "if wdst op wsrc goto label" comparing the low 32 bits (5.1).
func (op JumpOp) Reg32(dst, src Register, label string) Instruction {
	return Instruction{OpCode: OpCode(Jump32Class) | OpCode(op) | OpCode(RegSource), Dst: dst, Src: src, Reference: label}
}

// Label is the unconditional "goto label" (JA with a 16-bit offset). Only
// meaningful for Ja.
func (op JumpOp) Label(label string) Instruction {
	return Instruction{OpCode: OpCode(JumpClass) | OpCode(op), Reference: label}
}

// JaLong is "gotol label": JMP32|JA with the offset in the 32-bit immediate,
// for targets beyond ±32767 instructions (6.6).
func JaLong(label string) Instruction {
	return Instruction{OpCode: OpCode(Jump32Class) | OpCode(Ja), Reference: label}
}

// Return is exit: return R0 to the caller.
func Return() Instruction { return Instruction{OpCode: OpCode(JumpClass) | OpCode(Exit)} }

// CallLabel is a bpf-to-bpf call of the subprogram labelled label (4.16).
func CallLabel(label string) Instruction {
	return Instruction{OpCode: OpCode(JumpClass) | OpCode(Call), Src: PseudoCall, Reference: label}
}

// Call calls helper fn.
func (fn BuiltinFunc) Call() Instruction {
	return Instruction{OpCode: OpCode(JumpClass) | OpCode(Call), Constant: int64(fn)}
}
