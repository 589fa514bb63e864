package scriptrun

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"os"
	"runtime"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/tracelet/tracelet/bpf"
	"github.com/tracelet/tracelet/perf"
	"github.com/tracelet/tracelet/script"
)

// recordSource yields the records the programs send: read returns the next
// one (nil for a record to skip), waiting until ctx is done; once ctx is
// done it still returns what is already in the rings, then ctx's error.
type recordSource interface {
	read(ctx context.Context) ([]byte, error)
	// lost is how many records the kernel could not put in the rings.
	lost() (uint64, error)
	close() error
}

// ringSource reads the BPF ring buffer (5.8). The ring itself keeps no
// count of the records it refused; the programs count them in LostMap.
type ringSource struct {
	rd      *bpf.RingBufReader
	dropped *bpf.Map
	batch   batch[[]byte]
}

// recordBatch is how many records a source takes from its reader at once.
const recordBatch = 256

// batch hands out one by one the records of a reader's ReadBatch: a batch
// takes the reader's lock once, and its records stay valid until the next.
type batch[T any] struct{ recs, buf []T }

// next returns the next record, refilling the batch through read when it
// is used up.
func (b *batch[T]) next(read func([]T) ([]T, error)) (T, error) {
	if len(b.recs) == 0 {
		if b.buf == nil {
			b.buf = make([]T, 0, recordBatch)
		}
		recs, err := read(b.buf[:0])
		if err != nil {
			var zero T
			return zero, err
		}
		b.recs = recs
	}
	rec := b.recs[0]
	b.recs = b.recs[1:]
	return rec, nil
}

func newRingSource(m, lost *bpf.Map) (*ringSource, error) {
	rd, err := bpf.NewRingBufReader(m)
	if err != nil {
		return nil, err
	}
	// A busy probe is read every ringBatch with no wake-up per record
	// (SetBatch); the ring, sized by ringPlan, buffers it meanwhile.
	rd.SetBatch(ringBatch)
	return &ringSource{rd: rd, dropped: lost}, nil
}

func (s *ringSource) read(ctx context.Context) ([]byte, error) {
	return s.batch.next(func(buf [][]byte) ([][]byte, error) { return s.rd.ReadBatch(ctx, buf) })
}

func (s *ringSource) close() error { return s.rd.Close() }

func (s *ringSource) lost() (uint64, error) {
	if s.dropped == nil {
		return 0, nil
	}
	v := make([]byte, 8)
	if err := s.dropped.Lookup(bpf.Uint32Key(0), v); err != nil {
		return 0, err
	}
	return binary.NativeEndian.Uint64(v), nil
}

// perfArraySource reads a perf event array: bpf_perf_event_output writes
// only to PERF_COUNT_SW_BPF_OUTPUT events, so one is opened per CPU, its
// fd stored under the CPU's number (the key BPF_F_CURRENT_CPU picks), and
// its output sent to the perf.Reader's ring of that CPU.
type perfArraySource struct {
	rd     *perf.Reader
	events []*perf.Event
	nlost  uint64 // from PERF_RECORD_LOST
	batch  batch[perf.Record]
}

