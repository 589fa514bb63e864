package tools

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tracelet/tracelet/internal/testenv"
)

// The test binary doubles as a workload: TRACELET_TOOLS_HELPER selects
// what it does, so that tests know the exact pid, calls and signals.
func TestMain(m *testing.M) {
	switch os.Getenv("TRACELET_TOOLS_HELPER") {
	case "":
		pins := pinTracepoints()
		code := testenv.Main(m)
		runtime.KeepAlive(pins)
		os.Exit(code)
	case "kill": // kill PID SIG: send one signal, linger, exit 0
		pid, _ := strconv.Atoi(os.Args[1])
		sig, _ := strconv.Atoi(os.Args[2])
		if err := syscall.Kill(pid, syscall.Signal(sig)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		// The tracefs backend reads the sender's comm and cmdline from
		// /proc when the record arrives: the sender stays that long.
		time.Sleep(300 * time.Millisecond)
	case "catch": // catch SIG: print "ready", then wait for stdin to close
		sig, _ := strconv.Atoi(os.Args[1])
		signal.Notify(make(chan os.Signal, 1), syscall.Signal(sig))
		fmt.Println("ready")
		io.Copy(io.Discard, os.Stdin)
	case "open-wait": // open-wait PATH: wait for a line, open PATH, linger until stdin closes
		os.Stdin.Read(make([]byte, 1))
		if fd, err := syscall.Open(os.Args[1], syscall.O_RDONLY, 0); err == nil {
			syscall.Close(fd)
		}
		io.Copy(io.Discard, os.Stdin)
	case "sleepwake": // sleepwake N: on one locked thread, print its tid, wait for a line, then N 2ms nanosleeps
		runtime.LockOSThread()
		n, _ := strconv.Atoi(os.Args[1])
		fmt.Println(unix.Gettid())
		os.Stdin.Read(make([]byte, 1))
		for i := 0; i < n; i++ {
			ts := unix.Timespec{Nsec: 2_000_000}
			unix.Nanosleep(&ts, nil)
		}
	case "sleep": // sleep until killed
		time.Sleep(time.Minute)
	case "open": // open PATH, then linger so that /proc/PID/mem still holds PATH
		fd, err := syscall.Open(os.Args[1], syscall.O_RDONLY, 0)
		if err == nil {
			syscall.Close(fd)
		}
		time.Sleep(500 * time.Millisecond)
	case "getppid2": // getppid2 N: twice, wait for a line on stdin, then N raw getppid calls
		n, _ := strconv.Atoi(os.Args[1])
		for range 2 {
			os.Stdin.Read(make([]byte, 1))
			for i := 0; i < n; i++ {
				syscall.RawSyscall(syscall.SYS_GETPPID, 0, 0, 0)
			}
		}
	case "getppid": // getppid N: wait for a line on stdin, then N raw getppid calls
		n, _ := strconv.Atoi(os.Args[1])
		os.Stdin.Read(make([]byte, 1))
		for i := 0; i < n; i++ {
			syscall.RawSyscall(syscall.SYS_GETPPID, 0, 0, 0)
		}
	}
	os.Exit(0)
}

// helper starts the test binary as a workload.
func helper(t testing.TB, mode string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "TRACELET_TOOLS_HELPER="+mode)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd
}

// runTool runs a streaming tool in the background, waits until it is
// attached, and returns a function that stops it and returns its error.
func runTool(t *testing.T, run func(ctx context.Context, ready func()) error) (stop func() error) {
	t.Helper()
	testenv.RequireRoot(t)
	before := heldPrograms(t)
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- run(ctx, func() { close(ready) }) }()
	select {
	case <-ready:
		// Everything is loaded and attached, and the workload waits for
		// runTool to return: compare the tool's programs with bpftool.
		checkNewPrograms(t, before)
	case err := <-done:
		cancel()
		t.Fatalf("tool failed before it was ready: %v", err)
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatal("tool not ready after 30s")
	}
	var stopped bool
	var err error
	stop = func() error {
		if !stopped {
			stopped = true
			cancel()
			err = <-done
		}
		return err
	}
	t.Cleanup(func() { stop() })
	return stop
}

// collector gathers events from the tool's goroutine.
type collector[T any] struct {
	ch chan T
}

func newCollector[T any]() *collector[T] { return &collector[T]{ch: make(chan T, 4096)} }

func (c *collector[T]) add(v T) error {
	select {
	case c.ch <- v:
	default:
	}
	return nil
}

// waitFor returns the first event that match accepts, failing after 10s.
func (c *collector[T]) waitFor(t *testing.T, what string, match func(T) bool) T {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case v := <-c.ch:
			if match(v) {
				return v
			}
		case <-deadline:
			var zero T
			t.Fatalf("no %s within 10s", what)
			return zero
		}
	}
}

// drain collects every matching event until quiet for d.
func (c *collector[T]) drain(d time.Duration, match func(T) bool) []T {
	var out []T
	for {
		select {
		case v := <-c.ch:
			if match(v) {
				out = append(out, v)
			}
		case <-time.After(d):
			return out
		}
	}
}

// heldPrograms is the set of ids of the BPF programs this process holds an
// fd of, from /proc/self/fd and fdinfo.
func heldPrograms(t *testing.T) map[uint32]bool {
	t.Helper()
	ids := map[uint32]bool{}
	for _, id := range programFDs(t) {
		ids[id] = true
	}
	return ids
}

// programFDs maps each fd of a BPF program in this process to its id.
func programFDs(t *testing.T) map[int]uint32 {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	fds := map[int]uint32{}
	for _, e := range ents {
		fd, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if id, ok := programID(fd); ok {
			fds[fd] = id
		}
	}
	return fds
}

// programID reads the prog_id line of a BPF program fd's fdinfo.
func programID(fd int) (uint32, bool) {
	if l, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(fd)); err != nil || l != "anon_inode:bpf-prog" {
		return 0, false
	}
	b, err := os.ReadFile("/proc/self/fdinfo/" + strconv.Itoa(fd))
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "prog_id:"); ok {
			id, err := strconv.ParseUint(strings.TrimSpace(v), 10, 32)
			return uint32(id), err == nil
		}
	}
	return 0, false
}

// checkNewPrograms compares the disassembler with bpftool on every BPF
// program this process holds that is not in before: the programs a tool's
// session loaded (a session keeps them to itself, behind its closers). Each
// is checked through a duplicate of its fd, so that the tool closing or
// reusing the fd meanwhile cannot change what is checked.
func checkNewPrograms(t *testing.T, before map[uint32]bool) {
	t.Helper()
	seen := map[uint32]bool{}
	for fd, id := range programFDs(t) {
		if before[id] || seen[id] {
			continue
		}
		dup, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
		if err != nil {
			continue // closed since the scan
		}
		if got, ok := programID(dup); ok && got == id {
			seen[id] = true
			testenv.CheckBpftool(t, dup)
		}
		unix.Close(dup)
	}
}
