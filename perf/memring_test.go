package perf

import (
	"encoding/binary"
	"testing"

	"golang.org/x/sys/unix"
)

// memRing is a ring in ordinary memory with a writer that plays the kernel,
// so that the reader's code runs without perf_event_open.
type memRing struct {
	meta *unix.PerfEventMmapPage
	data []byte
	*ring
}

func newMemRing(t testing.TB, size int) *memRing {
	t.Helper()
	meta := new(unix.PerfEventMmapPage)
	data := make([]byte, size)
	rg, err := newRing(0, meta, data)
	if err != nil {
		t.Fatal(err)
	}
	return &memRing{meta: meta, data: data, ring: rg}
}

// write appends a record with a body of n bytes (n+8 a multiple of 8 unless
// the test wants otherwise) filled with fill, wrapping at the end like the
// kernel, and publishes it in data_head. It reports false when it does not fit.
func (m *memRing) write(typ RecordType, body []byte) bool {
	size := uint64(8 + len(body))
	head, tail := m.meta.Data_head, m.meta.Data_tail
	if head-tail+size > uint64(len(m.data)) {
		return false
	}
	var rec [1 << 16]byte
	binary.NativeEndian.PutUint32(rec[0:], uint32(typ))
	binary.NativeEndian.PutUint16(rec[6:], uint16(size))
	copy(rec[8:], body)
	for i := uint64(0); i < size; i++ {
		m.data[(head+i)%uint64(len(m.data))] = rec[i]
	}
	m.meta.Data_head = head + size
	return true
}

func body(n int, fill byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = fill + byte(i)
	}
	return b
}

// readAll takes every record of the current data_head, committing like the Reader.
func (m *memRing) readAll(t testing.TB) (recs [][]byte, err error) {
	t.Helper()
	m.refill()
	for {
		_, b, ok, err := m.next()
		if err != nil {
			return recs, err
		}
		if !ok {
			m.commit()
			return recs, nil
		}
		recs = append(recs, append([]byte(nil), b...))
	}
}

func TestRingWrapInMemory(t *testing.T) {
	m := newMemRing(t, 256)
	fill := byte(0)
	for round := 0; round < 50; round++ {
		var want [][]byte
		for {
			b := body(8*(round%5)+16+int(fill%3)*8, fill)
			if !m.write(PERF_RECORD_SAMPLE, b) {
				break
			}
			want = append(want, b)
			fill++
		}
		got, err := m.readAll(t)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("round %d: %d records, want %d", round, len(got), len(want))
		}
		for i := range got {
			if string(got[i]) != string(want[i]) {
				t.Fatalf("round %d record %d: %x, want %x", round, i, got[i], want[i])
			}
		}
		if m.meta.Data_tail != m.meta.Data_head {
			t.Fatalf("data_tail %d not committed to data_head %d", m.meta.Data_tail, m.meta.Data_head)
		}
	}
	if m.wrapped == 0 {
		t.Fatal("no record wrapped")
	}
}

// TestRingHeaderSplitAtEnd: a ring written with sizes that are not multiples
// of 8 (the kernel never does this) splits a header across the end; the
// reader still reassembles it.
func TestRingHeaderSplitAtEnd(t *testing.T) {
	m := newMemRing(t, 64)
	m.write(PERF_RECORD_SAMPLE, body(52, 1)) // 60 bytes: next header at 60
	if got, err := m.readAll(t); err != nil || len(got) != 1 {
		t.Fatal(got, err)
	}
	m.write(PERF_RECORD_SAMPLE, body(12, 9))
	got, err := m.readAll(t)
	if err != nil || len(got) != 1 || string(got[0]) != string(body(12, 9)) {
		t.Fatalf("got %x, %v", got, err)
	}
}

