package perf

import (
	"testing"

	"golang.org/x/sys/unix"
)

func TestPlanRings(t *testing.T) {
	const gib = 1 << 30
	for _, c := range []struct {
		name  string
		m     Machine
		size  int
		wm    int
		bound string
	}{
		// This machine's kind: 2 CPUs, 24 GiB, root.
		{"2 cpus 24 GiB root", Machine{CPUs: 2, MemTotal: 24 * gib, PageSize: 4096, MlockKB: 516, Memlock: 8 << 20, IPCLock: true}, 32 << 20, 1 << 20, "cap"},
		// 1/64 of 1 GiB over 4 CPUs: 4 MiB each.
		{"4 cpus 1 GiB", Machine{CPUs: 4, MemTotal: gib, PageSize: 4096, IPCLock: true}, 4 << 20, 1 << 20, "memory"},
		// A small board: 128 MiB / 64 / 2 = 1 MiB.
		{"2 cpus 128 MiB", Machine{CPUs: 2, MemTotal: 128 << 20, PageSize: 4096, IPCLock: true}, 1 << 20, 256 << 10, "memory"},
		// Tiny memory never goes below the library's default.
		{"1 cpu 16 MiB", Machine{CPUs: 1, MemTotal: 16 << 20, PageSize: 4096, IPCLock: true}, DefaultRingSize, DefaultRingSize / 4, "memory"},
		// Many CPUs: the total cap divides.
		{"128 cpus 1 TiB", Machine{CPUs: 128, MemTotal: 1024 * gib, PageSize: 4096, IPCLock: true}, 2 << 20, 512 << 10, "cap"},
		// Without CAP_IPC_LOCK: 516 KiB per CPU plus 8 MiB of
		// RLIMIT_MEMLOCK over 2 CPUs is 4.5 MiB a ring, less a page,
		// down to 4 MiB.
		{"unprivileged", Machine{CPUs: 2, MemTotal: 24 * gib, PageSize: 4096, MlockKB: 516, Memlock: 8 << 20}, 4 << 20, 1 << 20, "locked memory"},
		// No RLIMIT_MEMLOCK: 516 KiB per ring, less the metadata page.
		{"unprivileged, no rlimit", Machine{CPUs: 2, MemTotal: 24 * gib, PageSize: 4096, MlockKB: 516}, 512 << 10, 128 << 10, "locked memory"},
		{"unlimited rlimit", Machine{CPUs: 2, MemTotal: 24 * gib, PageSize: 4096, MlockKB: 516, Memlock: unix.RLIM_INFINITY}, 32 << 20, 1 << 20, "cap"},
		// 64 KiB pages: whole pages, a power of two of them.
		{"64k pages", Machine{CPUs: 3, MemTotal: gib, PageSize: 64 << 10, IPCLock: true}, 4 << 20, 1 << 20, "memory"},
		// Unknown memory: the default.
		{"unknown memory", Machine{CPUs: 2, PageSize: 4096, IPCLock: true}, DefaultRingSize, DefaultRingSize / 4, "memory"},
	} {
		p := PlanRings(c.m)
		if p.RingSize != c.size || p.Watermark != c.wm || p.Bound != c.bound {
			t.Errorf("%s: PlanRings = %d bytes, watermark %d, bound %q; want %d, %d, %q", c.name, p.RingSize, p.Watermark, p.Bound, c.size, c.wm, c.bound)
		}
		if pages := p.RingSize / max(c.m.PageSize, 4096); pages&(pages-1) != 0 || p.RingSize%max(c.m.PageSize, 4096) != 0 {
			t.Errorf("%s: %d bytes is not a power of two pages", c.name, p.RingSize)
		}
		if c.m.MemTotal > 0 && uint64(p.Total()) > max(c.m.MemTotal/AutoMemShare, uint64(DefaultRingSize*c.m.CPUs)) {
			t.Errorf("%s: %d bytes in all, over 1/%d of %d", c.name, p.Total(), AutoMemShare, c.m.MemTotal)
		}
	}
}

func TestSuggestRingSize(t *testing.T) {
	for _, c := range []struct {
		size int
		lost uint64
		rec  int
		want int
	}{
		{256 << 10, 1, 56, 512 << 10},           // at least twice
		{256 << 10, 300000, 56, 32 << 20},       // 256 KiB + 16.8 MB
		{32 << 20, 1000000, 56, 128 << 20},      // 32 MiB + 56 MB
		{MaxRingSize, 1 << 40, 56, MaxRingSize}, // capped
	} {
		if got := SuggestRingSize(c.size, c.lost, c.rec); got != c.want {
			t.Errorf("SuggestRingSize(%d, %d, %d) = %d, want %d", c.size, c.lost, c.rec, got, c.want)
		}
	}
}

// TestReadMachine checks what is read from this kernel against the same
// files read here.
func TestReadMachine(t *testing.T) {
	m := ReadMachine(2)
	if m.CPUs != 2 || m.PageSize <= 0 || m.MemTotal == 0 {
		t.Fatalf("ReadMachine(2) = %+v", m)
	}
	if p := PlanRings(m); p.RingSize < DefaultRingSize && p.Bound != "locked memory" {
		t.Errorf("plan %v is below the default", p)
	}
}
