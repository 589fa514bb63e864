package trace

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tracelet/tracelet/internal/testenv"
	"github.com/tracelet/tracelet/tracefs"
)

// The side-by-side benchmarks run one workload (a loop of N calls in a
// process of its own, held at a "ready" line until released) under each
// tool in turn. A tracer is attached before the release and, once the loop
// has ended, asked for what it delivered.

// loop is a workload process waiting to make its calls.
type loop struct {
	cmd  *exec.Cmd
	in   io.WriteCloser
	out  *bufio.Reader
	tid  int  // the thread that makes the calls
	self bool // the process prints its own loop time after the loop
}

// run releases the loop and waits for the process to exit. It returns the
// loop's duration: timed by the process itself when it can, otherwise the
// wall time from release to exit.
func (l *loop) run(b testing.TB) time.Duration {
	b.Helper()
	start := time.Now()
	if _, err := io.WriteString(l.in, "go\n"); err != nil {
		b.Fatal(err)
	}
	var line string
	if l.self {
		s, err := l.out.ReadString('\n')
		if err != nil {
			b.Fatalf("workload: reading its loop time: %v", err)
		}
		line = s
	}
	io.Copy(io.Discard, l.out)
	if err := l.cmd.Wait(); err != nil {
		b.Fatalf("workload %s: %v", l.cmd.Path, err)
	}
	d := time.Since(start)
	if l.self {
		ns, err := strconv.ParseInt(strings.TrimSpace(line), 10, 64)
		if err != nil {
			b.Fatalf("workload: loop time %q: %v", line, err)
		}
		d = time.Duration(ns)
	}
	return d
}

// startLoop starts argv, which must print "ready" (optionally followed by
// a thread id) and then wait for a line on stdin.
func startLoop(b testing.TB, self bool, argv ...string) *loop {
	b.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	in, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	l := &loop{cmd: cmd, in: in, out: bufio.NewReader(out), tid: cmd.Process.Pid, self: self}
	line, err := l.out.ReadString('\n')
	f := strings.Fields(line)
	if err != nil || len(f) == 0 || f[0] != "ready" {
		b.Fatalf("%s: got %q, %v", argv[0], line, err)
	}
	if len(f) > 1 {
		if l.tid, err = strconv.Atoi(f[1]); err != nil {
			b.Fatalf("%s: thread id in %q: %v", argv[0], line, err)
		}
	}
	return l
}

// workload is what is traced, and how each tool is told to trace it.
type workload struct {
	start func(b *testing.B, n int) *loop
	// tracelet gives the session's options for loop l.
	tracelet func(b *testing.B, l *loop) Options
	// bpftrace gives a bpftrace program printing one line starting with
	// "E " per event.
	bpftrace func(b *testing.B, l *loop) string
	// perfTools gives the perf-tools command (script name, arguments) and
	// the text that marks an event's line in trace_pipe. name is a probe
	// name of our own, for the tools that define one.
	perfTools func(b *testing.B, l *loop, name string) (script string, args []string, match string)
}

// cabiLoop: testprog calls cabiTarget (through cabi6) n times.
var cabiLoop = workload{
	start: func(b *testing.B, n int) *loop {
		return startLoop(b, false, testenv.TestProg(b), "wait", "calls", strconv.Itoa(n), "1", "2")
	},
	tracelet: func(b *testing.B, l *loop) Options {
		r := cabiRegs(b)
		return Options{Specs: []string{cabiSpec(b, fmt.Sprintf("a=%s:u64 b=%s:s64", r[0], r[1]))}}
	},
	bpftrace: func(b *testing.B, l *loop) string {
		return fmt.Sprintf(`uprobe:%s:"%s" { printf("E %%d %%d\n", arg0, arg1); }`, testenv.TestProg(b), testenv.CABITarget)
	},
	perfTools: func(b *testing.B, l *loop, name string) (string, []string, string) {
		r := cabiRegs(b)
		path, off, err := tracefs.ResolveSymbol(testenv.TestProg(b), testenv.CABITarget)
		if err != nil {
			b.Fatal(err)
		}
		// A file offset: perf-tools' own symbol lookup would use objdump
		// and name the event after the symbol, whose dots the kernel
		// refuses in an event name.
		def := fmt.Sprintf("p:%s %s:%#x a=%s:u64 b=%s:s64", name, path, off, r[0], r[1])
		return "uprobe", []string{def}, " " + name + ": "
	},
}

var (
	getppidOnce sync.Once
	getppidPath string
	getppidErr  error
)

