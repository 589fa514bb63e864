package perf

import (
	"encoding/binary"
	"fmt"

	"golang.org/x/sys/unix"
)

// RecordType is perf_event_header.type: what kind of record follows the header.
type RecordType uint32

// Record types (enum perf_event_type in include/uapi/linux/perf_event.h).
const (
	PERF_RECORD_MMAP             RecordType = unix.PERF_RECORD_MMAP
	PERF_RECORD_LOST             RecordType = unix.PERF_RECORD_LOST
	PERF_RECORD_COMM             RecordType = unix.PERF_RECORD_COMM
	PERF_RECORD_EXIT             RecordType = unix.PERF_RECORD_EXIT
	PERF_RECORD_THROTTLE         RecordType = unix.PERF_RECORD_THROTTLE
	PERF_RECORD_UNTHROTTLE       RecordType = unix.PERF_RECORD_UNTHROTTLE
	PERF_RECORD_FORK             RecordType = unix.PERF_RECORD_FORK
	PERF_RECORD_READ             RecordType = unix.PERF_RECORD_READ
	PERF_RECORD_SAMPLE           RecordType = unix.PERF_RECORD_SAMPLE
	PERF_RECORD_MMAP2            RecordType = unix.PERF_RECORD_MMAP2
	PERF_RECORD_AUX              RecordType = unix.PERF_RECORD_AUX
	PERF_RECORD_ITRACE_START     RecordType = unix.PERF_RECORD_ITRACE_START
	PERF_RECORD_LOST_SAMPLES     RecordType = unix.PERF_RECORD_LOST_SAMPLES
	PERF_RECORD_SWITCH           RecordType = unix.PERF_RECORD_SWITCH
	PERF_RECORD_SWITCH_CPU_WIDE  RecordType = unix.PERF_RECORD_SWITCH_CPU_WIDE
	PERF_RECORD_NAMESPACES       RecordType = unix.PERF_RECORD_NAMESPACES
	PERF_RECORD_KSYMBOL          RecordType = unix.PERF_RECORD_KSYMBOL
	PERF_RECORD_BPF_EVENT        RecordType = unix.PERF_RECORD_BPF_EVENT
	PERF_RECORD_CGROUP           RecordType = unix.PERF_RECORD_CGROUP
	PERF_RECORD_TEXT_POKE        RecordType = unix.PERF_RECORD_TEXT_POKE
	PERF_RECORD_AUX_OUTPUT_HW_ID RecordType = unix.PERF_RECORD_AUX_OUTPUT_HW_ID
)

var recordTypeNames = [...]string{
	PERF_RECORD_MMAP:             "PERF_RECORD_MMAP",
	PERF_RECORD_LOST:             "PERF_RECORD_LOST",
	PERF_RECORD_COMM:             "PERF_RECORD_COMM",
	PERF_RECORD_EXIT:             "PERF_RECORD_EXIT",
	PERF_RECORD_THROTTLE:         "PERF_RECORD_THROTTLE",
	PERF_RECORD_UNTHROTTLE:       "PERF_RECORD_UNTHROTTLE",
	PERF_RECORD_FORK:             "PERF_RECORD_FORK",
	PERF_RECORD_READ:             "PERF_RECORD_READ",
	PERF_RECORD_SAMPLE:           "PERF_RECORD_SAMPLE",
	PERF_RECORD_MMAP2:            "PERF_RECORD_MMAP2",
	PERF_RECORD_AUX:              "PERF_RECORD_AUX",
	PERF_RECORD_ITRACE_START:     "PERF_RECORD_ITRACE_START",
	PERF_RECORD_LOST_SAMPLES:     "PERF_RECORD_LOST_SAMPLES",
	PERF_RECORD_SWITCH:           "PERF_RECORD_SWITCH",
	PERF_RECORD_SWITCH_CPU_WIDE:  "PERF_RECORD_SWITCH_CPU_WIDE",
	PERF_RECORD_NAMESPACES:       "PERF_RECORD_NAMESPACES",
	PERF_RECORD_KSYMBOL:          "PERF_RECORD_KSYMBOL",
	PERF_RECORD_BPF_EVENT:        "PERF_RECORD_BPF_EVENT",
	PERF_RECORD_CGROUP:           "PERF_RECORD_CGROUP",
	PERF_RECORD_TEXT_POKE:        "PERF_RECORD_TEXT_POKE",
	PERF_RECORD_AUX_OUTPUT_HW_ID: "PERF_RECORD_AUX_OUTPUT_HW_ID",
}

func (t RecordType) String() string {
	if int(t) < len(recordTypeNames) && recordTypeNames[t] != "" {
		return recordTypeNames[t]
	}
	return fmt.Sprintf("PERF_RECORD(%d)", uint32(t))
}

// EventHeader mirrors struct perf_event_header, which starts every record in
// a ring. Size counts the header itself, and is a u16: no record exceeds 64 KiB.
type EventHeader struct {
	Type RecordType
	Misc uint16
	Size uint16
}

// eventHeaderSize is sizeof(struct perf_event_header).
const eventHeaderSize = 8

func parseEventHeader(b []byte) EventHeader {
	_ = b[7]
	return EventHeader{
		Type: RecordType(binary.NativeEndian.Uint32(b[0:])),
		Misc: binary.NativeEndian.Uint16(b[4:]),
		Size: binary.NativeEndian.Uint16(b[6:]),
	}
}

// Record is one record taken from a CPU's ring.
type Record struct {
	// CPU is the ring the record came from.
	CPU int
	// Type and Misc are from the record's perf_event_header.
	Type RecordType
	Misc uint16
	// Data is the record's body after the header: for PERF_RECORD_SAMPLE,
	// the fields chosen by sample_type (see ParseSample). From Read it is a
	// view into the ring (or into the reader's scratch buffer when the record
	// wrapped around the ring's end) and is valid until the next call on the
	// Reader; from ReadInto it is the caller's buffer.
	Data []byte
	// Time is the record's time (perf clock, ns) when the Reader is
	// Ordered: PERF_SAMPLE_TIME of a sample, the sample_id trailer's of
	// any other record. Zero otherwise.
	Time uint64
	// Lost is the number of records the kernel dropped, for
	// PERF_RECORD_LOST and PERF_RECORD_LOST_SAMPLES; zero otherwise.
	Lost uint64
}

// lostCount extracts the lost count of a PERF_RECORD_LOST
// ({u64 id; u64 lost; sample_id}) or PERF_RECORD_LOST_SAMPLES
// ({u64 lost; sample_id}) body.
func lostCount(t RecordType, body []byte) (uint64, error) {
	switch t {
	case PERF_RECORD_LOST:
		if len(body) < 16 {
			return 0, &CorruptError{What: "PERF_RECORD_LOST body", Need: 16, Have: len(body)}
		}
		return binary.NativeEndian.Uint64(body[8:]), nil
	case PERF_RECORD_LOST_SAMPLES:
		if len(body) < 8 {
			return 0, &CorruptError{What: "PERF_RECORD_LOST_SAMPLES body", Need: 8, Have: len(body)}
		}
		return binary.NativeEndian.Uint64(body), nil
	}
	return 0, nil
}
