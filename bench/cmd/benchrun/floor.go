package main

import (
	"fmt"

	"github.com/tracelet/tracelet/asm"
	"github.com/tracelet/tracelet/bpf"
	"github.com/tracelet/tracelet/perf"
	"github.com/tracelet/tracelet/tracefs"
)

// probeRef is the probe of an aggregation scenario: a tracepoint, or a
// uprobe at a file offset.
type probeRef struct {
	system, event string // a tracepoint
	path          string // a uprobe
	offset        uint64
}

// attr gives the probe's perf_event_attr. A uprobe goes through the uprobe
// PMU, as bpftrace's do: it lives exactly as long as its fds.
func (p probeRef) attr() (*perf.Attr, bpf.ProgramType, error) {
	if p.path != "" {
		a, err := perf.Uprobe(p.path, p.offset, false, 0)
		return a, bpf.Kprobe, err
	}
	fs, err := tracefs.Find()
	if err != nil {
		return nil, 0, err
	}
	id, err := fs.EventID(p.system, p.event)
	if err != nil {
		return nil, 0, err
	}
	a, err := perf.Tracepoint(uint64(id), 0)
	return a, bpf.TracePoint, err
}

// attachBare enables the probe with no program: a counting perf event
// (sample_period 0) on every CPU for every task. The kernel fires the probe
// and builds its record for the perf events, and only counts it: the floor
// under anything a tool does with the hit.
// The detach function returns the hits counted.
func attachBare(p probeRef) (func() (uint64, error), error) {
	a, _, err := p.attr()
	if err != nil {
		return nil, err
	}
	a.Sample = 0
	a.Sample_type = 0
	cpus, err := perf.OnlineCPUs()
	if err != nil {
		return nil, err
	}
	evs, err := perf.OpenCPUs(a, -1, cpus, 0)
	if err != nil {
		return nil, err
	}
	for _, e := range evs {
		if err := e.Enable(); err != nil {
			perf.CloseAll(evs)
			return nil, err
		}
	}
	return func() (uint64, error) {
		defer perf.CloseAll(evs)
		var hits uint64
		for _, e := range evs {
			c, err := e.ReadCount()
			if err != nil {
				return 0, err
			}
			hits += c.Value
		}
		return hits, nil
	}, nil
}

// attachEmpty attaches a BPF program that only returns 0 (`r0 = 0; exit`),
// which tells the kernel to drop the hit: the floor under any program.
// One perf event carries the program; it runs on every CPU's hits, as a
// program attached to a tracepoint or probe event does.
// The detach function cannot count hits (the program keeps none): it
// returns the maximum.
func attachEmpty(p probeRef) (func() (uint64, error), error) {
	a, typ, err := p.attr()
	if err != nil {
		return nil, err
	}
	prog, err := bpf.NewProgram(bpf.ProgramSpec{Name: "bench_empty", Type: typ, License: "GPL",
		Instructions: asm.Instructions{asm.Mov.Imm(asm.R0, 0), asm.Return()}})
	if err != nil {
		return nil, err
	}
	cpus, err := perf.OnlineCPUs()
	if err != nil {
		prog.Close()
		return nil, err
	}
	ev, err := perf.Open(a, -1, cpus[0], nil, 0)
	if err != nil {
		prog.Close()
		return nil, err
	}
	if err := ev.SetBPF(prog.FD()); err != nil {
		ev.Close()
		prog.Close()
		return nil, fmt.Errorf("PERF_EVENT_IOC_SET_BPF: %w", err)
	}
	if err := ev.Enable(); err != nil {
		ev.Close()
		prog.Close()
		return nil, err
	}
	return func() (uint64, error) { ev.Close(); prog.Close(); return ^uint64(0), nil }, nil
}
