package testenv

import (
	"fmt"
	"regexp"
	"testing"
)

// ABI is how a probe reaches function and syscall arguments on one
// architecture; the VM suite's tests and its fixture recorder use it.
//
// Since 4.17 (x86_64) and 4.19 (arm64) every syscall's entry point is a
// wrapper, __x64_sys_<name> / __arm64_sys_<name>, that takes one argument:
// a pointer to the user's saved struct pt_regs. A syscall's own arguments
// are therefore read through that pointer, +OFF(<first argument register>),
// at the offsets of the registers the syscall ABI passes them in.
type ABI struct {
	Arch          string
	SyscallPrefix string // "__x64_sys_"; "sys_" where syscalls have no pt_regs wrapper
	// ArgRegs are the kernel's function-call argument registers, as
	// fetchargs: where a kprobe on a function entry finds its arguments
	// (on i386 only three, the kernel's -mregparm=3).
	ArgRegs []string
	// UserArgs are the fetchargs of arguments 1..6 of a C function in user
	// space at a uprobe on its entry: registers, and $stackN where the C
	// ABI passes an argument on the stack (every one on i386, the fifth
	// and sixth on arm and mips).
	UserArgs      [6]string
	SyscallArgOff [6]int // offset in struct pt_regs of syscall argument 1..6
	RetReg        string // return value register
	StackReg      string // stack pointer register
	PCReg         string // instruction pointer register
	Word          int    // bytes in a register: the natural fetch type is x64 or x32
	// RetAddr fetches the return address at a function's entry: x86's
	// CALL pushes it ($stack0), elsewhere it is in the link register.
	RetAddr string
}

// X86 reports whether the table is x86_64's or i386's, where a call pushes
// the return address and the kernel reads user memory through a plain
// kernel fetch (non-overlapping address spaces).
func (a ABI) X86() bool { return a.Arch == "amd64" || a.Arch == "386" }

// abis is the per-architecture table. x86_64 pt_regs
// (arch/x86/include/asm/ptrace.h): r15 r14 r13 r12 bp bx r11 r10 r9 r8 ax cx
// dx si di orig_ax ip cs flags sp ss, 8 bytes each, so di=112, si=104,
// dx=96, r10=56, r8=72, r9=64 (the syscall ABI passes arg4 in r10, not
// cx). arm64 pt_regs (arch/arm64/include/asm/ptrace.h) starts with
// regs[0..30], so argument N is at 8*(N-1).
var abis = map[string]ABI{
	"amd64": {
		Arch:          "amd64",
		SyscallPrefix: "__x64_sys_",
		ArgRegs:       []string{"%di", "%si", "%dx", "%cx", "%r8", "%r9"},
		UserArgs:      [6]string{"%di", "%si", "%dx", "%cx", "%r8", "%r9"},
		SyscallArgOff: [6]int{112, 104, 96, 56, 72, 64},
		RetReg:        "%ax",
		StackReg:      "%sp",
		PCReg:         "%ip",
		Word:          8,
		RetAddr:       "$stack0",
	},
	"arm64": {
		Arch:          "arm64",
		SyscallPrefix: "__arm64_sys_",
		ArgRegs:       []string{"%x0", "%x1", "%x2", "%x3", "%x4", "%x5"},
		UserArgs:      [6]string{"%x0", "%x1", "%x2", "%x3", "%x4", "%x5"},
		SyscallArgOff: [6]int{0, 8, 16, 24, 32, 40},
		RetReg:        "%x0",
		StackReg:      "%sp",
		PCReg:         "%pc",
		Word:          8,
		RetAddr:       "%x30",
	},
	// i386 pt_regs (arch/x86/include/asm/ptrace.h, 32-bit): bx cx dx si di
	// bp ax ..., 4 bytes each; the syscall ABI passes bx, cx, dx, si, di,
	// bp. The kernel is built with -mregparm=3 (ax, dx, cx); user code is
	// cdecl, every argument on the stack above the return address.
	"386": {
		Arch:          "386",
		SyscallPrefix: "__ia32_sys_",
		ArgRegs:       []string{"%ax", "%dx", "%cx"},
		UserArgs:      [6]string{"$stack1", "$stack2", "$stack3", "$stack4", "$stack5", "$stack6"},
		SyscallArgOff: [6]int{0, 4, 8, 12, 16, 20},
		RetReg:        "%ax",
		StackReg:      "%sp",
		PCReg:         "%ip",
		Word:          4,
		RetAddr:       "$stack0",
	},
	// arm (arch/arm/include/uapi/asm/ptrace.h: uregs r0..r15, cpsr,
	// ORIG_r0) has no syscall wrappers: sys_openat takes its arguments in
	// r0.. as any function does. AAPCS passes the fifth and sixth word on
	// the stack.
	"arm": {
		Arch:          "arm",
		SyscallPrefix: "sys_",
		ArgRegs:       []string{"%r0", "%r1", "%r2", "%r3"},
		UserArgs:      [6]string{"%r0", "%r1", "%r2", "%r3", "$stack0", "$stack1"},
		SyscallArgOff: [6]int{0, 4, 8, 12, 16, 20},
		RetReg:        "%r0",
		StackReg:      "%sp",
		PCReg:         "%pc",
		Word:          4,
		RetAddr:       "%lr",
	},
	// riscv64 pt_regs (arch/riscv/include/asm/ptrace.h): epc ra sp gp tp
	// t0-t2 s0 s1 a0-a7 ..., so a0 is at 80; __riscv_sys_* wrappers (6.6+)
	// take the pt_regs pointer.
	"riscv64": {
		Arch:          "riscv64",
		SyscallPrefix: "__riscv_sys_",
		ArgRegs:       []string{"%a0", "%a1", "%a2", "%a3", "%a4", "%a5"},
		UserArgs:      [6]string{"%a0", "%a1", "%a2", "%a3", "%a4", "%a5"},
		SyscallArgOff: [6]int{80, 88, 96, 104, 112, 120},
		RetReg:        "%a0",
		StackReg:      "%sp",
		PCReg:         "%epc",
		Word:          8,
		RetAddr:       "%ra",
	},
	// mips o32 (arch/mips/include/asm/ptrace.h: pad0[8], then regs[32])
	// has no syscall wrappers; a0-a3 are r4-r7, and the caller leaves 16
	// bytes of home space, so the fifth and sixth words are $stack4 and
	// $stack5.
	"mipsle": {
		Arch:          "mipsle",
		SyscallPrefix: "sys_",
		ArgRegs:       []string{"%r4", "%r5", "%r6", "%r7"},
		UserArgs:      [6]string{"%r4", "%r5", "%r6", "%r7", "$stack4", "$stack5"},
		SyscallArgOff: [6]int{48, 52, 56, 60, 0, 0},
		RetReg:        "%r2",
		StackReg:      "%r29",
		PCReg:         "%c0_epc",
		Word:          4,
		RetAddr:       "%r31",
	},
}

