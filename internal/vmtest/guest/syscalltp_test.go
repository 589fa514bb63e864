package guest

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tracelet/tracelet/internal/testenv"
	"github.com/tracelet/tracelet/tracefs"
)

// traceLine is one line of the trace file: the task's tid and the rest.
var traceLine = regexp.MustCompile(`^\s*.+?-(\d+)\s+\[\d+\].*?: (.*)$`)

// TestSyscallTracepointEveryRound enables syscall tracepoints through tracefs
// alone (no tracelet code between the test and the kernel), round after
// round as the suite's tests do, and checks that each round sees every call
// of a thread that existed before the enable and of a process started after
// it. A kprobe on the getppid entry point, enabled in the same rounds,
// tells a syscall that was not made from a tracepoint that did not fire,
// where the kernel records kprobe events into the ring (not riscv64's:
// testenv.NoKprobeRing).
//
// It guards the arm64 guest's emulator mode. Under multi-threaded TCG, one
// round in about fifteen recorded no sys_enter event at all, of any
// thread, while sys_exit and the kprobe saw every call: arm64 flips a
// tracepoint's static key with aarch64_insn_patch_text_nosync (no
// stop_machine), and a vCPU went on running the old translation of the
// patched branch. With one TCG thread for all vCPUs no round missed (see
// internal/vmtest/arch.go, singleTCG). 100 rounds make a regression all but
// certain to show.
//
// The kernel command-line option tracelet.syscallrounds=N (through
// TRACELET_VM_BOOTARGS) runs N rounds in each of three ways instead, to
// tell the causes apart: "none" toggles everything; "sys_exit" keeps
// raw_syscalls:sys_exit enabled in an instance of its own throughout, so
// that TIF_SYSCALL_TRACEPOINT stays set on every thread while the
// sys_enter static key still flips each round; "sys_enter" keeps
// raw_syscalls:sys_enter enabled instead, so that its static key stays on
// and a round only adds and removes a probe function.
func TestSyscallTracepointEveryRound(t *testing.T) {
	deadline, ok := t.Deadline()
	if !ok {
		deadline = time.Now().Add(3 * time.Minute)
	}
	rounds, holds := 100, []string{"none"}
	if b, err := os.ReadFile("/proc/cmdline"); err == nil {
		for _, f := range strings.Fields(string(b)) {
			if v, ok := strings.CutPrefix(f, "tracelet.syscallrounds="); ok {
				if n, err := strconv.Atoi(v); err == nil && n > 0 {
					rounds, holds = n, []string{"none", "sys_exit", "sys_enter"}
				}
			}
		}
	}
	fsys, _, group := setup(t)
	sym := ""
	for _, s := range []string{"__arm64_sys_getppid", "__x64_sys_getppid", "__ia32_sys_getppid", "sys_getppid", "__riscv_sys_getppid"} {
		if testenv.KallsymsHas(t, s) {
			sym = s
			break
		}
	}
	if sym == "" {
		t.Skip("no getppid entry point in kallsyms")
	}
	// The kprobe is the witness only where its events reach the ring.
	withKprobe := true
	if why := testenv.NoKprobeRing(t); why != "" {
		t.Logf("without the kprobe: %s", why)
		withKprobe = false
	} else if err := fsys.AddDynamicEvent(tracefs.KprobeEvents, fmt.Sprintf("p:%s/getppid %s", group, sym)); err != nil {
		t.Fatal(err)
	}
	// An instance of our own: the rounds clear its buffer, and the
	// global one keeps what the boot-time probes recorded for the record
	// package's tests.
	inst := "instances/tracelet_syscall_" + strconv.Itoa(os.Getpid())
	if err := os.Mkdir(filepath.Join(fsys.Root(), inst), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := os.Remove(filepath.Join(fsys.Root(), inst)); err != nil {
			t.Errorf("removing %s: %v", inst, err)
		}
	})
	budget := (time.Until(deadline) - time.Minute) / time.Duration(len(holds))
	for _, hold := range holds {
		t.Run("hold="+hold, func(t *testing.T) { syscallRounds(t, fsys, inst, group, sym, withKprobe, hold, rounds, budget) })
	}
}

