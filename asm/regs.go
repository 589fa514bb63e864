package asm

import (
	"fmt"
	"runtime"
	"strings"
)

// ABI selects the calling convention that places an argument.
type ABI uint8

// Calling conventions.
const (
	// FuncABI is the C calling convention of user-space functions: what a
	// uprobe on a function entry sees.
	FuncABI ABI = iota
	// KernelABI is the convention of kernel functions: what a kprobe on a
	// function entry sees. It differs from FuncABI only on i386, whose
	// kernel is built with -mregparm=3.
	KernelABI
	// SyscallABI is the system call convention, seen through the pt_regs of
	// the user task (syscall tracepoints, or the regs pointer that a
	// wrapped __x64_sys_* entry receives). On x86_64 the fourth argument is
	// r10 here and rcx for functions: ply used r10 for functions and was
	// wrong.
	SyscallABI
)

func (a ABI) String() string {
	switch a {
	case FuncABI:
		return "function"
	case KernelABI:
		return "kernel function"
	case SyscallABI:
		return "syscall"
	}
	return fmt.Sprintf("ABI(%d)", uint8(a))
}

// Loc is where a value lives at a probe: a register in struct pt_regs, or
// a word on the stack.
type Loc struct {
	// Reg is the register as tracefs fetchargs spell it, without the '%'
	// ("di", "x0", "r0", "a0"). Empty for a stack slot.
	Reg string
	// Offset is the register's byte offset in struct pt_regs, what a BPF
	// program attached to a kprobe/uprobe loads from its context.
	Offset int16
	// Size is the register width in bytes (4 on 32-bit architectures).
	Size int
	// Stack is the $stackN index when the value is on the stack (Reg
	// empty): tracefs reads it with "$stackN".
	Stack int
	// Compat marks a stack slot of a 32-bit process on a 64-bit kernel.
	// The kernel's $stackN counts its own 8-byte words from the user
	// stack pointer (get_user_stack_nth), so such a slot is read as a
	// dereference of $stack instead: "+OFF($stack)".
	Compat bool
}

// InRegister reports whether the value is in a register (rather than on the
// stack).
func (l Loc) InRegister() bool { return l.Reg != "" }

// FetchArg is the tracefs fetcharg that reads the location: "%di", "$stack1".
func (l Loc) FetchArg() string {
	if l.Reg == "" && l.Compat {
		return fmt.Sprintf("+%d($stack)", l.Stack*l.Size)
	}
	if l.Reg == "" {
		return fmt.Sprintf("$stack%d", l.Stack)
	}
	return "%" + l.Reg
}

// Load is the BPF instruction that loads the register from a pt_regs context
// pointer: dst = *(u64 *)(ctx + Offset). It errors for stack slots, which a
// program must read with a probe_read helper from the stack pointer.
func (l Loc) Load(dst, ctx Register) (Instruction, error) {
	if l.Reg == "" {
		return Instruction{}, fmt.Errorf("$stack%d is on the stack, not in pt_regs", l.Stack)
	}
	size := DWord
	if l.Size == 4 {
		size = Word
	}
	return LoadMem(dst, ctx, l.Offset, size), nil
}

// Arch describes one architecture's struct pt_regs and calling conventions,
// from the kernel's arch/*/include/asm/ptrace.h (the layouts libbpf's
// PT_REGS_PARMn macros index) and the register names of each
// architecture's regs_query_register_offset table (what tracefs accepts).
type Arch struct {
	GOARCH string // "amd64", "arm64", "arm", "riscv64", "386", "ppc64le"
	Kernel string // uname -m: "x86_64", "aarch64", ...
	Word   int    // register width in bytes
	Regs   []Loc  // every register of pt_regs that tracefs can name, in layout order

	args, kernelArgs, syscallArgs []string
	// stackBase is the $stackN index of the first argument passed on the
	// stack at function entry: 1 where the call pushed a return address.
	stackBase int
	// pairAlign is true when a 64-bit argument on a 32-bit architecture
	// starts at an even register (AAPCS).
	pairAlign              bool
	ret, sp, ip, fp, sysnr string
	// compat is set on the tables of 32-bit user code on a 64-bit
	// kernel (ForELF): the kernel's pt_regs, the 32-bit calling
	// convention.
	compat bool
}

