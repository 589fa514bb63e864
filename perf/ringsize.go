package perf

import (
	"fmt"
	"math/bits"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// The bounds of PlanRings. A tracer should buffer what a starved consumer
// misses, not race the producer: a getppid loop on one CPU writes about
// 50 MB/s of 56-byte samples, so a ring of 32 MiB holds 0.6 s of it while
// the reader, woken at every AutoMaxWatermark bytes, is not scheduled. On
// the 2-core VM of BENCHMARKS.md, with other test suites running, trace
// lost 125-144 k of 300 k such calls with 8 MiB rings and none with 32
// MiB. The price is start-up: the kernel allocates, zeroes and maps a
// whole ring when it is created and frees it at exit (64 MiB of rings
// added 60-300 ms to a short run there). The whole plan stays under 1/64 of the
// machine's memory and 256 MiB.
const (
	// AutoMaxRingSize caps one CPU's ring in a plan.
	AutoMaxRingSize = 32 << 20
	// AutoMaxTotal caps the rings of all CPUs together.
	AutoMaxTotal = 256 << 20
	// AutoMemShare is the fraction (1/AutoMemShare) of the machine's memory
	// that a plan's rings may take.
	AutoMemShare = 64
	// AutoMaxWatermark caps the wake-up watermark: a larger ring is woken
	// no later, so that the reader keeps it mostly empty and the rest is
	// headroom for the times it is not scheduled.
	AutoMaxWatermark = 1 << 20
)

// Machine is what the ring plan depends on, as read from the kernel by
// ReadMachine.
type Machine struct {
	CPUs     int    // rings to plan (online CPUs)
	MemTotal uint64 // bytes of RAM (sysinfo)
	PageSize int
	// MlockKB is /proc/sys/kernel/perf_event_mlock_kb: what a user may
	// lock in perf rings per CPU without CAP_IPC_LOCK, metadata page
	// included; RLIMIT_MEMLOCK adds to it (charged to locked_vm).
	MlockKB uint64
	// Memlock is RLIMIT_MEMLOCK's soft limit in bytes (RLIM_INFINITY: no limit).
	Memlock uint64
	// IPCLock is CAP_IPC_LOCK in the effective set: no lock limit at all.
	IPCLock bool
}

// ReadMachine reads the machine for a plan of ncpus rings. What it cannot
// read it leaves at a conservative value: no memory figure keeps the
// default size, and no perf_event_mlock_kb the kernel's default of 516.
func ReadMachine(ncpus int) Machine {
	m := Machine{CPUs: max(ncpus, 1), PageSize: os.Getpagesize(), MlockKB: 516}
	var si unix.Sysinfo_t
	if unix.Sysinfo(&si) == nil {
		m.MemTotal = uint64(si.Totalram) * uint64(si.Unit)
	}
	if b, err := os.ReadFile("/proc/sys/kernel/perf_event_mlock_kb"); err == nil {
		if v, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64); err == nil {
			m.MlockKB = v
		}
	}
	var rl unix.Rlimit
	if unix.Getrlimit(unix.RLIMIT_MEMLOCK, &rl) == nil {
		m.Memlock = uint64(rl.Cur)
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if unix.Capget(&hdr, &data[0]) == nil {
		m.IPCLock = data[unix.CAP_IPC_LOCK/32].Effective&(1<<(unix.CAP_IPC_LOCK%32)) != 0
	}
	return m
}

// RingPlan is the size of each CPU's ring and its wake-up watermark.
type RingPlan struct {
	RingSize  int // bytes of one CPU's data area, a power of two pages
	Watermark int // wake the reader once a ring holds this many bytes
	CPUs      int
	// Bound names what set RingSize: "memory" (1/AutoMemShare of RAM),
	// "cap" (AutoMaxRingSize or AutoMaxTotal), or "locked memory"
	// (perf_event_mlock_kb and RLIMIT_MEMLOCK without CAP_IPC_LOCK).
	Bound string
}

// Total is the memory of all rings together.
func (p RingPlan) Total() int { return p.RingSize * p.CPUs }

func (p RingPlan) String() string {
	wake := "wake-up at " + sizeText(p.Watermark)
	if p.Watermark == 0 {
		wake = "wake-up when the reader has caught up"
	}
	rings := "rings"
	if p.CPUs == 1 {
		rings = "ring"
	}
	return fmt.Sprintf("%d %s of %s (%s in all, bound by %s), %s",
		p.CPUs, rings, sizeText(p.RingSize), sizeText(p.Total()), p.Bound, wake)
}

// PlanRings sizes the rings for m: as large as 1/AutoMemShare of its memory
// spread over its CPUs allows, within AutoMaxRingSize and AutoMaxTotal, and
// within what the user may lock; never below DefaultRingSize unless the
// lock limit is lower (a larger ring could not be mapped).
func PlanRings(m Machine) RingPlan {
	page := max(m.PageSize, 4096)
	cpus := max(m.CPUs, 1)
	size, bound := DefaultRingSize, "memory"
	if m.MemTotal > 0 {
		size = int(min(m.MemTotal/AutoMemShare, AutoMaxTotal) / uint64(cpus))
		if m.MemTotal/AutoMemShare > AutoMaxTotal {
			bound = "cap"
		}
	}
	if size >= AutoMaxRingSize {
		size, bound = AutoMaxRingSize, "cap"
	}
	size = max(size, DefaultRingSize)
	if !m.IPCLock {
		// perf_mmap lets a user lock perf_event_mlock_kb per online CPU,
		// then charges the rest to RLIMIT_MEMLOCK; each ring has one
		// metadata page on top of its data.
		lockable := m.MlockKB << 10 * uint64(cpus)
		if m.Memlock != unix.RLIM_INFINITY {
			lockable += m.Memlock
		} else {
			lockable = 1 << 62
		}
		if per := lockable/uint64(cpus) - uint64(page); lockable/uint64(cpus) > uint64(page) && uint64(size) > per {
			size, bound = int(per), "locked memory"
		}
	}
	// Down to a power of two pages: rounding up could pass a bound.
	pages := max(size/page, 1)
	pages = 1 << (bits.Len(uint(pages)) - 1)
	size = pages * page
	return RingPlan{RingSize: size, Watermark: min(size/4, AutoMaxWatermark), CPUs: cpus, Bound: bound}
}

// SuggestRingSize is the ring size that would have held lost more records
// of recBytes each in a ring of size bytes: a power of two, at least twice
// size, at most MaxRingSize.
func SuggestRingSize(size int, lost uint64, recBytes int) int {
	need := uint64(size) + lost*uint64(max(recBytes, 8))
	need = max(need, 2*uint64(size))
	if need >= MaxRingSize {
		return MaxRingSize
	}
	return 1 << bits.Len64(need-1)
}

func sizeText(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return strconv.Itoa(n>>20) + " MiB"
	case n >= 1<<10 && n%(1<<10) == 0:
		return strconv.Itoa(n>>10) + " KiB"
	}
	return strconv.Itoa(n) + " bytes"
}
