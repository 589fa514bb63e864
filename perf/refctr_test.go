package perf

import (
	"errors"
	"os"
	"strings"
	"testing"
)

// TestSetRefCtrOffset puts a semaphore's offset in the bits of config that
// this kernel's format/ref_ctr_offset names, keeping the retprobe bit.
func TestSetRefCtrOffset(t *testing.T) {
	b, err := os.ReadFile(sysPMUDir + "/uprobe/format/ref_ctr_offset")
	if err != nil {
		t.Skipf("no uprobe reference counters here (Linux 4.20): %v", err)
	}
	_, lo, hi, err := ParseFormatBits(string(b))
	if err != nil {
		t.Fatal(err)
	}
	a, err := Uprobe("/bin/true", 0x10, true, 0)
	if err != nil {
		t.Fatal(err)
	}
	ret := a.Config
	if err := a.SetRefCtrOffset(0x4038); err != nil {
		t.Fatal(err)
	}
	if got := a.Config >> lo & (^uint64(0) >> (63 - (hi - lo))); got != 0x4038 {
		t.Errorf("config %#x: bits %d-%d hold %#x, want 0x4038", a.Config, lo, hi, got)
	}
	if a.Config&ret != ret {
		t.Errorf("config %#x lost the retprobe bits %#x", a.Config, ret)
	}
	if hi-lo < 63 {
		if err := a.SetRefCtrOffset(1 << (hi - lo + 1)); err == nil {
			t.Errorf("an offset wider than bits %d-%d was accepted", lo, hi)
		}
	}
	k, err := Kprobe("vfs_read", 0, false, 0)
	if err == nil {
		if err := k.SetRefCtrOffset(8); err == nil || errors.Is(err, ErrNotSupported) {
			t.Errorf("a kprobe took a reference counter: %v", err)
		}
	}
}

// TestSetRefCtrOffsetMissing: a uprobe PMU without format/ref_ctr_offset
// (kernels before 4.20) gives ErrNotSupported, naming the kernel.
func TestSetRefCtrOffsetMissing(t *testing.T) {
	a, err := Uprobe("/bin/true", 0x10, false, 0)
	if err != nil {
		t.Skipf("no uprobe PMU: %v", err)
	}
	err = a.setRefCtrOffset(t.TempDir(), 0x4038)
	if !errors.Is(err, ErrNotSupported) || !strings.Contains(err.Error(), "Linux 4.20") {
		t.Errorf("no format/ref_ctr_offset: %v, want ErrNotSupported naming Linux 4.20", err)
	}
}
