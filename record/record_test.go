package record

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tracelet/tracelet/internal/testenv"
	"github.com/tracelet/tracelet/tracefs"
)

// readAll reads every whole record of the files.
func readAll(t *testing.T, files ...string) ([]Entry, bool) {
	t.Helper()
	var out []Entry
	truncated := false
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		r := NewReader(fh)
		for {
			e, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			out = append(out, e)
		}
		fh.Close()
		truncated = truncated || r.Truncated()
	}
	return out, truncated
}

// recording returns the files of a recording, oldest first.
func recording(t *testing.T, dir string, f Format) []string {
	t.Helper()
	base := filepath.Join(dir, "trace"+f.Ext())
	rot, _ := filepath.Glob(base + ".*")
	sort.Slice(rot, func(i, j int) bool {
		a, _ := strconv.Atoi(rot[i][len(base)+1:])
		b, _ := strconv.Atoi(rot[j][len(base)+1:])
		return a > b
	})
	return append(rot, base)
}

// TestRecordRotateReport records a uprobe into small rotated files in both
// formats, and reads everything back: every call, in order, with its
// values, and no file past its size.
func TestRecordRotateReport(t *testing.T) {
	fs := mustFS(t)
	prog, src := cabiScript(t)
	for _, format := range []Format{FormatText, FormatJSON} {
		t.Run(format.String(), func(t *testing.T) {
			p := scriptPlan(t, fs, uniq("rec"), src)
			dir := t.TempDir()
			const maxSize = 2048
			w, err := NewWriter(WriterOptions{Path: filepath.Join(dir, "trace"+format.Ext()), MaxSize: maxSize, Rotate: 100,
				Header: format.Header(), ChunkSize: 512})
			if err != nil {
				t.Fatal(err)
			}
			r, err := NewRecorder(fs, p, w, RecorderOptions{Format: format, Poll: 20 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			inst := r.Plan().Instance
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- r.Run(ctx) }()
			// 40 calls in 8 runs: a = 10..17, b = the run's index * 3.
			for i := 0; i < 8; i++ {
				runProg(t, prog, "calls", "5", strconv.Itoa(10+i), strconv.Itoa(i*3))
			}
			time.Sleep(100 * time.Millisecond)
			cancel()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			if err := r.Close(); err != nil {
				t.Fatal(err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(filepath.Join(fs.Root(), "instances", inst)); !os.IsNotExist(err) {
				t.Errorf("the recorder's instance survived Close: %v", err)
			}
			files := recording(t, dir, format)
			if len(files) < 3 || w.Rotations() != len(files)-1 {
				t.Fatalf("%d files after %d rotations, want several", len(files), w.Rotations())
			}
			for _, f := range files {
				if st, _ := os.Stat(f); st.Size() > maxSize {
					t.Errorf("%s is %d bytes, over %d", f, st.Size(), maxSize)
				}
			}
			ents, truncated := readAll(t, files...)
			if truncated {
				t.Error("a whole recording reads as truncated")
			}
			var calls []string
			var last uint64
			for _, e := range ents {
				if e.Time < last {
					t.Errorf("time goes back: %d after %d", e.Time, last)
				}
				last = e.Time
				if fieldOf(&e, "arg0") == "" {
					continue // the execs
				}
				calls = append(calls, fieldOf(&e, "arg0")+"/"+fieldOf(&e, "arg1"))
				// The kernel saves a comm at a sched switch after an
				// event, which may still be the parent's before exec:
				// its own trace file prints the same name.
				if e.Comm != "testprog" && e.Comm != "record.test" && e.Comm != "<...>" || e.Pid <= 0 {
					t.Errorf("call event comm %q pid %d", e.Comm, e.Pid)
				}
			}
			var want []string
			for i := 0; i < 8; i++ {
				for j := 0; j < 5; j++ {
					want = append(want, strconv.Itoa(10+i)+"/"+strconv.Itoa(i*3))
				}
			}
			if strings.Join(calls, " ") != strings.Join(want, " ") {
				t.Errorf("read back %d calls:\n%v\nwant %d:\n%v", len(calls), calls, len(want), want)
			}
		})
	}
}

// TestTruncatedRecording cuts a recording at every byte and reads it back:
// always the whole records before the cut, never an error, and Truncated
// exactly when the cut is inside a record.
func TestTruncatedRecording(t *testing.T) {
	fs := mustFS(t)
	prog, src := cabiScript(t)
	for _, format := range []Format{FormatText, FormatJSON} {
		t.Run(format.String(), func(t *testing.T) {
			p := scriptPlan(t, fs, uniq("cut"), src)
			dir := t.TempDir()
			path := filepath.Join(dir, "trace"+format.Ext())
			w, err := NewWriter(WriterOptions{Path: path, Header: format.Header(), NoSync: true})
			if err != nil {
				t.Fatal(err)
			}
			r, err := NewRecorder(fs, p, w, RecorderOptions{Format: format, Poll: 20 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- r.Run(ctx) }()
			runProg(t, prog, "calls", "6", "12", "34")
			time.Sleep(50 * time.Millisecond)
			cancel()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			r.Close()
			w.Close()
			whole, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			all, _ := readAll(t, path)
			if len(all) < 7 {
				t.Fatalf("recorded %d events, want 6 calls and an exec", len(all))
			}
			cut := filepath.Join(dir, "cut")
			for n := 0; n <= len(whole); n++ {
				if err := os.WriteFile(cut, whole[:n], 0o644); err != nil {
					t.Fatal(err)
				}
				got, truncated := readAll(t, cut)
				// Whole records are the lines ended by a newline,
				// less the header's comment lines.
				lines := bytes.Count(whole[:n], []byte("\n")) - bytes.Count(format.Header(), []byte("\n"))
				if lines < 0 {
					lines = 0
				}
				if len(got) != lines {
					t.Fatalf("cut at %d of %d: read %d records, want %d", n, len(whole), len(got), lines)
				}
				for i := range got {
					if fieldOf(&got[i], "arg0") != fieldOf(&all[i], "arg0") || got[i].Time != all[i].Time {
						t.Fatalf("cut at %d: record %d differs: %+v vs %+v", n, i, got[i], all[i])
					}
				}
				inside := n > 0 && whole[n-1] != '\n'
				if truncated != inside {
					t.Fatalf("cut at %d: Truncated %v, want %v", n, truncated, inside)
				}
			}
		})
	}
}

// TestFlightSIGUSR1 arms a flight recorder on the uprobe and dumps it by
// sending this process SIGUSR1, as `kill -USR1` would.
func TestFlightSIGUSR1(t *testing.T) {
	fs := mustFS(t)
	prog, src := cabiScript(t)
	p := scriptPlan(t, fs, uniq("fl"), src)
	// Flight mode records through perf, without the instance: one event.
	p.Events = p.Events[:1]
	f, err := NewFlight(fs, p, FlightOptions{Size: 256 << 10, Format: FormatJSON})
	if err != nil {
		t.Fatal(err)
	}
	group := f.Plan().Group
	defer func() {
		if err := f.Close(); err != nil {
			t.Error(err)
		}
		evs, _ := os.ReadFile(filepath.Join(fs.Root(), tracefs.UprobeEvents))
		if strings.Contains(string(evs), group+"/") {
			t.Errorf("flight Close left its probe:\n%s", evs)
		}
	}()
	usr1 := make(chan os.Signal, 1)
	signal.Notify(usr1, syscall.SIGUSR1)
	defer signal.Stop(usr1)
	dir := t.TempDir()
	type dump struct {
		why, file string
		n         int
	}
	dumps := make(chan dump, 4)
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() {
		served <- f.Serve(ctx, dir, usr1, func(why, file string, n int) { dumps <- dump{why, file, n} })
	}()
	runProg(t, prog, "calls", "4", "21", "43")
	runProg(t, prog, "calls", "3", "5", "6") // filtered out by arg0 >= 10
	if err := syscall.Kill(os.Getpid(), syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	var d dump
	select {
	case d = <-dumps:
	case <-time.After(10 * time.Second):
		t.Fatal("no dump 10s after SIGUSR1")
	}
	cancel()
	if err := <-served; err != nil {
		t.Fatal(err)
	}
	if d.why != "user defined signal 1" || d.n != 4 || filepath.Dir(d.file) != dir {
		t.Errorf("dump %+v, want 4 events for SIGUSR1 in %s", d, dir)
	}
	ents, truncated := readAll(t, d.file)
	if truncated || len(ents) != 4 {
		t.Fatalf("dump holds %d records (truncated %v), want 4", len(ents), truncated)
	}
	for _, e := range ents {
		if fieldOf(&e, "arg0") != "21" || fieldOf(&e, "arg1") != "43" {
			t.Errorf("dumped %+v, want arg0=21 arg1=43", e)
		}
	}
	// The rings are not consumed: a second dump holds the same events.
	var buf bytes.Buffer
	if n, err := f.Dump(&buf); err != nil || n != 4 {
		t.Errorf("second dump: %d events, %v", n, err)
	}
}

// TestFlightTrigger dumps the rings when the trigger event fires: here the
// plan's own exec tracepoint, with the plan's filter (testprog only).
func TestFlightTrigger(t *testing.T) {
	fs := mustFS(t)
	// A copy of the workload under a name of this test's own, so that
	// other tests' execs of testprog cannot fire the trigger.
	orig := testenv.TestProg(t)
	name := fmt.Sprintf("ft%d", os.Getpid()%1e7)
	prog := filepath.Join(t.TempDir(), name)
	b, err := os.ReadFile(orig)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(prog, b, 0o755); err != nil {
		t.Fatal(err)
	}
	src := fmt.Sprintf(`tracepoint:sched:sched_process_exec /comm == "%s"/ { printf("%%d\n", pid); }`, name)
	p := scriptPlan(t, fs, uniq("ft"), src)
	f, err := NewFlight(fs, p, FlightOptions{Size: 256 << 10, Format: FormatText, Trigger: "sched:sched_process_exec"})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dir := t.TempDir()
	dumps := make(chan string, 4)
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() {
		served <- f.Serve(ctx, dir, nil, func(why, file string, n int) {
			if why == "trigger" {
				dumps <- file
			}
		})
	}()
	// Execs of other programs do not pass the filter.
	runProg(t, orig, "calls", "1", "1", "1")
	select {
	case file := <-dumps:
		t.Fatalf("dumped %s before the trigger event", file)
	case <-time.After(300 * time.Millisecond):
	}
	runProg(t, prog, "calls", "1", "10", "20")
	var file string
	select {
	case file = <-dumps:
	case <-time.After(10 * time.Second):
		t.Fatal("no dump 10s after the trigger event")
	}
	cancel()
	if err := <-served; err != nil {
		t.Fatal(err)
	}
	ents, _ := readAll(t, file)
	found := false
	for _, e := range ents {
		if e.Event == "sched_process_exec" && strings.Contains(fieldOf(&e, "filename"), name) {
			found = true
		}
	}
	if !found {
		t.Errorf("the dump lacks the exec that triggered it: %+v", ents)
	}
}

// TestFlightTriggerHits: every dump that a trigger makes holds the hit
// that made it, over many hits in a row. The trigger and the flight ring
// are two perf events on one tracepoint, written in one handler, and the
// trigger's reader can be woken before the handler reaches the flight
// ring (CI on e37f5cc lost the race once); each hit here is a kill(2) of
// its own target, which no pid has, so the dump must hold that target.
func TestFlightTriggerHits(t *testing.T) {
	testenv.RequireSyscallEvents(t)
	fs := mustFS(t)
	runtime.LockOSThread() // the filter is on this thread's kills
	defer runtime.UnlockOSThread()
	src := fmt.Sprintf(`tracepoint:syscalls:sys_enter_kill /tid == %d/ { printf("%%d\n", args.pid); }`, syscall.Gettid())
	p := scriptPlan(t, fs, uniq("fh"), src)
	f, err := NewFlight(fs, p, FlightOptions{Size: 64 << 10, Format: FormatText, Trigger: "syscalls:sys_enter_kill"})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dir := t.TempDir()
	dumps := make(chan string, 1)
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() {
		served <- f.Serve(ctx, dir, nil, func(why, file string, n int) { dumps <- file })
	}()
	defer func() {
		cancel()
		if err := <-served; err != nil {
			t.Fatal(err)
		}
	}()
	const hits = 100
	missed := 0
	for i := range hits {
		target := 1<<30 + i // beyond pid_max (at most 1<<22): ESRCH
		if err := syscall.Kill(target, 0); err != syscall.ESRCH {
			t.Fatalf("kill(%d, 0): %v, want ESRCH", target, err)
		}
		var file string
		select {
		case file = <-dumps:
		case <-time.After(10 * time.Second):
			t.Fatalf("hit %d: no dump in 10 s", i)
		}
		ents, _ := readAll(t, file)
		os.Remove(file)
		want := strconv.Itoa(target)
		found := false
		for _, e := range ents {
			if e.Event == "sys_enter_kill" && (fieldOf(&e, "pid") == want || fieldOf(&e, "pid") == fmt.Sprintf("%#x", target)) {
				found = true
			}
		}
		if !found {
			missed++
			if missed == 1 {
				t.Logf("hit %d: the dump lacks kill(%d): %+v", i, target, ents)
			}
		}
	}
	if missed > 0 {
		t.Errorf("%d of %d dumps lack the hit that triggered them", missed, hits)
	}
}
