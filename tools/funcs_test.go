package tools

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/tracelet/tracelet/internal/testenv"
)

// runCalls runs testprog calls n 3 4 and waits for it.
func runCalls(t *testing.T, prog string, n string) {
	t.Helper()
	if out, err := exec.Command(prog, "calls", n, "3", "4").CombinedOutput(); err != nil {
		t.Fatalf("testprog calls: %v\n%s", err, out)
	}
}

func testFunccount(t *testing.T, pattern string, o FunccountOptions, prog string, want map[string]uint64) {
	reports := make(chan *FunccountReport, 1)
	stop := runTool(t, func(ctx context.Context, ready func()) error {
		o.Ready = ready
		return Funccount(ctx, pattern, o, func(r *FunccountReport) error { reports <- r; return nil })
	})
	runCalls(t, prog, "250")
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	r := <-reports
	got := map[string]uint64{}
	for _, row := range r.Rows {
		got[row.Name] = row.Count
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: count %d, want %d (all: %v)", k, got[k], v, got)
		}
	}
}

func TestFunccountUprobe(t *testing.T) {
	testenv.RequireRoot(t)
	prog := testenv.TestProg(t)
	want := map[string]uint64{testenv.CABITarget: 250, testenv.CABICaller: 250}
	testFunccount(t, prog+":main.cabi*", FunccountOptions{}, prog, want)
}

func TestFunccountUprobeTracefs(t *testing.T) {
	testenv.RequireRoot(t)
	prog := testenv.TestProg(t)
	want := map[string]uint64{testenv.CABITarget: 250, testenv.CABICaller: 250}
	testFunccount(t, "u:"+prog+":main.cabi*", FunccountOptions{Common: Common{Backend: BackendTracefs}}, prog, want)
}

// The tracepoint form counts the syscall of a known workload: testprog
// open makes exactly one openat of the path, filtered by pid through the
// tracefs counters' process mode.
func TestFunccountTracepoint(t *testing.T) {
	testenv.RequireRoot(t)
	prog := testenv.TestProg(t)
	for _, b := range []Backend{BackendBPF, BackendTracefs} {
		t.Run(b.String(), func(t *testing.T) {
			cmd := exec.Command(prog, "wait", "calls", "1", "1", "1")
			in, _ := cmd.StdinPipe()
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			reports := make(chan *FunccountReport, 1)
			stop := runTool(t, func(ctx context.Context, ready func()) error {
				o := FunccountOptions{Pid: cmd.Process.Pid, Common: Common{Ready: ready, Backend: b}}
				return Funccount(ctx, "t:syscalls:sys_enter_exit_grou*", o, func(r *FunccountReport) error { reports <- r; return nil })
			})
			in.Write([]byte("\n"))
			cmd.Wait()
			time.Sleep(20 * time.Millisecond)
			if err := stop(); err != nil {
				t.Fatal(err)
			}
			r := <-reports
			if len(r.Rows) != 1 || r.Rows[0].Name != "syscalls:sys_enter_exit_group" || r.Rows[0].Count != 1 {
				t.Errorf("rows %+v, want one exit_group", r.Rows)
			}
		})
	}
}

// sysGetppid is the kernel's syscall entry point of getppid (wrapped per
// architecture since 4.17).
func sysGetppid(t testing.TB) string {
	return testenv.KernelABI(t).SyscallPrefix + "getppid"
}

func TestFunccountKprobe(t *testing.T) {
	testenv.RequireKprobes(t)
	for _, b := range []Backend{BackendBPF, BackendTracefs} {
		t.Run(b.String(), func(t *testing.T) {
			pid, release := startGetppid(t, "77")
			reports := make(chan *FunccountReport, 1)
			stop := runTool(t, func(ctx context.Context, ready func()) error {
				o := FunccountOptions{Pid: pid, Common: Common{Ready: ready, Backend: b}}
				pattern := "k:" + strings.TrimSuffix(sysGetppid(t), "id") + "*"
				return Funccount(ctx, pattern, o, func(r *FunccountReport) error { reports <- r; return nil })
			})
			release()
			if err := stop(); err != nil {
				t.Fatal(err)
			}
			r := <-reports
			if len(r.Rows) != 1 || r.Rows[0].Name != sysGetppid(t) || r.Rows[0].Count != 77 {
				t.Errorf("rows %+v, want %s 77 times", r.Rows, sysGetppid(t))
			}
		})
	}
}

func TestFunclatencyKprobe(t *testing.T) {
	testenv.RequireKprobes(t)
	testenv.RequireReturnProbes(t)
	pid, release := startGetppid(t, "90")
	hists := make(chan *Histogram, 1)
	stop := runTool(t, func(ctx context.Context, ready func()) error {
		o := FunclatencyOptions{Pid: pid, Unit: Nanoseconds, Common: Common{Ready: ready}}
		return Funclatency(ctx, sysGetppid(t), o, func(h *Histogram) error { hists <- h; return nil })
	})
	release()
	stop()
	if h := <-hists; h.Count() != 90 {
		t.Errorf("histogram %v: count %d, want 90", h.Slots, h.Count())
	}
}

func TestFunclatencyUprobe(t *testing.T) {
	testenv.RequireRoot(t)
	prog := testenv.TestProg(t)
	for _, u := range []Unit{Microseconds, Nanoseconds} {
		t.Run(u.Name(), func(t *testing.T) {
			hists := make(chan *Histogram, 1)
			stop := runTool(t, func(ctx context.Context, ready func()) error {
				o := FunclatencyOptions{Unit: u, Common: Common{Ready: ready}}
				return Funclatency(ctx, prog+":"+testenv.CABITarget, o, func(h *Histogram) error { hists <- h; return nil })
			})
			runCalls(t, prog, "300")
			if err := stop(); err != nil {
				t.Fatal(err)
			}
			h := <-hists
			if h.Count() != 300 || h.Unit != u.Name() {
				t.Errorf("histogram %+v: count %d, want 300 in %s", h, h.Count(), u.Name())
			}
			// A uretprobe trap alone takes far more than 1 ns: the ns
			// histogram cannot have everything in slot 0.
			if u == Nanoseconds && h.Slots[0] == 300 {
				t.Errorf("ns histogram has every call in slot 0: %v", h.Slots)
			}
		})
	}
}

func TestLog2Hist(t *testing.T) {
	var b strings.Builder
	PrintLog2Hist(&b, &Histogram{Unit: "usecs", Slots: []uint64{0, 3, 6, 0}})
	want := "     usecs               : count    distribution\n" +
		"         0 -> 1          : 0        |                                        |\n" +
		"         2 -> 3          : 3        |********************                    |\n" +
		"         4 -> 7          : 6        |****************************************|\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}
