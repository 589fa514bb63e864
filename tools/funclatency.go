package tools

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/tracelet/tracelet/asm"
	"github.com/tracelet/tracelet/bpf"
	"github.com/tracelet/tracelet/metrics"
)

// Log2Slots is the number of histogram slots, as libbpf-tools' funclatency
// has them.
const Log2Slots = 25

// Unit is the unit of a latency histogram.
type Unit int

// Units.
const (
	Nanoseconds Unit = iota
	Microseconds
	Milliseconds
)

func (u Unit) div() int32 { return [...]int32{1, 1000, 1000000}[u] }

// Name is the histogram's column title, as libbpf-tools prints it.
func (u Unit) Name() string { return [...]string{"nsec", "usec", "msec"}[u] }

// FunclatencyOptions configure Funclatency.
type FunclatencyOptions struct {
	Common
	Pid      int           // -p
	Unit     Unit          // -m, -u (µs by default: set Microseconds)
	Interval time.Duration // -i
}

// Histogram is a log2 histogram: Slots[i] counts values in [2^i, 2^(i+1)),
// slot 0 also counting 0.
type Histogram struct {
	Time  time.Time `json:"-"`
	Unit  string    `json:"unit"`
	Slots []uint64  `json:"slots"`
}

// Count is the number of values.
func (h *Histogram) Count() uint64 {
	var n uint64
	for _, v := range h.Slots {
		n += v
	}
	return n
}

// Funclatency times one function (pattern as in ResolvePattern; it must
// match exactly one probe point) from entry to return, into a log2
// histogram kept in the kernel, until ctx ends.
//
// Kept hand-written (issue 18). `make bench BENCH_FLAGS='-only scripted'`
// runs it beside a uprobe/uretprobe program on the same function, the same tool as a tracelet
// script, on the same workload (5 rounds, medians, script ÷ this tool,
// BENCHMARKS.md "Hand-written or script"):
// start-up (exec to attached) is 0.55× (9.4 ms against 16.9), peak RSS
// 1.23× (9.3 MB against 7.6), per call 1.07× (52.9 µs against 49.4; the
// two traps dominate). No script can be this tool: its FUNCTION is the
// attach point, which a script's -D macros cannot name, and run -e draws
// bpftrace's histogram, not libbpf-tools' (-m/-u/-n units, -i).
func Funclatency(ctx context.Context, pattern string, o FunclatencyOptions, fn func(*Histogram) error) error {
	if _, err := o.resolve("funclatency", false); err != nil {
		return err
	}
	targets, err := ResolvePattern(pattern, o.Pid)
	if err != nil {
		return err
	}
	if len(targets) != 1 || targets[0].Kind == TracepointTarget {
		names := make([]string, 0, 4)
		for i, t := range targets {
			if i == 4 {
				names = append(names, "...")
				break
			}
			names = append(names, t.Name)
		}
		return fmt.Errorf("pattern %q: funclatency times one function, it matches %s", pattern, strings.Join(names, ", "))
	}
	s, err := newSession()
	if err != nil {
		return err
	}
	defer s.Close()
	starts, err := s.newMap(bpf.MapSpec{Name: "starts", Type: bpf.Hash, KeySize: 8, ValueSize: 8, MaxEntries: 10240})
	if err != nil {
		return err
	}
	hist, err := s.newMap(bpf.MapSpec{Name: "hist", Type: bpf.Array, KeySize: 4, ValueSize: 8, MaxEntries: Log2Slots})
	if err != nil {
		return err
	}
	maps := map[string]*bpf.Map{"starts": starts, "hist": hist}
	entryName, err := s.addTargetProbe(targets[0], false)
	if err != nil {
		return err
	}
	retName, err := s.addTargetProbe(targets[0], true)
	if err != nil {
		return err
	}

	const key, val = -8, -16
	e := prologue()
	e = append(e, tgidFilter(o.Pid, "out")...)
	e = append(e, asm.FnGetCurrentPidTgid.Call(), asm.StoreMem(asm.R10, key, asm.R0, asm.DWord),
		asm.FnKtimeGetNs.Call(), asm.StoreMem(asm.R10, val, asm.R0, asm.DWord))
	e = append(e, mapUpdate("starts", key, val, 0)...)
	e = append(e, epilogue("out")...)
	entry, err := s.newProgram(bpf.ProgramSpec{Name: "fl_entry", Type: bpf.Kprobe, Instructions: e, Maps: maps})
	if err != nil {
		return err
	}

	r := prologue()
	r = append(r, asm.FnGetCurrentPidTgid.Call(), asm.StoreMem(asm.R10, key, asm.R0, asm.DWord))
	r = append(r, mapLookup("starts", key)...)
	r = append(r, asm.JEq.Imm(asm.R0, 0, "out"),
		asm.LoadMem(asm.R7, asm.R0, 0, asm.DWord),
		asm.FnKtimeGetNs.Call(),
		asm.Sub.Reg(asm.R0, asm.R7),
		asm.Mov.Reg(asm.R7, asm.R0))
	r = append(r, mapDelete("starts", key)...)
	if d := o.Unit.div(); d != 1 {
		r = append(r, asm.Div.Imm(asm.R7, d))
	}
	r = append(r, log2(asm.R7, asm.R8)...)
	r = append(r, asm.JLT.Imm(asm.R8, Log2Slots, "slot"),
		asm.Mov.Imm(asm.R8, Log2Slots-1),
		asm.StoreMem(asm.R10, -4, asm.R8, asm.Word).WithSymbol("slot"))
	r = append(r, mapLookup("hist", -4)...)
	r = append(r, asm.JEq.Imm(asm.R0, 0, "out"),
		asm.Mov.Imm(asm.R1, 1),
		asm.AtomicAdd.Mem(asm.R0, 0, asm.R1, asm.DWord))
	r = append(r, epilogue("out")...)
	ret, err := s.newProgram(bpf.ProgramSpec{Name: "fl_return", Type: bpf.Kprobe, Instructions: r, Maps: maps})
	if err != nil {
		return err
	}
	if err := s.attach(ret, s.group, retName); err != nil {
		return err
	}
	if err := s.attach(entry, s.group, entryName); err != nil {
		return err
	}
	o.ready()

	// The slots only grow: each report is the difference from the last
	// (zeroing a slot after reading it would lose the hits in between).
	totals := func() (*Histogram, error) {
		h := &Histogram{Time: time.Now(), Unit: o.Unit.Name(), Slots: make([]uint64, Log2Slots)}
		v := make([]byte, 8)
		for i := range h.Slots {
			if err := hist.Lookup(bpf.Uint32Key(uint32(i)), v); err != nil {
				return nil, err
			}
			h.Slots[i] = binary.NativeEndian.Uint64(v)
		}
		return h, nil
	}
	stop, err := o.serveMetrics(func() ([]metrics.Family, error) {
		h, err := totals()
		if err != nil {
			return nil, err
		}
		return funclatencyFamilies(targets[0].Name, h, o.Unit), nil
	})
	if err != nil {
		return err
	}
	last := make([]uint64, Log2Slots)
	report := func() error {
		h, err := totals()
		if err != nil {
			return err
		}
		for i, c := range h.Slots {
			h.Slots[i], last[i] = c-last[i], c
		}
		return fn(h)
	}
	return reportThenStop(ctx, o.Interval, report, stop)
}

