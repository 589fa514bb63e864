package scriptrun

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tracelet/tracelet/internal/testenv"
	"github.com/tracelet/tracelet/script"
)

// benchOneliner is "compile + load + attach + first event" as the issue
// measures it: BEGIN runs and exits with one tracepoint probe attached.
const benchOneliner = `BEGIN { exit(); } tracepoint:syscalls:sys_enter_openat { @[comm] = count(); }`

// BenchmarkCompileOneliners compiles each side-by-side one-liner (parse,
// check with the recorded 6.18 formats, code generation).
func BenchmarkCompileOneliners(b *testing.B) {
	for i, o := range readOnelinersB(b) {
		s, _ := o.expand("/bin/true")
		src := []byte(s)
		b.Run(fmt.Sprint(i), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := script.CompileSource("-e", src, script.CheckOptions{Formats: fixtureFormats}, script.Options{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func readOnelinersB(b *testing.B) []oneliner {
	data, err := os.ReadFile(filepath.Join(scriptTestdata, "oneliners.txt"))
	if err != nil {
		b.Fatal(err)
	}
	var out []oneliner
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		w, src, _ := strings.Cut(line, " | ")
		out = append(out, oneliner{strings.Fields(w), src})
	}
	return out
}

// BenchmarkStart runs benchOneliner in process: Prepare, Start (load,
// BEGIN, attach) and Wait (exit(), END, maps), then Close.
func BenchmarkStart(b *testing.B) {
	testenv.RequireRoot(b)
	b.ReportAllocs()
	for b.Loop() {
		r, err := Prepare("-e", []byte(benchOneliner), RunOptions{Out: discard{}})
		if err != nil {
			b.Fatal(err)
		}
		if err := r.Start(nil); err != nil {
			b.Fatal(err)
		}
		if err := r.Wait(b.Context()); err != nil {
			b.Fatal(err)
		}
		r.Close()
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// BenchmarkExecVsBpftrace execs `tracelet run -e` (built from
// cmd/tracelet) and bpftrace on benchOneliner, reporting wall time per run
// and the peak RSS (maxrss) of each, measured in the same run.
func BenchmarkExecVsBpftrace(b *testing.B) {
	testenv.RequireRoot(b)
	tl := filepath.Join(b.TempDir(), "tracelet")
	build := exec.Command("go", "build", "-o", tl, "github.com/tracelet/tracelet/cmd/tracelet")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("building tracelet: %v\n%s", err, out)
	}
	tools := map[string][]string{"tracelet": {tl, "run", "-e", benchOneliner}}
	if bt, err := exec.LookPath("bpftrace"); err == nil {
		tools["bpftrace"] = []string{bt, "-e", benchOneliner}
	}
	for _, name := range []string{"tracelet", "bpftrace"} {
		argv, ok := tools[name]
		if !ok {
			continue
		}
		b.Run(name, func(b *testing.B) {
			var rss int64
			for b.Loop() {
				cmd := exec.Command(argv[0], argv[1:]...)
				if out, err := cmd.CombinedOutput(); err != nil {
					b.Fatalf("%s: %v\n%s", name, err, out)
				}
				rss = max(rss, int64(cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss)) // int32 on 32-bit
			}
			b.ReportMetric(float64(rss)/1024, "peak-RSS-MB")
		})
	}
}

// TestInstructionsVsBpftrace loads each one-liner of benchInsns with
// tracelet and with bpftrace and compares the instruction counts of the
// loaded programs as the kernel reports them (bpftool prog show: xlated
// bytes / 8). tracelet's must not be larger.
func TestInstructionsVsBpftrace(t *testing.T) {
	testenv.RequireRoot(t)
	bt, err := exec.LookPath("bpftrace")
	if err != nil {
		t.Skip("bpftrace is not installed")
	}
	if _, err := exec.LookPath("bpftool"); err != nil {
		t.Skip("bpftool is not installed")
	}
	for _, src := range benchInsns {
		tl := xlatedOf(t, "", src)
		btn := xlatedOf(t, bt, src)
		t.Logf("%-90s tracelet %4d insns, bpftrace %4d insns", src, tl, btn)
		if tl > btn {
			t.Errorf("%s: tracelet %d instructions > bpftrace %d", src, tl, btn)
		}
	}
}

var benchInsns = []string{
	`tracepoint:syscalls:sys_enter_openat { @[comm] = count(); }`,
	`tracepoint:syscalls:sys_enter_openat { printf("%s %s\n", comm, str(args->filename)); }`,
	`tracepoint:syscalls:sys_exit_read { @ = hist(args->ret); }`,
	`tracepoint:syscalls:sys_enter_read /pid == 1/ { @[tid] = sum(args->count); }`,
	`tracepoint:raw_syscalls:sys_enter { @[pid, comm] = count(); }`,
	// kernel structs through BTF
	`tracepoint:syscalls:sys_enter_getppid { printf("%s %d\n", curtask->real_parent->comm, curtask->real_parent->pid); }`,
	`tracepoint:syscalls:sys_enter_getppid { @[((struct task_struct *)curtask)->mm->map_count] = count(); }`,
	`tracepoint:syscalls:sys_enter_openat /curtask->mm != 0/ { @[curtask->group_leader->comm] = count(); }`,
	`tracepoint:syscalls:sys_enter_openat { @[curtask->in_iowait, curtask->pid == tid] = count(); }`,
}

// xlatedOf runs src with bpftrace (tool != "") or in process, for 1.5s
// so that bpftool sees the loaded program, and returns the xlated
// instruction count of its tracepoint program: the new one (by id) whose
// name is the event's (bpftrace) or p0_ and the event's (tracelet), each
// cut to the 15 bytes of a BPF object name.
func xlatedOf(t *testing.T, tool, src string) int {
	t.Helper()
	_, rest, _ := strings.Cut(src, "tracepoint:")
	rest, _, _ = strings.Cut(rest, " ")
	_, event, _ := strings.Cut(rest, ":")
	before := maxProgID(t)
	full := src + ` interval:ms:4000 { exit(); }`
	done := make(chan error, 1)
	if tool != "" {
		cmd := exec.Command(tool, "-e", full)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		go func() { done <- cmd.Wait() }()
	} else {
		r, err := Prepare("-e", []byte(full), RunOptions{Out: discard{}})
		if err != nil {
			t.Fatal(err)
		}
		// Not startChecked: its bpftool runs take longer under load than
		// the interval leaves before exit(), and the other tests of this
		// package compare these programs with bpftool already.
		if err := r.Start(nil); err != nil {
			t.Fatal(err)
		}
		go func() { done <- r.Wait(t.Context()); r.Close() }()
	}
	// Poll until the program is loaded: a loaded machine can take longer
	// than any fixed wait to start bpftrace. The interval ends the run.
	n := 0
	for n == 0 {
		for _, p := range listProgs(t) {
			name := strings.TrimPrefix(p.Name, "p0_")
			if p.ID > before && p.Type == "tracepoint" && strings.HasPrefix(event, name) {
				n = max(n, p.BytesXl/8)
			}
		}
		if n == 0 && len(done) > 0 {
			break
		}
		if n == 0 {
			time.Sleep(50 * time.Millisecond)
		}
	}
	<-done
	if n == 0 {
		t.Fatalf("%s: no new tracepoint program for %s in bpftool prog show", src, event)
	}
	return n
}

type progShow struct {
	ID      int    `json:"id"`
	Type    string `json:"type"`
	Name    string `json:"name"`
	BytesXl int    `json:"bytes_xlated"`
}

func listProgs(t *testing.T) []progShow {
	out, err := exec.Command("bpftool", "prog", "show", "--json").Output()
	if err != nil {
		t.Fatal(err)
	}
	var progs []progShow
	if err := json.Unmarshal(out, &progs); err != nil {
		t.Fatal(err)
	}
	return progs
}

func maxProgID(t *testing.T) int {
	n := 0
	for _, p := range listProgs(t) {
		n = max(n, p.ID)
	}
	return n
}
