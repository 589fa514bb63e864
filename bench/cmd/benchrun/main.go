package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"time"

	"github.com/tracelet/tracelet/perf"
	"github.com/tracelet/tracelet/tracefs"
)

var nan = math.NaN()

// env is what every scenario needs.
type env struct {
	tracelet  string // absolute path of the binary under test
	benchload string
	execfloor string // bench/cmd/execfloor
	target    uint64 // file offset of benchload's main.target
	rounds    int
	loadCPU   int // the workload's CPU, -1 unpinned
	toolCPU   int // the tools' CPU, -1 unpinned
	rp        *report
	streamN   int
	aggN      int
	uprobeN   int
	aggRepeat int
	root      string // the repository
	log       *os.File
}

func main() {
	e := &env{rp: &report{}, log: os.Stderr}
	tl := flag.String("tracelet", "./tracelet", "the tracelet `BINARY` under test")
	out := flag.String("json", "bench/results.json", "write the results to `FILE`")
	only := flag.String("only", "", "run only the scenarios whose name matches `REGEXP` (startup, stream, aggregate, reader, btf, ceiling, size, scripted)")
	pin := flag.Bool("pin", true, "pin the workload to the last CPU and the tools to CPU 0")
	flag.IntVar(&e.rounds, "rounds", 5, "rounds per scenario (each tool once per round)")
	flag.IntVar(&e.streamN, "stream-n", 1000000, "events per streaming run")
	flag.IntVar(&e.aggN, "agg-n", 1000000, "calls per tracepoint aggregation loop")
	flag.IntVar(&e.uprobeN, "uprobe-agg-n", 100000, "calls per uprobe aggregation loop")
	flag.IntVar(&e.aggRepeat, "agg-repeat", 3, "aggregation loops per run, the fastest counted")
	flag.Parse()
	began := time.Now()
	if os.Geteuid() != 0 {
		fatalf("benchrun needs root: it attaches probes and loads BPF programs")
	}
	var err error
	if e.tracelet, err = filepath.Abs(*tl); err != nil {
		fatalf("%v", err)
	}
	if _, err := os.Stat(e.tracelet); err != nil {
		fatalf("-tracelet: %v (run `make build` first)", err)
	}
	if e.root, err = os.Getwd(); err != nil {
		fatalf("%v", err)
	}
	e.loadCPU, e.toolCPU = -1, -1
	if cpus, err := perf.OnlineCPUs(); *pin && err == nil && len(cpus) > 1 {
		e.toolCPU, e.loadCPU = cpus[0], cpus[len(cpus)-1]
	}
	dir, err := os.MkdirTemp("", "tracelet-bench-")
	if err != nil {
		fatalf("%v", err)
	}
	defer os.RemoveAll(dir)
	e.benchload = filepath.Join(dir, "benchload")
	if out, err := goCmd(e.root, "build", "-o", e.benchload, "./bench/cmd/benchload").CombinedOutput(); err != nil {
		fatalf("building the workload: %v\n%s", err, out)
	}
	if _, e.target, err = tracefs.ResolveSymbol(e.benchload, "main.target"); err != nil {
		fatalf("benchload: %v", err)
	}
	// Built as the release binaries are, stripped: the floor's exec.
	e.execfloor = filepath.Join(dir, "execfloor")
	if out, err := goCmd(e.root, "build", "-trimpath", "-ldflags=-s -w", "-o", e.execfloor, "./bench/cmd/execfloor").CombinedOutput(); err != nil {
		fatalf("building the start-up floor: %v\n%s", err, out)
	}

	var re *regexp.Regexp
	if *only != "" {
		re = regexp.MustCompile(*only)
	}
	for _, s := range []struct {
		name string
		run  func(*env)
	}{
		{"startup", startup},
		{"stream", stream},
		{"aggregate", aggregate},
		{"reader", reader},
		{"btf", btfLoad},
		{"ceiling", ceiling},
		{"size", size},
		{"scripted", scripted},
	} {
		if re != nil && !re.MatchString(s.name) {
			continue
		}
		t := time.Now()
		s.run(e)
		e.logf("== %s done in %v", s.name, time.Since(t).Round(time.Second))
	}
	e.rp.finish()
	fmt.Printf("### goals\n\n%s\n%s\n", e.rp.summary(), e.rp.table())
	fmt.Printf("benchrun: %s; %d rounds, %s, %d CPUs (workload on CPU %d, tools on CPU %d; -1: unpinned), %v in all\n",
		e.version(), e.rounds, hostNote(), runtime.NumCPU(), e.loadCPU, e.toolCPU, time.Since(began).Round(time.Second))
	if *out != "" {
		doc := map[string]any{
			"date":     time.Now().UTC().Format(time.RFC3339),
			"host":     hostNote(),
			"cpus":     runtime.NumCPU(),
			"rounds":   e.rounds,
			"command":  strings.Join(append([]string{"benchrun"}, os.Args[1:]...), " "),
			"tracelet": e.version(),
			"rows":     e.rp.rows,
		}
		b, err := json.MarshalIndent(doc, "", "  ")
		if err != nil {
			fatalf("%v", err)
		}
		if err := os.WriteFile(*out, append(b, '\n'), 0o644); err != nil {
			fatalf("%v", err)
		}
	}
}

// MarshalJSON writes a row with NaN (a failed round, or no figure at all)
// as null: encoding/json refuses NaN.
func (r *row) MarshalJSON() ([]byte, error) {
	type plain row
	c := *r
	c.Ratios = nil
	m := map[string]any{}
	b, _ := json.Marshal((*plain)(&c))
	json.Unmarshal(b, &m)
	for k, v := range map[string]float64{"median": r.Median, "min": r.Min, "max": r.Max} {
		if math.IsNaN(v) {
			m[k] = nil
		} else {
			m[k] = v
		}
	}
	var samples []any
	for _, v := range r.Samples {
		if math.IsNaN(v) {
			samples = append(samples, nil)
		} else {
			samples = append(samples, v)
		}
	}
	m["samples"] = samples
	if len(r.Ratios) > 0 {
		m["ratios"] = r.Ratios
	}
	return json.Marshal(m)
}

func hostNote() string {
	rel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	return fmt.Sprintf("Linux %s %s", strings.TrimSpace(string(rel)), runtime.GOARCH)
}

// version is the first line of `tracelet version`.
func (e *env) version() string {
	out, err := exec.Command(e.tracelet, "version").Output()
	if err != nil {
		return "tracelet (version unknown)"
	}
	return strings.TrimSpace(strings.SplitN(string(out), "\n", 2)[0])
}

func goCmd(dir string, args ...string) *exec.Cmd {
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goBin); err != nil {
		goBin = "go"
	}
	c := exec.Command(goBin, args...)
	c.Dir = dir
	c.Env = append(os.Environ(), "CGO_ENABLED=0")
	return c
}

func (e *env) logf(format string, args ...any) {
	fmt.Fprintf(e.log, "benchrun: "+format+"\n", args...)
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "benchrun: "+format+"\n", args...)
	os.Exit(1)
}

// available says why a tool cannot run here ("" when it can). A tracelet
// subcommand is available when `tracelet CMD --help` succeeds.
func (e *env) available(argv0 string, sub string) string {
	if argv0 == e.tracelet && sub != "" {
		out, err := exec.Command(e.tracelet, sub, "--help").CombinedOutput()
		if err != nil || strings.Contains(string(out), "No help topic") {
			return "not available: `tracelet " + sub + "` does not exist yet"
		}
		return ""
	}
	if _, err := exec.LookPath(argv0); err != nil {
		return "not available: " + argv0 + " is not installed"
	}
	return ""
}
