package tools

import (
	"context"
	"fmt"

	"github.com/tracelet/tracelet/perf"
	"github.com/tracelet/tracelet/tracefs"
)

// Killsnoop traces kill(2), tkill(2) and tgkill(2) until ctx ends, with
// each call's return value as the result: sigsnoop -k, which libbpf-tools
// installs as killsnoop too. It has a tracefs backend (no BPF): the
// syscall tracepoints, paired by thread in user space.
//
// Kept hand-written (issue 18). `make bench BENCH_FLAGS='-only scripted'`
// runs it beside bench/scripts/killsnoop.bt, the same tool as a tracelet
// script, on the same workload (5 rounds, medians, script ÷ this tool,
// BENCHMARKS.md "Hand-written or script"):
// start-up is 2.63× (19 ms against 7.3, exec to first event) and peak
// RSS 1.09× (9.2 MB against 8.4). The script has no CMDLINE (read from
// /proc in user space here), no -n signal names, no tracefs backend, and
// not the JSON Lines. Per kill(2), 100,000 in a burst: the tracer's CPU
// 0.66× (1.43 µs against 1.85), the loop 2.05×, and this tool lost 67,863
// (median; 4 rounds of 5 lost over 60%) where the script lost none: its
// 1 MiB ring overflows while it reads /proc/PID/cmdline for each event
// (batching its output as run does, tried, did not stop that: see
// BENCHMARKS.md).
func Killsnoop(ctx context.Context, o SignalOptions, fn func(*SignalEvent) error) error {
	o.Mode = SignalKill
	return Sigsnoop(ctx, o, fn)
}

// killTracefs is killsnoop without BPF: the syscall tracepoints, paired by
// thread in user space.
func killTracefs(ctx context.Context, o SignalOptions, fn func(*SignalEvent) error) error {
	s, err := newSession()
	if err != nil {
		return err
	}
	defer s.Close()
	var evs []tpEvent
	var names []string
	for _, sc := range []string{"kill", "tkill", "tgkill"} {
		if !s.hasEvent("syscalls", "sys_enter_"+sc) {
			continue
		}
		filter := ""
		if o.Signal > 0 {
			filter = fmt.Sprintf("sig == %d", o.Signal)
		}
		se, err := syscallExit(sc)
		if err != nil {
			return err
		}
		evs = append(evs, tpEvent{"syscalls", "sys_enter_" + sc, filter}, se.tp(""))
		names = append(names, sc, sc)
	}
	st, err := s.openTracepoints(evs)
	if err != nil {
		return err
	}
	o.ready()
	pending := map[uint32]*SignalEvent{}
	return st.loop(ctx, func(i int, smp *perf.Sample, rec *tracefs.Record) error {
		if o.Pid > 0 && int(smp.Pid) != o.Pid {
			return nil
		}
		if i%2 == 0 {
			if len(pending) > 10240 {
				clear(pending)
			}
			sig := int(intOf(st.field(i, rec, "sig")))
			pending[smp.Tid] = &SignalEvent{
				Time: eventTime(smp), Pid: int(smp.Pid), Tid: int(smp.Tid),
				Comm: procComm(smp.Pid, smp.Tid),
				Sig:  sig, SigName: SignalName(sig),
				TPid: int(int32(intOf(st.field(i, rec, "pid")))),
			}
			return nil
		}
		ev := pending[smp.Tid]
		if ev == nil {
			return nil
		}
		delete(pending, smp.Tid)
		ev.Result = int(intOf(st.field(i, rec, "ret")))
		if o.Failed && ev.Result == 0 {
			return nil
		}
		ev.Cmdline = cmdline(ev.Pid, ev.Comm)
		return fn(ev)
	})
}
