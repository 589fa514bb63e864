package perf

import (
	"context"
	"encoding/binary"
	"os/exec"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tracelet/tracelet/internal/testenv"
)

// memReader is a Reader over one in-memory ring, without epoll: the same
// poll/next/commit path that the mmapped rings take.
func memReader(b *testing.B, size int) (*Reader, *unix.PerfEventMmapPage) {
	meta := new(unix.PerfEventMmapPage)
	rg, err := newRing(0, meta, make([]byte, size))
	if err != nil {
		b.Fatal(err)
	}
	return &Reader{rings: []*ring{rg}, byCPU: []*ring{rg}, lost: make([]atomic.Uint64, 1), epfd: -1, wakefd: -1}, meta
}

// BenchmarkReader measures taking and decoding one record of each size from
// a 1 MiB ring: ns/op is per record. The ring is filled once; since the
// record size divides the ring, advancing data_head by the ring's length
// "writes" it again at no cost, so only the reader is timed.
func BenchmarkReader(b *testing.B) {
	for _, recSize := range []int{64, 256, 1024} {
		b.Run(strconv.Itoa(recSize), func(b *testing.B) {
			const ringSize = 1 << 20
			r, meta := memReader(b, ringSize)
			rawLen := recSize - 8 - 8*4 - 4
			body := sampleBytes(DefaultSampleType, Sample{Identifier: 1, Pid: 2, Tid: 3, Time: 4, CPU: 0}, nil, make([]byte, rawLen))
			rec := make([]byte, recSize)
			binary.NativeEndian.PutUint32(rec[0:], uint32(PERF_RECORD_SAMPLE))
			binary.NativeEndian.PutUint16(rec[6:], uint16(recSize))
			copy(rec[8:], body)
			data := r.rings[0].data
			for off := 0; off < ringSize; off += recSize {
				copy(data[off:], rec)
			}
			var s Sample
			b.SetBytes(int64(recSize))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				rec, ok, err := r.poll()
				if !ok {
					meta.Data_head += ringSize
					rec, ok, err = r.poll()
				}
				if err != nil || !ok {
					b.Fatal(ok, err)
				}
				if err := ParseSample(rec.Data, DefaultSampleType, &s); err != nil || len(s.Raw) != rawLen {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkReaderOrdered is BenchmarkReader for an ordered Reader over the
// rings of two CPUs, whose records alternate in time: each record is chosen
// by comparing the rings' next records, then taken.
func BenchmarkReaderOrdered(b *testing.B) {
	for _, recSize := range []int{64, 256, 1024} {
		b.Run(strconv.Itoa(recSize), func(b *testing.B) {
			const ringSize = 1 << 20
			r, m := orderedMemReader(b, 2, ringSize)
			rawLen := recSize - 8 - 8*4 - 4
			rec := make([]byte, recSize)
			binary.NativeEndian.PutUint32(rec[0:], uint32(PERF_RECORD_SAMPLE))
			binary.NativeEndian.PutUint16(rec[6:], uint16(recSize))
			for cpu, mr := range m {
				for i, off := 0, 0; off < ringSize; i, off = i+1, off+recSize {
					body := sampleBytes(DefaultSampleType, Sample{Identifier: 1, Pid: 2, Tid: 3, Time: uint64(2*i + cpu), CPU: uint32(cpu)}, nil, make([]byte, rawLen))
					copy(rec[8:], body)
					copy(mr.data[off:], rec)
				}
			}
			var s Sample
			b.SetBytes(int64(recSize))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				rec, ok, err := r.poll()
				if !ok {
					for _, mr := range m {
						mr.meta.Data_head += ringSize
					}
					rec, ok, err = r.poll()
				}
				if err != nil || !ok {
					b.Fatal(ok, err)
				}
				if err := ParseSample(rec.Data, DefaultSampleType, &s); err != nil || len(s.Raw) != rawLen {
					b.Fatal(err)
				}
			}
		})
	}
}

// e2eRead reads r until Flush, counting samples and lost records.
func e2eRead(r *Reader, pid int) (got, lost *atomic.Uint64, done chan error) {
	got, lost, done = new(atomic.Uint64), new(atomic.Uint64), make(chan error, 1)
	go func() {
		var s Sample
		for {
			rec, err := r.Read(context.Background())
			if err != nil {
				if err == ErrFlushed {
					err = nil
				}
				done <- err
				return
			}
			switch rec.Type {
			case PERF_RECORD_SAMPLE:
				if ParseSample(rec.Data, DefaultSampleType, &s) == nil && (pid == 0 || int(s.Pid) == pid) {
					got.Add(1)
				}
			case PERF_RECORD_LOST:
				lost.Add(rec.Lost)
			}
		}
	}()
	return got, lost, done
}

type wakeMode struct {
	name string
	set  func(a *Attr)
	opts ReaderOptions
}

// wakeModes are the readers the end-to-end benchmarks run: woken per
// record, woken at 64 KiB of 4 MiB, and what `tracelet trace` opens by
// default (the rings and watermark PlanRings sizes from this machine, read
// in time order across the CPUs).
func wakeModes(b *testing.B) []wakeMode {
	cpus, err := OnlineCPUs()
	if err != nil {
		b.Fatal(err)
	}
	p := PlanRings(ReadMachine(len(cpus)))
	wm := min(p.RingSize/4, AutoMaxWatermark)
	return []wakeMode{
		{"wakeup=1", func(a *Attr) { a.SetWakeupEvents(1) }, ReaderOptions{RingSize: 4 << 20}},
		{"watermark", func(a *Attr) { a.SetWatermark(1) }, ReaderOptions{RingSize: 4 << 20, Watermark: 64 << 10}},
		{"trace-defaults", func(a *Attr) {
			a.SetWatermark(uint32(wm))
			a.Bits |= unix.PerfBitSampleIDAll
		}, ReaderOptions{RingSize: p.RingSize, Ordered: true}},
	}
}

// kernelLost sums the kernel's own count of samples it could not write
// (PERF_FORMAT_LOST), which includes losses whose PERF_RECORD_LOST was never
// written because no event came after them.
func kernelLost(b *testing.B, evs []*Event) uint64 {
	var n uint64
	for _, e := range evs {
		c, err := e.ReadCount()
		if err != nil {
			b.Fatal(err)
		}
		n += c.Lost
	}
	return n
}

// BenchmarkEndToEndUprobe: testprog calls the probed function b.N times in
// a tight loop; ns/op is per traced call, events/s what arrived per second
// of the run, and lost must be 0.
func BenchmarkEndToEndUprobe(b *testing.B) {
	prog := testenv.TestProg(b)
	run := func(n int) time.Duration {
		start := time.Now()
		if out, err := exec.Command(prog, "calls", strconv.Itoa(n), "1", "2").CombinedOutput(); err != nil {
			b.Fatalf("testprog: %v %s", err, out)
		}
		return time.Since(start)
	}
	b.Run("untraced", func(b *testing.B) {
		b.ResetTimer()
		run(b.N)
	})
	r0, r1 := argRegs(b)
	group, ev := addUprobe(b, prog, testenv.CABITarget, "a="+r0+":u64 b="+r1+":u64")
	id := eventID(b, group, ev)
	for _, m := range wakeModes(b) {
		b.Run(m.name, func(b *testing.B) {
			attr, _ := Tracepoint(id, 0)
			attr.Read_format = unix.PERF_FORMAT_ID | unix.PERF_FORMAT_LOST
			m.set(attr)
			r := newReader(b, m.opts)
			evs := openOnAll(b, r, attr, -1)
			enableAll(b, evs)
			got, lost, done := e2eRead(r, 0)
			b.ResetTimer()
			d := run(b.N)
			r.Flush()
			if err := <-done; err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			disableAll(b, evs)
			b.ReportMetric(float64(got.Load())/d.Seconds(), "events/s")
			kl := kernelLost(b, evs)
			b.ReportMetric(float64(kl), "lost")
			if got.Load()+kl != uint64(b.N) || lost.Load() > kl {
				b.Fatalf("%d events + %d lost (PERF_RECORD_LOST: %d) != %d calls", got.Load(), kl, lost.Load(), b.N)
			}
		})
	}
}

// getppidLoop filters evs to a pinned thread, enables them and times b.N
// getppid calls on that thread.
func getppidLoop(b *testing.B, evs []*Event) time.Duration {
	var d time.Duration
	onThread(b, -1, func(tid int) {
		for _, e := range evs {
			if err := e.SetFilter("common_pid == " + strconv.Itoa(tid)); err != nil {
				b.Fatal(err)
			}
		}
		enableAll(b, evs)
		b.ResetTimer()
		start := time.Now()
		for i := 0; i < b.N; i++ {
			unix.Getppid()
		}
		d = time.Since(start)
	})
	return d
}

// BenchmarkEndToEndTracepoint: b.N getppid calls from one thread under
// sys_enter_getppid filtered to that thread.
func BenchmarkEndToEndTracepoint(b *testing.B) {
	id := eventID(b, "syscalls", "sys_enter_getppid")
	b.Run("untraced", func(b *testing.B) {
		onThread(b, -1, func(int) {
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				unix.Getppid()
			}
		})
	})
	// The kernel's floor under any reader: the same samples written into
	// overwrite rings that nothing reads, with no wakeups. Its events/s
	// is the most a loop of these calls can produce while traced through
	// a perf ring, however cheap the reader.
	b.Run("floor-unread-rings", func(b *testing.B) {
		attr, _ := Tracepoint(id, 0)
		attr.SetWriteBackward(true)
		attr.SetWatermark(1 << 30)
		r := newReader(b, ReaderOptions{Overwrite: true, RingSize: 4 << 20})
		evs := openOnAll(b, r, attr, -1)
		d := getppidLoop(b, evs)
		b.StopTimer()
		disableAll(b, evs)
		b.ReportMetric(float64(b.N)/d.Seconds(), "events/s")
	})
	for _, m := range wakeModes(b) {
		b.Run(m.name, func(b *testing.B) {
			attr, _ := Tracepoint(id, 0)
			attr.Read_format = unix.PERF_FORMAT_ID | unix.PERF_FORMAT_LOST
			m.set(attr)
			r := newReader(b, m.opts)
			evs := openOnAll(b, r, attr, -1)
			got, lost, done := e2eRead(r, 0)
			d := getppidLoop(b, evs)
			r.Flush()
			if err := <-done; err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			disableAll(b, evs)
			b.ReportMetric(float64(got.Load())/d.Seconds(), "events/s")
			kl := kernelLost(b, evs)
			b.ReportMetric(float64(kl), "lost")
			if got.Load()+kl != uint64(b.N) || lost.Load() > kl {
				b.Fatalf("%d events + %d lost (PERF_RECORD_LOST: %d) != %d calls", got.Load(), kl, lost.Load(), b.N)
			}
		})
	}
}
