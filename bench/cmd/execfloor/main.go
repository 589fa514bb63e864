// Command execfloor is make bench's start-up floor with exec: a static Go
// binary that loads the empty program, attaches it to a probe as a tool
// does (one perf event, PERF_EVENT_IOC_SET_BPF, enable), and prints one
// line when the probe is first hit. Exec to that line is what no tool
// written in Go can beat: exec, the Go runtime's start, the load and the
// attach, and the wait for the trigger.
//
// The program returns 1 instead of 0, so that the kernel goes on to count
// the hit in a second perf event of the probe, without a program, bound to
// the trigger's process PID on every CPU; that count is polled every 20 µs,
// so the line comes at most that late. It is otherwise the empty program
// of the attach-only floor.
//
//	execfloor PID tracepoint SYSTEM EVENT
//	execfloor PID uprobe PATH OFFSET
package main

import (
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/tracelet/tracelet/asm"
	"github.com/tracelet/tracelet/bpf"
	"github.com/tracelet/tracelet/perf"
	"github.com/tracelet/tracelet/tracefs"
	"golang.org/x/sys/unix"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "execfloor:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) != 4 {
		return fmt.Errorf("usage: execfloor PID tracepoint SYSTEM EVENT | PID uprobe PATH OFFSET")
	}
	pid, err := strconv.Atoi(args[0])
	if err != nil {
		return err
	}
	args = args[1:]
	var a *perf.Attr
	var typ bpf.ProgramType
	switch args[0] {
	case "tracepoint":
		fs, err := tracefs.Find()
		if err != nil {
			return err
		}
		id, err := fs.EventID(args[1], args[2])
		if err != nil {
			return err
		}
		if a, err = perf.Tracepoint(uint64(id), 0); err != nil {
			return err
		}
		typ = bpf.TracePoint
	case "uprobe":
		off, err := strconv.ParseUint(args[2], 0, 64)
		if err != nil {
			return err
		}
		if a, err = perf.Uprobe(args[1], off, false, 0); err != nil {
			return err
		}
		typ = bpf.Kprobe
	default:
		return fmt.Errorf("%q: want tracepoint or uprobe", args[0])
	}
	a.Sample = 0 // counting
	prog, err := bpf.NewProgram(bpf.ProgramSpec{Name: "floor_exec", Type: typ, License: "GPL",
		Instructions: asm.Instructions{asm.Mov.Imm(asm.R0, 1), asm.Return()}})
	if err != nil {
		return err
	}
	defer prog.Close()
	cpus, err := perf.OnlineCPUs()
	if err != nil {
		return err
	}
	ev, err := perf.Open(a, -1, cpus[0], nil, 0)
	if err != nil {
		return err
	}
	defer ev.Close()
	if err := ev.SetBPF(prog.FD()); err != nil {
		return fmt.Errorf("PERF_EVENT_IOC_SET_BPF: %w", err)
	}
	if err := ev.Enable(); err != nil {
		return err
	}
	ca := *a
	ca.Read_format = unix.PERF_FORMAT_ID | unix.PERF_FORMAT_LOST // as ReadCount reads
	hits, err := perf.Open(&ca, pid, -1, nil, 0)
	if err != nil {
		return err
	}
	defer hits.Close()
	if err := hits.Enable(); err != nil {
		return err
	}
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Microsecond) {
		c, err := hits.ReadCount()
		if err != nil {
			return err
		}
		if c.Value > 0 {
			fmt.Println("hit")
			return nil
		}
	}
	return fmt.Errorf("no hit in 30 s")
}
