package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// scripted: each of the eight hand-written tools (tools/*.go: BPF
// assembled in Go) against the same tool written as a tracelet script
// (bench/scripts/*.bt; funccount's and funclatency's pattern is the
// attach point itself, which a script's -D macros cannot name, so theirs
// is the one-probe program the pattern would make), run the way the
// script tools run (1 MiB ring), on the same workload in the same
// rounds. Issue 18: a tool moves to a script when the script gives the
// same output, flags, start-up and per-event cost.
//
// Per tool and round:
//   - start-up: exec to the first line about a workload ticking every
//     millisecond (a snoop), or to the line that says every probe is
//     attached (a counting tool: the hand-written tool's "Tracing ..."
//     header, printed once attached; `run -c` releasing an echo for the
//     script, whose BEGIN prints before the probes are attached); and the
//     peak RSS (VmHWM) then, and again once a loop's events are in;
//   - per event: a counted loop of the workload's calls, with the tool
//     attached and filtering on the loop's pid: the loop's ns per call,
//     the tracer's own CPU time per call (its threads' schedstat run
//     time across the loop, until it has printed the loop's events), and
//     the events a snoop missed. A counting tool's printed count must
//     hold the loop's calls.
//
// Ratios are script ÷ hand-written, the median of the per-round ratios.
func scripted(e *env) {
	scripts := filepath.Join(e.root, "bench", "scripts")
	ring := []string{e.tracelet, "run", "--ring-size", "1048576"}
	file := func(name string, defs ...string) []string {
		argv := append([]string{}, ring...)
		for _, d := range defs {
			argv = append(argv, "-D", d)
		}
		return append(argv, filepath.Join(scripts, name+".bt"))
	}
	prog := func(p string) []string {
		return append(append([]string{}, ring...), "-e", `BEGIN { printf("Tracing...\n"); } `+p)
	}
	attached := func(argv []string) []string {
		// run -c CMD starts CMD once every probe is attached.
		return append(append(append([]string{}, argv[:2]...), "-c", "/bin/echo attached"), argv[2:]...)
	}
	type pcase struct {
		name string
		tick string // the start-up trigger (benchload tick KIND)
		kind string // the counted loop (benchload KIND N)
		n    int
		// hand and script are the two tools' argv for a workload pid.
		hand, script func(pid int) []string
		// event matches a line about the workload (pid: the workload's);
		// count, for a counting tool, its printed count of the loop's
		// calls (nil: a snoop, whose matching lines are counted).
		event func(pid int) *regexp.Regexp
		count *regexp.Regexp
	}
	pid := strconv.Itoa
	signalLine := func(pid int) *regexp.Regexp {
		return regexp.MustCompile(fmt.Sprintf(`^\S+ +%d +benchload +28 `, pid))
	}
	ready := func(int) *regexp.Regexp { return regexp.MustCompile(`^Tracing|^attached`) }
	cases := []pcase{
		{name: "execsnoop", tick: "exec", kind: "exec", n: 300,
			hand:   func(int) []string { return []string{e.tracelet, "execsnoop"} },
			script: func(int) []string { return file("execsnoop") },
			// The hand-written tool prints the new program's comm at the
			// exec's return, the script the forked child's at its entry.
			event: func(p int) *regexp.Regexp {
				return regexp.MustCompile(fmt.Sprintf(`^(true|benchload) +\d+ +%d +0 /bin/true`, p))
			}},
		{name: "exitsnoop", tick: "exec", kind: "exec", n: 300,
			hand:   func(int) []string { return []string{e.tracelet, "exitsnoop"} },
			script: func(int) []string { return file("exitsnoop") },
			event: func(p int) *regexp.Regexp {
				return regexp.MustCompile(fmt.Sprintf(`^true +\d+ +%d +\d+ +[\d.-]+ +0\n`, p))
			}},
		{name: "opensnoop", tick: "open", kind: "open", n: 100000,
			hand:   func(p int) []string { return []string{e.tracelet, "opensnoop", "-p", pid(p)} },
			script: func(p int) []string { return file("opensnoop", "PID="+pid(p)) },
			event: func(p int) *regexp.Regexp {
				return regexp.MustCompile(fmt.Sprintf(`^%d +benchload +\d+ +0 /dev/null`, p))
			}},
		{name: "killsnoop", tick: "signal", kind: "signal", n: 100000,
			hand:   func(p int) []string { return []string{e.tracelet, "killsnoop", "-p", pid(p)} },
			script: func(p int) []string { return file("killsnoop", "PID="+pid(p)) },
			event:  signalLine},
		{name: "sigsnoop -g", tick: "signal", kind: "signal", n: 100000,
			hand:   func(p int) []string { return []string{e.tracelet, "sigsnoop", "-g", "-p", pid(p)} },
			script: func(p int) []string { return file("sigsnoop", "PID="+pid(p)) },
			event:  signalLine},
		{name: "syscount", tick: "sys", kind: "sys", n: 1000000,
			hand:   func(p int) []string { return []string{e.tracelet, "syscount", "-p", pid(p)} },
			script: func(p int) []string { return file("syscount", "PID="+pid(p)) },
			event:  ready,
			count:  regexp.MustCompile(fmt.Sprintf(`(?m)^(?:getppid|@count\[%d\]:) +(\d+)`, unix.SYS_GETPPID))},
		{name: "funccount", tick: "sys", kind: "sys", n: 1000000,
			hand: func(p int) []string {
				return []string{e.tracelet, "funccount", "-p", pid(p), "t:syscalls:sys_enter_getppid"}
			},
			script: func(p int) []string {
				return prog(fmt.Sprintf(`tracepoint:syscalls:sys_enter_getppid /pid == %d/ { @[probe] = count(); }`, p))
			},
			event: ready,
			count: regexp.MustCompile(`(?m)sys_enter_getppid\]?:? +(\d+)$`)},
		{name: "funclatency", tick: "call", kind: "calls", n: 100000,
			hand: func(p int) []string {
				return []string{e.tracelet, "funclatency", "-p", pid(p), e.benchload + ":main.target"}
			},
			script: func(p int) []string {
				return prog(fmt.Sprintf(`uprobe:%[1]s:main.target /pid == %[2]d/ { @start[tid] = nsecs; }
uretprobe:%[1]s:main.target /@start[tid]/ { @usecs = hist((nsecs - @start[tid]) / 1000); delete(@start[tid]); }`, e.benchload, p))
			},
			event: ready},
	}
	const hand, script = "hand-written", "tracelet script"
	for _, c := range cases {
		start, rss, per := "scripted start-up: "+c.name, "scripted peak RSS: "+c.name, "scripted per event: "+c.name
		rows := map[string]map[string]*row{}
		for _, t := range []string{hand, script} {
			startMetric := "exec to first event"
			if c.count != nil || c.name == "funclatency" {
				startMetric = "exec to attached"
			}
			rows[t] = map[string]*row{
				"start": e.rp.add(start, t, startMetric, "ms", e.rounds),
				"rss":   e.rp.add(rss, t, "peak RSS at start", "MB", e.rounds),
				"rssL":  e.rp.add(rss, t, "peak RSS under the loop", "MB", e.rounds),
				"loop":  e.rp.add(per, t, "loop", "ns/call", e.rounds),
				"cpu":   e.rp.add(per, t, "tracer CPU", "ns/call", e.rounds),
			}
			if c.count == nil && c.name != "funclatency" {
				rows[t]["lost"] = e.rp.add(per, t, "lost", "events", e.rounds)
			}
		}
		untraced := e.rp.add(per, "untraced", "loop", "ns/call", e.rounds)
		argv := func(t string, p int, startup bool) []string {
			if t == hand {
				return c.hand(p)
			}
			a := c.script(p)
			if startup && (c.count != nil || c.name == "funclatency") {
				a = attached(a)
			}
			return a
		}
		for round := -1; round < e.rounds; round++ {
			// Start-up, against a ticking workload; round -1 warms the
			// page cache and is not counted.
			trig, err := startLoad(e.benchload, e.loadCPU, 1, "tick", c.tick)
			if err != nil {
				e.logf("scripted %s: trigger: %v", c.name, err)
				break
			}
			tp := trig.cmd.Process.Pid
			for _, t := range rotate([]string{hand, script}, max(round, 0)) {
				ms, mb, err := startHWM(argv(t, tp, true), c.event(tp))
				if err != nil {
					e.logf("scripted %s, %s start-up: %v", c.name, t, err)
					rows[t]["start"].Note = "failed: " + firstLine(err.Error())
					continue
				}
				if round >= 0 {
					rows[t]["start"].Samples[round], rows[t]["rss"].Samples[round] = ms, mb
				}
			}
			trig.stopTick()
			if round < 0 {
				continue
			}
			// Per event: an untraced loop, then each tool's.
			if ns, err := untracedLoop(e, c.kind, c.n); err == nil {
				untraced.Samples[round] = ns
			} else {
				e.logf("scripted %s, untraced: %v", c.name, err)
			}
			for _, t := range rotate([]string{hand, script}, round) {
				r, err := perEventOnce(e, argv, t, c.kind, c.n, c.event, c.count, c.name == "funclatency")
				if err != nil {
					e.logf("scripted %s, %s per event: %v", c.name, t, err)
					rows[t]["loop"].Note = "failed: " + firstLine(err.Error())
					continue
				}
				rows[t]["loop"].Samples[round], rows[t]["cpu"].Samples[round] = r.loopNS, r.cpuNS
				rows[t]["rssL"].Samples[round] = r.mb
				if l := rows[t]["lost"]; l != nil {
					l.Samples[round] = float64(r.lost)
				}
			}
		}
	}
}

