package perf

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/tracelet/tracelet/internal/testenv"
)

var (
	tracefsOnce sync.Once
	tracefsPath string
	tracefsErr  error
)

// tracefs finds the tracefs mount from /proc/self/mountinfo, mounting it at
// /sys/kernel/tracing when it is nowhere.
func tracefs(t testing.TB) string {
	t.Helper()
	testenv.RequireRoot(t)
	tracefsOnce.Do(func() {
		f, err := os.Open("/proc/self/mountinfo")
		if err != nil {
			tracefsErr = err
			return
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			// "36 35 0:10 / /sys/kernel/tracing rw,... - tracefs nodev rw"
			pre, post, ok := strings.Cut(sc.Text(), " - ")
			if !ok || !strings.HasPrefix(post, "tracefs ") {
				continue
			}
			if fields := strings.Fields(pre); len(fields) >= 5 {
				tracefsPath = fields[4]
				return
			}
		}
		if err := unix.Mount("nodev", "/sys/kernel/tracing", "tracefs", 0, ""); err != nil {
			tracefsErr = fmt.Errorf("mount tracefs: %w", err)
			return
		}
		tracefsPath = "/sys/kernel/tracing"
	})
	if tracefsErr != nil {
		t.Fatal(tracefsErr)
	}
	return tracefsPath
}

func eventID(t testing.TB, sys, ev string) uint64 {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(tracefs(t), "events", sys, ev, "id"))
	if err != nil {
		t.Fatal(err)
	}
	id, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// fieldOffset reads a field's offset and size from the event's format file.
func fieldOffset(t testing.TB, sys, ev, field string) (off, size int) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(tracefs(t), "events", sys, ev, "format"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		// "\tfield:unsigned int fd;\toffset:16;\tsize:8;\tsigned:0;"
		parts := strings.Split(strings.TrimSpace(line), ";")
		if len(parts) < 3 || !strings.HasPrefix(parts[0], "field:") {
			continue
		}
		decl := strings.Fields(parts[0])
		if decl[len(decl)-1] != field {
			continue
		}
		off, _ = strconv.Atoi(strings.TrimPrefix(strings.TrimSpace(parts[1]), "offset:"))
		size, _ = strconv.Atoi(strings.TrimPrefix(strings.TrimSpace(parts[2]), "size:"))
		return off, size
	}
	t.Fatalf("%s:%s has no field %q", sys, ev, field)
	return 0, 0
}

func rawUint(t testing.TB, raw []byte, off, size int) uint64 {
	t.Helper()
	if off+size > len(raw) {
		t.Fatalf("raw record of %d bytes has no field at %d+%d", len(raw), off, size)
	}
	var v uint64
	switch size {
	case 1:
		v = uint64(raw[off])
	case 2:
		v = uint64(nativeU16(raw[off:]))
	case 4:
		v = uint64(nativeU32(raw[off:]))
	case 8:
		v = nativeU64(raw[off:])
	default:
		t.Fatalf("field size %d", size)
	}
	return v
}

// addUprobe defines a uprobe in our own group through uprobe_events and
// removes it when the test ends. It returns the group and event names.
func addUprobe(t testing.TB, path, sym, fetchargs string) (group, event string) {
	t.Helper()
	tracefs(t)
	off := testenv.SymbolFileOffset(t, path, sym)
	group, event, _ = testenv.Probe(t, "uprobe_events", "p", fmt.Sprintf("%s:%#x %s", path, off, fetchargs))
	return group, event
}

func fdCount(t testing.TB) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// onThread runs f on a fresh OS thread pinned to cpu (when cpu >= 0), and
// lets the thread die afterwards so that the pinning goes with it.
func onThread(t testing.TB, cpu int, f func(tid int)) {
	t.Helper()
	// f may end its goroutine with t.Fatal (runtime.Goexit): the deferred
	// send still runs, so the test fails instead of waiting forever.
	done := make(chan error, 1)
	go func() {
		finished := false
		defer func() {
			if !finished {
				done <- errors.New("the pinned thread's function failed")
			}
		}()
		runtime.LockOSThread() // never unlocked: the thread exits with the goroutine
		if cpu >= 0 {
			var set unix.CPUSet
			set.Set(cpu)
			if err := unix.SchedSetaffinity(0, &set); err != nil {
				finished = true
				done <- err
				return
			}
		}
		f(unix.Gettid())
		finished = true
		done <- nil
	}()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// drain reads until the rings are empty (Flush) and returns the records'
// samples through fn.
func drain(t testing.TB, r *Reader, fn func(Record)) {
	t.Helper()
	r.Flush()
	for {
		rec, err := r.Read(t.Context())
		if err == ErrFlushed {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		fn(rec)
	}
}

// drainBatch is drain through ReadBatch, 16 records a call at most; fn
// sees a batch's records once the call has returned them all.
func drainBatch(t testing.TB, r *Reader, fn func(Record)) {
	t.Helper()
	r.Flush()
	buf := make([]Record, 0, 16)
	for {
		recs, err := r.ReadBatch(t.Context(), buf[:0])
		if err == ErrFlushed {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, rec := range recs {
			fn(rec)
		}
	}
}

// openOnAll opens attr per CPU, adds the events to r, and closes them at the end.
func openOnAll(t testing.TB, r *Reader, attr *Attr, pid int) []*Event {
	t.Helper()
	evs, err := OpenCPUs(attr, pid, r.CPUs(), 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { CloseAll(evs) })
	if err := r.Add(evs...); err != nil {
		t.Fatal(err)
	}
	return evs
}

func enableAll(t testing.TB, evs []*Event) {
	t.Helper()
	for _, e := range evs {
		if err := e.Enable(); err != nil {
			t.Fatal(err)
		}
	}
}

func disableAll(t testing.TB, evs []*Event) {
	t.Helper()
	for _, e := range evs {
		if err := e.Disable(); err != nil {
			t.Fatal(err)
		}
	}
}

func newReader(t testing.TB, opts ReaderOptions) *Reader {
	t.Helper()
	r, err := NewReader(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func nativeU16(b []byte) uint16 { return binary.NativeEndian.Uint16(b) }
func nativeU32(b []byte) uint32 { return binary.NativeEndian.Uint32(b) }
func nativeU64(b []byte) uint64 { return binary.NativeEndian.Uint64(b) }

// collect reads r in a goroutine while run generates events, then flushes
// and returns once everything written during run has been passed to fn.
func collect(t testing.TB, r *Reader, run func(), fn func(Record)) {
	t.Helper()
	errc := make(chan error, 1)
	go func() {
		for {
			rec, err := r.Read(t.Context())
			if err != nil {
				if err == ErrFlushed {
					err = nil
				}
				errc <- err
				return
			}
			fn(rec)
		}
	}()
	run()
	r.Flush()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

func requireNoLoss(t testing.TB, r *Reader) {
	t.Helper()
	for cpu, l := range r.Lost() {
		if l != 0 {
			t.Fatalf("cpu %d lost %d records", cpu, l)
		}
	}
}
