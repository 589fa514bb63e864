package perf

import (
	"encoding/binary"
	"sync/atomic"
	"testing"

	"golang.org/x/sys/unix"
)

// orderedMemReader is an ordered Reader over n in-memory rings, with the
// time layout of DefaultSampleType and sample_id_all.
func orderedMemReader(t testing.TB, n, size int) (*Reader, []*memRing) {
	t.Helper()
	r := &Reader{ordered: true, lost: make([]atomic.Uint64, n), epfd: -1, wakefd: -1, pend: make([]pending, n)}
	a := &Attr{}
	a.Sample_type = uint64(DefaultSampleType)
	a.Bits = unix.PerfBitSampleIDAll
	l, err := timeLayoutOf(a)
	if err != nil {
		t.Fatal(err)
	}
	r.layout = l
	var mems []*memRing
	for cpu := 0; cpu < n; cpu++ {
		m := newMemRing(t, size)
		m.ring.cpu = cpu
		r.rings = append(r.rings, m.ring)
		r.byCPU = append(r.byCPU, m.ring)
		mems = append(mems, m)
	}
	return r, mems
}

// sampleAt is a DefaultSampleType sample body at time ns.
func sampleAt(ns uint64) []byte {
	return sampleBytes(DefaultSampleType, Sample{Identifier: 1, Pid: 2, Tid: 3, Time: ns}, nil, make([]byte, 12))
}

// commAt is a PERF_RECORD_COMM body with the sample_id trailer of
// DefaultSampleType (TID, TIME, CPU, IDENTIFIER) at time ns.
func commAt(ns uint64) []byte {
	b := make([]byte, 16, 48)
	copy(b[8:], "name\x00\x00\x00\x00")
	b = binary.NativeEndian.AppendUint64(b, 2<<32|3) // pid, tid
	b = binary.NativeEndian.AppendUint64(b, ns)
	b = binary.NativeEndian.AppendUint64(b, 0) // cpu, res
	return binary.NativeEndian.AppendUint64(b, 1)
}

func readTimes(t *testing.T, r *Reader) (times []uint64, types []RecordType) {
	t.Helper()
	for {
		rec, ok, err := r.poll()
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			return times, types
		}
		times = append(times, rec.Time)
		types = append(types, rec.Type)
	}
}

// TestOrderedMerge: the records of all rings come out by time, samples and
// side-band records alike, and every ring is committed at the end.
func TestOrderedMerge(t *testing.T) {
	r, m := orderedMemReader(t, 3, 4096)
	m[0].write(PERF_RECORD_SAMPLE, sampleAt(10))
	m[0].write(PERF_RECORD_SAMPLE, sampleAt(40))
	m[0].write(PERF_RECORD_SAMPLE, sampleAt(41))
	m[1].write(PERF_RECORD_COMM, commAt(5))
	m[1].write(PERF_RECORD_SAMPLE, sampleAt(30))
	m[2].write(PERF_RECORD_SAMPLE, sampleAt(20))
	m[2].write(PERF_RECORD_COMM, commAt(35))
	times, types := readTimes(t, r)
	want := []uint64{5, 10, 20, 30, 35, 40, 41}
	if len(times) != len(want) {
		t.Fatalf("times %v, want %v", times, want)
	}
	for i := range want {
		if times[i] != want[i] {
			t.Fatalf("times %v, want %v", times, want)
		}
	}
	if types[0] != PERF_RECORD_COMM || types[4] != PERF_RECORD_COMM {
		t.Errorf("types %v: want the COMM records at their times", types)
	}
	for i, mr := range m {
		if mr.meta.Data_tail != mr.meta.Data_head {
			t.Errorf("ring %d: data_tail %d not committed to data_head %d", i, mr.meta.Data_tail, mr.meta.Data_head)
		}
	}
	// A second round on the same rings, wrapping them.
	for round := 0; round < 200; round++ {
		base := uint64(1000 * (round + 1))
		m[2].write(PERF_RECORD_COMM, commAt(base+1))
		m[0].write(PERF_RECORD_SAMPLE, sampleAt(base+2))
		m[1].write(PERF_RECORD_SAMPLE, sampleAt(base+3))
		m[0].write(PERF_RECORD_SAMPLE, sampleAt(base+4))
		times, _ := readTimes(t, r)
		if len(times) != 4 || times[0] != base+1 || times[1] != base+2 || times[2] != base+3 || times[3] != base+4 {
			t.Fatalf("round %d: times %v", round, times)
		}
	}
	if m[0].wrapped+m[1].wrapped+m[2].wrapped == 0 {
		t.Fatal("no record wrapped")
	}
}

// TestOrderedLateSideBand: a record that the first load of data_head missed
// (published between the loads of two rings) ends the batch if it is older
// than the next record, rather than coming after it.
func TestOrderedLateSideBand(t *testing.T) {
	r, m := orderedMemReader(t, 2, 4096)
	m[0].write(PERF_RECORD_SAMPLE, sampleAt(10))
	m[0].write(PERF_RECORD_SAMPLE, sampleAt(20))
	if ok, err := r.startBatch(); !ok || err != nil {
		t.Fatal(ok, err)
	}
	r.inBatch = true
	// Ring 1's first load is behind us; its COMM at 5 is published now
	// and seen by the second load only.
	m[1].write(PERF_RECORD_COMM, commAt(5))
	m[1].write(PERF_RECORD_SAMPLE, sampleAt(15))
	r.rings[1].refill()
	if err := r.peekRing(1); err != nil {
		t.Fatal(err)
	}
	times, types := readTimes(t, r)
	want := []uint64{5, 10, 15, 20}
	if len(times) != len(want) || times[0] != 5 || types[0] != PERF_RECORD_COMM || times[1] != 10 || times[2] != 15 || times[3] != 20 {
		t.Fatalf("times %v types %v, want %v with the COMM first", times, types, want)
	}
}

// TestOrderedAddLayout: an ordered Reader takes only events whose records
// all carry the time, at the same places.
func TestOrderedAddLayout(t *testing.T) {
	a := &Attr{}
	a.Sample_type = uint64(PERF_SAMPLE_TID | PERF_SAMPLE_RAW)
	a.Bits = unix.PerfBitSampleIDAll
	if _, err := timeLayoutOf(a); err == nil {
		t.Error("no PERF_SAMPLE_TIME accepted")
	}
	a.Sample_type = uint64(DefaultSampleType)
	a.Bits = 0
	if _, err := timeLayoutOf(a); err == nil {
		t.Error("no sample_id_all accepted")
	}
	a.Bits = unix.PerfBitSampleIDAll
	l, err := timeLayoutOf(a)
	if err != nil || l.sample != 16 || l.fromEnd != 24 {
		t.Errorf("DefaultSampleType: %+v, %v; want the time at 16 and 24 from the end", l, err)
	}
	a.Sample_type = uint64(PERF_SAMPLE_TIME | PERF_SAMPLE_ID)
	if l, err := timeLayoutOf(a); err != nil || l.sample != 0 || l.fromEnd != 16 {
		t.Errorf("TIME|ID: %+v, %v", l, err)
	}
}
