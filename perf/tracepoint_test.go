package perf

import (
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/tracelet/tracelet/internal/testenv"
)

// TestTracepointExactCount counts sys_enter_getppid samples from our own
// thread among everything every CPU sees: exactly the calls we made.
func TestTracepointExactCount(t *testing.T) {
	testenv.RequireSyscallEvents(t)
	id := eventID(t, "syscalls", "sys_enter_getppid")
	attr, err := Tracepoint(id, 0)
	if err != nil {
		t.Fatal(err)
	}
	r := newReader(t, ReaderOptions{})
	evs := openOnAll(t, r, attr, -1)
	ids := map[uint64]int{}
	for _, e := range evs {
		eid, err := e.ID()
		if err != nil {
			t.Fatal(err)
		}
		ids[eid] = e.CPU()
	}
	enableAll(t, evs)
	const n = 1000
	var tid int
	onThread(t, -1, func(id int) {
		tid = id
		for i := 0; i < n; i++ {
			unix.Getppid()
		}
	})
	disableAll(t, evs)
	got := 0
	var s Sample
	drain(t, r, func(rec Record) {
		if rec.Type != PERF_RECORD_SAMPLE {
			t.Fatalf("unexpected %v", rec.Type)
		}
		if err := ParseSample(rec.Data, attr.SampleType(), &s); err != nil {
			t.Fatal(err)
		}
		if cpu, ok := ids[s.Identifier]; !ok || int(s.CPU) != rec.CPU {
			t.Fatalf("sample id %d (event of cpu %d, known %v) with CPU field %d came from ring %d", s.Identifier, cpu, ok, s.CPU, rec.CPU)
		}
		if got := uint64(nativeU16(s.Raw)); got != id {
			t.Fatalf("raw common_type %d, want the event id %d", got, id)
		}
		if int(s.Tid) == tid {
			if int(s.Pid) != os.Getpid() {
				t.Fatalf("sample pid %d, want %d", s.Pid, os.Getpid())
			}
			got++
		}
	})
	if got != n {
		t.Fatalf("got %d sys_enter_getppid samples from thread %d, want %d", got, tid, n)
	}
	for cpu, l := range r.Lost() {
		if l != 0 {
			t.Errorf("cpu %d lost %d records", cpu, l)
		}
	}
}

// TestSetFilter passes exactly the calls whose argument matches.
func TestSetFilter(t *testing.T) {
	// raw_syscalls:sys_enter would see a compat close(2), but its args[]
	// cannot be filtered on: the filter under test needs the fd field.
	testenv.RequireSyscallEvents(t)
	id := eventID(t, "syscalls", "sys_enter_close")
	fdOff, fdSize := fieldOffset(t, "syscalls", "sys_enter_close", "fd")
	attr, err := Tracepoint(id, 0)
	if err != nil {
		t.Fatal(err)
	}
	r := newReader(t, ReaderOptions{})
	evs := openOnAll(t, r, attr, -1)

	// Bad filters: the kernel refuses an unknown field; we refuse newlines.
	err = evs[0].SetFilter("no_such_field == 1")
	if !errors.Is(err, unix.EINVAL) || !strings.Contains(err.Error(), "no_such_field") {
		t.Fatalf("unknown field: got %v, want EINVAL naming the expression", err)
	}
	if err := evs[0].SetFilter("fd == 1\ncommon_pid == 2"); err == nil || !strings.Contains(err.Error(), "col 8") {
		t.Fatalf("newline: got %v, want an error at col 8", err)
	}

	const want, other = 1000003, 1000004 // far above any fd we hold: close gives EBADF
	const nWant, nOther = 7, 11
	onThread(t, -1, func(tid int) {
		for _, e := range evs {
			if err := e.SetFilter("fd == " + strconv.Itoa(want) + " && common_pid == " + strconv.Itoa(tid)); err != nil {
				t.Error(err)
				return
			}
		}
		enableAll(t, evs)
		for i := 0; i < nWant+nOther; i++ {
			fd := other
			if i%2 == 0 && i < 2*nWant { // interleaved: 7 of these among 11 others
				fd = want
			}
			unix.Close(fd)
		}
		disableAll(t, evs)
	})
	got := 0
	var s Sample
	drain(t, r, func(rec Record) {
		if err := ParseSample(rec.Data, attr.SampleType(), &s); err != nil {
			t.Fatal(err)
		}
		if v := rawUint(t, s.Raw, fdOff, fdSize); v != want {
			t.Fatalf("filter let through fd %d", v)
		}
		got++
	})
	if got != nWant {
		t.Fatalf("filter passed %d records, want %d", got, nWant)
	}
}