// getppidLoop: testdata/getppidloop makes n getppid calls on one thread.
var getppidLoop = pacedGetppid(0)

// pacedGetppid is getppidLoop at no more than rate calls per second (0:
// as fast as it can).
func pacedGetppid(rate int) workload {
	w := getppidTools
	w.start = func(b *testing.B, n int) *loop {
		return startLoop(b, true, getppidLoopBin(b), strconv.Itoa(n), strconv.Itoa(rate))
	}
	return w
}

// getppidLoopBin builds testdata/getppidloop once per test binary.
func getppidLoopBin(b testing.TB) string {
	b.Helper()
	getppidOnce.Do(func() {
		dir, err := os.MkdirTemp("", "tracelet-getppidloop-")
		if err != nil {
			getppidErr = err
			return
		}
		getppidPath = filepath.Join(dir, "getppidloop")
		cmd := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-o", getppidPath, "./testdata/getppidloop")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			getppidErr = fmt.Errorf("%v\n%s", err, out)
		}
	})
	if getppidErr != nil {
		b.Fatalf("building testdata/getppidloop: %v", getppidErr)
	}
	return getppidPath
}

// getppidTools trace sys_enter_getppid of the loop's thread.
var getppidTools = workload{
	tracelet: func(b *testing.B, l *loop) Options {
		return Options{Specs: []string{"syscalls:sys_enter_getppid"}, Filter: "common_pid == " + strconv.Itoa(l.tid)}
	},
	bpftrace: func(b *testing.B, l *loop) string {
		return fmt.Sprintf(`tracepoint:syscalls:sys_enter_getppid /tid == %d/ { printf("E %%d\n", tid); }`, l.tid)
	},
	perfTools: func(b *testing.B, l *loop, name string) (string, []string, string) {
		return "tpoint", []string{"-L", strconv.Itoa(l.tid), "syscalls:sys_enter_getppid"}, ": sys_getppid("
	},
}

// outcome is what a tool delivered of one run.
type outcome struct {
	delivered  uint64
	toolLost   uint64    // the loss the tool itself reported
	last       time.Time // when the last event reached the consumer
	lostReport string    // how the tool reports loss, for messages
}

// tracer is one tool tracing one run.
type tracer interface {
	// finish is called once the loop has ended: it waits for the events
	// still on their way (want in all), stops the tool and reports.
	finish(b *testing.B, want uint64) outcome
}

// requireTool finds a test oracle's command. Under CI a missing oracle is a
// failure (make bench-deps installs it); elsewhere the benchmark skips.
func requireTool(b *testing.B, pkg string, names ...string) string {
	b.Helper()
	testenv.RequireRoot(b)
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	msg := fmt.Sprintf("%s is not installed (Debian package %s; make bench-deps installs it): no side-by-side figure for it",
		strings.Join(names, " or "), pkg)
	if testenv.InCI() {
		b.Fatal(msg)
	}
	b.Skip(msg)
	return ""
}

// traceletTracer is a Session in watermark mode whose events are decoded
// and formatted as `tracelet trace` prints them, written to /dev/null in
// 64 KiB blocks as a buffered stdout would be.
type traceletTracer struct {
	s    *Session
	done chan error
	last atomic.Int64
}

func startTracelet(b *testing.B, opts Options) *traceletTracer {
	b.Helper()
	opts.RingSize = 4 << 20
	t := &traceletTracer{s: newSession(b, opts), done: make(chan error, 1)}
	if err := t.s.Start(); err != nil {
		b.Fatal(err)
	}
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { null.Close() })
	go func() {
		p := NewPrinter(nil)
		buf := make([]byte, 0, 128<<10)
		for {
			smp, err := t.s.Next(context.Background())
			if err == ErrIdle || (err == nil && len(buf) > 64<<10) {
				null.Write(buf)
				buf = buf[:0]
			}
			if err == ErrIdle {
				continue
			}
			if err != nil {
				null.Write(buf)
				t.last.Store(time.Now().UnixNano())
				if err == io.EOF {
					err = nil
				}
				t.done <- err
				return
			}
			buf = p.AppendText(buf, smp)
		}
	}()
	return t
}

func (t *traceletTracer) finish(b *testing.B, want uint64) outcome {
	t.s.Stop()
	if err := <-t.done; err != nil {
		b.Fatal(err)
	}
	return outcome{delivered: t.s.Delivered(), toolLost: t.s.Lost(), last: time.Unix(0, t.last.Load()),
		lostReport: "Session.Lost (the kernel's PERF_FORMAT_LOST count)"}
}

