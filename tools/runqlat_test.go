package tools

import (
	"bufio"
	"context"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tracelet/tracelet/btf"
	"github.com/tracelet/tracelet/internal/testenv"
	"github.com/tracelet/tracelet/script"
)

// runScriptTool starts the embedded tool name with flags given as
// "NAME=VALUE" defines, and returns its output once stop is called.
func runScriptTool(t *testing.T, name string, defines ...string) (stop func() string) {
	t.Helper()
	return runScriptToolNotes(t, name, nil, defines...)
}

// runScriptToolNotes is runScriptTool with the note RunScript writes when
// it runs the tool's fallback going to notes.
func runScriptToolNotes(t *testing.T, name string, notes io.Writer, defines ...string) (stop func() string) {
	t.Helper()
	s, err := LookupScript(name)
	if err != nil {
		t.Fatal(err)
	}
	var o ScriptOptions
	for _, d := range defines {
		def, err := script.ParseDefine(d)
		if err != nil {
			t.Fatal(err)
		}
		o.Defines = append(o.Defines, def)
	}
	out := &testenv.Buffer{}
	o.Out = out
	o.Notes = notes
	stopTool := runTool(t, func(ctx context.Context, ready func()) error {
		o.Ready = ready
		return RunScript(ctx, s, o)
	})
	return func() string {
		if err := stopTool(); err != nil {
			t.Fatal(err)
		}
		return out.String()
	}
}

// startSleepWake starts the helper that sleeps n times on one thread,
// and returns its tid and a release that runs it to its end.
func startSleepWake(t *testing.T, n int) (pid, tid int, release func()) {
	t.Helper()
	cmd := exec.Command(os.Args[0], strconv.Itoa(n))
	cmd.Env = append(os.Environ(), "TRACELET_TOOLS_HELPER=sleepwake")
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	if tid, err = strconv.Atoi(strings.TrimSpace(line)); err != nil {
		t.Fatal(err)
	}
	return cmd.Process.Pid, tid, func() {
		in.Write([]byte("\n"))
		if err := cmd.Wait(); err != nil {
			t.Fatal(err)
		}
	}
}

// log2Hists splits print_log2_hist output into histograms by the line
// that heads each ("tid = 42 comm"; "" for one without keys), each with
// its header and its counts.
type log2Hist struct {
	header string
	counts []uint64
}

func log2Hists(t *testing.T, lines []string) map[string]*log2Hist {
	t.Helper()
	hs := map[string]*log2Hist{}
	key := ""
	var cur *log2Hist
	for _, l := range lines {
		switch {
		case strings.Contains(l, ": count    distribution"):
			cur = &log2Hist{header: strings.TrimRight(l, " ")}
			hs[key] = cur
		case strings.Contains(l, "->") && cur != nil:
			_, after, _ := strings.Cut(l, ":")
			n, err := strconv.ParseUint(strings.Fields(after)[0], 10, 64)
			if err != nil {
				t.Fatalf("row %q: %v", l, err)
			}
			cur.counts = append(cur.counts, n)
		case strings.HasPrefix(l, "pid = ") || strings.HasPrefix(l, "tid = ") || strings.HasPrefix(l, "disk = "):
			key, cur = l, nil
		}
	}
	return hs
}

func (h *log2Hist) total() (n uint64) {
	for _, c := range h.counts {
		n += c
	}
	return n
}

