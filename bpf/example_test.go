package bpf_test

import (
	"fmt"
	"runtime"

	"github.com/tracelet/tracelet/asm"
	"github.com/tracelet/tracelet/bpf"
	"golang.org/x/sys/unix"
)

// Count one thread's getppid calls with a program on the syscall
// tracepoint. eventID is the id file of events/syscalls/sys_enter_getppid.
func Example() {
	var eventID uint64 // read from tracefs
	runtime.LockOSThread()
	counts, err := bpf.NewMap(bpf.MapSpec{Name: "counts", Type: bpf.PerCPUArray, KeySize: 4, ValueSize: 8, MaxEntries: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer counts.Close()
	prog, err := bpf.NewProgram(bpf.ProgramSpec{
		Name: "count", Type: bpf.TracePoint, License: "GPL",
		Maps: map[string]*bpf.Map{"counts": counts},
		Instructions: asm.Instructions{
			asm.FnGetCurrentPidTgid.Call(),
			asm.JNE.Imm32(asm.R0, int32(unix.Gettid()), "out"),
			asm.StoreImm(asm.R10, -4, 0, asm.Word),
			asm.Mov.Reg(asm.R2, asm.R10),
			asm.Add.Imm(asm.R2, -4),
			asm.LoadMapPtr(asm.R1, "counts"),
			asm.FnMapLookupElem.Call(),
			asm.JEq.Imm(asm.R0, 0, "out"),
			asm.Mov.Imm(asm.R1, 1),
			asm.AtomicAdd.Mem(asm.R0, 0, asm.R1, asm.DWord),
			asm.Mov.Imm(asm.R0, 0).WithSymbol("out"),
			asm.Return(),
		},
	})
	if err != nil {
		fmt.Printf("%+v\n", err) // the whole verifier log
		return
	}
	defer prog.Close()
	fd, err := bpf.OpenTraceEvent(eventID)
	if err != nil {
		fmt.Println(err)
		return
	}
	link, err := bpf.AttachPerfEvent(prog, fd, bpf.AttachOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	unix.Getppid()
	link.Close()
	n, _ := counts.SumPerCPU(bpf.Uint32Key(0))
	fmt.Println(n)
}

func ExampleFeatures() {
	for _, f := range bpf.Features() {
		status := "ok"
		if f.Err != nil {
			status = f.Err.Error()
		}
		fmt.Printf("%-40s %s\n", f.Name, status)
	}
}
