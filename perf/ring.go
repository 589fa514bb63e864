package perf

import (
	"fmt"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// maxRecordSize is the largest record the kernel can write:
// perf_event_header.size is a u16.
const maxRecordSize = 1<<16 - 1

// ring walks one CPU's perf ring: the metadata page (struct
// perf_event_mmap_page) and the data area, a power of two bytes long.
//
// The same code serves the mmapped rings of a Reader and rings built in
// ordinary memory (tests, benchmarks, fuzzing): it touches the metadata page
// only through data_head and data_tail.
//
// The protocol (include/uapi/linux/perf_event.h, "Bits needed to read the hw
// events in user-space"): load data_head, then read the records before it;
// then store data_tail to hand the space back. The kernel never writes
// between data_tail and data_head, so records there can be handed out
// without copying for as long as data_tail stays put. Go's atomic load and
// store are sequentially consistent on every architecture, which is at
// least the smp_rmb() after the load and the smp_mb() before the store that
// the protocol asks for.
type ring struct {
	cpu  int
	meta *unix.PerfEventMmapPage
	data []byte
	mask uint64

	head      uint64 // data_head as loaded for the current batch
	safe      uint64 // an ordered Reader's first load of data_head (order.go)
	tail      uint64 // start of the next record to read
	committed uint64 // the last data_tail we stored

	// scratch holds a record that wraps around the data area's end, so that
	// it can be handed out in one piece; it is the only copy the reader makes.
	scratch []byte
	hdr     [eventHeaderSize]byte
	wrapped uint64 // records that went through scratch, for tests
}

// posMask is the width of ring positions. The kernel keeps the head in an
// unsigned long (local_t rb->head) and reads data_tail into one, so on
// 32-bit architectures data_head wraps at 4 GiB and the high half of
// data_tail is ignored: positions and their differences are taken modulo
// the word size, or the first wrap would look like a corrupt ring.
const posMask = uint64(^uint(0))

func newRing(cpu int, meta *unix.PerfEventMmapPage, data []byte) (*ring, error) {
	n := uint64(len(data))
	if n < eventHeaderSize || n&(n-1) != 0 {
		return nil, fmt.Errorf("perf: ring data area of %d bytes: want a power of two of at least %d", n, eventHeaderSize)
	}
	tail := atomic.LoadUint64(&meta.Data_tail) & posMask
	return &ring{
		cpu:       cpu,
		meta:      meta,
		data:      data,
		mask:      n - 1,
		head:      tail,
		tail:      tail,
		committed: tail,
		scratch:   make([]byte, 0, maxRecordSize+1),
	}, nil
}

// refill starts a new batch: it loads data_head and reports whether there is
// anything to read.
func (r *ring) refill() bool {
	r.head = atomic.LoadUint64(&r.meta.Data_head) & posMask
	return r.head != r.tail
}

// commit hands everything read so far back to the kernel, once per batch.
func (r *ring) commit() {
	if r.committed != r.tail {
		atomic.StoreUint64(&r.meta.Data_tail, r.tail)
		r.committed = r.tail
	}
}

// next returns the next record of the current batch and takes it; ok is
// false when the batch is used up. The body is valid until the batch is
// committed or the next wrapped record replaces the scratch buffer.
func (r *ring) next() (h EventHeader, body []byte, ok bool, err error) {
	h, body, ok, err = r.peek()
	if ok {
		r.take(h)
	}
	return h, body, ok, err
}

// take moves past the record that peek returned, whose header is h.
func (r *ring) take(h EventHeader) { r.tail = (r.tail + uint64(h.Size)) & posMask }

// peek returns the record at tail without taking it, so that an ordered
// Reader can compare the next records of all rings before choosing one.
// The body is valid as next's is; peeking again returns the same record.
//
// A record whose size is impossible (smaller than its header, or running
// past data_head) means the ring cannot be trusted from here on: the rest of
// the batch is discarded and the error reported, so a corrupt ring can never
// make the reader loop or read out of bounds.
func (r *ring) peek() (h EventHeader, body []byte, ok bool, err error) {
	avail := (r.head - r.tail) & posMask
	if avail == 0 {
		return h, nil, false, nil
	}
	size := uint64(len(r.data))
	if avail > size {
		return h, nil, false, r.corrupt("ring", int(avail), int(size),
			fmt.Sprintf("data_head %#x is %d bytes past data_tail %#x, more than the %d-byte ring", r.head, avail, r.tail, size))
	}
	if avail < eventHeaderSize {
		return h, nil, false, r.corrupt("record header", eventHeaderSize, int(avail), "")
	}
	off := r.tail & r.mask
	if off+eventHeaderSize <= size {
		h = parseEventHeader(r.data[off : off+eventHeaderSize])
	} else {
		n := copy(r.hdr[:], r.data[off:])
		copy(r.hdr[n:], r.data)
		h = parseEventHeader(r.hdr[:])
	}
	rs := uint64(h.Size)
	if rs < eventHeaderSize || rs > avail {
		return h, nil, false, r.corrupt(h.Type.String()+" record", int(rs), int(avail),
			fmt.Sprintf("size %d in the header, %d bytes up to data_head", rs, avail))
	}
	var rec []byte
	if off+rs <= size {
		rec = r.data[off : off+rs]
	} else {
		r.scratch = append(append(r.scratch[:0], r.data[off:]...), r.data[:rs-(size-off)]...)
		rec = r.scratch
		r.wrapped++
	}
	return h, rec[eventHeaderSize:], true, nil
}

func (r *ring) corrupt(what string, need, have int, msg string) error {
	err := &CorruptError{What: what, InRing: true, CPU: r.cpu, Pos: r.tail, Need: need, Have: have, Msg: msg}
	r.tail = r.head // drop the rest of the batch; commit() hands it back
	return err
}

// walkBackward visits the records of a ring written backward
// (attr.write_backward) from the newest to the oldest, the order in which
// they lie from data_head upwards. It stops at the first never-written
// header (size 0) or at a record that runs past one ring's length from
// data_head: that one has been partly overwritten by the newest records.
// The caller pauses the ring so that nothing moves meanwhile.
func (r *ring) walkBackward(fn func(h EventHeader, body []byte) error) error {
	head := atomic.LoadUint64(&r.meta.Data_head) & posMask
	size := uint64(len(r.data))
	for pos := head; (pos-head)&posMask < size; {
		remaining := size - (pos-head)&posMask
		if remaining < eventHeaderSize {
			return nil
		}
		off := pos & r.mask
		var h EventHeader
		if off+eventHeaderSize <= size {
			h = parseEventHeader(r.data[off : off+eventHeaderSize])
		} else {
			n := copy(r.hdr[:], r.data[off:])
			copy(r.hdr[n:], r.data)
			h = parseEventHeader(r.hdr[:])
		}
		rs := uint64(h.Size)
		if rs == 0 || rs > remaining {
			return nil
		}
		if rs < eventHeaderSize {
			return &CorruptError{What: "record header", InRing: true, CPU: r.cpu, Pos: pos, Need: eventHeaderSize, Have: int(rs),
				Msg: fmt.Sprintf("size %d is smaller than the header", rs)}
		}
		var rec []byte
		if off+rs <= size {
			rec = r.data[off : off+rs]
		} else {
			r.scratch = append(append(r.scratch[:0], r.data[off:]...), r.data[:rs-(size-off)]...)
			rec = r.scratch
			r.wrapped++
		}
		if err := fn(h, rec[eventHeaderSize:]); err != nil {
			return err
		}
		pos = (pos + rs) & posMask
	}
	return nil
}
