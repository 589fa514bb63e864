package vmtest

import (
	"os"
	"testing"
)

// TestAccelFor: the default picks KVM only where kvmWorks says so, and the
// variable forces either accelerator.
func TestAccelFor(t *testing.T) {
	k := Kernels()[0]
	t.Setenv("TRACELET_VM_ACCEL", "")
	got, err := accelFor(k)
	if err != nil {
		t.Fatal(err)
	}
	want := "tcg"
	if kvmWorks() {
		want = "kvm"
	}
	if got != want {
		t.Errorf("auto: %s, kvmWorks %v", got, kvmWorks())
	}
	if _, err := os.Stat("/dev/kvm"); err == nil {
		t.Logf("/dev/kvm exists; under a hypervisor: %v; KVM used: %v", underHypervisor(), kvmWorks())
	}
	for _, v := range []string{"tcg", "kvm"} {
		t.Setenv("TRACELET_VM_ACCEL", v)
		if got, err := accelFor(k); got != v || err != nil {
			t.Errorf("TRACELET_VM_ACCEL=%s: %s, %v", v, got, err)
		}
	}
	t.Setenv("TRACELET_VM_ACCEL", "hvf")
	if _, err := accelFor(k); err == nil {
		t.Error("TRACELET_VM_ACCEL=hvf accepted")
	}
	// arm64 guests on an amd64 host are always emulated.
	t.Setenv("TRACELET_VM_ACCEL", "auto")
	if got, _ := accelFor(Kernel{Name: "x", Series: "6.1", Arch: "arm64"}); got != "tcg" {
		t.Errorf("arm64 guest: %s", got)
	}
}
