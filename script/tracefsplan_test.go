package script

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/tracelet/tracelet/asm"
	"github.com/tracelet/tracelet/internal/testenv"
	"github.com/tracelet/tracelet/kprobeevents"
	"github.com/tracelet/tracelet/tracefs"
)

func compileTracefs(t *testing.T, src string) ([]*TracefsProbe, *Object, error) {
	t.Helper()
	prog, err := Parse("-e", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	info, err := Check(prog, CheckOptions{Formats: fixtureFormats})
	if err != nil {
		t.Fatal(err)
	}
	amd64, _ := asm.ArchFor("amd64")
	return CompileTracefs(prog, info, TracefsOptions{Arch: amd64})
}

func TestTracefsPlans(t *testing.T) {
	for _, c := range []struct {
		src, def, filter, trigger string
		fields                    []string
		count                     CountKind
	}{
		{`kprobe:do_sys_openat2 /arg0 == 3 && comm == "sshd"/ { printf("%s %d\n", str(arg1), arg0); }`,
			`p:g/e do_sys_openat2 arg0=%di:u64 comm=$comm str_arg1=+0(%si):string`,
			`arg0 == 3 && comm == "sshd"`, "", []string{"str_arg1", "arg0"}, CountNone},
		{`kprobe:f /(arg0 == 1 || arg0 == 2) && !(arg1 > 3)/ { @ = count(); }`,
			`p:g/e f arg0=%di:u64 arg1=%si:u64`, `(arg0 == 1 || arg0 == 2) && !(arg1 > 3)`,
			`hist:keys=common_type:vals=hitcount:sort=hitcount if (arg0 == 1 || arg0 == 2) && !(arg1 > 3)`, nil, CountHist},
		{`kretprobe:vfs_read /retval < 0/ { printf("%d\n", retval); }`,
			`r:g/e vfs_read retval=$retval:s64`, `retval < 0`, "", []string{"retval"}, CountNone},
		{`kprobe:vfs_read { @ = count(); }`, `p:g/e vfs_read`, "", "", nil, CountProfile},
		{`kprobe:vfs_read /5 < arg2/ { @[comm, arg2] = count(); }`,
			`p:g/e vfs_read arg2=%dx:u64 comm=$comm`, `arg2 > 5`,
			`hist:keys=comm,arg2:vals=hitcount:sort=hitcount if arg2 > 5`, nil, CountHist},
		{`tracepoint:syscalls:sys_enter_openat /pid != 1 && !(args->flags & 64)/ { printf("%d\n", args->flags); }`,
			"", `common_pid != 1 && !(flags & 64)`, "", []string{"flags"}, CountNone},
		{`tracepoint:syscalls:sys_enter_kill /tid == 7/ { printf("%d %d\n", tid, args->pid); }`,
			"", `common_pid == 7`, "", []string{"common_pid", "pid"}, CountNone},
		{`tracepoint:sched:sched_process_exec { printf("%s\n", str(args->filename)); }`,
			"", "", "", []string{"filename"}, CountNone},
		{`tracepoint:syscalls:sys_exit_read /args->ret/ { @ = count(); }`,
			"", `ret != 0`, `hist:keys=common_type:vals=hitcount:sort=hitcount if ret != 0`, nil, CountHist},
		{`t:sched:sched_wakeup /comm == "bash"/ { printf("%s %d\n", args->comm, args->pid); }`,
			"", `comm == "bash"`, "", []string{"comm", "pid"}, CountNone},
	} {
		probes, _, err := compileTracefs(t, c.src)
		if err != nil {
			t.Errorf("%s: %v", c.src, err)
			continue
		}
		tp := probes[0]
		if c.def != "" {
			def, err := tp.Definition("g", "e", "")
			if err != nil || def != c.def {
				t.Errorf("%s: definition %q, %v; want %q", c.src, def, err, c.def)
			}
			// The kernel's grammar, as package kprobeevents checks it.
			if _, err := kprobeevents.Parse(def, kprobeevents.Options{Arch: kprobeevents.ArchX86_64}); err != nil {
				t.Errorf("%s: %q is not a valid definition: %v", c.src, def, err)
			}
		}
		if tp.Filter != c.filter || tp.Trigger != c.trigger || tp.Count != c.count ||
			strings.Join(tp.Fields, ",") != strings.Join(c.fields, ",") {
			t.Errorf("%s:\n got filter %q trigger %q count %v fields %v\nwant filter %q trigger %q count %v fields %v",
				c.src, tp.Filter, tp.Trigger, tp.Count, tp.Fields, c.filter, c.trigger, c.count, c.fields)
		}
	}
}

func TestTracefsRefusals(t *testing.T) {
	for _, c := range []struct{ src, want string }{
		{`BEGIN { printf("x\n"); }`, "-e:1:1: tracefs backend: BEGIN probes need BPF"},
		{`interval:s:1 { exit(); }`, "interval probes need BPF"},
		{`kprobe:f { @s = sum(arg0); }`, "tracefs backend: sum() cannot be expressed in tracefs: of the aggregations, only @map = count() can"},
		{`kprobe:f { $x = arg0; }`, "assignment cannot be expressed in tracefs"},
		{`kprobe:f { if (arg0) { exit(); } }`, "if cannot be expressed in tracefs: use a predicate"},
		{`kprobe:f { printf("%s\n", str(arg0, 8)); }`, "str() with a length cannot be expressed in tracefs"},
		{`kprobe:f /arg0 + 1 == 2/ { @ = count(); }`, "an expression cannot be expressed in tracefs"},
		{`kprobe:f /arg0 == arg1/ { @ = count(); }`, "predicate an expression cannot be expressed as a tracefs filter"},
		{`kprobe:vfs_* { @ = count(); }`, "the wildcard in kprobe:vfs_* must be expanded"},
		{`t:sched:sched_wakeup { printf("%s\n", comm); }`, "comm of a tracepoint is not in its record"},
		{`kprobe:f { printf("a\n"); printf("b\n"); }`, "one printf per event"},
		{`t:syscalls:sys_enter_openat { printf("%s\n", str(args->filename)); }`, "str(args->filename) cannot be expressed in tracefs: a tracepoint's record cannot be dereferenced"},
		{`kprobe:f { delete(@x[1]); } kprobe:g { @x[1] = 1; }`, "delete() cannot be expressed in tracefs"},
	} {
		_, _, err := compileTracefs(t, c.src)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s:\n got %v\nwant %q", c.src, err, c.want)
		}
	}
}

