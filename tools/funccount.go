package tools

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"sort"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/tracelet/tracelet/asm"
	"github.com/tracelet/tracelet/bpf"
	"github.com/tracelet/tracelet/metrics"
	"github.com/tracelet/tracelet/perf"
)

// FunccountOptions configure Funccount.
type FunccountOptions struct {
	Common
	Pid      int           // -p
	Interval time.Duration // -i (0: one report at the end)
}

// FuncCount is one probe point's count.
type FuncCount struct {
	Name  string `json:"func"`
	Count uint64 `json:"count"`
}

// FunccountReport is one interval.
type FunccountReport struct {
	Time time.Time   `json:"-"`
	Rows []FuncCount `json:"rows"` // by count, largest last (as bcc prints them)
}

// Funccount counts hits of every target of pattern (see ResolvePattern)
// until ctx ends, reporting each interval and at the end. With BPF each
// probe point runs a program that adds to its slot of a per-CPU array; the
// tracefs backend opens each event as a perf counter (no BPF, no ring).
//
// Kept hand-written (issue 18). `make bench BENCH_FLAGS='-only scripted'`
// runs it beside a one-probe program (the pattern t:syscalls:sys_enter_getppid), the same tool as a tracelet
// script, on the same workload (5 rounds, medians, script ÷ this tool,
// BENCHMARKS.md "Hand-written or script"):
// start-up (exec to attached) is 2.09× (9.4 ms against 4.5) and peak RSS
// 1.39× (8.9 MB against 6.4); per call the loop is 1.12× (354 ns against
// 311). And no script can be this tool: its PATTERN (k:, u:, t:,
// wildcards) is the attach point, which a script's flags, -D macros,
// cannot name; the tracefs backend counts with perf counters, no BPF.
func Funccount(ctx context.Context, pattern string, o FunccountOptions, fn func(*FunccountReport) error) error {
	backend, err := o.resolve("funccount", true)
	if err != nil {
		return err
	}
	targets, err := ResolvePattern(pattern, o.Pid)
	if err != nil {
		return err
	}
	s, err := newSession()
	if err != nil {
		return err
	}
	defer s.Close()
	// Every target becomes a tracefs event: probes in our group.
	type ev struct{ system, event string }
	evs := make([]ev, len(targets))
	for i, t := range targets {
		if t.Kind == TracepointTarget {
			evs[i] = ev{t.System, t.Event}
			continue
		}
		name, err := s.addTargetProbe(t, false)
		if err != nil {
			return err
		}
		evs[i] = ev{s.group, name}
	}
	var read func() ([]uint64, error)
	if backend == BackendTracefs {
		read, err = countersTracefs(s, o.Pid, func(i int) (string, string) { return evs[i].system, evs[i].event }, len(evs))
	} else {
		read, err = countersBPF(s, o.Pid, targets, func(i int) (string, string) { return evs[i].system, evs[i].event })
	}
	if err != nil {
		return err
	}
	o.ready()
	stop, err := o.serveMetrics(func() ([]metrics.Family, error) {
		counts, err := read()
		if err != nil {
			return nil, err
		}
		return funccountFamilies(targets, counts), nil
	})
	if err != nil {
		return err
	}
	last := make([]uint64, len(targets))
	report := func() error {
		counts, err := read()
		if err != nil {
			return err
		}
		r := &FunccountReport{Time: time.Now()}
		for i, c := range counts {
			if d := c - last[i]; d > 0 {
				r.Rows = append(r.Rows, FuncCount{Name: targets[i].Name, Count: d})
			}
		}
		copy(last, counts)
		sort.SliceStable(r.Rows, func(i, j int) bool { return r.Rows[i].Count < r.Rows[j].Count })
		return fn(r)
	}
	return reportThenStop(ctx, o.Interval, report, stop)
}

