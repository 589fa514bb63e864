package perf

import (
	"encoding/binary"
	"fmt"

	"golang.org/x/sys/unix"
)

// Ordered reading merges the rings of all CPUs by time, as perf's
// ordered_events do for `perf script` and `perf trace`. A task's records go
// to the ring of the CPU it runs on, so a side-band record (the
// PERF_RECORD_COMM of an exec, the PERF_RECORD_FORK of a thread, the
// PERF_RECORD_MMAP2 of a library) can sit in one ring while the samples
// that need it sit in another; read ring after ring, a sample would come
// before the exec that named its task.
//
// Every record carries its time: a sample in PERF_SAMPLE_TIME, any other
// record in the sample_id trailer that attr.sample_id_all appends. Their
// places depend on sample_type only, so all the events of one ordered
// Reader must agree on them (timeLayout).
//
// A batch is bounded twice. data_head of every ring is loaded once (safe),
// then once more (head). A record is handed out only if it lies before its
// ring's safe and is the oldest of all the rings' next records, the ones
// between safe and head included; once the oldest is past its ring's safe,
// the batch ends and the next one starts at once. That closes the race
// between loading one ring's data_head and another's: a record R that the
// kernel published before safe of its ring was loaded was published before
// the second load of every ring, and so was anything R's task wrote before
// R. Those records are older than R, so they come first or end the batch
// before R.

// timeLayout says where the time is in the records of an ordered Reader.
type timeLayout struct {
	set bool
	// sample is the offset of PERF_SAMPLE_TIME in a sample's body.
	sample int
	// fromEnd is the distance of the sample_id trailer's time from the end
	// of every other record's body.
	fromEnd int
}

// timeLayoutOf is the layout of attr's records, or an error if they do not
// all carry the time.
func timeLayoutOf(a *Attr) (timeLayout, error) {
	st := a.SampleType()
	if st&PERF_SAMPLE_TIME == 0 || a.Bits&unix.PerfBitSampleIDAll == 0 {
		return timeLayout{}, fmt.Errorf("perf: add %v to an ordered reader: it needs PERF_SAMPLE_TIME and sample_id_all, so that each of its records has a time (sample_type %v, sample_id_all %v)",
			a, st, a.Bits&unix.PerfBitSampleIDAll != 0)
	}
	// perf_output_sample: IDENTIFIER, IP, TID, then TIME.
	l := timeLayout{set: true}
	for _, f := range []SampleType{PERF_SAMPLE_IDENTIFIER, PERF_SAMPLE_IP, PERF_SAMPLE_TID} {
		if st&f != 0 {
			l.sample += 8
		}
	}
	// __perf_event__output_id_sample: TID, TIME, ID, STREAM_ID, CPU,
	// IDENTIFIER.
	l.fromEnd = 8
	for _, f := range []SampleType{PERF_SAMPLE_ID, PERF_SAMPLE_STREAM_ID, PERF_SAMPLE_CPU, PERF_SAMPLE_IDENTIFIER} {
		if st&f != 0 {
			l.fromEnd += 8
		}
	}
	return l, nil
}

// time reads a record's time; a record too short for it (never written by
// the kernel for an event that passed timeLayoutOf) counts as oldest.
func (l *timeLayout) time(t RecordType, body []byte) uint64 {
	if t == PERF_RECORD_SAMPLE {
		if l.sample+8 <= len(body) {
			return binary.NativeEndian.Uint64(body[l.sample:])
		}
		return 0
	}
	if l.fromEnd <= len(body) {
		return binary.NativeEndian.Uint64(body[len(body)-l.fromEnd:])
	}
	return 0
}

// pending is a ring's next record, peeked but not taken.
type pending struct {
	ok    bool // there is one
	stale bool // the record was taken; peek the next
	h     EventHeader
	body  []byte
	time  uint64
	late  bool // it lies past safe: it waits for the next batch
}

// startBatch commits what was read, loads every ring's data_head twice and
// peeks every ring. It reports false when all the rings are empty.
func (r *Reader) startBatch() (bool, error) {
	found := false
	for _, rg := range r.rings {
		rg.commit()
		rg.refill()
		rg.safe = rg.head
	}
	for i, rg := range r.rings {
		if rg.refill() {
			found = true
		}
		if err := r.peekRing(i); err != nil {
			return false, err
		}
	}
	return found, nil
}

func (r *Reader) peekRing(i int) error {
	rg := r.rings[i]
	p := &r.pend[i]
	h, body, ok, err := rg.peek()
	*p = pending{ok: ok}
	if err != nil || !ok {
		return err
	}
	p.h, p.body = h, body
	p.time = r.layout.time(h.Type, body)
	p.late = rg.tail == rg.safe
	return nil
}

// pollOrdered is poll for an ordered Reader: the oldest record of the
// batch, across all rings. Choosing it is a scan of the rings' next records,
// which is cheap for the CPU counts that one Reader serves and keeps the
// per-record path free of allocation.
func (r *Reader) pollOrdered() (Record, bool, error) {
	for {
		if r.inBatch {
			for i := range r.pend {
				if r.pend[i].stale {
					if err := r.peekRing(i); err != nil {
						r.inBatch = false
						return Record{}, false, err
					}
				}
			}
			best := -1
			for i := range r.pend {
				p := &r.pend[i]
				if p.ok && (best < 0 || p.time < r.pend[best].time) {
					best = i
				}
			}
			if best >= 0 && !r.pend[best].late {
				p := &r.pend[best]
				rg := r.rings[best]
				rg.take(p.h)
				p.stale = true
				rec := Record{CPU: rg.cpu, Type: p.h.Type, Misc: p.h.Misc, Data: p.body, Time: p.time}
				if err := r.countLost(&rec); err != nil {
					return Record{}, false, err
				}
				return rec, true, nil
			}
			// Used up, or the oldest record waits for the next batch,
			// which starts at once: it reports false only if every ring
			// is empty now.
			r.inBatch = false
		}
		ok, err := r.startBatch()
		if err != nil {
			return Record{}, false, err
		}
		if !ok {
			return Record{}, false, nil
		}
		r.inBatch = true
	}
}
