package main

import (
	"bufio"
	"fmt"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/tracelet/tracelet/internal/testenv"
)

// structReadScript reads the struct __kernel_timespec that clock_nanosleep
// is given, in user memory, through two structs of its own: one as the
// kernel declares it, one that splits it into 32-bit halves, bitfields
// and a union with a byte array. It needs no BTF.
const structReadScript = `struct kts { s64 sec; s64 nsec; };
struct kts_bits { u32 lo; u32 hi : 31, sign : 1; union { s64 nsec; u8 b[8]; } n; };

tracepoint:syscalls:sys_enter_clock_nanosleep /tid == TID/
{
	$t = (struct kts *)args->rqtp;
	$u = (struct kts_bits *)args->rqtp;
	printf("%d %d %u %u %u %d %u %d\n", $t->sec, $t->nsec, $u->lo, $u->hi, $u->sign, $u->n.nsec, $u->n.b[0], sizeof(struct kts_bits));
	exit();
}

interval:ms:50 /@attached == 0/ { @attached = 1; printf("attached\n"); }
`

// clockNanosleep is the number of the clock_nanosleep that takes a struct
// __kernel_timespec (64-bit seconds): clock_nanosleep_time64 on 32-bit
// targets.
func clockNanosleep() (uintptr, bool) {
	if unsafe.Sizeof(uintptr(0)) == 8 {
		return unix.SYS_CLOCK_NANOSLEEP, true
	}
	switch runtime.GOARCH {
	case "386", "arm":
		return 407, true
	}
	return 0, false
}

// TestRunStructUserMemory reads a syscall's struct argument, which this
// test fills, through struct definitions in the script: the values read
// must be the ones written, at the offsets, bits and sizes C gives them.
// The timespec is invalid (tv_nsec past a second), so the call returns
// EINVAL at once after the tracepoint.
func TestRunStructUserMemory(t *testing.T) {
	testenv.RequireRoot(t)
	nr, ok := clockNanosleep()
	if !ok {
		t.Skipf("no clock_nanosleep_time64 number known for GOARCH %s", runtime.GOARCH)
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	tid := unix.Gettid()

	src := strings.ReplaceAll(structReadScript, "TID", fmt.Sprint(tid))
	cmd := exec.Command(tracelet, "run", "-e", src)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	rd := bufio.NewReader(stdout)
	for {
		line, err := rd.ReadString('\n')
		if err != nil {
			t.Fatalf("%v before the probes were attached; stderr: %s", err, stderr.String())
		}
		if line == "attached\n" {
			break
		}
	}

	ts := struct{ sec, nsec int64 }{-5, 1000000123}
	done := make(chan struct{})
	go func() {
		defer close(done)
		rest, _ := readAll(rd)
		want := fmt.Sprintf("-5 1000000123 %d %d 1 1000000123 %d 16\n", uint32(0xfffffffb), 0x7fffffff, 1000000123&0xff)
		if !strings.Contains(rest, want) {
			t.Errorf("got\n%s\nwant the line %q; stderr: %s", rest, want, stderr.String())
		}
	}()
	// interval fires once every probe before it is attached: one call is
	// seen.
	_, _, errno := unix.Syscall6(nr, unix.CLOCK_MONOTONIC, 0, uintptr(unsafe.Pointer(&ts)), 0, 0, 0)
	if errno != unix.EINVAL {
		t.Fatalf("clock_nanosleep(-5 s, 1000000123 ns): %v, want EINVAL", errno)
	}
	select {
	case <-done:
		if err := cmd.Wait(); err != nil {
			t.Errorf("tracelet: %v; stderr: %s", err, stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("tracelet did not exit within 20 s of the call; stderr: %s", stderr.String())
	}
}
