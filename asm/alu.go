package asm

import "fmt"

// ALUOp is an arithmetic operation. The low byte is the BPF_OP bits of the
// opcode; the high byte is the value the kernel expects in the offset field
// for variants that share an opcode: 1 for signed div/mod (6.6), 8/16/32 for
// movsx, the sign-extending move (6.6).
type ALUOp uint16

// ALU operations.
const (
	Add  ALUOp = 0x00
	Sub  ALUOp = 0x10
	Mul  ALUOp = 0x20
	Div  ALUOp = 0x30
	Or   ALUOp = 0x40
	And  ALUOp = 0x50
	LSh  ALUOp = 0x60
	RSh  ALUOp = 0x70
	Neg  ALUOp = 0x80
	Mod  ALUOp = 0x90
	Xor  ALUOp = 0xa0
	Mov  ALUOp = 0xb0
	ArSh ALUOp = 0xc0
	Swap ALUOp = 0xd0 // BPF_END

	SDiv    ALUOp = Div | 1<<8
	SMod    ALUOp = Mod | 1<<8
	MovSX8  ALUOp = Mov | 8<<8
	MovSX16 ALUOp = Mov | 16<<8
	MovSX32 ALUOp = Mov | 32<<8
)

var aluNames = map[ALUOp]string{
	Add: "Add", Sub: "Sub", Mul: "Mul", Div: "Div", Or: "Or", And: "And",
	LSh: "LSh", RSh: "RSh", Neg: "Neg", Mod: "Mod", Xor: "Xor", Mov: "Mov",
	ArSh: "ArSh", Swap: "Swap", SDiv: "SDiv", SMod: "SMod",
	MovSX8: "MovSX8", MovSX16: "MovSX16", MovSX32: "MovSX32",
}

func (op ALUOp) String() string {
	if s, ok := aluNames[op]; ok {
		return s
	}
	return fmt.Sprintf("ALUOp(%#x)", uint16(op))
}

func (op ALUOp) code(c Class, s Source) OpCode { return OpCode(uint8(op)&0xf0) | OpCode(s) | OpCode(c) }

// Imm is the 64-bit operation dst op= imm (imm sign-extended to 64 bits).
func (op ALUOp) Imm(dst Register, imm int32) Instruction {
	return Instruction{OpCode: op.code(ALU64Class, ImmSource), Dst: dst, Offset: int16(op >> 8), Constant: int64(imm)}
}

// Reg is the 64-bit operation dst op= src.
func (op ALUOp) Reg(dst, src Register) Instruction {
	return Instruction{OpCode: op.code(ALU64Class, RegSource), Dst: dst, Src: src, Offset: int16(op >> 8)}
}

// Imm32 is the 32-bit operation wdst op= imm; the result is zero-extended.
func (op ALUOp) Imm32(dst Register, imm int32) Instruction {
	return Instruction{OpCode: op.code(ALUClass, ImmSource), Dst: dst, Offset: int16(op >> 8), Constant: int64(imm)}
}

// Reg32 is the 32-bit operation wdst op= wsrc.
func (op ALUOp) Reg32(dst, src Register) Instruction {
	return Instruction{OpCode: op.code(ALUClass, RegSource), Dst: dst, Src: src, Offset: int16(op >> 8)}
}

// Neg64 is dst = -dst.
func Neg64(dst Register) Instruction { return Neg.Imm(dst, 0) }

// Neg32 is wdst = -wdst.
func Neg32(dst Register) Instruction { return Neg.Imm32(dst, 0) }

// HostTo converts the low size bits (16, 32 or 64) of dst from host order to
// the given byte order: a no-op (with truncation) when they agree, a swap
// when they differ.
func HostTo(to Endianness, dst Register, bits int32) Instruction {
	return Instruction{OpCode: OpCode(ALUClass) | OpCode(Swap) | OpCode(to), Dst: dst, Constant: int64(bits)}
}

// BSwap unconditionally swaps the low size bits (16, 32 or 64) of dst,
// whatever the host order (ALU64|BPF_END, 6.6).
func BSwap(dst Register, bits int32) Instruction {
	return Instruction{OpCode: OpCode(ALU64Class) | OpCode(Swap), Dst: dst, Constant: int64(bits)}
}