// TestTracefsUprobe runs the tracefs plan of a one-liner for real: a
// uprobe with fetchargs and a filter in a private instance, whose records
// are formatted with the script's printf, and count() from uprobe_profile.
func TestTracefsUprobe(t *testing.T) {
	testenv.RequireRoot(t)
	prog := testenv.TestProg(t)
	src := fmt.Sprintf(`uprobe:%[1]s:%[2]s /(arg1 == 9 || arg1 == 10) && !(arg0 > 7) && comm == "testprog"/ { printf("%%d+%%d by %%s\n", arg0, arg1, comm); }
uprobe:%[1]s:%[2]s { @calls = count(); }`, prog, testenv.CABITarget)
	probes, obj, err := compileTracefs(t, src)
	if err != nil {
		t.Fatal(err)
	}
	tfs, err := tracefs.Find()
	if err != nil {
		t.Fatal(err)
	}
	group := tracefs.OwnerGroup(os.Getpid())
	path, off, err := tracefs.ResolveSymbol(prog, testenv.CABITarget)
	if err != nil {
		t.Fatal(err)
	}
	in, err := tfs.NewInstance(group + "_script")
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	for i, tp := range probes {
		ev := fmt.Sprintf("tfs_%d", i)
		def, err := tp.Definition(group, ev, fmt.Sprintf("%s:%#x", path, off))
		if err != nil {
			t.Fatal(err)
		}
		if err := tfs.AddDynamicEvent(tracefs.UprobeEvents, def); err != nil {
			t.Fatalf("%s: %v", def, err)
		}
		defer func() {
			in.Disable(group, ev)
			if err := tfs.RemoveDynamicEvent(tracefs.UprobeEvents, group, ev); err != nil {
				t.Errorf("removing %s: %v", ev, err)
			}
		}()
		if tp.Filter != "" {
			if err := in.SetFilter(group, ev, tp.Filter); err != nil {
				t.Fatalf("filter %q: %v", tp.Filter, err)
			}
		}
		if err := in.Enable(group, ev); err != nil {
			t.Fatal(err)
		}
	}
	for _, args := range [][]string{{"calls", "3", "7", "9"}, {"calls", "2", "7", "8"}} {
		if out, err := exec.Command(prog, args...).CombinedOutput(); err != nil {
			t.Fatalf("testprog %v: %v\n%s", args, err, out)
		}
	}
	in.Disable(group, "tfs_0")
	in.Disable(group, "tfs_1")

	// The filter kept the three calls with arg1 == 9; format each record
	// from the fetchargs the kernel printed.
	text, err := os.ReadFile(filepath.Join(in.Path(), "trace"))
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`tfs_0: \(0x[0-9a-f]+\) arg1=(\d+) arg0=(\d+) comm="([^"]*)"`)
	var out strings.Builder
	for _, m := range re.FindAllStringSubmatch(string(text), -1) {
		a1, _ := strconv.ParseUint(m[1], 10, 64)
		a0, _ := strconv.ParseUint(m[2], 10, 64)
		s, err := probes[0].FormatValues(obj, []any{a0, a1, m[3]})
		if err != nil {
			t.Fatal(err)
		}
		out.WriteString(s)
	}
	if want := strings.Repeat("7+9 by testprog\n", 3); out.String() != want {
		t.Errorf("printf output %q, want %q\ntrace:\n%s", out.String(), want, text)
	}

	// count() without a predicate is the uprobe's hit counter: 5 calls.
	b, err := os.ReadFile(filepath.Join(tfs.Root(), "uprobe_profile"))
	if err != nil {
		t.Fatal(err)
	}
	entries, err := tracefs.ParseProfile("uprobe_profile", b)
	if err != nil {
		t.Fatal(err)
	}
	hits := uint64(0)
	found := false
	for _, e := range entries {
		if e.Event == "tfs_1" && strings.HasSuffix(e.Path, filepath.Base(prog)) {
			hits, found = e.Hits, true
		}
	}
	if !found || hits != 5 || probes[1].Count != CountProfile {
		t.Errorf("@calls: hits %d (found %v, count kind %v), want 5 from uprobe_profile", hits, found, probes[1].Count)
	}
}
