package asm

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

// Each builder against the bytes the kernel's ISA document
// (Documentation/bpf/standardization/instruction-set.rst) prescribes, written
// out by hand in little-endian order: opcode, src<<4|dst, off (2), imm (4).
var builderCases = []struct {
	name string
	ins  Instruction
	hex  string
}{
	{"mov64 imm", Mov.Imm(R0, 0), "b700000000000000"},
	{"mov64 imm -1", Mov.Imm(R3, -1), "b7030000ffffffff"},
	{"mov64 reg", Mov.Reg(R6, R1), "bf16000000000000"},
	{"mov32 imm", Mov.Imm32(R1, 7), "b401000007000000"},
	{"mov32 reg", Mov.Reg32(R1, R2), "bc21000000000000"},
	{"add64 reg", Add.Reg(R1, R2), "0f21000000000000"},
	{"add64 imm", Add.Imm(R2, -8), "07020000f8ffffff"},
	{"sub32 imm", Sub.Imm32(R4, 3), "1404000003000000"},
	{"mul64 imm", Mul.Imm(R1, 10), "270100000a000000"},
	{"div64 reg", Div.Reg(R1, R2), "3f21000000000000"},
	{"sdiv64 reg", SDiv.Reg(R1, R2), "3f21010000000000"},
	{"sdiv32 imm", SDiv.Imm32(R1, 3), "3401010003000000"},
	{"smod64 imm", SMod.Imm(R1, 3), "9701010003000000"},
	{"mod32 reg", Mod.Reg32(R3, R4), "9c43000000000000"},
	{"or64 imm", Or.Imm(R1, 0x10), "4701000010000000"},
	{"and64 reg", And.Reg(R1, R9), "5f91000000000000"},
	{"lsh64 imm", LSh.Imm(R1, 32), "6701000020000000"},
	{"rsh64 imm", RSh.Imm(R0, 32), "7700000020000000"},
	{"arsh64 imm", ArSh.Imm(R1, 32), "c701000020000000"},
	{"arsh32 reg", ArSh.Reg32(R1, R2), "cc21000000000000"},
	{"xor64 reg", Xor.Reg(R0, R0), "af00000000000000"},
	{"neg64", Neg64(R5), "8705000000000000"},
	{"neg32", Neg32(R5), "8405000000000000"},
	{"movsx8", MovSX8.Reg(R1, R2), "bf21080000000000"},
	{"movsx16", MovSX16.Reg(R1, R2), "bf21100000000000"},
	{"movsx32", MovSX32.Reg(R1, R2), "bf21200000000000"},
	{"movsx32 w", MovSX8.Reg32(R1, R2), "bc21080000000000"},
	{"le16", HostTo(LE, R1, 16), "d401000010000000"},
	{"be32", HostTo(BE, R1, 32), "dc01000020000000"},
	{"be64", HostTo(BE, R1, 64), "dc01000040000000"},
	{"bswap64", BSwap(R1, 64), "d701000040000000"},
	{"ldxdw", LoadMem(R1, R10, -8, DWord), "79a1f8ff00000000"},
	{"ldxw", LoadMem(R0, R1, 4, Word), "6110040000000000"},
	{"ldxh", LoadMem(R0, R1, 2, Half), "6910020000000000"},
	{"ldxb", LoadMem(R0, R1, 1, Byte), "7110010000000000"},
	{"ldxsb", LoadMemSX(R0, R1, 1, Byte), "9110010000000000"},
	{"ldxsh", LoadMemSX(R0, R1, 2, Half), "8910020000000000"},
	{"ldxsw", LoadMemSX(R0, R1, 4, Word), "8110040000000000"},
	{"stxdw", StoreMem(R10, -8, R1, DWord), "7b1af8ff00000000"},
	{"stxw", StoreMem(R10, -4, R1, Word), "631afcff00000000"},
	{"stxh", StoreMem(R10, -2, R1, Half), "6b1afeff00000000"},
	{"stxb", StoreMem(R10, -1, R1, Byte), "731affff00000000"},
	{"stw", StoreImm(R10, -4, 0, Word), "620afcff00000000"},
	{"stdw", StoreImm(R10, -8, 42, DWord), "7a0af8ff2a000000"},
	{"sth", StoreImm(R10, -2, 1, Half), "6a0afeff01000000"},
	{"stb", StoreImm(R10, -1, 1, Byte), "720affff01000000"},
	{"xadd dw", AtomicAdd.Mem(R0, 0, R1, DWord), "db10000000000000"},
	{"xadd w", AtomicAdd.Mem(R0, 8, R1, Word), "c310080000000000"},
	{"atomic or", AtomicOr.Mem(R0, 0, R1, DWord), "db10000040000000"},
	{"atomic and", AtomicAnd.Mem(R0, 0, R1, DWord), "db10000050000000"},
	{"atomic xor", AtomicXor.Mem(R0, 0, R1, DWord), "db100000a0000000"},
	{"fetch add", AtomicFetchAdd.Mem(R0, 0, R1, DWord), "db10000001000000"},
	{"fetch or", AtomicFetchOr.Mem(R0, 0, R1, Word), "c310000041000000"},
	{"fetch and", AtomicFetchAnd.Mem(R0, 0, R1, DWord), "db10000051000000"},
	{"fetch xor", AtomicFetchXor.Mem(R0, 0, R1, DWord), "db100000a1000000"},
	{"xchg", AtomicXchg.Mem(R0, 0, R1, DWord), "db100000e1000000"},
	{"cmpxchg", AtomicCmpXchg.Mem(R0, 0, R1, DWord), "db100000f1000000"},
	{"ld_imm64", LoadImm64(R1, 0x1122334455667788), "1801000088776655" + "0000000044332211"},
	{"ld_imm64 map fd", LoadMapPtr(R1, "m").BindMap(5), "1811000005000000" + "0000000000000000"},
	{"ld_imm64 map value", LoadMapValue(R2, "m", 16).BindMap(5), "1822000005000000" + "0000000010000000"},
	{"ldabs", LoadAbs(12, Half), "280000000c000000"},
	{"ldind", LoadInd(R7, 2, Byte), "5070000002000000"},
	{"call", FnMapLookupElem.Call(), "8500000001000000"},
	{"call pid_tgid", FnGetCurrentPidTgid.Call(), "850000000e000000"},
	{"call perf output", FnPerfEventOutput.Call(), "8500000019000000"},
	{"call ringbuf output", FnRingbufOutput.Call(), "8500000082000000"},
	{"exit", Return(), "9500000000000000"},
}

