package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

// Symbols of internal/testprog that tests put probes on. Go writes assembly
// (ABI0) functions into .symtab with an ".abi0" suffix.
const (
	// CABITarget is entered with six arguments in the C ABI's registers and
	// returns their sum.
	CABITarget = "main.cabiTarget.abi0"
	// GoTarget takes (a, b int64) in Go's register ABI and returns a*1000+b.
	GoTarget = "main.goTarget"
)

var (
	progOnce sync.Once
	progPath string
	progErr  error
)

// TestProg returns the path of the static test workload (internal/testprog).
// In the VM suite the guest image carries it prebuilt (TRACELET_TESTPROG);
// on the host it is built once per test binary, during the test.
func TestProg(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("TRACELET_TESTPROG"); p != "" {
		return p
	}
	progOnce.Do(func() {
		dir, err := os.MkdirTemp("", "tracelet-testprog-")
		if err != nil {
			progErr = err
			return
		}
		progPath = filepath.Join(dir, "testprog")
		cmd := exec.Command(goTool(), "build", "-o", progPath, "github.com/tracelet/tracelet/internal/testprog")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			progErr = &buildError{err: err, out: string(out)}
		}
	})
	if progErr != nil {
		t.Fatalf("building internal/testprog: %v", progErr)
	}
	return progPath
}

type buildError struct {
	err error
	out string
}

func (e *buildError) Error() string { return e.err.Error() + "\n" + e.out }

func goTool() string {
	if p := filepath.Join(runtime.GOROOT(), "bin", "go"); fileExists(p) {
		return p
	}
	return "go"
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }
