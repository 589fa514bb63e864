package scriptrun

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/tracelet/tracelet/internal/testenv"
	"github.com/tracelet/tracelet/script"
)

// BenchmarkRunPrintf is `tracelet run`'s printf path end to end, as
// trace's BenchmarkSessionSyscall is trace's: b.N getppid calls of this
// thread, a printf per call on sys_enter_getppid, each record formatted
// and written to a discarding writer by Wait. It reports the rate of
// records delivered and allocs/op, which counts the consumer's allocations
// per record.
func BenchmarkRunPrintf(b *testing.B) {
	testenv.RequireRoot(b)
	testenv.RequireSyscallEvents(b)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	src := fmt.Sprintf(`tracepoint:syscalls:sys_enter_getppid /tid == %d/ { printf("%%s %%d %%d %%x\n", comm, pid, tid, cpu); }`, syscall.Gettid())
	r, err := Prepare("-e", []byte(src), RunOptions{Out: discard{}})
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	if err := r.Start(nil); err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- r.Wait(ctx) }()
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		syscall.RawSyscall(syscall.SYS_GETPPID, 0, 0, 0)
	}
	// Each record is in the ring when its syscall returns, and Wait
	// drains the ring once ctx ends.
	cancel()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	lost, _ := r.output.lost()
	b.ReportMetric(float64(r.records)/elapsed.Seconds(), "events/s")
	b.ReportMetric(float64(lost), "lost")
	b.ReportMetric(float64(elapsed.Nanoseconds())/float64(b.N), "ns/traced-op")
}

// BenchmarkPrintfRecord formats one printf record as Run does, into a
// reused buffer: 0 allocs/op.
func BenchmarkPrintfRecord(b *testing.B) {
	obj, err := script.CompileSource("-e", []byte(`BEGIN { printf("%s %d %u %x E\n", comm, pid, tid, cpu); }`), script.CheckOptions{}, script.Options{})
	if err != nil {
		b.Fatal(err)
	}
	pf := obj.Printfs[0]
	rec := make([]byte, pf.Size)
	copy(rec[pf.Offsets[0]:], "getppidloop")
	for i, v := range []uint64{uint64(os.Getpid()), 123456, 1} {
		binary.NativeEndian.PutUint64(rec[pf.Offsets[i+1]:], v)
	}
	p := script.PlanPrintf(pf.Format)
	res := &script.Resolver{}
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		buf = obj.AppendPrintf(buf[:0], &p, pf, rec, res)
	}
	if want := fmt.Sprintf("getppidloop %d 123456 1 E\n", os.Getpid()); string(buf) != want {
		b.Fatalf("got %q, want %q", buf, want)
	}
}
