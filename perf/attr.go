package perf

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Attr is the kernel's perf_event_attr plus, for the kprobe and uprobe PMUs,
// the string that config1 must point to (kprobe_func or uprobe_path).
//
// The string is kept here rather than as an address in Ext1 because a Go
// pointer hidden in a uint64 is invisible to the garbage collector: Open
// points config1 at a NUL-terminated copy only for the duration of the
// perf_event_open call.
type Attr struct {
	unix.PerfEventAttr
	// ProbeTarget is kprobe_func (a kernel symbol) or uprobe_path (a file);
	// empty for every other event.
	ProbeTarget string
}

// DefaultSampleType is what the helpers ask for when given 0: the event's id
// first (so that records from several events in one ring can be told apart
// without knowing their layout), the thread, the time, the CPU and the
// tracepoint's raw record.
const DefaultSampleType = PERF_SAMPLE_IDENTIFIER | PERF_SAMPLE_TID | PERF_SAMPLE_TIME | PERF_SAMPLE_CPU | PERF_SAMPLE_RAW

// Tracepoint returns the Attr of a tracefs event (a static tracepoint or a
// kprobe/uprobe defined in kprobe_events/uprobe_events) by the number in its
// events/<system>/<event>/id file. Every hit becomes a PERF_RECORD_SAMPLE
// (sample_period 1), woken per record until SetWatermark or SetWakeupEvents
// says otherwise; the event starts disabled.
func Tracepoint(id uint64, st SampleType) (*Attr, error) {
	a, err := newSampleAttr(unix.PERF_TYPE_TRACEPOINT, st)
	if err != nil {
		return nil, err
	}
	a.Config = id
	return a, nil
}

func newSampleAttr(typ uint32, st SampleType) (*Attr, error) {
	if st == 0 {
		st = DefaultSampleType
	}
	if extra := st &^ SupportedSampleTypes; extra != 0 {
		return nil, fmt.Errorf("perf: sample type %v: fields %v are not supported (use a subset of %v)", st, extra, SupportedSampleTypes)
	}
	a := &Attr{}
	a.Type = typ
	a.Size = uint32(unsafe.Sizeof(a.PerfEventAttr))
	a.Sample = 1 // sample_period: every hit
	a.Sample_type = uint64(st)
	a.Bits = unix.PerfBitDisabled
	a.Wakeup = 1
	return a, nil
}

// SampleType returns the attribute's sample_type.
func (a *Attr) SampleType() SampleType { return SampleType(a.Sample_type) }

// SetWatermark wakes a reader when at least n bytes are in the ring, rather
// than per record: fewer wakeups, so more records per batch.
func (a *Attr) SetWatermark(n uint32) {
	a.Bits |= unix.PerfBitWatermark
	a.Wakeup = n
}

// SetWakeupEvents wakes a reader every n records (wakeup_events).
func (a *Attr) SetWakeupEvents(n uint32) {
	a.Bits &^= unix.PerfBitWatermark
	a.Wakeup = n
}

// SetInherit makes the event follow threads and processes that the target
// task creates after the event is opened (attr.inherit).
func (a *Attr) SetInherit(on bool) { a.setBit(unix.PerfBitInherit, on) }

// SetWriteBackward makes the kernel write the ring from its end towards its
// start (attr.write_backward, 4.7), which is what lets an overwriting ring be
// read newest first: see ReaderOptions.Overwrite.
func (a *Attr) SetWriteBackward(on bool) { a.setBit(unix.PerfBitWriteBackward, on) }

// SetDisabled says whether the event starts disabled (the helpers' default),
// waiting for Enable or a group enable.
func (a *Attr) SetDisabled(on bool) { a.setBit(unix.PerfBitDisabled, on) }

// SetEnableOnExec makes a disabled per-task event enable itself when its
// task calls execve (attr.enable_on_exec): every such event of the task at
// once, as perf record COMMAND starts its counting.
func (a *Attr) SetEnableOnExec(on bool) { a.setBit(unix.PerfBitEnableOnExec, on) }

// Inherit, WriteBackward and Disabled report the bits.
func (a *Attr) Inherit() bool       { return a.Bits&unix.PerfBitInherit != 0 }
func (a *Attr) WriteBackward() bool { return a.Bits&unix.PerfBitWriteBackward != 0 }
func (a *Attr) Disabled() bool      { return a.Bits&unix.PerfBitDisabled != 0 }

func (a *Attr) setBit(bit uint64, on bool) {
	if on {
		a.Bits |= bit
	} else {
		a.Bits &^= bit
	}
}

// String describes the event for error messages.
func (a *Attr) String() string {
	switch {
	case a.Type == unix.PERF_TYPE_TRACEPOINT:
		return fmt.Sprintf("tracepoint id %d", a.Config)
	case a.ProbeTarget != "":
		return fmt.Sprintf("PMU type %d probe %s+%#x (config %#x)", a.Type, a.ProbeTarget, a.Ext2, a.Config)
	case a.Type == unix.PERF_TYPE_SOFTWARE && a.Config == unix.PERF_COUNT_SW_DUMMY:
		return "software dummy event"
	}
	return fmt.Sprintf("PMU type %d config %#x", a.Type, a.Config)
}
