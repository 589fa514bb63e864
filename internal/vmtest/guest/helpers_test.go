package guest

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/tracelet/tracelet/internal/testenv"
	"github.com/tracelet/tracelet/tracefs"
)

// setup skips without kprobes (host) and returns tracefs, the probe ABI of
// this architecture, and a group of our own, removed when the test ends.
func setup(t *testing.T) (*tracefs.FS, testenv.ABI, string) {
	t.Helper()
	testenv.RequireKprobes(t)
	fsys, err := tracefs.Find()
	if err != nil {
		t.Fatal(err)
	}
	a := testenv.KernelABI(t)
	group := fmt.Sprintf("tracelet_%d_%s", os.Getpid(), strings.ToLower(strings.TrimPrefix(t.Name(), "Test")))
	t.Cleanup(func() {
		if err := fsys.RemoveGroup(tracefs.KprobeEvents, group); err != nil {
			t.Errorf("cleanup: %v", err)
		}
		if evs := groupEvents(t, fsys, group); len(evs) > 0 {
			t.Errorf("cleanup left %v behind", evs)
		}
	})
	return fsys, a, group
}

// argN are the fetchargs of a kernel function's first two arguments: $arg1
// and $arg2, or the argument registers where the kernel has no $argN
// (32-bit arm).
func argN(abi testenv.ABI) (string, string) {
	if !tracefs.KernelArch().HasArgN() {
		return abi.ArgRegs[0], abi.ArgRegs[1]
	}
	return "$arg1", "$arg2"
}

// groupEvents lists the kprobe events of group.
func groupEvents(t *testing.T, fsys *tracefs.FS, group string) []string {
	t.Helper()
	evs, err := fsys.DynamicEvents(tracefs.KprobeEvents)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range evs {
		if e.Group == group {
			out = append(out, e.Event)
		}
	}
	return out
}

// sharedInstance is the package's private trace instance. Creating one
// allocates a ring buffer per CPU and a directory per event (thousands), and
// under TCG that takes seconds, so the tests share one; each test filters
// and enables only its own group's events in it. TestMain removes it.
var sharedInstance struct {
	once sync.Once
	in   *tracefs.Instance
	err  error
}

// instance returns the shared private trace instance, so no test writes
// into the global buffer.
func instance(t *testing.T, fsys *tracefs.FS) *tracefs.Instance {
	t.Helper()
	sharedInstance.once.Do(func() {
		sharedInstance.in, sharedInstance.err = fsys.NewInstance(fmt.Sprintf("tracelet_%d", os.Getpid()))
	})
	if sharedInstance.err != nil {
		t.Fatalf("creating trace instance: %v", sharedInstance.err)
	}
	return sharedInstance.in
}

func TestMain(m *testing.M) {
	code := m.Run()
	if in := sharedInstance.in; in != nil {
		if err := in.Close(); err != nil {
			fmt.Fprintf(os.Stderr, "removing %s: %v\n", in.Name(), err)
			code = 1
		}
	}
	os.Exit(code)
}

// define writes one definition and fails the test with the kernel's
// error_log entry when it is rejected.
func define(t *testing.T, fsys *tracefs.FS, def string) {
	t.Helper()
	err := fsys.AddDynamicEvent(tracefs.KprobeEvents, def)
	if errors.Is(err, tracefs.ErrFtraceOwnsEntry) {
		t.Skipf("this kernel places no return probes: %v", err)
	}
	if err != nil {
		t.Fatalf("defining %q: %v", def, err)
	}
}

// enable enables group/event in inst and returns the function that
// disables it, which also runs when the test ends (before the group's
// removal, since cleanups run last-in first-out). The enable file stays open
// in between, so that disabling opens no file: a probe on the open path
// would otherwise see that open too. Disable before reading the trace.
func enable(t *testing.T, inst *tracefs.Instance, ev string) (disable func()) {
	t.Helper()
	p := filepath.Join(inst.Path(), "events", ev, "enable")
	f, err := os.OpenFile(p, os.O_WRONLY, 0)
	if err != nil {
		t.Fatalf("enabling %s: %v", ev, err)
	}
	if _, err := f.Write([]byte("1")); err != nil {
		f.Close()
		t.Fatalf("enabling %s: %v", ev, err)
	}
	var once sync.Once
	disable = func() {
		once.Do(func() {
			if _, err := f.Write([]byte("0")); err != nil {
				t.Errorf("disabling %s: %v", ev, err)
			}
			f.Close()
		})
	}
	t.Cleanup(disable)
	return disable
}

// listed returns the kprobe_events line of group/event.
func listed(t *testing.T, fsys *tracefs.FS, ev string) string {
	t.Helper()
	evs, err := fsys.DynamicEvents(tracefs.KprobeEvents)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		if e.Group+"/"+e.Event == ev {
			return e.Raw
		}
	}
	t.Fatalf("kprobe_events does not list %s: %v", ev, evs)
	return ""
}

// hits returns an event's kprobe_profile counts.
func hits(t *testing.T, fsys *tracefs.FS, event string) (hits, misses uint64) {
	t.Helper()
	es, err := fsys.Profile("kprobe_profile")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range es {
		if e.Event == event {
			return e.Hits, e.Misses
		}
	}
	t.Fatalf("kprobe_profile has no %s", event)
	return 0, 0
}

// traceLines returns the lines of an instance's trace that contain substr.
func traceLines(t *testing.T, inst *tracefs.Instance, substr string) []string {
	t.Helper()
	// The trace file is generated as it is read; bound it (a 6.1 guest
	// once produced trace text until the OOM killer came).
	f, err := os.Open(filepath.Join(inst.Path(), "trace"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 16<<20))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(line, "#") && strings.Contains(line, substr) {
			out = append(out, line)
		}
	}
	return out
}

// fields parses the "name=value" pairs a kprobe event prints after its
// "(symbol+off/size)" location; a string value is quoted and may hold
// spaces.
func fields(line string) map[string]string {
	m := map[string]string{}
	_, rest, ok := strings.Cut(line, ") ")
	if !ok {
		return m
	}
	for rest != "" {
		rest = strings.TrimLeft(rest, " ")
		name, after, ok := strings.Cut(rest, "=")
		if !ok {
			break
		}
		var val string
		if strings.HasPrefix(after, `"`) {
			end := strings.Index(after[1:], `"`)
			if end < 0 {
				val, rest = after[1:], ""
			} else {
				val, rest = after[1:end+1], after[end+2:]
			}
		} else {
			val, rest, _ = strings.Cut(after, " ")
		}
		m[name] = val
	}
	return m
}

// release is uname -r.
func release(t *testing.T) string {
	t.Helper()
	var u syscall.Utsname
	if err := syscall.Uname(&u); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, c := range u.Release {
		if c == 0 {
			break
		}
		b.WriteByte(byte(c))
	}
	return b.String()
}
