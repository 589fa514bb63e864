package perf

import (
	"bufio"
	"io"
	"os/exec"
	"strconv"
	"testing"

	"github.com/tracelet/tracelet/internal/testenv"
)

// argRegs are the first two C-ABI arguments as uprobe_events fetches them
// at a function's entry (registers, or the stack on i386).
func argRegs(t testing.TB) (string, string) {
	a := testenv.KernelABI(t).UserArgs
	return a[0], a[1]
}

// waitingProg starts testprog behind "wait": it has printed "ready" and
// does nothing until release is called.
type waitingProg struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
}

func startWaiting(t testing.TB, args ...string) *waitingProg {
	t.Helper()
	cmd := exec.Command(testenv.TestProg(t), append([]string{"wait"}, args...)...)
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
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "ready\n" {
		t.Fatalf("testprog said %q, %v; want ready", line, err)
	}
	return &waitingProg{cmd: cmd, stdin: stdin}
}

func (p *waitingProg) release(t testing.TB) {
	t.Helper()
	if _, err := io.WriteString(p.stdin, "go\n"); err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Wait(); err != nil {
		t.Fatalf("testprog: %v", err)
	}
}

// TestUprobeExactCount: a uprobe_events probe on testprog's cabiTarget hit
// exactly N times, with the argument values the program passed.
func TestUprobeExactCount(t *testing.T) {
	prog := testenv.TestProg(t)
	r0, r1 := argRegs(t)
	group, ev := addUprobe(t, prog, testenv.CABITarget, "a="+r0+":u64 b="+r1+":u64")
	id := eventID(t, group, ev)
	aOff, _ := fieldOffset(t, group, ev, "a")
	bOff, _ := fieldOffset(t, group, ev, "b")
	attr, err := Tracepoint(id, 0)
	if err != nil {
		t.Fatal(err)
	}
	// The rings hold all n samples (about 72 bytes each) even if the
	// reader never runs while testprog calls: in a TCG guest on a loaded
	// host, the default 256 KiB lost 612 of them once. The count, not the
	// reader's speed, is under test here.
	r := newReader(t, ReaderOptions{RingSize: 1 << 20})
	evs := openOnAll(t, r, attr, -1)
	const n = 5000
	p := startWaiting(t, "calls", strconv.Itoa(n), "5", "7")
	enableAll(t, evs)
	got := 0
	var s Sample
	collect(t, r, func() { p.release(t); disableAll(t, evs) }, func(rec Record) {
		if rec.Type != PERF_RECORD_SAMPLE {
			t.Errorf("%v record (lost %d)", rec.Type, rec.Lost)
			return
		}
		if err := ParseSample(rec.Data, attr.SampleType(), &s); err != nil {
			t.Error(err)
			return
		}
		if int(s.Pid) != p.cmd.Process.Pid {
			return // another process running the same binary: not ours
		}
		if a, b := nativeU64(s.Raw[aOff:]), nativeU64(s.Raw[bOff:]); a != 5 || b != 7 {
			t.Errorf("sample %d: a=%d b=%d, want 5, 7", got, a, b)
		}
		got++
	})
	requireNoLoss(t, r)
	if got != n {
		t.Fatalf("got %d uprobe samples, want %d", got, n)
	}
}

// TestUprobePMU: the same probe made through the uprobe PMU, which needs no
// tracefs event and disappears with its fds.
func TestUprobePMU(t *testing.T) {
	testenv.RequireRoot(t)
	prog := testenv.TestProg(t)
	off := testenv.SymbolFileOffset(t, prog, testenv.CABITarget)
	attr, err := Uprobe(prog, off, false, PERF_SAMPLE_TID|PERF_SAMPLE_IP)
	if err != nil {
		t.Fatal(err)
	}
	r := newReader(t, ReaderOptions{})
	p := startWaiting(t, "calls", "300", "1", "2")
	evs := openOnAll(t, r, attr, p.cmd.Process.Pid)
	enableAll(t, evs)
	p.release(t)
	got := 0
	var s Sample
	drain(t, r, func(rec Record) {
		if err := ParseSample(rec.Data, attr.SampleType(), &s); err != nil {
			t.Fatal(err)
		}
		if int(s.Pid) != p.cmd.Process.Pid {
			t.Fatalf("sample from pid %d, want only %d", s.Pid, p.cmd.Process.Pid)
		}
		got++
	})
	if got != 300 {
		t.Fatalf("uprobe PMU: got %d samples, want 300", got)
	}
	// A return probe through the same PMU sets the retprobe bit.
	ret, err := Uprobe(prog, off, true, 0)
	if err != nil {
		t.Fatal(err)
	}
	pmu, _ := LookupPMU("uprobe")
	if ret.Config != 1<<pmu.RetprobeBit {
		t.Fatalf("retprobe config %#x, want bit %d", ret.Config, pmu.RetprobeBit)
	}
}