func TestRingCorrupt(t *testing.T) {
	cases := []struct {
		name  string
		setup func(m *memRing)
	}{
		{"size 0", func(m *memRing) { m.meta.Data_head = 64 }}, // zeroed memory: header size 0
		{"size below header", func(m *memRing) {
			binary.NativeEndian.PutUint16(m.data[6:], 4)
			m.meta.Data_head = 64
		}},
		{"size past data_head", func(m *memRing) {
			binary.NativeEndian.PutUint16(m.data[6:], 200)
			m.meta.Data_head = 64
		}},
		{"data_head beyond the ring", func(m *memRing) {
			binary.NativeEndian.PutUint16(m.data[6:], 8)
			m.meta.Data_head = 4096
		}},
		{"data_head less than a header ahead", func(m *memRing) { m.meta.Data_head = 4 }},
		{"data_head behind data_tail", func(m *memRing) { m.meta.Data_head = 1<<64 - 8 }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := newMemRing(t, 256)
			c.setup(m)
			_, err := m.readAll(t)
			if _, ok := err.(*CorruptError); !ok {
				t.Fatalf("got %v, want a *CorruptError", err)
			}
			t.Log(err)
			// The bad batch is dropped: the next read is empty, not a loop.
			if got, err := m.readAll(t); err != nil || len(got) != 0 {
				t.Fatalf("after the error: %d records, %v", len(got), err)
			}
		})
	}
}

func TestRingBackward(t *testing.T) {
	// Write backward as the kernel does: data_head decreases, each record
	// at the new head, so reading up from head gives newest first.
	meta := new(unix.PerfEventMmapPage)
	data := make([]byte, 256)
	rg, err := newRing(0, meta, data)
	if err != nil {
		t.Fatal(err)
	}
	put := func(seq byte, n int) {
		size := uint64(8 + n)
		meta.Data_head -= size
		var rec [64]byte
		binary.NativeEndian.PutUint32(rec[0:], uint32(PERF_RECORD_SAMPLE))
		binary.NativeEndian.PutUint16(rec[6:], uint16(size))
		rec[8] = seq
		for i := uint64(0); i < size; i++ {
			data[(meta.Data_head+i)%256] = rec[i]
		}
	}
	walk := func() (seqs []byte) {
		err := rg.walkBackward(func(h EventHeader, b []byte) error {
			seqs = append(seqs, b[0])
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return seqs
	}
	if got := walk(); len(got) != 0 {
		t.Fatalf("empty ring gave %v", got)
	}
	put(1, 24)
	put(2, 24)
	if got := walk(); string(got) != "\x02\x01" {
		t.Fatalf("got %v, want [2 1]", got)
	}
	for seq := byte(3); seq < 100; seq++ {
		put(seq, 16+8*int(seq%3))
		got := walk()
		if got[0] != seq {
			t.Fatalf("newest is %d, want %d", got[0], seq)
		}
		for i := 1; i < len(got); i++ {
			if got[i] != got[i-1]-1 {
				t.Fatalf("gap: %v", got)
			}
		}
		if seq > 20 && len(got) < 256/40-1 {
			t.Fatalf("a full ring gave only %d records", len(got))
		}
	}
	if rg.wrapped == 0 {
		t.Fatal("no record wrapped")
	}
}

func TestRingPages(t *testing.T) {
	cases := []struct{ size, pages int }{
		{0, DefaultRingSize / 4096}, {1, 1}, {4096, 1}, {4097, 2}, {5 * 4096, 8}, {1 << 20, 256}, {MaxRingSize, MaxRingSize / 4096},
	}
	for _, c := range cases {
		got, err := ringPages(c.size, 4096)
		if err != nil || got != c.pages {
			t.Errorf("ringPages(%d) = %d, %v; want %d", c.size, got, err, c.pages)
		}
	}
	for _, bad := range []int{-1, MaxRingSize + 1} {
		if _, err := ringPages(bad, 4096); err == nil {
			t.Errorf("ringPages(%d) took it", bad)
		}
	}
}

func TestLostCount(t *testing.T) {
	var b [24]byte
	binary.NativeEndian.PutUint64(b[8:], 42)
	if n, err := lostCount(PERF_RECORD_LOST, b[:]); n != 42 || err != nil {
		t.Fatal(n, err)
	}
	if _, err := lostCount(PERF_RECORD_LOST, b[:15]); err == nil {
		t.Fatal("short PERF_RECORD_LOST accepted")
	}
	binary.NativeEndian.PutUint64(b[:], 7)
	if n, err := lostCount(PERF_RECORD_LOST_SAMPLES, b[:8]); n != 7 || err != nil {
		t.Fatal(n, err)
	}
}
