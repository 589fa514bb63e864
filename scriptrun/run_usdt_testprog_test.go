package scriptrun

import (
	"encoding/binary"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tracelet/tracelet/internal/testenv"
)

// testprogUSDTArgs are the argument strings of two probes at testprog's
// cabiTarget, in each architecture's assembler syntax as gcc writes it:
// "regs" reads the six C-ABI arguments with sizes and signs of each kind;
// "mem" reads memory through the first argument (a pointer to S in the
// second call of each round of `testprog usdt`), a constant and the second
// argument (len(S), 8). i386 passes the arguments on the stack above the
// return address, where a pointer argument cannot be followed again.
var testprogUSDTArgs = map[string][2]string{
	"amd64": {"-8@%rdi 4@%esi -4@%edx -2@%cx -1@%r8b 8@%r9", "-1@(%rdi) 2@1(%rdi) 8@(%rdi) -4@$-9 8@%rsi"},
	"arm64": {"-8@x0 4@w1 -4@w2 -2@x3 -1@x4 8@x5", "-1@[x0] 2@[x0, 1] 8@[x0] -4@-9 8@x1"},
	"386":   {"-4@4(%esp) 4@8(%esp) -4@12(%esp) -2@16(%esp) -1@20(%esp) 4@24(%esp)", "-4@$-9 4@8(%esp)"},
}

// TestRunUprobeUSDTTestprog runs usdt probes on a copy of testprog given
// notes by testenv.WithUSDTNotes, so that every VM guest checks its own
// architecture's argument syntax and registers with a program built by
// the Go toolchain: every argument's value, sign and size, memory
// operands, a constant, and the semaphore (usdtSemaphore, which testprog
// prints) raised while attached and lowered after.
func TestRunUprobeUSDTTestprog(t *testing.T) {
	testenv.RequireRoot(t)
	goarch := testenv.KernelABI(t).Arch
	specs, ok := testprogUSDTArgs[goarch]
	if !ok {
		t.Skipf("no USDT argument strings for testprog on %s", goarch)
	}
	src := testenv.TestProg(t)
	bin := filepath.Join(t.TempDir(), "testprog-usdt")
	pc := testenv.SymbolAddr(t, src, testenv.CABITarget)
	sem := testenv.SymbolAddr(t, src, "main.usdtSemaphore")
	// Both probes are at one address, so they share the semaphore: the
	// kernel keeps one uprobe per file offset, and refuses a second
	// ref_ctr_offset for it (EINVAL, "Reference counter offset
	// mismatch" in dmesg).
	testenv.WithUSDTNotes(t, src, bin, []testenv.USDTNote{
		{Provider: "tl", Name: "regs", Args: specs[0], PC: pc, Semaphore: sem},
		{Provider: "tl", Name: "mem", Args: specs[1], PC: pc, Semaphore: sem},
	})
	// A = -2, B = 0x100000102; S starts with 0xfe 0x01.
	const str = "\xfe\x01\x02hello"
	argv := []string{bin, "usdt", "2", "0xfffffffffffffffe", "0x100000102", str}
	sems := func(out string) string {
		var s []string
		for _, l := range strings.Split(out, "\n") {
			if v, ok := strings.CutPrefix(l, "semaphore "); ok {
				s = append(s, v)
			}
		}
		return strings.Join(s, " ")
	}
	if s := sems(runOutput(t, argv)); s != "0 0" {
		t.Fatalf("semaphore without probes: %q, want 0 0", s)
	}
	// The first call of each round has cabi6's f = B+2, the second 0.
	script := `usdt:BIN:tl:regs /arg5 != 0/ { printf("regs %d %d %d %d %d %lu\n", arg0, arg1, arg2, arg3, arg4, arg5); }
usdt:BIN:tl:mem /arg4 == 8/ { printf("mem %d %d %lu %d\n", arg0, arg1, arg2, arg3); }`
	// -8@A = -2; 4@ the low half of B = 258; -4@ A+1 = -1; -2@ the low
	// 16 bits of B+1 = 259; -1@ A+2 = 0; 8@ B+2.
	regs := fmt.Sprintf("regs -2 258 -1 259 0 %d", uint64(0x100000104))
	mem := fmt.Sprintf("mem -2 %d %d -9", 0x0201, binary.LittleEndian.Uint64([]byte(str)))
	if goarch == "386" {
		// One word each: the low halves.
		regs = "regs -2 258 -1 259 0 260"
		script = strings.Replace(script, `/arg4 == 8/ { printf("mem %d %d %lu %d\n", arg0, arg1, arg2, arg3); }`, `/arg1 == 8/ { printf("mem %d\n", arg0); }`, 1)
		mem = "mem -9"
	}
	want := strings.Repeat(regs+"\n"+mem+"\n", 2)
	out, progOut := runUSDT(t, argv, strings.ReplaceAll(script, "BIN", bin), RunOptions{})
	if got := strings.Join(usdtLines(out), "\n") + "\n"; got != want {
		t.Errorf("output:\n%s\nwant:\n%s", got, want)
	}
	// With -p, the binary may be left out, or named by its base name, as
	// bpftrace allows: the process's executable.
	for _, path := range []string{"", filepath.Base(bin)} {
		src := strings.ReplaceAll(script, "BIN", path)
		out := runWorkloadProg(t, bin, src, RunOptions{}, argv[1:]...)
		if got := strings.Join(usdtLines(out), "\n") + "\n"; got != want {
			t.Errorf("%s with -p:\n%s\nwant:\n%s", src, got, want)
		}
	}
	if s := sems(progOut); s != "1 1" {
		t.Errorf("semaphore while attached: %q, want 1 1", s)
	}
	if s := sems(runOutput(t, argv)); s != "0 0" {
		t.Errorf("semaphore after the run: %q, want 0 0", s)
	}
}

// runOutput runs argv and returns its stdout.
func runOutput(t *testing.T, argv []string) string {
	t.Helper()
	out, err := exec.Command(argv[0], argv[1:]...).Output()
	if err != nil {
		t.Fatalf("%v: %v", argv, err)
	}
	return string(out)
}
