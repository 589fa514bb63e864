package perf

import (
	"os"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/tracelet/tracelet/internal/testenv"
)

// pinnedCPU is the CPU the ring tests pin their thread to: the last online
// one, so that CPU numbering is not assumed to start at 0.
func pinnedCPU(t testing.TB) int {
	t.Helper()
	cpus, err := OnlineCPUs()
	if err != nil {
		t.Fatal(err)
	}
	return cpus[len(cpus)-1]
}

// closeTracepoint opens sys_enter_close on one CPU, filtered to one thread,
// so that the sequence of fds the thread closes is the sequence of records.
// A 32-bit test binary on a 64-bit kernel gets raw_syscalls:sys_enter
// filtered to close(2) instead: the kernel never fires syscalls:* events
// for a compat task (testenv.RequireSyscallEvents), and the rings under
// test are the same.
func closeTracepoint(t testing.TB, r *Reader, cpu int, backward bool, tid int) (*Event, *Attr, int) {
	t.Helper()
	id := eventID(t, "syscalls", "sys_enter_close")
	fdOff, _ := fieldOffset(t, "syscalls", "sys_enter_close", "fd")
	filter := "common_pid == " + strconv.Itoa(tid)
	if _, compat := testenv.Compat(); compat {
		id = eventID(t, "raw_syscalls", "sys_enter")
		fdOff, _ = fieldOffset(t, "raw_syscalls", "sys_enter", "args[6]")
		// SYS_CLOSE is the number in the caller's ABI: the compat one
		// (6 on i386), which is what raw_syscalls reports for us.
		filter = "id == " + strconv.Itoa(unix.SYS_CLOSE) + " && " + filter
	}
	attr, err := Tracepoint(id, PERF_SAMPLE_TID|PERF_SAMPLE_RAW)
	if err != nil {
		t.Fatal(err)
	}
	attr.SetWriteBackward(backward)
	attr.Read_format = unix.PERF_FORMAT_ID | unix.PERF_FORMAT_LOST
	attr.SetWakeupEvents(1 << 30) // never woken: the tests read when they choose
	ev, err := Open(attr, -1, cpu, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ev.Close() })
	if err := ev.SetFilter(filter); err != nil {
		t.Fatal(err)
	}
	if err := r.Add(ev); err != nil {
		t.Fatal(err)
	}
	return ev, attr, fdOff
}

// closeRecordSize is the size in the ring of one closeTracepoint sample
// (PERF_SAMPLE_TID|PERF_SAMPLE_RAW): the header, pid/tid, and the u32 raw
// size with the raw data, padded to 8. The raw data is the event's fields:
// 24 bytes for sys_enter_close, 64 for raw_syscalls:sys_enter.
func closeRecordSize(t testing.TB) int {
	t.Helper()
	sys, ev, last := "syscalls", "sys_enter_close", "fd"
	if _, compat := testenv.Compat(); compat {
		sys, ev, last = "raw_syscalls", "sys_enter", "args[6]"
	}
	off, size := fieldOffset(t, sys, ev, last)
	return 8 + 8 + (4+off+size+7)&^7
}

// TestOverflowLostMatchesKernel overfills a one-page ring without reading it
// and checks the books: delivered + lost = generated, and the lost count in
// the PERF_RECORD_LOST records equals the kernel's own (PERF_FORMAT_LOST).
func TestOverflowLostMatchesKernel(t *testing.T) {
	tracefs(t)
	cpu := pinnedCPU(t)
	r := newReader(t, ReaderOptions{CPUs: []int{cpu}, RingSize: os.Getpagesize()})
	const n = 2000
	delivered, lostRecs := 0, uint64(0)
	count := func(rec Record) {
		switch rec.Type {
		case PERF_RECORD_SAMPLE:
			delivered++
		case PERF_RECORD_LOST:
			lostRecs += rec.Lost
		default:
			t.Fatalf("unexpected %v", rec.Type)
		}
	}
	onThread(t, cpu, func(tid int) {
		ev, _, _ := closeTracepoint(t, r, cpu, false, tid)
		enableAll(t, []*Event{ev})
		for i := 0; i < n; i++ {
			unix.Close(1000000 + i)
		}
		drain(t, r, count)
		// The kernel writes the PERF_RECORD_LOST record in front of the
		// next record that fits, so one more event flushes it out.
		unix.Close(1000000 + n)
		drain(t, r, count)
		c, err := ev.ReadCount()
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("generated %d, delivered %d, PERF_RECORD_LOST total %d, kernel lost_samples %d, count %d",
			n+1, delivered, lostRecs, c.Lost, c.Value)
		if lostRecs == 0 {
			t.Fatal("a one-page ring took 2000 records without loss")
		}
		if uint64(delivered)+lostRecs != n+1 {
			t.Fatalf("delivered %d + lost %d != generated %d", delivered, lostRecs, n+1)
		}
		if c.Lost != lostRecs {
			t.Fatalf("PERF_RECORD_LOST says %d, the kernel's lost_samples %d", lostRecs, c.Lost)
		}
		if got := r.Lost()[cpu]; got != lostRecs {
			t.Fatalf("Reader.Lost()[%d] = %d, want %d", cpu, got, lostRecs)
		}
	})
}

