package tools

import (
	"context"
	"io"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"
)

// The interval tests release two bursts of n getppid calls, the second only
// once the first has been reported in full: with -i each report holds what
// happened since the one before, so no report may count more than one
// burst, and the reports add up to both.

const burst = 321

// startBursts starts the helper; next releases one burst.
func startBursts(t *testing.T) (pid int, next func()) {
	t.Helper()
	cmd := exec.Command(os.Args[0], strconv.Itoa(burst))
	cmd.Env = append(os.Environ(), "TRACELET_TOOLS_HELPER=getppid2")
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { in.Close(); cmd.Process.Kill(); cmd.Wait() })
	return cmd.Process.Pid, func() { io.WriteString(in, "\n") }
}

// checkBursts takes per-interval counts of the burst's call from counts
// and checks them as above.
func checkBursts(t *testing.T, next func(), counts <-chan uint64) {
	t.Helper()
	var total uint64
	var reports int
	for round := 1; round <= 2; round++ {
		next()
		deadline := time.After(10 * time.Second)
		for total < uint64(round*burst) {
			select {
			case n := <-counts:
				reports++
				if n > burst {
					t.Fatalf("one interval counted %d calls, more than one burst of %d", n, burst)
				}
				total += n
			case <-deadline:
				t.Fatalf("burst %d: %d calls reported in all after 10s, want %d", round, total, round*burst)
			}
		}
	}
	if total != 2*burst {
		t.Errorf("%d calls reported, want %d", total, 2*burst)
	}
	if reports < 2 {
		t.Errorf("%d reports, want one per interval", reports)
	}
}

func TestSyscountInterval(t *testing.T) {
	pid, next := startBursts(t)
	counts := make(chan uint64, 1024)
	runTool(t, func(ctx context.Context, ready func()) error {
		o := SyscountOptions{Pid: pid, Interval: 100 * time.Millisecond, Common: Common{Ready: ready}}
		return Syscount(ctx, o, func(r *SyscountReport) error {
			for _, row := range r.Rows {
				if row.Name == "getppid" {
					counts <- row.Count
				}
			}
			return nil
		})
	})
	checkBursts(t, next, counts)
}

func TestFunccountInterval(t *testing.T) {
	for _, b := range []Backend{BackendBPF, BackendTracefs} {
		t.Run(b.String(), func(t *testing.T) {
			pid, next := startBursts(t)
			counts := make(chan uint64, 1024)
			runTool(t, func(ctx context.Context, ready func()) error {
				o := FunccountOptions{Pid: pid, Interval: 100 * time.Millisecond, Common: Common{Ready: ready, Backend: b}}
				return Funccount(ctx, "t:syscalls:sys_enter_getppid", o, func(r *FunccountReport) error {
					for _, row := range r.Rows {
						counts <- row.Count
					}
					return nil
				})
			})
			checkBursts(t, next, counts)
		})
	}
}
