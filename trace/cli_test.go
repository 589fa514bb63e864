package trace

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tracelet/tracelet/internal/testenv"
	"github.com/tracelet/tracelet/tracefs"
)

var (
	binOnce sync.Once
	binErr  error
)

// tracelet returns the CLI binary (testenv.Tracelet: the guest's prebuilt
// one in the VM suite, built once otherwise), checked to have `trace`.
func tracelet(t testing.TB) string {
	t.Helper()
	testenv.RequireRoot(t)
	bin := testenv.Tracelet(t)
	binOnce.Do(func() {
		if out, err := exec.Command(bin, "trace", "--help").CombinedOutput(); err != nil {
			binErr = fmt.Errorf("cmd/tracelet does not register traceCommand (tracelet trace --help: %v)\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return bin
}

// cabiSpec is a uprobe SPEC on the C-ABI target; args name the first two
// arguments' registers as on x86_64 (%di, %si), translated for this machine.
func cabiSpec(t testing.TB, args string) string {
	r := cabiRegs(t)
	args = strings.NewReplacer("%di", r[0], "%si", r[1]).Replace(args)
	prog := testenv.TestProg(t)
	return fmt.Sprintf("p %s:%#x %s", prog, symbol(t, prog, testenv.CABITarget).Offset, args)
}

// groupDefined reports whether owner group of pid holds probes, uprobes or
// (on a kernel with kprobes) kprobes.
func groupDefined(t testing.TB, fs *tracefs.FS, pid int) bool {
	for _, file := range []string{tracefs.UprobeEvents, tracefs.KprobeEvents} {
		if file == tracefs.KprobeEvents && !fs.Has(file) {
			continue
		}
		evs, err := fs.DynamicEvents(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range evs {
			if e.Group == tracefs.OwnerGroup(pid) {
				return true
			}
		}
	}
	return false
}

func waitDefined(t testing.TB, fs *tracefs.FS, cmd *exec.Cmd) {
	t.Helper()
	for i := 0; i < 500; i++ {
		if groupDefined(t, fs, cmd.Process.Pid) {
			// Defined; the perf events are opened right after.
			time.Sleep(100 * time.Millisecond)
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("tracelet %d never defined its probes", cmd.Process.Pid)
}

var summaryRE = regexp.MustCompile(`(?m)^(\d+) events, (\d+) lost$`)

func summary(t testing.TB, stderr string) (events, lost uint64) {
	t.Helper()
	m := summaryRE.FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("no summary line in stderr:\n%s", stderr)
	}
	events, _ = strconv.ParseUint(m[1], 10, 64)
	lost, _ = strconv.ParseUint(m[2], 10, 64)
	return events, lost
}

// TestCLIClosedPipe: `tracelet trace ... | head -n 1` ends with status 0
// when head exits, and removes its probes.
func TestCLIClosedPipe(t *testing.T) {
	bin, fs := tracelet(t), mustFS(t)
	// tracelet's own exit status comes back through a file: POSIX sh has
	// no PIPESTATUS.
	status, pidFile := filepath.Join(t.TempDir(), "status"), filepath.Join(t.TempDir(), "pid")
	cmd := exec.Command("sh", "-c", `{ "$0" trace -c "$1 calls 200000 1 2" "$2" & echo $! > "$4"; wait $!; echo $? > "$3"; } | head -n 1`,
		bin, testenv.TestProg(t), cabiSpec(t, "a=%di:u64"), status, pidFile)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	if n := strings.Count(string(out), "\n"); n != 1 || !strings.Contains(string(out), " a=1") {
		t.Errorf("head printed %q", out)
	}
	b, err := os.ReadFile(status)
	if err != nil {
		t.Fatal(err)
	}
	if s := strings.TrimSpace(string(b)); s != "0" {
		t.Errorf("tracelet exited with status %s after the pipe closed, want 0; stderr:\n%s", s, stderr.String())
	}
	summary(t, stderr.String())
	pb, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(pb)))
	if err != nil {
		t.Fatal(err)
	}
	if groupDefined(t, fs, pid) {
		t.Errorf("tracelet (pid %d) left its owner group %s behind after the pipe closed", pid, tracefs.OwnerGroup(pid))
	}
}

func mustDynamic(t testing.TB, fs *tracefs.FS) []tracefs.DynamicEvent {
	evs, err := fs.DynamicEvents(tracefs.UprobeEvents)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// TestCLISignals: SIGINT and SIGTERM end the run cleanly and remove the
// owner group.
func TestCLISignals(t *testing.T) {
	testSignalCleanup(t, cabiSpec(t, "a=%di"))
}

// testSignalCleanup runs `tracelet trace SPECS...`, waits for its probes,
// and checks that SIGINT and SIGTERM each end it with status 0, a summary,
// and its owner group removed.
func testSignalCleanup(t *testing.T, specs ...string) {
	bin, fs := tracelet(t), mustFS(t)
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			cmd := exec.Command(bin, append([]string{"trace"}, specs...)...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer cmd.Process.Kill()
			waitDefined(t, fs, cmd)
			cmd.Process.Signal(sig)
			if err := cmd.Wait(); err != nil {
				t.Errorf("after %v: %v\n%s", sig, err, stderr.String())
			}
			if groupDefined(t, fs, cmd.Process.Pid) {
				t.Errorf("owner group of %d still defined after %v", cmd.Process.Pid, sig)
			}
			summary(t, stderr.String())
		})
	}
}

// TestCLISigkillSweep: SIGKILL leaves the owner group, and the next
// session's sweep removes it.
func TestCLISigkillSweep(t *testing.T) {
	bin, fs := tracelet(t), mustFS(t)
	cmd := exec.Command(bin, "trace", cabiSpec(t, "a=%di"))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitDefined(t, fs, cmd)
	cmd.Process.Kill()
	cmd.Wait()
	pid := cmd.Process.Pid
	if !groupDefined(t, fs, pid) {
		t.Fatal("a SIGKILLed run removed its probes; nothing to sweep")
	}
	// A new session sweeps it before defining its own.
	s := newSession(t, Options{Specs: []string{"syscalls:sys_enter_close"}})
	s.Close()
	if groupDefined(t, fs, pid) {
		t.Errorf("owner group %s survived the next session's sweep", tracefs.OwnerGroup(pid))
	}
}

// TestCLIOverflowSummary: a one-page ring floods; the summary's counts add
// up to the calls the traced command made, and match the lines printed.
func TestCLIOverflowSummary(t *testing.T) {
	bin := tracelet(t)
	const calls = 100000
	cmd := exec.Command(bin, "trace", "--ring-size", strconv.Itoa(os.Getpagesize()),
		"-c", fmt.Sprintf("%s calls %d 1 2", testenv.TestProg(t), calls), cabiSpec(t, "a=%di b=%si"))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	events, lost := summary(t, stderr.String())
	lines := uint64(bytes.Count(out, []byte("\n")))
	t.Logf("%d events, %d lost", events, lost)
	if lines != events {
		t.Errorf("printed %d lines, summary says %d events", lines, events)
	}
	if lost == 0 {
		t.Error("a one-page ring lost nothing under a flood")
	}
	if events+lost != calls {
		t.Errorf("%d events + %d lost = %d, want %d calls", events, lost, events+lost, calls)
	}
}

// TestCLIJSON: -o json prints one object per event with typed fields.
func TestCLIJSON(t *testing.T) {
	bin := tracelet(t)
	r := cabiRegs(t)
	cmd := exec.Command(bin, "trace", "-o", "json", "-c", testenv.TestProg(t)+" str jsonval",
		cabiSpec(t, fmt.Sprintf("s=+0(%s):ustring n=%s:s32", r[0], r[1])))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	n := 0
	for sc.Scan() {
		var obj struct {
			Event  string
			Comm   string
			Fields map[string]any
		}
		if err := json.Unmarshal(sc.Bytes(), &obj); err != nil {
			t.Fatalf("%v: %s", err, sc.Text())
		}
		if obj.Fields["s"] != "jsonval" || obj.Fields["n"] != float64(7) || !strings.HasPrefix(obj.Event, "tracelet_") {
			t.Errorf("object %s", sc.Text())
		}
		n++
	}
	if n != 1 {
		t.Errorf("%d objects, want 1:\n%s", n, out)
	}
}
