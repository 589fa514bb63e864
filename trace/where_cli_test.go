package trace

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tracelet/tracelet/internal/testenv"
	"github.com/tracelet/tracelet/kprobeevents"
	"github.com/tracelet/tracelet/tracefs"
)

// TestCLIWhereUprobe: --where on a uprobe records only the matching calls.
// testprog calls 4 8 2 and calls 3 7 1 both call cabiTarget(a, b, ...);
// only the three calls with a == 7 pass, and the output is exactly their
// three lines: the fetcharg that --where added to test arg0 is not
// printed, and the rings held no other record (3 events, 0 lost).
func TestCLIWhereUprobe(t *testing.T) {
	spec, ip := cabiProbe(t, "wh", "b=%si:u64")
	r := startTrace(t, "--where", fmt.Sprintf(`arg0 == 7 && comm == "%s"`, progComm(t)), spec)
	waitTracing(t, r)
	for _, args := range [][]string{{"calls", "4", "8", "2"}, {"calls", "3", "7", "1"}} {
		if out, err := exec.Command(testenv.TestProg(t), args...).CombinedOutput(); err != nil {
			t.Fatalf("testprog %v: %v\n%s", args, err, out)
		}
	}
	r.stop(t)
	lines, _ := eventLines(t, r.stdout())
	want := fmt.Sprintf("wh: (%#x) b=1", ip)
	for _, l := range lines {
		if l.rest != want {
			t.Errorf("event %q, want %q", l.rest, want)
		}
	}
	if len(lines) != 3 {
		t.Errorf("%d events, want 3:\n%s", len(lines), r.stdout())
	}
	wantSummary(t, r, 3)
	assertClean(t, r.cmd.Process.Pid)
}

// TestCLIWhereErrors: what neither a BPF nor a tracefs filter can express
// is refused before anything is written, naming the construct.
func TestCLIWhereErrors(t *testing.T) {
	spec, _ := cabiProbe(t, "wh", "b=%si:u64")
	for _, c := range []struct{ where, err string }{
		{`pid == 1 && comm == "x"`, `tracelet: --where "pid == 1 && comm == \"x\"": pid: the tracefs filter has the thread id (tid, common_pid) but not the process id; use -p PID (and as a BPF filter: operator ==: a BPF filter compares a value with an integer constant)` + "\n"},
		{"arg0 + 1 == 2", `tracelet: --where "arg0 + 1 == 2": operator +: not a field a tracefs filter can test (comm, tid, argN, retval, args.NAME[->MEMBER...]) (and as a BPF filter: operator +: not a value a BPF filter reads (pid, tid, argN, retval))` + "\n"},
		{`comm < "a"`, `tracelet: --where "comm < \"a\"": operator <: strings compare with == and != only (and as a BPF filter: operator <: a BPF filter compares a value with an integer constant)` + "\n"},
	} {
		out, err := exec.Command(tracelet(t), "trace", "--where", c.where, spec).CombinedOutput()
		if err == nil || string(out) != c.err {
			t.Errorf("--where %q: %v\n got %s\nwant %s", c.where, err, out, c.err)
		}
	}
}

