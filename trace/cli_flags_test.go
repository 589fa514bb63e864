package trace

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tracelet/tracelet/internal/testenv"
	"github.com/tracelet/tracelet/perf"
	"github.com/tracelet/tracelet/tracefs"
)

// The tests of this file run `tracelet trace` with one flag at a time
// against the real kernel and check what it prints line by line. The parts
// of a line that no test can know (the time, the CPU) are parsed out; the
// rest of the line must be exactly what the probe fetched, and the comm
// the traced thread's, even when it exited before its event was read (its
// name then comes from the side-band records of its exec and its fork).

// runningTrace is a `tracelet trace -v` run in the background.
type runningTrace struct {
	cmd    *exec.Cmd
	mu     sync.Mutex
	out    bytes.Buffer
	stderr testenv.Buffer
	done   chan struct{} // closed when stdout reached EOF
}

func startTrace(t *testing.T, args ...string) *runningTrace {
	t.Helper()
	r := &runningTrace{cmd: exec.Command(tracelet(t), append([]string{"trace", "-v"}, args...)...), done: make(chan struct{})}
	r.cmd.Stderr = &r.stderr
	out, err := r.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(r.done)
		var b [4096]byte
		for {
			n, err := out.Read(b[:])
			r.mu.Lock()
			r.out.Write(b[:n])
			r.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		r.cmd.Process.Kill()
		<-r.done
		r.cmd.Wait()
	})
	return r
}

func (r *runningTrace) stdout() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.out.String()
}

// wait waits for the run to end by itself and fails the test unless it
// exited with status 0 within limit.
func (r *runningTrace) wait(t *testing.T, limit time.Duration) {
	t.Helper()
	exited := make(chan error, 1)
	go func() { <-r.done; exited <- r.cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("tracelet %v: %v\nstderr:\n%s", r.cmd.Args[1:], err, r.stderr.String())
		}
	case <-time.After(limit):
		r.cmd.Process.Kill()
		<-exited
		t.Fatalf("tracelet %v still running after %v\nstdout:\n%s", r.cmd.Args[1:], limit, r.stdout())
	}
}

// stop ends the run with SIGINT and waits for it.
func (r *runningTrace) stop(t *testing.T) {
	t.Helper()
	r.cmd.Process.Signal(syscall.SIGINT)
	r.wait(t, 30*time.Second)
}

// tracingLine is what `trace -v` prints once every event is enabled.
const tracingLine = "trace: tracing; Ctrl-C to end\n"

// waitTracing waits until tracelet says that tracing has begun. Opening
// the events is not enough: Start follows a scan of /proc, which takes
// seconds in a slow guest (CI on e37f5cc, 6.1-arm64: a workload started
// 0.2 s after the last perf event opened exited before Start).
func waitTracing(t *testing.T, r *runningTrace) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for !strings.Contains(r.stderr.String(), tracingLine) {
		select {
		case <-r.done:
			r.cmd.Wait()
			t.Fatalf("tracelet %v ended before tracing:\n%s", r.cmd.Args[1:], r.stderr.String())
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("tracelet %v did not begin tracing in 2 minutes:\n%s", r.cmd.Args[1:], r.stderr.String())
		}
	}
}

// cabiProbe is a SPEC named NAME on cabiTarget, with args as cabiSpec
// takes them, and the address the kernel prints as its (0xIP).
func cabiProbe(t *testing.T, name, args string) (spec string, ip uint64) {
	t.Helper()
	prog := testenv.TestProg(t)
	return fmt.Sprintf("p:%s %s", name, strings.TrimPrefix(cabiSpec(t, args), "p ")), symbol(t, prog, testenv.CABITarget).Value
}

// traceLineRE splits a text line into comm, tid, cpu, time and the rest.
var traceLineRE = regexp.MustCompile(`^ *(\S+)-(\d+) +\[(\d{3})\] (\d+\.\d{6}): (.*)$`)