// extTracer is a tool run as a process of its own whose stdout has one line
// per event. It runs in a process group of its own, so that SIGINT reaches
// its children too (perf-tools' scripts run `cat trace_pipe`).
type extTracer struct {
	cmd     *exec.Cmd
	match   []byte
	prefix  bool // match at the start of the line only
	lostRE  *regexp.Regexp
	lostMsg string
	n, lost atomic.Uint64
	last    atomic.Int64
	lines   chan string // lines that are not events, until ready
	eof     chan struct{}
	stderr  limitedBuffer
}

// limitedBuffer keeps the first 64 KiB written to it: a tool's complaints,
// bounded.
type limitedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if room := 64<<10 - l.buf.Len(); room > 0 {
		l.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (l *limitedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func startExt(b *testing.B, t *extTracer, argv []string, env ...string) {
	b.Helper()
	t.cmd = exec.Command(argv[0], argv[1:]...)
	t.cmd.Env = append(os.Environ(), env...)
	t.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	t.cmd.Stderr = &t.stderr
	out, err := t.cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	t.lines = make(chan string, 64)
	t.eof = make(chan struct{})
	if err := t.cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		// Normally finish has stopped it; this is for a benchmark that
		// failed half way. SIGINT first: the tools clean up on it.
		if t.cmd.ProcessState == nil {
			t.stop()
		}
	})
	go t.read(out)
}

func (t *extTracer) read(out io.Reader) {
	defer close(t.eof)
	r := bufio.NewReaderSize(out, 1<<20)
	for {
		line, err := r.ReadSlice('\n')
		if len(line) > 0 {
			switch {
			case t.prefix && bytes.HasPrefix(line, t.match), !t.prefix && bytes.Contains(line, t.match):
				t.n.Add(1)
			default:
				if m := t.lostRE.FindSubmatch(line); m != nil {
					n, _ := strconv.ParseUint(string(m[1]), 10, 64)
					t.lost.Add(n)
				} else {
					select {
					case t.lines <- string(line):
					default:
					}
				}
			}
			if r.Buffered() == 0 {
				t.last.Store(time.Now().UnixNano())
			}
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			return
		}
	}
}

// waitLine waits until the tool prints a line (not an event) containing s.
func (t *extTracer) waitLine(b *testing.B, s string) {
	b.Helper()
	timeout := time.After(2 * time.Minute)
	for {
		select {
		case l := <-t.lines:
			if strings.Contains(l, s) {
				return
			}
		case <-t.eof:
			t.cmd.Wait()
			b.Fatalf("%s exited before it was ready (%q): %v\n%s", t.cmd.Path, s, t.cmd.ProcessState, t.stderr.String())
		case <-timeout:
			b.Fatalf("%s: no %q line in 2 minutes\n%s", t.cmd.Path, s, t.stderr.String())
		}
	}
}

// stop sends SIGINT to the tool's process group and waits for it, killing
// it if it does not exit in 20 s. It reports whether it exited on SIGINT.
func (t *extTracer) stop() bool {
	syscall.Kill(-t.cmd.Process.Pid, syscall.SIGINT)
	select {
	case <-t.eof:
	case <-time.After(20 * time.Second):
		syscall.Kill(-t.cmd.Process.Pid, syscall.SIGKILL)
		<-t.eof
		t.cmd.Wait()
		return false
	}
	t.cmd.Wait()
	return true
}

