package perf

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// sysCPUDir holds the kernel's CPU masks (Documentation/ABI/testing/sysfs-devices-system-cpu).
const sysCPUDir = "/sys/devices/system/cpu"

// maxCPUs bounds what a CPU list may name, so that a corrupt or hostile mask
// ("0-4294967295") cannot make us allocate a slice of billions of entries.
// The kernel's own NR_CPUS limit is 8192 on x86_64 and 4096 on arm64.
const maxCPUs = 1 << 16

// OnlineCPUs returns the CPUs that are online now, in ascending order. A perf
// ring exists per online CPU; offline CPUs have none and may sit in the middle
// of the range ("0-3,5").
func OnlineCPUs() ([]int, error) { return readCPUList(sysCPUDir + "/online") }

// PossibleCPUs returns every CPU that could ever come online, which is what a
// BPF_MAP_TYPE_PERF_EVENT_ARRAY needs one slot for.
func PossibleCPUs() ([]int, error) { return readCPUList(sysCPUDir + "/possible") }

func readCPUList(path string) ([]int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	cpus, err := ParseCPUList(string(b))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return cpus, nil
}

// ParseCPUList parses the kernel's cpulist format (bitmap_parselist, as in
// /sys/devices/system/cpu/online): comma-separated CPU numbers and inclusive
// ranges, e.g. "0-3,5,7-8", with an optional trailing newline. The result is
// sorted and free of duplicates. Strides ("0-7:2/4"), which the kernel accepts
// on input but never prints, are rejected.
func ParseCPUList(s string) ([]int, error) {
	s = strings.TrimRight(s, "\n")
	if strings.TrimSpace(s) == "" {
		// An empty mask is legal (no CPUs), e.g. /sys/devices/system/cpu/offline.
		return nil, nil
	}
	seen := make(map[int]bool)
	col := 1
	for _, part := range strings.Split(s, ",") {
		lo, hi, err := parseCPURange(part)
		if err != nil {
			return nil, fmt.Errorf("cpu list %q, col %d: %w", s, col, err)
		}
		for c := lo; c <= hi; c++ {
			seen[c] = true
		}
		col += len(part) + 1
	}
	cpus := make([]int, 0, len(seen))
	for c := 0; c < maxCPUs && len(cpus) < len(seen); c++ {
		if seen[c] {
			cpus = append(cpus, c)
		}
	}
	return cpus, nil
}

func parseCPURange(part string) (lo, hi int, err error) {
	a, b, isRange := strings.Cut(part, "-")
	lo, err = parseCPUNumber(a)
	if err != nil {
		return 0, 0, err
	}
	hi = lo
	if isRange {
		if hi, err = parseCPUNumber(b); err != nil {
			return 0, 0, err
		}
		if hi < lo {
			return 0, 0, fmt.Errorf("range %q ends before it starts (want LOW-HIGH)", part)
		}
	}
	return lo, hi, nil
}

func parseCPUNumber(s string) (int, error) {
	if s == "" || strings.TrimLeft(s, "0123456789") != "" {
		return 0, fmt.Errorf("%q is not a CPU number (want N or LOW-HIGH)", s)
	}
	n, err := strconv.Atoi(s)
	if err != nil || n >= maxCPUs {
		return 0, fmt.Errorf("CPU %q is out of range (at most %d)", s, maxCPUs-1)
	}
	return n, nil
}
