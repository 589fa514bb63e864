package asm

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
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
	{"le16", HostTo(LE, R1, 16), "d401000010000000"},
	{"le32", HostTo(LE, R1, 32), "d401000020000000"},
	{"le64", HostTo(LE, R1, 64), "d401000040000000"},
	{"be16", HostTo(BE, R1, 16), "dc01000010000000"},
	{"bswap16", BSwap(R1, 16), "d701000010000000"},
	{"bswap32", BSwap(R1, 32), "d701000020000000"},
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
	{"atomic or w", AtomicOr.Mem(R0, 0, R1, Word), "c310000040000000"},
	{"atomic and w", AtomicAnd.Mem(R0, 0, R1, Word), "c310000050000000"},
	{"atomic xor w", AtomicXor.Mem(R0, 0, R1, Word), "c3100000a0000000"},
	{"fetch add w", AtomicFetchAdd.Mem(R0, 0, R1, Word), "c310000001000000"},
	{"fetch or dw", AtomicFetchOr.Mem(R0, 0, R1, DWord), "db10000041000000"},
	{"fetch and w", AtomicFetchAnd.Mem(R0, 0, R1, Word), "c310000051000000"},
	{"fetch xor w", AtomicFetchXor.Mem(R0, 0, R1, Word), "c3100000a1000000"},
	{"xchg w", AtomicXchg.Mem(R0, 0, R1, Word), "c3100000e1000000"},
	{"cmpxchg w", AtomicCmpXchg.Mem(R2, -8, R1, Word), "c312f8fff1000000"},
	{"ld_imm64", LoadImm64(R1, 0x1122334455667788), "1801000088776655" + "0000000044332211"},
	{"ld_imm64 map fd", LoadMapPtr(R1, "m").BindMap(5), "1811000005000000" + "0000000000000000"},
	{"ld_imm64 map value", LoadMapValue(R2, "m", 16).BindMap(5), "1822000005000000" + "0000000010000000"},
	{"ldabs", LoadAbs(12, Half), "280000000c000000"},
	{"ldind", LoadInd(R7, 2, Byte), "5070000002000000"},
	{"ldabs w", LoadAbs(-4, Word), "20000000fcffffff"},
	{"ldabs b", LoadAbs(23, Byte), "3000000017000000"},
	{"ldind w", LoadInd(R7, 0, Word), "4070000000000000"},
	{"ldind h", LoadInd(R8, 14, Half), "488000000e000000"},
	{"call", FnMapLookupElem.Call(), "8500000001000000"},
	{"call pid_tgid", FnGetCurrentPidTgid.Call(), "850000000e000000"},
	{"call perf output", FnPerfEventOutput.Call(), "8500000019000000"},
	{"call ringbuf output", FnRingbufOutput.Call(), "8500000082000000"},
	{"exit", Return(), "9500000000000000"},
}

