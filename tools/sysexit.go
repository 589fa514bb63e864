package tools

import (
	"fmt"
	"strings"

	"github.com/tracelet/tracelet/asm"
	"github.com/tracelet/tracelet/kprobeevents"
	"github.com/tracelet/tracelet/tracefs"
)

// sysExit is the event that carries a syscall's return value as user
// space sees it: the result, or a negative errno.
//
// That is syscalls:sys_exit_SC everywhere but on MIPS. There the syscall
// events record syscall_get_return_value, which is v0: a failed call's
// errno, positive, with the error flag in a3, so a failure looks like a
// success. raw_syscalls:sys_exit records regs_return_value, which negates
// v0 when a3 is set; the tools read it there, picking SC by its number.
type sysExit struct {
	system, event string
	nr            int // SC's number on raw_syscalls, or -1 on its own event
}

// syscallExit is where syscall sc's exit is read on the running kernel.
func syscallExit(sc string) (sysExit, error) {
	if tracefs.KernelArch() != kprobeevents.ArchMIPS {
		return sysExit{"syscalls", "sys_exit_" + sc, -1}, nil
	}
	nr := o32Syscall(sc)
	if nr < 0 {
		return sysExit{}, fmt.Errorf("no o32 number for syscall %s", sc)
	}
	return sysExit{"raw_syscalls", "sys_exit", nr}, nil
}

// tp is the event for a tracefs stream, with filter (or "") added.
func (x sysExit) tp(filter string) tpEvent {
	if x.nr >= 0 {
		filter = strings.TrimSuffix(fmt.Sprintf("id == %d && %s", x.nr, filter), " && ")
	}
	return tpEvent{x.system, x.event, filter}
}

// guard goes to label "out" unless the hit is SC's: a program's first
// instructions after prologue, which puts the record in R6.
func (x sysExit) guard(f *tracefs.Format) (asm.Instructions, error) {
	if x.nr < 0 {
		return nil, nil
	}
	id, err := fields(f, "id")
	if err != nil {
		return nil, err
	}
	ld, err := ctxField(asm.R1, id[0])
	if err != nil {
		return nil, err
	}
	return append(ld, asm.JNE.Imm(asm.R1, int32(x.nr), "out")), nil
}

// exitProgram is what reads SC's exit: the record's format, and the
// program's first instructions (prologue and guard).
func (s *session) exitProgram(x sysExit) (*tracefs.Format, asm.Instructions, error) {
	f, err := s.format(x.system, x.event)
	if err != nil {
		return nil, nil, err
	}
	g, err := x.guard(f)
	if err != nil {
		return nil, nil, err
	}
	return f, append(prologue(), g...), nil
}

// o32Syscall is the MIPS o32 number of a syscall whose exit the tools
// read (arch/mips/kernel/syscalls/syscall_o32.tbl, plus 4000), or -1.
func o32Syscall(sc string) int {
	switch sc {
	case "open":
		return 4005
	case "execve":
		return 4011
	case "kill":
		return 4037
	case "tkill":
		return 4236
	case "tgkill":
		return 4266
	case "openat":
		return 4288
	case "execveat":
		return 4356
	case "openat2":
		return 4437
	}
	return -1
}
