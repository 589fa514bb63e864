package main

import (
	"fmt"
	"os"
	"regexp"
	"strconv"
	"time"
)

// aggregate: count() keyed by comm and hist() of an argument, on a
// tracepoint and on a uprobe, in ns per hit added to the traced loop;
// against bpftrace and two floors made here with tracelet's asm, bpf and
// perf packages: the bare probe (no program) and the same probe with an
// empty program. The programs run system-wide, with no filter, as one
// would write them; benchload makes nearly all the hits.
func aggregate(e *env) {
	type acase struct {
		name, kind string
		n          int
		prog       string
		probe      probeRef
		count      bool // the map is @[comm] = count(): check benchload's count
	}
	up := probeRef{path: e.benchload, offset: e.target}
	cases := []acase{
		{"tracepoint count() by comm", "sys", e.aggN, `tracepoint:syscalls:sys_enter_getppid { @[comm] = count(); }`,
			probeRef{system: "syscalls", event: "sys_enter_getppid"}, true},
		{"tracepoint hist() of an argument", "lseek", e.aggN, `tracepoint:syscalls:sys_enter_lseek { @ = hist(args->offset); }`,
			probeRef{system: "syscalls", event: "sys_enter_lseek"}, false},
		{"uprobe count() by comm", "calls", e.uprobeN, e.uprobeBT() + ` { @[comm] = count(); }`, up, true},
		{"uprobe hist() of an argument", "calls", e.uprobeN, e.uprobeBT() + ` { @ = hist(arg0); }`, up, false},
	}
	ready := regexp.MustCompile(`^ready\s*$`)
	counted := regexp.MustCompile(`@\[benchload\]: (\d+)`)
	for _, c := range cases {
		scen := "aggregation: " + c.name
		e.rp.setGoal(scen, "added", goal{Anchor: "bpftrace", Max: 1, Text: "≤ bpftrace's"},
			goal{Anchor: "floor: empty program", Max: 1.15, Text: "within 15% of the empty-program floor"})
		base := e.rp.add(scen, "untraced", "loop", "ns/call", e.rounds)
		prog := `BEGIN { printf("ready\n"); } ` + c.prog
		type variant struct {
			name string
			// in-process floors
			attach func(probeRef) (func() (uint64, error), error)
			// or a tool
			t *tool
		}
		variants := []variant{
			{name: "floor: bare probe", attach: attachBare},
			{name: "floor: empty program", attach: attachEmpty},
			{name: "tracelet run", t: &tool{name: "tracelet run", sub: "run", argv: []string{e.tracelet, "run", "-e", prog}, match: ready}},
			{name: "bpftrace", t: &tool{name: "bpftrace", argv: []string{"bpftrace", "-e", prog}, match: ready}},
		}
		rows := map[string]*row{}
		var live []variant
		for _, v := range variants {
			rows[v.name] = e.rp.add(scen, v.name, "added", "ns/hit", e.rounds)
			if v.t != nil {
				if why := e.available(v.t.bin(), v.t.sub); why != "" {
					rows[v.name].Note = why
					continue
				}
			}
			live = append(live, v)
		}
		above := map[string]*row{}
		for _, name := range []string{"tracelet run", "bpftrace"} {
			if rows[name].Note == "" {
				above[name] = e.rp.add(scen, name, "above the empty-program floor", "ns/hit", e.rounds)
			}
		}
		for round := 0; round < e.rounds; round++ {
			loopNS := func() (float64, error) {
				l, err := startLoad(e.benchload, e.loadCPU, e.aggRepeat, c.kind, strconv.Itoa(c.n))
				if err != nil {
					return nan, err
				}
				defer l.kill()
				d, err := l.run()
				return float64(d.Nanoseconds()) / float64(c.n), err
			}
			var bases []float64
			for _, v := range rotate(live, round) {
				// Each variant is paired with an untraced run just
				// before it: the loops are short and the host is
				// shared, so a baseline from further away drifts.
				untraced, err := loopNS()
				if err != nil {
					e.logf("aggregation %s: %v", c.name, err)
					continue
				}
				bases = append(bases, untraced)
				var ns float64
				if v.attach != nil {
					var detach func() (uint64, error)
					if detach, err = v.attach(c.probe); err == nil {
						ns, err = loopNS()
						hits, derr := detach()
						if want := uint64(c.n * max(e.aggRepeat, 1)); err == nil && derr == nil && hits < want {
							// A floor that does not fire proves nothing.
							err = fmt.Errorf("the probe counted %d hits of %d calls", hits, want)
						}
					}
				} else {
					ns, err = aggOnce(e, *v.t, c.kind, c.n, c.count, counted)
				}
				if err != nil {
					e.logf("aggregation %s, %s: %v", c.name, v.name, err)
					rows[v.name].Note = "failed: " + firstLine(err.Error())
					continue
				}
				rows[v.name].Samples[round] = ns - untraced
			}
			base.Samples[round] = median(bases)
			for name, r := range above {
				r.Samples[round] = rows[name].Samples[round] - rows["floor: empty program"].Samples[round]
			}
		}
	}
}

// histLine is a bucket of a printed hist(): "[4K, 8K)   123 |@@@   |".
var histLine = regexp.MustCompile(`(?m)^[\[(][^\n]*?[\])] +(\d+) +\|`)

// aggOnce runs the loop under a tool that aggregates in the kernel, and
// returns the loop's ns per call. The tool is ready when its BEGIN probe
// has printed, which bpftrace does once every probe is attached.
func aggOnce(e *env, t tool, kind string, n int, count bool, counted *regexp.Regexp) (float64, error) {
	l, err := startLoad(e.benchload, e.loadCPU, e.aggRepeat, kind, strconv.Itoa(n))
	if err != nil {
		return nan, err
	}
	defer l.kill()
	p, err := startProc(t.argv, t.match, e.toolCPU)
	if err != nil {
		return nan, err
	}
	defer p.stop()
	if err := p.waitFirst(30 * time.Second); err != nil {
		return nan, err
	}
	// BEGIN has run; give every tool the same grace before the loop, for
	// one that attaches its probes after BEGIN. The map check below
	// fails the run if that was not enough.
	time.Sleep(500 * time.Millisecond)
	d, err := l.run()
	if err != nil {
		return nan, err
	}
	if !p.stop() {
		return nan, fmt.Errorf("did not exit within %v of SIGINT", stopGrace)
	}
	// The map must hold the loop's calls: a cheap program that counts
	// nothing proves nothing.
	got := 0
	if count {
		if m := counted.FindStringSubmatch(p.other.String()); m != nil {
			got, _ = strconv.Atoi(m[1])
		}
	} else {
		for _, m := range histLine.FindAllStringSubmatch(p.other.String(), -1) {
			v, _ := strconv.Atoi(m[1])
			got += v
		}
	}
	if want := n * max(e.aggRepeat, 1); got < want {
		if f, err := os.CreateTemp("", "benchrun-agg-*.txt"); err == nil {
			f.WriteString(p.other.String() + "\n--- stderr\n" + p.stderr.String())
			f.Close()
			e.logf("%s: its output is in %s", t.name, f.Name())
		}
		return nan, fmt.Errorf("its map holds %d hits of the loops' %d calls: %s", got, want, firstLine(p.diag()))
	}
	return float64(d.Nanoseconds()) / float64(n), nil
}