func countersBPF(s *session, pid int, targets []Target, event func(int) (string, string)) (func() ([]uint64, error), error) {
	counts, err := s.newMap(bpf.MapSpec{Name: "counts", Type: bpf.PerCPUArray, KeySize: 4, ValueSize: 8, MaxEntries: uint32(len(targets))})
	if err != nil {
		return nil, err
	}
	maps := map[string]*bpf.Map{"counts": counts}
	for i, t := range targets {
		typ := bpf.Kprobe
		if t.Kind == TracepointTarget {
			typ = bpf.TracePoint
		}
		p := prologue()
		p = append(p, tgidFilter(pid, "out")...)
		p = append(p, asm.StoreImm(asm.R10, -4, int32(i), asm.Word))
		p = append(p, mapLookup("counts", -4)...)
		p = append(p, asm.JEq.Imm(asm.R0, 0, "out"),
			// Per-CPU: no other CPU writes this value, no atomic needed.
			asm.LoadMem(asm.R1, asm.R0, 0, asm.DWord),
			asm.Add.Imm(asm.R1, 1),
			asm.StoreMem(asm.R0, 0, asm.R1, asm.DWord))
		p = append(p, epilogue("out")...)
		prog, err := s.newProgram(bpf.ProgramSpec{Name: "count", Type: typ, Instructions: p, Maps: maps})
		if err != nil {
			return nil, err
		}
		sys, e := event(i)
		if err := s.attach(prog, sys, e); err != nil {
			return nil, err
		}
	}
	return func() ([]uint64, error) {
		out := make([]uint64, len(targets))
		for i := range targets {
			n, err := counts.SumPerCPU(bpf.Uint32Key(uint32(i)))
			if err != nil {
				return nil, err
			}
			out[i] = n
		}
		return out, nil
	}, nil
}

// countersTracefs opens each event as a counting perf event (no sampling,
// no ring): per CPU for every process, or on every thread of pid with
// inherit.
func countersTracefs(s *session, pid int, event func(int) (string, string), n int) (func() ([]uint64, error), error) {
	all := make([][]*perf.Event, n)
	for i := range n {
		sys, e := event(i)
		id, err := s.fs.EventID(sys, e)
		if err != nil {
			return nil, err
		}
		attr := &perf.Attr{PerfEventAttr: unix.PerfEventAttr{
			Type: unix.PERF_TYPE_TRACEPOINT, Config: uint64(id),
			Size: uint32(unsafe.Sizeof(unix.PerfEventAttr{})), Bits: unix.PerfBitDisabled,
		}}
		var pes []*perf.Event
		if pid > 0 {
			pes, err = perf.OpenProcess(attr, pid, nil)
		} else {
			pes, err = perf.OpenCPUs(attr, -1, nil, 0)
		}
		if err != nil {
			return nil, fmt.Errorf("%s:%s: %w", sys, e, err)
		}
		s.onDetach(func() error { return perf.CloseAll(pes) })
		for _, pe := range pes {
			if err := pe.Enable(); err != nil {
				return nil, err
			}
		}
		all[i] = pes
	}
	return func() ([]uint64, error) {
		// A scrape (--metrics) reads beside the report loop: no shared buffer.
		buf := make([]byte, 8)
		out := make([]uint64, n)
		for i, pes := range all {
			for _, pe := range pes {
				if _, err := unix.Read(pe.FD(), buf); err != nil {
					return nil, err
				}
				out[i] += binary.NativeEndian.Uint64(buf)
			}
		}
		return out, nil
	}, nil
}

// PrintFunccount prints a report as bcc's funccount does.
func PrintFunccount(w io.Writer, r *FunccountReport, interval bool) {
	if interval {
		fmt.Fprintf(w, "\n%s\n", r.Time.Format("15:04:05"))
	}
	fmt.Fprintf(w, "%-36s %8s\n", "FUNC", "COUNT")
	for _, row := range r.Rows {
		fmt.Fprintf(w, "%-36s %8d\n", row.Name, row.Count)
	}
}