func TestBuilders(t *testing.T) {
	for _, c := range builderCases {
		got, err := Instructions{c.ins}.Encode(binary.LittleEndian)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if h := hex.EncodeToString(got); h != c.hex {
			t.Errorf("%s: encoded %s, want %s", c.name, h, c.hex)
		}
	}
}

// Jumps get their offsets only from Assemble, so check them as programs.
func TestJumpBuilders(t *testing.T) {
	prog := Instructions{
		JEq.Imm(R1, 0, "out"),               // 0: 15 01 0500 00000000 -> +5
		JNE.Reg(R1, R2, "out"),              // 1: 5d 21 0400
		JGT.Imm32(R1, -1, "out"),            // 2: 26 01 0300 ffffffff
		JSLE.Reg32(R3, R4, "out"),           // 3: de 43 0200
		Ja.Label("out"),                     // 4: 05 00 0100
		JaLong("out"),                       // 5: 06 00 0000 00000000 -> imm 0
		Mov.Imm(R0, 0).WithSymbol("out"),    // 6
		JSet.Imm(R0, 1, "back"),             // 7
		LoadImm64(R0, 1).WithSymbol("back"), // 8,9
		JLT.Imm(R0, 2, "back"),              // 10: -> 8 - 11 = -3
		CallLabel("sub"),                    // 11: 85 10 0000 imm 1 (sub at 13)
		Return(),                            // 12
		Return().WithSymbol("sub"),          // 13
	}
	asm, err := prog.Assemble()
	if err != nil {
		t.Fatal(err)
	}
	got, err := asm.Encode(binary.LittleEndian)
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Join([]string{
		"1501050000000000",
		"5d21040000000000",
		"26010300ffffffff",
		"de43020000000000",
		"0500010000000000",
		"0600000000000000",
		"b700000000000000",
		"4500000001000000",
		"1800000001000000", "0000000000000000",
		"a500fdff02000000",
		"8510000001000000",
		"9500000000000000",
		"9500000000000000",
	}, "")
	if h := hex.EncodeToString(got); h != want {
		t.Fatalf("encoded\n%s\nwant\n%s", h, want)
	}
}

func TestAssembleErrors(t *testing.T) {
	_, err := Instructions{Ja.Label("nowhere"), Return()}.Assemble()
	var ae *AssembleError
	if !errors.Is(err, ErrUndefinedLabel) || !errors.As(err, &ae) || ae.Index != 0 || ae.Label != "nowhere" {
		t.Errorf("undefined label: %v", err)
	}
	_, err = Instructions{Return().WithSymbol("a"), Return().WithSymbol("a")}.Assemble()
	if !errors.Is(err, ErrDuplicateLabel) || !errors.As(err, &ae) || ae.Index != 1 {
		t.Errorf("duplicate label: %v", err)
	}
	far := Instructions{JEq.Imm(R0, 0, "far")}
	for i := 0; i < 1<<15; i++ {
		far = append(far, Mov.Imm(R0, 0))
	}
	far = append(far, Return().WithSymbol("far"))
	if _, err = far.Assemble(); !errors.Is(err, ErrJumpOutOfRange) {
		t.Errorf("out of range: %v", err)
	}
	// 32767 is the last offset that fits.
	near := append(Instructions{JEq.Imm(R0, 0, "near")}, far[1:1<<15]...)
	near = append(near, Return().WithSymbol("near"))
	if a, err := near.Assemble(); err != nil || a[0].Offset != 32767 {
		t.Errorf("offset 32767: %v", err)
	}
	// gotol reaches what JA cannot.
	far[0] = JaLong("far")
	if a, err := far.Assemble(); err != nil || a[0].Constant != 1<<15 {
		t.Errorf("gotol: %v", err)
	}
	if _, err := (Instructions{LoadMapPtr(R1, "m")}).Encode(binary.LittleEndian); !errors.Is(err, ErrUnresolved) {
		t.Errorf("unbound map: %v", err)
	}
}

