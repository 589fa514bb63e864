package tools

import (
	"encoding/binary"
	"math"
	"strconv"

	"github.com/tracelet/tracelet/bpf"
	"github.com/tracelet/tracelet/metrics"
)

// The counting tools' --metrics families. Each is read from the kernel's
// running totals at scrape time, so counters only grow (a -P process idle
// for a whole interval leaves the map, and its series ends), and times
// are in seconds, as Prometheus names them.

// syscountFamilies: tracelet_syscount_calls_total by syscall (or by pid and
// comm with -P), and with -L the seconds spent in those calls.
func syscountFamilies(data *bpf.Map, o SyscountOptions) ([]metrics.Family, error) {
	what := "system calls"
	switch {
	case o.Errno > 0:
		what = "system calls failing with errno " + strconv.Itoa(o.Errno)
	case o.Failed:
		what = "failed system calls"
	}
	calls := metrics.Family{Name: "tracelet_syscount_calls", Kind: metrics.Counter, Help: what + " (raw_syscalls:sys_exit)", Labels: []string{"syscall"}}
	secs := metrics.Family{Name: "tracelet_syscount_seconds", Kind: metrics.Counter, Help: "time spent in " + what, Labels: calls.Labels}
	if o.ByProcess {
		calls.Labels = []string{"pid", "comm"}
		secs.Labels = calls.Labels
	}
	k, v := make([]byte, 4), make([]byte, 32)
	it := data.Iterate()
	for it.Next(k, v) {
		key := binary.NativeEndian.Uint32(k)
		labels := []string{SyscallName(int(key))}
		if o.ByProcess {
			labels = []string{strconv.FormatUint(uint64(key), 10), cstring(v[16:32])}
		}
		calls.Samples = append(calls.Samples, metrics.Sample{Labels: labels, Value: float64(binary.NativeEndian.Uint64(v))})
		secs.Samples = append(secs.Samples, metrics.Sample{Labels: labels, Value: float64(binary.NativeEndian.Uint64(v[8:])) / 1e9})
	}
	if err := it.Err(); err != nil {
		return nil, err
	}
	if !o.Latency {
		return []metrics.Family{calls}, nil
	}
	return []metrics.Family{calls, secs}, nil
}

// funccountFamilies: tracelet_funccount_calls_total by probe point.
func funccountFamilies(targets []Target, counts []uint64) []metrics.Family {
	f := metrics.Family{Name: "tracelet_funccount_calls", Kind: metrics.Counter, Help: "calls of each function or tracepoint", Labels: []string{"function"}}
	for i, c := range counts {
		f.Samples = append(f.Samples, metrics.Sample{Labels: []string{targets[i].Name}, Value: float64(c)})
	}
	return []metrics.Family{f}
}

// funclatencyFamilies: the log2 histogram as tracelet_funclatency_seconds.
// Slot i holds whole units in [2^i, 2^(i+1)) (slot 0 also 0), so its le is
// 2^(i+1)-1 units, and the last slot holds the rest (+Inf). The kernel keeps no sum of the times: _sum adds each
// slot's lower bound, a lower bound on the true sum (as run's hist() does).
func funclatencyFamilies(fn string, h *Histogram, u Unit) []metrics.Family {
	ns := float64(u.div())
	s := metrics.Sample{Labels: []string{fn}}
	var sum float64 // in units
	for i, c := range h.Slots {
		s.Count += c
		if i > 0 {
			sum += float64(c) * math.Ldexp(1, i)
		}
		le := (math.Ldexp(1, i+1) - 1) * ns / 1e9
		if i == len(h.Slots)-1 {
			le = math.Inf(1) // the last slot also takes everything longer
		}
		s.Buckets = append(s.Buckets, metrics.Bucket{UpperBound: le, Count: s.Count})
	}
	s.Sum = sum * ns / 1e9
	return []metrics.Family{{Name: "tracelet_funclatency_seconds", Kind: metrics.Histogram, Help: "time from entry to return, in log2 buckets of " + h.Unit, Labels: []string{"function"}, Samples: []metrics.Sample{s}}}
}
