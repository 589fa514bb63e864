package scriptrun

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tracelet/tracelet/bpf"
	"github.com/tracelet/tracelet/internal/testenv"
	"github.com/tracelet/tracelet/script"
	"github.com/tracelet/tracelet/tracefs"
)

// TestRunTracepoint runs a compiled one-liner on the real kernel against a
// workload with known behaviour: read(2) of known sizes from one thread.
// It checks count, sum, hist and lhist buckets and the printf records.
func TestRunTracepoint(t *testing.T) {
	obj, maps := runReads(t, `tracepoint:syscalls:sys_enter_read /tid == %d/ {
		@n = count(); @s = sum(args->count); @h = hist(args->count);
		@l = lhist(args->count, 0, 100, 10); @mx = max(args->count);
		@k[1] = 5; @r = sum(args->count + @k[1]);
		@q = sum((args->count > 3) + (comm == "nomatch") * 100 + (comm != "nomatch") * 1000);
		printf("%%d %%s\n", args->count, comm);
	}`)
	m := func(name string) *bpf.Map { return maps[obj.Maps[mapIdx(t, obj, name)].Spec.Name] }
	key0 := bpf.Uint32Key(0)
	if n, err := m("n").SumPerCPU(key0); err != nil || n != uint64(len(readSizes)) {
		t.Errorf("@n = %d, %v; want %d", n, err, len(readSizes))
	}
	if s, err := m("s").SumPerCPU(key0); err != nil || s != 1060 {
		t.Errorf("@s = %d, %v; want 1060", s, err)
	}
	// Operands that read maps or compare strings use R7 and up: the left
	// operand must survive them.
	if r, err := m("r").SumPerCPU(key0); err != nil || r != 1060+7*5 {
		t.Errorf("@r = %d, %v; want %d", r, err, 1060+7*5)
	}
	if q, err := m("q").SumPerCPU(key0); err != nil || q != 3+7*1000 {
		t.Errorf("@q = %d, %v; want %d", q, err, 3+7*1000)
	}
	// max is {value, valid} per CPU: one CPU ran them all.
	vals, err := m("mx").LookupPerCPU(key0)
	if err != nil {
		t.Fatal(err)
	}
	var mx uint64
	for _, v := range vals {
		if binary.NativeEndian.Uint64(v[8:]) == 1 {
			mx = max(mx, binary.NativeEndian.Uint64(v))
		}
	}
	if mx != 1000 {
		t.Errorf("@mx = %d, want 1000", mx)
	}
	// hist buckets: 0 -> 1, 1 -> 2, [2,4) -> 3, [4,8) -> 4, 50 -> 2+5, 1000 -> 2+9.
	checkBuckets(t, "@h", m("h"), map[uint64]uint64{1: 1, 2: 1, 3: 2, 4: 1, 7: 1, 11: 1})
	// lhist 0..100 step 10: [0,10) is bucket 1, 50 is bucket 6, >= 100 is 11.
	checkBuckets(t, "@l", m("l"), map[uint64]uint64{1: 5, 6: 1, 11: 1})

	// printf records: id 0, count, comm.
	rd, err := bpf.NewRingBufReader(maps[script.EventsMap])
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	comm, _ := os.ReadFile("/proc/thread-self/comm")
	pf := obj.Printfs[0]
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for i, n := range readSizes {
		rec, err := rd.Read(ctx)
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		if len(rec) < pf.Size {
			t.Fatalf("record %d is %d bytes, want %d", i, len(rec), pf.Size)
		}
		gotID := binary.NativeEndian.Uint64(rec)
		gotN := binary.NativeEndian.Uint64(rec[pf.Offsets[0]:])
		gotComm := string(bytes.TrimRight(rec[pf.Offsets[1]:pf.Offsets[1]+16], "\x00"))
		if gotID != 0 || gotN != uint64(n) || gotComm != strings.TrimSpace(string(comm)) {
			t.Errorf("record %d: id %d, count %d, comm %q; want 0, %d, %q", i, gotID, gotN, gotComm, n, strings.TrimSpace(string(comm)))
		}
		var text strings.Builder
		if act, err := obj.HandleRecord(&text, rec, nil); err != nil || act.Action != 0 {
			t.Errorf("record %d: HandleRecord = %+v, %v", i, act, err)
		}
		if want := fmt.Sprintf("%d %s\n", n, strings.TrimSpace(string(comm))); text.String() != want {
			t.Errorf("record %d printed %q, want %q", i, text.String(), want)
		}
	}
}

