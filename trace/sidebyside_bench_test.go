package trace

import (
	"fmt"
	"os"
	"testing"
	"time"
)

// The side-by-side benchmarks trace the same workload with tracelet, with
// bpftrace (the anchor: printf per event) and with perf-tools, in the same
// run, so that their ratios hold for the same machine and the same load.
//
// ns/op and ns/call are per call of the traced loop; slowdown-ns/call is
// ns/call minus the same loop's untraced time, measured in the same
// iteration just before (untimed); events/s is the events delivered per
// second from the loop's release to the last event reaching the consumer;
// lost is the calls whose event never arrived. The loop is not throttled,
// so with lost = 0, events/s is the highest rate the tool took without loss
// on this workload; with lost > 0 it is the rate it kept up with while
// dropping the rest.
//
//	go test -run '^$' -bench SideBySide -count 6 ./trace
//
// perf-tools uses the global trace buffer (see startPerfTools); nothing
// else may use it while these run.

// BenchmarkSideBySideUprobe: a uprobe on testprog's cabiTarget, called in a
// tight loop, reading two register arguments.
func BenchmarkSideBySideUprobe(b *testing.B) { sideBySide(b, cabiLoop) }

// BenchmarkSideBySideSyscall: the sys_enter_getppid tracepoint, filtered to
// the one thread of testdata/getppidloop that calls getppid in a loop.
func BenchmarkSideBySideSyscall(b *testing.B) { sideBySide(b, getppidLoop) }

// BenchmarkSideBySideSyscallPaced: the syscall workload paced to a fixed
// rate, to find the highest rate each tool takes without loss. bpftrace is
// not swept: its printf wakes its reader per event, which holds the loop
// below these rates (see BenchmarkSideBySideSyscall/bpftrace), without loss.
func BenchmarkSideBySideSyscallPaced(b *testing.B) {
	for _, rate := range []int{1e6, 2e6, 3e6} {
		w := pacedGetppid(rate)
		name := fmt.Sprintf("rate=%dM", rate/1e6)
		b.Run("tracelet/"+name, func(b *testing.B) {
			measure(b, w, func(l *loop) tracer { return startTracelet(b, w.tracelet(b, l)) })
		})
		b.Run("perf-tools/"+name, func(b *testing.B) { perfTools(b, w) })
	}
}

func sideBySide(b *testing.B, w workload) {
	b.Run("untraced", func(b *testing.B) {
		l := w.start(b, b.N)
		b.ResetTimer()
		d := l.run(b)
		b.StopTimer()
		b.ReportMetric(float64(d.Nanoseconds())/float64(b.N), "ns/call")
	})
	b.Run("tracelet", func(b *testing.B) {
		measure(b, w, func(l *loop) tracer { return startTracelet(b, w.tracelet(b, l)) })
	})
	b.Run("bpftrace", func(b *testing.B) {
		bin := requireTool(b, "bpftrace", "bpftrace")
		measure(b, w, func(l *loop) tracer { return startBpftrace(b, bin, w.bpftrace(b, l)) })
	})
	b.Run("perf-tools", func(b *testing.B) { perfTools(b, w) })
}

func perfTools(b *testing.B, w workload) {
	requireTool(b, "perf-tools-unstable", "uprobe-perf", "uprobe")
	measure(b, w, func(l *loop) tracer {
		name := fmt.Sprintf("tracelet_sbs_%d", os.Getpid())
		script, args, match := w.perfTools(b, l, name)
		bin := requireTool(b, "perf-tools-unstable", script+"-perf", script)
		return startPerfTools(b, bin, args, match, name)
	})
}

// BenchmarkUprobeTrap is the floor under every uprobe figure: the probe is
// hit and its fetchargs read, but a kernel filter that never matches keeps
// anything from being recorded. What a tool adds above this is its own.
func BenchmarkUprobeTrap(b *testing.B) {
	w := cabiLoop
	base := w.start(b, b.N).run(b)
	l := w.start(b, b.N)
	opts := w.tracelet(b, l)
	opts.Filter = "a == 0" // testprog passes a = 1
	t := startTracelet(b, opts)
	b.ResetTimer()
	d := l.run(b)
	b.StopTimer()
	if out := t.finish(b, 0); out.delivered != 0 {
		b.Fatalf("the filter let %d events through", out.delivered)
	}
	b.ReportMetric(float64(d.Nanoseconds())/float64(b.N), "ns/call")
	b.ReportMetric(float64((d-base).Nanoseconds())/float64(b.N), "slowdown-ns/call")
}

// measure runs the loop b.N calls long, untraced and then under the tracer
// that attach starts, and reports the metrics described above.
func measure(b *testing.B, w workload, attach func(l *loop) tracer) {
	base := w.start(b, b.N).run(b)
	l := w.start(b, b.N)
	tr := attach(l)
	b.ResetTimer()
	start := time.Now()
	d := l.run(b)
	// ns/op is the loop; delivery is measured apart, as events/s.
	b.StopTimer()
	out := tr.finish(b, uint64(b.N))

	want := uint64(b.N)
	if out.delivered > want {
		b.Fatalf("%d events delivered for %d calls: the tool saw calls that are not the workload's", out.delivered, want)
	}
	lost := want - out.delivered
	if out.toolLost != lost {
		// Not an error of the tool under test: the lost count we report
		// is ours (calls minus events); this says how honest the tool's
		// own report was.
		b.Logf("b.N=%d: %d events missing, %s say %d", b.N, lost, out.lostReport, out.toolLost)
	}
	elapsed := out.last.Sub(start)
	if elapsed < d {
		elapsed = d
	}
	b.ReportMetric(float64(out.delivered)/elapsed.Seconds(), "events/s")
	b.ReportMetric(float64(lost), "lost")
	b.ReportMetric(float64(d.Nanoseconds())/float64(b.N), "ns/call")
	b.ReportMetric(float64((d-base).Nanoseconds())/float64(b.N), "slowdown-ns/call")
}
