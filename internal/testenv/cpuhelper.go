package testenv

import (
	"fmt"
	"os/exec"
	"regexp"
	"runtime"
	"sync"
	"testing"
)

var cpuHelper = struct {
	sync.Once
	why string
}{}

// RequireCPUHelper skips a test whose answer rests on
// bpf_get_smp_processor_id (a script's cpu, profile -C) on a kernel where
// that helper does not name the CPU a program runs on. Debian's riscv64
// 6.12 guest is one: a thread pinned to CPU 1 (/proc's processor field
// says 1) is seen on CPU 0 by every program, and a profile:hz probe on
// both CPUs keys all its samples by CPU 0. It is checked once per test
// binary, with the tracelet binary: profile:hz for half a second, keyed by
// cpu, must name more than one CPU where more than one is online.
func RequireCPUHelper(t testing.TB) {
	t.Helper()
	RequireRoot(t)
	if runtime.NumCPU() < 2 {
		return
	}
	bin := Tracelet(t)
	cpuHelper.Do(func() { cpuHelper.why = checkCPUHelper(bin) })
	if cpuHelper.why != "" {
		t.Skip(cpuHelper.why)
	}
}

var cpuKey = regexp.MustCompile(`(?m)^@\[(\d+)\]: \d+$`)

func checkCPUHelper(bin string) string {
	out, err := exec.Command(bin, "run", "-e", "profile:hz:199 { @[cpu] = count(); } interval:ms:500 { exit(); }").CombinedOutput()
	if err != nil {
		return "" // the test itself will say what fails
	}
	seen := map[string]bool{}
	for _, m := range cpuKey.FindAllStringSubmatch(string(out), -1) {
		seen[m[1]] = true
	}
	if len(seen) == 1 {
		return fmt.Sprintf("this kernel's bpf_get_smp_processor_id does not name the CPU a program runs on: profile:hz on all %d CPUs for 0.5 s keyed every sample by one CPU (%s)", runtime.NumCPU(), out)
	}
	return ""
}