// startHWM runs a tool until its first event: ms from exec to that
// event, and its peak RSS then (VmHWM). wait4's ru_maxrss cannot tell a
// Go-started child's own peak: the child is vforked on the parent's mm,
// and exec keeps that mm's high-water mark, so it reads at least the
// driver's RSS.
func startHWM(argv []string, match *regexp.Regexp) (ms, mb float64, err error) {
	p, err := startProc(argv, match, -1)
	if err != nil {
		return nan, nan, err
	}
	defer p.stop()
	if err := p.waitFirst(30 * time.Second); err != nil {
		return nan, nan, err
	}
	ms = float64(p.firstNS.Load()) / 1e6
	if mb, err = hwm(p.cmd.Process.Pid); err != nil {
		return nan, nan, err
	}
	return ms, mb, nil
}

// hwm is the process's peak resident set (VmHWM) in MB.
func hwm(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return nan, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, err := strconv.ParseFloat(f[1], 64)
			return kb / 1024, err
		}
	}
	return nan, fmt.Errorf("pid %d: no VmHWM", pid)
}

func untracedLoop(e *env, kind string, n int) (float64, error) {
	l, err := startLoad(e.benchload, e.loadCPU, 1, kind, strconv.Itoa(n))
	if err != nil {
		return nan, err
	}
	defer l.kill()
	d, err := l.run()
	return float64(d.Nanoseconds()) / float64(n), err
}

