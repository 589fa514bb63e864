package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// RequireHostTool returns the path of a tool that only the development host
// has, such as bpftool (a test oracle). The VM suite's guests hold busybox,
// tracelet and the test binaries and nothing else, so there the test is
// skipped with a message naming what the guest lacks and where the check
// runs instead. On the host a missing tool fails under CI (make deps
// installs it) and skips otherwise.
func RequireHostTool(t testing.TB, tool, install string) string {
	t.Helper()
	if InVM() {
		t.Skipf("the VM-suite guest has no %s (its image is busybox, tracelet and the test binaries, with no libc): this check runs in the host suite", tool)
	}
	p, err := exec.LookPath(tool)
	if err == nil {
		return p
	}
	if InCI() {
		t.Fatalf("%s is not installed (%s; make deps)", tool, install)
	}
	t.Skipf("%s is not installed (%s)", tool, install)
	return ""
}

var traceletBin struct {
	once sync.Once
	path string
	err  error
}

// Tracelet returns the tracelet binary the CLI tests run: TRACELET_BIN when
// set (the VM suite's guest sets it to its prebuilt /bin/tracelet), otherwise
// ./cmd/tracelet built once per test binary with the go toolchain.
func Tracelet(t testing.TB) string {
	t.Helper()
	p, err := BuildTracelet()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// BuildTracelet is Tracelet for TestMain, which has no testing.TB.
func BuildTracelet() (string, error) {
	if p := os.Getenv("TRACELET_BIN"); p != "" {
		return p, nil
	}
	traceletBin.once.Do(func() {
		if InVM() {
			traceletBin.err = fmt.Errorf("the VM-suite guest has no go toolchain and TRACELET_BIN is not set (the guest image lacks /bin/tracelet: see the vmtest build log)")
			return
		}
		dir, err := tempDir()
		if err != nil {
			traceletBin.err = err
			return
		}
		traceletBin.path = filepath.Join(dir, "tracelet")
		cmd := exec.Command(goTool(), "build", "-o", traceletBin.path, "github.com/tracelet/tracelet/cmd/tracelet")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			traceletBin.err = fmt.Errorf("building cmd/tracelet: %w", &buildError{err: err, out: string(out)})
		}
	})
	return traceletBin.path, traceletBin.err
}
