package asm

import (
	"debug/elf"
	"strings"
	"testing"
)

// TestForELF: 32-bit code on a 64-bit kernel is placed by its own calling
// convention in the kernel's pt_regs, and its stack slots are read as
// dereferences of $stack (the kernel's $stackN counts 8-byte words).
func TestForELF(t *testing.T) {
	x86, arm64 := mustArch("amd64"), mustArch("arm64")
	i386, err := x86.ForELF(elf.ELFCLASS32, elf.EM_386)
	if err != nil {
		t.Fatal(err)
	}
	arm, err := arm64.ForELF(elf.ELFCLASS32, elf.EM_ARM)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		a     *Arch
		sizes []int
		want  string // each argument's fetchargs, low word first
	}{
		// cdecl: f(int, int) has its arguments at sp+4 and sp+8.
		{"i386 on x86_64", i386, []int{4, 4}, "+4($stack) +8($stack)"},
		// A 64-bit argument takes two stack words.
		{"i386 on x86_64", i386, []int{4, 8, 4}, "+4($stack) +8($stack),+12($stack) +16($stack)"},
		// AAPCS: r0-r3 are x0-x3; f(int, long long) leaves r1 unused;
		// the fifth word is at the user's sp, r13.
		{"arm on arm64", arm, []int{4, 8, 4, 4}, "%x0 %x2,%x3 +0($stack) +4($stack)"},
		{"arm on arm64", arm, []int{4, 4, 4, 4, 4, 4}, "%x0 %x1 %x2 %x3 +0($stack) +4($stack)"},
		// The native tables keep $stackN.
		{"native i386", mustArch("386"), []int{4, 4}, "$stack1 $stack2"},
		{"native arm", mustArch("arm"), []int{4, 4, 4, 4, 4}, "%r0 %r1 %r2 %r3 $stack0"},
	} {
		locs, err := c.a.Args(FuncABI, c.sizes...)
		if err != nil {
			t.Errorf("%s %v: %v", c.name, c.sizes, err)
			continue
		}
		var got []string
		for _, arg := range locs {
			var words []string
			for _, l := range arg {
				words = append(words, l.FetchArg())
			}
			got = append(got, strings.Join(words, ","))
		}
		if g := strings.Join(got, " "); g != c.want {
			t.Errorf("%s %v: %s, want %s", c.name, c.sizes, g, c.want)
		}
	}
	// BPF reads the low half of the kernel's 8-byte registers.
	if l, _ := arm.Arg(FuncABI, 1); l.Reg != "x1" || l.Offset != 8 || l.Size != 4 {
		t.Errorf("arm on arm64 arg1 = %+v, want x1 at 8, 4 bytes", l)
	}
	if l := i386.Ret(); l.Reg != "ax" || l.Offset != 80 || l.Size != 4 {
		t.Errorf("i386 on x86_64 ret = %+v, want ax at 80, 4 bytes", l)
	}
	if l := arm.SP(); l.Reg != "x13" || l.Offset != 13*8 {
		t.Errorf("arm on arm64 sp = %+v, want x13 (compat_sp)", l)
	}
	if l := i386.SP(); l.Reg != "sp" || l.Offset != 19*8 {
		t.Errorf("i386 on x86_64 sp = %+v", l)
	}
	if l, _ := i386.Arg(SyscallABI, 0); l.Reg != "bx" || l.Offset != 5*8 {
		t.Errorf("i386 on x86_64 syscall arg0 = %+v, want bx", l)
	}
	if ins, err := (Loc{Reg: "x1", Offset: 8, Size: 4}).Load(R1, R6); err != nil || ins.String() != LoadMem(R1, R6, 8, Word).String() {
		t.Errorf("load %v %v", ins, err)
	}

	// Native code gets the kernel's own table; code that does not run
	// natively is refused.
	for _, c := range []struct {
		kernel  *Arch
		class   elf.Class
		machine elf.Machine
		native  bool
	}{
		{x86, elf.ELFCLASS64, elf.EM_X86_64, true},
		{arm64, elf.ELFCLASS64, elf.EM_AARCH64, true},
		{mustArch("386"), elf.ELFCLASS32, elf.EM_386, true},
		{mustArch("arm"), elf.ELFCLASS32, elf.EM_ARM, true},
		{x86, elf.ELFCLASS64, elf.EM_AARCH64, false},
		{arm64, elf.ELFCLASS32, elf.EM_386, false},
		{mustArch("386"), elf.ELFCLASS64, elf.EM_X86_64, false},
	} {
		a, err := c.kernel.ForELF(c.class, c.machine)
		if c.native && (err != nil || a != c.kernel) {
			t.Errorf("%s kernel, %s %s: %v %v, want the kernel's table", c.kernel.Kernel, c.class, c.machine, a, err)
		}
		if !c.native && err == nil {
			t.Errorf("%s kernel, %s %s: %s table, want an error", c.kernel.Kernel, c.class, c.machine, a.GOARCH)
		}
	}
}
