package scriptrun

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime"
	"strings"
	"syscall"
	"testing"

	"github.com/tracelet/tracelet/asm"
	"github.com/tracelet/tracelet/bpf"
	"github.com/tracelet/tracelet/btf"
	"github.com/tracelet/tracelet/internal/testenv"
	"github.com/tracelet/tracelet/script"
	"github.com/tracelet/tracelet/trace"
)

// Positional parameters, side by side with bpftrace: a number is an
// integer, str() gives any one's text, one not given is 0 or "", $# counts
// them.
func TestSideBySidePositional(t *testing.T) {
	testenv.RequireRoot(t)
	bt, err := exec.LookPath("bpftrace")
	if err != nil {
		t.Skip("bpftrace is not installed (apt-get install bpftrace)")
	}
	src := `BEGIN { printf("%d %d [%s] [%s] [%s] %d %d\n", $1, $1 * 2, str($1), str($2), str($4), $4, $#); @[str($2)] = $1; exit(); }`
	params := []string{"42", "abc", "0x10"}
	want, err := exec.Command(bt, append([]string{"-e", src}, params...)...).Output()
	if err != nil {
		t.Fatalf("bpftrace: %v", err)
	}
	got := runGated(t, sbsProg(t), src, RunOptions{Params: params}, "exit", "0")
	if w, g := normalizeOutput(string(want)), normalizeOutput(got); w != g || !strings.Contains(g, "42 84 [42] [abc] [] 0 3") {
		t.Errorf("bpftrace:\n%s\ntracelet:\n%s", w, g)
	}
}

// bswap() reverses the bytes of its argument's own width, and a variable
// keeps the width of the integer it was first assigned, as in bpftrace 0.17
// (whose output for this script is the want below): tcpconnect.bt's
// $dport = $sk->__sk_common.skc_dport; $dport = bswap($dport) swaps two
// bytes.
func TestBswap(t *testing.T) {
	got := runBegin(t, `BEGIN { $p = (uint16)0x1234; $q = (int32)-2;
		printf("%x %x %x %x %x\n", bswap($p), bswap((uint32)0x11223344),
		    bswap((uint64)0x0102030405060708) >> 32, bswap((uint8)7), bswap($q));
		$p = bswap($p); printf("%x\n", $p); exit(); }`, RunOptions{})
	if want := "Attaching 1 probe...\n3412 44332211 8070605 7 feffffff\n3412\n\n\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if _, err := script.CompileSource("-e", []byte(`BEGIN { printf("%d", bswap("x")); }`), script.CheckOptions{}, script.Options{}); err == nil ||
		!strings.Contains(err.Error(), "bswap() needs an integer, not string") {
		t.Errorf("bswap of a string: %v", err)
	}
}

// A map whose first assignment reads it (vmscan.bt's @sum_ss = @sum_ss +
// $dur_ss) is an integer that starts at zero; bpftrace 0.17 prints this.
func TestMapReadInOwnAssignment(t *testing.T) {
	got := runBegin(t, `BEGIN { @a = @a + 5; @a = @a + 2; @b = 3 - @b; exit(); }`, RunOptions{})
	if want := "Attaching 1 probe...\n\n\n@a: 7\n@b: 3\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	// Read and never assigned at all stays an error.
	if _, err := script.CompileSource("-e", []byte(`BEGIN { @a = @b + 1; }`), script.CheckOptions{}, script.Options{}); err == nil ||
		!strings.Contains(err.Error(), "map @b is read but never assigned") {
		t.Errorf("@b never assigned: %v", err)
	}
}

