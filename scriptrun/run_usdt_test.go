package scriptrun

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/tracelet/tracelet/internal/testenv"
	"github.com/tracelet/tracelet/trace"
	"github.com/tracelet/tracelet/tracefs"
	"github.com/tracelet/tracelet/usdt"
)

// usdtProbes builds ../usdt/testdata/probes.c, whose USDT notes are
// written by hand in assembly (no sys/sdt.h, no systemtap-sdt-dev): probe
// tracelet:args has register and constant arguments of every size and
// sign, tracelet:mem a stack slot and a static variable, tracelet:fire
// a semaphore, and other:args shares the name args. `probes N` calls
// work(i, 1000+i, -i, i) for i = 1..N, printing the semaphore after each
// call. Without gcc, the committed x86_64 build is used where it runs.
// The VM suite's guests have neither gcc nor the libc that build links
// with (nor ../usdt/testdata): there TestRunUprobeUSDTTestprog runs usdt
// probes, on testprog given notes, and these checks run in the host suite.
func usdtProbes(t *testing.T) string {
	t.Helper()
	if testenv.InVM() {
		t.Skip("the VM-suite guest has no gcc and no libc to build or run usdt/testdata/probes.c: TestRunUprobeUSDTTestprog runs usdt probes in the guests, this check runs in the host suite")
	}
	out := filepath.Join(t.TempDir(), "probes")
	src := filepath.Join("..", "usdt", "testdata", "probes.c")
	if gcc, err := exec.LookPath("gcc"); err == nil {
		if b, err := exec.Command(gcc, "-O2", "-g0", "-o", out, src).CombinedOutput(); err != nil {
			t.Fatalf("gcc: %v\n%s", err, b)
		}
		return out
	}
	raw, err := os.ReadFile(filepath.Join("..", "usdt", "testdata", "probes-x86_64"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(out, raw, 0o755); err != nil {
		t.Fatal(err)
	}
	if b, err := exec.Command(out, "1").CombinedOutput(); err != nil {
		t.Skipf("no gcc to build the USDT test program, and the committed x86_64 build does not run here: %v %s", err, b)
	}
	return out
}

// semaphores runs `probes n` and returns the semaphore values it printed.
func semaphores(t *testing.T, bin string, n int) string {
	t.Helper()
	out, err := exec.Command(bin, fmt.Sprint(n)).Output()
	if err != nil {
		t.Fatalf("%s %d: %v", bin, n, err)
	}
	return strings.Join(strings.Fields(string(out)), " ")
}

// runUSDT runs src as `tracelet run -c 'ARGV'` does, the program released
// once the probes are attached, and returns the script's output and what
// the program printed.
func runUSDT(t *testing.T, argv []string, src string, opts RunOptions) (string, string) {
	t.Helper()
	testenv.RequireRoot(t)
	progOut := filepath.Join(t.TempDir(), "stdout")
	// sh execs the program in place: the pid that the run traces is the
	// program's, and its stdout goes to the file.
	g, err := trace.StartGated(os.Args[0], append([]string{"/bin/sh", "-c", `out=$1; shift; exec "$@" >"$out"`, "sh", progOut}, argv...))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Abort()
	go g.Cmd.Wait()
	var out strings.Builder
	opts.Out = &out
	opts.PID = g.Pid()
	r, err := Prepare("-e", []byte(src), opts)
	if err != nil {
		t.Fatalf("%s: %v", src, err)
	}
	defer func() {
		if err := r.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		checkNothingLeft(t)
	}()
	if err := startChecked(t, r, g.Release); err != nil {
		t.Fatalf("%s: %v", src, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := r.Wait(ctx); err != nil {
		t.Fatalf("%s: %v", src, err)
	}
	if ctx.Err() != nil {
		t.Fatalf("%s: the run did not end with the workload", src)
	}
	b, err := os.ReadFile(progOut)
	if err != nil {
		t.Fatal(err)
	}
	return out.String(), string(b)
}

// usdtScript prints every argument of the three tracelet probes; usdtWant
// is what it must print for `probes 3`. tracelet:fire is only reached
// while its semaphore is raised, which only the kernel does, through the
// uprobe's ref_ctr_offset.
const usdtScript = `usdt:BIN:tracelet:args { printf("args %d %d %d %d %d\n", arg0, arg1, arg2, arg3, arg4); }
usdt:BIN:tracelet:mem { printf("mem %d %lu\n", arg0, arg1); }
usdt:BIN:fire { printf("fire %d %d\n", arg0, arg1); }`

func usdtWant(n int) string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		// work(i, 1000+i, -i, i): a is an int, b a long, c a short, d an
		// unsigned char, then the constant -7; mem has the stack slot
		// local = b+1 and the static tracelet_global.
		fmt.Fprintf(&b, "args %d %d %d %d -7\n", i, 1000+i, -i, i)
		fmt.Fprintf(&b, "mem %d %d\n", 1001+i, uint64(0x1122334455667788))
		fmt.Fprintf(&b, "fire %d %d\n", i, 1000+i)
	}
	return b.String()
}

func TestRunUSDT(t *testing.T) {
	bin := usdtProbes(t)
	if s := semaphores(t, bin, 3); s != "0 0 0" {
		t.Fatalf("semaphore before any probe: %s, want 0 0 0", s)
	}
	both(t, func(t *testing.T, b Backend) {
		out, progOut := runUSDT(t, []string{bin, "3"}, strings.ReplaceAll(usdtScript, "BIN", bin), RunOptions{Backend: b})
		sems := strings.Join(strings.Fields(progOut), " ")
		got := usdtLines(out)
		want := strings.Split(strings.TrimSpace(usdtWant(3)), "\n")
		if b == BackendTracefs {
			// tracefs keeps one ring per CPU and the backend prints
			// each ring's records as they come, so the program's
			// migrations reorder its events: compare them as sets.
			sort.Strings(got)
			sort.Strings(want)
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("output:\n%s\nwant:\n%s", out, strings.Join(want, "\n"))
		}
		if sems != "1 1 1" {
			t.Errorf("semaphore while attached: %s, want 1 1 1", sems)
		}
		// Closing the probes lowers the semaphore again.
		if s := semaphores(t, bin, 3); s != "0 0 0" {
			t.Errorf("semaphore after the run: %s, want 0 0 0", s)
		}
	})
}

// usdtLines are the lines of a run's output without its "Attaching"
// header and blank lines.
func usdtLines(out string) []string {
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		if l != "" && !strings.HasPrefix(l, "Attaching ") {
			lines = append(lines, l)
		}
	}
	return lines
}

// TestRunUSDTWildcard attaches tracelet:* and reads the probe's
// name: every probe of the provider, and none of other:args.
func TestRunUSDTWildcard(t *testing.T) {
	bin := usdtProbes(t)
	out, progOut := runUSDT(t, []string{bin, "3"}, strings.ReplaceAll(`usdt:BIN:tracelet:* { @[probe] = count(); }`, "BIN", bin), RunOptions{})
	sems := strings.Join(strings.Fields(progOut), " ")
	for _, name := range []string{"args", "mem", "fire"} {
		want := fmt.Sprintf("@[usdt:%s:tracelet:%s]: 3\n", bin, name)
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "other") || strings.Count(out, "@[") != 3 {
		t.Errorf("output has other probes than tracelet's three:\n%s", out)
	}
	if sems != "1 1 1" {
		t.Errorf("semaphore while attached: %s, want 1 1 1", sems)
	}
}

// TestUSDTErrors checks that a usdt probe that cannot be attached or read
// is refused before anything is attached, with the input's column.
func TestUSDTErrors(t *testing.T) {
	testenv.RequireRoot(t)
	bin := usdtProbes(t)
	// at is where in the source the error must point.
	for _, tc := range []struct{ src, at, want string }{
		{`usdt:BIN:args { }`, `usdt:`, `usdt:BIN:args: usdt: probe name "args" is ambiguous: providers "tracelet" and "other" both have it; name the provider`},
		{`BEGIN { } usdt:BIN:tracelet:nope { }`, `usdt:`, `usdt:BIN:tracelet:nope: usdt: tracelet:nope: no such USDT probe`},
		{`usdt:BIN:tracelet:fire { printf("%d\n", arg2); }`, `arg2`, `arg2: usdt probe tracelet:fire in BIN has 2 arguments (arg0 to arg1)`},
		{`usdt:BIN:other:args { printf("%d\n", arg0); }`, `arg0`, `arg0: usdt probe other:args in BIN has 0 arguments`},
		{`usdt:BIN:tracelet:fire, uprobe:BIN:work { printf("%d\n", arg0); }`, `arg0`, `arg0: the probe mixes usdt with uprobe attach points`},
		{`usdt:/nonexistent/x:a:b { }`, `usdt:`, `usdt:/nonexistent/x:a:b: tracefs: binary /nonexistent/x: stat /nonexistent/x: no such file or directory`},
		{`usdt:/proc/self/status:a:b { }`, `usdt:`, `usdt:/proc/self/status:a:b: usdt: /proc/self/status: bad magic number`},
		{`usdt::a:b { }`, `usdt:`, `usdt::a:b: no binary: write usdt:PATH:[PROVIDER:]NAME, or trace a process with -p PID`},
		{`usdt:BIN:tracelet:fire { @ = retval; }`, `retval`, `retval is only valid in kretprobe, uretprobe and fexit probes`},
	} {
		src := strings.ReplaceAll(tc.src, "BIN", bin)
		want := fmt.Sprintf("-e:1:%d: %s", strings.Index(src, tc.at)+1, strings.ReplaceAll(tc.want, "BIN", bin))
		_, err := Prepare("-e", []byte(src), RunOptions{Out: &strings.Builder{}})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s:\n got %v\nwant %s", src, err, want)
		}
	}
	checkNothingLeft(t)
}

