package tracefs

import "github.com/tracelet/tracelet/internal/testenv"

// archRegs rewrites the x86_64 registers that the tests' definitions name
// into this architecture's: the tests probe internal/testprog's six-argument
// C-ABI function, whose arguments arrive in di, si, dx, cx, r8, r9 on x86_64
// and in x0..x5 on arm64, so each register keeps its meaning.
func archRegs(def string) string { return testenv.HostRegs(def) }
