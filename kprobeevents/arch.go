package kprobeevents

import (
	"fmt"
	"runtime"
	"slices"
	"strings"
)

// Arch names a CPU architecture whose pt_regs register names the kernel
// accepts in a %REG fetcharg. The kernel resolves %REG with
// regs_query_register_offset(), a per-architecture table
// (arch/*/kernel/ptrace*.c, regoffset_table), so the valid set differs by
// architecture and a definition is only portable if it avoids registers.
type Arch int

// Architectures with a regoffset_table that tracelet knows.
const (
	ArchUnknown Arch = iota
	ArchX86_64
	ArchI386
	ArchARM64
	ArchARM
	ArchRISCV64
	ArchPPC64
	ArchMIPS // 32-bit MIPS (o32), either byte order
)

var archNames = [...]string{
	ArchUnknown: "unknown",
	ArchX86_64:  "x86_64",
	ArchI386:    "i386",
	ArchARM64:   "arm64",
	ArchARM:     "arm",
	ArchRISCV64: "riscv64",
	ArchPPC64:   "powerpc64",
	ArchMIPS:    "mips",
}

// Arches lists every architecture with a register table, in a stable order.
var Arches = []Arch{ArchX86_64, ArchI386, ArchARM64, ArchARM, ArchRISCV64, ArchPPC64, ArchMIPS}

// String returns the kernel-style architecture name (uname -m spelling).
func (a Arch) String() string {
	if a >= 0 && int(a) < len(archNames) {
		return archNames[a]
	}
	return fmt.Sprintf("Arch(%d)", int(a))
}

// ParseArch accepts a uname -m name, a GOARCH name or a kernel ARCH= name.
func ParseArch(s string) (Arch, error) {
	switch strings.ToLower(s) {
	case "x86_64", "amd64", "x86-64", "x64":
		return ArchX86_64, nil
	case "i386", "i486", "i586", "i686", "386", "x86", "ia32":
		return ArchI386, nil
	case "arm64", "aarch64":
		return ArchARM64, nil
	case "arm", "armv7l", "armv6l", "armhf", "armel":
		return ArchARM, nil
	case "riscv64", "riscv":
		return ArchRISCV64, nil
	case "ppc64", "ppc64le", "powerpc64", "powerpc64le", "powerpc":
		return ArchPPC64, nil
	case "mips", "mipsle", "mipsel", "mips32":
		return ArchMIPS, nil
	}
	return ArchUnknown, fmt.Errorf("kprobeevents: unknown architecture %q (known: x86_64, i386, arm64, arm, riscv64, powerpc64, mips)", s)
}

// HostArch is the architecture this binary was built for (GOARCH). It is the
// running kernel's only for a native binary: a 386 binary on an x86_64
// kernel (compat mode) must name x86_64 registers, and tracefs.KernelArch
// asks the kernel. kprobeevents makes no system calls.
func HostArch() Arch {
	a, err := ParseArch(runtime.GOARCH)
	if err != nil {
		return ArchUnknown
	}
	return a
}

// HasArgN reports whether the architecture's kernel resolves $argN
// (CONFIG_HAVE_FUNCTION_ARG_ACCESS_API, regs_get_kernel_argument): x86,
// arm64, riscv and powerpc do; 32-bit arm does not, and its kernel refuses
// every $argN with BAD_VAR (its tracefs README lists no $arg<N>).
func (a Arch) HasArgN() bool { return a != ArchARM && a != ArchMIPS }

// PtrBits is the width of unsigned long on the architecture: it decides the
// default fetch type (x64 or x32), the size of :symbol, how the kernel prints
// addresses (0x%p, 0x%0*lx) and the range of kstrtoul/kstrtol.
func (a Arch) PtrBits() int {
	switch a {
	case ArchI386, ArchARM, ArchMIPS:
		return 32
	}
	return 64
}

func seqNames(prefix string, from, to int) []string {
	out := make([]string, 0, to-from+1)
	for i := from; i <= to; i++ {
		out = append(out, fmt.Sprintf("%s%d", prefix, i))
	}
	return out
}

