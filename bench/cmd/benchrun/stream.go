package main

import (
	"fmt"
	"math"
	"os"
	"regexp"
	"strconv"
	"time"
)

// stream: N events from a uprobe and from a syscall tracepoint, each printed
// as a line that the driver reads from the tool's stdout. The loop is not
// throttled: with 0 lost, events/s is the rate the tool delivered without
// loss; with losses, the rate it kept up with while dropping the rest.
//
// Readiness is proved the same way for every tool: benchload makes one call
// per millisecond until released, and the tool is ready once it has printed
// one of them. Those warm-up calls are counted into what it must deliver.
func stream(e *env) {
	lostTrace := regexp.MustCompile(`(\d+) events, (\d+) lost`)
	lostBT := regexp.MustCompile(`Lost (\d+) events`)
	lostFtrace := regexp.MustCompile(`LOST (\d+) EVENTS`)
	probeName := fmt.Sprintf("tracelet_bench_%d", os.Getpid())
	type scase struct {
		name, kind string
		tools      []func(l *load) tool
	}
	cases := []scase{
		{name: "uprobe", kind: "calls", tools: []func(l *load) tool{
			func(*load) tool {
				return tool{name: "tracelet trace", sub: "trace", argv: []string{e.tracelet, "trace", e.uprobeSpec("")},
					match: regexp.MustCompile(`a=`), lostRE: lostTrace}
			},
			func(*load) tool {
				return tool{name: "tracelet trace, 4 MiB rings", sub: "trace", argv: []string{e.tracelet, "trace", "--ring-size", "4194304", e.uprobeSpec("")},
					match: regexp.MustCompile(`a=`), lostRE: lostTrace}
			},
			func(*load) tool {
				return tool{name: "tracelet run", sub: "run", argv: []string{e.tracelet, "run", "-e", e.uprobeBT() + ` { printf("E %d %d\n", arg0, arg1); }`},
					match: regexp.MustCompile(`^E `), lostRE: lostBT}
			},
			func(*load) tool {
				return tool{name: "bpftrace", argv: []string{"bpftrace", "-e", e.uprobeBT() + ` { printf("E %d %d\n", arg0, arg1); }`},
					match: regexp.MustCompile(`^E `), lostRE: lostBT}
			},
			func(*load) tool {
				return tool{name: "perf-tools", needs: "uprobe-perf", probe: probeName, argv: debugfsWrap("uprobe-perf", e.uprobeSpec(probeName)),
					match: regexp.MustCompile(` ` + probeName + `: `), lostRE: lostFtrace}
			},
		}},
		{name: "syscall tracepoint", kind: "sys", tools: []func(l *load) tool{
			func(l *load) tool {
				return tool{name: "tracelet trace", sub: "trace", argv: []string{e.tracelet, "trace", "--filter", "common_pid == " + strconv.Itoa(l.tid), "syscalls:sys_enter_getppid"},
					match: regexp.MustCompile(`getppid`), lostRE: lostTrace}
			},
			func(l *load) tool {
				return tool{name: "tracelet trace, 4 MiB rings", sub: "trace", argv: []string{e.tracelet, "trace", "--ring-size", "4194304", "--filter", "common_pid == " + strconv.Itoa(l.tid), "syscalls:sys_enter_getppid"},
					match: regexp.MustCompile(`getppid`), lostRE: lostTrace}
			},
			func(l *load) tool {
				return tool{name: "tracelet run", sub: "run", argv: []string{e.tracelet, "run", "-e", fmt.Sprintf(`tracepoint:syscalls:sys_enter_getppid /tid == %d/ { printf("E %%d\n", tid); }`, l.tid)},
					match: regexp.MustCompile(`^E `), lostRE: lostBT}
			},
			func(l *load) tool {
				return tool{name: "bpftrace", argv: []string{"bpftrace", "-e", fmt.Sprintf(`tracepoint:syscalls:sys_enter_getppid /tid == %d/ { printf("E %%d\n", tid); }`, l.tid)},
					match: regexp.MustCompile(`^E `), lostRE: lostBT}
			},
			func(l *load) tool {
				return tool{name: "perf-tools", needs: "tpoint-perf", argv: debugfsWrap("tpoint-perf", "-L", strconv.Itoa(l.tid), "syscalls:sys_enter_getppid"),
					match: regexp.MustCompile(`sys_getppid\(`), lostRE: lostFtrace}
			},
		}},
	}
	for _, c := range cases {
		scen := "streaming: " + c.name
		lossless := func(rows []*row, r *row) (bool, string) {
			for _, o := range rows {
				if o.Tool == r.Tool && o.Metric == "lost" {
					if s := valid(o.Samples); len(s) == 0 || maxOf(s) > 0 {
						return false, "not lossless in every run"
					}
				}
			}
			return true, ""
		}
		e.rp.setGoal(scen, "events/s", goal{Anchor: "bpftrace", Min: 5, Text: "lossless, ≥ 5× bpftrace", Extra: func(rows []*row, r *row) (bool, string) {
			var same []*row
			for _, o := range e.rp.rows {
				if o.Scenario == r.Scenario {
					same = append(same, o)
				}
			}
			return lossless(same, r)
		}})
		e.rp.setGoal(scen, "slowdown", goal{Anchor: "bpftrace", Max: 0.25, Text: "≤ 1/4 of bpftrace's (issue 4)"})
		base := e.rp.add(scen, "untraced", "loop", "ns/call", e.rounds)
		type trow struct{ rate, lost, loop, slow *row }
		rows := map[string]trow{}
		var live []func(l *load) tool
		for _, mk := range c.tools {
			t := mk(&load{})
			r := trow{e.rp.add(scen, t.name, "events/s", "ev/s", e.rounds), e.rp.add(scen, t.name, "lost", "events", e.rounds),
				e.rp.add(scen, t.name, "loop", "ns/call", e.rounds), e.rp.add(scen, t.name, "slowdown", "ns/call", e.rounds)}
			rows[t.name] = r
			if why := e.available(t.bin(), t.sub); why != "" {
				r.rate.Note, r.lost.Note, r.loop.Note, r.slow.Note = why, why, why, why
				continue
			}
			live = append(live, mk)
		}
		for round := 0; round < e.rounds; round++ {
			l, err := startLoad(e.benchload, e.loadCPU, 1, c.kind, strconv.Itoa(e.streamN))
			if err != nil {
				e.logf("streaming %s: %v", c.name, err)
				continue
			}
			d, err := l.run()
			if err != nil {
				e.logf("streaming %s: %v", c.name, err)
				continue
			}
			untraced := float64(d.Nanoseconds()) / float64(e.streamN)
			base.Samples[round] = untraced
			for _, mk := range rotate(live, round) {
				l, err := startLoad(e.benchload, e.loadCPU, 1, c.kind, strconv.Itoa(e.streamN))
				if err != nil {
					e.logf("streaming %s: %v", c.name, err)
					continue
				}
				t := mk(l)
				res, err := streamOnce(e, t, l)
				r := rows[t.name]
				if err != nil {
					e.logf("streaming %s, %s: %v", c.name, t.name, err)
					r.rate.Note = "failed: " + firstLine(err.Error())
					continue
				}
				r.rate.Samples[round], r.lost.Samples[round] = res.rate, float64(res.lost)
				r.loop.Samples[round], r.slow.Samples[round] = res.loopNS/float64(e.streamN), res.loopNS/float64(e.streamN)-untraced
				if res.note != "" {
					r.lost.Note = res.note
				}
			}
		}
	}
}