// kstack(N) keeps N frames in a stack map of its own, so that stacks equal
// in their N innermost frames are one key; kstack keeps 127. The workload's
// open(2) is seen by both.
func TestKstackFrames(t *testing.T) {
	testenv.RequireRoot(t)
	out := runGated(t, sbsProg(t), `tracepoint:syscalls:sys_enter_openat /pid == WPID/ { @short[kstack(2)] = count(); @full[kstack] = count(); @u[ustack(1)] = count(); }`,
		RunOptions{}, "open", "/nonexistent/kstack")
	frames := func(m string) []int {
		var ns []int
		in, n := false, 0
		for _, l := range strings.Split(out, "\n") {
			switch {
			case strings.HasPrefix(l, m+"["):
				in, n = true, 0
			case in && strings.HasPrefix(l, "]"):
				ns = append(ns, n)
				in = false
			case in && strings.HasPrefix(l, "        "):
				n++
			}
		}
		return ns
	}
	short, full, user := frames("@short"), frames("@full"), frames("@u")
	if len(short) == 0 || len(full) == 0 || len(user) == 0 {
		t.Fatalf("no stacks:\n%s", out)
	}
	for _, n := range short {
		if n != 2 {
			t.Errorf("kstack(2) printed %d frames:\n%s", n, out)
		}
	}
	for _, n := range user {
		if n != 1 {
			t.Errorf("ustack(1) printed %d frames:\n%s", n, out)
		}
	}
	if full[0] <= 2 {
		t.Errorf("kstack printed %d frames, want the whole syscall path:\n%s", full[0], out)
	}
	obj, err := script.CompileSource("-e", []byte(`kprobe:f { @a[kstack(5)] = count(); @b[kstack] = count(); @c[ustack(127)] = count(); }`), script.CheckOptions{}, script.Options{})
	if err != nil {
		t.Fatal(err)
	}
	sizes := map[string]uint32{}
	for _, m := range obj.Maps {
		if m.Spec.Type == bpf.StackTrace {
			sizes[m.Spec.Name] = m.Spec.ValueSize
		}
	}
	if want := map[string]uint32{"stacks": 8 * 127, "stacks_5": 8 * 5}; !reflect.DeepEqual(sizes, want) {
		t.Errorf("stack maps %v, want %v", sizes, want)
	}
	for src, msg := range map[string]string{
		`kprobe:f { @[kstack(0)] = count(); }`:                      "kstack() takes the number of frames to keep, a constant from 1 to 127",
		`kprobe:f { @[ustack(arg0)] = count(); }`:                   "ustack() takes the number of frames to keep",
		`kprobe:f { @[kstack(1, 2)] = count(); }`:                   "wrong number of arguments to kstack()",
		`kprobe:f { @[kstack(3)] = count(); @[kstack] = count(); }`: "",
	} {
		_, err := script.CompileSource("-e", []byte(src), script.CheckOptions{}, script.Options{})
		if msg == "" {
			if err == nil {
				t.Errorf("%s: kstack(3) and kstack are different keys, but it compiled", src)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("%s: got %v, want %q", src, err, msg)
		}
	}
}

// "%\n" is no conversion: it prints as written, as bpftrace 0.17 prints
// dcstat.bt's header (its output for this script is the want).
func TestPrintfPercentNewline(t *testing.T) {
	got := runBegin(t, `BEGIN { printf("%10s %5s%\n", "REFS", "HIT%"); printf("a%\n"); exit(); }`, RunOptions{})
	if want := "Attaching 1 probe...\n      REFS  HIT%%\na%\n\n\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if _, err := script.ParseFormat("%\t"); err == nil {
		t.Error(`"%\t" accepted`)
	}
}

// numaid is the NUMA node of the CPU the probe runs on
// (bpf_get_numa_node_id): one of the nodes the kernel lists.
func TestNumaid(t *testing.T) {
	got := runBegin(t, `BEGIN { printf("%d\n", numaid); exit(); }`, RunOptions{})
	node := strings.TrimSpace(strings.TrimPrefix(got, "Attaching 1 probe...\n"))
	if _, err := os.Stat("/sys/devices/system/node/node" + node); err != nil {
		t.Errorf("numaid printed %q, not a node of /sys/devices/system/node: %v", got, err)
	}
}

// str(p, n) with n known only when the probe runs reads at most n bytes
// (shellsnoop.bt's str(args->buf, args->count)): n is clamped to the
// string's room, a negative n reading all of it, and 0 reading nothing.
func TestStrRuntimeLength(t *testing.T) {
	testenv.RequireRoot(t)
	out := runGated(t, sbsProg(t), `tracepoint:syscalls:sys_enter_openat /pid == WPID && str(args->filename) == "/nonexistent/strlen"/ {
		$n = 5; $m = -1; $z = 0; $big = 1000;
		printf("[%s] [%s] [%s] [%s]\n", str(args->filename, $n), str(args->filename, $m), str(args->filename, $z), str(args->filename, $big)); }`,
		RunOptions{}, "open", "/nonexistent/strlen")
	if want := "[/none] [/nonexistent/strlen] [] [/nonexistent/strlen]\n"; !strings.Contains(out, want) {
		t.Errorf("no line %q in:\n%s", want, out)
	}
	if _, err := script.CompileSource("-e", []byte(`kprobe:f { @l[tid] = 1; printf("%s", str(arg0, @l[tid])); }`), script.CheckOptions{}, script.Options{}); err == nil ||
		!strings.Contains(err.Error(), "assign it to a variable first") {
		t.Errorf("length from a map: %v", err)
	}
}

