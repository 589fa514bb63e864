package tools

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"runtime"
	"sort"
	"strconv"
	"time"

	"github.com/tracelet/tracelet/asm"
	"github.com/tracelet/tracelet/bpf"
	"github.com/tracelet/tracelet/metrics"
)

// SyscountOptions configure Syscount.
type SyscountOptions struct {
	Common
	Pid       int           // -p
	ByProcess bool          // -P: count by process, not by syscall
	Latency   bool          // -L: also time the calls
	Failed    bool          // -x: only failed calls
	Errno     int           // -e: only calls failing with this errno
	Interval  time.Duration // -i: report every Interval (0: once, at the end)
}

// SyscountRow is one line of a report.
type SyscountRow struct {
	Key   int           `json:"key"`  // syscall number, or pid with -P
	Name  string        `json:"name"` // syscall name, or comm with -P
	Count uint64        `json:"count"`
	Total time.Duration `json:"total_ns,omitempty"`
}

// SyscountReport is the table of one interval.
type SyscountReport struct {
	Time time.Time     `json:"-"`
	Rows []SyscountRow `json:"rows"` // sorted: by Total with Latency, else by Count
}

// syscallIDFromEntry: this architecture's raw_syscalls:sys_exit id cannot
// be trusted after a signal handler (see Syscount).
var syscallIDFromEntry = runtime.GOARCH == "riscv64"