// TestUSDTTracefsDefinition checks the uprobe_events line of the tracefs
// backend: the probe's offset, its semaphore as (ref_ctr_offset) and the
// argument as the usdt package renders it as a fetcharg.
func TestUSDTTracefsDefinition(t *testing.T) {
	testenv.RequireRoot(t)
	bin := usdtProbes(t)
	if _, err := tracefs.Find(); err != nil {
		t.Skipf("no tracefs: %v", err)
	}
	r, err := Prepare("-e", []byte(strings.ReplaceAll(`usdt:BIN:fire { printf("%d\n", arg1); }`, "BIN", bin)), RunOptions{Backend: BackendTracefs, Out: &strings.Builder{}})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	def, err := r.TracefsDefinition(r.TracefsProbes[0], "g", "e")
	if err != nil {
		t.Fatal(err)
	}
	f, err := usdt.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	p, err := f.Lookup("tracelet", "fire")
	if err != nil {
		t.Fatal(err)
	}
	args, err := p.ParseArgs(f.Arch)
	if err != nil {
		t.Fatal(err)
	}
	if p.SemaphoreOffset == 0 {
		t.Fatalf("tracelet:fire has no semaphore in %s", bin)
	}
	want := fmt.Sprintf("p:g/e %s:%#x(%#x) arg1=%s", bin, p.Offset, p.SemaphoreOffset, args[1].Fetcharg())
	if def != want {
		t.Errorf("definition %q, want %q", def, want)
	}
}

