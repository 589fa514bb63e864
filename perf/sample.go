package perf

import (
	"encoding/binary"
	"strings"

	"golang.org/x/sys/unix"
)

// SampleType is perf_event_attr.sample_type: which fields a
// PERF_RECORD_SAMPLE carries, in the fixed order of perf_output_sample().
type SampleType uint64

// Sample fields (enum perf_event_sample_format).
const (
	PERF_SAMPLE_IP         SampleType = unix.PERF_SAMPLE_IP
	PERF_SAMPLE_TID        SampleType = unix.PERF_SAMPLE_TID
	PERF_SAMPLE_TIME       SampleType = unix.PERF_SAMPLE_TIME
	PERF_SAMPLE_ADDR       SampleType = unix.PERF_SAMPLE_ADDR
	PERF_SAMPLE_READ       SampleType = unix.PERF_SAMPLE_READ
	PERF_SAMPLE_CALLCHAIN  SampleType = unix.PERF_SAMPLE_CALLCHAIN
	PERF_SAMPLE_ID         SampleType = unix.PERF_SAMPLE_ID
	PERF_SAMPLE_CPU        SampleType = unix.PERF_SAMPLE_CPU
	PERF_SAMPLE_PERIOD     SampleType = unix.PERF_SAMPLE_PERIOD
	PERF_SAMPLE_STREAM_ID  SampleType = unix.PERF_SAMPLE_STREAM_ID
	PERF_SAMPLE_RAW        SampleType = unix.PERF_SAMPLE_RAW
	PERF_SAMPLE_IDENTIFIER SampleType = unix.PERF_SAMPLE_IDENTIFIER
)

// SupportedSampleTypes are the fields ParseSample decodes. Everything the
// kernel writes after PERF_SAMPLE_RAW (branch stacks, registers, user stacks,
// weights, ...) needs more of perf_event_attr to size, so it is refused when
// the event is built rather than mis-parsed later.
const SupportedSampleTypes = PERF_SAMPLE_IDENTIFIER | PERF_SAMPLE_IP | PERF_SAMPLE_TID |
	PERF_SAMPLE_TIME | PERF_SAMPLE_ADDR | PERF_SAMPLE_ID | PERF_SAMPLE_STREAM_ID |
	PERF_SAMPLE_CPU | PERF_SAMPLE_PERIOD | PERF_SAMPLE_CALLCHAIN | PERF_SAMPLE_RAW

var sampleTypeNames = []struct {
	bit  SampleType
	name string
}{
	{PERF_SAMPLE_IP, "IP"}, {PERF_SAMPLE_TID, "TID"}, {PERF_SAMPLE_TIME, "TIME"},
	{PERF_SAMPLE_ADDR, "ADDR"}, {PERF_SAMPLE_READ, "READ"}, {PERF_SAMPLE_CALLCHAIN, "CALLCHAIN"},
	{PERF_SAMPLE_ID, "ID"}, {PERF_SAMPLE_CPU, "CPU"}, {PERF_SAMPLE_PERIOD, "PERIOD"},
	{PERF_SAMPLE_STREAM_ID, "STREAM_ID"}, {PERF_SAMPLE_RAW, "RAW"},
	{unix.PERF_SAMPLE_BRANCH_STACK, "BRANCH_STACK"}, {unix.PERF_SAMPLE_REGS_USER, "REGS_USER"},
	{unix.PERF_SAMPLE_STACK_USER, "STACK_USER"}, {unix.PERF_SAMPLE_WEIGHT, "WEIGHT"},
	{unix.PERF_SAMPLE_DATA_SRC, "DATA_SRC"}, {PERF_SAMPLE_IDENTIFIER, "IDENTIFIER"},
	{unix.PERF_SAMPLE_TRANSACTION, "TRANSACTION"}, {unix.PERF_SAMPLE_REGS_INTR, "REGS_INTR"},
	{unix.PERF_SAMPLE_PHYS_ADDR, "PHYS_ADDR"}, {unix.PERF_SAMPLE_AUX, "AUX"},
	{unix.PERF_SAMPLE_CGROUP, "CGROUP"}, {unix.PERF_SAMPLE_DATA_PAGE_SIZE, "DATA_PAGE_SIZE"},
	{unix.PERF_SAMPLE_CODE_PAGE_SIZE, "CODE_PAGE_SIZE"}, {unix.PERF_SAMPLE_WEIGHT_STRUCT, "WEIGHT_STRUCT"},
}

// String prints the set bits as the uapi names them, without the
// PERF_SAMPLE_ prefix: "TID|TIME|CPU|RAW".
func (t SampleType) String() string {
	if t == 0 {
		return "0"
	}
	var parts []string
	for _, n := range sampleTypeNames {
		if t&n.bit != 0 {
			parts = append(parts, n.name)
			t &^= n.bit
		}
	}
	if t != 0 {
		parts = append(parts, "0x"+formatHex(uint64(t)))
	}
	return strings.Join(parts, "|")
}

func formatHex(v uint64) string {
	const digits = "0123456789abcdef"
	var b [16]byte
	i := len(b)
	for {
		i--
		b[i] = digits[v&15]
		v >>= 4
		if v == 0 {
			return string(b[i:])
		}
	}
}

