package tracefs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tracelet/tracelet/internal/testenv"
	"github.com/tracelet/tracelet/kprobeevents"
)

// argRegs are the fetchargs of the C ABI's first arguments at a function's
// entry: %REG, or $stackN where the ABI passes them on the stack.
func argRegs(t testing.TB) []string {
	a := testenv.KernelABI(t).UserArgs
	return a[:]
}

func TestParsePlan(t *testing.T) {
	src := `# a plan
name boot_demo
p:open do_sys_openat2 dfd=$arg1:s32
r:open_ret do_sys_openat2 ret=$retval:s64
sched:sched_process_exec
filter open dfd == -100
filter sched:sched_process_exec pid > 1
trigger tracelet_boot_demo/open_ret stacktrace if ret < 0
instance tracelet_bootbuf 2048
`
	p, err := ParsePlan("x/whatever.plan", []byte(src), kprobeevents.Options{Arch: kprobeevents.ArchX86_64})
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "boot_demo" || p.Group != "tracelet_boot_demo" || p.Instance != "tracelet_bootbuf" || p.BufferSizeKB != 2048 {
		t.Fatalf("plan = %+v", p)
	}
	if len(p.Probes) != 2 || len(p.Events) != 3 {
		t.Fatalf("%d probes, %d events", len(p.Probes), len(p.Events))
	}
	if got := p.Probes[0].String(); got != "p:tracelet_boot_demo/open do_sys_openat2 dfd=$arg1:s32" {
		t.Errorf("probe 0 = %s", got)
	}
	if e := p.Event("tracelet_boot_demo", "open"); e == nil || e.Filter != "dfd == -100" {
		t.Errorf("open event = %+v", e)
	}
	if e := p.Event("sched", "sched_process_exec"); e == nil || e.Filter != "pid > 1" || e.Probe != nil {
		t.Errorf("tracepoint event = %+v", e)
	}
	if e := p.Event("tracelet_boot_demo", "open_ret"); e == nil || len(e.Triggers) != 1 || e.Triggers[0] != "stacktrace if ret < 0" {
		t.Errorf("open_ret event = %+v", e)
	}
	// Without a name line the file's base name names the plan.
	p, err = ParsePlan("/etc/tracelet/net-debug.v2.plan", []byte("p:x do_sys_openat2\n"), kprobeevents.Options{Arch: kprobeevents.ArchX86_64})
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "net_debug" || p.Instance != "tracelet_net_debug" {
		t.Errorf("name %q instance %q", p.Name, p.Instance)
	}
}

func TestParsePlanErrors(t *testing.T) {
	opts := kprobeevents.Options{Arch: kprobeevents.ArchX86_64}
	for _, c := range []struct {
		src, want string
		line, col int
	}{
		{"p:x do_sys_openat2\nfilter nosuch a == 1\n", `no event "nosuch"`, 2, 8},
		{"p:x do_sys_openat2 $retval\n", "RETVAL_ON_PROBE", 1, 20},
		{"p:x do_sys_openat2\ninstance tracelet_x 0\n", "positive number of KiB", 2, 21},
		{"p:x do_sys_openat2\ninstance tracelet_123\n", "not a pid", 0, 0},
		{"name 9lives\np:x do_sys_openat2\n", "not starting with a digit", 1, 6},
		{"p:kprobes/x do_sys_openat2\n", `group "kprobes" must be tracelet_<name>`, 0, 0},
		{"p:x do_sys_openat2\np:x vfs_read\n", "defined twice", 2, 1},
		{"p:x do_sys_openat2\nfilter x a == 1\nfilter x b == 2\n", "has a filter already", 3, 8},
		{"# nothing\n", "defines no probe", 0, 0},
		{"p:x do_sys_openat2\ntrigger x !traceoff\n", "removes a trigger", 0, 0},
	} {
		_, err := ParsePlan("t.plan", []byte(c.src), opts)
		var pe *PlanError
		if !errors.As(err, &pe) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: err = %v, want a PlanError with %q", c.src, err, c.want)
			continue
		}
		if pe.Line != c.line || pe.Col != c.col {
			t.Errorf("%q: at %d:%d, want %d:%d (%v)", c.src, pe.Line, pe.Col, c.line, c.col, err)
		}
	}
}

func TestOwnedPlan(t *testing.T) {
	p, err := ParsePlan("o.plan", []byte("p:x do_sys_openat2\np:tracelet_other/y vfs_read\nsched:sched_switch\n"), kprobeevents.Options{Arch: kprobeevents.ArchX86_64})
	if err != nil {
		t.Fatal(err)
	}
	o := p.Owned(4242, "rec")
	if err := o.Validate(); err != nil {
		t.Fatal(err)
	}
	if o.Group != "tracelet_4242" || o.Instance != "tracelet_4242_rec" || o.Probes[1].GroupName() != "tracelet_4242" || o.Event("sched", "sched_switch") == nil {
		t.Fatalf("owned = %+v", o)
	}
	if p.Probes[1].GroupName() != "tracelet_other" {
		t.Fatal("Owned changed the original plan")
	}
	// Another pid's owner names are refused.
	o.owner = 1
	if err := o.Validate(); err == nil {
		t.Fatal("an owned plan validated with another pid's names")
	}
}

