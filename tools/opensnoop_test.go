package tools

import (
	"context"
	"os/exec"
	"testing"
	"time"

	"github.com/tracelet/tracelet/internal/testenv"
)

func testOpensnoop(t *testing.T, o OpenOptions) {
	prog := testenv.TestProg(t)
	const path = "/nonexistent/tracelet-opensnoop"
	c := newCollector[*OpenEvent]()
	runTool(t, func(ctx context.Context, ready func()) error {
		o.Ready = ready
		return Opensnoop(ctx, o, func(e *OpenEvent) error { return c.add(e) })
	})
	var pid int
	comm := "testprog"
	if o.Backend == BackendTracefs {
		// The tracefs backend reads the path from the process's memory
		// when the record arrives, so the workload must still be there.
		cmd := helper(t, "open", path)
		pid = cmd.Process.Pid
		defer cmd.Wait()
		comm = "tools.test"
	} else {
		cmd := exec.Command(prog, "open", path)
		out, err := cmd.Output()
		if err != nil || string(out) != "errno 2\n" {
			t.Fatalf("testprog open: %q, %v", out, err)
		}
		pid = cmd.Process.Pid
	}
	ev := c.waitFor(t, "open of "+path, func(e *OpenEvent) bool { return e.Pid == pid && e.Path == path })
	want := OpenEvent{Pid: pid, Tid: ev.Tid, UID: 0, Comm: comm, FD: -1, Err: 2, Flags: uint64(testenv.GoOpenFlags()) /* O_RDONLY */, Path: path}
	got := *ev
	got.Time = time.Time{}
	if got != want {
		t.Errorf("event = %+v\nwant    %+v", got, want)
	}
}

func TestOpensnoop(t *testing.T) { testOpensnoop(t, OpenOptions{UID: -1, Failed: true}) }
func TestOpensnoopPerf(t *testing.T) {
	testOpensnoop(t, OpenOptions{UID: -1, Common: Common{PerfOutput: true}})
}
func TestOpensnoopTracefs(t *testing.T) {
	testOpensnoop(t, OpenOptions{UID: -1, Failed: true, Common: Common{Backend: BackendTracefs}})
}