type streamResult struct {
	rate   float64 // events/s delivered after the release
	lost   uint64  // calls whose line never arrived
	loopNS float64
	note   string
}

func streamOnce(e *env, t tool, l *load) (streamResult, error) {
	defer l.kill()
	p, err := startProc(t.argv, t.match, e.toolCPU)
	if err != nil {
		return streamResult{}, err
	}
	defer func() {
		p.stop()
		if t.name == "perf-tools" {
			e.perfToolsLeftovers(p.cmd.Process.Pid, t.probe)
		}
	}()
	if err := p.waitFirst(30 * time.Second); err != nil {
		return streamResult{}, err
	}
	// What the tool delivers of the warm-up once it has stopped is the
	// warm-up calls made after it attached; quiet for 300 ms means that
	// is all in (tracelet trace flushes its output every 100 ms).
	if _, err := l.endWarmup(); err != nil {
		return streamResult{}, err
	}
	before := p.settle(300 * time.Millisecond)
	released := time.Now()
	d, err := l.release()
	if err != nil {
		return streamResult{}, err
	}
	want := before + uint64(e.streamN)
	p.quiet(want, released)
	last := time.Unix(0, p.lastNS.Load())
	if !p.stop() {
		e.logf("%s did not exit within %v of SIGINT; killed", t.name, stopGrace)
	}
	got := p.n.Load()
	res := streamResult{loopNS: float64(d.Nanoseconds())}
	if got > want {
		return res, fmt.Errorf("%d events for %d calls: lines that are not the workload's matched", got, want)
	}
	res.lost = want - got
	span := last.Sub(released)
	if span < d {
		span = d
	}
	res.rate = float64(got-before) / span.Seconds()
	if t.lostRE != nil {
		var said uint64
		for _, m := range t.lostRE.FindAllStringSubmatch(p.other.String()+p.stderr.String(), -1) {
			n, _ := strconv.ParseUint(m[len(m)-1], 10, 64)
			said += n
		}
		if said != res.lost {
			res.note = fmt.Sprintf("the tool reported %d lost", said)
		}
	}
	return res, nil
}

func maxOf(xs []float64) float64 {
	m := math.Inf(-1)
	for _, x := range xs {
		m = math.Max(m, x)
	}
	return m
}

// debugfsWrap runs a perf-tools script, which hard-codes tracefs at
// /sys/kernel/debug/tracing. Where that path does not exist, the script
// runs in a private mount namespace with debugfs mounted there (tracefs
// is automounted under it), so the host's mounts stay as they are.
//
// perf-tools works on the global trace buffer (current_tracer, `echo >
// trace`, trace_pipe) under its lock file /var/tmp/.ftrace-lock: nothing
// else may use the global buffer while it runs. tracelet never does.
func debugfsWrap(script string, args ...string) []string {
	argv := append([]string{script}, args...)
	if _, err := os.Stat("/sys/kernel/debug/tracing/trace_pipe"); err == nil {
		return argv
	}
	return append([]string{"unshare", "-m", "--propagation", "private", "sh", "-c",
		`mount -t debugfs debugfs /sys/kernel/debug && exec "$0" "$@"`}, argv...)
}