// TestCLIWhereMember: --where follows a struct member on a kprobe: of two
// reads, only the one of the file whose dentry has the known name is
// traced. The kernel follows file->f_path.dentry->d_name.name itself on
// 6.12; on 6.1 tracelet compiles it to offsets from BTF.
func TestCLIWhereMember(t *testing.T) {
	testenv.RequireKprobes(t)
	if _, err := os.Stat("/sys/kernel/btf/vmlinux"); err != nil {
		t.Skip("no kernel BTF:", err)
	}
	dir := t.TempDir()
	known, other := filepath.Join(dir, fmt.Sprintf("tracelet-where-%d", os.Getpid())), filepath.Join(dir, "other")
	for _, f := range []string{known, other} {
		if err := os.WriteFile(f, make([]byte, 4096), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	r := startTrace(t, "--where", fmt.Sprintf(`args.file->f_path.dentry->d_name.name == "%s"`, filepath.Base(known)), "f:rd vfs_read count")
	waitTracing(t, r)
	for _, args := range [][]string{{"read", other, "55"}, {"read", known, "77"}} {
		if out, err := exec.Command(testenv.TestProg(t), args...).CombinedOutput(); err != nil {
			t.Fatalf("testprog %v: %v\n%s", args, err, out)
		}
	}
	r.stop(t)
	lines, _ := eventLines(t, r.stdout())
	if len(lines) != 1 || !strings.HasPrefix(lines[0].rest, "rd: (") || !strings.HasSuffix(lines[0].rest, ") count=77") {
		t.Errorf("events %+v, want one rd: (...) count=77:\n%s", lines, r.stdout())
	}
	wantSummary(t, r, 1)
	assertClean(t, r.cmd.Process.Pid)
}

// TestCLIWhereBPF: a predicate on the process id, which no tracefs filter
// can test, runs as a BPF filter in front of the uprobe's fetchargs: of
// two processes making the same calls, only the one whose pid is named is
// recorded, and nothing else reaches the rings (3 events, 0 lost).
func TestCLIWhereBPF(t *testing.T) {
	spec, ip := cabiProbe(t, "wb", "b=%si:u64")
	w := startWaiting(t, "calls", "3", "7", "1")
	where := fmt.Sprintf("pid == %d && arg0 == 7", w.cmd.Process.Pid)
	if tracefs.KernelArch() == kprobeevents.ArchI386 {
		// The BPF filter reads pt_regs, and i386 user code passes its
		// arguments on the stack: there the pid alone is the BPF part.
		where = fmt.Sprintf("pid == %d", w.cmd.Process.Pid)
	}
	r := startTrace(t, "--where", where, spec)
	waitTracing(t, r)
	if out, err := exec.Command(testenv.TestProg(t), "calls", "3", "7", "1").CombinedOutput(); err != nil {
		t.Fatalf("testprog: %v\n%s", err, out)
	}
	w.run(t)
	r.stop(t)
	lines, _ := eventLines(t, r.stdout())
	want := fmt.Sprintf("wb: (%#x) b=1", ip)
	for _, l := range lines {
		if l.rest != want || l.tid != w.cmd.Process.Pid {
			t.Errorf("event %q of %d, want %q of %d", l.rest, l.tid, want, w.cmd.Process.Pid)
		}
	}
	if len(lines) != 3 {
		t.Errorf("%d events, want 3:\n%s", len(lines), r.stdout())
	}
	wantSummary(t, r, 3)
	assertClean(t, r.cmd.Process.Pid)
}

// TestCLIWhereCompat32: --where's argN on a uprobe in a 32-bit executable
// under a 64-bit kernel reads the file's calling convention: i386's cdecl
// stack (+4($stack), not x86_64's di) under x86_64. Of testprog's calls
// 4 8 2 and calls 3 7 1, the three with arg0 == 7 pass, and the user's own
// fetcharg in the same convention reads arg1. On arm64, whose kernel places
// no uprobe in AArch32 code, trace refuses the probe and says why.
func TestCLIWhereCompat32(t *testing.T) {
	prog := testenv.TestProg32(t)
	s := symbol(t, prog, testenv.CABITarget32)
	spec := fmt.Sprintf("p:wc %s:%#x b=+8($stack):u32", prog, s.Offset)
	comm := filepath.Base(prog)
	if len(comm) > 15 {
		comm = comm[:15]
	}
	where := fmt.Sprintf(`arg0 == 7 && comm == "%s"`, comm)
	if tracefs.KernelArch() == kprobeevents.ArchARM64 {
		out, err := exec.Command(tracelet(t), "trace", "--where", where, spec).CombinedOutput()
		if err == nil || !strings.Contains(string(out), tracefs.ErrNoCompatUprobes.Error()) {
			t.Fatalf("%v: %s\nwant the refusal %q", err, out, tracefs.ErrNoCompatUprobes)
		}
		return
	}
	r := startTrace(t, "--where", where, spec)
	waitTracing(t, r)
	for _, args := range [][]string{{"calls", "4", "8", "2"}, {"calls", "3", "7", "1"}} {
		if out, err := exec.Command(prog, args...).CombinedOutput(); err != nil {
			t.Fatalf("testprog %v: %v\n%s", args, err, out)
		}
	}
	r.stop(t)
	lines, _ := eventLines(t, r.stdout())
	want := fmt.Sprintf("wc: (%#x) b=1", s.Value)
	for _, l := range lines {
		if l.rest != want {
			t.Errorf("event %q, want %q", l.rest, want)
		}
	}
	if len(lines) != 3 {
		t.Errorf("%d events, want 3:\n%s", len(lines), r.stdout())
	}
	wantSummary(t, r, 3)
	assertClean(t, r.cmd.Process.Pid)
}