// progComm is the comm of a testprog process: the kernel names a task after
// the basename of the file it execs, cut to TASK_COMM_LEN-1 bytes. The Go
// runtime names no thread, so every thread of testprog has it too.
func progComm(t *testing.T) string {
	t.Helper()
	c := filepath.Base(testenv.TestProg(t))
	if len(c) > 15 {
		c = c[:15]
	}
	return c
}

type traceLine struct {
	comm string
	tid  int
	rest string // "EVENT: FIELDS"
}

// eventLines parses every line of text as an event line; stack lines
// (" => ...") are collected under the event before them.
func eventLines(t *testing.T, text string) (lines []traceLine, stacks [][]string) {
	t.Helper()
	for _, l := range strings.SplitAfter(text, "\n") {
		if l == "" {
			continue
		}
		if !strings.HasSuffix(l, "\n") {
			t.Errorf("unterminated last line %q", l)
			continue
		}
		l = strings.TrimSuffix(l, "\n")
		if f, ok := strings.CutPrefix(l, " => "); ok && len(lines) > 0 {
			stacks[len(stacks)-1] = append(stacks[len(stacks)-1], f)
			continue
		}
		m := traceLineRE.FindStringSubmatch(l)
		if m == nil {
			t.Errorf("not an event line: %q", l)
			continue
		}
		tid, _ := strconv.Atoi(m[2])
		lines = append(lines, traceLine{comm: m[1], tid: tid, rest: m[5]})
		stacks = append(stacks, nil)
	}
	return lines, stacks
}