func newPerfArraySource(m *bpf.Map, ringSize int) (_ *perfArraySource, err error) {
	cpus, err := perf.OnlineCPUs()
	if err != nil {
		return nil, err
	}
	rd, err := perf.NewReader(perf.ReaderOptions{CPUs: cpus, RingSize: ringSize})
	if err != nil {
		return nil, err
	}
	s := &perfArraySource{rd: rd}
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	attr := &perf.Attr{}
	attr.Type = unix.PERF_TYPE_SOFTWARE
	attr.Config = unix.PERF_COUNT_SW_BPF_OUTPUT
	attr.Size = uint32(unsafe.Sizeof(attr.PerfEventAttr))
	attr.Sample_type = unix.PERF_SAMPLE_RAW
	attr.Sample = 1
	// Wake the reader at every record: printf output should not wait.
	attr.Wakeup = 1
	// The kernel's own count of the samples it could not write (6.0): a
	// PERF_RECORD_LOST reaches the ring only in front of the next record
	// that fits, so the losses at the end of a run would go unreported.
	attr.Read_format = unix.PERF_FORMAT_ID | unix.PERF_FORMAT_LOST
	for i, cpu := range cpus {
		ev, err := perf.Open(attr, -1, cpu, nil, 0)
		if i == 0 && errors.Is(err, unix.EINVAL) {
			attr.Read_format = 0 // before 6.0: PERF_RECORD_LOST alone
			ev, err = perf.Open(attr, -1, cpu, nil, 0)
		}
		if err != nil {
			return nil, err
		}
		s.events = append(s.events, ev)
		if err := rd.Add(ev); err != nil {
			return nil, err
		}
		if err := m.Update(bpf.Uint32Key(uint32(cpu)), bpf.Uint32Key(uint32(ev.FD())), bpf.UpdateAny); err != nil {
			return nil, fmt.Errorf("perf event array slot of cpu %d: %w", cpu, err)
		}
	}
	return s, nil
}

func (s *perfArraySource) read(ctx context.Context) ([]byte, error) {
	rec, err := s.batch.next(func(buf []perf.Record) ([]perf.Record, error) { return s.rd.ReadBatch(ctx, buf) })
	if err != nil {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return nil, ctx.Err()
		}
		return nil, err
	}
	if rec.Type != perf.PERF_RECORD_SAMPLE {
		s.nlost += rec.Lost
		return nil, nil
	}
	// PERF_SAMPLE_RAW: u32 size, then the bytes (padded to 8).
	if len(rec.Data) < 4 {
		return nil, fmt.Errorf("perf sample of %d bytes", len(rec.Data))
	}
	n := int(binary.NativeEndian.Uint32(rec.Data))
	if 4+n > len(rec.Data) {
		return nil, fmt.Errorf("perf sample claims %d raw bytes, has %d", n, len(rec.Data)-4)
	}
	return rec.Data[4 : 4+n], nil
}

// lost is the kernel's count where it keeps one, else what the
// PERF_RECORD_LOST records said.
func (s *perfArraySource) lost() (uint64, error) {
	var kernel uint64
	for _, ev := range s.events {
		c, err := ev.ReadCount()
		if err != nil {
			return s.nlost, nil // no PERF_FORMAT_LOST on this kernel
		}
		kernel += c.Lost
	}
	return max(kernel, s.nlost), nil
}

func (s *perfArraySource) close() error {
	var errs []error
	for _, ev := range s.events {
		errs = append(errs, ev.Close())
	}
	errs = append(errs, s.rd.Close())
	return errors.Join(errs...)
}

// maxRingBuf caps the BPF ring buffer's default size (see ringPlan).
const maxRingBuf = 8 << 20

// ringBatch bounds how long a record waits in the BPF ring buffer while
// records are coming: trace's Options.Latency default.
const ringBatch = 10 * time.Millisecond

// ringPlan sizes the output rings: size when set (--ring-size), otherwise
// perf.PlanRings for this machine. The BPF ring buffer is one ring for all
// CPUs: it takes what the plan gives all of them, rounded down to a power
// of two, but no more than maxRingBuf: its records are small (24 bytes for
// a printf of one integer, so 8 MiB holds a 300,000-call burst that no
// one reads), and every byte of it costs start-up (the kernel zeroes it)
// and resident memory (it is mapped whole into the reader), which a
// 32 MiB ring raised from 7 to 70 MB. The perf event array has one ring
// per CPU.
func ringPlan(size uint32, kind script.OutputKind) perf.RingPlan {
	n := 1
	if cpus, err := perf.OnlineCPUs(); err == nil {
		n = len(cpus)
	}
	p := perf.PlanRings(perf.ReadMachine(n))
	if kind == script.OutputRingBuf {
		total := p.Total()
		p.RingSize, p.CPUs = min(1<<(bits.Len(uint(total))-1), maxRingBuf), 1
		p.Watermark = 0 // the kernel wakes a ring buffer's reader when it has caught up
	}
	if size > 0 {
		// Up to a power of two pages, as the kernel wants (and as trace
		// rounds its --ring-size).
		page := os.Getpagesize()
		pages := (int(size) + page - 1) / page
		p.RingSize, p.Bound = (1<<bits.Len(uint(pages-1)))*page, "--ring-size"
	}
	return p
}

