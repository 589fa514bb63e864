package perf_test

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/tracelet/tracelet/perf"
)

// Count our own getppid calls through the sys_enter_getppid tracepoint.
// It needs root and tracefs, so it is compiled but not run;
// TestTracepointExactCount runs the same steps on the real kernel.
func Example() {
	b, err := os.ReadFile("/sys/kernel/tracing/events/syscalls/sys_enter_getppid/id")
	if err != nil {
		fmt.Println(err)
		return
	}
	id, _ := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	attr, err := perf.Tracepoint(id, 0)
	if err != nil {
		fmt.Println(err)
		return
	}
	r, err := perf.NewReader(perf.ReaderOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer r.Close()
	evs, err := perf.OpenCPUs(attr, -1, r.CPUs(), 0)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer perf.CloseAll(evs)
	if err := r.Add(evs...); err != nil {
		fmt.Println(err)
		return
	}

	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	tid := unix.Gettid()
	for _, e := range evs {
		e.SetFilter("common_pid == " + strconv.Itoa(tid)) // only this thread
		e.Enable()
	}
	for i := 0; i < 3; i++ {
		unix.Getppid()
	}
	for _, e := range evs {
		e.Disable()
	}

	r.Flush() // read what is there, then ErrFlushed
	n := 0
	var s perf.Sample
	for {
		rec, err := r.Read(context.Background())
		if err != nil {
			break
		}
		if rec.Type == perf.PERF_RECORD_SAMPLE && perf.ParseSample(rec.Data, attr.SampleType(), &s) == nil && int(s.Tid) == tid {
			n++
		}
	}
	fmt.Println(n, "calls")
}

func ExampleParseCPUList() {
	cpus, _ := perf.ParseCPUList("0-3,5\n")
	fmt.Println(cpus)
	// Output: [0 1 2 3 5]
}
