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
// tells a syscall that was not made from a tracepoint that did not fire.
func TestSyscallTracepointEveryRound(t *testing.T) {
	deadline, ok := t.Deadline()
	if !ok {
		deadline = time.Now().Add(3 * time.Minute)
	}
	// Three ways to run the same rounds. "none" toggles everything, as
	// the suite's tests do. "sys_exit held" keeps raw_syscalls:sys_exit
	// enabled in an instance of its own throughout: the syscall
	// tracepoint refcount never drops to 0, so TIF_SYSCALL_TRACEPOINT
	// stays set on every thread, while the sys_enter tracepoint's static
	// key is still switched on and off each round. "sys_enter held"
	// keeps raw_syscalls:sys_enter enabled instead: its static key stays
	// on, and a round only adds and removes the top instance's probe
	// function.
	fsys, _, group := setup(t)
	budget := time.Until(deadline) - 30*time.Second
	for _, hold := range []string{"none", "sys_exit", "sys_enter"} {
		t.Run("hold="+hold, func(t *testing.T) { syscallRounds(t, fsys, group, hold, budget/3) })
	}
}

func syscallRounds(t *testing.T, fsys *tracefs.FS, group, hold string, budget time.Duration) {
	root := fsys.Root()
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
	if hold == "none" {
		if err := fsys.AddDynamicEvent(tracefs.KprobeEvents, fmt.Sprintf("p:%s/getppid %s", group, sym)); err != nil {
			t.Fatal(err)
		}
	}
	events := []string{"syscalls/sys_enter_getppid", "syscalls/sys_exit_getppid", "syscalls/sys_enter_openat", group + "/getppid"}
	disable := func() {
		for _, e := range events {
			write("events/"+e+"/enable", "0", os.O_WRONLY)
		}
	}
	defer disable()
	write("trace", "", os.O_WRONLY|os.O_TRUNC)

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

	rounds := 400
	if s := os.Getenv("TRACELET_REPRO_ROUNDS"); s != "" {
		rounds, _ = strconv.Atoi(s)
	}
	// Under TCG a round takes a while: a time budget, not a count,
	// bounds the rounds so that the test binary does not time out.
	deadline := time.Now().Add(budget)
	if hold != "none" {
		inst := filepath.Join(root, "instances", fmt.Sprintf("tracelet_repro_%d", os.Getpid()))
		if err := os.Mkdir(inst, 0o755); err != nil {
			t.Fatal(err)
		}
		ev := filepath.Join("instances", filepath.Base(inst), "events", "raw_syscalls", hold)
		// A filter that matches no call: the instance's buffer stays
		// empty, and the tracepoint stays registered.
		write(filepath.Join(ev, "filter"), "id == 99999", os.O_WRONLY)
		write(filepath.Join(ev, "enable"), "1", os.O_WRONLY)
		defer func() {
			write(filepath.Join(ev, "enable"), "0", os.O_WRONLY)
			if err := os.Remove(inst); err != nil {
				t.Errorf("removing the instance: %v", err)
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
			write("events/"+e+"/enable", "1", os.O_WRONLY)
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
		f, err := os.Open(filepath.Join(root, "trace"))
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
		write("trace", "", os.O_WRONLY|os.O_TRUNC)
		if enter != 5 || exit != 5 || kp != 5 {
			misses = append(misses, miss{round, fmt.Sprintf("thread %d: %d sys_enter_getppid, %d sys_exit_getppid, %d kprobe %s (want 5 each)", tid, enter, exit, kp, sym)})
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