// reg("name") reads a saved register by its tracefs name: at the workload's
// calls the first argument register holds arg0 (7), and ip is set.
func TestReg(t *testing.T) {
	testenv.RequireRoot(t)
	arch, err := asm.ArchFor(runtime.GOARCH)
	if err != nil {
		t.Skipf("no pt_regs table here: %v", err)
	}
	a0, err := arch.Arg(asm.FuncABI, 0)
	if err != nil || !a0.InRegister() {
		t.Skipf("the first argument is not in a register here (%v)", err)
	}
	out := runWorkload(t, `uprobe:TESTPROG:TARGET /pid == WPID/ { @[reg("`+a0.Reg+`"), reg("ip") != 0] = count(); }`,
		RunOptions{}, "calls", "4", "7", "9")
	if want := "Attaching 1 probe...\n\n\n@[7, 1]: 4\n"; out != want {
		t.Errorf("got %q, want %q", out, want)
	}
}

// software:EVENT[:COUNT] samples a perf software event on every CPU: the
// workload's page faults (every one, with a count of 1) reach the program.
func TestSoftwareProbe(t *testing.T) {
	testenv.RequireRoot(t)
	out := runGated(t, sbsProg(t), `software:page-faults:1 /pid == WPID/ { @faults = count(); @p[probe] = count(); }`,
		RunOptions{}, "open", "/nonexistent/faults")
	m := regexp.MustCompile(`@faults: (\d+)\n`).FindStringSubmatch(out)
	if m == nil || m[1] == "0" || !strings.Contains(out, "@p[software:page-faults:1]: "+m[1]+"\n") {
		t.Errorf("no page faults of the workload counted:\n%s", out)
	}
	for src, msg := range map[string]string{
		`software:pagefaults { }`: `unknown software event "pagefaults"; did you mean "page-faults"?`,
		`hardware:cycles:0 { }`:   `bad hardware count "0"`,
		`software { }`:            "software probe must be written software:EVENT[:COUNT]",
	} {
		if _, err := script.Parse("-e", []byte(src)); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("%s: got %v, want %q", src, err, msg)
		}
	}
	prog, err := script.Parse("-e", []byte(`s:faults { } h:cycles:1000 { }`))
	if err != nil {
		t.Fatal(err)
	}
	if a, b := prog.Probes[0].Attach[0], prog.Probes[1].Attach[0]; a.Describe() != "software:faults:100" || b.Describe() != "hardware:cycles:1000" {
		t.Errorf("got %s and %s, want bpftrace's default count 100 and the count given", a.Describe(), b.Describe())
	}
}