// Syscount counts system calls (raw_syscalls:sys_enter/sys_exit) until ctx
// ends, calling fn with each interval's report and a last one at the end.
// The counts are kept in the kernel and only grow; each report is the
// difference from the one before. Emptying the map after a read would lose
// every call counted between the read and the delete (a BPF program may
// still hold the old element and add to it after the delete), which
// showed as a few dozen calls missing per burst under TCG.
//
// Kept hand-written (issue 18). `make bench BENCH_FLAGS='-only scripted'`
// runs it beside bench/scripts/syscount.bt, the same tool as a tracelet
// script, on the same workload (5 rounds, medians, script ÷ this tool,
// BENCHMARKS.md "Hand-written or script"):
// start-up (exec to attached) is 1.80× (9.9 ms against 5.7) and peak RSS
// 1.47× (9.1 MB against 6.1); per getppid(2) the loop is 1.07× (355 ns
// against 328, 216 untraced) and neither tracer spends CPU per call (the
// counts stay in the kernel). The script cannot name syscalls (the
// per-architecture tables are Go), sort the top N by count, take -P,
// -e's errno names or -i, nor give the JSON Lines and metric names.
func Syscount(ctx context.Context, o SyscountOptions, fn func(*SyscountReport) error) error {
	if _, err := o.resolve("syscount", false); err != nil {
		return err
	}
	s, err := newSession()
	if err != nil {
		return err
	}
	defer s.Close()
	data, err := s.newMap(bpf.MapSpec{Name: "data", Type: bpf.Hash, KeySize: 4, ValueSize: 32, MaxEntries: 10240})
	if err != nil {
		return err
	}
	start, err := s.newMap(bpf.MapSpec{Name: "start", Type: bpf.Hash, KeySize: 8, ValueSize: 16, MaxEntries: 10240})
	if err != nil {
		return err
	}
	maps := map[string]*bpf.Map{"data": data, "start": start}
	xf, err := s.format("raw_syscalls", "sys_exit")
	if err != nil {
		return err
	}
	xfs, err := fields(xf, "id", "ret")
	if err != nil {
		return err
	}
	const key, val, ptkey = -4, -40, -48
	// pair: the exit takes the call's number from its entry. Latency
	// needs the entry's time anyway; on riscv64 the exit's own id cannot
	// be trusted: after a signal handler, rt_sigreturn's exit carries the
	// a7 it restored, the number of the call the signal interrupted (the
	// riscv64 guest counted kill 308 times for 300 calls, beside 8 of the
	// Go runtime's preemption signals), where x86 and arm64 give -1.
	pair := o.Latency || syscallIDFromEntry
	if pair {
		ef, err := s.format("raw_syscalls", "sys_enter")
		if err != nil {
			return err
		}
		efs, err := fields(ef, "id")
		if err != nil {
			return err
		}
		ldEnterID, _ := ctxField(asm.R7, efs[0])
		e := prologue()
		e = append(e, tgidFilter(o.Pid, "out")...)
		e = append(e, ldEnterID...)
		e = append(e, asm.StoreMem(asm.R10, val+8, asm.R7, asm.DWord), asm.StoreImm(asm.R10, val, 0, asm.DWord))
		e = append(e, asm.FnGetCurrentPidTgid.Call(), asm.StoreMem(asm.R10, ptkey, asm.R0, asm.DWord))
		if o.Latency {
			e = append(e, asm.FnKtimeGetNs.Call(), asm.StoreMem(asm.R10, val, asm.R0, asm.DWord))
		}
		e = append(e, mapUpdate("start", ptkey, val, 0)...)
		e = append(e, epilogue("out")...)
		p, err := s.newProgram(bpf.ProgramSpec{Name: "sc_enter", Type: bpf.TracePoint, Instructions: e, Maps: maps})
		if err != nil {
			return err
		}
		if err := s.attach(p, "raw_syscalls", "sys_enter"); err != nil {
			return err
		}
	}
	ldID, _ := ctxField(asm.R7, xfs[0])
	ldRet, _ := ctxField(asm.R1, xfs[1])
	x := prologue()
	x = append(x, tgidFilter(o.Pid, "out")...)
	x = append(x, ldID...)
	x = append(x, asm.JSLT.Imm(asm.R7, 0, "out"))
	x = append(x, ldRet...)
	switch {
	case o.Errno > 0:
		x = append(x, asm.JNE.Imm(asm.R1, int32(-o.Errno), "out"))
	case o.Failed:
		x = append(x, asm.JSGE.Imm(asm.R1, 0, "out"))
	}
	x = append(x, asm.Mov.Imm(asm.R8, 0))
	if pair {
		x = append(x, asm.FnGetCurrentPidTgid.Call(), asm.StoreMem(asm.R10, ptkey, asm.R0, asm.DWord))
		x = append(x, mapLookup("start", ptkey)...)
		// No entry: a call that began before the trace. -L cannot time
		// it; a count keeps the exit's own number, which only a signal
		// return gets wrong.
		unpaired := "out"
		if !o.Latency {
			unpaired = "paired"
		}
		x = append(x, asm.JEq.Imm(asm.R0, 0, unpaired),
			asm.LoadMem(asm.R7, asm.R0, 8, asm.DWord))
		if o.Latency {
			x = append(x, asm.LoadMem(asm.R8, asm.R0, 0, asm.DWord),
				asm.FnKtimeGetNs.Call(),
				asm.Sub.Reg(asm.R0, asm.R8),
				asm.Mov.Reg(asm.R8, asm.R0))
		}
		x = append(x, mapDelete("start", ptkey)...)
	}
	// The key, where an exit without an entry ("paired") goes on.
	k := asm.Instructions{asm.StoreMem(asm.R10, key, asm.R7, asm.Word)}
	if o.ByProcess {
		k = asm.Instructions{asm.FnGetCurrentPidTgid.Call(), asm.RSh.Imm(asm.R0, 32), asm.StoreMem(asm.R10, key, asm.R0, asm.Word)}
	}
	k[0] = k[0].WithSymbol("paired")
	x = append(x, k...)
	x = append(x, mapLookup("data", key)...)
	x = append(x, asm.JNE.Imm(asm.R0, 0, "add"))
	x = append(x, zeroStack(val, 32)...)
	if o.ByProcess {
		x = append(x, asm.Mov.Reg(asm.R1, asm.R10), asm.Add.Imm(asm.R1, val+16), asm.Mov.Imm(asm.R2, 16), asm.FnGetCurrentComm.Call())
	}
	x = append(x, mapUpdate("data", key, val, 1 /* BPF_NOEXIST: another CPU may have won */)...)
	x = append(x, mapLookup("data", key)...)
	x = append(x, asm.JEq.Imm(asm.R0, 0, "out"),
		asm.Mov.Imm(asm.R1, 1).WithSymbol("add"),
		asm.AtomicAdd.Mem(asm.R0, 0, asm.R1, asm.DWord),
		asm.AtomicAdd.Mem(asm.R0, 8, asm.R8, asm.DWord))
	x = append(x, epilogue("out")...)
	p, err := s.newProgram(bpf.ProgramSpec{Name: "sc_exit", Type: bpf.TracePoint, Instructions: x, Maps: maps})
	if err != nil {
		return err
	}
	if err := s.attach(p, "raw_syscalls", "sys_exit"); err != nil {
		return err
	}
	o.ready()
	stop, err := o.serveMetrics(func() ([]metrics.Family, error) { return syscountFamilies(data, o) })
	if err != nil {
		return err
	}

	// prev holds each key's totals at the last report.
	type totals struct{ count, ns uint64 }
	prev := map[uint32]totals{}
	report := func() error {
		r := &SyscountReport{Time: time.Now()}
		k, v := make([]byte, 4), make([]byte, 32)
		var idle [][]byte
		it := data.Iterate()
		for it.Next(k, v) {
			key := binary.NativeEndian.Uint32(k)
			now := totals{binary.NativeEndian.Uint64(v), binary.NativeEndian.Uint64(v[8:])}
			was := prev[key]
			prev[key] = now
			if now.count == was.count {
				// Syscall numbers are few, but with -P every process that
				// ever ran has a key: those idle for a whole interval go,
				// so the map stays bounded. A call racing that delete is
				// the only one that can be lost.
				if o.ByProcess {
					idle = append(idle, append([]byte(nil), k...))
				}
				continue
			}
			row := SyscountRow{Key: int(key), Count: now.count - was.count, Total: time.Duration(now.ns - was.ns)}
			if o.ByProcess {
				row.Name = cstring(v[16:32])
			} else {
				row.Name = SyscallName(row.Key)
			}
			r.Rows = append(r.Rows, row)
		}
		if err := it.Err(); err != nil {
			return err
		}
		for _, k := range idle {
			if data.Delete(k) == nil {
				delete(prev, binary.NativeEndian.Uint32(k))
			}
		}
		sort.SliceStable(r.Rows, func(i, j int) bool {
			if o.Latency && r.Rows[i].Total != r.Rows[j].Total {
				return r.Rows[i].Total > r.Rows[j].Total
			}
			if r.Rows[i].Count != r.Rows[j].Count {
				return r.Rows[i].Count > r.Rows[j].Count
			}
			return r.Rows[i].Key < r.Rows[j].Key
		})
		return fn(r)
	}
	return reportThenStop(ctx, o.Interval, report, stop)
}

