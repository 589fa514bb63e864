package bpf

import (
	"encoding/binary"
	"testing"
)

// fakeRing lays out a ring in Go memory the way the kernel maps it: the
// data area twice in a row, so that records that wrap are contiguous.
func fakeRing(size int) *RingBufReader {
	r := &RingBufReader{cons: make([]byte, 8), prod: make([]byte, 8+2*size), mask: uint64(size - 1)}
	r.data = r.prod[8:]
	return r
}

func (r *RingBufReader) put(pos uint64, hdr uint32, payload []byte) uint64 {
	size := uint64(len(r.data) / 2)
	rec := binary.NativeEndian.AppendUint32(nil, hdr)
	rec = append(rec, 0, 0, 0, 0)
	rec = append(rec, payload...)
	for i, b := range rec {
		off := (pos + uint64(i)) & r.mask
		r.data[off] = b
		r.data[off+size] = b // the second mapping of the same page
	}
	end := pos + uint64(8+len(payload)+7)&^7
	binary.NativeEndian.PutUint64(r.prod, end)
	return end
}

func TestRingBufRecordWalk(t *testing.T) {
	r := fakeRing(64)
	pos := r.put(0, 3, []byte("abc"))
	pos = r.put(pos, 4|ringbufDiscardBit, []byte("gone"))
	busyAt := pos
	pos = r.put(pos, 5|ringbufBusyBit, []byte("later"))

	s, _, end, ok := r.next()
	if !ok || string(s) != "abc" || end != 16 {
		t.Fatalf("first record %q %d %v", s, end, ok)
	}
	r.pending, r.havePend = end, true
	r.release()
	// The discarded record is skipped, and the busy one stops the walk.
	if s, _, _, ok := r.next(); ok {
		t.Fatalf("read %q past a busy record", s)
	}
	if got := binary.NativeEndian.Uint64(r.cons); got != busyAt {
		t.Fatalf("consumer at %d, want %d (after the discarded record)", got, busyAt)
	}
	// Submit it: clear the busy bit.
	binary.NativeEndian.PutUint32(r.data[busyAt&r.mask:], 5)
	binary.NativeEndian.PutUint32(r.data[busyAt&r.mask+64:], 5)
	s, _, end, ok = r.next()
	if !ok || string(s) != "later" {
		t.Fatalf("after submit: %q %v", s, ok)
	}
	r.pending, r.havePend = end, true
	r.release()
	// A record that wraps around the end of the data area reads whole.
	r.put(end, 20, []byte("0123456789abcdefghij"))
	if s, _, _, ok := r.next(); !ok || string(s) != "0123456789abcdefghij" {
		t.Fatalf("wrapped record %q %v", s, ok)
	}
	_ = pos
}

// TestRingBufWord32: on a 32-bit kernel the positions are 4-byte unsigned
// longs that wrap at 2^32, and pending_pos (CVE-2024-41009's fix) follows
// producer_pos at once: an 8-byte read took it as the high half and saw a
// ring terabytes full.
func TestRingBufWord32(t *testing.T) {
	r := fakeRing(64)
	r.word32 = true
	start := uint64(1<<32 - 16)
	binary.NativeEndian.PutUint32(r.cons, uint32(start))
	end := r.put(start, 3, []byte("abc"))
	binary.NativeEndian.PutUint32(r.prod, uint32(end))
	binary.NativeEndian.PutUint32(r.prod[4:], 0x6d8) // pending_pos
	if got := r.Available(); got != 16 {
		t.Fatalf("available %d, want 16", got)
	}
	s, _, e, ok := r.next()
	if !ok || string(s) != "abc" {
		t.Fatalf("record %q %v", s, ok)
	}
	r.pending, r.havePend = e, true
	r.release()
	if got := binary.NativeEndian.Uint32(r.cons); got != 0 {
		t.Fatalf("consumer at %#x, want 0 (wrapped)", got)
	}
	if s, _, _, ok := r.next(); ok || r.Available() != 0 {
		t.Fatalf("read %q from an empty ring (available %d)", s, r.Available())
	}
}