// Compat reports whether the table is that of 32-bit user code on a 64-bit
// kernel (see ForELF).
func (a *Arch) Compat() bool { return a.compat }

func (a *Arch) reg(name string) Loc {
	for _, r := range a.Regs {
		if r.Reg == name {
			return r
		}
	}
	panic("asm: " + a.GOARCH + " has no register " + name) // table bug
}

// Register looks up a register by its tracefs name.
func (a *Arch) Register(name string) (Loc, bool) {
	for _, r := range a.Regs {
		if r.Reg == name {
			return r, true
		}
	}
	return Loc{}, false
}

// Ret is the return value register.
func (a *Arch) Ret() Loc { return a.reg(a.ret) }

// SP is the stack pointer.
func (a *Arch) SP() Loc { return a.reg(a.sp) }

// IP is the instruction pointer.
func (a *Arch) IP() Loc { return a.reg(a.ip) }

// FP is the frame pointer; ok is false where the ABI has none (powerpc64).
func (a *Arch) FP() (Loc, bool) {
	if a.fp == "" {
		return Loc{}, false
	}
	return a.reg(a.fp), true
}

func (a *Arch) argRegs(abi ABI) []string {
	switch abi {
	case KernelABI:
		if a.kernelArgs != nil {
			return a.kernelArgs
		}
	case SyscallABI:
		return a.syscallArgs
	}
	return a.args
}

// Arg is where argument n (from 0) of a word-sized argument list is.
func (a *Arch) Arg(abi ABI, n int) (Loc, error) {
	locs, err := a.Args(abi, make([]int, n+1)...)
	if err != nil {
		return Loc{}, err
	}
	return locs[n][0], nil
}

// Args places a whole argument list whose sizes in bytes are given (0 means
// one word). Each argument gets one location, or two (low word first) for a
// 64-bit argument on a 32-bit architecture: on arm such a pair starts at an
// even register, so "f(int a, long long b)" leaves r1 unused.
func (a *Arch) Args(abi ABI, sizes ...int) ([][]Loc, error) {
	regs := a.argRegs(abi)
	out := make([][]Loc, len(sizes))
	next, stack := 0, a.stackBase
	for i, size := range sizes {
		words := 1
		if size > a.Word {
			words = (size + a.Word - 1) / a.Word
		}
		if words > 2 {
			return nil, fmt.Errorf("argument %d: %d bytes is passed by reference, not in registers", i, size)
		}
		if words == 2 && a.pairAlign && next%2 == 1 && abi != SyscallABI {
			next++
		}
		if next+words <= len(regs) {
			for w := 0; w < words; w++ {
				out[i] = append(out[i], a.reg(regs[next]))
				next++
			}
			continue
		}
		if abi == SyscallABI {
			return nil, fmt.Errorf("argument %d: %s passes at most %d syscall arguments", i, a.Kernel, len(regs))
		}
		next = len(regs) // once an argument spills, later ones do too
		for w := 0; w < words; w++ {
			out[i] = append(out[i], Loc{Stack: stack, Size: a.Word, Compat: a.compat})
			stack++
		}
	}
	return out, nil
}

func regsOf(word int, names ...string) []Loc {
	regs := make([]Loc, 0, len(names))
	for i, n := range names {
		if n != "" {
			regs = append(regs, Loc{Reg: n, Offset: int16(i * word), Size: word})
		}
	}
	return regs
}

func seq(prefix string, from, to int) []string {
	var s []string
	for i := from; i <= to; i++ {
		s = append(s, fmt.Sprintf("%s%d", prefix, i))
	}
	return s
}

func cat(parts ...[]string) []string {
	var s []string
	for _, p := range parts {
		s = append(s, p...)
	}
	return s
}