// Sample is a decoded PERF_RECORD_SAMPLE. Only the fields selected by the
// sample type are set. Callchain and Raw are views into the record's Data.
type Sample struct {
	Identifier uint64 // PERF_SAMPLE_IDENTIFIER: the event's id, at a fixed place
	IP         uint64
	Pid, Tid   uint32
	Time       uint64 // perf clock (CLOCK_MONOTONIC unless use_clockid), ns
	Addr       uint64
	ID         uint64
	StreamID   uint64
	CPU        uint32
	Period     uint64
	Callchain  Callchain
	// Raw is the tracepoint record (PERF_SAMPLE_RAW) without the u32 size
	// in front; it may carry the kernel's alignment padding at its end,
	// which the event's format file does not describe.
	Raw []byte
}

// Callchain is a view of a PERF_SAMPLE_CALLCHAIN's u64 instruction pointers,
// kept as bytes so that a record in an unaligned buffer decodes too.
// Entries at or above PERF_CONTEXT_MAX are context markers
// (PERF_CONTEXT_KERNEL, PERF_CONTEXT_USER), not addresses.
type Callchain []byte

// Len is the number of entries.
func (c Callchain) Len() int { return len(c) / 8 }

// At returns entry i.
func (c Callchain) At(i int) uint64 { return binary.NativeEndian.Uint64(c[i*8:]) }

// Context markers in a callchain (enum perf_callchain_context).
const (
	PERF_CONTEXT_HV     uint64 = 1<<64 - 32
	PERF_CONTEXT_KERNEL uint64 = 1<<64 - 128
	PERF_CONTEXT_USER   uint64 = 1<<64 - 512
	PERF_CONTEXT_MAX    uint64 = 1<<64 - 4095
)

// ParseSample decodes the body of a PERF_RECORD_SAMPLE written for an event
// whose sample_type is st. It does not allocate and it never reads past body:
// a field that does not fit is a *CorruptError.
func ParseSample(body []byte, st SampleType, s *Sample) error {
	if extra := st &^ SupportedSampleTypes; extra != 0 {
		return &CorruptError{What: "sample", Msg: "sample_type has fields this parser does not decode: " + extra.String()}
	}
	*s = Sample{}
	d := sampleDecoder{b: body}
	if st&PERF_SAMPLE_IDENTIFIER != 0 {
		s.Identifier = d.u64("identifier")
	}
	if st&PERF_SAMPLE_IP != 0 {
		s.IP = d.u64("ip")
	}
	if st&PERF_SAMPLE_TID != 0 {
		s.Pid, s.Tid = d.u32pair("pid/tid")
	}
	if st&PERF_SAMPLE_TIME != 0 {
		s.Time = d.u64("time")
	}
	if st&PERF_SAMPLE_ADDR != 0 {
		s.Addr = d.u64("addr")
	}
	if st&PERF_SAMPLE_ID != 0 {
		s.ID = d.u64("id")
	}
	if st&PERF_SAMPLE_STREAM_ID != 0 {
		s.StreamID = d.u64("stream_id")
	}
	if st&PERF_SAMPLE_CPU != 0 {
		s.CPU, _ = d.u32pair("cpu/res")
	}
	if st&PERF_SAMPLE_PERIOD != 0 {
		s.Period = d.u64("period")
	}
	if st&PERF_SAMPLE_CALLCHAIN != 0 {
		nr := d.u64("callchain nr")
		if d.err == nil {
			if nr > uint64(len(d.b)-d.off)/8 {
				d.fail("callchain", int(min(nr, 1<<20))*8)
			} else {
				s.Callchain = Callchain(d.b[d.off : d.off+int(nr)*8])
				d.off += int(nr) * 8
			}
		}
	}
	if st&PERF_SAMPLE_RAW != 0 {
		n := d.u32("raw size")
		if d.err == nil {
			if uint64(n) > uint64(len(d.b)-d.off) {
				d.fail("raw data", int(n))
			} else {
				s.Raw = d.b[d.off : d.off+int(n)]
				d.off += int(n)
			}
		}
	}
	return d.err
}

// sampleDecoder walks a sample body; after the first short read it sticks
// at the error and returns zeros, so ParseSample reads straight through.
type sampleDecoder struct {
	b   []byte
	off int
	err error
}

func (d *sampleDecoder) fail(field string, need int) {
	if d.err == nil {
		d.err = &CorruptError{What: "sample field " + field, Need: need, Have: len(d.b) - d.off}
	}
}

func (d *sampleDecoder) u64(field string) uint64 {
	if d.err != nil || len(d.b)-d.off < 8 {
		d.fail(field, 8)
		return 0
	}
	v := binary.NativeEndian.Uint64(d.b[d.off:])
	d.off += 8
	return v
}

func (d *sampleDecoder) u32(field string) uint32 {
	if d.err != nil || len(d.b)-d.off < 4 {
		d.fail(field, 4)
		return 0
	}
	v := binary.NativeEndian.Uint32(d.b[d.off:])
	d.off += 4
	return v
}

func (d *sampleDecoder) u32pair(field string) (uint32, uint32) {
	if d.err != nil || len(d.b)-d.off < 8 {
		d.fail(field, 8)
		return 0, 0
	}
	a := binary.NativeEndian.Uint32(d.b[d.off:])
	b := binary.NativeEndian.Uint32(d.b[d.off+4:])
	d.off += 8
	return a, b
}
