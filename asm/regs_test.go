package asm

import "testing"

func TestArchTable(t *testing.T) {
	x86, _ := ArchFor("amd64")
	cases := []struct {
		arch string
		abi  ABI
		n    int
		reg  string
		off  int16
	}{
		{"amd64", FuncABI, 0, "di", 112},
		{"amd64", FuncABI, 3, "cx", 88},     // functions: rcx
		{"amd64", SyscallABI, 3, "r10", 56}, // syscalls: r10
		{"amd64", FuncABI, 5, "r9", 64},
		{"arm64", FuncABI, 0, "x0", 0},
		{"arm64", FuncABI, 7, "x7", 56},
		{"arm", FuncABI, 3, "r3", 12},
		{"riscv64", FuncABI, 0, "a0", 80},
		{"riscv64", FuncABI, 7, "a7", 136},
		{"386", KernelABI, 1, "dx", 8},
		{"386", SyscallABI, 0, "bx", 0},
		{"ppc64le", FuncABI, 0, "r3", 24},
		{"ppc64le", FuncABI, 7, "r10", 80},
	}
	for _, c := range cases {
		a, err := ArchFor(c.arch)
		if err != nil {
			t.Fatal(err)
		}
		l, err := a.Arg(c.abi, c.n)
		if err != nil || l.Reg != c.reg || l.Offset != c.off {
			t.Errorf("%s %v arg %d = %+v %v, want %s at %d", c.arch, c.abi, c.n, l, err, c.reg, c.off)
		}
	}
	if l := x86.Ret(); l.Reg != "ax" || l.Offset != 80 {
		t.Errorf("x86_64 ret %+v", l)
	}
	if l := x86.IP(); l.Offset != 128 || x86.SP().Offset != 152 {
		t.Errorf("x86_64 ip/sp %+v %+v", l, x86.SP())
	}
	if l, _ := x86.Arg(FuncABI, 6); l.FetchArg() != "$stack1" {
		t.Errorf("x86_64 arg 6 = %s, want $stack1 (after the return address)", l.FetchArg())
	}
	a64, _ := ArchFor("arm64")
	if a64.SP().Offset != 248 || a64.IP().Offset != 256 {
		t.Errorf("arm64 sp/pc %+v %+v", a64.SP(), a64.IP())
	}
	arm, _ := ArchFor("arm")
	if arm.SP().Offset != 52 || arm.IP().Offset != 60 || arm.IP().FetchArg() != "%pc" {
		t.Errorf("arm sp/pc %+v %+v", arm.SP(), arm.IP())
	}
	// f(int a, long long b, int c): b skips r1 for the even pair r2:r3, c spills.
	locs, err := arm.Args(FuncABI, 4, 8, 4)
	if err != nil {
		t.Fatal(err)
	}
	if locs[0][0].Reg != "r0" || locs[1][0].Reg != "r2" || locs[1][1].Reg != "r3" || locs[2][0].FetchArg() != "$stack0" {
		t.Errorf("arm pairs: %+v", locs)
	}
	i386, _ := ArchFor("386")
	if l, _ := i386.Arg(FuncABI, 0); l.FetchArg() != "$stack1" {
		t.Errorf("i386 user arg 0 = %s, want $stack1 (cdecl)", l.FetchArg())
	}
	ppc, _ := ArchFor("ppc64le")
	if _, ok := ppc.FP(); ok {
		t.Error("powerpc64 has no frame pointer register in the ABI")
	}
	for _, a := range Arches {
		seen := map[int16]string{}
		for _, r := range a.Regs {
			if prev, dup := seen[r.Offset]; dup {
				t.Errorf("%s: %s and %s share offset %d", a.GOARCH, prev, r.Reg, r.Offset)
			}
			seen[r.Offset] = r.Reg
		}
		a.Ret()
		a.SP()
		a.IP()
		a.SyscallNr()
		if _, err := a.Arg(SyscallABI, 5); err != nil && a.GOARCH != "mipsle" {
			t.Errorf("%s: %v", a.GOARCH, err)
		}
	}
	// o32: a0-a3 (r4-r7) after the 8-word pad0, the fifth argument above
	// the 16-byte home space, and syscall arguments 5-8 on the user stack.
	mips, _ := ArchFor("mips")
	if l, _ := mips.Arg(FuncABI, 0); l.Reg != "r4" || l.Offset != 48 || l.Size != 4 {
		t.Errorf("mips arg 0 = %+v, want r4 at 48", l)
	}
	if l, _ := mips.Arg(FuncABI, 4); l.FetchArg() != "$stack4" {
		t.Errorf("mips arg 4 = %s, want $stack4", l.FetchArg())
	}
	if r := mips.Ret(); r.Reg != "r2" || r.Offset != 40 {
		t.Errorf("mips return = %+v, want r2 at 40", r)
	}
	if _, err := mips.Arg(SyscallABI, 4); err == nil {
		t.Error("mips: a fifth syscall argument was placed in pt_regs")
	}
	if _, err := x86.Arg(SyscallABI, 6); err == nil {
		t.Error("a seventh syscall argument was placed")
	}
	ins, _ := x86.Ret().Load(R0, R1)
	if ins != LoadMem(R0, R1, 80, DWord) {
		t.Errorf("Load = %#v", ins)
	}
}

// TestArchForMachine: uname -m names pick the kernel's pt_regs table, which
// is what a program sees whatever GOARCH loaded it.
func TestArchForMachine(t *testing.T) {
	for machine, goarch := range map[string]string{
		"x86_64": "amd64", "i686": "386", "i386": "386", "aarch64": "arm64",
		"armv7l": "arm", "armv6l": "arm", "riscv64": "riscv64", "ppc64le": "ppc64le",
	} {
		a, err := ArchForMachine(machine)
		if err != nil || a.GOARCH != goarch {
			t.Errorf("ArchForMachine(%q) = %v, %v; want the %s table", machine, a, err, goarch)
		}
	}
	if _, err := ArchForMachine("s390x"); err == nil {
		t.Error("ArchForMachine(s390x) has a table")
	}
}
