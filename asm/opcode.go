package asm

import "fmt"

// OpCode is the first byte of an instruction: class in the low three bits,
// then operation/size/mode bits whose meaning depends on the class
// (include/uapi/linux/bpf_common.h and bpf.h).
type OpCode uint8

// Class is the instruction class, the low three bits of an OpCode.
type Class uint8

// Instruction classes, named as in the uapi headers.
const (
	LdClass     Class = 0x00 // BPF_LD
	LdXClass    Class = 0x01 // BPF_LDX
	StClass     Class = 0x02 // BPF_ST
	StXClass    Class = 0x03 // BPF_STX
	ALUClass    Class = 0x04 // BPF_ALU (32-bit)
	JumpClass   Class = 0x05 // BPF_JMP
	Jump32Class Class = 0x06 // BPF_JMP32
	ALU64Class  Class = 0x07 // BPF_ALU64
)

var classNames = [8]string{"ld", "ldx", "st", "stx", "alu", "jmp", "jmp32", "alu64"}

func (c Class) String() string { return classNames[c&7] }

// IsALU reports whether c is ALU or ALU64.
func (c Class) IsALU() bool { return c == ALUClass || c == ALU64Class }

// IsJump reports whether c is JMP or JMP32.
func (c Class) IsJump() bool { return c == JumpClass || c == Jump32Class }

// IsLoadStore reports whether c is one of the four memory classes.
func (c Class) IsLoadStore() bool { return c <= StXClass }

// Size is the access width of a load or store (bits 3-4).
type Size uint8

// Access widths.
const (
	Word  Size = 0x00 // BPF_W, 4 bytes
	Half  Size = 0x08 // BPF_H, 2 bytes
	Byte  Size = 0x10 // BPF_B, 1 byte
	DWord Size = 0x18 // BPF_DW, 8 bytes
)

// Bytes is the width in bytes.
func (s Size) Bytes() int {
	switch s {
	case Word:
		return 4
	case Half:
		return 2
	case Byte:
		return 1
	default:
		return 8
	}
}

func (s Size) String() string {
	switch s {
	case Word:
		return "W"
	case Half:
		return "H"
	case Byte:
		return "B"
	default:
		return "DW"
	}
}

// Mode is the addressing mode of a load or store (bits 5-7).
type Mode uint8

// Addressing modes.
const (
	ImmMode    Mode = 0x00 // BPF_IMM: ld_imm64
	AbsMode    Mode = 0x20 // BPF_ABS: legacy packet access
	IndMode    Mode = 0x40 // BPF_IND: legacy packet access
	MemMode    Mode = 0x60 // BPF_MEM
	MemSXMode  Mode = 0x80 // BPF_MEMSX: sign-extending load (6.6)
	AtomicMode Mode = 0xc0 // BPF_ATOMIC (was BPF_XADD)
)

func (m Mode) String() string {
	switch m {
	case ImmMode:
		return "IMM"
	case AbsMode:
		return "ABS"
	case IndMode:
		return "IND"
	case MemMode:
		return "MEM"
	case MemSXMode:
		return "MEMSX"
	case AtomicMode:
		return "ATOMIC"
	}
	return fmt.Sprintf("Mode(%#x)", uint8(m))
}

// Source selects the second operand of ALU and jump instructions (bit 3).
type Source uint8

// Operand sources.
const (
	ImmSource Source = 0x00 // BPF_K: the immediate
	RegSource Source = 0x08 // BPF_X: the source register
)

// Endianness for the BPF_END instruction: the conversion target.
type Endianness uint8

// Conversion targets. In the BPF_END opcode they reuse the BPF_SRC bit.
const (
	LE Endianness = 0x00 // BPF_TO_LE
	BE Endianness = 0x08 // BPF_TO_BE
)

func (e Endianness) String() string {
	if e == BE {
		return "be"
	}
	return "le"
}

// Class returns the instruction class.
func (op OpCode) Class() Class { return Class(op & 0x07) }

// Size returns the access width of a load or store.
func (op OpCode) Size() Size { return Size(op & 0x18) }

// Mode returns the addressing mode of a load or store.
func (op OpCode) Mode() Mode { return Mode(op & 0xe0) }

// Source returns BPF_K or BPF_X of an ALU or jump opcode.
func (op OpCode) Source() Source { return Source(op & 0x08) }

// ALUOp returns the ALU operation (without the signed/movsx variant, which
// lives in the offset field).
func (op OpCode) ALUOp() ALUOp { return ALUOp(op & 0xf0) }

// JumpOp returns the jump operation.
func (op OpCode) JumpOp() JumpOp { return JumpOp(op & 0xf0) }

// IsLoadImm64 reports whether op is ld_imm64, the only two-slot instruction.
func (op OpCode) IsLoadImm64() bool { return op == OpCode(LdClass)|OpCode(ImmMode)|OpCode(DWord) }

func (op OpCode) String() string {
	c := op.Class()
	switch {
	case c.IsALU():
		return fmt.Sprintf("%s%s%s", c, op.ALUOp(), srcSuffix(op.Source()))
	case c.IsJump():
		return fmt.Sprintf("%s%s%s", c, op.JumpOp(), srcSuffix(op.Source()))
	default:
		return fmt.Sprintf("%s%s%s", c, op.Mode(), op.Size())
	}
}

func srcSuffix(s Source) string {
	if s == RegSource {
		return "X"
	}
	return "K"
}
