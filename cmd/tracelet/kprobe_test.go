package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/tracelet/tracelet/internal/testenv"
	"github.com/tracelet/tracelet/tracefs"
	"golang.org/x/sys/unix"
)

// TestProbeKprobeLifecycle: `probe add` of a kprobe and a kretprobe puts
// them in kprobe_events under the tracelet group; enabled in a private
// instance they record the known name this test opens and its -ENOENT;
// `probe list` counts the hits, and `probe del` removes both.
func TestProbeKprobeLifecycle(t *testing.T) {
	testenv.RequireKprobes(t)
	fs, err := tracefs.Find()
	if err != nil {
		t.Fatal(err)
	}
	entry, ret := fmt.Sprintf("kopen%d", os.Getpid()), fmt.Sprintf("kret%d", os.Getpid())
	t.Cleanup(func() {
		runCLI(t, "probe", "del", "tracelet/"+entry)
		runCLI(t, "probe", "del", "tracelet/"+ret)
	})
	mustCLI(t, "probe", "add", testenv.KernelArgs(t, "p:"+entry+" do_sys_openat2 path=+0($arg2):ustring"))
	rdef := "r:" + ret + " do_sys_openat2 ret=$retval:" + testenv.KernelABI(t).SLong()
	events := []string{entry, ret}
	wants := []string{"p:tracelet/" + entry + " " + testenv.KprobeEntry(t, "do_sys_openat2") + " ", "r", "tracelet/" + ret + " do_sys_openat2 "}
	if testenv.FtraceOwnsEntry(t) {
		// The user is told why, and the rest checks the entry probe.
		r := runCLI(t, "probe", "add", rdef)
		if r.code == 0 || !strings.Contains(r.err, "KPROBES_ON_FTRACE") {
			t.Fatalf("probe add %s on a kernel that places no kretprobes: exit %d, stderr %q; want a failure naming KPROBES_ON_FTRACE", rdef, r.code, r.err)
		}
		t.Logf("this kernel places no kretprobes: %s", strings.TrimSpace(r.err))
		events, wants = events[:1], wants[:1]
	} else {
		mustCLI(t, "probe", "add", rdef)
	}
	kev, err := os.ReadFile(filepath.Join(fs.Root(), "kprobe_events"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range wants {
		if !strings.Contains(string(kev), want) {
			t.Fatalf("kprobe_events lacks %q:\n%s", want, kev)
		}
	}
	inst, err := fs.NewInstance(fmt.Sprintf("tracelet_%d_kcli", os.Getpid()))
	if err != nil {
		t.Fatal(err)
	}
	defer inst.Close()
	for _, ev := range events {
		if err := inst.Enable("tracelet", ev); err != nil {
			t.Fatal(err)
		}
	}
	missing := fmt.Sprintf("/tmp/tracelet-cli-kprobe-%d-missing", os.Getpid())
	const n = 7
	for i := 0; i < n; i++ {
		if _, err := unix.Open(missing, unix.O_RDONLY, 0); err != unix.ENOENT {
			t.Fatalf("open %s: %v, want ENOENT", missing, err)
		}
	}
	for _, ev := range events {
		if err := inst.Disable("tracelet", ev); err != nil {
			t.Fatal(err)
		}
	}
	trace, err := os.ReadFile(filepath.Join(inst.Path(), "trace"))
	if err != nil {
		t.Fatal(err)
	}
	list := mustCLI(t, "probe", "list")
	for _, ev := range events {
		m := regexp.MustCompile(`(?m)^tracelet/` + ev + `\s+persistent\s+(\d+)\s`).FindStringSubmatch(list)
		if m == nil {
			t.Fatalf("probe list lacks tracelet/%s:\n%s", ev, list)
		}
		var hits int
		fmt.Sscan(m[1], &hits)
		if hits < n {
			t.Errorf("probe list shows %d hits for tracelet/%s, want at least %d", hits, ev, n)
		}
	}
	for _, ev := range events {
		mustCLI(t, "probe", "del", ev)
	}
	if evs := dynamicEvents(t); strings.Contains(evs, "tracelet/"+entry+" ") || strings.Contains(evs, "tracelet/"+ret+" ") {
		t.Fatalf("probe del left a kprobe:\n%s", evs)
	}
	// What the instance recorded.
	testenv.RequireKprobeRing(t)
	if got := strings.Count(string(trace), " "+entry+": "); got < n {
		t.Errorf("%d %s records, want at least %d:\n%s", got, entry, n, trace)
	}
	if got := strings.Count(string(trace), `path="`+missing+`"`); got != n {
		t.Errorf("%d records with path=%q, want exactly %d:\n%s", got, missing, n, trace)
	}
	if got := strings.Count(string(trace), "ret=-2"); got < n && len(events) > 1 {
		t.Errorf("%d return records with ret=-2, want at least %d:\n%s", got, n, trace)
	}
}

// TestClearStaleKprobes: the owner group of a SIGKILLed run holding a
// kprobe and a kretprobe is listed dead and swept by `probe clear --stale`;
// a live owner's kprobe group stays.
func TestClearStaleKprobes(t *testing.T) {
	testenv.RequireKprobes(t)
	fs, err := tracefs.Find()
	if err != nil {
		t.Fatal(err)
	}
	dead, deadGroup := startHolder(t, testenv.KernelArgs(t, "spec=p:held do_sys_openat2 dfd=$arg1:s32"))
	liveSpec := "spec=r:held do_sys_openat2 ret=$retval:s64"
	if testenv.FtraceOwnsEntry(t) {
		t.Logf("this kernel places no kretprobes (ftrace owns SYM+0, no KPROBES_ON_FTRACE): the live holder holds a kprobe")
		liveSpec = "spec=p:held do_sys_openat2"
	}
	live, liveGroup := startHolder(t, liveSpec)
	t.Cleanup(func() {
		live.Process.Kill()
		live.Wait()
		fs.RemoveGroup(tracefs.KprobeEvents, liveGroup)
		fs.RemoveGroup(tracefs.KprobeEvents, deadGroup)
	})
	dead.Process.Signal(syscall.SIGKILL)
	dead.Wait()
	kev := func() string {
		b, err := os.ReadFile(filepath.Join(fs.Root(), "kprobe_events"))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	if !strings.Contains(kev(), deadGroup+"/held ") {
		t.Fatalf("the killed run's kprobe %s/held is already gone:\n%s", deadGroup, kev())
	}
	list := mustCLI(t, "probe", "list")
	if !regexp.MustCompile(`(?m)^` + deadGroup + `/held\s+\d+ \(dead\)`).MatchString(list) {
		t.Fatalf("probe list does not mark %s dead:\n%s", deadGroup, list)
	}
	out := mustCLI(t, "probe", "clear", "--stale")
	if !strings.Contains(out, "removed "+deadGroup+"/") {
		t.Fatalf("clear --stale said:\n%s", out)
	}
	evs := kev()
	if strings.Contains(evs, deadGroup+"/") {
		t.Fatalf("clear --stale left %s:\n%s", deadGroup, evs)
	}
	if !strings.Contains(evs, liveGroup+"/held ") {
		t.Fatalf("clear --stale removed the live owner's kretprobe %s/held:\n%s", liveGroup, evs)
	}
}

// TestListKprobes: `list --kprobes GLOB` names kernel functions from
// kallsyms; the ones tests rely on are listed and really take a probe
// through `probe add`; the __pfx_ padding of 6.2+ kernels and the functions
// of the kernel's kprobe blacklist (which register_kprobe refuses) are not
// listed.
func TestListKprobes(t *testing.T) {
	testenv.RequireKprobes(t)
	entry := testenv.SyscallEntry(t, "getppid")
	for _, c := range []struct{ glob, want string }{{"*do_sys_open*", "do_sys_openat2"}, {"*sys_getppid", entry}} {
		out := mustCLI(t, "list", "--kprobes", c.glob)
		names := strings.Fields(out)
		found := false
		for _, n := range names {
			found = found || n == c.want
			if strings.HasPrefix(n, "__pfx_") || strings.HasPrefix(n, "__cfi_") {
				t.Errorf("list --kprobes shows padding %s, which is not a function", n)
			}
		}
		if !found {
			t.Fatalf("list --kprobes %q lacks %s:\n%s", c.glob, c.want, out)
		}
		ev := fmt.Sprintf("lk%d", os.Getpid())
		mustCLI(t, "probe", "add", "p:"+ev+" "+c.want)
		mustCLI(t, "probe", "del", ev)
	}
	// A blacklisted function that kallsyms has is left out.
	bl, err := os.ReadFile(filepath.Join(tracefs.MountPoint("debugfs"), "kprobes", "blacklist"))
	if err != nil {
		t.Fatalf("kprobe blacklist: %v (the VM suite mounts debugfs)", err)
	}
	for _, line := range strings.Split(string(bl), "\n") {
		f := strings.Fields(line)
		if len(f) != 2 || !testenv.KallsymsHas(t, f[1]) {
			continue
		}
		if out := mustCLI(t, "list", "--kprobes", f[1]); strings.TrimSpace(out) != "" {
			t.Errorf("list --kprobes %s shows a blacklisted function:\n%s", f[1], out)
		}
		ev := fmt.Sprintf("lkb%d", os.Getpid())
		if r := runCLI(t, "probe", "add", "p:"+ev+" "+f[1]); r.code == 0 {
			runCLI(t, "probe", "del", ev)
			t.Errorf("the kernel took a probe on blacklisted %s", f[1])
		}
		return
	}
	t.Fatal("no blacklisted function of the kprobe blacklist is in kallsyms")
}