// SyscallName names a system call number of this architecture.
func SyscallName(nr int) string {
	if n, ok := syscallNames[nr]; ok {
		return n
	}
	return "syscall_" + strconv.Itoa(nr)
}

// PrintSyscount prints a report as libbpf-tools' syscount does: the top
// rows, with times in µs (or ms).
func PrintSyscount(w io.Writer, r *SyscountReport, o SyscountOptions, top int, ms bool) {
	col := "SYSCALL"
	if o.ByProcess {
		col = "PID    COMM"
	}
	unit, div := "TIME (us)", 1e3
	if ms {
		unit, div = "TIME (ms)", 1e6
	}
	fmt.Fprintf(w, "[%s]\n", r.Time.Format("15:04:05"))
	if o.Latency {
		fmt.Fprintf(w, "%-22s %8s %16s\n", col, "COUNT", unit)
	} else {
		fmt.Fprintf(w, "%-22s %8s\n", col, "COUNT")
	}
	for i, row := range r.Rows {
		if top > 0 && i >= top {
			break
		}
		name := row.Name
		if o.ByProcess {
			name = fmt.Sprintf("%-6d %-15s", row.Key, row.Name)
		}
		if o.Latency {
			fmt.Fprintf(w, "%-22s %8d %16.3f\n", name, row.Count, float64(row.Total)/div)
		} else {
			fmt.Fprintf(w, "%-22s %8d\n", name, row.Count)
		}
	}
	fmt.Fprintln(w)
}
