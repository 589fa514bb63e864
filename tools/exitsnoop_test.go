package tools

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/tracelet/tracelet/internal/testenv"
)

func TestExitsnoop(t *testing.T) { testExitsnoop(t, ExitOptions{}) }

// TestExitsnoopLeader takes the path of kernels before 6.9, whose
// sched_process_exit has no group_dead, on any kernel.
func TestExitsnoopLeader(t *testing.T) { testExitsnoop(t, ExitOptions{noGroupDead: true}) }

func testExitsnoop(t *testing.T, o ExitOptions) {
	prog := testenv.TestProg(t)
	c := newCollector[*ExitEvent]()
	runTool(t, func(ctx context.Context, ready func()) error {
		o.Ready = ready
		return Exitsnoop(ctx, o, func(e *ExitEvent) error { return c.add(e) })
	})
	cmd := exec.Command(prog, "exit", "42")
	start := time.Now()
	err := cmd.Run()
	elapsed := time.Since(start)
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 42 {
		t.Fatalf("testprog exit 42: %v", err)
	}
	pid := cmd.Process.Pid
	ev := c.waitFor(t, "exit of testprog", func(e *ExitEvent) bool { return e.Pid == pid })
	want := ExitEvent{Comm: "testprog", Pid: pid, PPid: os.Getpid(), Tid: ev.Tid, Age: ev.Age, Status: 42 << 8, Code: 42, Known: true, Text: "code 42"}
	got := *ev
	got.Time = time.Time{}
	if got != want {
		t.Errorf("event = %+v\nwant    %+v", got, want)
	}
	// The thread that ends the process (group_dead) is one of its own.
	if _, err := os.Stat("/proc/self"); err == nil && ev.Tid < pid {
		t.Errorf("tid %d is not a thread of %d", ev.Tid, pid)
	}
	if ev.Age <= 0 || ev.Age > elapsed {
		t.Errorf("age %v, want between 0 and %v", ev.Age, elapsed)
	}

	// Death by a signal whose default is fatal: SIGUSR1 to sleep(1).
	sl := exec.Command("sleep", "30")
	if err := sl.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond)
	sl.Process.Signal(syscall.SIGUSR1)
	sl.Wait()
	sev := c.waitFor(t, "exit of sleep", func(e *ExitEvent) bool { return e.Pid == sl.Process.Pid })
	// SIGUSR1 is 10 on most architectures, 16 on mips.
	usr1 := int(syscall.SIGUSR1)
	if sev.Signal != usr1 || sev.Code != 0 || sev.Text != fmt.Sprintf("signal %d (User defined signal 1)", usr1) || sev.Comm != "sleep" {
		t.Errorf("sleep killed by SIGUSR1: %+v", sev)
	}
}