// username is the uid, printed as the user's name from /etc/passwd, in
// printf, keys and values; bpftrace 0.17 prints the same for this script
// run as root.
func TestUsername(t *testing.T) {
	file := filepath.Join(t.TempDir(), "passwd")
	if err := os.WriteFile(file, []byte("root:x:0:0:root:/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\nbad line\nalias:x:1000:1000::/:/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	user := passwdUser(file)
	for uid, want := range map[uint32]string{0: "root", 1000: "alice", 4242: ""} {
		if got := user(uid); got != want {
			t.Errorf("uid %d: got %q, want %q", uid, got, want)
		}
	}
	got := runBegin(t, `BEGIN { printf("%s %d\n", username, uid); @[username] = count(); @u = username; exit(); }`, RunOptions{})
	if want := "Attaching 1 probe...\nroot 0\n\n\n@[root]: 1\n@u: root\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// cat() prints a file, its path formatted as printf formats (bpftrace's
// output for cat("/proc/sys/kernel/ostype") is "Linux\n"); a file that
// cannot be opened prints bpftrace's error on stderr, not in the output.
func TestCat(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "f7"), []byte("seven\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got := runBegin(t, `BEGIN { cat("/proc/sys/kernel/ostype"); cat("`+dir+`/f%d", 7); cat("/nonexistent/cat"); exit(); }`, RunOptions{})
	if want := "Attaching 1 probe...\nLinux\nseven\n\n\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if _, err := script.CompileSource("-e", []byte(`BEGIN { cat("/proc/%d/comm"); }`), script.CheckOptions{}, script.Options{}); err == nil ||
		!strings.Contains(err.Error(), "the format has 1 conversion(s) but 0 argument(s)") {
		t.Errorf("cat with a missing argument: %v", err)
	}
}

// buf(p, n) reads n bytes (clamped to the string size) and %r prints them
// as bpftrace 0.17 does: printable ASCII as is, the rest as \xNN. For this
// script and path bpftrace prints "/none|/nonexistent/b\x09uf\x00|".
func TestBuf(t *testing.T) {
	testenv.RequireRoot(t)
	out := runGated(t, sbsProg(t), `tracepoint:syscalls:sys_enter_openat /pid == WPID && str(args->filename) == "/nonexistent/b\tuf"/ {
		$n = 18; printf("%r|%r|\n", buf(args->filename, 5), buf(args->filename, $n)); }`,
		RunOptions{}, "open", "/nonexistent/b\tuf")
	if want := `/none|/nonexistent/b\x09uf\x00|` + "\n"; !strings.Contains(out, want) {
		t.Errorf("no line %q in:\n%s", want, out)
	}
}

// system() runs its formatted command with /bin/sh and prints what the
// command writes to stdout in its place among the script's output:
// bpftrace 0.17 --unsafe prints "Attaching 1 probe...\na\nhi 42\nb\n\n\n"
// for this script. Without --unsafe it is refused.
func TestSystem(t *testing.T) {
	src := `BEGIN { printf("a\n"); system("echo hi %d; echo to-stderr >&2", 42); printf("b\n"); exit(); }`
	got := runBegin(t, src, RunOptions{Unsafe: true})
	if want := "Attaching 1 probe...\na\nhi 42\nb\n\n\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if _, err := Prepare("-e", []byte(src), RunOptions{Out: io.Discard}); err == nil || !strings.Contains(err.Error(), "system() is unsafe") {
		t.Errorf("without Unsafe: %v, want system() refused", err)
	}
}

// signal() sends its signal to the process the probe fires in: the
// testprog, killed by SIGKILL at its first call of the uprobed function,
// makes none of the three calls' prints after it.
func TestSignal(t *testing.T) {
	testenv.RequireRoot(t)
	prog := testenv.TestProg(t)
	g, err := trace.StartGated(os.Args[0], []string{prog, "calls", "3", "1", "2"})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Abort()
	exited := make(chan error, 1)
	go func() { exited <- g.Cmd.Wait() }()
	out := runOnGated(t, g, fmt.Sprintf(`uprobe:%s:%s { @calls = count(); signal("KILL"); }`, prog, testenv.CABITarget), RunOptions{Unsafe: true})
	err = <-exited
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("testprog: %v, want killed", err)
	}
	if ws, ok := ee.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Errorf("testprog: %v, want killed by SIGKILL", err)
	}
	if !strings.Contains(out, "@calls: 1\n") {
		t.Errorf("output %q, want @calls: 1 (no call after the first)", out)
	}
}

// return ends the probe, break and continue leave or restart the
// innermost while loop, and $ok = delete(@m, k) says whether the key was
// there (bpftrace's user-tools' runqslower.bt uses return and that
// delete). bpftrace 0.17 prints the same first line for this script; it
// has no value for delete(). The emptied @q prints as an empty line.
func TestReturnBreakContinue(t *testing.T) {
	src := `BEGIN { $i = 0; while ($i < 10) { $i++; if ($i == 3) { continue; } if ($i == 6) { break; } printf("%d ", $i); }
printf("\n"); @q[1] = 5; $a = delete(@q, 1); $b = delete(@q, 1); printf("%d %d\n", $a, $b);
if ($i == 6) { exit(); return; } printf("not here\n"); }`
	got := runBegin(t, src, RunOptions{})
	if want := "Attaching 1 probe...\n1 2 4 5 \n1 0\n\n\n\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// cgroup is the current task's cgroup v2 id, and cgroupid(PATH) the id of
// the cgroup at PATH, read when the script compiles: a testprog moved into
// a cgroup of the test's own before it runs makes three calls there.
func TestCgroup(t *testing.T) {
	testenv.RequireRoot(t)
	dir := testenv.Cgroup(t)
	prog := testenv.TestProg(t)
	g, err := trace.StartGated(os.Args[0], []string{prog, "calls", "3", "1", "2"})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Abort()
	go g.Cmd.Wait()
	if err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte(fmt.Sprint(g.Pid())), 0); err != nil {
		t.Fatal(err)
	}
	out := runOnGated(t, g, fmt.Sprintf(`uprobe:%s:%s { @[cgroup == cgroupid("%s"), cgroup == cgroupid("%s")] = count(); }`,
		prog, testenv.CABITarget, dir, filepath.Dir(dir)), RunOptions{})
	if want := "\n@[1, 0]: 3\n"; !strings.HasSuffix(out, want) {
		t.Errorf("output %q, want it to end in %q: the three calls in the test's cgroup, not its parent", out, want)
	}
	if _, err := Prepare("-e", []byte(`BEGIN { @ = cgroupid("/nonexistent/cgroup"); }`), RunOptions{Out: io.Discard}); err == nil ||
		!strings.Contains(err.Error(), `cgroupid("/nonexistent/cgroup"): no such file or directory`) {
		t.Errorf("cgroupid of a missing path: %v", err)
	}
}

