package asm

import (
	"encoding/binary"
	"testing"
)

func BenchmarkEncode(b *testing.B) {
	p := allBuilders()
	buf := make([]byte, 0, p.Slots()*InstructionSize)
	b.ReportAllocs()
	b.SetBytes(int64(p.Slots() * InstructionSize))
	for b.Loop() {
		var err error
		buf, err = p.AppendEncoded(buf[:0], binary.LittleEndian)
		if err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	enc, _ := allBuilders().Encode(binary.LittleEndian)
	b.ReportAllocs()
	b.SetBytes(int64(len(enc)))
	for b.Loop() {
		if _, err := Decode(enc, binary.LittleEndian); err != nil {
			b.Fatal(err)
		}
	}
}