// Every ALU operation in each of its forms, written out from the ISA
// document's tables (opcode = operation | source | class, with BPF_ALU64 7,
// BPF_ALU 4, BPF_K 0, BPF_X 8; the signed and sign-extending variants put
// 1 or 8/16/32 in the offset): dst R1, src R2, imm -3. An empty string is a
// form the ISA does not have (movsx takes a register; ALU32 movsx has no
// 32-bit source width).
var aluMatrix = []struct {
	op                     ALUOp
	imm, reg, imm32, reg32 string
}{
	{Add, "07010000fdffffff", "0f21000000000000", "04010000fdffffff", "0c21000000000000"},
	{Sub, "17010000fdffffff", "1f21000000000000", "14010000fdffffff", "1c21000000000000"},
	{Mul, "27010000fdffffff", "2f21000000000000", "24010000fdffffff", "2c21000000000000"},
	{Div, "37010000fdffffff", "3f21000000000000", "34010000fdffffff", "3c21000000000000"},
	{SDiv, "37010100fdffffff", "3f21010000000000", "34010100fdffffff", "3c21010000000000"},
	{Or, "47010000fdffffff", "4f21000000000000", "44010000fdffffff", "4c21000000000000"},
	{And, "57010000fdffffff", "5f21000000000000", "54010000fdffffff", "5c21000000000000"},
	{LSh, "67010000fdffffff", "6f21000000000000", "64010000fdffffff", "6c21000000000000"},
	{RSh, "77010000fdffffff", "7f21000000000000", "74010000fdffffff", "7c21000000000000"},
	{Mod, "97010000fdffffff", "9f21000000000000", "94010000fdffffff", "9c21000000000000"},
	{SMod, "97010100fdffffff", "9f21010000000000", "94010100fdffffff", "9c21010000000000"},
	{Xor, "a7010000fdffffff", "af21000000000000", "a4010000fdffffff", "ac21000000000000"},
	{Mov, "b7010000fdffffff", "bf21000000000000", "b4010000fdffffff", "bc21000000000000"},
	{ArSh, "c7010000fdffffff", "cf21000000000000", "c4010000fdffffff", "cc21000000000000"},
	{MovSX8, "", "bf21080000000000", "", "bc21080000000000"},
	{MovSX16, "", "bf21100000000000", "", "bc21100000000000"},
	{MovSX32, "", "bf21200000000000", "", ""},
}

// Every conditional jump in each of its forms (BPF_JMP 5, BPF_JMP32 6), as
// aluMatrix: dst R1, src R2, imm -3, and a target one instruction ahead
// (offset +1).
var jumpMatrix = []struct {
	op                     JumpOp
	imm, reg, imm32, reg32 string
}{
	{JEq, "15010100fdffffff", "1d21010000000000", "16010100fdffffff", "1e21010000000000"},
	{JGT, "25010100fdffffff", "2d21010000000000", "26010100fdffffff", "2e21010000000000"},
	{JGE, "35010100fdffffff", "3d21010000000000", "36010100fdffffff", "3e21010000000000"},
	{JSet, "45010100fdffffff", "4d21010000000000", "46010100fdffffff", "4e21010000000000"},
	{JNE, "55010100fdffffff", "5d21010000000000", "56010100fdffffff", "5e21010000000000"},
	{JSGT, "65010100fdffffff", "6d21010000000000", "66010100fdffffff", "6e21010000000000"},
	{JSGE, "75010100fdffffff", "7d21010000000000", "76010100fdffffff", "7e21010000000000"},
	{JLT, "a5010100fdffffff", "ad21010000000000", "a6010100fdffffff", "ae21010000000000"},
	{JLE, "b5010100fdffffff", "bd21010000000000", "b6010100fdffffff", "be21010000000000"},
	{JSLT, "c5010100fdffffff", "cd21010000000000", "c6010100fdffffff", "ce21010000000000"},
	{JSLE, "d5010100fdffffff", "dd21010000000000", "d6010100fdffffff", "de21010000000000"},
}

type matrixCase struct {
	name string
	ins  Instruction
	hex  string
}

func aluMatrixCases() []matrixCase {
	var cs []matrixCase
	for _, r := range aluMatrix {
		for _, f := range []struct {
			form, hex string
			ins       Instruction
		}{
			{"imm", r.imm, r.op.Imm(R1, -3)},
			{"reg", r.reg, r.op.Reg(R1, R2)},
			{"imm32", r.imm32, r.op.Imm32(R1, -3)},
			{"reg32", r.reg32, r.op.Reg32(R1, R2)},
		} {
			if f.hex != "" {
				cs = append(cs, matrixCase{r.op.String() + "." + f.form, f.ins, f.hex})
			}
		}
	}
	return cs
}

func jumpMatrixCases() []matrixCase {
	var cs []matrixCase
	for _, r := range jumpMatrix {
		cs = append(cs,
			matrixCase{r.op.String() + ".imm", r.op.Imm(R1, -3, "t"), r.imm},
			matrixCase{r.op.String() + ".reg", r.op.Reg(R1, R2, "t"), r.reg},
			matrixCase{r.op.String() + ".imm32", r.op.Imm32(R1, -3, "t"), r.imm32},
			matrixCase{r.op.String() + ".reg32", r.op.Reg32(R1, R2, "t"), r.reg32})
	}
	return cs
}

