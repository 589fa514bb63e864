package trace

import (
	"context"
	"fmt"
	"io"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/tracelet/tracelet/internal/testenv"
)

// consume reads and prints (into a reused buffer) until the session is
// stopped and drained, as the CLI does.
func consume(b *testing.B, s *Session, done chan<- error) {
	p := NewPrinter(nil)
	var buf []byte
	for {
		smp, err := s.Next(context.Background())
		if err == ErrIdle {
			continue
		}
		if err != nil {
			if err == io.EOF {
				err = nil
			}
			done <- err
			return
		}
		buf = p.AppendText(buf[:0], smp)
	}
}

func report(b *testing.B, s *Session, elapsed time.Duration) {
	b.ReportMetric(float64(s.Delivered())/elapsed.Seconds(), "events/s")
	b.ReportMetric(float64(s.Lost()), "lost")
	b.ReportMetric(float64(elapsed.Nanoseconds())/float64(b.N), "ns/traced-op")
}

// BenchmarkSessionUprobe: end to end (probe hit, ring, decode, text
// formatting) for a uprobe on a function testprog calls b.N times.
func BenchmarkSessionUprobe(b *testing.B) {
	r := cabiRegs(b)
	spec := cabiSpec(b, fmt.Sprintf("a=%s:u64 b=%s:s64", r[0], r[1]))
	w := startWaiting(b, "calls", fmt.Sprint(b.N), "1", "2")
	s := newSession(b, Options{Specs: []string{spec}, PID: w.cmd.Process.Pid})
	if err := s.Start(); err != nil {
		b.Fatal(err)
	}
	done := make(chan error, 1)
	go consume(b, s, done)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	w.run(b)
	s.Stop()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	report(b, s, elapsed)
}

// BenchmarkSessionSyscall: end to end for the syscalls:sys_enter_getppid
// tracepoint, b.N calls from this process.
func BenchmarkSessionSyscall(b *testing.B) {
	testenv.RequireRoot(b)
	s := newSession(b, Options{Specs: []string{"syscalls:sys_enter_getppid"}, PID: os.Getpid()})
	if err := s.Start(); err != nil {
		b.Fatal(err)
	}
	done := make(chan error, 1)
	go consume(b, s, done)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		syscall.Getppid()
	}
	s.Stop()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	report(b, s, elapsed)
}
