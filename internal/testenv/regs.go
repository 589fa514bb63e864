package testenv

import (
	"strings"
	"testing"
)

// x86ToARM64 renames x86_64 fetcharg registers to the arm64 registers that
// play the same part: the C ABI's argument registers di, si, dx, cx, r8, r9
// are x0..x5 there, the return value ax is x0, the instruction pointer is
// pc. Each name keeps its length, so error-table columns stay right.
var x86ToARM64 = strings.NewReplacer(
	"%di", "%x0", "%si", "%x1", "%dx", "%x2", "%cx", "%x3", "%r8", "%x4", "%r9", "%x5",
	"%ax", "%x0", "%ip", "%pc",
)

// X86ToARM64 rewrites the x86_64 registers of a definition for arm64.
func X86ToARM64(def string) string { return x86ToARM64.Replace(def) }

// HostRegs rewrites the registers of a definition written for x86_64 for
// the running kernel's architecture, keeping each name's length so that
// error-table columns stay right: arm64 and arm get x0..x5 and r0..r5,
// riscv64 a0..a5, mips r4..r7. i386 names di, si, dx, cx and ax too, so x86 kernels keep
// the definition as it is (r8 and r9 do not exist there: an error table
// that needs a register on i386 uses those five).
func HostRegs(def string) string {
	switch kernelMachine() {
	case "aarch64":
		return X86ToARM64(def)
	case "armv7l", "armv6l":
		return x86ToARM.Replace(def)
	case "riscv64":
		return x86ToRISCV.Replace(def)
	case "mips":
		return x86ToMIPS.Replace(def)
	}
	return def
}

var (
	x86ToARM = strings.NewReplacer(
		"%di", "%r0", "%si", "%r1", "%dx", "%r2", "%cx", "%r3", "%r8", "%r4", "%r9", "%r5",
		"%ax", "%r0", "%ip", "%pc",
	)
	// o32: a0-a3 are r4-r7, v0 is r2; r8 and r9 exist (t0, t1), and lo
	// stands in for the instruction pointer's length (c0_epc is longer).
	x86ToMIPS = strings.NewReplacer(
		"%di", "%r4", "%si", "%r5", "%dx", "%r6", "%cx", "%r7",
		"%ax", "%r2", "%ip", "%lo",
	)
	x86ToRISCV = strings.NewReplacer(
		"%di", "%a0", "%si", "%a1", "%dx", "%a2", "%cx", "%a3", "%r8", "%a4", "%r9", "%a5",
		"%ax", "%a0", "%ip", "%ra", // epc is one letter longer
	)
)

// CABIArgs rewrites a uprobe definition on testprog's CABITarget whose
// fetchargs name the x86_64 C-ABI argument registers (%di, %si, %dx, %cx,
// %r8, %r9), %ax and %ip for the running kernel's architecture, with its
// C ABI's own places for the six arguments: $stack1..$stack6 on i386, and
// $stack0, $stack1 for the fifth and sixth on arm. Lengths change: this is
// for definitions whose values are checked, not error columns.
func CABIArgs(t testing.TB, def string) string {
	t.Helper()
	a := KernelABI(t)
	u := a.UserArgs
	return strings.NewReplacer("%di", u[0], "%si", u[1], "%dx", u[2], "%cx", u[3], "%r8", u[4], "%r9", u[5],
		"%ax", a.RetReg, "%ip", a.PCReg).Replace(def)
}
