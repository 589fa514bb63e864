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

// prebuilt is a program the VM suite's image carries prebuilt (its path in
// env) and the host builds once per test binary, during the test.
type prebuilt struct {
	env, name string
	flags     []string // extra go build flags
	once      sync.Once
	path      string
	err       error
}

func (p *prebuilt) get(t testing.TB) string {
	t.Helper()
	if v := os.Getenv(p.env); v != "" {
		return v
	}
	p.once.Do(func() {
		dir, err := tempDir()
		if err != nil {
			p.err = err
			return
		}
		p.path = filepath.Join(dir, p.name)
		args := append(append([]string{"build"}, p.flags...), "-o", p.path, "github.com/tracelet/tracelet/internal/testprog")
		cmd := exec.Command(goTool(), args...)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			p.err = &buildError{err: err, out: string(out)}
		}
	})
	if p.err != nil {
		t.Fatalf("building internal/testprog as %s: %v", p.name, p.err)
	}
	return p.path
}

var testProg = &prebuilt{env: "TRACELET_TESTPROG", name: "testprog"}

// TestProg returns the path of the static test workload (internal/testprog).
// In the VM suite the guest image carries it prebuilt (TRACELET_TESTPROG);
// on the host it is built once per test binary, during the test.
func TestProg(t testing.TB) string {
	t.Helper()
	return testProg.get(t)
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
