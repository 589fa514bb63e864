// Package testenv tells tests what the machine they run on can do, so that a
// test skips only for a capability the kernel really lacks and says which.
//
// Inside the VM suite (TRACELET_VM=1, set by the guest's /init) nothing may
// skip: a missing capability there is a failure, because the guest kernels
// were chosen for having it.
package testenv

import (
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// InVM reports whether the test runs inside a guest of the VM suite.
func InVM() bool { return os.Getenv("TRACELET_VM") == "1" }

// InCI reports whether the test runs under CI (CI=true).
func InCI() bool { return os.Getenv("CI") == "true" }

// RequireRoot fails or skips a test that needs root. Under CI and in the VM
// suite we are root, so not being root there is a failure.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if InCI() || InVM() {
		t.Fatal("test needs root, and CI and the VM suite run as root")
	}
	t.Skip("test needs root (run as root, or through make test)")
}

// tracefsDirs are tried in order; the tracefs package does the real
// discovery, this only answers "does the kernel have kprobes at all".
var tracefsDirs = []string{"/sys/kernel/tracing", "/sys/kernel/debug/tracing"}

// HasKprobes reports whether the running kernel offers kprobe_events, and
// survives them (KprobesCrash).
func HasKprobes() bool {
	if KprobesCrash() != "" {
		return false
	}
	for _, d := range tracefsDirs {
		if _, err := os.Stat(d + "/kprobe_events"); err == nil {
			return true
		}
	}
	// CONFIG_KPROBES also exposes the PMU even when tracefs is not mounted.
	_, err := os.Stat("/sys/bus/event_source/devices/kprobe/type")
	return err == nil
}

// RequireKprobes skips on a kernel without kprobes (the development host has
// CONFIG_KPROBES off) and fails inside the VM suite, whose kernels have them.
func RequireKprobes(t testing.TB) {
	t.Helper()
	RequireRoot(t)
	if why := KprobesCrash(); why != "" {
		t.Skip(why)
	}
	if HasKprobes() {
		return
	}
	if InVM() {
		t.Fatal("guest kernel has no kprobe_events, but every VM-suite kernel must have kprobes")
	}
	t.Skip("this kernel has no kprobes (CONFIG_KPROBES is off): the test runs in the VM suite (make vmtest)")
}

// KprobesCrash names the running kernel's known crash in its kprobes, "" for
// a kernel whose kprobes work. A kernel that panics when kprobes are used
// lacks them as surely as one built without: its kprobe tests skip, saying
// so, and the rest of its suite runs.
//
// Debian's 6.1 4kc-malta kernel (mips) panics with "Break instruction in
// kernel code" at a kprobe's single-step break (BRK_KPROBE_SSTEPBP, break
// 516, in the instruction slot at 0xc000000c after the copied first
// instruction of do_sys_openat2) when no kprobe is current on the CPU,
// while record's tests add and remove kprobes on do_sys_openat2 (VM suite,
// 6.1.0-50-4kc-malta, 6.1.176-1).
func KprobesCrash() string {
	var u unix.Utsname
	if unix.Uname(&u) != nil {
		return ""
	}
	machine, release := unix.ByteSliceToString(u.Machine[:]), unix.ByteSliceToString(u.Release[:])
	if machine == "mips" && strings.HasPrefix(release, "6.1.") {
		return "this kernel (" + release + ", mips) panics in its kprobes (\"Break instruction in kernel code\": the single-step break BRK_KPROBE_SSTEPBP of a kprobe's instruction slot is hit with no kprobe current), so its kprobe tests are not run"
	}
	return ""
}

// NoUserCallchains names why the running kernel records no user call
// chains in perf samples, "" where it does. MIPS leaves
// perf_callchain_user empty (arch/mips/kernel/perf_event.c: "Leave
// userspace callchain empty for now"), so a sample's user part holds not
// even the sampled address.
func NoUserCallchains() string {
	if m := kernelMachine(); strings.HasPrefix(m, "mips") {
		return "this kernel (" + m + ") records no user call chains: perf_callchain_user is empty on MIPS"
	}
	return ""
}

// RequireUserCallchains skips a test of user stacks on a kernel that
// records none (NoUserCallchains).
func RequireUserCallchains(t testing.TB) {
	t.Helper()
	if why := NoUserCallchains(); why != "" {
		t.Skip(why)
	}
}

// NoTracepointKernelStacks names why the running kernel records no kernel
// call chain for a tracepoint's sample, "" where it does. A tracepoint's
// perf sample unwinds from registers that perf_arch_fetch_caller_regs
// fills in, and MIPS does not define it: the registers stay zero, and its
// perf_callchain_kernel finds no kernel text at pc 0 (arch/mips/include/
// asm/perf_event.h is empty).
func NoTracepointKernelStacks() string {
	if m := kernelMachine(); strings.HasPrefix(m, "mips") {
		return "this kernel (" + m + ") records no kernel call chain at a tracepoint: MIPS has no perf_arch_fetch_caller_regs"
	}
	return ""
}