// runqlat -L -p PID on a thread that sleeps 2ms 50 times: both tools
// count the same wakeups of that thread (its 50 sleeps, and its release
// and any preemption when they happen: Go parks the release's read of a
// pipe in its poller, so the thread is not always asleep when the line
// comes), under the same "tid = TID COMM" line and header. The
// latencies themselves are time, each tool's own clock reading: the
// slots are not compared. With -P, the process's histogram holds its
// other threads' wakeups too, some of which may fall in the moment
// libbpf-tools is attached and ours is not yet: ours counts no more than
// libbpf-tools', and at least the sleeping thread's.
func TestSideBySideRunqlat(t *testing.T) {
	for _, mode := range []string{"L", "L-ms", "P"} {
		t.Run(mode, func(t *testing.T) {
			const n = 50
			pid, tid, release := startSleepWake(t, n)
			args := []string{"-L", "-p", strconv.Itoa(pid)}
			defs := []string{"TIDS", "PID=" + strconv.Itoa(pid)}
			key := "tid = " + strconv.Itoa(tid) + " tools.test"
			switch mode {
			case "L-ms":
				args = append(args, "-m")
				defs = append(defs, "MSECS")
			case "P":
				args[0], defs[0] = "-P", "PIDS"
				key = "pid = " + strconv.Itoa(pid) + " tools.test"
			}
			lb := startLibbpf(t, "runqlat", args...)
			stop := runScriptTool(t, "runqlat", defs...)
			release()
			ours := stop()
			theirs := lb.stop(t)
			t.Logf("libbpf-tools:\n%s\ntracelet:\n%s", strings.Join(theirs, "\n"), ours)
			ourLines := strings.Split(ours, "\n")
			same(t, "first line", theirs[0], ourLines[0])
			th, oh := log2Hists(t, theirs)[key], log2Hists(t, ourLines)[key]
			if th == nil || oh == nil {
				t.Fatalf("no histogram %q: libbpf-tools %v, tracelet %v", key, th != nil, oh != nil)
			}
			same(t, "header", th.header, oh.header)
			if mode == "P" {
				if oh.total() > th.total() || oh.total() < n {
					t.Errorf("wakeups of pid %d: libbpf-tools %d, tracelet %d, want tracelet's at least %d and at most libbpf-tools'", pid, th.total(), oh.total(), n)
				}
			} else if th.total() != oh.total() || oh.total() < n {
				t.Errorf("wakeups of tid %d: libbpf-tools %d, tracelet %d, want the same, at least %d", tid, th.total(), oh.total(), n)
			}
			// The helper's other threads wake too (Go's runtime): ours
			// ran inside libbpf-tools' window, so every thread it saw,
			// libbpf-tools saw; -p kept every other process out of both.
			theirKeys := log2Hists(t, theirs)
			for k := range log2Hists(t, ourLines) {
				if theirKeys[k] == nil {
					t.Errorf("tracelet has a histogram for %q, libbpf-tools -p %d none", k, pid)
				}
			}
		})
	}
}

// runqlat -T 1 2 (INTERVAL and COUNT): it prints twice, each time after
// an empty line and a time, then exits by itself.
func TestRunqlatIntervalCount(t *testing.T) {
	requireBTF(t)
	s, err := LookupScript("runqlat")
	if err != nil {
		t.Fatal(err)
	}
	var o ScriptOptions
	for _, d := range []string{"INTERVAL=1", "COUNT=2", "TIMESTAMP"} {
		def, err := script.ParseDefine(d)
		if err != nil {
			t.Fatal(err)
		}
		o.Defines = append(o.Defines, def)
	}
	out := &testenv.Buffer{}
	o.Out = out
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	stop := runTool(t, func(_ context.Context, ready func()) error {
		o.Ready = ready
		return RunScript(ctx, s, o)
	})
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if ctx.Err() != nil {
		t.Fatalf("runqlat 1 2 did not exit by itself in 30s:\n%s", out)
	}
	lines := strings.Split(out.String(), "\n")
	var times int
	for i, l := range lines {
		if _, err := time.Parse("15:04:05", l); err == nil {
			times++
			if i == 0 || lines[i-1] != "" {
				t.Errorf("time line %d not after an empty line", i+1)
			}
		}
	}
	if times != 2 {
		t.Errorf("%d time lines, want 2:\n%s", times, out)
	}
}

