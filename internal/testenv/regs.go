package testenv

import (
	"runtime"
	"strings"
)

// x86ToARM64 renames x86_64 fetcharg registers to the arm64 registers that
// play the same part: the C ABI's argument registers di, si, dx, cx, r8, r9
// are x0..x5 there, the return value ax is x0, the instruction pointer is
// pc. Each name keeps its length, so error-table columns stay right.
var x86ToARM64 = strings.NewReplacer(
	"%di", "%x0", "%si", "%x1", "%dx", "%x2", "%cx", "%x3", "%r8", "%x4", "%r9", "%x5",
	"%ax", "%x0", "%ip", "%pc",
)

// X86ToARM64 rewrites the x86_64 registers of a definition for arm64.
func X86ToARM64(def string) string { return x86ToARM64.Replace(def) }

// HostRegs rewrites a definition written with x86_64 registers for the
// architecture the test runs on (the VM suite runs arm64 guests too).
func HostRegs(def string) string {
	if runtime.GOARCH == "arm64" {
		return X86ToARM64(def)
	}
	return def
}
