package tools

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/tracelet/tracelet/internal/testenv"
)

// sleeper starts sleep(1), a C program whose signal dispositions are the
// defaults.
func sleeper(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	time.Sleep(20 * time.Millisecond)
	return cmd.Process.Pid
}

// noSuchPid is a pid that no process has (pid_max is at most 2^22).
const noSuchPid = 1<<22 + 7

// The filters of sigsnoop and killsnoop: -p (sender), -x (failed only) and
// -s, each with events it must keep and events it must drop.
func TestSigsnoopFilters(t *testing.T) {
	self := os.Getpid()
	for _, c := range []struct {
		name string
		o    SignalOptions
		// send sends the signals of the case to a and b and returns the
		// target of the one event expected.
		send func(t *testing.T, a, b int) (target, result int)
	}{
		{"pid-kill", SignalOptions{Mode: SignalKill, Pid: self, Signal: int(syscall.SIGUSR2)}, func(t *testing.T, a, b int) (int, int) {
			h := helper(t, "kill", strconv.Itoa(b), strconv.Itoa(int(syscall.SIGUSR2))) // another sender
			h.Wait()
			syscall.Kill(a, syscall.SIGUSR1) // another signal
			syscall.Kill(a, syscall.SIGUSR2)
			return a, 0
		}},
		{"pid-deliver", SignalOptions{Pid: self, Signal: int(syscall.SIGUSR2)}, func(t *testing.T, a, b int) (int, int) {
			h := helper(t, "kill", strconv.Itoa(b), strconv.Itoa(int(syscall.SIGUSR2)))
			h.Wait()
			syscall.Kill(a, syscall.SIGUSR2)
			return a, 0
		}},
		{"failed-kill", SignalOptions{Mode: SignalKill, Pid: self, Failed: true}, func(t *testing.T, a, b int) (int, int) {
			syscall.Kill(a, syscall.SIGWINCH) // works: dropped
			if err := syscall.Kill(noSuchPid, syscall.SIGUSR2); !errors.Is(err, syscall.ESRCH) {
				t.Fatalf("kill(%d): %v, want ESRCH", noSuchPid, err)
			}
			return noSuchPid, -int(syscall.ESRCH)
		}},
		{"failed-generate", SignalOptions{Mode: SignalGenerate, Pid: self, Failed: true}, func(t *testing.T, a, b int) (int, int) {
			syscall.Kill(b, syscall.SIGUSR2) // delivered (result 0): dropped
			syscall.Kill(a, syscall.SIGWINCH)
			return a, 1 // TRACE_SIGNAL_IGNORED: SIGWINCH's default is to ignore
		}},
		{"failed-deliver", SignalOptions{Pid: self, Failed: true}, func(t *testing.T, a, b int) (int, int) {
			syscall.Kill(b, syscall.SIGUSR2)
			syscall.Kill(a, syscall.SIGWINCH)
			return a, 1
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			a, b := sleeper(t), sleeper(t)
			events := newCollector[*SignalEvent]()
			stop := runTool(t, func(ctx context.Context, ready func()) error {
				o := c.o
				o.Ready = ready
				return Sigsnoop(ctx, o, func(e *SignalEvent) error { return events.add(e) })
			})
			target, result := c.send(t, a, b)
			time.Sleep(200 * time.Millisecond)
			if err := stop(); err != nil {
				t.Fatal(err)
			}
			// The Go runtime signals itself too (SIGURG, preemption):
			// only events for the sleepers and the missing pid count.
			got := events.drain(100*time.Millisecond, func(e *SignalEvent) bool {
				return e.TPid == a || e.TPid == b || e.TPid == noSuchPid
			})
			if len(got) != 1 || got[0].Pid != self || got[0].TPid != target || got[0].Result != result {
				t.Errorf("events %+v, want one from %d to %d with result %d", derefAll(got), self, target, result)
			}
		})
	}
}

func derefAll[T any](v []*T) []T {
	out := make([]T, len(v))
	for i, p := range v {
		out[i] = *p
	}
	return out
}

// opensnoop -p, -n and -x: the known open of the helper is kept or
// dropped, and nothing of another process comes through -p.
func TestOpensnoopFilters(t *testing.T) {
	const path = "/nonexistent/tracelet-opensnoop-filter"
	for _, c := range []struct {
		name string
		o    func(pid int) OpenOptions
		keep bool
	}{
		{"pid", func(pid int) OpenOptions { return OpenOptions{UID: -1, Pid: pid} }, true},
		{"other-pid", func(pid int) OpenOptions { return OpenOptions{UID: -1, Pid: pid + 1} }, false},
		{"name", func(int) OpenOptions { return OpenOptions{UID: -1, Name: "tools.te"} }, true},
		{"other-name", func(int) OpenOptions { return OpenOptions{UID: -1, Name: "tracelet-nobody"} }, false},
		{"failed", func(int) OpenOptions { return OpenOptions{UID: -1, Failed: true} }, true},
	} {
		for _, b := range []Backend{BackendBPF, BackendTracefs} {
			t.Run(c.name+"/"+b.String(), func(t *testing.T) {
				// The helper waits for a line before it opens, so
				// that its pid can go into the options.
				cmd := exec.Command(os.Args[0], path)
				cmd.Env = append(os.Environ(), "TRACELET_TOOLS_HELPER=open-wait")
				in, _ := cmd.StdinPipe()
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				defer cmd.Wait()
				pid := cmd.Process.Pid
				events := newCollector[*OpenEvent]()
				stop := runTool(t, func(ctx context.Context, ready func()) error {
					o := c.o(pid)
					o.Backend, o.Ready = b, ready
					return Opensnoop(ctx, o, func(e *OpenEvent) error { return events.add(e) })
				})
				isOurs := func(e *OpenEvent) bool { return e.Pid == pid && e.Path == path && e.Err == 2 }
				in.Write([]byte("\n"))
				var all []*OpenEvent
				if c.keep {
					// The helper lingers until its event is in: the tracefs
					// backend reads the path from /proc/PID/mem after the
					// record arrives, which under TCG took over 300 ms.
					limit := 10 * time.Second
					if testenv.InVM() {
						limit = time.Minute
					}
					deadline := time.After(limit)
				wait:
					for {
						select {
						case e := <-events.ch:
							all = append(all, e)
							if isOurs(e) {
								break wait
							}
						case <-deadline:
							break wait
						}
					}
				} else {
					time.Sleep(300 * time.Millisecond)
				}
				in.Close()
				if err := stop(); err != nil {
					t.Fatal(err)
				}
				all = append(all, events.drain(100*time.Millisecond, func(*OpenEvent) bool { return true })...)
				var ours int
				for _, e := range all {
					if isOurs(e) {
						ours++
					}
					if c.name == "pid" && e.Pid != pid {
						t.Errorf("-p %d let through %+v", pid, *e)
					}
					if c.name == "failed" && e.Err == 0 {
						t.Errorf("-x let through %+v", *e)
					}
				}
				if want := map[bool]int{true: 1, false: 0}[c.keep]; ours != want {
					t.Errorf("%d events for the helper's open, want %d", ours, want)
				}
			})
		}
	}
}