// TestOverwriteKeepsNewest fills a backward, overwriting ring many times
// over; a snapshot has the newest records, newest first, without gaps.
func TestOverwriteKeepsNewest(t *testing.T) {
	tracefs(t)
	cpu := pinnedCPU(t)
	r := newReader(t, ReaderOptions{CPUs: []int{cpu}, RingSize: os.Getpagesize(), Overwrite: true})
	if _, err := r.Read(t.Context()); err == nil {
		t.Fatal("Read on an overwriting reader worked")
	}
	const base, n = 1000000, 3000
	recSize := closeRecordSize(t) // before the thread: reading a format file closes an fd
	onThread(t, cpu, func(tid int) {
		ev, attr, fdOff := closeTracepoint(t, r, cpu, true, tid)
		enableAll(t, []*Event{ev})
		for i := 0; i < n; i++ {
			unix.Close(base + i)
		}
		var fds []uint64
		var s Sample
		snap := func() []uint64 {
			fds = fds[:0]
			err := r.Snapshot(func(rec Record) error {
				if rec.Type != PERF_RECORD_SAMPLE {
					t.Fatalf("unexpected %v", rec.Type)
				}
				if err := ParseSample(rec.Data, attr.SampleType(), &s); err != nil {
					return err
				}
				fds = append(fds, nativeU64(s.Raw[fdOff:]))
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			return fds
		}
		got := snap()
		if len(got) == 0 || got[0] != base+n-1 {
			t.Fatalf("snapshot starts with %v, want the newest fd %d", got[:min(len(got), 3)], base+n-1)
		}
		for i := 1; i < len(got); i++ {
			if got[i] != got[i-1]-1 {
				t.Fatalf("snapshot record %d is fd %d after %d: a gap", i, got[i], got[i-1])
			}
		}
		// A ring keeps all of them but the one that the newest records cut.
		if min := os.Getpagesize()/recSize - 1; len(got) < min {
			t.Fatalf("snapshot kept %d records, want at least %d", len(got), min)
		}
		t.Logf("snapshot: %d records, fds %d down to %d", len(got), got[0], got[len(got)-1])
		first := append([]uint64(nil), got...)
		if again := snap(); len(again) != len(first) || again[0] != first[0] {
			t.Fatalf("a second snapshot differs: %d records from %d, before %d from %d", len(again), again[0], len(first), first[0])
		}
		// Still recording after the snapshot resumed the ring.
		unix.Close(base + n)
		if again := snap(); again[0] != base+n {
			t.Fatalf("after resuming, newest is %d, want %d", again[0], base+n)
		}
	})
}

// TestGroupEnable: two tracepoints in one group start and stop together.
func TestGroupEnable(t *testing.T) {
	cpu := pinnedCPU(t)
	r := newReader(t, ReaderOptions{CPUs: []int{cpu}})
	ppidID, pgidID := eventID(t, "syscalls", "sys_enter_getppid"), eventID(t, "syscalls", "sys_enter_getpgid")
	_, compat := testenv.Compat()
	if compat { // no syscalls:* events for a compat task: see closeTracepoint
		ppidID = eventID(t, "raw_syscalls", "sys_enter")
		pgidID = ppidID
	}
	ppid, err := Tracepoint(ppidID, 0)
	if err != nil {
		t.Fatal(err)
	}
	pgid, err := Tracepoint(pgidID, 0)
	if err != nil {
		t.Fatal(err)
	}
	leader, err := Open(ppid, -1, cpu, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer leader.Close()
	member, err := Open(pgid, -1, cpu, leader, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer member.Close()
	if compat {
		// A filter belongs to one perf event, so one tracepoint serves both.
		if err := leader.SetFilter("id == " + strconv.Itoa(unix.SYS_GETPPID)); err != nil {
			t.Fatal(err)
		}
		if err := member.SetFilter("id == " + strconv.Itoa(unix.SYS_GETPGID)); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Add(leader, member); err != nil {
		t.Fatal(err)
	}
	lid, _ := leader.ID()
	mid, _ := member.ID()
	onThread(t, cpu, func(tid int) {
		calls := func(n int) {
			for i := 0; i < n; i++ {
				unix.Getppid()
				unix.Getpgid(0)
			}
		}
		counts := func() (l, m int) {
			var s Sample
			drain(t, r, func(rec Record) {
				if err := ParseSample(rec.Data, DefaultSampleType, &s); err != nil {
					t.Fatal(err)
				}
				if int(s.Tid) != tid {
					return
				}
				switch s.Identifier {
				case lid:
					l++
				case mid:
					m++
				default:
					t.Fatalf("sample from unknown event id %d", s.Identifier)
				}
			})
			return l, m
		}
		calls(3)
		if l, m := counts(); l != 0 || m != 0 {
			t.Fatalf("before enable: %d, %d events", l, m)
		}
		if err := leader.EnableGroup(); err != nil {
			t.Fatal(err)
		}
		calls(5)
		if l, m := counts(); l != 5 || m != 5 {
			t.Fatalf("after group enable: leader %d, member %d events, want 5 and 5", l, m)
		}
		if err := leader.DisableGroup(); err != nil {
			t.Fatal(err)
		}
		calls(4)
		if l, m := counts(); l != 0 || m != 0 {
			t.Fatalf("after group disable: %d, %d events", l, m)
		}
	})
}

// TestRingWrap: with a ring whose size is no multiple of the record size,
// records straddle the ring's end; all of them arrive intact and in order.
func TestRingWrap(t *testing.T) {
	t.Run("Read", func(t *testing.T) { testRingWrap(t, drain) })
	// ReadBatch: the records of a batch stay valid together, the one
	// that straddles the ring's end (copied) included.
	t.Run("ReadBatch", func(t *testing.T) { testRingWrap(t, drainBatch) })
}

func testRingWrap(t *testing.T, drain func(testing.TB, *Reader, func(Record))) {
	tracefs(t)
	cpu := pinnedCPU(t)
	r := newReader(t, ReaderOptions{CPUs: []int{cpu}, RingSize: os.Getpagesize()})
	const base, n = 1000000, 3000
	// Each record is 48 bytes (88 in compat mode), which does not divide a
	// page; a chunk is drained before it could fill the ring.
	recSize := closeRecordSize(t)
	if os.Getpagesize()%recSize == 0 {
		t.Fatalf("%d-byte records divide the page: nothing would straddle the ring's end", recSize)
	}
	chunk := min(50, os.Getpagesize()/recSize-1)
	onThread(t, cpu, func(tid int) {
		ev, attr, fdOff := closeTracepoint(t, r, cpu, false, tid)
		enableAll(t, []*Event{ev})
		next := uint64(base)
		var s Sample
		for i := 0; i < n; i += chunk {
			for j := i; j < min(i+chunk, n); j++ {
				unix.Close(base + j)
			}
			drain(t, r, func(rec Record) {
				if rec.Type != PERF_RECORD_SAMPLE {
					t.Fatalf("unexpected %v (lost %d)", rec.Type, rec.Lost)
				}
				if err := ParseSample(rec.Data, attr.SampleType(), &s); err != nil {
					t.Fatal(err)
				}
				if fd := nativeU64(s.Raw[fdOff:]); fd != next || int(s.Tid) != tid {
					t.Fatalf("record for fd %d from %d, want fd %d from %d", fd, s.Tid, next, tid)
				}
				next++
			})
		}
		if next != base+n {
			t.Fatalf("got %d records, want %d", next-base, n)
		}
	})
	requireNoLoss(t, r)
	if w := r.byCPU[cpu].wrapped; w == 0 {
		t.Fatal("no record wrapped around the ring's end")
	} else {
		t.Logf("%d of %d records wrapped around the end of a %d-byte ring", w, n, r.RingSize())
	}
}

// TestCloseLeavesNoFDs: readers and events give back every fd they took.
func TestCloseLeavesNoFDs(t *testing.T) {
	id := eventID(t, "syscalls", "sys_enter_getppid")
	before := fdCount(t)
	for i := 0; i < 3; i++ {
		r, err := NewReader(ReaderOptions{})
		if err != nil {
			t.Fatal(err)
		}
		attr, _ := Tracepoint(id, 0)
		evs, err := OpenCPUs(attr, -1, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Add(evs...); err != nil {
			t.Fatal(err)
		}
		if fdCount(t) <= before {
			t.Fatal("opening took no fds?")
		}
		if err := CloseAll(evs); err != nil {
			t.Fatal(err)
		}
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		if err := r.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
	}
	if after := fdCount(t); after != before {
		t.Fatalf("%d fds open before, %d after", before, after)
	}
}
