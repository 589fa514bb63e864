package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
)

// reader: the perf ring and BPF ring buffer readers against cilium/ebpf's,
// by record size. The benchmarks live in bench/cilium, a module of its own
// (cilium/ebpf never enters tracelet's go.mod); its test binary is built
// once and run once per round, so that rounds alternate with the rest of
// the host's load as the other scenarios do.
func reader(e *env) {
	dir, err := os.MkdirTemp("", "tracelet-bench-reader-")
	if err != nil {
		e.logf("reader: %v", err)
		return
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "cilium.test")
	c := goCmd(filepath.Join(e.root, "bench", "cilium"), "test", "-c", "-o", bin, ".")
	if out, err := c.CombinedOutput(); err != nil {
		why := "not available: building bench/cilium failed (is the Go module proxy reachable?)"
		e.logf("reader: %v\n%s", err, out)
		r := e.rp.add("reader: all", "tracelet", "records/s", "rec/s", e.rounds)
		r.Note = why
		return
	}
	line := regexp.MustCompile(`^Benchmark(\w+)/(tracelet|cilium)/(\d+)-\d+\s+\d+\s+([\d.]+) ns/op.*?\s(\d+) allocs/op`)
	type key struct{ kind, size, tool string }
	rows := map[key][3]*row{}
	get := func(k key) [3]*row {
		if r, ok := rows[k]; ok {
			return r
		}
		kind := map[string]string{"PerfReader": "perf ring", "RingBufReader": "BPF ring buffer"}[k.kind]
		scen := fmt.Sprintf("reader: %s, %s-byte records", kind, k.size)
		tool := map[string]string{"tracelet": "tracelet", "cilium": "cilium/ebpf"}[k.tool]
		e.rp.setGoal(scen, "records/s", goal{Anchor: "cilium/ebpf", Min: 1.5, Text: "≥ 1.5× cilium/ebpf, 0 allocs/record",
			Extra: func(_ []*row, r *row) (bool, string) {
				for _, o := range e.rp.rows {
					if o.Scenario == r.Scenario && o.Tool == r.Tool && o.Metric == "allocs" {
						if s := valid(o.Samples); len(s) == 0 || maxOf(s) > 0 {
							return false, "allocates"
						}
					}
				}
				return true, ""
			}})
		r := [3]*row{e.rp.add(scen, tool, "records/s", "rec/s", e.rounds), e.rp.add(scen, tool, "ns/record", "ns", e.rounds),
			e.rp.add(scen, tool, "allocs", "allocs/record", e.rounds)}
		rows[k] = r
		return r
	}
	for round := 0; round < e.rounds; round++ {
		cmd := exec.Command(bin, "-test.run", "^$", "-test.bench", ".", "-test.benchmem", "-test.benchtime", "200000x", "-test.count", "1")
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			e.logf("reader: round %d: %v\n%s", round, err, out)
			continue
		}
		sc := bufio.NewScanner(bytes.NewReader(out))
		for sc.Scan() {
			m := line.FindStringSubmatch(sc.Text())
			if m == nil {
				continue
			}
			ns, _ := strconv.ParseFloat(m[4], 64)
			allocs, _ := strconv.ParseFloat(m[5], 64)
			r := get(key{m[1], m[3], m[2]})
			r[0].Samples[round], r[1].Samples[round], r[2].Samples[round] = 1e9/ns, ns, allocs
		}
	}
}
