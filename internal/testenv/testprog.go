package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"golang.org/x/sys/unix"
)

// Symbols of internal/testprog that tests put probes on.
var (
	// CABITarget is entered with six arguments where the C ABI puts them
	// (registers, and the stack on i386 and for the fifth and sixth on
	// arm and mips) and returns their sum.
	CABITarget = "main.cabiTarget" + ABI0Suffix
	// CABICaller is the assembly trampoline that calls CABITarget.
	CABICaller = "main.cabi6" + ABI0Suffix
)

// GoTarget takes (a, b int64) in Go's register ABI and returns a*1000+b.
const GoTarget = "main.goTarget"

// ABI0Suffix is what Go appends to the .symtab name of an assembly (ABI0)
// function, such as runtime.goexit, in testprog: ".abi0" where Go has a
// register ABI (amd64, arm64, riscv64, ppc64), "" where it has none (386,
// arm, mips). It follows testprog's architecture, which is the running
// kernel's (the guest image's, or the host go tool's default), not this
// test binary's: a 386 test binary on an x86_64 kernel (make compat386)
// traces an amd64 testprog.
var ABI0Suffix = abi0Suffix(kernelMachine())

// GoFramePointers reports whether testprog's Go code keeps a frame-pointer
// chain, which the kernel's user-stack unwinder (perf callchains, the
// stacktrace trigger) follows: Go keeps one on amd64 and arm64 only. On
// the other architectures a user stack taken in testprog has its first
// frame, the probed one, and no callers.
var GoFramePointers = map[string]bool{"x86_64": true, "aarch64": true}[kernelMachine()]

func abi0Suffix(machine string) string {
	switch machine {
	case "x86_64", "aarch64", "riscv64", "ppc64le", "ppc64", "loongarch64":
		return ".abi0"
	}
	return ""
}

func kernelMachine() string {
	var u unix.Utsname
	if unix.Uname(&u) != nil {
		return runtime.GOARCH
	}
	return unix.ByteSliceToString(u.Machine[:])
}

// prebuilt is a program the VM suite's image carries prebuilt (its path in
// env) and the host builds once per test binary, during the test.
type prebuilt struct {
	env, name string
	flags     []string // extra go build flags
	goenv     []string // extra environment of go build (GOARCH=...)
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
		cmd.Env = append(append(os.Environ(), "CGO_ENABLED=0"), p.goenv...)
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

// compat32 is the 32-bit GOARCH (and its environment) whose binaries a
// 64-bit kernel of machine runs as compat processes.
var compat32 = map[string][]string{
	"x86_64":  {"GOARCH=386"},
	"aarch64": {"GOARCH=arm", "GOARM=7"},
}

var testProg32 = &prebuilt{env: "TRACELET_TESTPROG_COMPAT", name: "testprog-compat", goenv: compat32[kernelMachine()]}

// CABITarget32 is CABITarget in TestProg32: a 32-bit Go binary has no
// register ABI, so no ".abi0".
const CABITarget32 = "main.cabiTarget"

// TestProg32 returns internal/testprog built for the 32-bit architecture
// that this 64-bit kernel runs as compat processes: i386 under x86_64,
// armv7 under arm64 (the VM suite's image carries it prebuilt,
// TRACELET_TESTPROG_COMPAT). It skips where the kernel has no such
// architecture, or refuses to exec it (IA-32 emulation or COMPAT off, or
// a CPU without AArch32): a capability the machine lacks, named.
func TestProg32(t testing.TB) string {
	t.Helper()
	m := kernelMachine()
	if compat32[m] == nil {
		t.Skipf("a %s kernel runs no 32-bit compat processes that tracelet has a table for (i386 under x86_64, arm under arm64)", m)
	}
	p := testProg32.get(t)
	if out, err := exec.Command(p, "exit", "0").CombinedOutput(); err != nil {
		t.Skipf("this %s kernel cannot exec %s (%v): %s %v", m, p, compat32[m], err, out)
	}
	return p
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