func (t *extTracer) finish(b *testing.B, want uint64) outcome {
	// The loop has ended; what is still on its way arrives within a poll
	// interval or two of the tool. Quiet for a second means it is all in.
	start := time.Now()
	for t.n.Load() < want {
		last := time.Unix(0, t.last.Load())
		if last.Before(start) {
			last = start
		}
		if time.Since(last) > time.Second {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	last := time.Unix(0, t.last.Load())
	if !t.stop() {
		b.Errorf("%s did not exit within 20 s of SIGINT; killed\n%s", t.cmd.Path, t.stderr.String())
	}
	return outcome{delivered: t.n.Load(), toolLost: t.lost.Load(), last: last, lostReport: t.lostMsg}
}

// readyMark is printed by a bpftrace BEGIN probe: bpftrace runs BEGIN once
// every probe of the program is attached.
const readyMark = "tracelet-sidebyside-ready"

func startBpftrace(b *testing.B, bin, prog string) *extTracer {
	b.Helper()
	t := &extTracer{match: []byte("E "), prefix: true,
		lostRE: regexp.MustCompile(`^Lost (\d+) events`), lostMsg: `bpftrace's "Lost N events" lines`}
	// bpftrace's default ring: BPFTRACE_PERF_RB_PAGES=64 pages per CPU.
	startExt(b, t, []string{bin, "-e", `BEGIN { printf("` + readyMark + `\n"); } ` + prog})
	t.waitLine(b, readyMark)
	return t
}

// ftraceLock is perf-tools' global lock file.
const ftraceLock = "/var/tmp/.ftrace-lock"

// startPerfTools runs a perf-tools script. The scripts hard-code the
// debugfs path of tracefs (/sys/kernel/debug/tracing); where debugfs is not
// mounted there, the script runs in a private mount namespace of its own
// with debugfs mounted, so the host's mounts stay as they are.
//
// perf-tools works on the global trace buffer (it sets current_tracer to
// nop, clears the buffer with `echo > trace`, enables the event there and
// reads trace_pipe), and takes /var/tmp/.ftrace-lock: that is its design.
// So it must not run at the same time as anything else that uses the
// global buffer; tracelet's own tests never do.
func startPerfTools(b *testing.B, script string, args []string, match, probe string) *extTracer {
	b.Helper()
	if _, err := os.Stat(ftraceLock); err == nil {
		owner, _ := os.ReadFile(ftraceLock)
		b.Fatalf("%s exists (pid %s): another perf-tools run holds the global trace buffer", ftraceLock, strings.TrimSpace(string(owner)))
	}
	argv := append([]string{script}, args...)
	if _, err := os.Stat("/sys/kernel/debug/tracing/trace_pipe"); err != nil {
		argv = append([]string{"unshare", "-m", "--propagation", "private", "sh", "-c",
			`mount -t debugfs debugfs /sys/kernel/debug && exec "$0" "$@"`}, argv...)
	}
	t := &extTracer{match: []byte(match), lostRE: regexp.MustCompile(`\[LOST (\d+) EVENTS\]`),
		lostMsg: `trace_pipe's "CPU:N [LOST N EVENTS]" lines`}
	startExt(b, t, argv)
	b.Cleanup(func() { perfToolsLeftovers(b, t.cmd.Process.Pid, probe) })
	t.waitLine(b, "Tracing ")
	// The script clears the buffer after enabling the event and then runs
	// `cat trace_pipe`: only once cat runs is every event kept.
	waitChild(b, t.cmd.Process.Pid, "cat")
	time.Sleep(20 * time.Millisecond)
	return t
}

// waitChild waits until process pid has a child named comm.
func waitChild(b *testing.B, pid int, comm string) {
	b.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		dirs, _ := os.ReadDir("/proc")
		for _, d := range dirs {
			stat, err := os.ReadFile("/proc/" + d.Name() + "/stat")
			if err != nil {
				continue
			}
			// pid (comm) state ppid ...
			s := string(stat)
			i, j := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
			if i < 0 || j < i {
				continue
			}
			f := strings.Fields(s[j+1:])
			if len(f) > 1 && s[i+1:j] == comm && f[1] == strconv.Itoa(pid) {
				return
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	b.Fatalf("process %d never started %s", pid, comm)
}

// perfToolsLeftovers undoes what a killed perf-tools script could not: its
// probe (only the one we named) and its lock file (only when it holds the
// script's pid). A script that ended on SIGINT has done this itself.
func perfToolsLeftovers(b *testing.B, pid int, probe string) {
	if owner, err := os.ReadFile(ftraceLock); err == nil && strings.TrimSpace(string(owner)) == strconv.Itoa(pid) {
		os.Remove(ftraceLock)
		b.Logf("removed %s left by perf-tools pid %d", ftraceLock, pid)
	}
	if probe == "" {
		return
	}
	fs, err := tracefs.Find()
	if err != nil {
		return
	}
	evs, err := fs.DynamicEvents(tracefs.UprobeEvents)
	if err != nil {
		return
	}
	for _, e := range evs {
		if e.Group == "uprobes" && e.Event == probe {
			enable := fs.Root() + "/events/uprobes/" + probe + "/enable"
			os.WriteFile(enable, []byte("0"), 0)
			f, err := os.OpenFile(fs.Root()+"/"+tracefs.UprobeEvents, os.O_WRONLY|os.O_APPEND, 0)
			if err == nil {
				_, err = f.Write([]byte("-:uprobes/" + probe + "\n"))
				f.Close()
			}
			if err != nil && !errors.Is(err, os.ErrNotExist) {
				b.Errorf("removing perf-tools' probe uprobes/%s: %v", probe, err)
			}
			b.Logf("removed perf-tools' probe uprobes/%s left behind", probe)
		}
	}
}