// Arches is the table. Offsets are the struct pt_regs layouts of each
// architecture's asm/ptrace.h; names are those regs_query_register_offset
// accepts. One table serves BPF programs (Offset) and tracefs (Reg).
var Arches = []*Arch{
	{
		GOARCH: "amd64", Kernel: "x86_64", Word: 8,
		// arch/x86/include/asm/ptrace.h, CONFIG_X86_64
		Regs: regsOf(8, "r15", "r14", "r13", "r12", "bp", "bx", "r11", "r10", "r9", "r8",
			"ax", "cx", "dx", "si", "di", "orig_ax", "ip", "cs", "flags", "sp", "ss"),
		args:        []string{"di", "si", "dx", "cx", "r8", "r9"},
		syscallArgs: []string{"di", "si", "dx", "r10", "r8", "r9"},
		stackBase:   1, // $stack0 is the return address pushed by call
		ret:         "ax", sp: "sp", ip: "ip", fp: "bp", sysnr: "orig_ax",
	},
	{
		GOARCH: "arm64", Kernel: "aarch64", Word: 8,
		// arch/arm64/include/asm/ptrace.h: regs[31], sp, pc, pstate, then
		// orig_x0 and syscallno (not nameable in tracefs)
		Regs:        regsOf(8, append(seq("x", 0, 30), "sp", "pc", "pstate")...),
		args:        seq("x", 0, 7),
		syscallArgs: seq("x", 0, 5),
		ret:         "x0", sp: "sp", ip: "pc", fp: "x29", sysnr: "x8",
	},
	{
		GOARCH: "arm", Kernel: "armv7l", Word: 4,
		// arch/arm/include/uapi/asm/ptrace.h: uregs[18]
		Regs:        regsOf(4, append(seq("r", 0, 10), "fp", "ip", "sp", "lr", "pc", "cpsr", "ORIG_r0")...),
		args:        seq("r", 0, 3),
		syscallArgs: seq("r", 0, 6), // EABI; r7 holds the number
		pairAlign:   true,
		ret:         "r0", sp: "sp", ip: "pc", fp: "fp", sysnr: "r7",
	},
	{
		GOARCH: "riscv64", Kernel: "riscv64", Word: 8,
		// arch/riscv/include/asm/ptrace.h
		Regs: regsOf(8, cat([]string{"epc", "ra", "sp", "gp", "tp", "t0", "t1", "t2", "s0", "s1"},
			seq("a", 0, 7), seq("s", 2, 11), seq("t", 3, 6),
			[]string{"status", "badaddr", "cause", "orig_a0"})...),
		args:        seq("a", 0, 7),
		syscallArgs: seq("a", 0, 5),
		ret:         "a0", sp: "sp", ip: "epc", fp: "s0", sysnr: "a7",
	},
	{
		GOARCH: "386", Kernel: "i686", Word: 4,
		// arch/x86/include/asm/ptrace.h, 32-bit
		Regs: regsOf(4, "bx", "cx", "dx", "si", "di", "bp", "ax", "ds", "es", "fs", "gs",
			"orig_ax", "ip", "cs", "flags", "sp", "ss"),
		args:        nil, // cdecl: every argument on the stack
		kernelArgs:  []string{"ax", "dx", "cx"},
		syscallArgs: []string{"bx", "cx", "dx", "si", "di", "bp"},
		stackBase:   1,
		ret:         "ax", sp: "sp", ip: "ip", fp: "bp", sysnr: "orig_ax",
	},
	{
		GOARCH: "mipsle", Kernel: "mips", Word: 4,
		// arch/mips/include/asm/ptrace.h, CONFIG_32BIT: pad0[8] (the o32
		// argument save area, not registers), regs[32], cp0_status, hi,
		// lo, cp0_badvaddr, cp0_cause, cp0_epc (no SMARTMIPS acx on the
		// malta flavour)
		Regs: regsOf(4, cat(make([]string, 8), seq("r", 0, 31),
			[]string{"c0_status", "hi", "lo", "c0_badvaddr", "c0_cause", "c0_epc"})...),
		args: seq("r", 4, 7), // o32: a0-a3
		// o32 passes syscall arguments 5-8 on the user stack, not in
		// registers.
		syscallArgs: seq("r", 4, 7),
		// The caller reserves 16 bytes of home space for a0-a3, so the
		// fifth argument is the fifth stack word.
		stackBase: 4,
		pairAlign: true,
		ret:       "r2", sp: "r29", ip: "c0_epc", fp: "r30", sysnr: "r2",
	},
	{
		GOARCH: "ppc64le", Kernel: "ppc64le", Word: 8,
		// arch/powerpc/include/asm/ptrace.h (user_pt_regs first): gpr[32],
		// nip, msr, orig_gpr3, ctr, link, xer, ccr, softe, trap, dar, dsisr
		Regs: regsOf(8, cat(seq("r", 0, 31), []string{"nip", "msr", "orig_gpr3", "ctr", "link",
			"xer", "ccr", "softe", "trap", "dar", "dsisr"})...),
		args:        seq("r", 3, 10),
		syscallArgs: []string{"orig_gpr3", "r4", "r5", "r6", "r7", "r8"}, // r3 is clobbered by the return value
		// ELFv2: 32-byte header plus the 64-byte save area of the 8
		// register arguments precede the first stack argument.
		stackBase: 12,
		ret:       "r3", sp: "r1", ip: "nip", sysnr: "r0",
	},
}

