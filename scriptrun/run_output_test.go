package scriptrun

import (
	"os"
	"testing"

	"github.com/tracelet/tracelet/perf"
	"github.com/tracelet/tracelet/script"
)

// TestRingPlan: --ring-size rounds up to a power of two pages; the default
// BPF ring buffer is one ring within perf.AutoMaxRingSize, the perf event
// array one ring per CPU.
func TestRingPlan(t *testing.T) {
	page := os.Getpagesize()
	for size, want := range map[uint32]int{1: page, uint32(page): page, uint32(page + 1): 2 * page, uint32(3 * page): 4 * page, 1 << 20: 1 << 20} {
		if p := ringPlan(size, script.OutputRingBuf); p.RingSize != want || p.Bound != "--ring-size" {
			t.Errorf("ringPlan(%d) = %d bytes (%s), want %d", size, p.RingSize, p.Bound, want)
		}
	}
	rb := ringPlan(0, script.OutputRingBuf)
	if rb.CPUs != 1 || rb.RingSize < perf.DefaultRingSize || rb.RingSize > perf.AutoMaxRingSize || rb.RingSize&(rb.RingSize-1) != 0 {
		t.Errorf("default ring buffer: %v", rb)
	}
	pa := ringPlan(0, script.OutputPerfEventArray)
	if cpus, err := perf.OnlineCPUs(); err != nil || pa.CPUs != len(cpus) || pa.RingSize < perf.DefaultRingSize {
		t.Errorf("default perf event array: %v (online CPUs %v, %v)", pa, cpus, err)
	}
}
