package perf

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/tracelet/tracelet/internal/testenv"
	"golang.org/x/sys/unix"
)

// countThreadSamples opens attr on every CPU for all tasks, runs calls on a
// fresh OS thread, and returns that thread's samples (raw data copied).
func countThreadSamples(t *testing.T, attr *Attr, calls func()) (tid int, raws [][]byte) {
	t.Helper()
	r := newReader(t, ReaderOptions{})
	evs := openOnAll(t, r, attr, -1)
	enableAll(t, evs)
	onThread(t, -1, func(id int) {
		tid = id
		calls()
	})
	disableAll(t, evs)
	var s Sample
	drain(t, r, func(rec Record) {
		if rec.Type != PERF_RECORD_SAMPLE {
			t.Fatalf("unexpected %v", rec.Type)
		}
		if err := ParseSample(rec.Data, attr.SampleType(), &s); err != nil {
			t.Fatal(err)
		}
		if int(s.Tid) == tid {
			raws = append(raws, append([]byte(nil), s.Raw...))
		}
	})
	requireNoLoss(t, r)
	return tid, raws
}

// TestKprobeTracefsArgs reads known values through a tracefs kprobe and
// kretprobe on do_sys_openat2(dfd, filename, how): the dfd of an openat
// with a directory fd of our own, the file name, and the -ENOENT it
// returns, decoded from the raw records by the event's format.
func TestKprobeTracefsArgs(t *testing.T) {
	testenv.RequireKprobes(t)
	dir, err := unix.Open(os.TempDir(), unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(dir)
	name := fmt.Sprintf("tracelet-perf-kprobe-%d-missing", os.Getpid())
	const n = 5

	group, ev, _ := testenv.Kprobe(t, "p", testenv.KernelArgs(t, "do_sys_openat2 dfd=$arg1:s32 path=+0($arg2):ustring"))
	open := func() {
		for i := 0; i < n; i++ {
			if _, err := unix.Openat(dir, name, unix.O_RDONLY, 0); err != unix.ENOENT {
				t.Errorf("openat %s: %v, want ENOENT", name, err)
			}
		}
	}

	attr, err := Tracepoint(eventID(t, group, ev), PERF_SAMPLE_TID|PERF_SAMPLE_RAW)
	if err != nil {
		t.Fatal(err)
	}
	_, raws := countThreadSamples(t, attr, open)
	if len(raws) != n {
		t.Fatalf("kprobe: %d samples from the opening thread, want %d", len(raws), n)
	}
	dfdOff, dfdSize := fieldOffset(t, group, ev, "dfd")
	pathOff, _ := fieldOffset(t, group, ev, "path")
	for _, raw := range raws {
		if got := int32(rawUint(t, raw, dfdOff, dfdSize)); int(got) != dir {
			t.Errorf("dfd = %d, want our directory fd %d", got, dir)
		}
		// __data_loc: offset in the low 16 bits, length (with NUL) above.
		loc := nativeU32(raw[pathOff:])
		off, size := int(loc&0xffff), int(loc>>16)
		if off+size > len(raw) || size == 0 {
			t.Fatalf("path __data_loc %#x outside the %d-byte record", loc, len(raw))
		}
		if got := string(raw[off : off+size-1]); got != name {
			t.Errorf("path = %q, want %q", got, name)
		}
	}

	// The return value is read as the register it is (testenv.ABI.SLong).
	testenv.RequireReturnProbes(t)
	_, rev, _ := testenv.Kprobe(t, "r", "do_sys_openat2 ret=$retval:"+testenv.KernelABI(t).SLong())
	rattr, err := Tracepoint(eventID(t, group, rev), PERF_SAMPLE_TID|PERF_SAMPLE_RAW)
	if err != nil {
		t.Fatal(err)
	}
	_, raws = countThreadSamples(t, rattr, open)
	if len(raws) != n {
		t.Fatalf("kretprobe: %d samples from the opening thread, want %d", len(raws), n)
	}
	retOff, retSize := fieldOffset(t, group, rev, "ret")
	for _, raw := range raws {
		got := int64(rawUint(t, raw, retOff, retSize))
		if retSize == 4 {
			got = int64(int32(got))
		}
		if got != -int64(unix.ENOENT) {
			t.Errorf("ret = %d, want -ENOENT", got)
		}
	}
}

// TestKprobePMU makes the probe and the return probe through the kprobe
// PMU (4.17): no tracefs event, gone with the fds. Each counts exactly the
// calls of one thread; the return probe is the PMU's format/retprobe bit.
func TestKprobePMU(t *testing.T) {
	testenv.RequireKprobes(t)
	fn := testenv.SyscallEntry(t, "getppid")
	pmu, err := LookupPMU("kprobe")
	if err != nil {
		t.Fatal(err)
	}
	const n = 300
	calls := func() {
		for i := 0; i < n; i++ {
			unix.Getppid()
		}
	}
	for _, ret := range []bool{false, true} {
		t.Run(fmt.Sprintf("ret=%v", ret), func(t *testing.T) {
			if ret {
				testenv.RequireReturnProbes(t)
			}
			attr, err := Kprobe(fn, testenv.KprobeEntryOffset(t), ret, PERF_SAMPLE_TID|PERF_SAMPLE_RAW)
			if err != nil {
				t.Fatal(err)
			}
			if want := uint64(0); ret {
				want = 1 << pmu.RetprobeBit
				if attr.Config != want {
					t.Fatalf("config %#x, want the retprobe bit %d", attr.Config, pmu.RetprobeBit)
				}
			} else if attr.Config != want {
				t.Fatalf("config %#x, want 0", attr.Config)
			}
			_, raws := countThreadSamples(t, attr, calls)
			if len(raws) != n {
				t.Fatalf("%s via the kprobe PMU: %d samples from the calling thread, want %d", fn, len(raws), n)
			}
			// The record of a kretprobe carries __probe_func and
			// __probe_ret_ip after the 8 bytes of common fields, a
			// kprobe only __probe_ip (plus the u32 padding perf adds
			// to the raw data): the kernel really made a return probe.
			// The addresses are unsigned longs, 4 bytes on a 32-bit
			// kernel.
			w := testenv.KernelABI(t).Word
			if got := len(raws[0]); ret && got < 8+2*w || !ret && (got < 8+w || got >= 8+2*w) {
				t.Errorf("raw record of %d bytes for ret=%v: want the kprobe (%d-%d) or kretprobe (%d+) layout", got, ret, 8+w, 8+2*w-1, 8+2*w)
			}
		})
	}
	// Nothing is left in tracefs: the PMU's probes have no event directory.
	ents, _ := filepath.Glob(filepath.Join(testenv.Tracefs(t), "events", "kprobes", "*"+fn+"*"))
	if len(ents) != 0 {
		t.Errorf("the PMU probes left tracefs events: %v", ents)
	}
}
