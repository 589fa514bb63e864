package perf

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"golang.org/x/sys/unix"
)

func TestParseCPUList(t *testing.T) {
	good := []struct {
		in   string
		want []int
	}{
		{"0\n", []int{0}},
		{"0-3\n", []int{0, 1, 2, 3}},
		{"0-3,5\n", []int{0, 1, 2, 3, 5}},
		{"0,2-3,7-8", []int{0, 2, 3, 7, 8}},
		{"1,3,5,7", []int{1, 3, 5, 7}},
		{"4-5,0-1", []int{0, 1, 4, 5}},
		{"\n", nil},
	}
	for _, c := range good {
		got, err := ParseCPUList(c.in)
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("ParseCPUList(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{"3-1", "a", "1,,2", "0-", "-1", "0-99999999", "0-7:2/4", " 1"} {
		if got, err := ParseCPUList(bad); err == nil {
			t.Errorf("ParseCPUList(%q) = %v, want an error", bad, got)
		} else {
			t.Log(err)
		}
	}
	// This machine's own masks parse, and online is a subset of possible.
	online, err := OnlineCPUs()
	if err != nil || len(online) == 0 {
		t.Fatalf("OnlineCPUs: %v, %v", online, err)
	}
	possible, err := PossibleCPUs()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range online {
		found := false
		for _, p := range possible {
			found = found || p == c
		}
		if !found {
			t.Errorf("online CPU %d is not possible (%v)", c, possible)
		}
	}
}

// TestReaderNonContiguousCPUs: a reader over a sparse CPU set keys rings by
// CPU number, not by position.
func TestReaderNonContiguousCPUs(t *testing.T) {
	online, err := OnlineCPUs()
	if err != nil {
		t.Fatal(err)
	}
	if len(online) < 2 {
		t.Skip("needs two CPUs to leave a gap")
	}
	tracefs(t)
	last := online[len(online)-1]
	r := newReader(t, ReaderOptions{CPUs: []int{last}})
	if got := r.CPUs(); !reflect.DeepEqual(got, []int{last}) {
		t.Fatalf("CPUs() = %v", got)
	}
	attr, _ := Tracepoint(eventID(t, "syscalls", "sys_enter_getppid"), 0)
	ev, err := Open(attr, -1, online[0], nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer ev.Close()
	if err := r.Add(ev); err == nil {
		t.Fatalf("added an event of cpu %d to a reader of cpu %d", online[0], last)
	}
	if len(r.Lost()) != last+1 {
		t.Fatalf("Lost() has %d entries, want one per CPU number up to %d", len(r.Lost()), last)
	}
}

func TestParseFormatBits(t *testing.T) {
	for _, c := range []struct {
		in     string
		field  string
		lo, hi uint
	}{{"config:0\n", "config", 0, 0}, {"config:32-63", "config", 32, 63}, {"config1:0-3", "config1", 0, 3}} {
		f, lo, hi, err := ParseFormatBits(c.in)
		if err != nil || f != c.field || lo != c.lo || hi != c.hi {
			t.Errorf("ParseFormatBits(%q) = %s %d %d %v", c.in, f, lo, hi, err)
		}
	}
	for _, bad := range []string{"config", "config:", "config:64", "config:3-1", "event:0", "config:0-3,8"} {
		if _, _, _, err := ParseFormatBits(bad); err == nil {
			t.Errorf("ParseFormatBits(%q) accepted", bad)
		}
	}
}

// TestReadPMU reads a PMU from a sysfs tree recorded in testdata, and this
// machine's uprobe PMU when it has one.
func TestReadPMU(t *testing.T) {
	root := filepath.Join("..", "testdata", "perf", "sysfs-linux-6.18-x86_64")
	p, err := readPMU(root, "uprobe")
	if err != nil || p.Type != 8 || p.RetprobeBit != 0 {
		t.Fatalf("fixture uprobe PMU: %+v, %v", p, err)
	}
	if _, err := readPMU(root, "kprobe"); err == nil || !isNotSupported(err) {
		t.Fatalf("fixture without a kprobe PMU: %v, want ErrNotSupported", err)
	}
	if _, err := readPMU(root, "../x"); err == nil {
		t.Fatal("a path as a PMU name was accepted")
	}
	if _, err := os.Stat(filepath.Join(sysPMUDir, "uprobe")); err == nil {
		p, err := LookupPMU("uprobe")
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("this kernel's uprobe PMU: %+v", p)
	}
}

func isNotSupported(err error) bool {
	for ; err != nil; err = unwrap(err) {
		if err == ErrNotSupported {
			return true
		}
	}
	return false
}

func unwrap(err error) error {
	u, ok := err.(interface{ Unwrap() error })
	if !ok {
		return nil
	}
	return u.Unwrap()
}

// sampleBytes builds a sample body the way perf_output_sample lays it out.
func sampleBytes(st SampleType, s Sample, chain []uint64, raw []byte) []byte {
	var b []byte
	u64 := func(v uint64) { b = binary.NativeEndian.AppendUint64(b, v) }
	u32 := func(v uint32) { b = binary.NativeEndian.AppendUint32(b, v) }
	if st&PERF_SAMPLE_IDENTIFIER != 0 {
		u64(s.Identifier)
	}
	if st&PERF_SAMPLE_IP != 0 {
		u64(s.IP)
	}
	if st&PERF_SAMPLE_TID != 0 {
		u32(s.Pid)
		u32(s.Tid)
	}
	if st&PERF_SAMPLE_TIME != 0 {
		u64(s.Time)
	}
	if st&PERF_SAMPLE_ADDR != 0 {
		u64(s.Addr)
	}
	if st&PERF_SAMPLE_ID != 0 {
		u64(s.ID)
	}
	if st&PERF_SAMPLE_STREAM_ID != 0 {
		u64(s.StreamID)
	}
	if st&PERF_SAMPLE_CPU != 0 {
		u32(s.CPU)
		u32(0)
	}
	if st&PERF_SAMPLE_PERIOD != 0 {
		u64(s.Period)
	}
	if st&PERF_SAMPLE_CALLCHAIN != 0 {
		u64(uint64(len(chain)))
		for _, ip := range chain {
			u64(ip)
		}
	}
	if st&PERF_SAMPLE_RAW != 0 {
		u32(uint32(len(raw)))
		b = append(b, raw...)
	}
	return b
}

func TestParseSample(t *testing.T) {
	st := SupportedSampleTypes
	want := Sample{Identifier: 1, IP: 2, Pid: 3, Tid: 4, Time: 5, Addr: 6, ID: 7, StreamID: 8, CPU: 9, Period: 10}
	chain := []uint64{PERF_CONTEXT_USER, 0x401000, 0x402000}
	raw := []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
	b := sampleBytes(st, want, chain, raw)
	var s Sample
	if err := ParseSample(b, st, &s); err != nil {
		t.Fatal(err)
	}
	if s.Callchain.Len() != 3 || s.Callchain.At(0) != PERF_CONTEXT_USER || s.Callchain.At(2) != 0x402000 {
		t.Fatalf("callchain %x", []byte(s.Callchain))
	}
	if string(s.Raw) != string(raw) {
		t.Fatalf("raw %x", s.Raw)
	}
	s.Callchain, s.Raw = nil, nil
	if !reflect.DeepEqual(s, want) {
		t.Fatalf("got %+v, want %+v", s, want)
	}
	// Every truncation is an error, never a panic.
	for n := 0; n < len(b); n++ {
		if err := ParseSample(b[:n], st, &s); err == nil {
			t.Fatalf("truncated to %d of %d bytes: no error", n, len(b))
		}
	}
	if err := ParseSample(b, st|unix.PERF_SAMPLE_REGS_USER, &s); err == nil {
		t.Fatal("unsupported sample type accepted")
	}
	if allocs := testing.AllocsPerRun(100, func() { ParseSample(b, st, &s) }); allocs != 0 {
		t.Fatalf("ParseSample allocates %v times", allocs)
	}
	if got := (PERF_SAMPLE_TID | PERF_SAMPLE_RAW | 1<<40).String(); got != "TID|RAW|0x10000000000" {
		t.Fatalf("String() = %q", got)
	}
	if got := PERF_RECORD_LOST.String(); got != "PERF_RECORD_LOST" {
		t.Fatal(got)
	}
}

func TestAttrHelpers(t *testing.T) {
	a, err := Tracepoint(42, 0)
	if err != nil {
		t.Fatal(err)
	}
	if a.Type != unix.PERF_TYPE_TRACEPOINT || a.Config != 42 || a.SampleType() != DefaultSampleType || !a.Disabled() || a.Sample != 1 {
		t.Fatalf("%+v", a)
	}
	a.SetWatermark(4096)
	if a.Bits&unix.PerfBitWatermark == 0 || a.Wakeup != 4096 {
		t.Fatal("watermark not set")
	}
	a.SetWakeupEvents(3)
	if a.Bits&unix.PerfBitWatermark != 0 || a.Wakeup != 3 {
		t.Fatal("wakeup_events not set")
	}
	if _, err := Tracepoint(1, PERF_SAMPLE_READ); err == nil {
		t.Fatal("PERF_SAMPLE_READ accepted")
	}
	if _, err := Uprobe("/bin/x\x00y", 0, false, 0); err == nil {
		t.Fatal("NUL in a uprobe path accepted")
	}
}

func FuzzParseSample(f *testing.F) {
	f.Add(sampleBytes(SupportedSampleTypes, Sample{Pid: 1}, []uint64{1, 2}, []byte{1, 2, 3, 4}), uint64(SupportedSampleTypes))
	f.Add(sampleBytes(DefaultSampleType, Sample{}, nil, make([]byte, 36)), uint64(DefaultSampleType))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, uint64(PERF_SAMPLE_CALLCHAIN))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff}, uint64(PERF_SAMPLE_RAW))
	f.Fuzz(func(t *testing.T, b []byte, st uint64) {
		var s Sample
		if err := ParseSample(b, SampleType(st), &s); err != nil {
			return
		}
		n := len(s.Raw) + len(s.Callchain)
		if n > len(b) {
			t.Fatalf("views of %d bytes from a %d-byte body", n, len(b))
		}
		for i := 0; i < s.Callchain.Len(); i++ {
			s.Callchain.At(i)
		}
	})
}