// ABIFor returns the table entry of a GOARCH.
func ABIFor(goarch string) (ABI, error) {
	a, ok := abis[goarch]
	if !ok {
		return ABI{}, fmt.Errorf("no probe ABI table for GOARCH=%s (have amd64, arm64, 386, arm, riscv64, mipsle)", goarch)
	}
	return a, nil
}

// SyscallArg is the fetcharg that reads syscall argument n (1-based) at a
// syscall wrapper's entry: the wrapper's first argument is the pt_regs
// pointer.
func (a ABI) SyscallArg(n int) string {
	if a.SyscallPrefix == "sys_" {
		return a.ArgRegs[n-1] // no wrapper: the syscall's own arguments
	}
	return fmt.Sprintf("+%d(%s)", a.SyscallArgOff[n-1], a.ArgRegs[0])
}

// KernelABI is the table of the running kernel's architecture (its uname
// machine), which is also testprog's: a 386 test binary on an x86_64
// kernel (make compat386) traces an amd64 testprog and reads x86_64
// pt_regs. It skips t where the architecture has no table.
func KernelABI(t testing.TB) ABI {
	t.Helper()
	goarch := map[string]string{
		"x86_64": "amd64", "i386": "386", "i486": "386", "i586": "386", "i686": "386",
		"aarch64": "arm64", "armv7l": "arm", "armv6l": "arm", "riscv64": "riscv64",
		"mips": "mipsle",
	}[kernelMachine()]
	a, err := ABIFor(goarch)
	if err != nil {
		t.Skipf("no probe ABI table for kernel machine %s: %v", kernelMachine(), err)
	}
	return a
}

// SLong is the signed fetch type of a register, s64 or s32: the kernel
// widens the unsigned long it fetched without a sign, so on a 32-bit
// kernel -ENOENT read as s64 is 4294967294.
func (a ABI) SLong() string {
	if a.Word == 4 {
		return "s32"
	}
	return "s64"
}

// GoOpenFlags are the flags Go's syscall.Open adds to every open(2) of a
// program built for the running kernel's architecture (testprog, and the
// test binaries in the VM suite's guests): O_LARGEFILE on the 32-bit ones,
// with its value there (i386 0x8000, arm 0x20000, mips 0x2000), none on
// the 64-bit ones, whose kernels add it without showing it.
func GoOpenFlags() int {
	return map[string]int{"i386": 0x8000, "i686": 0x8000, "armv7l": 0x20000, "mips": 0x2000}[kernelMachine()]
}

var argNRE = regexp.MustCompile(`\$arg([1-9])\b`)

// KernelArgs rewrites the $argN fetchargs of a kprobe definition into the
// kernel's argument registers where the running kernel has no $argN (32-bit
// arm and mips lack CONFIG_HAVE_FUNCTION_ARG_ACCESS_API and refuse every
// $argN); elsewhere the definition is returned as it is. It skips t when
// an argument is not in a register there.
func KernelArgs(t testing.TB, def string) string {
	t.Helper()
	switch kernelMachine() {
	case "armv7l", "armv6l", "mips":
	default:
		return def
	}
	a := KernelABI(t)
	return argNRE.ReplaceAllStringFunc(def, func(m string) string {
		n := int(m[4] - '1')
		if n >= len(a.ArgRegs) {
			t.Skipf("%s: argument %d of a kernel function is not in a register on %s", def, n+1, a.Arch)
		}
		return a.ArgRegs[n]
	})
}
