package asm

import (
	"strings"
	"testing"
)

// Expected text written from print_bpf_insn in kernel/bpf/disasm.c (the
// live comparison with bpftool, testenv.CheckBpftool, runs on every program
// the bpf, script and tools tests load).
func TestDisassembler(t *testing.T) {
	cases := []struct {
		ins  Instruction
		want string
	}{
		{Mov.Imm(R0, 0), "(b7) r0 = 0"},
		{Mov.Imm32(R1, -3), "(b4) w1 = -3"},
		{Mov.Reg(R6, R1), "(bf) r6 = r1"},
		{Add.Imm(R2, -8), "(07) r2 += -8"},
		{Sub.Reg32(R1, R2), "(1c) w1 -= w2"},
		{SDiv.Reg(R1, R2), "(3f) r1 s/= r2"},
		{SMod.Imm32(R1, 3), "(94) w1 s%= 3"},
		{MovSX8.Reg(R1, R2), "(bf) r1 = (s8)r2"},
		{MovSX32.Reg(R1, R2), "(bf) r1 = (s32)r2"},
		{ArSh.Imm(R1, 3), "(c7) r1 s>>= 3"},
		{Neg64(R1), "(87) r1 = -r1"},
		{Neg32(R1), "(84) w1 = -w1"},
		{HostTo(BE, R1, 16), "(dc) r1 = be16 r1"},
		{HostTo(LE, R1, 64), "(d4) r1 = le64 r1"},
		{BSwap(R1, 32), "(d7) r1 = bswap32 r1"},
		{LoadMem(R1, R10, -8, DWord), "(79) r1 = *(u64 *)(r10 -8)"},
		{LoadMem(R1, R6, 112, DWord), "(79) r1 = *(u64 *)(r6 +112)"},
		{LoadMemSX(R1, R6, 0, Half), "(89) r1 = *(s16 *)(r6 +0)"},
		{StoreMem(R10, -4, R1, Word), "(63) *(u32 *)(r10 -4) = r1"},
		{StoreImm(R10, -4, 0, Word), "(62) *(u32 *)(r10 -4) = 0"},
		{AtomicAdd.Mem(R0, 0, R1, DWord), "(db) lock *(u64 *)(r0 +0) += r1"},
		{AtomicOr.Mem(R0, 0, R1, Word), "(c3) lock *(u32 *)(r0 +0) |= r1"},
		{AtomicFetchAdd.Mem(R0, 8, R1, DWord), "(db) r1 = atomic64_fetch_add((u64 *)(r0 +8), r1)"},
		{AtomicFetchXor.Mem(R0, 8, R1, Word), "(c3) r1 = atomic_fetch_xor((u32 *)(r0 +8), r1)"},
		{AtomicXchg.Mem(R0, 0, R2, DWord), "(db) r2 = atomic64_xchg((u64 *)(r0 +0), r2)"},
		{AtomicCmpXchg.Mem(R0, 0, R2, DWord), "(db) r0 = atomic64_cmpxchg((u64 *)(r0 +0), r0, r2)"},
		{LoadImm64(R1, 0x1234), "(18) r1 = 0x1234"},
		{LoadImm64(R1, -1), "(18) r1 = 0xffffffffffffffff"},
		{LoadMapPtr(R1, "counts").BindMap(7), "(18) r1 = map[id:7]"},
		{LoadMapValue(R1, "g", 8).BindMap(7), "(18) r1 = map[id:7][0]+8"},
		{LoadMapPtr(R1, "counts"), "(18) r1 = map[name:counts]"},
		{LoadAbs(12, Half), "(28) r0 = *(u16 *)skb[12]"},
		{LoadInd(R7, 2, Byte), "(50) r0 = *(u8 *)skb[r7 + 2]"},
		{FnMapLookupElem.Call(), "(85) call bpf_map_lookup_elem#1"},
		{FnGetCurrentPidTgid.Call(), "(85) call bpf_get_current_pid_tgid#14"},
		{Instruction{OpCode: 0x85, Constant: 100000}, "(85) call unknown#100000"},
		{Instruction{OpCode: 0x85, Src: PseudoCall, Constant: 5}, "(85) call pc+5"},
		{Return(), "(95) exit"},
		{Instruction{OpCode: 0x05, Offset: 2}, "(05) goto pc+2"},
		{Instruction{OpCode: 0x06, Constant: -70000}, "(06) gotol pc-70000"},
		{Instruction{OpCode: 0x15, Dst: R0, Offset: 3}, "(15) if r0 == 0x0 goto pc+3"},
		{Instruction{OpCode: 0x55, Dst: R0, Offset: -3, Constant: -1}, "(55) if r0 != 0xffffffff goto pc-3"},
		{Instruction{OpCode: 0x2d, Dst: R1, Src: R2, Offset: 1}, "(2d) if r1 > r2 goto pc+1"},
		{Instruction{OpCode: 0xc6, Dst: R1, Offset: 1, Constant: 5}, "(c6) if w1 s< 0x5 goto pc+1"},
		{Instruction{OpCode: 0x7e, Dst: R1, Src: R2, Offset: 1}, "(7e) if w1 s>= w2 goto pc+1"},
		{Instruction{OpCode: 0x4d, Dst: R1, Src: R2, Offset: 1}, "(4d) if r1 & r2 goto pc+1"},
		{Instruction{OpCode: 0xc2}, "(c2) nospec"},
		{Instruction{OpCode: 0xe5, Offset: 4}, "(e5) may_goto pc+4"},
		{Instruction{OpCode: 0x61 | 0xe0}, "BUG_ldx_e1"},
	}
	for _, c := range cases {
		if got := c.ins.String(); got != c.want {
			t.Errorf("%#v:\n got %q\nwant %q", c.ins, got, c.want)
		}
	}
}

func TestListingNumbersSlots(t *testing.T) {
	p := Instructions{LoadImm64(R1, 1), Mov.Imm(R0, 0), Return()}
	want := "   0: (18) r1 = 0x1\n   2: (b7) r0 = 0\n   3: (95) exit\n"
	if got := p.String(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	var b strings.Builder
	p.Format(&b, &FormatOptions{Imm64: func(Instruction) string { return "X" }})
	if !strings.HasPrefix(b.String(), "   0: (18) r1 = X\n") {
		t.Errorf("Imm64 hook ignored: %s", b.String())
	}
}

func TestLegacyDisassembler(t *testing.T) {
	legacy := &FormatOptions{Legacy: true}
	cases := []struct {
		ins  Instruction
		want string
	}{
		{Instruction{OpCode: 0xbf, Dst: R0, Src: R0, Offset: -1}, "(bf) r0 = r0"},
		{MovSX8.Reg(R1, R2), "(bf) r1 = r2"},
		{SDiv.Reg(R1, R2), "(3f) r1 /= r2"},
		{BSwap(R1, 16), "BUG_alu64_d7"},
		{LoadMemSX(R1, R2, 0, Byte), "BUG_ldx_91"},
		{Instruction{OpCode: 0x06, Constant: 5}, "(06) if w0 jmp 0x5 goto pc+0"},
		{Mov.Imm(R0, 1), "(b7) r0 = 1"},
		{HostTo(BE, R1, 16), "(dc) r1 = be16 r1"},
		{Neg64(R1), "(87) r1 = -r1"},
	}
	for _, c := range cases {
		var b strings.Builder
		formatInsn(&b, []Instruction{c.ins}, 0, legacy)
		if b.String() != c.want {
			t.Errorf("%#v: got %q, want %q", c.ins, b.String(), c.want)
		}
	}
}