// strncmp(a, b, n) is 0 when the first n bytes (to the first NUL) agree,
// else 1: bpftrace 0.17 prints "0 1 0 0 1 0" and "0 1 0 1" for these.
func TestStrncmp(t *testing.T) {
	got := runBegin(t, `BEGIN { $a = "hello"; printf("%d %d %d %d %d %d\n", strncmp($a, "help", 3), strncmp($a, "help", 4), strncmp("hel", $a, 3), strncmp($a, "hello!", 5), strncmp($a, "hello!", 6), strncmp(comm, comm, 16));
$c = "ab"; $d = "abc"; printf("%d %d %d %d\n", strncmp($c, "ab", 5), strncmp($c, $d, 5), strncmp($c, $d, 2), strncmp($d, "abd", 3)); exit(); }`, RunOptions{})
	if want := "Attaching 1 probe...\n0 1 0 0 1 0\n0 1 0 1\n\n\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	for src, want := range map[string]string{
		`BEGIN { @ = strncmp("a", 1, 1); }`:   "strncmp() compares strings, not int64",
		`BEGIN { @ = strncmp("a", "b", 0); }`: "strncmp()'s length must be an integer constant from 1 to",
	} {
		if _, err := Prepare("-e", []byte(src), RunOptions{Out: io.Discard}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", src, err, want)
		}
	}
}

// args->FIELD[I] of a tracepoint: an element of an integer array field
// (raw_syscalls:sys_enter's args[6]) and an element of a pointer-to-pointer
// field, read from user memory (execve's argv, at a variable index too).
// For the execve, bpftrace 0.17 prints "/bin/true a bb|" (it takes literal
// indices only).
func TestTracepointIndex(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireSyscallEvents(t)
	prog := sbsProg(t)
	out := runGated(t, prog, `tracepoint:syscalls:sys_enter_execve /pid == WPID/ { $i = 2; printf("%s %s %s|\n", str(args->argv[0]), str(args->argv[1]), str(args->argv[$i])); }
tracepoint:raw_syscalls:sys_enter /pid == WPID && args->args[0] == 77/ { @exit[args->args[0]] = count(); }`, RunOptions{}, "exec", "/bin/sh", "-c", "exit 77")
	if !strings.Contains(out, "\n/bin/sh -c exit 77|\n") {
		t.Errorf("output %q, want the execve's argv", out)
	}
	// The shell's exit_group(77), the one call of the process with a
	// first argument of 77.
	if !strings.Contains(out, "\n@exit[77]: 1\n") {
		t.Errorf("output %q, want @exit[77]: 1, raw_syscalls' args[0] of the shell's exit_group", out)
	}
	for src, want := range map[string]string{
		`tracepoint:raw_syscalls:sys_enter { $i = 1; @ = args->args[$i]; }`: "args->args is an array in the tracepoint's record: its index must be a constant",
		`tracepoint:raw_syscalls:sys_enter { @ = args->args[6]; }`:          `index 6 is beyond the 6 elements of args->args (unsigned long[6])`,
		`tracepoint:syscalls:sys_enter_execve { @ = args->filename[0]; }`:   `field filename of tracepoint:syscalls:sys_enter_execve has type "const char *", which cannot be indexed`,
	} {
		if _, err := Prepare("-e", []byte(src), RunOptions{Out: io.Discard}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", src, err, want)
		}
	}
}

// A pointer cast of a member that is not a pointer (an array, a struct)
// takes the member's address, as in C: (struct tcp_skb_cb *)$skb->cb
// points at cb. Here curtask->comm, whose offset BTF gives.
func TestCastMemberAddress(t *testing.T) {
	if _, err := os.Stat(btf.KernelPath); err != nil {
		t.Skip("curtask's members come from the kernel's BTF, and this kernel has none:", err)
	}
	out := runBegin(t, `BEGIN { $c = (struct list_head *)curtask->comm; printf("%d %d %d\n", (uint64)$c - (uint64)curtask, offsetof(struct task_struct, comm), str(curtask->comm) == str($c)); exit(); }`, RunOptions{})
	f := strings.Fields(out)
	if len(f) < 6 || f[3] != f[4] || f[3] == "0" || f[5] != "1" {
		t.Errorf("got %q, want the member's offset twice, and its string through the cast", out)
	}
}
