package tools

import (
	"context"
	"os"
	"os/exec"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tracelet/tracelet/internal/testenv"
)

func testExecsnoop(t *testing.T, o ExecOptions) {
	prog := testenv.TestProg(t)
	c := newCollector[*ExecEvent]()
	runTool(t, func(ctx context.Context, ready func()) error {
		o.Ready = ready
		return Execsnoop(ctx, o, func(e *ExecEvent) error { return c.add(e) })
	})
	// testprog wait keeps the process alive until we write a line, so
	// that the tracefs backend can still read its cmdline.
	cmd := exec.Command(prog, "wait", "exit", "0")
	in, _ := cmd.StdinPipe()
	cmd.Stdout = nil
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	ev := c.waitFor(t, "exec of testprog", func(e *ExecEvent) bool { return e.Pid == pid })
	in.Write([]byte("\n"))
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	want := ExecEvent{Comm: "testprog", Pid: pid, PPid: os.Getpid(), UID: os.Getuid(), Ret: 0,
		Args: []string{prog, "wait", "exit", "0"}}
	got := *ev
	got.Time = time.Time{}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("event = %+v\nwant    %+v", got, want)
	}
	if !o.Failed {
		return
	}
	bad := exec.Command("/nonexistent/tracelet-exec")
	bad.Env = []string{}
	if err := bad.Start(); err == nil {
		t.Fatal("exec of a missing file worked")
	}
	fe := c.waitFor(t, "failed exec", func(e *ExecEvent) bool {
		return e.Ret == -2 && (o.Backend == BackendTracefs || len(e.Args) > 0 && e.Args[0] == "/nonexistent/tracelet-exec")
	})
	if o.Backend != BackendTracefs && (len(fe.Args) != 1 || fe.Args[0] != "/nonexistent/tracelet-exec") {
		t.Errorf("failed exec args %q, want [/nonexistent/tracelet-exec]", fe.Args)
	}
}

func TestExecsnoop(t *testing.T) { testExecsnoop(t, ExecOptions{UID: -1, Failed: true}) }
func TestExecsnoopPerf(t *testing.T) {
	testExecsnoop(t, ExecOptions{UID: -1, Common: Common{PerfOutput: true}})
}
func TestExecsnoopTracefs(t *testing.T) {
	testExecsnoop(t, ExecOptions{UID: -1, Failed: true, Common: Common{Backend: BackendTracefs}})
}

// TestExecsnoopParentGone: the parent of a process that has exited and
// been reaped before its record is read comes from the kernel (the fork
// seen by the tool), not from /proc, where nothing is left.
func TestExecsnoopParentGone(t *testing.T) {
	prog := testenv.TestProg(t)
	c := newCollector[*ExecEvent]()
	var pid int
	runTool(t, func(ctx context.Context, ready func()) error {
		o := ExecOptions{UID: -1, Common: Common{Ready: ready}}
		o.beforeRead = func() {
			cmd := exec.Command(prog, "exit", "0")
			if err := cmd.Run(); err != nil {
				t.Error(err)
			}
			pid = cmd.Process.Pid
		}
		return Execsnoop(ctx, o, func(e *ExecEvent) error { return c.add(e) })
	})
	ev := c.waitFor(t, "exec of testprog", func(e *ExecEvent) bool { return e.Pid == pid })
	if _, err := os.Stat("/proc/" + strconv.Itoa(pid)); err == nil {
		t.Fatalf("process %d still there", pid)
	}
	if ev.PPid != os.Getpid() {
		t.Errorf("ppid %d, want %d", ev.PPid, os.Getpid())
	}
}

// TestExecsnoopMaxArgs: --max-args counts argv[0] (shown as the filename),
// each argument is cut at ArgSize bytes with its NUL, and a record with
// more arguments than were copied says so, as libbpf-tools' does. The
// value the kernel holds per exec is sized by --max-args.
func TestExecsnoopMaxArgs(t *testing.T) {
	prog := testenv.TestProg(t)
	long := make([]string, 70)
	for i := range long {
		long[i] = strconv.Itoa(i) + strings.Repeat("x", 200)
	}
	argv := append([]string{"exit", "0"}, long...)
	cut := func(s string) string { return s[:ArgSize-1] }
	for _, tc := range []struct {
		max  int
		want []string
	}{
		{2, []string{prog, "exit"}},
		{5, []string{prog, "exit", "0", cut(long[0]), cut(long[1])}},
		// argv[1..59]: 59 arguments after the filename fill 7,680 bytes
		// no further than libbpf-tools' buffer.
		{MaxArgsLimit, append([]string{prog, "exit", "0"}, mapStrings(long[:57], cut)...)},
	} {
		t.Run(strconv.Itoa(tc.max), func(t *testing.T) {
			c := newCollector[*ExecEvent]()
			runTool(t, func(ctx context.Context, ready func()) error {
				o := ExecOptions{UID: -1, MaxArgs: tc.max, Common: Common{Ready: ready}}
				return Execsnoop(ctx, o, func(e *ExecEvent) error { return c.add(e) })
			})
			cmd := exec.Command(prog, argv...)
			if err := cmd.Run(); err != nil {
				t.Fatal(err)
			}
			ev := c.waitFor(t, "exec of testprog", func(e *ExecEvent) bool { return e.Pid == cmd.Process.Pid })
			if !ev.Truncated {
				t.Errorf("--max-args %d: record not marked truncated", tc.max)
			}
			if !reflect.DeepEqual(ev.Args, tc.want) {
				t.Errorf("--max-args %d: %d args %.60q\nwant %d: %.60q", tc.max, len(ev.Args), ev.Args, len(tc.want), tc.want)
			}
		})
	}
}

func mapStrings(s []string, f func(string) string) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[i] = f(v)
	}
	return out
}
