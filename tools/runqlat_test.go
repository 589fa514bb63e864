package tools

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tracelet/tracelet/script"
)

// syncBuffer is an io.Writer a tool writes from its goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// runScriptTool starts the embedded tool name with flags given as
// "NAME=VALUE" defines, and returns its output once stop is called.
func runScriptTool(t *testing.T, name string, defines ...string) (stop func() string) {
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
	out := &syncBuffer{}
	o.Out = out
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
	out := &syncBuffer{}
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