// TestSideBySideUSDT runs one script with bpftrace 0.17 and with tracelet
// on `probes 3` and compares the outputs byte for byte, after dropping the
// program's own lines (its semaphore values, which bpftrace -c shares
// stdout with). tracelet:mem's second argument, tracelet_global(%rip), is
// left out: bpftrace 0.17 cannot read a symbol operand ("deref ident is
// not handled yet") and prints a wrong value.
func TestSideBySideUSDT(t *testing.T) {
	testenv.RequireRoot(t)
	bt := testenv.RequireHostTool(t, "bpftrace", "apt-get install bpftrace")
	bin := usdtProbes(t)
	// Two scripts: bpftrace 0.17 fails to load a script that attaches
	// one usdt probe twice (here by name and by the wildcard).
	for _, src := range []string{
		`usdt:BIN:tracelet:args { printf("args %d %d %d %d %d\n", arg0, arg1, arg2, arg3, arg4); }
usdt:BIN:tracelet:mem { printf("mem %d\n", arg0); }
usdt:BIN:fire { printf("fire %d %d\n", arg0, arg1); @[arg0 > 1] = count(); }`,
		// The arguments differ in type between the probes.
		`usdt:BIN:tracelet:* { @[probe] = count(); @s = sum(arg0); }`,
	} {
		src = strings.ReplaceAll(src, "BIN", bin)
		want, err := exec.Command(bt, "-e", src, "-c", bin+" 3").Output()
		if err != nil {
			t.Fatalf("bpftrace: %v", err)
		}
		got, progOut := runUSDT(t, []string{bin, "3"}, src, RunOptions{})
		sems := strings.Join(strings.Fields(progOut), " ")
		drop := regexp.MustCompile(`(?m)^\d+\n`)
		w, g := normalizeOutput(drop.ReplaceAllString(string(want), "")), normalizeOutput(got)
		if w != g {
			t.Errorf("bpftrace:\n%s\ntracelet:\n%s", w, g)
		}
		if sems != "1 1 1" {
			t.Errorf("semaphore while attached: %s, want 1 1 1", sems)
		}
	}
}