// planFile writes a plan for the test workload's C-ABI function, with a
// tracepoint whose filter only this test's process passes, and reverts it
// at the end of the test.
func planFile(t *testing.T, fs *FS, tg target, name string) *Plan {
	t.Helper()
	regs := argRegs(t)
	src := fmt.Sprintf(`name %s
p:cabi %s:%#x a=%s:u64 b=%s:u64 c=%s:s64
sched:sched_process_exec
filter sched:sched_process_exec filename ~ "*/testprog"
filter cabi a >= 10
trigger cabi stacktrace:3
instance tracelet_%s 256
`, name, tg.path, tg.off, regs[0], regs[1], regs[2], name)
	p, err := ParsePlan(name+".plan", []byte(src), kprobeevents.Options{Arch: KernelArch()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := fs.Revert(p); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	return p
}

func TestApplyRevertStatus(t *testing.T) {
	fs := mustFS(t)
	tg := testTarget(t)
	name := uniq("plan")
	p := planFile(t, fs, tg, name)
	regs := argRegs(t)

	// A foreign probe on the same function, and a probe of ours in the
	// plan's group that the plan does not list: revert must leave both.
	fg := fmt.Sprintf("othertool%d", os.Getpid())
	appendRaw(t, fs, UprobeEvents, fmt.Sprintf("p:%s/foreign %s:%#x x=%s:u64", fg, tg.path, tg.off, regs[0]))
	t.Cleanup(func() { appendRaw(t, fs, UprobeEvents, "-:"+fg+"/foreign") })
	extra := &kprobeevents.Probe{Type: kprobeevents.Uprobe, Group: p.Group, Event: "extra", Path: tg.path, Offset: tg.off}
	if err := fs.AddProbe(extra); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fs.RemoveDynamicEvent(UprobeEvents, p.Group, "extra") })

	if st, err := fs.Status(p); err != nil || st.Applied() || st.InstanceExists {
		t.Fatalf("before apply: %+v, %v", st, err)
	}
	changes, err := fs.Apply(p)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range changes {
		got = append(got, c.Action+" "+c.What)
	}
	want := []string{
		"added probe " + p.Group + "/cabi",
		"created instance " + p.Instance,
		"set buffer size of " + p.Instance,
		"set filter of " + p.Group + ":cabi",
		"added trigger of " + p.Group + ":cabi",
		"enabled " + p.Group + ":cabi in " + p.Instance,
		"set filter of sched:sched_process_exec",
		"enabled sched:sched_process_exec in " + p.Instance,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("first apply:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// Idempotent: the second apply finds everything in place.
	if changes, err := fs.Apply(p); err != nil || len(changes) != 0 {
		t.Fatalf("second apply: %v, %v", changes, err)
	}
	inst := filepath.Join(fs.Root(), "instances", p.Instance)
	read := func(rel string) string {
		b, err := os.ReadFile(filepath.Join(inst, rel))
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(b))
	}
	if f := read("events/" + p.Group + "/cabi/filter"); f != "a >= 10" {
		t.Errorf("filter = %q", f)
	}
	if e := read("events/sched/sched_process_exec/enable"); e != "1" {
		t.Errorf("enable = %q", e)
	}
	if tr := read("events/" + p.Group + "/cabi/trigger"); !strings.HasPrefix(tr, "stacktrace:count=3") {
		t.Errorf("trigger = %q", tr)
	}

	// Hits: the uprobe counts every call, filtered or not.
	runProg(t, tg.path, "calls", "5", "11", "22")
	runProg(t, tg.path, "calls", "2", "3", "4")
	st, err := fs.Status(p)
	if err != nil {
		t.Fatal(err)
	}
	if !st.Applied() || !st.InstanceExists || st.BufferSizeKB < 256 {
		t.Fatalf("status: %+v", st)
	}
	if e := st.Events[0]; !e.Probe || !e.HasHits || e.Hits != 7 {
		t.Errorf("cabi status: %+v, want 7 hits", e)
	}
	// The instance recorded the 5 calls the filter passes, the two execs,
	// and the 3 stack traces the counted trigger wrote into its ring.
	if st.Entries != 10 {
		t.Errorf("instance holds %d entries, want 5 probe hits + 2 execs + 3 stack traces", st.Entries)
	}

	// Drift is reported and repaired.
	if err := writeOnce(filepath.Join(inst, "events/sched/sched_process_exec/enable"), "0"); err != nil {
		t.Fatal(err)
	}
	if st, _ := fs.Status(p); st.Applied() || st.Events[1].Enabled {
		t.Errorf("status after disabling: %+v", st.Events[1])
	}
	if changes, err := fs.Apply(p); err != nil || len(changes) != 1 || changes[0].Action != "enabled" {
		t.Errorf("repairing apply: %v, %v", changes, err)
	}

	changes, err = fs.Revert(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) != 2 {
		t.Errorf("revert: %v", changes)
	}
	if _, err := os.Stat(inst); !os.IsNotExist(err) {
		t.Errorf("instance survived revert: %v", err)
	}
	if hasEvent(t, fs, UprobeEvents, p.Group, "cabi") {
		t.Error("the plan's probe survived revert")
	}
	if !hasEvent(t, fs, UprobeEvents, fg, "foreign") || !hasEvent(t, fs, UprobeEvents, p.Group, "extra") {
		t.Error("revert removed a probe the plan did not install")
	}
	if changes, err := fs.Revert(p); err != nil || len(changes) != 0 {
		t.Errorf("second revert: %v, %v", changes, err)
	}
}

// TestApplyReplacesChangedProbe: a probe of the plan's name with another
// definition is replaced, not kept.
func TestApplyReplacesChangedProbe(t *testing.T) {
	fs := mustFS(t)
	tg := testTarget(t)
	p := planFile(t, fs, tg, uniq("repl"))
	old := &kprobeevents.Probe{Type: kprobeevents.Uprobe, Group: p.Group, Event: "cabi", Path: tg.path, Offset: tg.off}
	if err := fs.AddProbe(old); err != nil {
		t.Fatal(err)
	}
	changes, err := fs.Apply(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) == 0 || changes[0].Action != "replaced" {
		t.Fatalf("changes = %v", changes)
	}
	st, err := fs.Status(p)
	if err != nil || !st.Applied() {
		t.Fatalf("status %+v %v", st, err)
	}
}

// TestApplyKprobes runs in the VM suite: a plan of a kprobe and a kretprobe
// with a filter is applied twice, hit, reported and reverted, and a foreign
// kprobe survives.
func TestApplyKprobes(t *testing.T) {
	testenv.RequireKprobes(t)
	fs := mustFS(t)
	name := uniq("kp")
	// A kernel that places no kretprobes (testenv.FtraceOwnsEntry) gets
	// the entry probe alone, which tracefs places past ftrace's site.
	ret, perOpen := "r:open_ret do_sys_openat2 ret=$retval:s64\n", uint64(2)
	if testenv.FtraceOwnsEntry(t) {
		t.Logf("this kernel places no kretprobes (ftrace owns SYM+0, no KPROBES_ON_FTRACE): the plan's r:open_ret is left out")
		ret, perOpen = "", 1
	}
	src := testenv.KernelArgs(t, fmt.Sprintf(`name %s
p:open do_sys_openat2 dfd=$arg1:s32
%sfilter open dfd == -100
`, name, ret))
	p, err := ParsePlan(name+".plan", []byte(src), kprobeevents.Options{Arch: KernelArch()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fs.Revert(p) })
	fg := fmt.Sprintf("othertool%d", os.Getpid())
	appendRaw(t, fs, KprobeEvents, "p:"+fg+"/foreign "+testenv.KprobeEntry(t, "do_sys_openat2"))
	t.Cleanup(func() { appendRaw(t, fs, KprobeEvents, "-:"+fg+"/foreign") })

	if _, err := fs.Apply(p); err != nil {
		t.Fatal(err)
	}
	if changes, err := fs.Apply(p); err != nil || len(changes) != 0 {
		t.Fatalf("second apply: %v %v", changes, err)
	}
	for i := 0; i < 3; i++ {
		f, err := os.Open("/proc/self/stat")
		if err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	st, err := fs.Status(p)
	if err != nil || !st.Applied() {
		t.Fatalf("status %+v %v", st, err)
	}
	for _, e := range st.Events {
		if !e.HasHits || e.Hits < 3 {
			t.Errorf("%s: %d hits (known %v), want at least 3", e.Event, e.Hits, e.HasHits)
		}
	}
	if _, err := fs.Revert(p); err != nil {
		t.Fatal(err)
	}
	if hasEvent(t, fs, KprobeEvents, p.Group, "open") || hasEvent(t, fs, KprobeEvents, p.Group, "open_ret") {
		t.Error("revert left a plan probe")
	}
	if !hasEvent(t, fs, KprobeEvents, fg, "foreign") {
		t.Error("revert removed the foreign kprobe")
	}
	testenv.RequireKprobeRing(t)
	if st.Entries < 3*perOpen {
		t.Errorf("instance held %d entries, want at least 3 opens (and 3 returns where the kernel has kretprobes)", st.Entries)
	}
}
