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
// by record size, pinned to the tools' CPU; the table gives each row's
// spread over the rounds. The benchmarks live in bench/cilium, a module of its own
// (cilium/ebpf never enters tracelet's go.mod); its test binary is built
// once and run once per round, so that rounds alternate with the rest of
// the host's load as the other scenarios do.
func reader(e *env) {
	bin, dir, err := ciliumTest(e)
	if err != nil {
		e.logf("reader: %v", err)
		r := e.rp.add("reader: all", "tracelet", "records/s", "rec/s", e.rounds)
		r.Note = ciliumUnavailable
		return
	}
	defer os.RemoveAll(dir)
	line := regexp.MustCompile(`^Benchmark(\w+)/(tracelet|cilium)/(\d+)(?:-\d+)?\s+\d+\s+([\d.]+) ns/op.*?\s(\d+) allocs/op`)
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
		benchLines(e, "reader", bin, dir, e.toolCPU, "^Benchmark(PerfReader|RingBufReader)$", "200000x", line, round, func(m []string) {
			ns, _ := strconv.ParseFloat(m[4], 64)
			allocs, _ := strconv.ParseFloat(m[5], 64)
			r := get(key{m[1], m[3], m[2]})
			r[0].Samples[round], r[1].Samples[round], r[2].Samples[round] = 1e9/ns, ns, allocs
		})
	}
}

// benchLines runs a test binary bin once in dir, pinned to cpu (-1:
// unpinned), for the benchmarks that pattern selects, and calls fn with
// the submatches of each line of its output that line matches.
func benchLines(e *env, section, bin, dir string, cpu int, pattern, benchtime string, line *regexp.Regexp, round int, fn func(m []string)) {
	cmd := exec.Command(bin, "-test.run", "^$", "-test.bench", pattern, "-test.benchmem", "-test.benchtime", benchtime, "-test.count", "1")
	cmd.Dir = dir
	out, err := outputPinned(cmd, cpu)
	if err != nil {
		e.logf("%s: round %d: %v\n%s", section, round, err, out)
		return
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if m := line.FindStringSubmatch(sc.Text()); m != nil {
			fn(m)
		}
	}
}

const ciliumUnavailable = "not available: building bench/cilium failed (is the Go module proxy reachable?)"

// ciliumTest builds bench/cilium's test binary in a temporary directory,
// which the caller removes.
func ciliumTest(e *env) (bin, dir string, err error) {
	if dir, err = os.MkdirTemp("", "tracelet-bench-cilium-"); err != nil {
		return "", "", err
	}
	bin = filepath.Join(dir, "cilium.test")
	c := goCmd(filepath.Join(e.root, "bench", "cilium"), "test", "-c", "-o", bin, ".")
	if out, err := c.CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return "", "", fmt.Errorf("%v\n%s", err, out)
	}
	return bin, dir, nil
}

// btfLoad: issue 14's load of the kernel's BTF plus a one-liner's lookups
// (bench/cilium BenchmarkBTF: task_struct->real_parent->comm, filename's
// name, do_unlinkat's prototype, from the file to the answers), tracelet's
// btf package against cilium/ebpf's LoadKernelSpec, 20 iterations a round.
func btfLoad(e *env) {
	const scen = "btf: load + one-liner lookups"
	e.rp.setGoal(scen, "time", goal{Anchor: "cilium/ebpf", Max: 0.2, Text: "≥ 5× faster than cilium/ebpf"})
	e.rp.setGoal(scen, "allocated", goal{Anchor: "cilium/ebpf", Max: 0.25, Text: "≤ 1/4 of cilium/ebpf's bytes"})
	bin, dir, err := ciliumTest(e)
	if err != nil {
		e.logf("btf: %v", err)
		e.rp.add(scen, "tracelet", "time", "ms", e.rounds).Note = ciliumUnavailable
		return
	}
	defer os.RemoveAll(dir)
	line := regexp.MustCompile(`^BenchmarkBTF/(tracelet|cilium)(?:-\d+)?\s+\d+\s+([\d.]+) ns/op\s+(\d+) B/op\s+(\d+) allocs/op`)
	rows := map[string][3]*row{}
	for _, tool := range []string{"tracelet", "cilium/ebpf"} {
		rows[tool] = [3]*row{e.rp.add(scen, tool, "time", "ms", e.rounds), e.rp.add(scen, tool, "allocated", "KB", e.rounds),
			e.rp.add(scen, tool, "allocations", "allocs", e.rounds)}
	}
	for round := 0; round < e.rounds; round++ {
		benchLines(e, "btf", bin, dir, e.toolCPU, "^BenchmarkBTF$", "20x", line, round, func(m []string) {
			tool := map[string]string{"tracelet": "tracelet", "cilium": "cilium/ebpf"}[m[1]]
			ns, _ := strconv.ParseFloat(m[2], 64)
			b, _ := strconv.ParseFloat(m[3], 64)
			allocs, _ := strconv.ParseFloat(m[4], 64)
			r := rows[tool]
			r[0].Samples[round], r[1].Samples[round], r[2].Samples[round] = ns/1e6, b/1e3, allocs
		})
	}
}

// outputPinned runs cmd on cpu (the tools' CPU; -1: anywhere), so that one
// run's figures are not spread by the scheduler, and returns its stdout
// and stderr.
func outputPinned(cmd *exec.Cmd, cpu int) ([]byte, error) {
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := startPinned(cmd, cpu); err != nil {
		return nil, err
	}
	err := cmd.Wait()
	return out.Bytes(), err
}