// assertClean checks that tracelet run pid left nothing in the kernel:
// no probe of its owner group in uprobe_events (or kprobe_events), no
// events directory of the group and no instance of its name.
func assertClean(t *testing.T, pid int) {
	t.Helper()
	fs := mustFS(t)
	group := tracefs.OwnerGroup(pid)
	for _, f := range []string{tracefs.UprobeEvents, tracefs.KprobeEvents} {
		if !fs.Has(f) {
			continue
		}
		b, err := os.ReadFile(filepath.Join(fs.Root(), f))
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(string(b), "\n") {
			if strings.Contains(l, ":"+group+"/") {
				t.Errorf("%s still holds %q after tracelet %d ended", f, l, pid)
			}
		}
	}
	if _, err := os.Stat(filepath.Join(fs.Root(), "events", group)); !os.IsNotExist(err) {
		t.Errorf("events/%s still exists after tracelet %d ended (%v)", group, pid, err)
	}
	ents, err := os.ReadDir(filepath.Join(fs.Root(), "instances"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if e.Name() == group || strings.HasPrefix(e.Name(), group+"_") {
			t.Errorf("instance %s still exists after tracelet %d ended", e.Name(), pid)
		}
	}
}

func wantSummary(t *testing.T, r *runningTrace, events int) {
	t.Helper()
	// A kernel that places entry kprobes past ftrace's site (riscv64's)
	// says so once, as a note, before the summary; -v's lines come first.
	var got strings.Builder
	for _, l := range strings.SplitAfter(r.stderr.String(), "\n") {
		if !strings.HasPrefix(l, "tracelet: note: ") && !strings.HasPrefix(l, "trace: ") { // -v's lines
			got.WriteString(l)
		}
	}
	if want := fmt.Sprintf("%d events, 0 lost\n", events); got.String() != want {
		t.Errorf("stderr %q, want %q", r.stderr.String(), want)
	}
}

// TestCLIPidThreads: -p PID traces every thread of PID, those it creates
// after tracing started included, and no other process. testprog threads 8
// 5 77 makes 5 calls of cabi6(77, tid) on each of 8 new threads, while
// another testprog makes calls of cabi6(99, 98) on the same probe.
func TestCLIPidThreads(t *testing.T) {
	spec, ip := cabiProbe(t, "thr", "a=%di:u64 tid=%si:u64")
	w := startWaiting(t, "threads", "8", "5", "77")
	pid := w.cmd.Process.Pid
	before, err := perf.Threads(pid)
	if err != nil {
		t.Fatal(err)
	}
	r := startTrace(t, "-p", strconv.Itoa(pid), spec)
	waitTracing(t, r)
	other := exec.Command(testenv.TestProg(t), "calls", "50", "99", "98")
	if err := other.Start(); err != nil {
		t.Fatal(err)
	}
	w.run(t)
	if err := other.Wait(); err != nil {
		t.Fatal(err)
	}
	r.stop(t)
	lines, _ := eventLines(t, r.stdout())
	perTid := map[int]int{}
	comm := progComm(t)
	for _, l := range lines {
		if want := fmt.Sprintf("thr: (%#x) a=77 tid=%d", ip, l.tid); l.rest != want {
			t.Errorf("event %q of thread %d, want %q", l.rest, l.tid, want)
		}
		// The threads have exited by now: their names come from the
		// PERF_RECORD_FORK that made them, or from their process.
		if l.comm != comm {
			t.Errorf("event %q of thread %d: comm %q, want %q", l.rest, l.tid, l.comm, comm)
		}
		perTid[l.tid]++
	}
	created := 0
	for tid, n := range perTid {
		if n != 5 {
			t.Errorf("thread %d: %d events, want 5", tid, n)
		}
		if !slices.Contains(before, tid) {
			created++
		}
	}
	if len(perTid) != 8 {
		t.Errorf("events of %d threads %v, want 8", len(perTid), perTid)
	}
	// Go may run a locked goroutine on an idle thread that existed
	// already; at least one must be new.
	if created == 0 {
		t.Errorf("no events of a thread created after tracing started (threads before: %v, traced: %v)", before, perTid)
	}
	wantSummary(t, r, 40)
	assertClean(t, r.cmd.Process.Pid)
}

// TestCLIHeaders: -H prints each event's format file, in SPEC order and
// each followed by an empty line, before any event.
func TestCLIHeaders(t *testing.T) {
	fs := mustFS(t)
	spec, ip := cabiProbe(t, "hdr", "a=%di:u64 b=%si:s32")
	w := startWaiting(t, "calls", "2", "5", "6")
	// sched_process_exec has a __data_loc field; the waiting process never
	// execs, so it adds a header and no event.
	r := startTrace(t, "-H", "-p", strconv.Itoa(w.cmd.Process.Pid), spec, "sched:sched_process_exec")
	var header string
	for i := 0; ; i++ {
		out := r.stdout()
		if strings.Count(out, "\nprint fmt: ") == 2 && strings.HasSuffix(out, "\n\n") {
			header = out
			break
		}
		select {
		case <-r.done:
			r.cmd.Wait()
			t.Fatalf("tracelet ended before printing both headers:\n%s\nstderr:\n%s", out, r.stderr.String())
		case <-time.After(10 * time.Millisecond):
		}
		if i == 3000 {
			t.Fatalf("no complete headers after 30s:\n%s", out)
		}
	}
	// The probe's format exists only while tracelet runs.
	var want strings.Builder
	for _, ev := range [][2]string{{tracefs.OwnerGroup(r.cmd.Process.Pid), "hdr"}, {"sched", "sched_process_exec"}} {
		b, err := os.ReadFile(filepath.Join(fs.Root(), "events", ev[0], ev[1], "format"))
		if err != nil {
			t.Fatal(err)
		}
		want.Write(b)
		want.WriteString("\n")
	}
	if header != want.String() {
		t.Errorf("-H printed\n%s\nwant the format files\n%s", header, want.String())
	}
	time.Sleep(100 * time.Millisecond) // the headers come just before Start
	w.run(t)
	r.stop(t)
	wantEvents(t, r, strings.TrimPrefix(r.stdout(), header), 2, fmt.Sprintf("hdr: (%#x) a=5 b=6", ip))
}

// frameRE is a symbolized stack line, "SYMBOL+0xOFF".
var frameRE = regexp.MustCompile(`^([A-Za-z_.$][\w.$/]*)\+0x([0-9a-f]+)$`)

// TestCLIStacks: -s prints the user stack of a uprobe hit (cabiTarget,
// called by cabi6 from main.main) and the kernel stack of a tracepoint
// (sched_process_exit, fired in do_exit), symbolized.
//
// The kernel stacks are taken system-wide, with a filter on the event's
// comm: Linux 6.1 and 6.12 deliver sched_process_exit to no per-task perf
// event (`-p`/`-c`), only to per-CPU ones; 6.18 to both. The workload
// starts once that trace runs, so that its threads are named by their
// FORK records (a thread that existed before a system-wide trace and is
// gone when its event is printed has no name to print).
func TestCLIStacks(t *testing.T) {
	prog := testenv.TestProg(t)
	comm := progComm(t)
	spec, ip := cabiProbe(t, "stk", "a=%di:u64")
	w := startWaiting(t, "calls", "1", "5", "6")
	r := startTrace(t, "-s", "-p", strconv.Itoa(w.cmd.Process.Pid), spec)
	waitTracing(t, r)
	w.run(t) // the process exits before its events are printed
	r.stop(t)
	lines, stacks := eventLines(t, r.stdout())
	if len(lines) != 1 {
		t.Fatalf("%d uprobe events, want 1:\n%s", len(lines), r.stdout())
	}
	if want := fmt.Sprintf("stk: (%#x) a=5", ip); lines[0].rest != want || lines[0].comm != comm {
		t.Errorf("event %q of %s, want %q of %s", lines[0].rest, lines[0].comm, want, comm)
	}
	// A uprobe fires on user registers, so the chain has no kernel part.
	// Frame-pointer unwinding at a function's first instruction skips its
	// caller: cabi6 has no frame of its own, so main.main comes next.
	if why := testenv.NoUserCallchains(); why != "" {
		t.Logf("%s: the uprobe's stack is not checked", why)
	} else {
		checkFrames(t, prog, stacks[0], []string{testenv.CABITarget, "main.main", "runtime.main", "runtime.goexit" + testenv.ABI0Suffix})
	}
	assertClean(t, r.cmd.Process.Pid)

	r = startTrace(t, "-s", "--filter", `comm == "`+comm+`"`, "sched:sched_process_exit")
	waitTracing(t, r)
	w = startWaiting(t, "calls", "1", "5", "6")
	w.run(t)
	r.stop(t)
	lines, stacks = eventLines(t, r.stdout())
	if len(lines) == 0 {
		t.Fatalf("no sched_process_exit (want one per thread):\n%s", r.stdout())
	}
	noStacks := testenv.NoTracepointKernelStacks()
	if noStacks != "" {
		t.Logf("%s: the events' stacks are not checked", noStacks)
	}
	for i, l := range lines {
		if !strings.HasPrefix(l.rest, "sched_process_exit: ") || l.comm != comm {
			t.Errorf("event %q of %s, want sched_process_exit of %s", l.rest, l.comm, comm)
			continue
		}
		if noStacks != "" {
			continue
		}
		// Every thread of the exiting process fires it; the kernel part
		// of each runs through do_exit, called by do_group_exit
		// (exit_group for the thread that made it, the group kill for
		// the others).
		var kernel []string
		for _, f := range stacks[i] {
			m := frameRE.FindStringSubmatch(f)
			if m == nil {
				break // the user part, whatever the exit left of it
			}
			kernel = append(kernel, m[1])
		}
		de, dge := slices.Index(kernel, "do_exit"), slices.Index(kernel, "do_group_exit")
		if de < 0 || dge < de {
			t.Errorf("thread %d: kernel stack %v lacks do_exit called by do_group_exit:\n%s", l.tid, kernel, strings.Join(stacks[i], "\n"))
		}
	}
	assertClean(t, r.cmd.Process.Pid)
}

// TestCLICommandFromExec: -c traces the command from its exec, and not the
// gate process (tracelet's own) that the command replaces. The gate reads
// its release from a pipe and closes it after Start: before, those calls
// were traced under tracelet's comm, and a kretprobe enabled after its
// kprobe left the gate's earlier calls without returns (CI on 983723f,
// TestCLIKprobe in the 6.1-i386 guest).
func TestCLICommandFromExec(t *testing.T) {
	testenv.RequireSyscallEvents(t)
	comm := progComm(t)
	r := startTrace(t, "-c", testenv.TestProg(t)+" exit 0", "syscalls:sys_exit_read", "syscalls:sys_exit_close")
	r.wait(t, 30*time.Second)
	lines, _ := eventLines(t, r.stdout())
	if len(lines) == 0 {
		t.Fatalf("no read or close of the command traced:\n%s", r.stdout())
	}
	for _, l := range lines {
		if l.comm != comm {
			t.Errorf("event of %s-%d, want only the command's (%s): %s", l.comm, l.tid, comm, l.rest)
		}
	}
}

// TestCLIStacksCommand: -s -c symbolizes the user stacks of a command that
// exits before its samples are printed. It had no address map to read when
// the trace began (it had not exec'd yet), and has none when they are
// printed; the PERF_RECORD_MMAP2 records of its exec are what is left.
// Several runs, since whether the command is gone by then is a race.
func TestCLIStacksCommand(t *testing.T) {
	testenv.RequireUserCallchains(t)
	prog := testenv.TestProg(t)
	comm := progComm(t)
	for run := 0; run < 3; run++ {
		spec, ip := cabiProbe(t, "stc", "a=%di:u64")
		r := startTrace(t, "-s", "-c", prog+" calls 2 5 6", spec)
		r.wait(t, 30*time.Second)
		lines, stacks := eventLines(t, r.stdout())
		if len(lines) != 2 {
			t.Errorf("run %d: %d events, want 2:\n%s", run, len(lines), r.stdout())
		}
		for i, l := range lines {
			if want := fmt.Sprintf("stc: (%#x) a=5", ip); l.rest != want || l.comm != comm {
				t.Errorf("run %d: event %q of %s-%d, want %q of %s", run, l.rest, l.comm, l.tid, want, comm)
			}
			checkFrames(t, prog, stacks[i], []string{testenv.CABITarget, "main.main", "runtime.main", "runtime.goexit" + testenv.ABI0Suffix})
		}
		wantSummary(t, r, 2)
		assertClean(t, r.cmd.Process.Pid)
	}
}

// checkFrames wants stack to be exactly the functions want of prog, each
// as SYMBOL+0xOFF with OFF inside the symbol, and the first at offset 0
// (the probed instruction).
func checkFrames(t *testing.T, prog string, stack, want []string) {
	t.Helper()
	if !testenv.GoFramePointers {
		// The kernel's unwinder then follows whatever the frame
		// register holds: the frames after the first are noise.
		t.Logf("Go keeps no frame pointers on %s: checking only the probed frame of the user stack", testenv.KernelABI(t).Arch)
		want, stack = want[:1], stack[:min(len(stack), 1)]
	}
	var got []string
	for i, f := range stack {
		m := frameRE.FindStringSubmatch(f)
		if m == nil {
			t.Errorf("frame %d %q is not symbolized", i, f)
			continue
		}
		got = append(got, m[1])
		off, _ := strconv.ParseUint(m[2], 16, 64)
		if i == 0 && off != 0 {
			t.Errorf("frame 0 %q: want offset 0, the probed instruction", f)
		}
		if sym := symbol(t, prog, m[1]); off >= sym.Size {
			t.Errorf("frame %d %q: offset beyond the symbol's %#x bytes", i, f, sym.Size)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("user stack %v, want %v:\n%s", got, want, strings.Join(stack, "\n"))
	}
}

// TestCLIDuration: -d ends the run by itself, with status 0 and the
// summary, after about that long.
func TestCLIDuration(t *testing.T) {
	t.Run("events", func(t *testing.T) {
		spec, ip := cabiProbe(t, "dur", "a=%di:u64 b=%si:u64")
		w := startWaiting(t, "calls", "3", "5", "6")
		const d = 2 * time.Second
		start := time.Now()
		r := startTrace(t, "-d", d.String(), "-p", strconv.Itoa(w.cmd.Process.Pid), spec)
		waitTracing(t, r)
		w.run(t)
		r.wait(t, d+30*time.Second)
		if el := time.Since(start); el < d {
			t.Errorf("ended after %v, before -d %v", el, d)
		}
		wantEvents(t, r, r.stdout(), 3, fmt.Sprintf("dur: (%#x) a=5 b=6", ip))
	})
	// Nothing fires: the run ends on the deadline alone, which is when
	// the ring reader (which compares the deadline with the clock) and the
	// context (whose timer sets its error) can disagree about whether it
	// has passed. That is a race, so several runs, with short durations,
	// which lost it in 3 to 8 runs of 10 before it was fixed.
	t.Run("idle", func(t *testing.T) {
		w := startWaiting(t, "exit", "0")
		spec, _ := cabiProbe(t, "idle", "a=%di:u64")
		for i := 0; i < 10; i++ {
			d := []time.Duration{10 * time.Millisecond, 50 * time.Millisecond}[i%2]
			start := time.Now()
			r := startTrace(t, "-d", d.String(), "-p", strconv.Itoa(w.cmd.Process.Pid), spec)
			r.wait(t, d+30*time.Second)
			if el := time.Since(start); el < d {
				t.Errorf("ended after %v, before -d %v", el, d)
			}
			if out := r.stdout(); out != "" {
				t.Errorf("printed %q with nothing traced", out)
			}
			wantSummary(t, r, 0)
			assertClean(t, r.cmd.Process.Pid)
		}
	})
}

// TestCLICount: -n COUNT prints COUNT events and ends by itself while the
// traced process goes on hitting the probe, and removes the probe.
func TestCLICount(t *testing.T) {
	t.Run("pid", func(t *testing.T) {
		spec, ip := cabiProbe(t, "cnt", "a=%di:u64 b=%si:u64")
		w := startWaiting(t, "calls", "200", "5", "6")
		r := startTrace(t, "-n", "3", "-p", strconv.Itoa(w.cmd.Process.Pid), spec)
		waitTracing(t, r)
		w.run(t)
		r.wait(t, 30*time.Second)
		checkCount(t, r, 3, fmt.Sprintf("cnt: (%#x) a=5 b=6", ip))
	})
	t.Run("command", func(t *testing.T) {
		spec, ip := cabiProbe(t, "cnt", "a=%di:u64 b=%si:u64")
		r := startTrace(t, "-n", "2", "-c", testenv.TestProg(t)+" calls 200 7 8", spec)
		r.wait(t, 30*time.Second)
		checkCount(t, r, 2, fmt.Sprintf("cnt: (%#x) a=7 b=8", ip))
	})
}

func checkCount(t *testing.T, r *runningTrace, n int, want string) {
	t.Helper()
	lines, _ := eventLines(t, r.stdout())
	if len(lines) != n {
		t.Errorf("%d events, want -n %d:\n%s", len(lines), n, r.stdout())
	}
	for _, l := range lines {
		if l.rest != want {
			t.Errorf("event %q, want %q", l.rest, want)
		}
	}
	wantSummary(t, r, n)
	assertClean(t, r.cmd.Process.Pid)
}

// TestCLICommand: -c runs the command behind a gate, traces it from its
// first call, and ends when it exits; a command that cannot be run is an
// error before anything is written.
func TestCLICommand(t *testing.T) {
	t.Run("traced", func(t *testing.T) {
		spec, ip := cabiProbe(t, "cmd", "a=%di:u64 b=%si:u64")
		r := startTrace(t, "-c", testenv.TestProg(t)+" calls 4 9 10", spec)
		r.wait(t, 30*time.Second)
		lines, _ := eventLines(t, r.stdout())
		if len(lines) != 4 {
			t.Errorf("%d events, want 4:\n%s", len(lines), r.stdout())
		}
		comm := progComm(t)
		for _, l := range lines {
			// testprog's calls run on its main thread, whose tid is the
			// pid that tracelet started, named by its exec: that
			// PERF_RECORD_COMM may sit in another CPU's ring than the
			// events, and the command may be gone before they are read.
			if want := fmt.Sprintf("cmd: (%#x) a=9 b=10", ip); l.rest != want || l.tid != lines[0].tid || l.comm != comm {
				t.Errorf("event %q of %s-%d, want %q of %s-%d", l.rest, l.comm, l.tid, want, comm, lines[0].tid)
			}
		}
		wantSummary(t, r, 4)
		assertClean(t, r.cmd.Process.Pid)
	})
	// The threads of a command are created after its exec, run on any
	// CPU and are gone when their events are read: their names come from
	// the PERF_RECORD_FORK that made them, which may be in another ring.
	t.Run("threads", func(t *testing.T) {
		spec, ip := cabiProbe(t, "cmt", "a=%di:u64 tid=%si:u64")
		r := startTrace(t, "-c", testenv.TestProg(t)+" threads 4 3 77", spec)
		r.wait(t, 30*time.Second)
		lines, _ := eventLines(t, r.stdout())
		if len(lines) != 12 {
			t.Errorf("%d events, want 12:\n%s", len(lines), r.stdout())
		}
		comm := progComm(t)
		for _, l := range lines {
			if want := fmt.Sprintf("cmt: (%#x) a=77 tid=%d", ip, l.tid); l.rest != want || l.comm != comm {
				t.Errorf("event %q of %s-%d, want %q of %s", l.rest, l.comm, l.tid, want, comm)
			}
		}
		wantSummary(t, r, 12)
		assertClean(t, r.cmd.Process.Pid)
	})
	t.Run("missing", func(t *testing.T) {
		spec, _ := cabiProbe(t, "cmd", "a=%di:u64")
		missing := filepath.Join(t.TempDir(), "nosuchcmd")
		cmd := exec.Command(tracelet(t), "trace", "-c", missing+" x", spec)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
			t.Errorf("exit %v, want status 1", err)
		}
		want := fmt.Sprintf("tracelet: trace: -c %q: exec: %q: stat %s: no such file or directory\n", missing, missing, missing)
		if stderr.String() != want || stdout.Len() != 0 {
			t.Errorf("stdout %q, stderr %q, want stderr %q", stdout.String(), stderr.String(), want)
		}
		assertClean(t, cmd.Process.Pid)
	})
}

// TestCLIFilter: --filter is applied by the kernel: of two processes that
// hit the probe system-wide, only the calls that match arrive.
func TestCLIFilter(t *testing.T) {
	prog := testenv.TestProg(t)
	spec, ip := cabiProbe(t, "flt", "a=%di:u64 b=%si:u64")
	r := startTrace(t, "--filter", "a == 7 && b >= 8", spec)
	waitTracing(t, r)
	match := exec.Command(prog, "calls", "4", "7", "8")
	if err := match.Start(); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"calls", "3", "5", "6"}, {"calls", "3", "7", "6"}} {
		if out, err := exec.Command(prog, args...).CombinedOutput(); err != nil {
			t.Fatalf("testprog %v: %v\n%s", args, err, out)
		}
	}
	if err := match.Wait(); err != nil {
		t.Fatal(err)
	}
	r.stop(t)
	lines, _ := eventLines(t, r.stdout())
	if len(lines) != 4 {
		t.Errorf("%d events, want the 4 calls of a=7 b=8:\n%s", len(lines), r.stdout())
	}
	for _, l := range lines {
		if want := fmt.Sprintf("flt: (%#x) a=7 b=8", ip); l.rest != want || l.tid != match.Process.Pid {
			t.Errorf("event %q of thread %d, want %q of thread %d", l.rest, l.tid, want, match.Process.Pid)
		}
	}
	wantSummary(t, r, 4)
	assertClean(t, r.cmd.Process.Pid)
}

