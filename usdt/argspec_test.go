package usdt

import (
	"debug/elf"
	"strings"
	"testing"

	"github.com/tracelet/tracelet/kprobeevents"
)

var (
	x86   = kprobeevents.ArchX86_64
	i386  = kprobeevents.ArchI386
	arm64 = kprobeevents.ArchARM64
	arm   = kprobeevents.ArchARM
	rv64  = kprobeevents.ArchRISCV64
)

// argCases pairs an argument as compilers write it with the fetcharg it
// must become, or with a piece of the error when it cannot be fetched.
var argCases = []struct {
	arch  kprobeevents.Arch
	spec  string
	fetch string // "" when an error is wanted
	err   string
}{
	// x86_64: every width of a register is its pt_regs field.
	{x86, "-4@%edi", "%di:s32", ""},
	{x86, "8@%rdi", "%di:u64", ""},
	{x86, "2@%ax", "%ax:u16", ""},
	{x86, "-1@%al", "%ax:s8", ""},
	{x86, "1@%sil", "%si:u8", ""},
	{x86, "-8@%r12", "%r12:s64", ""},
	{x86, "4@%r9d", "%r9:u32", ""},
	{x86, "2@%r10w", "%r10:u16", ""},
	{x86, "1@%r15b", "%r15:u8", ""},
	{x86, "8@%rbp", "%bp:u64", ""},
	{x86, "8@%rsp", "%sp:u64", ""},
	{x86, "8@-16(%rbp)", "-16(%bp):u64", ""},
	{x86, "-4@112(%rsp)", "+112(%sp):s32", ""},
	{x86, "8@(%rax)", "+0(%ax):u64", ""},
	{x86, "8@0x10(%rbx)", "+16(%bx):u64", ""},
	{x86, "-8@$42", `\42:s64`, ""},
	{x86, "-4@$-7", `\-7:s32`, ""},
	{x86, "8@$0xffffffffffffffff", `\-1:u64`, ""},
	{x86, "1@$300", `\44:u8`, ""},
	{x86, "-1@$255", `\-1:s8`, ""},
	{x86, "4@$0xffffffff", `\4294967295:u32`, ""},
	{x86, "%rdi", "%di:u64", ""}, // version-1 note: no size
	{x86, "-4@%ah", "", "bits 8-15"},
	{x86, "8@%xmm0", "", "not a general-purpose register"},
	{x86, "8@8(%rax,%rbx,4)", "", "indexed addressing"},
	{x86, "8@%fs:8", "", "segment-relative"},
	{x86, "8@16(%rip)", "", "relative to an instruction"},
	{x86, "8@%rip", "", "probe's own address"},
	{x86, "8@sym(%rip)", "", "read the probe from its file"},
	{x86, "8@0x601040", "", "absolute address"},
	{x86, "3@%rax", "", "size 3"},
	{x86, "x@%rax", "", "not a number"},
	{x86, "8@", "", "no operand"},
	{x86, "8@%foo", "", "unknown register"},
	// i386: the same syntax with the i386 table.
	{i386, "-4@%eax", "%ax:s32", ""},
	{i386, "4@8(%ebp)", "+8(%bp):u32", ""},
	{i386, "4@%rax", "", "does not exist on i386"},
	{i386, "4@%r8d", "", "does not exist on i386"},
	// arm64
	{arm64, "-4@x0", "%x0:s32", ""},
	{arm64, "-4@w2", "%x2:s32", ""},
	{arm64, "8@x30", "%x30:u64", ""},
	{arm64, "8@lr", "%x30:u64", ""},
	{arm64, "8@sp", "%sp:u64", ""},
	{arm64, "8@[sp, 16]", "+16(%sp):u64", ""},
	{arm64, "8@[sp,#16]", "+16(%sp):u64", ""},
	{arm64, "-4@[x29, -20]", "-20(%x29):s32", ""},
	{arm64, "8@[x1]", "+0(%x1):u64", ""},
	{arm64, "-4@5", `\5:s32`, ""},
	{arm64, "-4@#-5", `\-5:s32`, ""},
	{arm64, "8@[x1, x2]", "", "two registers"},
	{arm64, "8@[x1, 8, lsl 2]", "", "shifted"},
	{arm64, "8@d0", "", "SIMD/FP"},
	{arm64, "8@x31", "", "unknown register"},
	{arm64, "8@xzr", "", "zero register"},
	{arm64, "8@[x1", "", "not closed"},
	// arm (32-bit)
	{arm, "-4@r0", "%r0:s32", ""},
	{arm, "4@r11", "%fp:u32", ""},
	{arm, "4@fp", "%fp:u32", ""},
	{arm, "4@r13", "%sp:u32", ""},
	{arm, "-4@[fp, #-8]", "-8(%fp):s32", ""},
	{arm, "4@[r3]", "+0(%r3):u32", ""},
	{arm, "4@[sp, #16]", "+16(%sp):u32", ""},
	{arm, "4@#5", `\5:u32`, ""},
	{arm, "-4@#-5", `\-5:s32`, ""},
	{arm, "4@[r1, r2]", "", "two registers"},
	{arm, "8@#0x100000000", "", "32-bit immediate"},
	{arm, "4@#0x100000000", `\0:u32`, ""},
	{arm, "4@r16", "", "unknown register"},
	// riscv64
	{rv64, "-4@a0", "%a0:s32", ""},
	{rv64, "8@x10", "%a0:u64", ""},
	{rv64, "8@-16(s0)", "-16(%s0):u64", ""},
	{rv64, "-8@-8(fp)", "-8(%s0):s64", ""},
	{rv64, "8@(sp)", "+0(%sp):u64", ""},
	{rv64, "8@24(sp)", "+24(%sp):u64", ""},
	{rv64, "-4@42", `\42:s32`, ""},
	{rv64, "4@zero", `\0:u32`, ""},
	{rv64, "8@ra", "%ra:u64", ""},
	{rv64, "8@fa0", "", "floating-point"},
	{rv64, "8@8(zero)", "", "absolute address"},
	{rv64, "8@8(a0", "", "not closed"},
	// no parser
	{kprobeevents.ArchPPC64, "8@%r3", "", "not supported"},
}