// TestProcessTargetFollowsNewThreads attaches to a process that then starts
// three threads: every call from every one of them is caught.
func TestProcessTargetFollowsNewThreads(t *testing.T) {
	prog := testenv.TestProg(t)
	r0, r1 := argRegs(t)
	group, ev := addUprobe(t, prog, testenv.CABITarget, "a="+r0+":u64 b="+r1+":u64")
	id := eventID(t, group, ev)
	aOff, _ := fieldOffset(t, group, ev, "a")
	bOff, _ := fieldOffset(t, group, ev, "b")
	attr, err := Tracepoint(id, 0)
	if err != nil {
		t.Fatal(err)
	}

	// Each calling goroutine locks its thread and exits locked, which
	// makes the Go runtime end that thread. So however many idle threads
	// the runtime had at attach time (all but sysmon can take the
	// goroutines), at least threads-(idle) calls come from threads that did
	// not exist when we attached.
	const threads = 6
	run := func(t *testing.T, open func(pid int) ([]*Event, error)) (perTid map[uint32]int, before map[int]bool) {
		r := newReader(t, ReaderOptions{})
		p := startWaiting(t, "threads", strconv.Itoa(threads), "5", "7")
		pid := p.cmd.Process.Pid
		tids, err := Threads(pid)
		if err != nil {
			t.Fatal(err)
		}
		before = map[int]bool{}
		for _, tid := range tids {
			before[tid] = true
		}
		evs, err := open(pid)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { CloseAll(evs) })
		if err := r.Add(evs...); err != nil {
			t.Fatal(err)
		}
		enableAll(t, evs)
		p.release(t)
		perTid = map[uint32]int{}
		var s Sample
		drain(t, r, func(rec Record) {
			if err := ParseSample(rec.Data, attr.SampleType(), &s); err != nil {
				t.Fatal(err)
			}
			if int(s.Pid) != pid {
				t.Fatalf("sample from pid %d, want only %d", s.Pid, pid)
			}
			if a, b := nativeU64(s.Raw[aOff:]), nativeU64(s.Raw[bOff:]); a != 7 || b != uint64(s.Tid) {
				t.Fatalf("a=%d b=%d in thread %d: want a=7 and b = the thread id", a, b, s.Tid)
			}
			perTid[s.Tid]++
		})
		return perTid, before
	}

	t.Run("OpenProcess", func(t *testing.T) {
		perTid, before := run(t, func(pid int) ([]*Event, error) { return OpenProcess(attr, pid, nil) })
		if len(perTid) != threads {
			t.Fatalf("events from %d threads (%v), want %d", len(perTid), perTid, threads)
		}
		newThreads := 0
		for tid, n := range perTid {
			if n != 5 {
				t.Errorf("thread %d: %d events, want 5", tid, n)
			}
			if !before[int(tid)] {
				newThreads++
			}
		}
		t.Logf("%d of %d calling threads were created after attach (threads at attach: %d)", newThreads, threads, len(before))
		if want := threads - (len(before) - 1); newThreads < want {
			t.Fatalf("%d calling threads were new, want at least %d", newThreads, want)
		}
	})

	// Measured, not asserted: one inherited event per CPU on the main thread
	// only follows the threads the main thread itself creates.
	t.Run("MainThreadOnly", func(t *testing.T) {
		a := *attr
		a.SetInherit(true)
		perTid, _ := run(t, func(pid int) ([]*Event, error) { return OpenCPUs(&a, pid, nil, 0) })
		total := 0
		for _, n := range perTid {
			total += n
		}
		t.Logf("inherit on the main thread alone caught %d of %d events from %d threads", total, threads*5, len(perTid))
	})
}
