package tools

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tracelet/tracelet/internal/testenv"
)

// The side-by-side tests run a libbpf-tools binary and our tool on the same
// workload and compare what they print, apart from time columns. They run
// where libbpf-tools is installed (make deps installs it); the VM suite's
// guests have no C library and leave them out (packages.txt).

// libbpfTool is a running libbpf-tools binary and what it printed so far.
type libbpfTool struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	got  []string
	done chan struct{} // stdout closed
}

// startLibbpf starts /usr/sbin/NAME with args and waits for its first line:
// every libbpf tool prints it once its programs are attached. Its stdout is
// line buffered (stdbuf) so that lines come as they are printed.
func startLibbpf(t *testing.T, name string, args ...string) *libbpfTool {
	t.Helper()
	l := startOracle(t, "/usr/sbin/"+name, "libbpf-tools", args...)
	l.wait(t, name+"'s first line", func(string) bool { return true })
	return l
}

// startOracle starts bin (from package pkg) with args, its stdout line
// buffered, and returns at once.
func startOracle(t *testing.T, bin, pkg string, args ...string) *libbpfTool {
	t.Helper()
	testenv.RequireRoot(t)
	if _, err := os.Stat(bin); err != nil {
		t.Skipf("%s not installed (apt-get install %s): %v", bin, pkg, err)
	}
	cmd := exec.Command("stdbuf", append([]string{"-oL", bin}, args...)...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	l := &libbpfTool{cmd: cmd, done: make(chan struct{})}
	go func() {
		defer close(l.done)
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			l.mu.Lock()
			l.got = append(l.got, sc.Text())
			l.mu.Unlock()
		}
	}()
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return l
}

// wait returns once a line that match accepts has been printed, failing
// after 10s.
func (l *libbpfTool) wait(t *testing.T, what string, match func(string) bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		l.mu.Lock()
		for _, s := range l.got {
			if match(s) {
				l.mu.Unlock()
				return
			}
		}
		l.mu.Unlock()
		select {
		case <-l.done:
			t.Fatalf("libbpf-tools exited without printing %s", what)
		case <-time.After(5 * time.Millisecond):
		}
	}
	t.Fatalf("libbpf-tools printed no %s in 10s", what)
}

// waitField waits for a line whose field i is want.
func (l *libbpfTool) waitField(t *testing.T, i int, want string) {
	t.Helper()
	l.wait(t, "line with "+want, func(s string) bool {
		f := strings.Fields(s)
		return len(f) > i && f[i] == want
	})
}

// stop interrupts the tool as Ctrl-C would and returns every line it
// printed.
func (l *libbpfTool) stop(t *testing.T) []string {
	t.Helper()
	l.cmd.Process.Signal(syscall.SIGINT)
	<-l.done
	l.cmd.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.got)
}

// find returns the first line whose whitespace-separated field i is want.
func findLine(lines []string, i int, want string) (string, bool) {
	for _, s := range lines {
		if f := strings.Fields(s); len(f) > i && f[i] == want {
			return s, true
		}
	}
	return "", false
}

// same compares one of their lines with ours, without trailing blanks.
func same(t *testing.T, what, theirs, ours string) {
	t.Helper()
	theirs, ours = strings.TrimRight(theirs, " "), strings.TrimRight(ours, " ")
	t.Logf("%s: %q", what, ours)
	if theirs != ours {
		t.Errorf("%s:\nlibbpf-tools: %q\ntracelet:     %q", what, theirs, ours)
	}
}

