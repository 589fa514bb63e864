package record

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tracelet/tracelet/internal/testenv"
	"github.com/tracelet/tracelet/kprobeevents"
	"github.com/tracelet/tracelet/tracefs"
)

// TestPlanFromScript compiles scripts for other machines: nothing here
// touches the kernel.
func TestPlanFromScript(t *testing.T) {
	src := `kprobe:do_sys_openat2 { printf("%s\n", str(arg1)); }
kretprobe:do_sys_openat2 /retval < 0/ { printf("%d\n", retval); }
kprobe:vfs_read { @ = count(); }
kprobe:vfs_read /arg2 > 5/ { @c[comm] = count(); }
`
	for _, c := range []struct {
		arch kprobeevents.Arch
		defs []string
	}{
		{kprobeevents.ArchX86_64, []string{
			"p:tracelet_boot/do_sys_openat2 do_sys_openat2 str_arg1=+0(%si):string",
			"r:tracelet_boot/do_sys_openat2_ret do_sys_openat2 retval=$retval:s64",
			"p:tracelet_boot/vfs_read vfs_read",
			"p:tracelet_boot/vfs_read_2 vfs_read arg2=%dx:u64 comm=$comm",
		}},
		// 32-bit: registers and $retval are 32 bits wide.
		{kprobeevents.ArchARM, []string{
			"p:tracelet_boot/do_sys_openat2 do_sys_openat2 str_arg1=+0(%r1):string",
			"r:tracelet_boot/do_sys_openat2_ret do_sys_openat2 retval=$retval:s32",
			"p:tracelet_boot/vfs_read vfs_read",
			"p:tracelet_boot/vfs_read_2 vfs_read arg2=%r2:u32 comm=$comm",
		}},
		{kprobeevents.ArchARM64, []string{
			"p:tracelet_boot/do_sys_openat2 do_sys_openat2 str_arg1=+0(%x1):string",
			"r:tracelet_boot/do_sys_openat2_ret do_sys_openat2 retval=$retval:s64",
			"p:tracelet_boot/vfs_read vfs_read",
			"p:tracelet_boot/vfs_read_2 vfs_read arg2=%x2:u64 comm=$comm",
		}},
	} {
		p, err := PlanFromScript("/etc/tracelet/boot.bt", []byte(src), ScriptOptions{Grammar: kprobeevents.Options{Arch: c.arch}})
		if err != nil {
			t.Fatalf("%s: %v", c.arch, err)
		}
		if p.Name != "boot" || p.Group != "tracelet_boot" || p.Instance != "tracelet_boot" {
			t.Errorf("%s: plan %s group %s instance %s", c.arch, p.Name, p.Group, p.Instance)
		}
		var got []string
		for _, pr := range p.Probes {
			got = append(got, pr.StringArch(c.arch))
		}
		if strings.Join(got, "\n") != strings.Join(c.defs, "\n") {
			t.Errorf("%s: probes\n%s\nwant\n%s", c.arch, strings.Join(got, "\n"), strings.Join(c.defs, "\n"))
		}
		if e := p.Event("tracelet_boot", "do_sys_openat2_ret"); e == nil || e.Filter != "retval < 0" {
			t.Errorf("%s: filter: %+v", c.arch, e)
		}
		if e := p.Event("tracelet_boot", "vfs_read_2"); e == nil || len(e.Triggers) != 1 || !strings.HasPrefix(e.Triggers[0], "hist:keys=comm:") || e.Filter != "arg2 > 5" {
			t.Errorf("%s: hist trigger: %+v", c.arch, e)
		}
	}
	// What the tracefs backend cannot express is refused with the
	// script's position.
	for _, c := range []struct{ src, want string }{
		{"kprobe:f { @x = sum(arg0); }", "1:"},
		{"interval:s:1 { printf(\"x\\n\"); }", "need BPF"},
		{"tracepoint:sched:sched_switch { printf(\"a\\n\"); }\ntracepoint:sched:sched_switch /pid == 1/ { printf(\"b\\n\"); }", "probed twice"},
	} {
		_, err := PlanFromScript("bad.bt", []byte(c.src), ScriptOptions{Grammar: kprobeevents.Options{Arch: kprobeevents.ArchX86_64}})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: err = %v, want %q", c.src, err, c.want)
		}
	}
}

