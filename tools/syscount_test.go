package tools

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"
)

// startGetppid starts the helper that makes n getppid calls once it reads
// a line; go() releases it and waits for it.
func startGetppid(t testing.TB, n string) (pid int, release func()) {
	cmd := exec.Command(os.Args[0], n)
	cmd.Env = append(os.Environ(), "TRACELET_TOOLS_HELPER=getppid")
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd.Process.Pid, func() {
		in.Write([]byte("\n"))
		if err := cmd.Wait(); err != nil {
			t.Fatal(err)
		}
	}
}

func testSyscount(t *testing.T, o SyscountOptions) {
	pid, release := startGetppid(t, "1234")
	o.Pid = pid
	reports := make(chan *SyscountReport, 1)
	stop := runTool(t, func(ctx context.Context, ready func()) error {
		o.Ready = ready
		return Syscount(ctx, o, func(r *SyscountReport) error { reports <- r; return nil })
	})
	release()
	time.Sleep(50 * time.Millisecond)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	r := <-reports
	var found bool
	for _, row := range r.Rows {
		if row.Name == "getppid" {
			found = true
			if row.Count != 1234 {
				t.Errorf("getppid count %d, want 1234", row.Count)
			}
			if o.Latency && row.Total <= 0 {
				t.Errorf("getppid latency %v, want > 0", row.Total)
			}
			if !o.Latency && row.Total != 0 {
				t.Errorf("getppid latency %v without -L", row.Total)
			}
		}
	}
	if !found {
		t.Errorf("no getppid row in %+v", r.Rows)
	}
}

func TestSyscount(t *testing.T)        { testSyscount(t, SyscountOptions{}) }
func TestSyscountLatency(t *testing.T) { testSyscount(t, SyscountOptions{Latency: true}) }

// TestSyscountIDFromEntry runs riscv64's way here: each exit counted under
// its entry's number.
func TestSyscountIDFromEntry(t *testing.T) {
	defer func(v bool) { syscallIDFromEntry = v }(syscallIDFromEntry)
	syscallIDFromEntry = true
	testSyscount(t, SyscountOptions{})
}

func TestSyscountByProcess(t *testing.T) {
	pid, release := startGetppid(t, "500")
	reports := make(chan *SyscountReport, 1)
	stop := runTool(t, func(ctx context.Context, ready func()) error {
		return Syscount(ctx, SyscountOptions{Common: Common{Ready: ready}, ByProcess: true, Pid: pid, Errno: 0},
			func(r *SyscountReport) error { reports <- r; return nil })
	})
	release()
	time.Sleep(50 * time.Millisecond)
	stop()
	r := <-reports
	if len(r.Rows) != 1 || r.Rows[0].Key != pid || r.Rows[0].Name != "tools.test" || r.Rows[0].Count < 500 {
		t.Errorf("rows %+v, want one for pid %d (tools.test) with at least 500 calls", r.Rows, pid)
	}
}
