package bpf

import (
	"errors"
	"strings"
	"testing"

	"github.com/tracelet/tracelet/asm"
	"github.com/tracelet/tracelet/internal/testenv"
)

// This host runs 6.18: everything tracelet uses must be present.
func TestFeaturesOnThisKernel(t *testing.T) {
	testenv.RequireRoot(t)
	major, minor := unameRelease()
	if major < 5 || major == 5 && minor < 15 {
		t.Skipf("expectations are for 5.15+, this is %d.%d", major, minor)
	}
	for _, f := range Features() {
		if strings.HasPrefix(f.Name, "memlock") {
			if f.Err != nil && major >= 6 {
				t.Errorf("%s: %v (kernels since 5.11 account BPF memory to the memory cgroup)", f.Name, f.Err)
			}
			continue
		}
		if f.Err != nil {
			t.Errorf("%s (Linux %s): %v", f.Name, f.MinKernel, f.Err)
		}
	}
}

func TestMissingHelperIsNotSupported(t *testing.T) {
	testenv.RequireRoot(t)
	// Helper ids end at 211: 212 exists on no kernel.
	err := HaveHelper(Kprobe, asm.MaxBuiltinFunc)
	if !errors.Is(err, ErrNotSupported) {
		t.Fatalf("helper %d: %v, want ErrNotSupported", asm.MaxBuiltinFunc, err)
	}
	if !strings.Contains(err.Error(), "kernel newer") {
		t.Errorf("message %q does not say which kernel", err)
	}
	// Cached: the same answer, without a new probe.
	if err2 := HaveHelper(Kprobe, asm.MaxBuiltinFunc); err2 != err {
		t.Errorf("second probe returned a different error: %v", err2)
	}
	// A helper that socket filters may not call is reported with its kernel.
	err = HaveHelper(SocketFilter, asm.FnGetStackid)
	if !errors.Is(err, ErrNotSupported) || !strings.Contains(err.Error(), "socket_filter") {
		t.Errorf("get_stackid in a socket filter: %v", err)
	}
	if err := HaveHelper(Kprobe, asm.FnGetStackid); err != nil {
		t.Errorf("get_stackid in a kprobe program: %v", err)
	}
}

func TestNotSupportedMessage(t *testing.T) {
	err := notSupported("map type ringbuf", RingBuf.MinKernel())
	if !errors.Is(err, ErrNotSupported) || err.Error() != "map type ringbuf (Linux 5.8 or later): not supported by this kernel" {
		t.Errorf("%v", err)
	}
}