// TestScriptApplyRevertStatus applies a script of a uprobe and a tracepoint
// twice (the second apply changes nothing), checks hit counts and what the
// instance recorded (decoded from its binary rings, values checked), and
// reverts it while a foreign probe on the same function survives.
func TestScriptApplyRevertStatus(t *testing.T) {
	fs := mustFS(t)
	prog, src := cabiScript(t)
	name := uniq("app")
	p := scriptPlan(t, fs, name, src)

	path, off, _ := tracefs.ResolveSymbol(prog, testenv.CABITarget)
	fg := fmt.Sprintf("othertool%d", os.Getpid())
	foreign := fmt.Sprintf("p:%s/foreign %s:%#x", fg, path, off)
	writeRaw(t, fs, tracefs.UprobeEvents, foreign)
	t.Cleanup(func() { writeRaw(t, fs, tracefs.UprobeEvents, "-:"+fg+"/foreign") })

	changes, err := fs.Apply(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) < 5 {
		t.Fatalf("first apply: %v", changes)
	}
	if again, err := fs.Apply(p); err != nil || len(again) != 0 {
		t.Fatalf("second apply changed %v (%v): not idempotent", again, err)
	}
	runProg(t, prog, "calls", "3", "11", "22")
	runProg(t, prog, "calls", "2", "4", "5") // hits the probe, fails the filter

	st, err := fs.Status(p)
	if err != nil {
		t.Fatal(err)
	}
	if !st.Applied() {
		t.Fatalf("status: not applied: %+v", st)
	}
	up := st.Events[0]
	if !up.Probe || !up.HasHits || up.Hits != 5 {
		t.Errorf("uprobe status %+v: want 5 hits (the hit counter ignores filters)", up)
	}

	// The kernel's own text of the probe's events (the trace file does
	// not consume), which our text format must reproduce line for line.
	kernelText, err := os.ReadFile(filepath.Join(fs.Root(), "instances", p.Instance, "trace"))
	if err != nil {
		t.Fatal(err)
	}
	var kernelLines []string
	for _, l := range strings.Split(string(kernelText), "\n") {
		if strings.Contains(l, " "+p.Events[0].Event+": ") {
			kernelLines = append(kernelLines, l)
		}
	}

	// collect: the instance's binary rings, decoded with the formats.
	in, err := fs.OpenInstance(p.Instance)
	if err != nil {
		t.Fatal(err)
	}
	var calls, execs int
	var lines []string
	pr := NewPrinter(FormatText)
	_, err = Collect(fs, in, func(ev *Event) error {
		lines = append(lines, string(pr.Append(nil, ev)))
		switch ev.Info.FullName() {
		case p.Group + ":" + p.Events[0].Event:
			calls++
			a, _ := ev.Field("arg0")
			b, _ := ev.Field("arg1")
			if a.Uint != 11 || b.Uint != 22 {
				t.Errorf("event %s: arg0 %v arg1 %v, want 11 22", ev, a, b)
			}
		case "sched:sched_process_exec":
			execs++
		default:
			t.Errorf("unexpected event %s", ev)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var ours []string
	for _, l := range lines {
		if strings.Contains(l, " "+p.Events[0].Event+": ") {
			ours = append(ours, strings.TrimSuffix(l, "\n"))
		}
	}
	if strings.Join(ours, "\n") != strings.Join(kernelLines, "\n") {
		t.Errorf("text format differs from the kernel's trace file:\nours:\n%s\nkernel:\n%s", strings.Join(ours, "\n"), strings.Join(kernelLines, "\n"))
	}
	if calls != 3 || execs != 2 {
		t.Errorf("collected %d calls and %d execs, want 3 and 2:\n%s", calls, execs, strings.Join(lines, ""))
	}

	if _, err := fs.Revert(p); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(fs.Root(), "instances", p.Instance)); !os.IsNotExist(err) {
		t.Errorf("instance survived revert: %v", err)
	}
	defs, _ := os.ReadFile(filepath.Join(fs.Root(), tracefs.UprobeEvents))
	if strings.Contains(string(defs), p.Group+"/") {
		t.Errorf("revert left a probe of %s:\n%s", p.Group, defs)
	}
	if !strings.Contains(string(defs), fg+"/foreign") {
		t.Errorf("revert removed the foreign probe:\n%s", defs)
	}
	if again, err := fs.Revert(p); err != nil || len(again) != 0 {
		t.Errorf("second revert: %v %v", again, err)
	}
}

// writeRaw writes to a control file as another tool would.
func writeRaw(t *testing.T, fs *tracefs.FS, file, cmd string) {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(fs.Root(), file), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(cmd); err != nil {
		t.Fatalf("writing %q to %s: %v", cmd, file, err)
	}
}

// TestApplyHistTrigger applies count() into a keyed map, a hist trigger:
// where the kernel has hist triggers (the VM suite's kernels) apply is
// idempotent although the kernel lists the trigger with its size, status
// finds it, and the counts are there; where it has none (this host), apply
// refuses before writing anything, naming the missing command.
func TestApplyHistTrigger(t *testing.T) {
	fs := mustFS(t)
	prog := testenv.TestProg(t)
	p := scriptPlan(t, fs, uniq("hist"), `tracepoint:sched:sched_process_exec /comm == "testprog"/ { @c[args->pid] = count(); }`)
	inst := filepath.Join(fs.Root(), "instances", p.Instance)
	b, err := os.ReadFile(filepath.Join(fs.Root(), "events/sched/sched_process_exec/trigger"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.SplitN(string(b), "\n", 3)[1], " hist") {
		_, err := fs.Apply(p)
		if err == nil || !strings.Contains(err.Error(), `no "hist" trigger`) {
			t.Fatalf("apply without hist triggers: %v", err)
		}
		if _, err := os.Stat(inst); !os.IsNotExist(err) {
			t.Errorf("a refused apply created the instance: %v", err)
		}
		return
	}
	if _, err := fs.Apply(p); err != nil {
		t.Fatal(err)
	}
	if again, err := fs.Apply(p); err != nil || len(again) != 0 {
		t.Fatalf("second apply: %v %v", again, err)
	}
	runProg(t, prog, "calls", "1", "1", "1")
	st, err := fs.Status(p)
	if err != nil || !st.Applied() {
		t.Fatalf("status %+v %v", st, err)
	}
	hist, err := os.ReadFile(filepath.Join(inst, "events/sched/sched_process_exec/hist"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(hist), "hitcount:          1") {
		t.Errorf("hist after one exec of testprog:\n%s", hist)
	}
}
