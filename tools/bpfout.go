package tools

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/tracelet/tracelet/asm"
	"github.com/tracelet/tracelet/bpf"
	"github.com/tracelet/tracelet/perf"
)

// eventsMap is the name the programs give the output map.
const eventsMap = "events"

// eventOut carries records from BPF programs to user space: a BPF ring
// buffer (5.8) where the kernel has one and bpf_ringbuf_output may be called
// from tracing programs, else a perf event array with one
// PERF_COUNT_SW_BPF_OUTPUT event per CPU (4.4). The choice is probed.
type eventOut struct {
	m    *bpf.Map
	ring *bpf.RingBufReader
	pr   *perf.Reader
	s    perf.Sample
	lost uint64
}

func (s *session) newEventOut(forcePerf bool) (*eventOut, error) {
	o := &eventOut{}
	if !forcePerf && bpf.HaveMapType(bpf.RingBuf) == nil && bpf.HaveHelper(bpf.TracePoint, asm.FnRingbufOutput) == nil {
		size := s.ringBytes
		if size == 0 {
			size = 1 << 20
		}
		m, err := s.newMap(bpf.MapSpec{Name: eventsMap, Type: bpf.RingBuf, MaxEntries: size})
		if err != nil {
			return nil, err
		}
		r, err := bpf.NewRingBufReader(m)
		if err != nil {
			return nil, err
		}
		s.onClose(r.Close)
		o.m, o.ring = m, r
		return o, nil
	}
	m, err := s.newMap(bpf.MapSpec{Name: eventsMap, Type: bpf.PerfEventArray, KeySize: 4, ValueSize: 4})
	if err != nil {
		return nil, err
	}
	r, err := perf.NewReader(perf.ReaderOptions{})
	if err != nil {
		return nil, err
	}
	s.onClose(r.Close)
	attr := &perf.Attr{PerfEventAttr: unix.PerfEventAttr{
		Type:        unix.PERF_TYPE_SOFTWARE,
		Config:      unix.PERF_COUNT_SW_BPF_OUTPUT,
		Size:        uint32(unsafe.Sizeof(unix.PerfEventAttr{})),
		Sample_type: unix.PERF_SAMPLE_RAW,
		Sample:      1,
		Wakeup:      1,
		Bits:        unix.PerfBitDisabled,
	}}
	// bpf_perf_event_output(BPF_F_CURRENT_CPU) writes to the slot of the
	// CPU it runs on, so slot N must hold the event of CPU N: keys are CPU
	// numbers, not positions in the online list.
	evs, err := perf.OpenCPUs(attr, -1, r.CPUs(), 0)
	if err != nil {
		return nil, err
	}
	s.onClose(func() error { return perf.CloseAll(evs) })
	if err := r.Add(evs...); err != nil {
		return nil, err
	}
	for _, e := range evs {
		if err := m.Update(bpf.Uint32Key(uint32(e.CPU())), binary.NativeEndian.AppendUint32(nil, uint32(e.FD())), bpf.UpdateAny); err != nil {
			return nil, fmt.Errorf("perf event array slot %d: %w", e.CPU(), err)
		}
		if err := e.Enable(); err != nil {
			return nil, err
		}
	}
	o.m, o.pr = m, r
	return o, nil
}

// emit outputs size bytes at ptr. ctx must be in R6; ptr and size must not
// be in R1-R5. It clobbers R0-R5; R0 is the helper's result (negative when
// the ring was full).
func (o *eventOut) emit(ptr asm.Register, size asm.Register) asm.Instructions {
	if o.ring != nil {
		return asm.Instructions{
			asm.LoadMapPtr(asm.R1, eventsMap),
			asm.Mov.Reg(asm.R2, ptr),
			asm.Mov.Reg(asm.R3, size),
			asm.Mov.Imm(asm.R4, 0),
			asm.FnRingbufOutput.Call(),
		}
	}
	return asm.Instructions{
		asm.Mov.Reg(asm.R1, asm.R6),
		asm.LoadMapPtr(asm.R2, eventsMap),
		// BPF_F_CURRENT_CPU is the u64 0xffffffff: a 32-bit move of -1
		// zero-extends to exactly that (a 64-bit one would set the
		// upper bits, which the helper refuses with EINVAL).
		asm.Mov.Imm32(asm.R3, -1),
		asm.Mov.Reg(asm.R4, ptr),
		asm.Mov.Reg(asm.R5, size),
		asm.FnPerfEventOutput.Call(),
	}
}

// emitStack outputs size bytes of the stack at fp+off.
func (o *eventOut) emitStack(off int16, size int32) asm.Instructions {
	return append(asm.Instructions{
		asm.Mov.Reg(asm.R7, asm.R10),
		asm.Add.Imm(asm.R7, int32(off)),
		asm.Mov.Imm(asm.R8, size),
	}, o.emit(asm.R7, asm.R8)...)
}

// read returns the next record; the slice is valid until the next read.
func (o *eventOut) read(ctx context.Context) ([]byte, error) {
	if o.ring != nil {
		return o.ring.Read(ctx)
	}
	for {
		rec, err := o.pr.Read(ctx)
		if err != nil {
			return nil, err
		}
		if rec.Lost != 0 {
			o.lost += rec.Lost
			continue
		}
		if rec.Type != perf.PERF_RECORD_SAMPLE {
			continue
		}
		if err := perf.ParseSample(rec.Data, perf.PERF_SAMPLE_RAW, &o.s); err != nil {
			return nil, err
		}
		return o.s.Raw, nil
	}
}

// loop calls fn for each record until ctx ends, which is a normal return.
func (o *eventOut) loop(ctx context.Context, fn func([]byte) error) error {
	for {
		b, err := o.read(ctx)
		if err != nil {
			if ctx.Err() != nil && (errors.Is(err, ctx.Err()) || errors.Is(err, bpf.ErrClosed) || errors.Is(err, perf.ErrClosed)) {
				return nil
			}
			return err
		}
		if err := fn(b); err != nil {
			return err
		}
	}
}