func TestParseArg(t *testing.T) {
	for _, c := range argCases {
		a, err := ParseArg(c.arch, c.spec)
		if c.fetch == "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%v %q: error %v, want one containing %q (got %s)", c.arch, c.spec, err, c.err, a.Fetcharg())
			}
			continue
		}
		if err != nil {
			t.Errorf("%v %q: %v", c.arch, c.spec, err)
			continue
		}
		if got := a.Fetcharg(); got != c.fetch {
			t.Errorf("%v %q: fetcharg %q, want %q", c.arch, c.spec, got, c.fetch)
		}
		// The kernel's grammar, as kprobeevents checks it, must take
		// every fetcharg we produce, registers included.
		def := "p:g/e /bin/x:0x10 a=" + a.Fetcharg()
		if _, err := kprobeevents.ParseProbe(def, kprobeevents.Options{Arch: c.arch}); err != nil {
			t.Errorf("%v %q: kprobeevents rejects %q: %v", c.arch, c.spec, def, err)
		}
	}
}

func TestParseArgs(t *testing.T) {
	args, err := ParseArgs(arm64, "-4@x0 8@[sp, 16]  -8@[x29, -8] 4@7")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range args {
		got = append(got, a.Fetcharg())
	}
	want := `%x0:s32 +16(%sp):u64 -8(%x29):s64 \7:u32`
	if strings.Join(got, " ") != want {
		t.Errorf("got %q, want %q", strings.Join(got, " "), want)
	}
	if args, err := ParseArgs(x86, ""); err != nil || len(args) != 0 {
		t.Errorf("empty argument string: %v, %v", args, err)
	}
	_, err = ParseArgs(x86, "8@%rdi 8@%xmm1")
	if err == nil || !strings.Contains(err.Error(), "arg 2") {
		t.Errorf("error %v, want it to name arg 2", err)
	}
	if _, err := ParseArgs(x86, strings.Repeat("8@%rax ", 13)); err == nil {
		t.Error("13 arguments accepted")
	}
	if _, err := ParseArgs(arm64, "8@[sp, 16]]"); err == nil {
		t.Error("unbalanced ']' accepted")
	}
}

func TestArgKinds(t *testing.T) {
	a, _ := ParseArg(x86, "-4@-20(%rbp)")
	if a.Kind != KindMemory || a.Reg != "bp" || a.Offset != -20 || a.Size != 4 || !a.Signed {
		t.Errorf("%+v", a)
	}
	if a.String() != "s32 -20(%bp)" {
		t.Errorf("String() = %q", a.String())
	}
	for k := KindInvalid; k <= KindStatic+1; k++ {
		if k.String() == "" {
			t.Errorf("Kind(%d) has no name", k)
		}
	}
}

// TestSymbolOperands: sym(%rip) is a static at a fixed distance from the
// probe; sym(%reg) is a memory fetch at an absolute displacement, only in a
// file that is not relocated.
func TestSymbolOperands(t *testing.T) {
	syms := map[string]elf.Symbol{"counter": {Name: "counter", Value: 0x4010}, "table": {Name: "table", Value: 0x601000}}
	lookup := func(n string) (elf.Symbol, bool) { s, ok := syms[n]; return s, ok }
	exec := &symbolResolver{lookup: lookup, bias: 0x1000}
	pie := &symbolResolver{lookup: lookup, bias: 0x1000, pie: true}
	for _, c := range []struct {
		sr    *symbolResolver
		spec  string
		fetch string
		err   string
	}{
		{pie, "8@counter(%rip)", "@+0x3010:u64", ""},
		{pie, "-4@counter+8(%rip)", "@+0x3018:s32", ""},
		{pie, "-4@counter-8(%rip)", "@+0x3008:s32", ""},
		{exec, "8@table(%rbx)", "+6295552(%bx):u64", ""},
		{exec, "8@table+16(%rbx)", "+6295568(%bx):u64", ""},
		{pie, "8@table(%rbx)", "", "position-independent"},
		{pie, "8@nosuch(%rip)", "", "not in the file's symbol tables"},
		{pie, "8@1x(%rip)", "", "not a number"},
	} {
		a, err := parseArg(x86, c.spec, c.sr)
		if c.fetch == "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: error %v, want %q", c.spec, err, c.err)
			}
			continue
		}
		if err != nil || a.Fetcharg() != c.fetch {
			t.Errorf("%q: %q, %v; want %q", c.spec, a.Fetcharg(), err, c.fetch)
		}
	}
}
