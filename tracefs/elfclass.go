package tracefs

import (
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/tracelet/tracelet/asm"
)

// ELFClass reads the identification of the ELF file at path: its class
// (ELFCLASS32 or ELFCLASS64) and machine. A uprobe's arguments follow the
// calling convention of the probed file, which on a 64-bit kernel may be
// a 32-bit one (i386 code under x86_64, arm code under arm64); see
// asm.Arch.ForELF. Only the header is read.
func ELFClass(path string) (elf.Class, elf.Machine, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, fmt.Errorf("tracefs: uprobe target: %w", err)
	}
	defer f.Close()
	var h [20]byte // e_ident[16], e_type, e_machine
	if _, err := io.ReadFull(f, h[:]); err != nil {
		return 0, 0, fmt.Errorf("tracefs: uprobe target %s: not an ELF file (%d-byte header: %v)", path, len(h), err)
	}
	if string(h[:4]) != elf.ELFMAG {
		return 0, 0, fmt.Errorf("tracefs: uprobe target %s: not an ELF file (magic %q)", path, h[:4])
	}
	class := elf.Class(h[elf.EI_CLASS])
	var m uint16
	switch elf.Data(h[elf.EI_DATA]) {
	case elf.ELFDATA2LSB:
		m = uint16(h[18]) | uint16(h[19])<<8
	case elf.ELFDATA2MSB:
		m = uint16(h[18])<<8 | uint16(h[19])
	default:
		return 0, 0, fmt.Errorf("tracefs: uprobe target %s: ELF data encoding %d is neither LSB nor MSB", path, h[elf.EI_DATA])
	}
	if class != elf.ELFCLASS32 && class != elf.ELFCLASS64 {
		return 0, 0, fmt.Errorf("tracefs: uprobe target %s: ELF class %d is neither 32 nor 64", path, h[elf.EI_CLASS])
	}
	return class, elf.Machine(m), nil
}

// ErrNoCompatUprobes is wrapped when a uprobe's file is 32-bit arm code and
// the kernel is arm64: arm64 places uprobes in AArch64 code only
// (arch/arm64/kernel/probes/uprobes.c, arch_uprobe_analyze_insn returns
// EOPNOTSUPP for an MMCF_AARCH32 mm, "we do not support AARCH32
// instruction probing", since uprobes came to arm64 in 4.10). The kernel
// accepts the event and then sets no breakpoint in a process that maps the
// file later, so tracelet refuses it before it records nothing.
var ErrNoCompatUprobes = errors.New("an arm64 kernel places no uprobe in 32-bit arm (AArch32) code")

// UprobeCode is the table that places the arguments of the code in the ELF
// file at path, for a uprobe on a kernel whose table is kernel: the
// kernel's own for native code, asm.Arch.ForELF's for a 32-bit process on
// a 64-bit kernel.
func UprobeCode(kernel *asm.Arch, path string) (*asm.Arch, error) {
	class, machine, err := ELFClass(path)
	if err != nil {
		return nil, err
	}
	code, err := kernel.ForELF(class, machine)
	if err != nil {
		return nil, fmt.Errorf("tracefs: uprobe target %s: %w", path, err)
	}
	if code.Compat() && kernel.GOARCH == "arm64" {
		return nil, fmt.Errorf("tracefs: uprobe target %s (ELF %s %s): %w", path, class, machine, ErrNoCompatUprobes)
	}
	return code, nil
}
