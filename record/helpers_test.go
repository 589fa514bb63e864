package record

import (
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/tracelet/tracelet/internal/testenv"
	"github.com/tracelet/tracelet/scriptrun"
	"github.com/tracelet/tracelet/tracefs"
)

func mustFS(t *testing.T) *tracefs.FS {
	t.Helper()
	testenv.RequireRoot(t)
	fs, err := tracefs.Find()
	if err != nil {
		t.Fatal(err)
	}
	return fs
}

// cabiScript is a script of a uprobe on the test workload's C-ABI function
// (its first two arguments are the numbers testprog is given) and a
// tracepoint filtered to testprog's execs, with a predicate on the uprobe.
func cabiScript(t *testing.T) (prog, src string) {
	t.Helper()
	prog = testenv.TestProg(t)
	path, off, err := tracefs.ResolveSymbol(prog, testenv.CABITarget)
	if err != nil {
		t.Fatal(err)
	}
	return prog, fmt.Sprintf(`uprobe:%s:%#x /arg0 >= 10/ { printf("%%d %%d\n", arg0, arg1); }
tracepoint:sched:sched_process_exec /comm == "testprog"/ { printf("%%d\n", pid); }
`, path, off)
}

// scriptPlan compiles src for this machine and reverts it at the end.
func scriptPlan(t *testing.T, fs *tracefs.FS, name, src string) *tracefs.Plan {
	t.Helper()
	p, err := PlanFromScript(name+".bt", []byte(src), ScriptOptions{Name: name, BufferSizeKB: 256, Formats: scriptrun.TracefsFormats(fs)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := fs.Revert(p); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	return p
}

func runProg(t *testing.T, prog string, args ...string) {
	t.Helper()
	if out, err := exec.Command(prog, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %v: %v\n%s", prog, args, err, out)
	}
}

func uniq(prefix string) string {
	return fmt.Sprintf("%s%d_%d", prefix, os.Getpid(), time.Now().UnixNano()%1e6)
}

// fieldOf returns the text of field name of e.
func fieldOf(e *Entry, name string) string {
	for _, f := range e.Fields {
		if f.Name == name {
			return f.Text
		}
	}
	return ""
}