// regTables mirrors each architecture's regoffset_table, in table order.
var regTables = func() map[Arch][]string {
	m := map[Arch][]string{
		// arch/x86/kernel/ptrace.c, CONFIG_X86_64
		ArchX86_64: {"r15", "r14", "r13", "r12", "bp", "bx", "r11", "r10", "r9", "r8",
			"ax", "cx", "dx", "si", "di", "orig_ax", "ip", "cs", "flags", "sp", "ss"},
		// arch/x86/kernel/ptrace.c, !CONFIG_X86_64
		ArchI386: {"bx", "cx", "dx", "si", "di", "bp", "ax", "ds", "es", "fs", "gs",
			"orig_ax", "ip", "cs", "flags", "sp", "ss"},
		// arch/arm/kernel/ptrace.c
		ArchARM: append(seqNames("r", 0, 10), "fp", "ip", "sp", "lr", "pc", "cpsr", "ORIG_r0"),
		// arch/riscv/kernel/ptrace.c
		ArchRISCV64: {"epc", "ra", "sp", "gp", "tp", "t0", "t1", "t2", "s0", "s1",
			"a0", "a1", "a2", "a3", "a4", "a5", "a6", "a7",
			"s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11",
			"t3", "t4", "t5", "t6", "status", "badaddr", "cause", "orig_a0"},
	}
	// arch/mips/kernel/ptrace.c, without CONFIG_CPU_HAS_SMARTMIPS (acx)
	// and the Octeon registers
	m[ArchMIPS] = append(seqNames("r", 0, 31), "c0_status", "hi", "lo", "c0_badvaddr", "c0_cause", "c0_epc")
	// arch/arm64/kernel/ptrace.c: x0..x30, "lr" aliases x30.
	m[ArchARM64] = append(seqNames("x", 0, 30), "lr", "sp", "pc", "pstate")
	// arch/powerpc/kernel/ptrace/ptrace.c: GPR_OFFSET_NAME(n) names both
	// "rN" and "gprN"; softe is the CONFIG_PPC64 entry.
	var ppc []string
	for i := 0; i <= 31; i++ {
		ppc = append(ppc, fmt.Sprintf("r%d", i), fmt.Sprintf("gpr%d", i))
	}
	m[ArchPPC64] = append(ppc, "nip", "msr", "ctr", "link", "xer", "ccr", "softe", "trap", "dar", "dsisr")
	return m
}()

// Registers returns the register names (without '%') that the kernel of arch
// accepts in a %REG fetcharg, in the kernel's table order. The slice is a copy.
func Registers(arch Arch) []string {
	return slices.Clone(regTables[arch])
}

// IsRegister reports whether name (without '%') is a register on arch.
func IsRegister(arch Arch, name string) bool {
	return slices.Contains(regTables[arch], name)
}

// registerSummary is the short "kernel accepts" list used in hints.
func registerSummary(a Arch) string {
	switch a {
	case ArchX86_64:
		return "%ax %bx %cx %dx %si %di %bp %sp %r8..%r15 %ip %flags %orig_ax %cs %ss"
	case ArchI386:
		return "%ax %bx %cx %dx %si %di %bp %sp %ip %flags %orig_ax %cs %ds %es %fs %gs %ss"
	case ArchARM64:
		return "%x0..%x30, %lr, %sp, %pc, %pstate"
	case ArchARM:
		return "%r0..%r10, %fp, %ip, %sp, %lr, %pc, %cpsr, %ORIG_r0"
	case ArchRISCV64:
		return "%a0..%a7, %s0..%s11, %t0..%t6, %ra, %sp, %gp, %tp, %epc, %status, %badaddr, %cause, %orig_a0"
	case ArchPPC64:
		return "%r0..%r31 (or %gpr0..%gpr31), %nip, %msr, %ctr, %link, %xer, %ccr, %softe, %trap, %dar, %dsisr"
	case ArchMIPS:
		return "%r0..%r31, %c0_status, %hi, %lo, %c0_badvaddr, %c0_cause, %c0_epc"
	}
	return "(unknown architecture)"
}

// foreignRegister names another architecture on which reg is valid, so that
// the error can say "%di is an x86_64 register".
func foreignRegister(arch Arch, reg string) (Arch, bool) {
	for _, a := range Arches {
		if a != arch && IsRegister(a, reg) {
			return a, true
		}
	}
	return ArchUnknown, false
}

// paramMaxStack is PARAM_MAX_STACK (THREAD_SIZE / sizeof(unsigned long)), the
// largest N the kernel accepts in $stackN and $argN on kprobes. THREAD_SIZE
// is 16 KiB on the 64-bit and 8 KiB on the 32-bit architectures (without
// KASAN, which doubles it; we use the smaller, stricter value).
func (a Arch) paramMaxStack() uint64 {
	if a.PtrBits() == 32 {
		return 8192 / 4
	}
	return 16384 / 8
}