// FuzzRingWalk gives the ring walker arbitrary ring contents and positions:
// it must end with records, an empty batch or an error, and every record it
// returns must lie within data_head.
func FuzzRingWalk(f *testing.F) {
	seed := make([]byte, 64)
	binary.NativeEndian.PutUint32(seed[0:], uint32(PERF_RECORD_SAMPLE))
	binary.NativeEndian.PutUint16(seed[6:], 24)
	f.Add(seed, uint64(0), uint64(24), false)
	f.Add(seed, uint64(56), uint64(80), false)
	f.Add(seed, uint64(1<<64-8), uint64(16), true)
	f.Fuzz(func(t *testing.T, data []byte, tail, head uint64, backward bool) {
		size := 64
		for size < len(data) && size < 1<<12 {
			size *= 2
		}
		buf := make([]byte, size)
		copy(buf, data)
		meta := &unix.PerfEventMmapPage{Data_head: head, Data_tail: tail}
		rg, err := newRing(0, meta, buf)
		if err != nil {
			t.Fatal(err)
		}
		if backward {
			total := 0
			rg.walkBackward(func(h EventHeader, b []byte) error {
				total += len(b) + eventHeaderSize
				if total > size {
					t.Fatalf("backward walk returned %d bytes from a %d-byte ring", total, size)
				}
				return nil
			})
			return
		}
		rg.refill()
		var total uint64
		for i := 0; ; i++ {
			_, b, ok, err := rg.next()
			if err != nil || !ok {
				break
			}
			total += uint64(len(b) + eventHeaderSize)
			if total > head-tail || i > size {
				t.Fatalf("read %d bytes in %d records, but data_head is %d past data_tail", total, i+1, head-tail)
			}
		}
		rg.commit()
		if meta.Data_tail != head && meta.Data_tail != tail+total {
			t.Fatalf("data_tail %d: neither data_head %d nor what was read", meta.Data_tail, head)
		}
	})
}