// TestCLIFilterRejected: a filter the kernel refuses ends the run with the
// kernel's reason and column, naming the expression and the event, and
// leaves nothing behind: no probe, no instance, no change to a
// tracepoint's global filter. The kernel's own answer is the oracle: the
// same expression written to a tracepoint's filter in an instance of this
// test.
func TestCLIFilterRejected(t *testing.T) {
	fs := mustFS(t)
	const expr = "nosuchfield > 1"
	reason, col := kernelFilterError(t, fs, "sched", "sched_switch", expr)
	spec, _ := cabiProbe(t, "rej", "a=%di:u64")
	globalFilter := filepath.Join(fs.Root(), "events", "sched", "sched_switch", "filter")
	before, err := os.ReadFile(globalFilter)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, spec, event string // event "" is the probe in the run's owner group
	}{
		{"uprobe", spec, ""},
		{"tracepoint", "sched:sched_switch", "sched/sched_switch"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(tracelet(t), "trace", "--filter", expr, tc.spec)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
				t.Errorf("exit %v, want status 1", err)
			}
			event := tc.event
			if event == "" {
				event = tracefs.OwnerGroup(cmd.Process.Pid) + "/rej"
			}
			want := fmt.Sprintf("tracelet: tracefs: filter %q on %s: invalid argument: %s at col %d\n", expr, event, reason, col)
			if stderr.String() != want || stdout.Len() != 0 {
				t.Errorf("stdout %q, stderr\n%q, want stderr\n%q", stdout.String(), stderr.String(), want)
			}
			assertClean(t, cmd.Process.Pid)
		})
	}
	if after, _ := os.ReadFile(globalFilter); !bytes.Equal(before, after) {
		t.Errorf("the global filter of sched_switch changed: %q -> %q", before, after)
	}
}

