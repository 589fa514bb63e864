package bpf

import (
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/tracelet/tracelet/asm"
	"github.com/tracelet/tracelet/internal/testenv"
	"golang.org/x/sys/unix"
)

// BenchmarkTracepointProgram is what a program costs a hit of
// sys_enter_getppid, step by step up to tracelet's `@[comm] = count()`:
// nothing attached; the empty program; bpf_get_current_comm alone; with a
// lookup of the comm in a per-CPU hash (a hit, the key is made first);
// with the XADD on the value, which is the whole count(). Each program
// returns 1 on a counting event, as run's do (OpenTraceEventCounting).
// ns/op is one getppid(2) of the benchmark's locked thread; the
// differences between the rows are each step's cost.
//
//	go test -run '^$' -bench TracepointProgram -count 5 ./bpf
func BenchmarkTracepointProgram(b *testing.B) {
	testenv.RequireRoot(b)
	testenv.RequireSyscallEvents(b)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	id := tracepointID(b, "syscalls", "sys_enter_getppid")
	m := mustMap(b, MapSpec{Name: "counts", Type: PerCPUHash, KeySize: 16, ValueSize: 8, MaxEntries: 64})
	// This thread's comm, the key the programs look up.
	comm, err := os.ReadFile("/proc/thread-self/comm")
	if err != nil {
		b.Fatal(err)
	}
	var key [16]byte
	copy(key[:15], strings.TrimSuffix(string(comm), "\n"))
	vals := make([]byte, 8*possibleCPUs(b))
	if err := m.Update(key[:], vals, UpdateAny); err != nil {
		b.Fatal(err)
	}
	getComm := asm.Instructions{
		asm.Mov.Reg(asm.R1, asm.R10),
		asm.Add.Imm(asm.R1, -16),
		asm.Mov.Imm(asm.R2, 16),
		asm.FnGetCurrentComm.Call(),
	}
	lookup := asm.Instructions{
		asm.LoadMapPtr(asm.R1, "counts"),
		asm.Mov.Reg(asm.R2, asm.R10),
		asm.Add.Imm(asm.R2, -16),
		asm.FnMapLookupElem.Call(),
		asm.JEq.Imm(asm.R0, 0, "out"),
	}
	xadd := asm.Instructions{
		asm.Mov.Imm(asm.R1, 1),
		asm.AtomicAdd.Mem(asm.R0, 0, asm.R1, asm.DWord),
	}
	cat := func(parts ...asm.Instructions) asm.Instructions {
		var out asm.Instructions
		for _, p := range parts {
			out = append(out, p...)
		}
		return append(out, asm.Mov.Imm(asm.R0, 1).WithSymbol("out"), asm.Return())
	}
	for _, v := range []struct {
		name  string
		insns asm.Instructions
	}{
		{"untraced", nil},
		{"empty", cat()},
		{"comm", cat(getComm)},
		{"comm+lookup", cat(getComm, lookup)},
		{"count", cat(getComm, lookup, xadd)},
	} {
		b.Run(v.name, func(b *testing.B) {
			if v.insns != nil {
				prog, err := NewProgram(ProgramSpec{Name: "cost", Type: TracePoint, License: "GPL", Instructions: v.insns, Maps: map[string]*Map{"counts": m}})
				if err != nil {
					b.Fatal(err)
				}
				defer prog.Close()
				fd, err := OpenTraceEventCounting(id)
				if err != nil {
					b.Fatal(err)
				}
				link, err := AttachPerfEvent(prog, fd, AttachOptions{Mode: AttachIoctl})
				if err != nil {
					unix.Close(fd)
					b.Fatal(err)
				}
				defer link.Close()
			}
			for b.Loop() {
				unix.Getppid()
			}
		})
	}
}
