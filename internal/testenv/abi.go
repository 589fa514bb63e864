package testenv

import "fmt"

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
	SyscallPrefix string   // "__x64_sys_"
	ArgRegs       []string // function-call ABI argument registers, as fetchargs
	SyscallArgOff [6]int   // offset in struct pt_regs of syscall argument 1..6
	RetReg        string   // return value register
	StackReg      string   // stack pointer register
	PCReg         string   // instruction pointer register
}

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
		SyscallArgOff: [6]int{112, 104, 96, 56, 72, 64},
		RetReg:        "%ax",
		StackReg:      "%sp",
		PCReg:         "%ip",
	},
	"arm64": {
		Arch:          "arm64",
		SyscallPrefix: "__arm64_sys_",
		ArgRegs:       []string{"%x0", "%x1", "%x2", "%x3", "%x4", "%x5"},
		SyscallArgOff: [6]int{0, 8, 16, 24, 32, 40},
		RetReg:        "%x0",
		StackReg:      "%sp",
		PCReg:         "%pc",
	},
}

// ABIFor returns the table entry of a GOARCH.
func ABIFor(goarch string) (ABI, error) {
	a, ok := abis[goarch]
	if !ok {
		return ABI{}, fmt.Errorf("no probe ABI table for GOARCH=%s (have amd64, arm64)", goarch)
	}
	return a, nil
}

// SyscallArg is the fetcharg that reads syscall argument n (1-based) at a
// syscall wrapper's entry: the wrapper's first argument is the pt_regs
// pointer.
func (a ABI) SyscallArg(n int) string {
	return fmt.Sprintf("+%d(%s)", a.SyscallArgOff[n-1], a.ArgRegs[0])
}
