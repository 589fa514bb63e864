package usdt

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

// TestUprobeHost attaches uprobes through tracefs at the USDT probes of the
// gcc-built probes.c, the semaphore as ref_ctr_offset (Linux 4.20+): the
// kernel must raise the semaphore while the probe is defined (the program
// prints it) and record every argument with its value.
func TestUprobeHost(t *testing.T) {
	testenv.RequireRoot(t)
	path := filepath.Join(t.TempDir(), "probes")
	if _, err := exec.LookPath("gcc"); err == nil {
		path = buildProbes(t)
	} else {
		// No compiler: the committed x86_64 build, if this machine
		// can run it (it needs glibc's loader).
		raw, err := os.ReadFile(filepath.Join("testdata", "probes-x86_64"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, raw, 0o755); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command(path, "1").CombinedOutput(); err != nil {
			t.Skipf("no gcc, and testdata/probes-x86_64 does not run here: %v %s", err, out)
		}
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if f.Arch != kprobeevents.ArchX86_64 {
		t.Skipf("the expected register values are those of gcc -O2 on x86_64, not %v", f.Arch)
	}
	fsys, err := tracefs.Find()
	if err != nil {
		t.Skipf("no tracefs: %v", err)
	}
	if !fsys.Has(tracefs.UprobeEvents) {
		t.Skip("kernel without uprobe events (CONFIG_UPROBE_EVENTS)")
	}

	const n = 3
	run := func() []string {
		out, err := exec.Command(path, fmt.Sprint(n)).Output()
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		return strings.Fields(string(out))
	}
	if sems := run(); strings.Join(sems, " ") != "0 0 0" {
		t.Fatalf("semaphore before any probe: %v, want 0 0 0", sems)
	}

	group := tracefs.OwnerGroup(os.Getpid())
	t.Cleanup(func() {
		if err := fsys.RemoveGroup(tracefs.UprobeEvents, group); err != nil {
			t.Errorf("removing %s: %v", group, err)
		}
	})
	for _, name := range []string{"args", "mem", "fire"} {
		p, err := f.Lookup("tracelet", name)
		if err != nil {
			t.Fatal(err)
		}
		def, err := p.UprobeEvent(group, "usdt_"+name, path, f.Arch)
		if err != nil {
			t.Fatal(err)
		}
		if err := fsys.AddDynamicEvent(tracefs.UprobeEvents, def); err != nil {
			t.Fatalf("%s: %v", def, err)
		}
		t.Logf("%s", def)
	}
	in, err := fsys.NewInstance(group + "_usdt")
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := in.Close(); err != nil {
			t.Error(err)
		}
	}()
	for _, name := range []string{"args", "mem", "fire"} {
		if err := in.Enable(group, "usdt_"+name); err != nil {
			t.Fatal(err)
		}
	}

	if sems := run(); strings.Join(sems, " ") != "1 1 1" {
		t.Errorf("semaphore with the probe defined: %v, want 1 1 1", sems)
	}
	trace, err := os.ReadFile(filepath.Join(in.Path(), "trace"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"args", "mem", "fire"} {
		if err := in.Disable(group, "usdt_"+name); err != nil {
			t.Error(err)
		}
	}
	var got []string
	for _, line := range strings.Split(string(trace), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "#") || line == "" {
			continue
		}
		// "probes-42 [001] ..... 1.2: usdt_args: (0x5555...) arg1=1 ..."
		_, rest, ok := strings.Cut(line, ": usdt_")
		if !ok {
			continue
		}
		ev, rest, _ := strings.Cut(rest, ": ")
		if _, args, ok := strings.Cut(rest, ") "); ok {
			got = append(got, ev+" "+args)
		}
	}
	var want []string
	for i := 1; i <= n; i++ {
		want = append(want,
			fmt.Sprintf("args arg1=%d arg2=%d arg3=%d arg4=%d arg5=-7", i, 1000+i, -i, i),
			fmt.Sprintf("mem arg1=%d arg2=%d", 1001+i, uint64(0x1122334455667788)),
			fmt.Sprintf("fire arg1=%d arg2=%d", i, 1000+i))
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("recorded:\n%s\nwant:\n%s\ntrace:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"), trace)
	}
}