// runqlat's fallback for kernels before 5.18 (_runqlat-tp: the state from
// sched:sched_switch's format), forced by name, on a thread that sleeps
// 2ms 50 times, beside runqlat.bt where the kernel has BTF. Both see the
// thread's 50 wakeups at least. Every switch out that runqlat.bt counts
// as runnable (prev_state 0), the fallback counts too; it also counts a
// preemption between the thread's set_current_state() and schedule(),
// which runqlat.bt and libbpf-tools leave to the wakeup: on the thread,
// which does nothing but sleep, the fallback counts no fewer than
// runqlat.bt, under the same header. With -P, the process's other
// threads wake in the moment one tool is attached and the other not yet:
// both count at least the sleeping thread's wakeups.
//
// Without -p and -P the fallback needs no BTF (its wakeups are
// sched:sched_wakeup's too), and runqlat.bt cannot run: on a kernel
// without BTF (the i386 guest) the fallback runs alone, with -L and no
// -p, which such a kernel cannot filter by. With BTF the test filters by
// -p: the host runs thousands of other threads, whose (tid, slot) keys
// fill @lat's 4096 before the test's thread gets one.
func TestRunqlatFallback(t *testing.T) {
	_, errBTF := os.Stat(btf.KernelPath)
	modes := []string{"L-p", "P-p"}
	if errBTF != nil {
		t.Logf("the kernel has no BTF (%v): -p and -P read the woken task's process through it; -L alone", errBTF)
		modes = []string{"L"}
	}
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			const n = 50
			pid, tid, release := startSleepWake(t, n)
			var defs []string
			key := "tid = " + strconv.Itoa(tid) + " tools.test"
			switch mode {
			case "L":
				defs = []string{"TIDS"}
			case "L-p":
				defs = []string{"TIDS", "PID=" + strconv.Itoa(pid)}
			case "P-p":
				defs = []string{"PIDS", "PID=" + strconv.Itoa(pid)}
				key = "pid = " + strconv.Itoa(pid) + " tools.test"
			}
			var stopMain func() string
			notes := &testenv.Buffer{}
			if errBTF == nil {
				stopMain = runScriptToolNotes(t, "runqlat", notes, defs...)
			}
			stopFallback := runScriptTool(t, "_runqlat-tp", defs...)
			release()
			fb := strings.Split(stopFallback(), "\n")
			fh := log2Hists(t, fb)[key]
			if fh == nil {
				t.Fatalf("_runqlat-tp has no histogram %q:\n%s", key, strings.Join(fb, "\n"))
			}
			if fh.total() < n {
				t.Errorf("_runqlat-tp counted %d wakeups for %q, want at least the %d sleeps'", fh.total(), key, n)
			}
			if stopMain == nil {
				t.Logf("_runqlat-tp alone (no BTF): %q: %d", key, fh.total())
				return
			}
			main := strings.Split(stopMain(), "\n")
			// runqlat itself runs the fallback where sched_switch has no
			// prev_state (before 5.18), and says so.
			if hasPrevState(t) == (notes.String() != "") {
				t.Errorf("sched_switch has prev_state: %v; runqlat's note: %q", hasPrevState(t), notes.String())
			} else if notes.String() != "" && !strings.HasPrefix(notes.String(), "runqlat: running _runqlat-tp (tracelet tools show _runqlat-tp): ") {
				t.Errorf("runqlat's note %q does not name _runqlat-tp", notes.String())
			}
			mh := log2Hists(t, main)[key]
			if mh == nil {
				t.Fatalf("runqlat has no histogram %q:\n%s", key, strings.Join(main, "\n"))
			}
			t.Logf("%q: runqlat %d, _runqlat-tp %d", key, mh.total(), fh.total())
			same(t, "first line", main[0], fb[0])
			same(t, "header", mh.header, fh.header)
			if mh.total() < n {
				t.Errorf("runqlat counted %d wakeups for %q, want at least %d", mh.total(), key, n)
			}
			if mode != "P-p" && fh.total() < mh.total() {
				t.Errorf("%q: _runqlat-tp counted %d, fewer than runqlat's %d", key, fh.total(), mh.total())
			}
		})
	}
}

// hasPrevState reports whether the kernel's sched_switch raw tracepoint
// passes prev_state (5.18), which runqlat.bt reads.
func hasPrevState(t *testing.T) bool {
	t.Helper()
	spec, err := btf.LoadFile(btf.KernelPath)
	if err != nil {
		t.Fatal(err)
	}
	// btf_trace_sched_switch's parameters have no names: prev_state is
	// the fourth, after preempt, prev and next.
	params, err := spec.TracepointArgs("sched_switch")
	if err != nil {
		t.Fatal(err)
	}
	return len(params) >= 4
}