type perEvent struct {
	loopNS, cpuNS float64
	mb            float64 // peak RSS (VmHWM) once the loop's events are in
	lost          int
}

// perEventOnce runs one counted loop under one tool (see scripted).
func perEventOnce(e *env, argv func(string, int, bool) []string, t, kind string, n int,
	event func(int) *regexp.Regexp, count *regexp.Regexp, hist bool) (perEvent, error) {
	var r perEvent
	l, err := startLoad(e.benchload, e.loadCPU, 1, kind, strconv.Itoa(n))
	if err != nil {
		return r, err
	}
	defer l.kill()
	lp := l.cmd.Process.Pid
	p, err := startProc(argv(t, lp, false), event(lp), e.toolCPU)
	if err != nil {
		return r, err
	}
	defer p.stop()
	if err := p.waitFirst(30 * time.Second); err != nil {
		return r, err
	}
	snoop := count == nil && !hist
	if !snoop {
		// The script's BEGIN prints before its probes are attached:
		// every tool gets the same grace, and the count check below
		// fails the run if that was not enough.
		time.Sleep(500 * time.Millisecond)
	}
	// A snoop has shown a warm-up call: it is attached.
	if _, err := l.endWarmup(); err != nil {
		return r, err
	}
	seen := p.settle(200 * time.Millisecond)
	cpu0, err := runNS(p.cmd.Process.Pid)
	if err != nil {
		return r, err
	}
	since := time.Now()
	d, err := l.release()
	if err != nil {
		return r, err
	}
	if snoop {
		p.quiet(seen+uint64(n), since)
		r.lost = max(0, n-int(p.n.Load()-seen))
	} else {
		// Counting tools have printed nothing yet; give the ring or the
		// maps a moment, as a snoop's quiet() does.
		time.Sleep(100 * time.Millisecond)
	}
	cpu1, err := runNS(p.cmd.Process.Pid)
	if err != nil {
		return r, err
	}
	if r.mb, err = hwm(p.cmd.Process.Pid); err != nil {
		return r, err
	}
	if !p.stop() {
		return r, fmt.Errorf("did not exit within %v of SIGINT", stopGrace)
	}
	out := p.other.String()
	got := -1
	switch {
	case count != nil:
		if m := count.FindStringSubmatch(out); m != nil {
			got, _ = strconv.Atoi(m[1])
		}
	case hist:
		got = 0
		for _, m := range anyHistLine.FindAllStringSubmatch(out, -1) {
			v, _ := strconv.Atoi(m[1] + m[2])
			got += v
		}
	}
	if got >= 0 && got < n {
		return r, fmt.Errorf("it counted %d of the loop's %d calls: %s", got, n, firstLine(strings.TrimSpace(out+"\n"+p.stderr.String())))
	}
	r.loopNS = float64(d.Nanoseconds()) / float64(n)
	r.cpuNS = float64(cpu1-cpu0) / float64(n)
	return r, nil
}

// anyHistLine is a bucket of a log2 histogram as bpftrace prints it
// ("[4K, 8K)   123 |@@@ |") or as libbpf-tools do ("8 -> 15 : 123 |**|").
var anyHistLine = regexp.MustCompile(`(?m)^(?:[\[(][^\n]*?[\])] +(\d+) +\||\s*\d+ -> \d+\s*: (\d+) +\|)`)

// runNS is the time the process's threads have run on a CPU, in ns
// (/proc/PID/task/*/schedstat's first field): its CPU time, at
// nanosecond resolution where rusage has clock ticks.
func runNS(pid int) (uint64, error) {
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", pid))
	if err != nil || len(tasks) == 0 {
		return 0, fmt.Errorf("pid %d: no schedstat (%v)", pid, err)
	}
	var sum uint64
	for _, t := range tasks {
		b, err := os.ReadFile(t)
		if err != nil {
			continue // a thread that ended
		}
		f := strings.Fields(string(b))
		if len(f) == 0 {
			continue
		}
		v, err := strconv.ParseUint(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%s: %q: %v", t, b, err)
		}
		sum += v
	}
	return sum, nil
}
