package asm

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
)

// InstructionSize is the size of one encoded slot (struct bpf_insn).
const InstructionSize = 8

// ErrUnresolved is returned when encoding an instruction whose label or map
// reference has not been resolved.
var ErrUnresolved = errors.New("unresolved reference")

// regByte packs dst and src into the second byte. The kernel declares them
// as bitfields "dst_reg:4, src_reg:4", which a big-endian compiler lays out
// from the most significant bit: the nibbles swap with the byte order.
func regByte(dst, src Register, bo binary.ByteOrder) byte {
	if bo == binary.BigEndian {
		return byte(dst)<<4 | byte(src)&0x0f
	}
	return byte(src)<<4 | byte(dst)&0x0f
}

func splitRegs(b byte, bo binary.ByteOrder) (dst, src Register) {
	if bo == binary.BigEndian {
		return Register(b >> 4), Register(b & 0x0f)
	}
	return Register(b & 0x0f), Register(b >> 4)
}

// AppendEncoded appends the kernel encoding of insns in byte order bo.
// It allocates nothing when buf has room.
func (insns Instructions) AppendEncoded(buf []byte, bo binary.ByteOrder) ([]byte, error) {
	for i := range insns {
		ins := &insns[i]
		if ins.Reference != "" {
			return buf, fmt.Errorf("instruction %d: %w %q", i, ErrUnresolved, ins.Reference)
		}
		n := len(buf)
		size := ins.Slots() * InstructionSize
		buf = slices.Grow(buf, size)[:n+size]
		s := buf[n:]
		clear(s)
		s[0] = byte(ins.OpCode)
		s[1] = regByte(ins.Dst, ins.Src, bo)
		bo.PutUint16(s[2:], uint16(ins.Offset))
		bo.PutUint32(s[4:], uint32(ins.Constant))
		if size > InstructionSize {
			// The second slot of ld_imm64 carries only the upper half.
			bo.PutUint32(s[12:], uint32(uint64(ins.Constant)>>32))
		}
	}
	return buf, nil
}

// Encode returns the kernel encoding of insns in byte order bo.
func (insns Instructions) Encode(bo binary.ByteOrder) ([]byte, error) {
	return insns.AppendEncoded(make([]byte, 0, insns.Slots()*InstructionSize), bo)
}

// DecodeError says which slot of an encoded program is malformed.
type DecodeError struct {
	Slot int
	Msg  string
}

func (e *DecodeError) Error() string { return fmt.Sprintf("bpf instruction %d: %s", e.Slot, e.Msg) }

// Decode parses an encoded program in byte order bo. It rejects a length that
// is not a multiple of 8 and an ld_imm64 whose second slot is missing or has
// non-zero reserved fields (the kernel rejects those too), so that
// Encode(Decode(b)) == b whenever Decode succeeds.
func Decode(b []byte, bo binary.ByteOrder) (Instructions, error) {
	if len(b)%InstructionSize != 0 {
		return nil, &DecodeError{Slot: len(b) / InstructionSize, Msg: fmt.Sprintf("length %d is not a multiple of %d", len(b), InstructionSize)}
	}
	insns := make(Instructions, 0, len(b)/InstructionSize)
	for slot := 0; slot*InstructionSize < len(b); slot++ {
		s := b[slot*InstructionSize:]
		dst, src := splitRegs(s[1], bo)
		ins := Instruction{
			OpCode:   OpCode(s[0]),
			Dst:      dst,
			Src:      src,
			Offset:   int16(bo.Uint16(s[2:])),
			Constant: int64(int32(bo.Uint32(s[4:]))),
		}
		if ins.OpCode.IsLoadImm64() {
			if (slot+2)*InstructionSize > len(b) {
				return nil, &DecodeError{Slot: slot, Msg: "ld_imm64 without its second slot"}
			}
			hi := b[(slot+1)*InstructionSize:]
			if hi[0] != 0 || hi[1] != 0 || hi[2] != 0 || hi[3] != 0 {
				return nil, &DecodeError{Slot: slot + 1, Msg: "ld_imm64 second slot has non-zero code, registers or offset"}
			}
			ins.Constant = int64(uint64(bo.Uint32(hi[4:]))<<32 | uint64(bo.Uint32(s[4:])))
			slot++
		}
		insns = append(insns, ins)
	}
	return insns, nil
}