// outputKind is where records go: the BPF ring buffer where the kernel
// has it (5.8), else the perf event array, unless the options force one.
func outputKind(opts RunOptions) script.OutputKind {
	if opts.ForceOutput != nil {
		return *opts.ForceOutput
	}
	return hostOutput()
}

// planRing sizes the output rings (machine, from ringPlan, within
// MaxRingSize), and
// starts creating the BPF ring buffer at once: the kernel allocates,
// zeroes and maps all of it (2 to 4 ms for 8 MiB on this machine's kind),
// which then runs beside the parse, the checks and the compile instead of
// after them. A script none of whose traced events prints (streams
// false, script.Streams) gets the smallest ring: it carries only exit(),
// print() and clear() requests, and what BEGIN, END and interval print,
// and a large one would only cost start-up and resident memory (the
// reader maps it whole, and the kernel maps its pages twice).
//
// Prepare plans first from the script's text (script.MayStream), then
// again from its parse; a ring of the wrong size is dropped then. The
// early ring is an optimization only: if it cannot be made, load makes it
// as it makes the other maps, and reports the error.
func (r *Run) planRing(machine perf.RingPlan, streams bool, output script.OutputKind) {
	opts := r.opts
	r.plan = machine
	if opts.RingSize == 0 && opts.MaxRingSize > 0 && r.plan.RingSize > int(opts.MaxRingSize) {
		r.plan.RingSize, r.plan.Bound = int(opts.MaxRingSize), "the tool's bound"
	}
	if !streams && opts.RingSize == 0 && r.plan.RingSize > perf.DefaultRingSize {
		r.plan.RingSize, r.plan.Bound = perf.DefaultRingSize, "no printf from the traced events"
		r.plan.Watermark = 0
	}
	if output != script.OutputRingBuf || opts.Backend == BackendTracefs || runtime.GOMAXPROCS(0) == 1 {
		return
	}
	spec := script.RingBufSpec(uint32(r.plan.Total()))
	if r.early != nil {
		if r.early.spec == spec {
			return
		}
		r.dropEarlyRing()
	}
	c := make(chan *bpf.Map, 1)
	r.early = &earlyRing{spec: spec, c: c}
	go func() {
		m, err := bpf.NewMap(spec)
		if err != nil {
			m = nil
		}
		c <- m
	}()
}

// earlyRing is the output ring planRing started making.
type earlyRing struct {
	spec bpf.MapSpec
	c    chan *bpf.Map
}

// takeEarlyRing returns the early ring for the compiled map spec, or nil
// when there is none, it failed, or it is not that map.
func (r *Run) takeEarlyRing(spec bpf.MapSpec) *bpf.Map {
	e := r.early
	if e == nil || spec != e.spec {
		return nil
	}
	r.early = nil
	return <-e.c
}

// dropEarlyRing closes an early ring of the wrong size once it is made,
// without waiting for it; closeEarlyRing waits for that.
func (r *Run) dropEarlyRing() {
	e := r.early
	r.early = nil
	r.dropped.Add(1)
	go func() {
		defer r.dropped.Done()
		if m := <-e.c; m != nil {
			m.Close()
		}
	}()
}

// closeEarlyRing closes an early ring nothing took, and waits for those
// dropped.
func (r *Run) closeEarlyRing() {
	if e := r.early; e != nil {
		r.early = nil
		if m := <-e.c; m != nil {
			m.Close()
		}
	}
	r.dropped.Wait()
}