// ArchFor returns the table entry for a GOARCH ("amd64", "arm64", "arm",
// "riscv64", "386", "ppc64le"/"ppc64").
func ArchFor(goarch string) (*Arch, error) {
	switch goarch {
	case "ppc64":
		goarch = "ppc64le" // same pt_regs; the stack base differs (ELFv1), see stackBase
	case "mips":
		goarch = "mipsle" // the same pt_regs in the other byte order
	}
	for _, a := range Arches {
		if a.GOARCH == goarch {
			return a, nil
		}
	}
	return nil, fmt.Errorf("no pt_regs table for GOARCH %q (have amd64, arm64, arm, riscv64, 386, mipsle, ppc64le)", goarch)
}

// ArchForMachine returns the table entry for a kernel architecture as
// uname(2) spells it (utsname.machine: "x86_64", "i686", "aarch64",
// "armv7l", "riscv64", "ppc64le"). A BPF program attached to a kprobe or
// uprobe reads the kernel's struct pt_regs, so the kernel's machine, not
// the program's GOARCH, chooses the table: a 386 binary on an x86_64
// kernel (compat mode) sees the x86_64 layout, for its own 32-bit
// processes too, whose registers the kernel saves zero-extended there.
func ArchForMachine(machine string) (*Arch, error) {
	switch machine {
	case "x86_64":
		return ArchFor("amd64")
	case "i386", "i486", "i586", "i686":
		return ArchFor("386")
	case "aarch64", "aarch64_be", "arm64":
		return ArchFor("arm64")
	case "riscv64":
		return ArchFor("riscv64")
	case "arm": // kprobeevents.ArchARM's name
		return ArchFor("arm")
	case "ppc64le", "ppc64", "powerpc64":
		return ArchFor("ppc64le")
	case "mips": // 32-bit MIPS of either byte order
		return ArchFor("mipsle")
	}
	if strings.HasPrefix(machine, "armv") { // armv7l, armv6l, armv7b
		return ArchFor("arm")
	}
	return nil, fmt.Errorf("no pt_regs table for kernel machine %q (have x86_64, i686, aarch64, armv7l, riscv64, mips, ppc64le)", machine)
}

// HostArch is the entry for the GOARCH this binary was built for. That is
// the kernel's architecture only when the binary is native: for a 32-bit
// binary on a 64-bit kernel it is the wrong table. Code that loads
// programs into the running kernel should ask the kernel (bpf.KernelArch);
// asm makes no system calls.
func HostArch() (*Arch, error) { return ArchFor(runtime.GOARCH) }

// SyscallNr is the register holding the system call number at entry.
func (a *Arch) SyscallNr() Loc { return a.reg(a.sysnr) }
