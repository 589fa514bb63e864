package asm

import "fmt"

// AtomicOp is the immediate of a BPF_STX|BPF_ATOMIC instruction: an ALU
// operation, optionally with BPF_FETCH (0x01) to return the old value in the
// source register. AtomicAdd without fetch is the original BPF_XADD (4.x);
// the others arrived in 5.12.
type AtomicOp uint32

// Atomic operations.
const (
	AtomicAdd      AtomicOp = 0x00
	AtomicOr       AtomicOp = 0x40
	AtomicAnd      AtomicOp = 0x50
	AtomicXor      AtomicOp = 0xa0
	fetch          AtomicOp = 0x01
	AtomicFetchAdd          = AtomicAdd | fetch
	AtomicFetchOr           = AtomicOr | fetch
	AtomicFetchAnd          = AtomicAnd | fetch
	AtomicFetchXor          = AtomicXor | fetch
	AtomicXchg     AtomicOp = 0xe0 | fetch // BPF_XCHG
	AtomicCmpXchg  AtomicOp = 0xf0 | fetch // BPF_CMPXCHG: compares with R0, old value to R0
)

func (op AtomicOp) String() string {
	switch op {
	case AtomicAdd:
		return "AtomicAdd"
	case AtomicOr:
		return "AtomicOr"
	case AtomicAnd:
		return "AtomicAnd"
	case AtomicXor:
		return "AtomicXor"
	case AtomicFetchAdd:
		return "AtomicFetchAdd"
	case AtomicFetchOr:
		return "AtomicFetchOr"
	case AtomicFetchAnd:
		return "AtomicFetchAnd"
	case AtomicFetchXor:
		return "AtomicFetchXor"
	case AtomicXchg:
		return "AtomicXchg"
	case AtomicCmpXchg:
		return "AtomicCmpXchg"
	}
	return fmt.Sprintf("AtomicOp(%#x)", uint32(op))
}

// Mem is the atomic operation on *(size *)(dst + off) with src. size is Word
// or DWord.
func (op AtomicOp) Mem(dst Register, off int16, src Register, size Size) Instruction {
	return Instruction{OpCode: OpCode(StXClass) | OpCode(AtomicMode) | OpCode(size), Dst: dst, Src: src, Offset: off, Constant: int64(op)}
}
