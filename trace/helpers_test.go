package trace

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tracelet/tracelet/internal/testenv"
	"github.com/tracelet/tracelet/tracefs"
)

// event is a decoded sample copied out of the ring.
type event struct {
	Name     string
	Pid, Tid int
	CPU      int
	Comm     string
	Fields   map[string]tracefs.Value
	Text     string
	Stack    int
}

var groupSeq atomic.Int32

// testGroup gives each session of this test binary its own owner group,
// tracelet_<pid>_<n>, which Sweep would still recognise as ours.
func testGroup() string {
	return fmt.Sprintf("%s_t%d", tracefs.OwnerGroup(os.Getpid()), groupSeq.Add(1))
}

func mustFS(t testing.TB) *tracefs.FS {
	t.Helper()
	testenv.RequireRoot(t)
	fs, err := tracefs.Find()
	if err != nil {
		t.Fatal(err)
	}
	return fs
}

// waitingProg starts `testprog wait ARGS...`, which prints "ready" and
// blocks until it reads a line, so that a session can attach to its pid
// before it does anything traced.
type waitingProg struct {
	cmd *exec.Cmd
	in  io.WriteCloser
}

func startWaiting(t testing.TB, args ...string) *waitingProg {
	t.Helper()
	cmd := exec.Command(testenv.TestProg(t), append([]string{"wait"}, args...)...)
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || line != "ready\n" {
		t.Fatalf("testprog wait: got %q, %v", line, err)
	}
	go io.Copy(io.Discard, out)
	return &waitingProg{cmd: cmd, in: in}
}

// run releases the program and waits for it to exit.
func (w *waitingProg) run(t testing.TB) {
	t.Helper()
	if _, err := io.WriteString(w.in, "go\n"); err != nil {
		t.Fatal(err)
	}
	if err := w.cmd.Wait(); err != nil {
		t.Fatalf("testprog: %v", err)
	}
}

// newSession opens a session and closes it at the end of the test,
// checking that its group is gone afterwards.
func newSession(t testing.TB, opts Options) *Session {
	t.Helper()
	fs := mustFS(t)
	opts.FS = fs
	if opts.Group == "" {
		opts.Group = testGroup()
	}
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		assertGroupGone(t, fs, opts.Group)
	})
	return s
}

func assertGroupGone(t testing.TB, fs *tracefs.FS, group string) {
	t.Helper()
	for _, f := range []string{tracefs.UprobeEvents, tracefs.KprobeEvents} {
		if !fs.Has(f) {
			continue
		}
		evs, err := fs.DynamicEvents(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range evs {
			if e.Group == group {
				t.Errorf("%s still holds %s/%s after Close", f, e.Group, e.Event)
			}
		}
	}
	if _, err := os.Stat(fs.Root() + "/events/" + group); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("events/%s still exists after Close (%v)", group, err)
	}
}

// drain stops the session and returns every event left in its rings.
func drain(t testing.TB, s *Session) []event {
	t.Helper()
	s.Stop()
	var out []event
	p := NewPrinter(nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		smp, err := s.Next(ctx)
		if err == ErrIdle {
			continue
		}
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		e := event{Name: smp.Event.Name(), Pid: smp.Pid, Tid: smp.Tid, CPU: smp.CPU, Comm: smp.Comm,
			Fields: map[string]tracefs.Value{}, Stack: smp.Callchain.Len()}
		for i, f := range smp.Event.Format.Fields {
			v := smp.Record.Values[i]
			v.Bytes = append([]byte(nil), v.Bytes...)
			e.Fields[f.Name] = v
		}
		e.Text = strings.TrimSuffix(string(p.AppendText(nil, smp)), "\n")
		out = append(out, e)
	}
}