func TestALUMatrix(t *testing.T) {
	for _, c := range aluMatrixCases() {
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

func TestJumpMatrix(t *testing.T) {
	for _, c := range jumpMatrixCases() {
		a, err := Instructions{c.ins, Mov.Imm(R0, 0), Return().WithSymbol("t")}.Assemble()
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		got, err := a[:1].Encode(binary.LittleEndian)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if h := hex.EncodeToString(got); h != c.hex {
			t.Errorf("%s: encoded %s, want %s", c.name, h, c.hex)
		}
	}
}

// The matrices name every operation the package defines: a new ALUOp or
// JumpOp fails here until its bytes are written down.
func TestMatricesComplete(t *testing.T) {
	inALU := map[ALUOp]bool{}
	for _, r := range aluMatrix {
		inALU[r.op] = true
	}
	for op := range aluNames {
		switch op {
		case Neg, Swap: // one form each: Neg64/Neg32, HostTo/BSwap in builderCases
			continue
		}
		if !inALU[op] {
			t.Errorf("ALU operation %v has no row in aluMatrix", op)
		}
	}
	inJump := map[JumpOp]bool{}
	for _, r := range jumpMatrix {
		inJump[r.op] = true
	}
	for i, name := range jumpNames {
		op := JumpOp(i << 4)
		switch op {
		case Ja, Call, Exit: // TestJumpBuilders and builderCases
			continue
		}
		if name != "" && !inJump[op] {
			t.Errorf("jump %v has no row in jumpMatrix", op)
		}
	}
	// Each width of each memory and byte-swap builder appears in builderCases.
	seen := map[OpCode]map[int64]bool{}
	for _, c := range builderCases {
		if seen[c.ins.OpCode] == nil {
			seen[c.ins.OpCode] = map[int64]bool{}
		}
		seen[c.ins.OpCode][c.ins.Constant] = true
	}
	has := func(what string, ins Instruction, byImm bool) {
		t.Helper()
		m := seen[ins.OpCode]
		if m == nil || byImm && !m[ins.Constant] {
			t.Errorf("%s (opcode %#02x) has no case in builderCases", what, uint8(ins.OpCode))
		}
	}
	for _, sz := range []Size{Byte, Half, Word, DWord} {
		has("LoadMem "+sz.String(), LoadMem(R0, R1, 0, sz), false)
		has("StoreMem "+sz.String(), StoreMem(R0, 0, R1, sz), false)
		has("StoreImm "+sz.String(), StoreImm(R0, 0, 0, sz), false)
		if sz != DWord {
			has("LoadMemSX "+sz.String(), LoadMemSX(R0, R1, 0, sz), false)
			has("LoadAbs "+sz.String(), LoadAbs(0, sz), false)
			has("LoadInd "+sz.String(), LoadInd(R1, 0, sz), false)
		}
	}
	for _, bits := range []int32{16, 32, 64} {
		has("HostTo(LE) "+fmt.Sprint(bits), HostTo(LE, R1, bits), true)
		has("HostTo(BE) "+fmt.Sprint(bits), HostTo(BE, R1, bits), true)
		has("BSwap "+fmt.Sprint(bits), BSwap(R1, bits), true)
	}
	for _, op := range []AtomicOp{AtomicAdd, AtomicOr, AtomicAnd, AtomicXor, AtomicFetchAdd, AtomicFetchOr, AtomicFetchAnd, AtomicFetchXor, AtomicXchg, AtomicCmpXchg} {
		for _, sz := range []Size{Word, DWord} {
			has(op.String()+" "+sz.String(), op.Mem(R0, 0, R1, sz), true)
		}
	}
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
	for _, c := range aluMatrixCases() {
		p = append(p, c.ins)
	}
	for _, c := range jumpMatrixCases() {
		c.ins.Reference, c.ins.Offset = "", 1
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