// kernelFilterError writes expr as the filter of system/event in a fresh
// instance and reads back the kernel's reason and the 0-based column of its
// caret:
//
//	nosuchfield > 1
//	            ^
//	parse_error: Field not found
func kernelFilterError(t *testing.T, fs *tracefs.FS, system, event, expr string) (reason string, col int) {
	t.Helper()
	dir := filepath.Join(fs.Root(), "instances", fmt.Sprintf("%s_oracle%d", tracefs.OwnerGroup(os.Getpid()), groupSeq.Add(1)))
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(dir)
	f := filepath.Join(dir, "events", system, event, "filter")
	if err := os.WriteFile(f, []byte(expr), 0); err == nil {
		t.Fatalf("the kernel accepted filter %q", expr)
	}
	b, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	var lines []string
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if len(lines) < 3 || lines[0] != expr || !strings.HasSuffix(lines[1], "^") || !strings.HasPrefix(lines[2], "parse_error: ") {
		t.Fatalf("the kernel's filter error has an unknown layout:\n%s", b)
	}
	return strings.TrimPrefix(lines[2], "parse_error: "), len(lines[1]) - 1
}

// TestCLISystemWideComm: a system-wide trace names the threads that were
// alive before it began and exit before their events are read, as perf
// record -a does from /proc: each sched_process_exit of a waiting testprog
// is printed with its comm, not "<...>".
func TestCLISystemWideComm(t *testing.T) {
	comm := progComm(t)
	w := startWaiting(t, "calls", "1", "5", "6")
	r := startTrace(t, "--filter", `comm == "`+comm+`"`, "sched:sched_process_exit")
	waitTracing(t, r)
	w.run(t)
	r.stop(t)
	lines, _ := eventLines(t, r.stdout())
	if len(lines) == 0 {
		t.Fatalf("no sched_process_exit:\n%s", r.stdout())
	}
	for _, l := range lines {
		if l.comm != comm {
			t.Errorf("thread %d: comm %q, want %q:\n%s", l.tid, l.comm, comm, r.stdout())
			break
		}
	}
	assertClean(t, r.cmd.Process.Pid)
}

// wantEvents checks that out holds exactly n events, each want, and that
// the run summed them up and left nothing behind.
func wantEvents(t *testing.T, r *runningTrace, out string, n int, want string) {
	t.Helper()
	lines, _ := eventLines(t, out)
	if len(lines) != n {
		t.Errorf("%d events, want %d:\n%s", len(lines), n, r.stdout())
	}
	for _, l := range lines {
		if l.rest != want {
			t.Errorf("event %q, want %q", l.rest, want)
		}
	}
	wantSummary(t, r, n)
	assertClean(t, r.cmd.Process.Pid)
}
