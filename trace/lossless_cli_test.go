package trace

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tracelet/tracelet/internal/testenv"
	"github.com/tracelet/tracelet/perf"
)

// losslessCalls is the side-by-side figure: every one of 300,000
// getppid calls of the fastest loop this machine runs.
const losslessCalls = 300000

// TestLosslessDefaults runs `tracelet trace` and `tracelet run` (a printf
// per event) at their defaults, no --ring-size, on getppidloop's 300,000
// calls, and counts every line of the loop's thread: all must arrive, and
// neither tool may report a loss. The loop is not paced and nothing is
// pinned: the tests of other packages, running on the same CPUs, starve
// the consumer at times, which the default rings must buffer.
//
// The loop is the test binary itself (getppidLoopChild), testdata/
// getppidloop's workload. Readiness is proved by the test's own thread: it is in the filter too,
// and calls getppid every millisecond until the tool has printed one of its
// calls; only then is the loop released.
func TestLosslessDefaults(t *testing.T) {
	bin := tracelet(t)
	testenv.RequireSyscallEvents(t)
	// The claim is that the default rings buffer a starved consumer's
	// whole burst: 300,000 samples of about 56 bytes (64 with room) in
	// one CPU's ring. Where the machine's plan is smaller (its memory
	// bound, 1/64 of RAM, e.g. the VM suite's 512 MiB guests), lossless
	// depends on the consumer's speed, which this test does not assert.
	cpus, err := perf.OnlineCPUs()
	if err != nil {
		t.Fatal(err)
	}
	if plan := perf.PlanRings(perf.ReadMachine(len(cpus))); plan.RingSize < losslessCalls*64 {
		t.Skipf("this machine's default rings (%v) cannot hold %d samples of 64 bytes: lossless there rests on the consumer's speed", plan, losslessCalls)
	}
	// The workload is this test binary (getppidLoopChild), which the VM
	// suite's guests have too.
	t.Setenv(getppidLoopEnv, strconv.Itoa(losslessCalls))
	loopBin, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, tool := range []struct {
		name string
		argv func(tid, self int) []string
		// tidOf returns the thread of an event line, or -1.
		tidOf func(line string) int
	}{
		{"trace", func(tid, self int) []string {
			return []string{"trace", "-v", "--filter", fmt.Sprintf("common_pid == %d || common_pid == %d", tid, self), "syscalls:sys_enter_getppid"}
		}, traceLineTid},
		{"run", func(tid, self int) []string {
			return []string{"run", "-v", "-e", fmt.Sprintf(`tracepoint:syscalls:sys_enter_getppid /tid == %d || tid == %d/ { printf("E %%d\n", tid); }`, tid, self)}
		}, func(line string) int {
			f := strings.Fields(line)
			if len(f) != 2 || f[0] != "E" {
				return -1
			}
			n, err := strconv.Atoi(f[1])
			if err != nil {
				return -1
			}
			return n
		}},
	} {
		t.Run(tool.name, func(t *testing.T) {
			// The calls that prove readiness come from this thread.
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			self := syscall.Gettid()
			l := startLoop(t, true, loopBin)
			cmd := exec.Command(bin, tool.argv(l.tid, self)...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			var once sync.Once
			stop := func() {
				once.Do(func() {
					cmd.Process.Signal(syscall.SIGINT)
					cmd.Wait()
				})
			}
			defer stop()
			var loopEvents, selfEvents atomic.Int64
			var last atomic.Int64 // UnixNano of the last line
			done := make(chan struct{})
			go func() {
				defer close(done)
				sc := bufio.NewScanner(out)
				for sc.Scan() {
					switch tool.tidOf(sc.Text()) {
					case l.tid:
						loopEvents.Add(1)
					case self:
						selfEvents.Add(1)
					}
					last.Store(time.Now().UnixNano())
				}
			}()
			// Ready: one of our calls came through. The tool exiting
			// early (a failed start) ends the wait too.
			for start := time.Now(); selfEvents.Load() == 0; {
				if time.Since(start) > time.Minute {
					stop()
					t.Fatalf("tracelet %s printed none of this thread's calls in a minute:\n%s", tool.name, stderr.String())
				}
				select {
				case <-done:
					stop()
					t.Fatalf("tracelet %s exited before its first event:\n%s", tool.name, stderr.String())
				default:
				}
				syscall.RawSyscall(syscall.SYS_GETPPID, 0, 0, 0)
				time.Sleep(time.Millisecond)
			}
			released := time.Now()
			ns := l.run(t)
			// Wait for every event, or for the tool to fall quiet (the
			// rest is lost, which the count below reports).
			for loopEvents.Load() < losslessCalls {
				if time.Since(time.Unix(0, last.Load())) > 5*time.Second {
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
			stop()
			<-done
			got := loopEvents.Load()
			rate := float64(got) / time.Unix(0, last.Load()).Sub(released).Seconds()
			t.Logf("tracelet %s: %d of %d events, %.0f events/s from release to the last line; loop %.0f ns/call; stderr:\n%s", tool.name, got, losslessCalls, rate, float64(ns)/losslessCalls, stderr.String())
			if got != losslessCalls {
				t.Errorf("tracelet %s at its defaults delivered %d of %d events", tool.name, got, losslessCalls)
			}
			if s := stderr.String(); strings.Contains(s, "Lost") || strings.Contains(s, "overflowed") || (tool.name == "trace" && !strings.Contains(s, " 0 lost\n")) {
				t.Errorf("tracelet %s reported a loss:\n%s", tool.name, s)
			}
		})
	}
}

// traceLineTid is the thread of a text line of `tracelet trace`:
// "COMM-TID [CPU] TIME: EVENT: FIELDS".
func traceLineTid(line string) int {
	head, _, ok := strings.Cut(line, " [")
	if !ok {
		return -1
	}
	head = strings.TrimSpace(head)
	i := strings.LastIndexByte(head, '-')
	if i < 0 {
		return -1
	}
	n, err := strconv.Atoi(head[i+1:])
	if err != nil {
		return -1
	}
	return n
}
