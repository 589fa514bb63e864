package scriptrun

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tracelet/tracelet/internal/testenv"
	"github.com/tracelet/tracelet/kprobeevents"
	"github.com/tracelet/tracelet/script"
	"github.com/tracelet/tracelet/trace"
	"github.com/tracelet/tracelet/tracefs"
)

// runWorkload runs src as `tracelet run -c` does: the test program is
// started waiting on stdin ("testprog wait ..."), the script traces it
// (PID), the program is released once every probe is attached, and the
// run ends when it exits. It returns the output.
func runWorkload(t *testing.T, src string, opts RunOptions, args ...string) string {
	t.Helper()
	testenv.RequireRoot(t)
	return runWorkloadProg(t, testenv.TestProg(t), src, opts, args...)
}

// A gated workload is this test binary re-executed behind a gate.
func init() { trace.RunGate() }

// runGated runs src on prog started as `tracelet run -c` starts it: behind
// a gate, released once the probes are attached, so that they see it from
// its first instruction (as bpftrace -c does).
func runGated(t *testing.T, prog, src string, opts RunOptions, args ...string) string {
	t.Helper()
	g, err := trace.StartGated(os.Args[0], append([]string{prog}, args...))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Abort()
	go g.Cmd.Wait()
	return runOnGated(t, g, src, opts)
}

