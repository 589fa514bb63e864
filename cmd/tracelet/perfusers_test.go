package main

import (
	"encoding/binary"
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/tracelet/tracelet/internal/testenv"
	"github.com/tracelet/tracelet/tracefs"
)

// TestOtherPerfUsersKeepTheirHits runs `tracelet run` and `tracelet
// opensnoop` on syscall tracepoints while a plain perf counter, as `perf
// stat -e syscalls:sys_enter_getppid` opens it, counts the same events:
// every call is counted by both. A BPF program that returns 0 on a
// tracepoint drops the hit for every other perf user of it
// (perf_syscall_enter, perf_trace_run_bpf_submit), as bpftrace's do.
func TestOtherPerfUsersKeepTheirHits(t *testing.T) {
	testenv.RequireRoot(t)
	fs, err := tracefs.Find()
	if err != nil {
		t.Fatal(err)
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	tid := unix.Gettid()
	const calls, opens = 20000, 300
	missing := fmt.Sprintf("/nonexistent/tracelet-perfusers-%d", os.Getpid())

	run := startCLI(t, "run", "-e", fmt.Sprintf(`tracepoint:syscalls:sys_enter_getppid /tid == %d/ { @n = count(); }
interval:ms:50 { printf("attached\n"); }`, tid))
	run.waitLine(t, "the run's interval output", func(s string) bool { return s == "attached" }, nil)
	snoop := startCLI(t, "opensnoop", "-x")
	poke := missing + "-poke"
	snoop.waitLine(t, "opensnoop's row of a failed open", func(s string) bool { return strings.HasSuffix(s, poke) }, func() { os.Open(poke) })

	getppid := counter(t, fs, "sys_enter_getppid")
	openat := counter(t, fs, "sys_enter_openat")
	for i := 0; i < calls; i++ {
		unix.Getppid()
	}
	for i := 0; i < opens; i++ {
		if f, err := os.Open(missing); err == nil {
			f.Close()
			t.Fatalf("%s exists", missing)
		}
	}
	if n := readCounter(t, getppid); n != calls {
		t.Errorf("perf counted %d of this thread's %d getppid calls beside tracelet run", n, calls)
	}
	if n := readCounter(t, openat); n != opens {
		t.Errorf("perf counted %d of this thread's %d openat calls beside tracelet opensnoop", n, opens)
	}

	// And tracelet saw every one of them too.
	out := strings.Join(run.stop(t), "\n")
	if want := fmt.Sprintf("@n: %d", calls); !strings.Contains(out, want) {
		t.Errorf("tracelet run printed\n%s\nwant %s", out, want)
	}
	rows := 0
	for _, l := range snoop.stop(t) {
		if strings.HasSuffix(l, " "+missing) {
			rows++
		}
	}
	if rows != opens {
		t.Errorf("opensnoop printed %d rows of %s, want %d", rows, missing, opens)
	}
}

// counter opens a counting perf event on syscalls:EVENT for this thread,
// as perf stat does.
func counter(t *testing.T, fs *tracefs.FS, event string) int {
	t.Helper()
	id, err := fs.EventID("syscalls", event)
	if err != nil {
		t.Fatal(err)
	}
	attr := unix.PerfEventAttr{Type: unix.PERF_TYPE_TRACEPOINT, Size: uint32(unsafe.Sizeof(unix.PerfEventAttr{})), Config: uint64(id)}
	fd, err := unix.PerfEventOpen(&attr, 0, -1, -1, unix.PERF_FLAG_FD_CLOEXEC)
	if err != nil {
		t.Fatalf("perf_event_open syscalls:%s: %v", event, err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	return fd
}

func readCounter(t *testing.T, fd int) uint64 {
	t.Helper()
	var b [8]byte
	if _, err := unix.Read(fd, b[:]); err != nil {
		t.Fatal(err)
	}
	return binary.NativeEndian.Uint64(b[:])
}
