package testenv

import (
	"strconv"
	"testing"

	"golang.org/x/sys/unix"
)

// Compat reports whether the test binary is a 32-bit program on a 64-bit
// kernel (GOARCH=386 on x86_64, arm on aarch64: make compat386), and the
// kernel's uname machine.
func Compat() (machine string, ok bool) {
	var u unix.Utsname
	if unix.Uname(&u) != nil {
		return "", false
	}
	machine = unix.ByteSliceToString(u.Machine[:])
	switch machine {
	case "x86_64", "aarch64", "riscv64", "ppc64le", "ppc64", "mips64", "s390x", "loongarch64":
		return machine, strconv.IntSize == 32
	}
	return machine, false
}

// RequireSyscallEvents skips a test that counts its own threads' calls
// through syscalls:sys_enter_* or sys_exit_* when they cannot fire: a
// 64-bit x86 or arm64 kernel drops a compat task's system calls from its
// per-syscall events (ARCH_TRACE_IGNORE_COMPAT_SYSCALLS,
// kernel/trace/trace_syscalls.c). raw_syscalls:* still see them.
func RequireSyscallEvents(t testing.TB) {
	t.Helper()
	if m, ok := Compat(); ok {
		t.Skipf("a 32-bit task on this %s kernel: syscalls:sys_enter_*/sys_exit_* never fire for its system calls (ARCH_TRACE_IGNORE_COMPAT_SYSCALLS); only raw_syscalls:* do", m)
	}
}
