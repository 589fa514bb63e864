package trace

import (
	"fmt"
	"os"
	"runtime"
	"testing"

	"github.com/tracelet/tracelet/internal/testenv"
)

// kprobeArgReg is the register of the second argument of a kernel
// function (do_sys_openat2(dfd, filename, how)).
func kprobeArgReg(t testing.TB) string {
	switch runtime.GOARCH {
	case "amd64":
		return "si"
	case "arm64":
		return "x1"
	}
	t.Skipf("no register table for %s in this test", runtime.GOARCH)
	return ""
}

// TestKprobeOpenat reads a known filename through a kprobe on
// do_sys_openat2, both through a register and through $arg2.
func TestKprobeOpenat(t *testing.T) {
	testenv.RequireKprobes(t)
	known := fmt.Sprintf("/tmp/tracelet-kprobe-%d-known", os.Getpid())
	w := startWaiting(t, "open", known)
	spec := fmt.Sprintf("p:openat2 do_sys_openat2 path=+0(%%%s):ustring dfd=$arg1:s32 path2=+0($arg2):ustring", kprobeArgReg(t))
	s := newSession(t, Options{Specs: []string{spec}, PID: w.cmd.Process.Pid})
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	w.run(t)
	found := 0
	for _, e := range drain(t, s) {
		if e.Fields["path"].String() == known {
			found++
			if got := e.Fields["path2"].String(); got != known {
				t.Errorf("$arg2 path = %q, want %q", got, known)
			}
			if got := e.Fields["dfd"].Int; got != -100 { // AT_FDCWD
				t.Errorf("dfd = %d, want AT_FDCWD", got)
			}
		}
	}
	if found != 1 {
		t.Errorf("%d events with path %s, want 1", found, known)
	}
}

// TestKretprobeFilter: a return probe with a kernel-side filter on its
// return value sees exactly the failed open (ENOENT) of a missing file.
func TestKretprobeFilter(t *testing.T) {
	testenv.RequireKprobes(t)
	missing := fmt.Sprintf("/tmp/tracelet-kretprobe-%d-missing", os.Getpid())
	w := startWaiting(t, "open", missing)
	s := newSession(t, Options{Specs: []string{"r:openret do_sys_openat2 ret=$retval:s64"}, PID: w.cmd.Process.Pid, Filter: "ret == -2"})
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	w.run(t)
	evs := drain(t, s)
	if len(evs) != 1 || evs[0].Fields["ret"].Int != -2 {
		t.Errorf("events %+v, want one with ret=-2", evs)
	}
}