func allBuilders() Instructions {
	var p Instructions
	for _, c := range builderCases {
		p = append(p, c.ins)
	}
	p = append(p, Instruction{OpCode: OpCode(JumpClass) | OpCode(JEq), Dst: R1, Offset: -3, Constant: 7})
	return p
}

func TestRoundTrip(t *testing.T) {
	p := allBuilders()
	for _, bo := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
		b, err := p.Encode(bo)
		if err != nil {
			t.Fatal(err)
		}
		q, err := Decode(b, bo)
		if err != nil {
			t.Fatal(err)
		}
		if len(q) != len(p) {
			t.Fatalf("%v: %d instructions back, want %d", bo, len(q), len(p))
		}
		for i := range p {
			if q[i] != p[i] {
				t.Errorf("%v: instruction %d: %#v, want %#v", bo, i, q[i], p[i])
			}
		}
	}
}

// On big-endian machines the register nibbles swap with the byte order.
func TestBigEndianLayout(t *testing.T) {
	b, _ := Instructions{LoadMem(R1, R10, -8, DWord)}.Encode(binary.BigEndian)
	if h := hex.EncodeToString(b); h != "791afff800000000" {
		t.Errorf("big-endian ldxdw = %s", h)
	}
	b, _ = Instructions{Mov.Imm(R2, 0x01020304)}.Encode(binary.BigEndian)
	if h := hex.EncodeToString(b); h != "b720000001020304" {
		t.Errorf("big-endian mov = %s", h)
	}
}

func TestDecodeErrors(t *testing.T) {
	if _, err := Decode(make([]byte, 7), binary.LittleEndian); err == nil {
		t.Error("7 bytes decoded")
	}
	half, _ := hex.DecodeString("1801000001000000")
	if _, err := Decode(half, binary.LittleEndian); err == nil {
		t.Error("truncated ld_imm64 decoded")
	}
	bad, _ := hex.DecodeString("18010000010000000100000000000000")
	if _, err := Decode(bad, binary.LittleEndian); err == nil {
		t.Error("ld_imm64 with reserved bits decoded")
	}
}

func FuzzDecode(f *testing.F) {
	seed, _ := allBuilders().Encode(binary.LittleEndian)
	f.Add(seed, false)
	f.Add([]byte{0x18, 0, 0, 0, 0, 0, 0, 0}, true)
	f.Fuzz(func(t *testing.T, b []byte, big bool) {
		var bo binary.ByteOrder = binary.LittleEndian
		if big {
			bo = binary.BigEndian
		}
		insns, err := Decode(b, bo)
		_ = insns.String() // the disassembler must not panic on anything
		if err != nil {
			return
		}
		out, err := insns.Encode(bo)
		if err != nil {
			t.Fatal(err)
		}
		if string(out) != string(b) {
			t.Fatalf("Encode(Decode(%x)) = %x", b, out)
		}
	})
}

func TestHelperTable(t *testing.T) {
	for _, c := range []struct {
		fn   BuiltinFunc
		id   int
		name string
	}{
		{FnMapLookupElem, 1, "bpf_map_lookup_elem"},
		{FnProbeRead, 4, "bpf_probe_read"},
		{FnGetCurrentPidTgid, 14, "bpf_get_current_pid_tgid"},
		{FnPerfEventOutput, 25, "bpf_perf_event_output"},
		{FnGetStackid, 27, "bpf_get_stackid"},
		{FnProbeReadStr, 45, "bpf_probe_read_str"},
		{FnProbeReadUser, 112, "bpf_probe_read_user"},
		{FnProbeReadKernel, 113, "bpf_probe_read_kernel"},
		{FnRingbufOutput, 130, "bpf_ringbuf_output"},
		{FnRingbufSubmit, 132, "bpf_ringbuf_submit"},
		{FnUserRingbufDrain, 209, "bpf_user_ringbuf_drain"},
		{FnCgrpStorageDelete, 211, "bpf_cgrp_storage_delete"},
	} {
		if int(c.fn) != c.id || c.fn.String() != c.name {
			t.Errorf("%s: id %d name %s, want %d", c.name, int(c.fn), c.fn, c.id)
		}
		if fn, ok := BuiltinFuncByName(c.name[4:]); !ok || fn != c.fn {
			t.Errorf("BuiltinFuncByName(%s) = %v", c.name[4:], fn)
		}
	}
	if MaxBuiltinFunc != 212 {
		t.Errorf("MaxBuiltinFunc = %d, want 212 (__BPF_FUNC_MAX_ID)", MaxBuiltinFunc)
	}
}
