package cilium

import (
	"context"
	"fmt"
	"testing"
	"time"

	ciliumebpf "github.com/cilium/ebpf"
	ciliumperf "github.com/cilium/ebpf/perf"
	"github.com/cilium/ebpf/ringbuf"

	"github.com/tracelet/tracelet/bpf"
	"github.com/tracelet/tracelet/perf"
)

var sizes = []int{64, 256, 1024}

const (
	perfRing = 1 << 20 // per CPU, for both perf readers
	bpfRing  = 4 << 20 // the BPF ring buffer map
)

// batchLen is how many records tracelet's readers hand out per call
// (ReadBatch), as run's loop reads them: one lock per batch, where
// cilium/ebpf's ReadInto takes one per record.
const batchLen = 256

// check fails the benchmark when a reader returned the wrong record: a
// fast reader that hands out the wrong bytes proves nothing.
func check(b *testing.B, raw []byte, size int) {
	if len(raw) < size || raw[size-1] != byte(size-1) {
		b.Fatalf("record of %d bytes (want %d, last byte %d)", len(raw), size, size-1)
	}
}

// BenchmarkPerfReader: one record per PERF_RECORD_SAMPLE, taken to its raw
// bytes (tracelet: ReadBatch + ParseSample, zero-copy; cilium/ebpf:
// ReadInto a reused Record, its allocation-free path).
func BenchmarkPerfReader(b *testing.B) {
	for _, size := range sizes {
		b.Run(fmt.Sprintf("tracelet/%d", size), func(b *testing.B) {
			requireRoot(b)
			m := newPerfArray(b)
			r := traceletPerf(b, m, perfRing)
			p := newProducer(b, m, size)
			var s perf.Sample
			ctx := context.Background()
			buf := make([]perf.Record, 0, batchLen)
			readLoop(b, p, perfRing, func(n int) {
				r.SetDeadline(time.Now().Add(5 * time.Second))
				for i := 0; i < n; {
					recs, err := r.ReadBatch(ctx, buf[:0])
					if err != nil {
						b.Fatalf("record %d of %d: %v (lost %v)", i, n, err, r.Lost())
					}
					for _, rec := range recs {
						if rec.Type != perf.PERF_RECORD_SAMPLE {
							continue
						}
						if err := perf.ParseSample(rec.Data, perf.PERF_SAMPLE_RAW, &s); err != nil {
							b.Fatal(err)
						}
						check(b, s.Raw, size)
						i++
					}
				}
			})
		})
		b.Run(fmt.Sprintf("cilium/%d", size), func(b *testing.B) {
			requireRoot(b)
			m := newPerfArray(b)
			cm, err := ciliumebpf.NewMapFromFD(dupFD(b, m))
			if err != nil {
				b.Fatal(err)
			}
			defer cm.Close()
			r, err := ciliumperf.NewReader(cm, perfRing)
			if err != nil {
				b.Fatal(err)
			}
			defer r.Close()
			p := newProducer(b, m, size)
			var rec ciliumperf.Record
			readLoop(b, p, perfRing, func(n int) {
				r.SetDeadline(time.Now().Add(5 * time.Second))
				for i := 0; i < n; {
					if err := r.ReadInto(&rec); err != nil {
						b.Fatalf("record %d of %d: %v", i, n, err)
					}
					if rec.LostSamples != 0 {
						b.Fatalf("%d lost", rec.LostSamples)
					}
					check(b, rec.RawSample, size)
					i++
				}
			})
		})
	}
}

// BenchmarkRingBufReader: a BPF_MAP_TYPE_RINGBUF map (tracelet:
// bpf.RingBufReader.ReadBatch, zero-copy; cilium/ebpf:
// ringbuf.Reader.ReadInto).
func BenchmarkRingBufReader(b *testing.B) {
	for _, size := range sizes {
		newRing := func(b *testing.B) *bpf.Map {
			m, err := bpf.NewMap(bpf.MapSpec{Name: "out", Type: bpf.RingBuf, MaxEntries: bpfRing})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { m.Close() })
			return m
		}
		b.Run(fmt.Sprintf("tracelet/%d", size), func(b *testing.B) {
			requireRoot(b)
			m := newRing(b)
			r, err := bpf.NewRingBufReader(m)
			if err != nil {
				b.Fatal(err)
			}
			defer r.Close()
			p := newProducer(b, m, size)
			buf := make([][]byte, 0, batchLen)
			readLoop(b, p, bpfRing, func(n int) {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				for i := 0; i < n; {
					recs, err := r.ReadBatch(ctx, buf[:0])
					if err != nil {
						b.Fatalf("record %d of %d: %v", i, n, err)
					}
					for _, raw := range recs {
						check(b, raw, size)
						i++
					}
				}
			})
		})
		b.Run(fmt.Sprintf("cilium/%d", size), func(b *testing.B) {
			requireRoot(b)
			m := newRing(b)
			cm, err := ciliumebpf.NewMapFromFD(dupFD(b, m))
			if err != nil {
				b.Fatal(err)
			}
			defer cm.Close()
			r, err := ringbuf.NewReader(cm)
			if err != nil {
				b.Fatal(err)
			}
			defer r.Close()
			p := newProducer(b, m, size)
			var rec ringbuf.Record
			readLoop(b, p, bpfRing, func(n int) {
				r.SetDeadline(time.Now().Add(5 * time.Second))
				for i := 0; i < n; i++ {
					if err := r.ReadInto(&rec); err != nil {
						b.Fatalf("record %d of %d: %v", i, n, err)
					}
					check(b, rec.RawSample, size)
				}
			})
		})
	}
}
