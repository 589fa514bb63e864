package bpf

import (
	"fmt"
	"sync"

	"github.com/tracelet/tracelet/asm"
	"golang.org/x/sys/unix"
)

// KernelArch is the pt_regs table of the running kernel, chosen by its
// uname machine: what a kprobe or uprobe program's context really is. It
// differs from asm.HostArch when a 32-bit binary runs on a 64-bit kernel
// (GOARCH=386 on x86_64, arm on aarch64): the kernel saves every task's
// registers, a compat task's too, in its own struct pt_regs. The answer
// is read once.
func KernelArch() (*asm.Arch, error) { return kernelArch() }

var kernelArch = sync.OnceValues(func() (*asm.Arch, error) {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return nil, fmt.Errorf("bpf: uname: %w", err)
	}
	return asm.ArchForMachine(unix.ByteSliceToString(u.Machine[:]))
})
