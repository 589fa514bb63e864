package tracefs

import (
	"slices"
	"sync"

	"github.com/tracelet/tracelet/kprobeevents"
	"golang.org/x/sys/unix"
)

// kernelMachine is the running kernel's uname -m, read once.
var kernelMachine = sync.OnceValue(func() string {
	var u unix.Utsname
	if unix.Uname(&u) != nil {
		return ""
	}
	return unix.ByteSliceToString(u.Machine[:])
})

// KernelArch is the architecture of the running kernel, from its uname
// machine. The kernel resolves a %REG fetcharg with its own
// regs_query_register_offset table, so this, not GOARCH, decides which
// registers a definition may name: a 386 tracelet on an x86_64 kernel
// writes %di, never %bx-and-$stack. It falls back to GOARCH's architecture
// when uname names none that kprobeevents knows.
func KernelArch() kprobeevents.Arch {
	if a, err := kprobeevents.ParseArch(kernelMachine()); err == nil {
		return a
	}
	return kprobeevents.HostArch()
}

// userArches are the architectures whose programs the running kernel runs,
// its own first, then its compat userland (an x86_64 kernel runs i386
// programs, an arm64 kernel arm ones), then GOARCH's: the ELF machines that
// a uprobe target can be.
func userArches() []kprobeevents.Arch {
	k := KernelArch()
	out := []kprobeevents.Arch{k}
	switch k {
	case kprobeevents.ArchX86_64:
		out = append(out, kprobeevents.ArchI386)
	case kprobeevents.ArchARM64:
		out = append(out, kprobeevents.ArchARM)
	}
	if h := kprobeevents.HostArch(); h != kprobeevents.ArchUnknown && !slices.Contains(out, h) {
		out = append(out, h)
	}
	return out
}
