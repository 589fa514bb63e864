package tracefs

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"unsafe"
)

// Ring-buffer page layout (kernel/trace/ring_buffer.c, and the tracefs
// files events/header_page and events/header_event):
//
//	u64     timestamp   page time stamp
//	local_t commit      bytes of event data, flags in the top bits
//	char    data[]      events, each with a 32-bit header
//	                    type_len:5 time_delta:27, then array[]
const (
	ringTypePadding   = 29 // RINGBUF_TYPE_PADDING
	ringTypeTimeExt   = 30 // RINGBUF_TYPE_TIME_EXTEND
	ringTypeTimeStamp = 31 // RINGBUF_TYPE_TIME_STAMP
	ringMaxDataType   = 28 // RINGBUF_TYPE_DATA_TYPE_LEN_MAX

	ringMissedEvents = 1 << 31 // RB_MISSED_EVENTS: events were lost before this page
	ringMissedStored = 1 << 30 // RB_MISSED_STORED: the count follows the data
	ringMissedMask   = ringMissedEvents | ringMissedStored
)

// RingCommitSize is the size of local_t in the page header: the kernel's
// long, which is ours when the kernel and tracelet have the same word size.
const RingCommitSize = int(unsafe.Sizeof(uintptr(0)))

// RingPage is the header of a parsed ring-buffer page.
type RingPage struct {
	Timestamp    uint64 // the page's time stamp
	DataSize     int    // bytes of event data
	MissedEvents bool   // events were lost before this page
	Missed       uint64 // how many, when the kernel stored the count (0 if unknown)
	Events       int    // data events visited
}

// RingEvent is one data event of a page: its absolute time stamp (in
// trace_clock units) and its record, which starts with common_type.
type RingEvent struct {
	Timestamp uint64
	Data      []byte // a view into the page; may carry up to 3 bytes of padding at the end
}

// RingError is a page that does not follow the ring-buffer layout.
type RingError struct {
	Offset int
	Reason string
}

func (e *RingError) Error() string {
	return "tracefs: corrupt ring page at offset " + strconv.Itoa(e.Offset) + ": " + e.Reason
}

// ParseRingPage walks one page read from trace_pipe_raw, calling fn for
// each data event; padding and time-extend events are consumed. It never
// allocates and never reads outside page. fn's RingEvent.Data is only valid
// during the call if the page buffer is reused.
func ParseRingPage(page []byte, fn func(RingEvent) error) (RingPage, error) {
	return parseRingPage(page, RingCommitSize, fn)
}

func parseRingPage(page []byte, commitSize int, fn func(RingEvent) error) (RingPage, error) {
	var rp RingPage
	hdr := 8 + commitSize
	if len(page) < hdr {
		return rp, &RingError{0, "page of " + strconv.Itoa(len(page)) + " bytes is shorter than its header"}
	}
	ne := binary.NativeEndian
	rp.Timestamp = ne.Uint64(page)
	var commit uint64
	if commitSize == 8 {
		commit = ne.Uint64(page[8:])
	} else {
		commit = uint64(ne.Uint32(page[8:]))
	}
	rp.MissedEvents = commit&ringMissedEvents != 0
	size := int(commit &^ ringMissedMask & 0xffffffff)
	data := page[hdr:]
	if size > len(data) {
		return rp, &RingError{8, fmt.Sprintf("commit says %d bytes of data, page holds %d", size, len(data))}
	}
	rp.DataSize = size
	if commit&ringMissedStored != 0 && size+commitSize <= len(data) {
		if commitSize == 8 {
			rp.Missed = ne.Uint64(data[size:])
		} else {
			rp.Missed = uint64(ne.Uint32(data[size:]))
		}
	}
	data = data[:size]
	ts := rp.Timestamp
	for pos := 0; pos < len(data); {
		if pos+4 > len(data) {
			return rp, &RingError{hdr + pos, "truncated event header"}
		}
		h := ne.Uint32(data[pos:])
		typeLen := int(h & 0x1f)
		delta := uint64(h >> 5)
		switch {
		case typeLen == ringTypePadding:
			if delta == 0 {
				// A null padding event: the rest of the page is unused.
				return rp, nil
			}
			if pos+8 > len(data) {
				return rp, &RingError{hdr + pos, "truncated padding event"}
			}
			n := int(ne.Uint32(data[pos+4:]))
			if n < 4 || pos+4+n > len(data) {
				return rp, &RingError{hdr + pos, "padding length " + strconv.Itoa(n) + " out of bounds"}
			}
			pos += 4 + n
		case typeLen == ringTypeTimeExt, typeLen == ringTypeTimeStamp:
			if pos+8 > len(data) {
				return rp, &RingError{hdr + pos, "truncated time event"}
			}
			t := uint64(ne.Uint32(data[pos+4:]))<<27 | delta
			if typeLen == ringTypeTimeExt {
				ts += t
			} else {
				ts = fixAbsTS(t, ts)
			}
			pos += 8
		default:
			var body []byte
			if typeLen == 0 {
				if pos+8 > len(data) {
					return rp, &RingError{hdr + pos, "truncated event length"}
				}
				// array[0] holds the length of the event after its header,
				// itself included.
				n := int(ne.Uint32(data[pos+4:]))
				if n < 4 || pos+4+n > len(data) {
					return rp, &RingError{hdr + pos, "event length " + strconv.Itoa(n) + " out of bounds"}
				}
				body = data[pos+8 : pos+4+n : pos+4+n]
				pos += 4 + n
			} else {
				n := typeLen * 4
				if pos+4+n > len(data) {
					return rp, &RingError{hdr + pos, "event of " + strconv.Itoa(n) + " bytes runs past the data"}
				}
				body = data[pos+4 : pos+4+n : pos+4+n]
				pos += 4 + n
			}
			ts += delta
			rp.Events++
			if fn != nil {
				if err := fn(RingEvent{Timestamp: ts, Data: body}); err != nil {
					return rp, err
				}
			}
		}
	}
	return rp, nil
}

// fixAbsTS restores the top bits of a 59-bit absolute time stamp from the
// running time stamp, as rb_fix_abs_ts does.
func fixAbsTS(abs, save uint64) uint64 {
	const tsMSB = 0xf8 << 56
	if save&tsMSB != 0 {
		abs |= save & tsMSB
		if abs < save {
			abs += 1 << 59
		}
	}
	return abs
}