// sigsnoop without -k follows signal_generate in libbpf-tools; ours does
// that with SignalGenerate, and pairs it with the delivery by default.
// Both must report the one SIGUSR1 of the workload identically.
func TestSideBySideSigsnoop(t *testing.T) {
	for _, mode := range []SignalMode{SignalGenerate, SignalDeliver, SignalKill} {
		t.Run(strconv.Itoa(int(mode)), func(t *testing.T) {
			var args []string
			if mode == SignalKill {
				args = append(args, "-k")
			}
			lb := startLibbpf(t, "sigsnoop", append(args, "-s", strconv.Itoa(int(syscall.SIGUSR1)))...)
			c := newCollector[*SignalEvent]()
			stop := runTool(t, func(ctx context.Context, ready func()) error {
				o := SignalOptions{Mode: mode, Signal: int(syscall.SIGUSR1), Common: Common{Ready: ready}}
				return Sigsnoop(ctx, o, func(e *SignalEvent) error { return c.add(e) })
			})
			target := exec.Command("sleep", "30")
			if err := target.Start(); err != nil {
				t.Fatal(err)
			}
			defer target.Process.Kill()
			time.Sleep(50 * time.Millisecond)
			sender := helper(t, "kill", strconv.Itoa(target.Process.Pid), "10")
			spid := strconv.Itoa(sender.Process.Pid)
			sender.Wait()
			target.Wait()
			ev := c.waitFor(t, "SIGUSR1 from "+spid, func(e *SignalEvent) bool { return e.Pid == sender.Process.Pid })
			lb.waitField(t, 1, spid)
			stop()
			lines := lb.stop(t)
			// libbpf-tools: TIME PID COMM SIG TPID RESULT; ours has no
			// TIME (the Printer adds it) and ends with CMDLINE.
			same(t, "header", lines[0][9:], strings.TrimSuffix(SignalHeader(), "CMDLINE"))
			line, ok := findLine(lines, 1, spid)
			if !ok {
				t.Fatalf("libbpf-tools sigsnoop has no line for sender %s:\n%s", spid, strings.Join(lines, "\n"))
			}
			same(t, "event", line[9:], strings.TrimSuffix(ev.Columns(false), ev.Cmdline))
		})
	}
}

func TestSideBySideExecsnoop(t *testing.T) {
	prog := testenv.TestProg(t)
	lb := startLibbpf(t, "execsnoop")
	c := newCollector[*ExecEvent]()
	stop := runTool(t, func(ctx context.Context, ready func()) error {
		return Execsnoop(ctx, ExecOptions{UID: -1, Common: Common{Ready: ready}}, func(e *ExecEvent) error { return c.add(e) })
	})
	cmd := exec.Command(prog, "calls", "1", "2", "3")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	ev := c.waitFor(t, "exec of testprog", func(e *ExecEvent) bool { return e.Pid == pid })
	lb.waitField(t, 1, strconv.Itoa(pid))
	stop()
	lines := lb.stop(t)
	same(t, "header", lines[0], ExecHeader(false))
	line, ok := findLine(lines, 1, strconv.Itoa(pid))
	if !ok {
		t.Fatalf("libbpf-tools execsnoop has no line for pid %d:\n%s", pid, strings.Join(lines, "\n"))
	}
	same(t, "event", line, ev.Columns(false, false))
}

func TestSideBySideOpensnoop(t *testing.T) {
	prog := testenv.TestProg(t)
	const path = "/nonexistent/tracelet-sidebyside"
	lb := startLibbpf(t, "opensnoop", "-x")
	c := newCollector[*OpenEvent]()
	stop := runTool(t, func(ctx context.Context, ready func()) error {
		o := OpenOptions{UID: -1, Failed: true, Common: Common{Ready: ready}}
		return Opensnoop(ctx, o, func(e *OpenEvent) error { return c.add(e) })
	})
	cmd := exec.Command(prog, "open", path)
	if out, err := cmd.Output(); err != nil || string(out) != "errno 2\n" {
		t.Fatalf("testprog open: %q, %v", out, err)
	}
	pid := cmd.Process.Pid
	ev := c.waitFor(t, "open of "+path, func(e *OpenEvent) bool { return e.Pid == pid && e.Path == path })
	lb.waitField(t, 0, strconv.Itoa(pid))
	stop()
	lines := lb.stop(t)
	same(t, "header", lines[0], OpenHeader(false, false))
	var line string
	for _, l := range lines {
		if f := strings.Fields(l); len(f) == 5 && f[0] == strconv.Itoa(pid) && f[4] == path {
			line = l
		}
	}
	if line == "" {
		t.Fatalf("libbpf-tools opensnoop has no line for pid %d:\n%s", pid, strings.Join(lines, "\n"))
	}
	same(t, "event", line, ev.Columns(false, false))
}