// log2 sets dst to floor(log2(v)) (0 for 0) without loops: halve the
// range five times, then look at the last bit. v is clobbered.
func log2(v, dst asm.Register) asm.Instructions {
	insns := asm.Instructions{
		asm.Mov.Imm(dst, 0),
		asm.Mov.Reg(asm.R1, v),
		asm.RSh.Imm(asm.R1, 32),
		asm.JEq.Imm(asm.R1, 0, "log2_16"),
		asm.Mov.Reg(v, asm.R1),
		asm.Mov.Imm(dst, 32),
	}
	for _, sh := range []int32{16, 8, 4, 2, 1} {
		next := fmt.Sprintf("log2_%d", sh/2)
		if sh == 1 {
			next = "log2_done"
		}
		insns = append(insns,
			asm.JLE.Imm(v, int32(1<<sh-1), next).WithSymbol(fmt.Sprintf("log2_%d", sh)),
			asm.RSh.Imm(v, sh),
			asm.Add.Imm(dst, sh))
	}
	return append(insns, asm.Mov.Reg(v, v).WithSymbol("log2_done"))
}

// PrintLog2Hist prints a histogram as libbpf-tools' print_log2_hist does.
func PrintLog2Hist(w io.Writer, h *Histogram) {
	idxMax := -1
	var valMax uint64
	for i, v := range h.Slots {
		if v > 0 {
			idxMax = i
		}
		if v > valMax {
			valMax = v
		}
	}
	if idxMax < 0 {
		return
	}
	fmt.Fprintf(w, "%*s%-*s : count    distribution\n", 5, "", 19, h.Unit)
	for i := 0; i <= idxMax; i++ {
		low, high := (uint64(1)<<(i+1))>>1, uint64(1)<<(i+1)-1
		if low == high {
			low--
		}
		v := h.Slots[i]
		fmt.Fprintf(w, "%*d -> %-*d : %-8d |%s|\n", 10, low, 10, high, v, stars(v, valMax, 40))
	}
}

func stars(v, max uint64, width int) string {
	n := int(min(v, max) * uint64(width) / max)
	s := strings.Repeat("*", n) + strings.Repeat(" ", width-n)
	if v > max {
		s += "+"
	}
	return s
}
