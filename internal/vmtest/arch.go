package vmtest

import "fmt"

// archSpec is how QEMU boots one architecture. Debian's amd64 vmlinuz is a
// bzImage that -kernel takes as it is; arm64's may be a gzip'd Image, which
// QEMU's virt machine does not unpack, so the fetcher stores it uncompressed.
type archSpec struct {
	qemu    string   // emulator binary
	pkg     string   // Debian package that provides it
	machine []string // machine and CPU arguments
	console string   // serial console device as the kernel names it
	kvmOK   bool     // KVM can run this guest on an amd64 host
	triplet string   // Debian multiarch directory of its libraries
	loader  string   // the dynamic loader's file name in that directory
	// singleTCG runs all of a guest's vCPUs on one host thread under TCG.
	// x86 needs it: with multi-threaded TCG, the kernel's live code
	// patching (text_poke_bp: an int3, an IPI, then the new bytes, as when
	// a static key flips for a tracepoint) races with a vCPU still running
	// the old translation. Under host load 6.12 died at boot with "Oops:
	// int3" in sched_clock_idle_wakeup_event, and 6.1 soft-locked both
	// vCPUs while tests enabled tracepoints. arm64 patches text under
	// stop_machine and runs its tests in half the time with a thread per
	// vCPU, so it keeps them.
	singleTCG bool
}

var archs = map[string]archSpec{
	"amd64": {
		qemu:      "qemu-system-x86_64",
		pkg:       "qemu-system-x86",
		machine:   []string{"-M", "pc"},
		console:   "ttyS0",
		kvmOK:     true,
		triplet:   "x86_64-linux-gnu",
		loader:    "ld-linux-x86-64.so.2",
		singleTCG: true,
	},
	"arm64": {
		qemu: "qemu-system-aarch64",
		pkg:  "qemu-system-arm",
		// cortex-a57 would do for the 6.1 kernel, but max gives the kernel
		// every feature QEMU emulates (PAC, BTI, LSE), closer to real servers.
		machine: []string{"-M", "virt", "-cpu", "max"},
		console: "ttyAMA0",
		triplet: "aarch64-linux-gnu",
		loader:  "ld-linux-aarch64.so.1",
	},
}

func archOf(arch string) (archSpec, error) {
	a, ok := archs[arch]
	if !ok {
		return archSpec{}, fmt.Errorf("no QEMU setup for architecture %q (have amd64, arm64)", arch)
	}
	return a, nil
}
