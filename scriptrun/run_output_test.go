package scriptrun

import (
	"io"
	"os"
	"testing"

	"github.com/tracelet/tracelet/internal/testenv"
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

// A script whose traced events print gets the ring sized from the
// machine, within MaxRingSize; one that prints only from BEGIN, END and
// interval (offcputime, runqlat) gets the smallest, as one that never
// prints does; --ring-size is kept as given.
func TestRingPlanStreams(t *testing.T) {
	testenv.RequireRoot(t)
	const streaming = `tracepoint:syscalls:sys_enter_getppid { printf("%d\n", pid); }`
	const hooks = `BEGIN { printf("Tracing...\n"); } tracepoint:syscalls:sys_enter_getppid { @[comm] = count(); } interval:s:1 { printf("tick\n"); print(@); } END { printf("bye\n"); }`
	const machine, small = -1, -2
	for _, c := range []struct {
		src       string
		size, max uint32
		want      int
	}{
		{streaming, 0, 0, machine},
		{streaming, 0, 64 << 10, 64 << 10},
		{streaming, 0, 1 << 30, machine},
		{hooks, 0, 0, small},
		{hooks, 0, 1 << 20, small},
		{hooks, 1 << 20, 0, 1 << 20},
		{`tracepoint:syscalls:sys_enter_getppid { @ = count(); }`, 0, 0, small},
		// The text names printf and the program does not stream: the
		// ring planned from the text is dropped for the small one.
		{"// printf(\"%d\\n\", pid) every hit was too much\n" + `tracepoint:syscalls:sys_enter_getppid { @ = count(); }`, 0, 0, small},
	} {
		fds := mapFDs(t)
		r, err := Prepare("-e", []byte(c.src), RunOptions{Out: io.Discard, RingSize: c.size, MaxRingSize: c.max})
		if err != nil {
			t.Fatal(err)
		}
		if e := r.early; e != nil && e.spec != script.RingBufSpec(uint32(r.Rings().Total())) {
			t.Errorf("%s: the early ring is %+v, for a plan of %d bytes", c.src, e.spec, r.Rings().Total())
		}
		want := c.want
		switch m := ringPlan(0, r.Object.Output).RingSize; want {
		case machine:
			want = m
		case small:
			want = min(m, perf.DefaultRingSize)
		}
		if got := r.Rings().RingSize; got != want {
			t.Errorf("%s (--ring-size %d, bound %d): ring of %d bytes (%s), want %d", c.src, c.size, c.max, got, r.Rings().Bound, want)
		}
		r.Close()
		if left := mapFDs(t); left != fds {
			t.Errorf("%s: %d BPF maps held before, %d after Close", c.src, fds, left)
		}
	}
}

// mapFDs counts the BPF maps this process holds an fd of.
func mapFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range ents {
		if l, err := os.Readlink("/proc/self/fd/" + e.Name()); err == nil && l == "anon_inode:bpf-map" {
			n++
		}
	}
	return n
}