// TestRunUSDTLibrary attaches usdt probes in a shared library, as
// usdt:LIBRARY:PROVIDER:NAME: probes.c built as libprobes.so, called by a
// program linked with it. The library's semaphore is raised in the
// program's mapping of the library's data.
func TestRunUSDTLibrary(t *testing.T) {
	testenv.RequireRoot(t)
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		t.Skip("gcc is not installed: cannot build the USDT test library")
	}
	dir := t.TempDir()
	lib := filepath.Join(dir, "libprobes.so")
	main := filepath.Join(dir, "main.c")
	bin := filepath.Join(dir, "useprobes")
	if err := os.WriteFile(main, []byte(`#include <stdio.h>
extern unsigned short tracelet_fire_semaphore;
long work(int a, long b, short c, unsigned char d);
int main(void) {
	for (int i = 1; i <= 3; i++) {
		work(i, 1000 + i, -i, i);
		printf("%u\n", tracelet_fire_semaphore);
	}
	return 0;
}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"-O2", "-g0", "-DTL_NOLIBC", "-shared", "-fPIC", "-o", lib, filepath.Join("..", "usdt", "testdata", "probes.c")},
		{"-O2", "-g0", "-o", bin, main, "-L" + dir, "-lprobes", "-Wl,-rpath," + dir},
	} {
		if b, err := exec.Command(gcc, args...).CombinedOutput(); err != nil {
			t.Fatalf("gcc %v: %v\n%s", args, err, b)
		}
	}
	out, progOut := runUSDT(t, []string{bin}, strings.ReplaceAll(usdtScript, "BIN", lib), RunOptions{})
	if got, want := strings.Join(usdtLines(out), "\n")+"\n", usdtWant(3); got != want {
		t.Errorf("output:\n%s\nwant:\n%s", got, want)
	}
	if sems := strings.Join(strings.Fields(progOut), " "); sems != "1 1 1" {
		t.Errorf("semaphore while attached: %s, want 1 1 1", sems)
	}
}
