package main

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/tracelet/tracelet/internal/testenv"
)

// envNoBPF names the tracelet binary that a re-executed test binary runs
// without bpf(2) (see execWithoutBPF).
const envNoBPF = "TRACELET_TEST_NOBPF"

// execWithoutBPF installs a seccomp filter under which bpf(2) fails with
// ENOSYS, as on a kernel built without CONFIG_BPF_SYSCALL, and execs bin
// with args: the filter stays across the exec (no_new_privs). It never
// returns.
func execWithoutBPF(bin string, args []string) {
	runtime.LockOSThread()
	fail := func(what string, err error) {
		fmt.Fprintf(os.Stderr, "execWithoutBPF: %s: %v\n", what, err)
		os.Exit(125)
	}
	const (
		ldAbsW      = 0x20 // BPF_LD | BPF_W | BPF_ABS
		jeqK        = 0x15 // BPF_JMP | BPF_JEQ | BPF_K
		retK        = 0x06 // BPF_RET | BPF_K
		retErrno    = 0x00050000
		retAllow    = 0x7fff0000
		filterTsync = 1 // SECCOMP_FILTER_FLAG_TSYNC: every thread of the process
	)
	filter := []unix.SockFilter{
		{Code: ldAbsW, K: 0}, // seccomp_data.nr
		{Code: jeqK, Jt: 0, Jf: 1, K: uint32(unix.SYS_BPF)},
		{Code: retK, K: retErrno | uint32(unix.ENOSYS)},
		{Code: retK, K: retAllow},
	}
	prog := unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		fail("PR_SET_NO_NEW_PRIVS", err)
	}
	if _, _, e := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, filterTsync, uintptr(unsafe.Pointer(&prog))); e != 0 {
		fail("seccomp", e)
	}
	fail("exec", syscall.Exec(bin, append([]string{bin}, args...), os.Environ()))
}

// runNoBPF runs tracelet with args where bpf(2) does not exist.
func runNoBPF(t *testing.T, args ...string) result {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self, args...)
	cmd.Env = append(os.Environ(), envNoBPF+"="+tracelet)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	r := result{out: stdout.String(), err: stderr.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
		if r.code == 125 {
			t.Fatalf("could not take bpf(2) away: %s", r.err)
		}
	} else if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestRunAutoWithoutBPF: on a kernel without bpf(2), `run` picks the
// tracefs backend by itself and prints what the BPF backend prints on this
// one; `--backend=bpf` says what is missing; a script the tracefs backend
// cannot express names its construct; doctor says bpf(2) is absent.
func TestRunAutoWithoutBPF(t *testing.T) {
	testenv.RequireRoot(t)
	prog := testenv.TestProg(t)
	src := fmt.Sprintf(`uprobe:%s:%s /arg0 == 7/ { printf("a=%%d b=%%d f=%%d\n", arg0, arg1, arg5); }`, prog, testenv.CABITarget)
	args := []string{"run", "-c", prog + " calls 3 7 9", "-e", src}
	want := "Attaching 1 probe...\n" + strings.Repeat("a=7 b=9 f=11\n", 3) + "\n\n"

	withBPF := runCLI(t, args...)
	if withBPF.code != 0 || withBPF.out != want {
		t.Fatalf("with bpf(2): exit %d, stdout %q, want %q; stderr %s", withBPF.code, withBPF.out, want, withBPF.err)
	}
	auto := runNoBPF(t, args...)
	if auto.code != 0 || auto.out != want {
		t.Errorf("without bpf(2), auto: exit %d, stdout %q, want %q; stderr %s", auto.code, auto.out, want, auto.err)
	}
	// -d shows the tracefs plan, the uprobe at its file offset.
	dis := runNoBPF(t, append([]string{"run", "-d"}, args[1:]...)...)
	plan := fmt.Sprintf("uprobe:%s:%s\n  definition: p:GROUP/EVENT %s:%#x ", prog, testenv.CABITarget, prog, testenv.SymbolFileOffset(t, prog, testenv.CABITarget))
	i := strings.Index(dis.out, plan)
	if dis.code != 0 || i < 0 || !strings.HasSuffix(dis.out, "\n  filter: arg0 == 7\n  trigger: \n") || strings.Contains(dis.out, "(95) exit") {
		t.Errorf("without bpf(2), run -d: exit %d, want the tracefs plan %q…\n%s%s", dis.code, plan, dis.out, dis.err)
	}

	forced := runNoBPF(t, append([]string{"run", "--backend", "bpf"}, args[1:]...)...)
	if forced.code != 1 || forced.out != "" || !strings.Contains(forced.err, "function not implemented") {
		t.Errorf("without bpf(2), --backend=bpf: exit %d, stdout %q, stderr %q; want exit 1 naming ENOSYS", forced.code, forced.out, forced.err)
	}

	hist := runNoBPF(t, "run", "-c", prog+" calls 3 7 9", "-e",
		fmt.Sprintf(`uprobe:%s:%s { @h = hist(arg0); }`, prog, testenv.CABITarget))
	if hist.code == 0 || hist.out != "" || !strings.Contains(hist.err, "hist") || !strings.Contains(hist.err, "tracefs") {
		t.Errorf("without bpf(2), hist(): exit %d, stdout %q, stderr %q; want an error naming hist and the tracefs backend", hist.code, hist.out, hist.err)
	}

	doc := runNoBPF(t, "doctor")
	var line string
	for _, l := range strings.Split(doc.out, "\n") {
		if strings.HasPrefix(l, "bpf syscall ") {
			line = l
		}
	}
	if f := strings.Fields(line); len(f) < 3 || f[2] != "no" {
		t.Errorf("without bpf(2), doctor says %q; want \"no\"\n%s", line, doc.out)
	}
}
