package testenv

import (
	"os"
	"os/exec"
	"testing"
)

// Variables the VM suite's /init sets: the guest has no Go toolchain, so
// the host builds these into the image.
const (
	envStripped = "TRACELET_TESTPROG_STRIPPED" // internal/testprog built with -ldflags=-s -w
	envNm       = "TRACELET_GO_NM"             // cmd/nm of the Go toolchain (go tool nm)
)

var strippedProg = &prebuilt{env: envStripped, name: "testprog-stripped", flags: []string{"-ldflags=-s -w"}}

// StrippedTestProg returns internal/testprog without a symbol table
// (-ldflags=-s -w). The VM suite's image carries it prebuilt; on the host it
// is built once per test binary.
func StrippedTestProg(t testing.TB) string {
	t.Helper()
	return strippedProg.get(t)
}

// GoNm returns the command that runs the Go toolchain's nm on file: `go tool
// nm` on the host, the same program prebuilt for the guest's architecture in
// the VM suite. Tests use it as an oracle for symbol addresses that shares
// no code with ours.
func GoNm(t testing.TB, file string) *exec.Cmd {
	t.Helper()
	if p := os.Getenv(envNm); p != "" {
		return exec.Command(p, file)
	}
	if InVM() {
		t.Fatalf("the VM suite's image has no go tool nm (%s is unset)", envNm)
	}
	return exec.Command(goTool(), "tool", "nm", file)
}
