package tools

import (
	"bufio"
	"context"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tracelet/tracelet/bpf"
)

// testSigsnoop sends SIGUSR1 from a helper to a sleeping helper and checks
// the one event for it, exactly.
func testSigsnoop(t *testing.T, o SignalOptions, delivered bool) {
	c := newCollector[*SignalEvent]()
	stop := runTool(t, func(ctx context.Context, ready func()) error {
		o.Ready = ready
		run := Sigsnoop
		if o.Mode == SignalKill {
			run = Killsnoop
		}
		return run(ctx, o, func(e *SignalEvent) error { return c.add(e) })
	})
	// A C program, whose SIGUSR1 is fatal by default: the Go runtime
	// would catch it (and sends itself SIGURG for preemption).
	target := exec.Command("sleep", "30")
	if err := target.Start(); err != nil {
		t.Fatal(err)
	}
	defer target.Process.Kill()
	time.Sleep(50 * time.Millisecond)
	tpid := target.Process.Pid
	sender := helper(t, "kill", strconv.Itoa(tpid), strconv.Itoa(int(syscall.SIGUSR1)))
	spid := sender.Process.Pid
	if err := sender.Wait(); err != nil {
		t.Fatal(err)
	}
	if err := target.Wait(); err == nil || !strings.Contains(err.Error(), "user defined signal 1") {
		t.Fatalf("target: %v, want death by SIGUSR1", err)
	}
	isOurs := func(e *SignalEvent) bool { return e.Pid == spid && e.Sig == int(syscall.SIGUSR1) }
	ev := c.waitFor(t, "SIGUSR1 event", isOurs)
	comm := filepath.Base(testBinary())
	if len(comm) > 15 {
		comm = comm[:15]
	}
	want := SignalEvent{Pid: spid, Tid: ev.Tid, Comm: comm, Sig: int(syscall.SIGUSR1), SigName: "SIGUSR1", TPid: tpid, Result: 0, Delivered: delivered}
	got := *ev
	got.Time, got.Cmdline, got.TComm = time.Time{}, "", ""
	if got != want {
		t.Errorf("event = %+v, want %+v", got, want)
	}
	if o.Mode != SignalKill && ev.TComm != "sleep" {
		t.Errorf("target comm %q, want sleep", ev.TComm)
	}
	if !strings.HasPrefix(ev.Cmdline, testBinary()) && ev.Cmdline != comm {
		t.Errorf("cmdline %q: neither the sender's command line nor its comm", ev.Cmdline)
	}
	if d := time.Since(ev.Time); d < -time.Second || d > time.Minute {
		t.Errorf("event time %v is %v from now", ev.Time, d)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	// Only one event for this sender.
	if extra := c.drain(100*time.Millisecond, isOurs); len(extra) != 0 {
		t.Errorf("unexpected extra events: %+v", extra)
	}
}

func TestSigsnoopDeliver(t *testing.T) { testSigsnoop(t, SignalOptions{}, true) }
func TestSigsnoopDeliverPerf(t *testing.T) {
	testSigsnoop(t, SignalOptions{Common: Common{PerfOutput: true}}, true)
}
func TestSigsnoopGenerate(t *testing.T) {
	testSigsnoop(t, SignalOptions{Mode: SignalGenerate, Signal: int(syscall.SIGUSR1)}, false)
}
func TestSigsnoopKill(t *testing.T) { testSigsnoop(t, SignalOptions{Mode: SignalKill}, false) }
func TestKillsnoopTracefs(t *testing.T) {
	testSigsnoop(t, SignalOptions{Mode: SignalKill, Common: Common{Backend: BackendTracefs}}, false)
}

func testBinary() string {
	p, _ := filepath.EvalSymlinks("/proc/self/exe")
	return p
}

// TestSigsnoopFullRing checks that the map of signals between generation
// and delivery is left empty when the ring has no room: 150 signals go, one
// after the other, to a process that catches them, while nothing reads the
// 4 KiB ring (46 records), so most outputs fail.
func TestSigsnoopFullRing(t *testing.T) {
	const sig, n = 40, 150
	var entries, ours int
	var caught string
	sent := make(chan struct{})
	c := newCollector[*SignalEvent]()
	stop := runTool(t, func(ctx context.Context, ready func()) error {
		o := SignalOptions{Signal: sig, ringBytes: 4096, Common: Common{Ready: ready}}
		o.beforeRead = func(pending *bpf.Map) {
			defer close(sent)
			catcher := exec.Command(os.Args[0], strconv.Itoa(sig))
			catcher.Env = append(os.Environ(), "TRACELET_TOOLS_HELPER=catch")
			in, _ := catcher.StdinPipe()
			out, _ := catcher.StdoutPipe()
			if err := catcher.Start(); err != nil {
				t.Error(err)
				return
			}
			r := bufio.NewReader(out)
			if l, err := r.ReadString('\n'); l != "ready\n" {
				t.Errorf("catcher: %q, %v", l, err)
				return
			}
			// One signal at a time, each delivered (nothing pending in
			// /proc, shared or private) before the next is sent: every
			// one is generated, saved, delivered and output on its own.
			defer func() { in.Close(); catcher.Wait() }()
			deadline := time.Now().Add(20 * time.Second)
			for range n {
				if err := syscall.Kill(catcher.Process.Pid, sig); err != nil {
					t.Error(err)
				}
				for pendingSignals(catcher.Process.Pid) && time.Now().Before(deadline) {
					time.Sleep(100 * time.Microsecond)
				}
			}
			if pendingSignals(catcher.Process.Pid) {
				t.Error("signals still pending after 20s")
				return
			}
			caught = "all"
			key, val := make([]byte, 8), make([]byte, sigRecSize)
			it := pending.Iterate()
			for it.Next(key, val) {
				entries++
				if int(binary.NativeEndian.Uint32(key[4:])) == catcher.Process.Pid {
					ours++
				}
			}
		}
		return Sigsnoop(ctx, o, func(e *SignalEvent) error { return c.add(e) })
	})
	<-sent
	got := c.drain(500*time.Millisecond, func(*SignalEvent) bool { return true })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if caught != "all" {
		t.Fatal("the signals were not all delivered")
	}
	if len(got) >= n || len(got) == 0 {
		t.Fatalf("%d events from a 4 KiB ring that nobody read, want some but fewer than %d", len(got), n)
	}
	if ours != 0 {
		t.Errorf("%d of the catcher's signals left in the map after delivery (%d entries in all)", ours, entries)
	}
	t.Logf("%d signals, %d events through the ring, %d entries left in the map", n, len(got), entries)
}

// pendingSignals reports whether process pid has signals queued, to the
// process (ShdPnd) or to its main thread (SigPnd).
func pendingSignals(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return false
	}
	for _, l := range strings.Split(string(b), "\n") {
		k, v, _ := strings.Cut(l, ":")
		if (k == "ShdPnd" || k == "SigPnd") && strings.Trim(strings.TrimSpace(v), "0") != "" {
			return true
		}
	}
	return false
}
