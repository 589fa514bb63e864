package testenv

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// The programs testenv builds for a test binary (testprog, tracelet) go in
// directories named after the building process, tracelet-test-PID-*, so
// that Main removes them when the binary's tests end, and a later test
// binary removes those of a binary that was killed first.
const tempPrefix = "tracelet-test-"

var tempDirs struct {
	sync.Mutex
	dirs  []string
	swept bool
}

// tempDir makes a directory for a program built for this test binary.
func tempDir() (string, error) {
	tempDirs.Lock()
	defer tempDirs.Unlock()
	if !tempDirs.swept {
		tempDirs.swept = true
		sweepTempDirs()
	}
	dir, err := os.MkdirTemp("", tempPrefix+strconv.Itoa(os.Getpid())+"-")
	if err == nil {
		tempDirs.dirs = append(tempDirs.dirs, dir)
	}
	return dir, err
}

// RemoveBuilt removes what testenv built for this test binary.
func RemoveBuilt() {
	tempDirs.Lock()
	defer tempDirs.Unlock()
	for _, d := range tempDirs.dirs {
		os.RemoveAll(d)
	}
	tempDirs.dirs = nil
}

// Main runs a package's tests and then removes what testenv built for
// them: func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }.
func Main(m *testing.M) int {
	code := m.Run()
	RemoveBuilt()
	return code
}

// sweepTempDirs removes the directories of test binaries that no longer
// run (killed before their TestMain could clean up).
func sweepTempDirs() {
	matches, _ := filepath.Glob(filepath.Join(os.TempDir(), tempPrefix+"*"))
	for _, m := range matches {
		pid, _, ok := strings.Cut(strings.TrimPrefix(filepath.Base(m), tempPrefix), "-")
		n, err := strconv.Atoi(pid)
		if !ok || err != nil || n <= 0 || n == os.Getpid() {
			continue
		}
		if err := syscall.Kill(n, 0); err == syscall.ESRCH {
			os.RemoveAll(m)
		}
	}
}
