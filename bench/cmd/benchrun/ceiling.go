package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
)

// ceiling: issue 16's "deliver at least 0.95× of the kernel's ceiling".
// The ceiling is perf's BenchmarkEndToEndTracepoint/floor-unread-rings: a
// getppid loop on one thread whose sys_enter_getppid samples the kernel
// writes into overwrite rings that nothing reads and that wake no one.
// Beside it, in the same round, the same loop read as `tracelet trace`
// reads it by default (trace-defaults: PlanRings' rings and watermark, the
// time-ordered reader) and as `tracelet run` delivers a printf per call
// (scriptrun's BenchmarkRunPrintf: a BPF program, the ring buffer, each
// record formatted and written). 3,000,000 calls a run write about
// 120 MB, several times the rings, so the readers must keep up.
func ceiling(e *env) {
	const scen = "ceiling: getppid loop, sys_enter_getppid delivered"
	e.rp.setGoal(scen, "events/s", goal{Anchor: "kernel floor (unread rings)", Min: 0.95, Text: "≥ 0.95× the kernel's ceiling, 0 lost"})
	floor := e.rp.add(scen, "kernel floor (unread rings)", "events/s", "ev/s", e.rounds)
	trace := e.rp.add(scen, "tracelet trace (defaults)", "events/s", "ev/s", e.rounds)
	run := e.rp.add(scen, "tracelet run (printf)", "events/s", "ev/s", e.rounds)
	dir, err := os.MkdirTemp("", "tracelet-bench-ceiling-")
	if err != nil {
		e.logf("ceiling: %v", err)
		return
	}
	defer os.RemoveAll(dir)
	bins := map[string]string{}
	for _, pkg := range []string{"perf", "scriptrun"} {
		bin := filepath.Join(dir, pkg+".test")
		if out, err := goCmd(e.root, "test", "-c", "-o", bin, "./"+pkg).CombinedOutput(); err != nil {
			e.logf("ceiling: building %s's tests: %v\n%s", pkg, err, out)
			return
		}
		bins[pkg] = bin
	}
	line := regexp.MustCompile(`^Benchmark(EndToEndTracepoint/floor-unread-rings|EndToEndTracepoint/trace-defaults|RunPrintf)(?:-\d+)?\s+\d+\s+.*?([\d.]+) events/s(?:\s+([\d.]+) lost)?`)
	rows := map[string]*row{"EndToEndTracepoint/floor-unread-rings": floor, "EndToEndTracepoint/trace-defaults": trace, "RunPrintf": run}
	for round := 0; round < e.rounds; round++ {
		for _, c := range []struct{ pkg, pattern string }{
			{"perf", "^BenchmarkEndToEndTracepoint$/^(floor-unread-rings|trace-defaults)$"},
			{"scriptrun", "^BenchmarkRunPrintf$"},
		} {
			// Unpinned: each benchmark pins its own loop, and the reader
			// needs the other CPU.
			benchLines(e, "ceiling", bins[c.pkg], filepath.Join(e.root, c.pkg), -1, c.pattern, "3000000x", line, round, func(m []string) {
				if lost, _ := strconv.ParseFloat(m[3], 64); lost > 0 {
					e.logf("ceiling: round %d: %s lost %s events", round, m[1], m[3])
					return
				}
				v, _ := strconv.ParseFloat(m[2], 64)
				rows[m[1]].Samples[round] = v
			})
		}
	}
}
