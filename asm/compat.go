package asm

import (
	"debug/elf"
	"fmt"
)

// ForELF returns the table that places the arguments of user code, for a
// uprobe or uretprobe on a file whose ELF header gives class and machine,
// on the kernel whose table is a. Native code gets a itself. A 32-bit
// process on a 64-bit kernel gets a table of its own: the kernel saves its
// registers in the kernel's struct pt_regs (zero-extended, so the low half
// of each 8-byte slot on these little-endian kernels), while its calls
// follow the 32-bit convention:
//
//   - i386 code on x86_64 (IA-32 emulation) passes every argument on the
//     stack (cdecl): at a function's entry the return address is at sp and
//     argument N at sp+4+4N; the return value is in eax, the low half of
//     pt_regs ax.
//   - arm code on arm64 (COMPAT) passes r0-r3 in x0-x3, 64-bit arguments in
//     even/odd pairs, the rest on the stack at its sp, which is r13: x13,
//     not pt_regs sp (the kernel's user_stack_pointer reads compat_sp).
//
// The kernel's $stackN counts 8-byte words there, so stack slots of these
// tables are read as "+OFF($stack)" (Loc.Compat).
func (a *Arch) ForELF(class elf.Class, machine elf.Machine) (*Arch, error) {
	switch {
	case a.GOARCH == "amd64" && class == elf.ELFCLASS32 && machine == elf.EM_386:
		return compatI386, nil
	case a.GOARCH == "arm64" && class == elf.ELFCLASS32 && machine == elf.EM_ARM:
		return compatARM, nil
	case a.Word == 8 && class == elf.ELFCLASS64 || a.Word == 4 && class == elf.ELFCLASS32:
		// Native code (x32 code on x86_64 too: the x86_64 registers).
		if m, ok := elfMachines[a.GOARCH]; ok && m != machine {
			return nil, fmt.Errorf("%s code (ELF %s) does not run natively on this %s kernel", machine, class, a.Kernel)
		}
		return a, nil
	}
	return nil, fmt.Errorf("%s code (ELF %s) has no argument table on a %s kernel (32-bit code is known for i386 on x86_64 and arm on arm64)", machine, class, a.Kernel)
}

var elfMachines = map[string]elf.Machine{
	"amd64": elf.EM_X86_64, "386": elf.EM_386, "arm64": elf.EM_AARCH64, "arm": elf.EM_ARM,
	"riscv64": elf.EM_RISCV, "mipsle": elf.EM_MIPS, "ppc64le": elf.EM_PPC64,
}

// narrowed is the registers of a 64-bit pt_regs read as 32-bit values: the
// same offsets, the low half (little-endian).
func narrowed(regs []Loc) []Loc {
	out := make([]Loc, len(regs))
	for i, r := range regs {
		r.Size = 4
		out[i] = r
	}
	return out
}

var (
	compatI386 = &Arch{
		GOARCH: "386", Kernel: "x86_64", Word: 4,
		// arch/x86/include/asm/ptrace.h, CONFIG_X86_64: the IA-32
		// entry points save ebx..ebp into bx..bp.
		Regs:        narrowed(mustArch("amd64").Regs),
		args:        nil, // cdecl: every argument on the stack
		syscallArgs: []string{"bx", "cx", "dx", "si", "di", "bp"},
		stackBase:   1, // the return address pushed by call
		ret:         "ax", sp: "sp", ip: "ip", fp: "bp", sysnr: "orig_ax",
		compat: true,
	}
	compatARM = &Arch{
		GOARCH: "arm", Kernel: "aarch64", Word: 4,
		// arch/arm64/include/asm/ptrace.h: compat_sp is regs[13],
		// compat_fp regs[11], compat_lr regs[14].
		Regs:        narrowed(mustArch("arm64").Regs),
		args:        seq("x", 0, 3),
		syscallArgs: seq("x", 0, 6), // EABI; r7 (x7) holds the number
		pairAlign:   true,
		ret:         "x0", sp: "x13", ip: "pc", fp: "x11", sysnr: "x7",
		compat: true,
	}
)

func mustArch(goarch string) *Arch {
	a, err := ArchFor(goarch)
	if err != nil {
		panic(err) // table bug
	}
	return a
}
