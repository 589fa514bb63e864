package perf

import (
	"errors"
	"fmt"
)

var (
	// ErrNotSupported says the running kernel lacks a feature; the error
	// that wraps it names the feature and the first kernel that has it.
	ErrNotSupported = errors.New("not supported by this kernel")
	// ErrClosed is returned by a Reader or Event that was closed.
	ErrClosed = errors.New("perf: closed")
	// ErrFlushed is returned by Read once everything that was in the rings
	// when Flush was called has been read.
	ErrFlushed = errors.New("perf: flushed")
)

// CorruptError reports a record or ring whose sizes do not add up. The
// kernel never writes such a thing, so it means memory corruption or a
// reader bug; it is an error, never a panic or a loop.
type CorruptError struct {
	What   string // what was being read
	InRing bool   // CPU and Pos are set
	CPU    int    // the ring's CPU
	Pos    uint64 // position in the ring, in data_head/data_tail units
	Need   int    // bytes needed
	Have   int    // bytes available
	Msg    string // extra detail, if any
}

func (e *CorruptError) Error() string {
	where := ""
	if e.InRing {
		where = fmt.Sprintf(" (cpu %d, ring position %#x)", e.CPU, e.Pos)
	}
	if e.Msg != "" {
		return fmt.Sprintf("perf: corrupt %s%s: %s", e.What, where, e.Msg)
	}
	return fmt.Sprintf("perf: corrupt %s%s: need %d bytes, have %d", e.What, where, e.Need, e.Have)
}

// EventError reports a failed operation on a perf event: what was done
// (perf_event_open, an ioctl, mmap), to which event, and the errno, which it
// wraps so that errors.Is(err, unix.EACCES) works.
type EventError struct {
	Op    string // "perf_event_open", "PERF_EVENT_IOC_SET_FILTER", "mmap", ...
	Event string // a description of the event
	Err   error
	Hint  string // what the kernel would accept, when we know
}

func (e *EventError) Error() string {
	s := fmt.Sprintf("perf: %s %s: %v", e.Op, e.Event, e.Err)
	if e.Hint != "" {
		s += " (" + e.Hint + ")"
	}
	return s
}

func (e *EventError) Unwrap() error { return e.Err }
