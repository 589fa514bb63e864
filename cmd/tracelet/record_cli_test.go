package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tracelet/tracelet/internal/testenv"
	"github.com/tracelet/tracelet/record"
)

// recordScript writes a script of one uprobe on testprog's C-ABI target that
// prints its first two arguments, and returns its path and testprog's.
func recordScript(t *testing.T, name string) (script, prog string) {
	t.Helper()
	testenv.RequireRoot(t)
	prog = testenv.TestProg(t)
	script = filepath.Join(t.TempDir(), fmt.Sprintf("%s%d.bt", name, os.Getpid()))
	src := fmt.Sprintf("uprobe:%s:%s { printf(\"%%d %%d\\n\", arg0, arg1); }\n", prog, testenv.CABITarget)
	if err := os.WriteFile(script, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return script, prog
}

// recorder is a running `tracelet record`.
type recorder struct {
	cmd    *exec.Cmd
	stderr *strings.Builder
	done   chan error
}

// startRecord starts `tracelet record ARGS` and returns once it says it is
// recording (its probes are installed by then).
func startRecord(t *testing.T, args ...string) *recorder {
	t.Helper()
	cmd := exec.Command(tracelet, append([]string{"record"}, args...)...)
	pr, pw := io.Pipe()
	cmd.Stderr = pw
	r := &recorder{cmd: cmd, stderr: &strings.Builder{}, done: make(chan error, 1)}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			r.stderr.WriteString(sc.Text() + "\n")
			if strings.HasPrefix(sc.Text(), "recording ") || strings.HasPrefix(sc.Text(), "flight recorder armed") {
				ready <- true
			}
		}
	}()
	go func() { err := cmd.Wait(); pw.Close(); r.done <- err }()
	t.Cleanup(func() { cmd.Process.Kill() })
	select {
	case <-ready:
	case err := <-r.done:
		t.Fatalf("tracelet record %q ended before recording: %v\n%s", args, err, r.stderr)
	case <-time.After(time.Minute):
		t.Fatalf("tracelet record %q did not start recording in a minute\n%s", args, r.stderr)
	}
	return r
}

// stop sends SIGINT and waits for a clean exit.
func (r *recorder) stop(t *testing.T) {
	t.Helper()
	r.cmd.Process.Signal(syscall.SIGINT)
	r.wait(t, time.Minute)
}

func (r *recorder) wait(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case err := <-r.done:
		if err != nil {
			t.Fatalf("tracelet record: %v\n%s", err, r.stderr)
		}
	case <-time.After(d):
		t.Fatalf("tracelet record still running after %v\n%s", d, r.stderr)
	}
}

func runProg(t *testing.T, prog string, args ...string) {
	t.Helper()
	if out, err := exec.Command(prog, args...).CombinedOutput(); err != nil {
		t.Fatalf("testprog %q: %v\n%s", args, err, out)
	}
}

// rotated returns a recording's files, oldest first: trace.txt.N .. trace.txt.
func rotated(t *testing.T, dir, ext string) []string {
	t.Helper()
	base := filepath.Join(dir, "trace"+ext)
	rot, _ := filepath.Glob(base + ".*")
	sort.Slice(rot, func(i, j int) bool {
		a, _ := strconv.Atoi(rot[i][len(base)+1:])
		b, _ := strconv.Atoi(rot[j][len(base)+1:])
		return a > b
	})
	return append(rot, base)
}

// calls reads files with the record package's reader and returns each
// event's "arg0/arg1".
func calls(t *testing.T, files ...string) []string {
	t.Helper()
	var out []string
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		r := record.NewReader(f)
		for {
			e, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			var a0, a1 string
			for _, fl := range e.Fields {
				switch fl.Name {
				case "arg0":
					a0 = fl.Text
				case "arg1":
					a1 = fl.Text
				}
			}
			out = append(out, a0+"/"+a1)
		}
		f.Close()
	}
	return out
}

func wantCalls(rounds, n int) []string {
	var want []string
	for i := 0; i < rounds; i++ {
		for j := 0; j < n; j++ {
			want = append(want, strconv.Itoa(100+i)+"/"+strconv.Itoa(7*i))
		}
	}
	return want
}