// runOnGated runs src on the gated process g (WPID in src is its pid),
// which it releases once the probes are attached, until g exits, and
// returns the output. The caller reaps g.
func runOnGated(t *testing.T, g *trace.Gated, src string, opts RunOptions) string {
	t.Helper()
	var out strings.Builder
	opts.Out = &out
	opts.PID = g.Pid()
	opts.CPID = g.Pid() // as tracelet run -c and bpftrace -c have it
	src = strings.ReplaceAll(src, "WPID", fmt.Sprint(g.Pid()))
	r, err := Prepare("-e", []byte(src), opts)
	if err != nil {
		t.Fatalf("%s: %v", src, err)
	}
	defer func() {
		if err := r.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}()
	if err := startChecked(t, r, g.Release); err != nil {
		t.Fatalf("%s: %v", src, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := r.Wait(ctx); err != nil {
		t.Fatalf("%s: %v", src, err)
	}
	return out.String()
}

// runWorkloadProg is runWorkload with the test program at prog.
func runWorkloadProg(t *testing.T, prog, src string, opts RunOptions, args ...string) string {
	t.Helper()
	cmd := exec.Command(prog, append([]string{"wait"}, args...)...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	rd := bufio.NewReader(stdout)
	if line, err := rd.ReadString('\n'); err != nil || line != "ready\n" {
		t.Fatalf("testprog: %q, %v", line, err)
	}
	go io.Copy(io.Discard, rd)
	waited := make(chan struct{})
	go func() { cmd.Wait(); close(waited) }()

	src = strings.ReplaceAll(src, "TESTPROG", prog)
	src = strings.ReplaceAll(src, "TARGET", testenv.CABITarget)
	src = strings.ReplaceAll(src, "WPID", fmt.Sprint(cmd.Process.Pid))
	var out strings.Builder
	opts.Out = &out
	opts.PID = cmd.Process.Pid
	r, err := Prepare("-e", []byte(src), opts)
	if err != nil {
		t.Fatalf("%s: %v", src, err)
	}
	defer func() {
		if err := r.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		checkNothingLeft(t)
	}()
	if err := startChecked(t, r, func() error { _, err := io.WriteString(stdin, "go\n"); return err }); err != nil {
		t.Fatalf("%s: %v", src, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := r.Wait(ctx); err != nil {
		t.Fatalf("%s: %v", src, err)
	}
	if ctx.Err() != nil {
		t.Fatalf("%s: the run did not end with the workload", src)
	}
	return out.String()
}

// checkNothingLeft fails when this process left a probe or instance.
func checkNothingLeft(t *testing.T) {
	t.Helper()
	fs, err := tracefs.Find()
	if err != nil {
		return
	}
	own := tracefs.OwnerGroup(os.Getpid())
	for _, file := range []string{tracefs.UprobeEvents, tracefs.KprobeEvents} {
		evs, _ := fs.DynamicEvents(file)
		for _, e := range evs {
			if strings.HasPrefix(e.Group, own) {
				t.Errorf("left behind in %s: %s/%s", file, e.Group, e.Event)
			}
		}
	}
	ents, _ := os.ReadDir(filepath.Join(fs.Root(), "instances"))
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), own) {
			t.Errorf("left behind: instance %s", e.Name())
		}
	}
}

func both(t *testing.T, fn func(t *testing.T, b Backend)) {
	for _, b := range []Backend{BackendBPF, BackendTracefs} {
		t.Run(b.String(), func(t *testing.T) { fn(t, b) })
	}
}

// The workload `calls 4 7 9` calls cabiTarget(7, 9, 8, 10, 9, 11) four
// times, which returns 54.
func TestRunUprobeCountsAndRetval(t *testing.T) {
	both(t, func(t *testing.T, b Backend) {
		out := runWorkload(t, `uprobe:TESTPROG:TARGET /arg1 == 9/ { @c[arg0, arg1] = count(); }
uretprobe:TESTPROG:TARGET { @r[retval] = count(); }`, RunOptions{Backend: b}, "calls", "4", "7", "9")
		want := "Attaching 2 probes...\n\n\n@c[7, 9]: 4\n@r[54]: 4\n"
		if out != want {
			t.Errorf("got %q\nwant %q", out, want)
		}
	})
}

func TestRunUprobePrintfUserString(t *testing.T) {
	both(t, func(t *testing.T, b Backend) {
		out := runWorkload(t, `uprobe:TESTPROG:TARGET { printf("%s %d\n", str(arg0), arg1); }`,
			RunOptions{Backend: b}, "str", "hello", "2")
		want := "Attaching 1 probe...\nhello 5\nhello 5\n\n\n"
		if out != want {
			t.Errorf("got %q\nwant %q", out, want)
		}
	})
}

// TestRunLostEvents floods a one-page ring with printf records: every
// call is either printed or counted in the closing "Lost N events", on both
// outputs (the BPF ring buffer counts its refusals in the program, the
// perf event array through PERF_RECORD_LOST).
func TestRunLostEvents(t *testing.T) {
	const calls = 50000
	for _, out := range []script.OutputKind{script.OutputRingBuf, script.OutputPerfEventArray} {
		t.Run(out.String(), func(t *testing.T) {
			o := out
			text := runWorkload(t, `uprobe:TESTPROG:TARGET /pid == WPID/ { printf("%d\n", arg0); }`,
				RunOptions{ForceOutput: &o, RingSize: uint32(os.Getpagesize())}, "calls", fmt.Sprint(calls), "7", "1")
			printed := strings.Count(text, "7\n")
			var lost int
			if m := regexp.MustCompile(`\nLost (\d+) events\n`).FindStringSubmatch(text); m != nil {
				lost, _ = strconv.Atoi(m[1])
			}
			t.Logf("%s: %d printed, %d lost", out, printed, lost)
			if printed+lost != calls {
				t.Errorf("%d printed + %d reported lost = %d, want the %d calls", printed, lost, printed+lost, calls)
			}
		})
	}
}

// Counts by comm, a hist and stats of known values, with a predicate.
func TestRunUprobeHistByComm(t *testing.T) {
	out := runWorkload(t, `uprobe:TESTPROG:TARGET /pid == WPID/ { @[comm] = count(); @h = hist(arg0); @s = stats(arg5); @l = lhist(arg1, 0, 20, 5); }`,
		RunOptions{}, "calls", "3", "100", "9")
	want := "Attaching 1 probe...\n\n\n@[testprog]: 3\n@h: \n[64, 128)              3 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n\n" +
		"@l: \n[5, 10)                3 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n\n@s: count 3, average 11, total 33\n\n"
	if out != want {
		t.Errorf("got %q\nwant %q", out, want)
	}
}

// A tracepoint's args fields, a string read from user memory through a
// tracepoint argument, and a predicate on comm.
func TestRunTracepointOpenat(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tracelet-open-target")
	src := `tracepoint:syscalls:sys_enter_openat /pid == WPID && str(args->filename) == "` + path + `"/ { printf("%s %s %d\n", comm, str(args->filename), args->flags & 3); @[comm] = count(); }
tracepoint:syscalls:sys_exit_openat /pid == WPID/ { @ret[args->ret < 0] = count(); }`
	out := runWorkload(t, src, RunOptions{}, "open", path)
	// The workload's runtime opened its files before the probes were
	// attached: what is left is the test's open, which fails (ENOENT).
	// A MIPS kernel records that failure as ENOENT, positive: its
	// syscalls:sys_exit_* take syscall_get_return_value, which is v0, and
	// the error flag is in a3 (arch/mips/include/asm/syscall.h).
	failed := "1"
	if tracefs.KernelArch() == kprobeevents.ArchMIPS {
		failed = "0"
	}
	if want := "Attaching 2 probes...\ntestprog " + path + " 0\n\n\n@[testprog]: 1\n@ret[" + failed + "]: 1\n"; out != want {
		t.Errorf("got %q\nwant %q", out, want)
	}
}

// The tracefs backend filters in the kernel and prints args fields.
func TestRunTracefsTracepoint(t *testing.T) {
	src := `tracepoint:syscalls:sys_enter_openat /pid == WPID/ { printf("flags %d\n", args->flags); }
tracepoint:syscalls:sys_enter_openat /pid == WPID && args->flags == 0/ { @opens = count(); }`
	out := runWorkload(t, src, RunOptions{Backend: BackendTracefs}, "open", "/nonexistent/x")
	if want := "Attaching 2 probes...\nflags 0\n\n\n@opens: 1\n"; out != want {
		t.Errorf("got %q\nwant %q", out, want)
	}
}

// exit() ends a run from a probe; interval fires on time; END runs after.
func TestRunIntervalExit(t *testing.T) {
	testenv.RequireRoot(t)
	var out strings.Builder
	r, err := Prepare("-e", []byte(`BEGIN { @start = nsecs; printf("begin\n"); } interval:ms:100 { @n++; if (@n == 3) { exit(); } }
END { printf("end %d\n", (nsecs - @start) / 100000000 >= 3); clear(@start); }`), RunOptions{Out: &out})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := r.Start(nil); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	// After Wait: the interval would tick on while bpftool runs.
	checkPrograms(t, r.progs)
	if ctx.Err() != nil {
		t.Fatal("exit() did not end the run")
	}
	// Three ticks of 100 ms have passed at END: at least 300 ms, with no
	// upper bound, as a loaded machine may delay the exit record.
	// @start, cleared, prints as an empty line.
	if want := "Attaching 3 probes...\nbegin\nend 1\n\n\n@n: 3\n\n"; out.String() != want {
		t.Errorf("got %q\nwant %q", out.String(), want)
	}
}

// JSON output as bpftrace's -f json.
func TestRunJSON(t *testing.T) {
	out := runWorkload(t, `uprobe:TESTPROG:TARGET { @c[arg0, "x"] = count(); @h = hist(arg1); printf("a\"b\n"); }`,
		RunOptions{Format: JSONOutput}, "calls", "2", "7", "9")
	want := `{"version": 1, "type": "attached_probes", "data": {"probes": 1}}
{"version": 1, "type": "printf", "data": "a\"b\n"}
{"version": 1, "type": "printf", "data": "a\"b\n"}


{"version": 1, "type": "map", "data": {"@c": {"7,x": 2}}}
{"version": 1, "type": "hist", "data": {"@h": [{"min": 8, "max": 15, "count": 2}]}}
`
	if out != want {
		t.Errorf("got %s\nwant %s", out, want)
	}
}

// time() and join() records are JSON lines of their own types, as
// bpftrace's -f json prints them: join's text without its newline.
func TestRunJSONTimeJoin(t *testing.T) {
	out := runWorkload(t, `tracepoint:syscalls:sys_enter_execve /str(args->filename) == "/bin/true"/ { time("%Y"); join(args->argv); join(args->argv, ","); }`,
		RunOptions{Format: JSONOutput}, "exec", "/bin/true", "a", "bb")
	want := fmt.Sprintf(`{"version": 1, "type": "attached_probes", "data": {"probes": 1}}
{"version": 1, "type": "time", "data": "%d"}
{"version": 1, "type": "join", "data": "/bin/true a bb"}
{"version": 1, "type": "join", "data": "/bin/true,a,bb"}


`, time.Now().Year())
	if out != want {
		t.Errorf("got %s\nwant %s", out, want)
	}
}

// The perf event array carries the records where the ring buffer is
// missing.
func TestRunPerfEventArray(t *testing.T) {
	pea := script.OutputPerfEventArray
	out := runWorkload(t, `uprobe:TESTPROG:TARGET { printf("%d %s %d\n", arg1, str(arg0), arg0 > 4096); }`,
		RunOptions{ForceOutput: &pea}, "str", "abc", "2")
	if want := "Attaching 1 probe...\n3 abc 1\n3 abc 1\n\n\n"; out != want {
		t.Errorf("got %q\nwant %q", out, want)
	}
}

// Kprobes run in the VM suite: a kprobe and kretprobe on the openat path
// with a string argument read from user memory, and the tracefs backend.
func TestRunKprobes(t *testing.T) {
	testenv.RequireKprobes(t)
	both(t, func(t *testing.T, b Backend) {
		// The workload is exec'd once the probes are attached: the exec
		// names the task through __set_task_comm(task, buf, exec=true),
		// whose buf is a string in kernel memory, and its open(2) passes
		// a path in user memory to do_sys_openat2, which fails with
		// ENOENT (-2). The predicates keep out the opens of the Go
		// runtime's start-up.
		src := `kprobe:__set_task_comm /pid == WPID/ { printf("comm %s\n", str(arg1)); @exec[arg2] = count(); }
kprobe:do_sys_openat2 /pid == WPID && str(arg1) == "/nonexistent-tracelet"/ { printf("open %s\n", str(arg1)); @opens = count(); }`
		prog := testenv.TestProg(t)
		out := runGated(t, prog, src, RunOptions{Backend: b}, "open", "/nonexistent-tracelet")
		// The tracefs backend streams each probe's events on its own, so
		// the printf lines are compared in sorted order.
		if head, maps, ok := strings.Cut(out, "\n\n\n"); ok {
			lines := strings.Split(head, "\n")
			sort.Strings(lines[1:])
			out = strings.Join(lines, "\n") + "\n\n\n" + maps
		}
		want := fmt.Sprintf("Attaching 2 probes...\ncomm %s\nopen /nonexistent-tracelet\n\n\n@exec[1]: 1\n@opens: 1\n", filepath.Base(prog))
		if out != want {
			t.Errorf("got %q\nwant %q", out, want)
		}
	})
}

// TestRunKprobesReturn reads do_sys_openat2's return value in the exec'd
// workload's failing open (ENOENT).
func TestRunKprobesReturn(t *testing.T) {
	testenv.RequireKprobes(t)
	testenv.RequireReturnProbes(t)
	both(t, func(t *testing.T, b Backend) {
		src := `kretprobe:do_sys_openat2 /pid == WPID && retval == -2/ { @r[retval] = count(); }`
		out := runGated(t, testenv.TestProg(t), src, RunOptions{Backend: b}, "open", "/nonexistent-tracelet")
		// The Go runtime reads the huge page size at start-up: a kernel
		// without transparent huge pages (32-bit arm) fails that open
		// with ENOENT too.
		enoents := 1
		if _, err := os.Stat("/sys/kernel/mm/transparent_hugepage/hpage_pmd_size"); err != nil {
			enoents++
		}
		want := fmt.Sprintf("Attaching 1 probe...\n\n\n@r[-2]: %d\n", enoents)
		if out != want {
			t.Errorf("got %q\nwant %q", out, want)
		}
	})
}

// Wildcards expand to one probe per match.
func TestRunWildcardTracepoints(t *testing.T) {
	out := runWorkload(t, `tracepoint:syscalls:sys_enter_openat* /pid == WPID/ { @[probe] = count(); }`,
		RunOptions{}, "open", "/nonexistent-tracelet")
	// sys_enter_openat and sys_enter_openat2; Go opens with openat(2).
	if want := "Attaching 2 probes...\n\n\n@[tracepoint:syscalls:sys_enter_openat]: 1\n"; out != want {
		t.Errorf("got %q\nwant %q", out, want)
	}
}
