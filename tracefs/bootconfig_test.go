package tracefs

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/tracelet/tracelet/kprobeevents"
)

func bootPlan(t *testing.T, src string, k kprobeevents.Kernel) *Plan {
	t.Helper()
	p, err := ParsePlan("boot.plan", []byte(src), kprobeevents.Options{Arch: kprobeevents.ArchX86_64, Kernel: k})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func bootPlanFor(t *testing.T, src string, arch kprobeevents.Arch) *Plan {
	t.Helper()
	p, err := ParsePlan("boot.plan", []byte(src), kprobeevents.Options{Arch: arch})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestBootArgs(t *testing.T) {
	x86 := kprobeevents.Options{Arch: kprobeevents.ArchX86_64}
	p := bootPlan(t, "p:open do_sys_openat2 dfd=$arg1:s32 path=+0($arg2):ustring\nr:open_ret do_sys_openat2 ret=$retval:s64\n", kprobeevents.Kernel{})
	got, err := p.BootArgs(BootArgsOptions{Grammar: x86})
	if err != nil {
		t.Fatal(err)
	}
	want := "ftrace=nop kprobe_event=p:tracelet_boot/open,do_sys_openat2,dfd=$arg1:s32,path=+0($arg2):ustring;r:tracelet_boot/open_ret,do_sys_openat2,ret=$retval:s64"
	if got != want {
		t.Fatalf("BootArgs =\n%s\nwant\n%s", got, want)
	}
	// What the kernel's parser splits back is the plan.
	back, err := kprobeevents.DecodeBootParamFor(strings.TrimPrefix(got, "ftrace=nop kprobe_event="), x86)
	if err != nil || len(back) != 2 || back[0].String() != p.Probes[0].String() || back[1].String() != p.Probes[1].String() {
		t.Fatalf("decoded %v, %v", back, err)
	}
	// The command-line limit: the parameter, the reserve and the NUL.
	if _, err := p.BootArgs(BootArgsOptions{Grammar: x86, CommandLineSize: len(want) + 1}); err != nil {
		t.Errorf("exactly fitting: %v", err)
	}
	_, err = p.BootArgs(BootArgsOptions{Grammar: x86, CommandLineSize: len(want) + 1, Reserve: 1})
	if err == nil || !strings.Contains(err.Error(), "COMMAND_LINE_SIZE") || !strings.Contains(err.Error(), "bootconfig") {
		t.Errorf("one byte over: %v", err)
	}
	var many strings.Builder
	for i := 0; i < 40; i++ {
		fmt.Fprintf(&many, "p:probe_number_%d do_sys_openat2 dfd=$arg1:s32 flags=+0($arg3):x64\n", i)
	}
	_, err = bootPlan(t, many.String(), kprobeevents.Kernel{}).BootArgs(BootArgsOptions{Grammar: x86, Reserve: 256})
	if err == nil || !strings.Contains(err.Error(), "of the 2048") {
		t.Errorf("40 probes on x86: %v", err)
	}
	// arm has no $argN: the same probes with its argument registers.
	eight := strings.Join(strings.SplitAfter(many.String(), "\n")[:8], "")
	eight = strings.NewReplacer("$arg1", "%r0", "$arg3", "%r2").Replace(eight)
	_, err = bootPlanFor(t, eight, kprobeevents.ArchARM).BootArgs(BootArgsOptions{Grammar: kprobeevents.Options{Arch: kprobeevents.ArchARM}, Reserve: 700})
	if err == nil || !strings.Contains(err.Error(), "of the 1024") {
		t.Errorf("arm's 1024-byte command line: %v", err)
	}

	// A plan's buffer size sizes the global buffer's rings from boot.
	got, err = bootPlan(t, "p:x do_sys_openat2\ninstance tracelet_boot 4096\n", kprobeevents.Kernel{}).BootArgs(BootArgsOptions{Grammar: x86})
	if want := "trace_buf_size=4096K ftrace=nop kprobe_event=p:tracelet_boot/x,do_sys_openat2"; got != want || err != nil {
		t.Errorf("with a buffer size: %q, %v; want %q", got, err, want)
	}

	// Refusals say which path can do it.
	for _, c := range []struct{ src, what, use string }{
		{"sched:sched_switch\n", "tracepoint sched:sched_switch", "tracelet bootconfig"},
		{"p:x do_sys_openat2 a=$arg1\nfilter x a == 1\n", "the filter of", "tracelet bootconfig"},
		{"p:x do_sys_openat2\ntrigger x traceoff\n", "the triggers of", "tracelet bootconfig"},
		{"p:u /bin/sh:0x1000\n", "uprobe", "neither boot path"},
	} {
		_, err := bootPlan(t, c.src, kprobeevents.Kernel{}).BootArgs(BootArgsOptions{Grammar: x86})
		var be *BootError
		if !errors.As(err, &be) || be.Path != "kprobe_event=" || !strings.Contains(err.Error(), c.what) || !strings.Contains(err.Error(), c.use) {
			t.Errorf("%q: %v, want a BootError about %q naming %q", c.src, err, c.what, c.use)
		}
	}
}

func TestBootConfig(t *testing.T) {
	src := `p:open do_sys_openat2 dfd=$arg1:s32
r:open_ret do_sys_openat2 ret=$retval:s64
sched:sched_process_exec
filter open_ret ret < 0
trigger open stacktrace if dfd != -100
instance tracelet_boot 2048
`
	p := bootPlan(t, src, kprobeevents.Kernel{})
	got, err := p.BootConfig(kprobeevents.Options{Arch: kprobeevents.ArchX86_64})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, l := range strings.Split(got, "\n") {
		if l != "" && l[0] != '#' {
			keys = append(keys, l)
		}
	}
	want := []string{
		`ftrace.instance.tracelet_boot.buffer_size = "2048KB"`,
		`ftrace.instance.tracelet_boot.event.kprobes.open.probes = "do_sys_openat2 dfd=$arg1:s32"`,
		`ftrace.instance.tracelet_boot.event.kprobes.open.actions = "stacktrace if dfd != -100"`,
		`ftrace.instance.tracelet_boot.event.kprobes.open.enable`,
		`ftrace.instance.tracelet_boot.event.kprobes.open_ret.probes = "do_sys_openat2%return ret=$retval:s64"`,
		`ftrace.instance.tracelet_boot.event.kprobes.open_ret.filter = "ret < 0"`,
		`ftrace.instance.tracelet_boot.event.kprobes.open_ret.enable`,
		`ftrace.instance.tracelet_boot.event.sched.sched_process_exec.enable`,
	}
	if strings.Join(keys, "\n") != strings.Join(want, "\n") {
		t.Errorf("BootConfig:\n%s\nwant:\n%s", strings.Join(keys, "\n"), strings.Join(want, "\n"))
	}
	// The global form: the same keys under ftrace., no instance.
	glob, err := p.BootConfigFor(kprobeevents.Options{Arch: kprobeevents.ArchX86_64}, true)
	if err != nil {
		t.Fatal(err)
	}
	var gkeys []string
	for _, l := range strings.Split(glob, "\n") {
		if l != "" && l[0] != '#' {
			gkeys = append(gkeys, l)
		}
	}
	if len(gkeys) != len(want) {
		t.Fatalf("global: %d keys, want %d:\n%s", len(gkeys), len(want), glob)
	}
	for i, k := range gkeys {
		if w := strings.Replace(want[i], "ftrace.instance.tracelet_boot.", "ftrace.", 1); k != w {
			t.Errorf("global key %d: %s, want %s", i, k, w)
		}
	}
	for _, c := range []struct {
		src  string
		k    kprobeevents.Kernel
		what string
	}{
		{"p:u /bin/sh:0x1000\n", kprobeevents.Kernel{}, "uprobe"},
		{"r5:r do_sys_openat2\n", kprobeevents.Kernel{}, "maxactive"},
		{"r:r do_sys_openat2\n", kprobeevents.Kernel{Major: 5, Minor: 6}, "tracelet bootargs"},
		{"p:x do_sys_openat2 s=\\\"it's\\\"\n", kprobeevents.Kernel{}, "both quote characters"},
		{"p:x do_sys_openat2 s=\\\"its\\\"\n", kprobeevents.Kernel{}, ""},
	} {
		p := bootPlan(t, c.src, c.k)
		_, err := p.BootConfig(kprobeevents.Options{Arch: kprobeevents.ArchX86_64, Kernel: c.k})
		var be *BootError
		if c.what == "" {
			if err != nil {
				t.Errorf("%q: %v", c.src, err)
			}
			continue
		}
		if !errors.As(err, &be) || be.Path != "bootconfig" || !strings.Contains(err.Error(), c.what) {
			t.Errorf("%q: %v, want a BootError naming %q", c.src, err, c.what)
		}
	}
}
