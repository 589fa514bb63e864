package tracefs

import (
	"testing"

	"github.com/tracelet/tracelet/internal/testenv"
)

// archRegs rewrites the x86_64 registers that the tests' definitions name
// into the running kernel's architecture: the tests probe
// internal/testprog's six-argument C-ABI function, whose arguments arrive
// in di, si, dx, cx, r8, r9 on x86_64, in x0..x5 on arm64 and on the stack
// on i386, so each argument keeps its meaning.
func archRegs(t testing.TB, def string) string { return testenv.CABIArgs(t, def) }