// TestCLIRecordRotateReport: `record --max-size --rotate N` keeps at most
// N rotated files, none past the size, and `report` of them prints what the
// files hold, byte for byte, in order; --summary counts exactly the calls.
func TestCLIRecordRotateReport(t *testing.T) {
	script, prog := recordScript(t, "clirot")
	for _, format := range []string{"text", "json"} {
		t.Run(format, func(t *testing.T) {
			dir := t.TempDir()
			const maxSize, keep = 4096, 3
			r := startRecord(t, "-o", dir, "--format", format, "--max-size", "4K", "--rotate", strconv.Itoa(keep), script)
			const rounds, n = 40, 5
			for i := 0; i < rounds; i++ {
				runProg(t, prog, "calls", strconv.Itoa(n), strconv.Itoa(100+i), strconv.Itoa(7*i))
			}
			r.stop(t)
			ext := ".txt"
			if format == "json" {
				ext = ".jsonl"
			}
			files := rotated(t, dir, ext)
			if len(files) != keep+1 {
				t.Fatalf("%d files (%v), want the file and %d rotated: the workload fills more than %d", len(files), files, keep, keep+1)
			}
			if _, err := os.Stat(filepath.Join(dir, fmt.Sprintf("trace%s.%d", ext, keep+1))); err == nil {
				t.Errorf("rotation kept a file past --rotate %d", keep)
			}
			for _, f := range files {
				if st, _ := os.Stat(f); st.Size() > maxSize {
					t.Errorf("%s is %d bytes, over --max-size %d", f, st.Size(), maxSize)
				}
			}
			// The oldest calls were rotated away; what is kept is the newest
			// ones, in order, without a gap.
			got := calls(t, files...)
			want := wantCalls(rounds, n)
			if len(got) == 0 || len(got) >= len(want) {
				t.Fatalf("kept %d of %d calls", len(got), len(want))
			}
			if g, w := strings.Join(got, " "), strings.Join(want[len(want)-len(got):], " "); g != w {
				t.Fatalf("kept calls:\n%s\nwant the newest %d:\n%s", g, len(got), w)
			}
			// report FILE... prints the format's header and then every
			// record of the files: the files' own bytes, headers dropped.
			var whole strings.Builder
			hdr := ""
			if format == "text" {
				hdr = string(record.FormatText.Header())
			}
			whole.WriteString(hdr)
			for _, f := range files {
				b, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				whole.WriteString(strings.TrimPrefix(string(b), hdr))
			}
			args := append([]string{"report", "--format", format}, files...)
			if out := mustCLI(t, args...); out != whole.String() {
				t.Errorf("report %s printed\n%s\nwant the files' records\n%s", format, out, whole.String())
			}
			var ev string
			for _, e := range readEntries(t, files[len(files)-1]) {
				ev = e.Event
			}
			sum := mustCLI(t, append([]string{"report", "--summary"}, files...)...)
			if want := fmt.Sprintf("%10d  %s\n%10d  total\n", len(got), ev, len(got)); sum != want {
				t.Errorf("report --summary:\n%s\nwant\n%s", sum, want)
			}
		})
	}
}

func readEntries(t *testing.T, name string) []record.Entry {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []record.Entry
	r := record.NewReader(f)
	for {
		e, err := r.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
}

// TestCLIRecordDuration: --duration ends the run by itself, with everything
// recorded before it flushed.
func TestCLIRecordDuration(t *testing.T) {
	script, prog := recordScript(t, "clidur")
	dir := t.TempDir()
	// The arm64 guest (TCG, beside another guest) can take seconds to
	// exec the workload: the window leaves it room.
	const window = 8 * time.Second
	start := time.Now()
	r := startRecord(t, "-o", dir, "--duration", window.String(), script)
	runProg(t, prog, "calls", "9", "123", "45")
	ran := time.Since(start)
	r.wait(t, 30*time.Second)
	if el := time.Since(start); el < window {
		t.Errorf("record --duration %v ended after %v", window, el)
	}
	if got, want := strings.Join(calls(t, filepath.Join(dir, "trace.txt")), " "), strings.Join(wantCallsOf(9, 123, 45), " "); got != want {
		t.Errorf("recorded %s, want %s (the workload was done %v after the start)", got, want, ran)
	}
	if !strings.Contains(r.stderr.String(), "9 events recorded, 0 lost") {
		t.Errorf("record's summary:\n%s", r.stderr)
	}
}

func wantCallsOf(n, a, b int) []string {
	var w []string
	for i := 0; i < n; i++ {
		w = append(w, strconv.Itoa(a)+"/"+strconv.Itoa(b))
	}
	return w
}

// TestCLIRecordSIGHUP: after logrotate's rename, SIGHUP makes the recorder
// open a new trace.txt, and later events go there, not to the moved file.
func TestCLIRecordSIGHUP(t *testing.T) {
	script, prog := recordScript(t, "clihup")
	dir := t.TempDir()
	r := startRecord(t, "-o", dir, script)
	file, moved := filepath.Join(dir, "trace.txt"), filepath.Join(dir, "trace.txt.old")
	runProg(t, prog, "calls", "3", "111", "1")
	// Events reach the file in fsynced chunks; wait until the first ones
	// are there, so that the rename moves them.
	waitFor(t, func() bool { return len(calls(t, file)) == 3 })
	if err := os.Rename(file, moved); err != nil {
		t.Fatal(err)
	}
	r.cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, func() bool { _, err := os.Stat(file); return err == nil })
	runProg(t, prog, "calls", "4", "222", "2")
	r.stop(t)
	if got, want := strings.Join(calls(t, moved), " "), strings.Join(wantCallsOf(3, 111, 1), " "); got != want {
		t.Errorf("the moved file holds %s, want %s", got, want)
	}
	if got, want := strings.Join(calls(t, file), " "), strings.Join(wantCallsOf(4, 222, 2), " "); got != want {
		t.Errorf("the reopened file holds %s, want %s", got, want)
	}
}

// TestCLIFlightSIGUSR1: --flight keeps the events in memory and SIGUSR1
// dumps them to DIR/flight-*.
func TestCLIFlightSIGUSR1(t *testing.T) {
	script, prog := recordScript(t, "cliflt")
	dir := t.TempDir()
	r := startRecord(t, "-o", dir, "--flight", "64K", script)
	runProg(t, prog, "calls", "6", "333", "3")
	r.cmd.Process.Signal(syscall.SIGUSR1)
	var dumps []string
	// The dump is written as flight-*.txt.tmp and renamed when whole.
	waitFor(t, func() bool { dumps, _ = filepath.Glob(filepath.Join(dir, "flight-*.txt")); return len(dumps) == 1 })
	r.stop(t)
	if got, want := strings.Join(calls(t, dumps[0]), " "), strings.Join(wantCallsOf(6, 333, 3), " "); got != want {
		t.Errorf("the dump %s holds %s, want %s", dumps[0], got, want)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatal("timed out after 30s")
}