// syscount -p on a process making a known number of getppid calls: both
// count exactly those, under the same header and columns. The workload's
// Go runtime also makes calls of its own (futex, nanosleep, tgkill) at
// times of its own: libbpf-tools is attached first and stopped last, so
// its window holds tracelet's, and each of tracelet's rows counts at most
// libbpf-tools' count of the same call.
func TestSideBySideSyscount(t *testing.T) {
	for _, latency := range []bool{false, true} {
		t.Run(fmt.Sprint("latency=", latency), func(t *testing.T) {
			pid, release := startGetppid(t, "1234")
			args := []string{"-p", strconv.Itoa(pid)}
			if latency {
				args = append(args, "-L")
			}
			lb := startLibbpf(t, "syscount", args...)
			reports := make(chan *SyscountReport, 1)
			o := SyscountOptions{Pid: pid, Latency: latency}
			stop := runTool(t, func(ctx context.Context, ready func()) error {
				o.Ready = ready
				return Syscount(ctx, o, func(r *SyscountReport) error { reports <- r; return nil })
			})
			release()
			time.Sleep(100 * time.Millisecond)
			stop()
			lines := lb.stop(t)
			var b strings.Builder
			PrintSyscount(&b, <-reports, o, 10, false)
			ours := strings.Split(strings.TrimRight(b.String(), "\n"), "\n")[1:] // without [HH:MM:SS]
			var theirs []string
			for _, l := range lines {
				if l == "" || strings.HasPrefix(l, "Tracing") || strings.HasPrefix(l, "[") {
					continue
				}
				theirs = append(theirs, l)
			}
			t.Logf("libbpf-tools:\n%s\ntracelet:\n%s", strings.Join(theirs, "\n"), strings.Join(ours, "\n"))
			if len(theirs) < 2 || len(ours) < 2 {
				t.Fatal("a table without rows")
			}
			same(t, "header", theirs[0], ours[0])
			// SYSCALL COUNT [TIME (us)]: the call's count, and its row
			// with the time (which differs) left out.
			rows := func(lines []string) (map[string]int, map[string]string) {
				counts, texts := map[string]int{}, map[string]string{}
				for _, l := range lines[1:] {
					f := strings.Fields(l)
					if len(f) != 2+btoi(latency) {
						t.Errorf("row %q: %d columns", l, len(f))
						continue
					}
					counts[f[0]], _ = strconv.Atoi(f[1])
					texts[f[0]] = l
					if latency {
						texts[f[0]] = l[:strings.LastIndexByte(strings.TrimRight(l, " "), ' ')]
					}
				}
				return counts, texts
			}
			tc, tt := rows(theirs)
			oc, ot := rows(ours)
			if tc["getppid"] != 1234 || oc["getppid"] != 1234 {
				t.Errorf("getppid: libbpf-tools %d, tracelet %d, want 1234", tc["getppid"], oc["getppid"])
			}
			same(t, "getppid's row", tt["getppid"], ot["getppid"])
			for name, n := range oc {
				if tc[name] < n {
					t.Errorf("%s: tracelet counts %d, libbpf-tools (attached before it, stopped after) %d", name, n, tc[name])
				}
			}
		})
	}
}

// funclatency on a uprobe (this host has no kprobes) of testprog's C-ABI
// function: the same number of calls, in the same unit and layout. The
// slots themselves are time and are not compared.
func TestSideBySideFunclatency(t *testing.T) {
	prog := testenv.TestProg(t)
	fn := prog + ":" + testenv.CABITarget
	lb := startLibbpf(t, "funclatency", "-u", fn)
	hists := make(chan *Histogram, 1)
	stop := runTool(t, func(ctx context.Context, ready func()) error {
		o := FunclatencyOptions{Unit: Microseconds, Common: Common{Ready: ready}}
		return Funclatency(ctx, fn, o, func(h *Histogram) error { hists <- h; return nil })
	})
	runCalls(t, prog, "300")
	stop()
	lines := lb.stop(t)
	var b strings.Builder
	PrintLog2Hist(&b, <-hists)
	ours := strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
	var theirs []string
	for _, l := range lines {
		if strings.Contains(l, "->") || strings.Contains(l, "distribution") {
			theirs = append(theirs, l)
		}
	}
	if len(theirs) == 0 || len(ours) == 0 {
		t.Fatalf("no histogram:\nlibbpf-tools:\n%s\ntracelet:\n%s", strings.Join(lines, "\n"), b.String())
	}
	same(t, "header", theirs[0], ours[0])
	count := func(rows []string) (n uint64) {
		for _, r := range rows[1:] {
			_, after, _ := strings.Cut(r, ":")
			v, _ := strconv.ParseUint(strings.Fields(after)[0], 10, 64)
			n += v
		}
		return n
	}
	t.Logf("libbpf-tools:\n%s\ntracelet:\n%s", strings.Join(theirs, "\n"), strings.Join(ours, "\n"))
	if a, b := count(theirs), count(ours); a != 300 || b != 300 {
		t.Errorf("calls counted: libbpf-tools %d, tracelet %d, want 300 each", a, b)
	}
}