func syscallRounds(t *testing.T, fsys *tracefs.FS, inst, group, sym string, withKprobe bool, hold string, rounds int, budget time.Duration) {
	root := fsys.Root()
	write := func(rel, s string, flag int) {
		t.Helper()
		f, err := os.OpenFile(filepath.Join(root, rel), flag, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if _, err := f.WriteString(s); err != nil {
			t.Fatalf("%s: write %q: %v", rel, s, err)
		}
	}
	events := []string{"syscalls/sys_enter_getppid", "syscalls/sys_exit_getppid", "syscalls/sys_enter_openat"}
	wantKprobe := 0
	if withKprobe {
		events, wantKprobe = append(events, group+"/getppid"), 5
	}
	disable := func() {
		for _, e := range events {
			write(inst+"/events/"+e+"/enable", "0", os.O_WRONLY)
		}
	}
	defer disable()
	write(inst+"/trace", "", os.O_WRONLY|os.O_TRUNC)

	// A small static program that opens a file as its first act: busybox.
	cat, err := exec.LookPath("cat")
	if err != nil {
		t.Skip("no cat")
	}
	// The thread that exists before every enable: locked, so that its
	// calls are made by one task.
	type req struct{ done chan int }
	reqs := make(chan req)
	tidc := make(chan int)
	go func() {
		runtime.LockOSThread()
		tidc <- syscall.Gettid()
		for r := range reqs {
			for i := 0; i < 5; i++ {
				syscall.Getppid()
			}
			r.done <- 0
		}
	}()
	tid := <-tidc
	defer close(reqs)

	// Under TCG a round takes a while: a time budget, not a count,
	// bounds the rounds so that the test binary does not time out.
	deadline := time.Now().Add(budget)
	if hold != "none" {
		held := filepath.Join(root, "instances", fmt.Sprintf("tracelet_hold_%d", os.Getpid()))
		if err := os.Mkdir(held, 0o755); err != nil {
			t.Fatal(err)
		}
		ev := filepath.Join("instances", filepath.Base(held), "events", "raw_syscalls", hold)
		// A filter that matches no call: the instance's buffer stays
		// empty, and the tracepoint stays registered.
		write(filepath.Join(ev, "filter"), "id == 99999", os.O_WRONLY)
		write(filepath.Join(ev, "enable"), "1", os.O_WRONLY)
		defer func() {
			write(filepath.Join(ev, "enable"), "0", os.O_WRONLY)
			if err := os.Remove(held); err != nil {
				t.Errorf("removing the holding instance: %v", err)
			}
		}()
	}
	type miss struct {
		round int
		what  string
	}
	var misses []miss
	done := 0
	for round := 0; round < rounds; round++ {
		if time.Now().After(deadline) {
			break
		}
		done++
		for _, e := range events {
			write(inst+"/events/"+e+"/enable", "1", os.O_WRONLY)
		}
		r := req{done: make(chan int)}
		reqs <- r
		<-r.done
		path := fmt.Sprintf("/nonexistent/tracelet-repro-%d", round)
		cmd := exec.Command(cat, path)
		if out, err := cmd.CombinedOutput(); err == nil {
			t.Fatalf("cat %s: succeeded: %q", path, out)
		}
		child := cmd.Process.Pid
		disable()
		f, err := os.Open(filepath.Join(root, inst, "trace"))
		if err != nil {
			t.Fatal(err)
		}
		var enter, exit, kp, open int
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			m := traceLine.FindStringSubmatch(sc.Text())
			if m == nil {
				continue
			}
			id, _ := strconv.Atoi(m[1])
			switch {
			case id == tid && strings.HasPrefix(m[2], "sys_getppid("):
				enter++
			case id == tid && strings.HasPrefix(m[2], "sys_getppid ->"):
				exit++
			case id == tid && strings.HasPrefix(m[2], "getppid:"):
				kp++
			case id == child && strings.HasPrefix(m[2], "sys_openat("):
				open++
			}
		}
		f.Close()
		write(inst+"/trace", "", os.O_WRONLY|os.O_TRUNC)
		if enter != 5 || exit != 5 || kp != wantKprobe {
			misses = append(misses, miss{round, fmt.Sprintf("thread %d: %d sys_enter_getppid, %d sys_exit_getppid, %d kprobe %s (want 5, 5, %d)", tid, enter, exit, kp, sym, wantKprobe)})
			t.Logf("round %d: %s", round, misses[len(misses)-1].what)
		}
		if open < 1 {
			misses = append(misses, miss{round, fmt.Sprintf("child %d: no sys_enter_openat of %s", child, path)})
			t.Logf("round %d: %s", round, misses[len(misses)-1].what)
		}
		if round%50 == 49 {
			t.Logf("%d rounds, %d misses", round+1, len(misses))
		}
	}
	rounds = done
	for _, m := range misses {
		t.Errorf("round %d of %d: %s", m.round, rounds, m.what)
	}
	t.Logf("%d rounds, %d misses", rounds, len(misses))
}