func mapIdx(t *testing.T, obj *script.Object, name string) int {
	for i, m := range obj.Maps {
		if m.Info != nil && m.Info.Name == name {
			return i
		}
	}
	t.Fatalf("no map @%s", name)
	return 0
}

func checkBuckets(t *testing.T, name string, m *bpf.Map, want map[uint64]uint64) {
	t.Helper()
	got := map[uint64]uint64{}
	for b := uint64(0); b < 70; b++ {
		key := binary.NativeEndian.AppendUint64(nil, b)
		if n, err := m.SumPerCPU(key); err == nil && n > 0 {
			got[b] = n
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("%s buckets = %v, want %v", name, got, want)
	}
}

// readSizes is the workload: read(2) of these sizes from /dev/zero.
var readSizes = []int{0, 1, 2, 3, 4, 50, 1000}

// runReads compiles src (with %d for this thread's id), loads and attaches
// it to syscalls:sys_enter_read, runs the workload on this thread and
// detaches.
func runReads(t *testing.T, src string) (*script.Object, map[string]*bpf.Map) {
	t.Helper()
	testenv.RequireRoot(t)
	testenv.RequireSyscallEvents(t) // it counts its own read(2)s
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	tid := unix.Gettid()

	tfs, err := tracefs.Find()
	if err != nil {
		t.Fatal(err)
	}
	obj, err := script.CompileSource("run.bt", []byte(fmt.Sprintf(src, tid)),
		script.CheckOptions{Formats: dirFormats(filepath.Join(tfs.Root(), "events"))}, script.Options{Arch: kernelArch(t), Output: script.OutputRingBuf})
	if err != nil {
		t.Fatal(err)
	}
	maps, progs, err := load(t, obj)
	if err != nil {
		t.Fatal(err)
	}
	id, err := tfs.EventID("syscalls", "sys_enter_read")
	if err != nil {
		t.Fatal(err)
	}
	pfd, err := bpf.OpenTraceEvent(uint64(id))
	if err != nil {
		t.Fatal(err)
	}
	link, err := bpf.AttachPerfEvent(progs[0], pfd, bpf.AttachOptions{})
	if err != nil {
		unix.Close(pfd)
		t.Fatal(err)
	}
	defer link.Close()

	zero, err := unix.Open("/dev/zero", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(zero)
	buf := make([]byte, 1000)
	for _, n := range readSizes {
		if _, err := unix.Read(zero, buf[:n]); err != nil {
			t.Fatal(err)
		}
	}
	return obj, maps
}

// TestRunText prints the maps of a run in bpftrace's text format and
// compares with the output recorded for the same workload.
func TestRunText(t *testing.T) {
	obj, maps := runReads(t, `tracepoint:syscalls:sys_enter_read /tid == %d/ {
		@c[comm] = count(); @h = hist(args->count); @l = lhist(args->count, 0, 100, 10);
		@st = stats(args->count); @av = avg(args->count); @mx = max(args->count);
		@mn = min(args->count); @sz[args->count] = sum(args->count);
	}`)
	var out strings.Builder
	err := obj.WriteMaps(&out, func(m *script.Map) ([]script.Entry, error) { return ReadMap(maps[m.Spec.Name], m) }, nil)
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join(corpusDir, "text", "read-workload.txt"))
	if err != nil {
		t.Fatal(err)
	}
	comm, _ := os.ReadFile("/proc/thread-self/comm")
	w := strings.ReplaceAll(string(want), "COMM", strings.TrimSpace(string(comm)))
	if out.String() != w {
		t.Errorf("output differs:\n%s", lineDiff(w, out.String()))
	}

	// clear() and zero() as user space performs them.
	for _, m := range obj.Maps {
		if m.Info == nil {
			continue
		}
		if m.Info.Name == "c" {
			if err := ZeroMap(maps[m.Spec.Name], m); err != nil {
				t.Fatal(err)
			}
		}
		if m.Info.Name == "sz" {
			if err := ClearMap(maps[m.Spec.Name], m); err != nil {
				t.Fatal(err)
			}
		}
	}
	out.Reset()
	for _, name := range []string{"c", "sz"} {
		m := obj.Maps[mapIdx(t, obj, name)]
		entries, err := ReadMap(maps[m.Spec.Name], m)
		if err != nil {
			t.Fatal(err)
		}
		obj.WriteMap(&out, m, entries, nil)
	}
	if want := "@c[" + strings.TrimSpace(string(comm)) + "]: 0\n\n"; out.String() != want {
		t.Errorf("after zero(@c), clear(@sz): %q, want %q", out.String(), want)
	}
}
