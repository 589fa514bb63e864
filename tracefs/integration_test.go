package tracefs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"github.com/tracelet/tracelet/internal/testenv"
	"golang.org/x/sys/unix"
)

func TestFindReal(t *testing.T) {
	fsys := mustFS(t)
	for _, f := range []string{"README", "uprobe_events", "events", "instances"} {
		if !fsys.Has(f) {
			t.Errorf("Has(%q) = false in %s", f, fsys.Root())
		}
	}
	if fsys.Has("no_such_control_file") {
		t.Error("Has reports a file that does not exist")
	}
	// Find must agree with the kernel's mount table.
	tr, _, err := readMountinfo("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, m := range tr {
		found = found || m == fsys.Root()
	}
	if !found {
		t.Errorf("Find() = %s, not a tracefs mount in mountinfo %v", fsys.Root(), tr)
	}
	if _, err := Open(t.TempDir()); !errors.Is(err, ErrNotAvailable) {
		t.Errorf("Open(empty dir) = %v, want ErrNotAvailable", err)
	}
}

// TestFindMounts: with tracefs unmounted (in a private mount namespace, so
// nothing else on the host notices), Find uses the tracing/ directory of a
// mounted debugfs, where the kernel automounts tracefs on lookup; with
// debugfs unmounted too, Find mounts tracefs at /sys/kernel/tracing itself.
func TestFindMounts(t *testing.T) {
	testenv.RequireRoot(t)
	_, dbg, err := readMountinfo("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	viaDebugfs := "found " + stdTracefs + " mounted " + stdTracefs
	if len(dbg) > 0 {
		d := dbg[0] + "/tracing"
		viaDebugfs = "found " + d + " mounted " + d
	}
	for mode, want := range map[string]string{
		"1":   viaDebugfs,
		"all": "found " + stdTracefs + " mounted " + stdTracefs,
	} {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), mountChildEnv+"="+mode)
		cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS} // Go makes / private in the child
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s=%s: %v: %s", mountChildEnv, mode, err, out)
		}
		if got := strings.TrimSpace(string(out)); got != want {
			t.Errorf("%s=%s (debugfs mounts %v): child says %q, want %q", mountChildEnv, mode, dbg, got, want)
		}
	}
}

// TestUprobeLifecycle: a probe is added in our group, listed, hit exactly N
// times (uprobe_profile), and removed, while a foreign probe defined before
// survives every step, including a sweep.
func TestUprobeLifecycle(t *testing.T) {
	fsys := mustFS(t)
	tg := testTarget(t)
	fg, fe := foreignProbe(t, fsys, tg)

	group := OwnerGroup(os.Getpid())
	ev := uniq("life")
	def := archRegs(t, fmt.Sprintf("p:%s/%s %s:%#x a=%%di:s64", group, ev, tg.path, tg.off))
	if err := fsys.AddDynamicEvent(UprobeEvents, def); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fsys.RemoveGroup(UprobeEvents, group) })
	if !hasEvent(t, fsys, UprobeEvents, group, ev) || !hasEvent(t, fsys, DynamicEvents, group, ev) {
		t.Fatalf("%s/%s not listed in uprobe_events and dynamic_events", group, ev)
	}
	if !hasEvent(t, fsys, UprobeEvents, fg, fe) {
		t.Fatal("AddDynamicEvent removed the foreign probe: the write truncated the file")
	}
	// Hits are only counted while the probe is armed, so enable it in a
	// private instance.
	in, err := fsys.NewInstance(OwnerGroup(os.Getpid()) + "_" + ev)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	if err := in.Enable(group, ev); err != nil {
		t.Fatal(err)
	}
	const n = 7
	runProg(t, tg.path, "calls", fmt.Sprint(n), "1", "2")
	prof, err := fsys.Profile("uprobe_profile")
	if err != nil {
		t.Fatal(err)
	}
	var hits uint64
	seen := false
	for _, p := range prof {
		if p.Event == ev && p.Path == tg.path {
			hits, seen = p.Hits, true
		}
	}
	if !seen || hits != n {
		t.Fatalf("uprobe_profile: %s hits = %d (listed %v), want %d\n%v", ev, hits, seen, n, prof)
	}

	// Removing an enabled event is refused with EBUSY.
	err = fsys.RemoveDynamicEvent(UprobeEvents, group, ev)
	if !errors.Is(err, ErrBusy) || !errors.Is(err, unix.EBUSY) {
		t.Fatalf("removing an enabled event: %v, want ErrBusy", err)
	}
	// A sweep leaves live owners (us) and foreign groups alone.
	rep, err := fsys.Sweep()
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range rep.Groups {
		if g == group || g == fg {
			t.Fatalf("Sweep removed %s: %+v", g, rep)
		}
	}
	if !hasEvent(t, fsys, UprobeEvents, group, ev) || !hasEvent(t, fsys, UprobeEvents, fg, fe) {
		t.Fatal("Sweep removed a live or foreign event")
	}
	// RemoveGroup disables first (in every instance), then removes.
	if err := fsys.RemoveGroup(UprobeEvents, group); err != nil {
		t.Fatal(err)
	}
	if hasEvent(t, fsys, UprobeEvents, group, ev) {
		t.Fatal("RemoveGroup left the event")
	}
	if !hasEvent(t, fsys, UprobeEvents, fg, fe) {
		t.Fatal("RemoveGroup removed the foreign probe")
	}
	if err := fsys.RemoveGroup(UprobeEvents, fg); err == nil {
		t.Fatal("RemoveGroup accepted a foreign group")
	}
	if err := in.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(in.Path()); !os.IsNotExist(err) {
		t.Fatalf("instance still exists after Close: %v", err)
	}
	if !hasEvent(t, fsys, UprobeEvents, fg, fe) {
		t.Fatal("closing the instance removed the foreign probe")
	}
}

// TestWriteErrors: each errno maps to its sentinel, and a rejected
// definition carries the kernel's error_log message and caret column.
func TestWriteErrors(t *testing.T) {
	fsys := mustFS(t)
	tg := testTarget(t)
	group := OwnerGroup(os.Getpid())
	t.Cleanup(func() { fsys.RemoveGroup(UprobeEvents, group) })

	// The extra spaces check the column mapping: the kernel logs argv
	// joined by single spaces.
	ev := uniq("bad")
	def := fmt.Sprintf("p:%s/%s   %s:%#x  a=%%zz", group, ev, tg.path, tg.off)
	err := fsys.AddDynamicEvent(UprobeEvents, def)
	var we *WriteError
	if !errors.As(err, &we) {
		t.Fatalf("got %v, want *WriteError", err)
	}
	if !errors.Is(err, ErrInvalid) || !errors.Is(err, unix.EINVAL) {
		t.Errorf("%v: want ErrInvalid and EINVAL", err)
	}
	if we.Log == nil {
		t.Fatalf("no error_log entry attached: %v", err)
	}
	if we.Log.Message != "Invalid register name" || we.Log.Location != "trace_uprobe" {
		t.Errorf("log = %+v", we.Log)
	}
	if c := we.Column(); c != strings.Index(def, "%zz") {
		t.Errorf("Column() = %d, want %d (at %%zz) in %q", c, strings.Index(def, "%zz"), def)
	}
	if !strings.Contains(err.Error(), "Invalid register name") {
		t.Errorf("message lacks the kernel's reason: %v", err)
	}

	// ENOENT: no such file to probe.
	err = fsys.AddDynamicEvent(UprobeEvents, fmt.Sprintf("p:%s/%s /nonexistent/%s:0x10", group, uniq("nf"), ev))
	if !errors.Is(err, ErrNotFound) || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v, want ErrNotFound", err)
	}
	// ENOENT: removing an event that does not exist.
	if err := fsys.RemoveDynamicEvent(UprobeEvents, group, uniq("none")); !errors.Is(err, ErrNotFound) {
		t.Errorf("removing a missing event: %v, want ErrNotFound", err)
	}
	// EEXIST: the same event twice.
	dup := fmt.Sprintf("p:%s/%s %s:%#x", group, uniq("dup"), tg.path, tg.off)
	if err := fsys.AddDynamicEvent(UprobeEvents, dup); err != nil {
		t.Fatal(err)
	}
	if err := fsys.AddDynamicEvent(UprobeEvents, dup+archRegs(t, " x=%di")); !errors.Is(err, ErrExist) {
		t.Errorf("duplicate event: %v, want ErrExist", err)
	}

	// Refused before any write.
	for _, bad := range []string{
		"p:" + group + "/x /bin/true:0x10\n-:othertool/foreign",
		"p:" + group + "/x /bin/true:0x10;-:othertool/foreign",
		"p:" + group + "/x /bin/true:0x10\r",
		"p:" + group + "/x /bin/true\x00:0x10",
		"p:" + group + "/x /bin/true:0x10 " + strings.Repeat("a=%di ", 700),
		"",
	} {
		if err := fsys.AddDynamicEvent(UprobeEvents, bad); err == nil || errors.As(err, &we) {
			t.Errorf("AddDynamicEvent(%q) = %v, want refusal before writing", bad, err)
		}
	}
	if err := fsys.AddDynamicEvent("trace", "p:x/y /bin/true:0"); err == nil {
		t.Error("AddDynamicEvent accepted a non-dynamic-event file")
	}
	if err := fsys.RemoveDynamicEvent(UprobeEvents, "a/b", "c"); err == nil {
		t.Error("RemoveDynamicEvent accepted a group with '/'")
	}
}

// TestSweepKilledOwner: an owner killed with SIGKILL leaves its group and
// instance; Sweep removes them, and leaves a live owner's group, our own
// and a foreign one alone.
func TestSweepKilledOwner(t *testing.T) {
	fsys := mustFS(t)
	tg := testTarget(t)
	fg, fe := foreignProbe(t, fsys, tg)
	def := func(ev string) string { return archRegs(t, fmt.Sprintf("%s %s:%#x a=%%di:u64", ev, tg.path, tg.off)) }

	dead := startChild(t, def("victim"))
	live := startChild(t, def("survivor"))
	deadGroup, liveGroup := OwnerGroup(dead.Process.Pid), OwnerGroup(live.Process.Pid)
	t.Cleanup(func() {
		// If the test fails midway, do not leave the live child's probe.
		live.Process.Kill()
		live.Wait()
		fsys.Sweep()
	})
	ours := OwnerGroup(os.Getpid())
	ourEv := uniq("mine")
	if err := fsys.AddDynamicEvent(UprobeEvents, "p:"+ours+"/"+def(ourEv)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fsys.RemoveGroup(UprobeEvents, ours) })

	if err := dead.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	dead.Wait()
	if !hasEvent(t, fsys, UprobeEvents, deadGroup, "victim") {
		t.Fatal("the killed owner's probe is already gone: nothing to sweep")
	}

	// Other test binaries may sweep this kernel at the same time, so the
	// report is checked on a sweep restricted to our children and
	// ourselves; the public Sweep is checked after it.
	mine := func(pid int) bool { return pid == dead.Process.Pid || pid == live.Process.Pid || pid == os.Getpid() }
	rep, err := fsys.sweep(mine)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("sweep: %+v", rep)
	if !contains(rep.Groups, deadGroup) || !contains(rep.Events, deadGroup+"/victim") || !contains(rep.Instances, deadGroup+"_inst") {
		t.Errorf("report %+v lacks %s", rep, deadGroup)
	}
	if hasEvent(t, fsys, UprobeEvents, deadGroup, "victim") {
		t.Error("the dead owner's event survived the sweep")
	}
	if _, err := os.Stat(fsys.path("instances/" + deadGroup + "_inst")); !os.IsNotExist(err) {
		t.Errorf("the dead owner's instance survived the sweep: %v", err)
	}
	for _, keep := range [][2]string{{liveGroup, "survivor"}, {ours, ourEv}, {fg, fe}} {
		if !hasEvent(t, fsys, UprobeEvents, keep[0], keep[1]) {
			t.Errorf("sweep removed %s/%s", keep[0], keep[1])
		}
	}
	if !contains(rep.Live, liveGroup) || !contains(rep.Live, liveGroup+"_inst") {
		t.Errorf("report %+v does not list %s as live", rep, liveGroup)
	}
	if _, err := os.Stat(fsys.path("instances/" + liveGroup + "_inst")); err != nil {
		t.Errorf("sweep removed the live owner's instance: %v", err)
	}

	if _, err := fsys.Sweep(); err != nil {
		t.Fatal(err)
	}
	for _, keep := range [][2]string{{liveGroup, "survivor"}, {ours, ourEv}, {fg, fe}} {
		if !hasEvent(t, fsys, UprobeEvents, keep[0], keep[1]) {
			t.Errorf("Sweep removed %s/%s", keep[0], keep[1])
		}
	}

	// Once the survivor dies too, its enabled event (enabled in its own
	// instance) is disabled and removed.
	live.Process.Kill()
	live.Wait()
	rep, err = fsys.sweep(mine)
	if err != nil {
		t.Fatal(err)
	}
	if hasEvent(t, fsys, UprobeEvents, liveGroup, "survivor") || !contains(rep.Groups, liveGroup) {
		t.Errorf("second sweep: %+v, survivor still present", rep)
	}
	if !hasEvent(t, fsys, UprobeEvents, fg, fe) {
		t.Error("sweep removed the foreign probe")
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestFilterAndTrigger: a rejected filter returns the kernel's reason and
// column (read back from the filter file); triggers are added and removed
// without touching others.
func TestFilterAndTrigger(t *testing.T) {
	fsys := mustFS(t)
	in, err := fsys.NewInstance(OwnerGroup(os.Getpid()) + "_filter")
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	const sys, ev = "syscalls", "sys_enter_openat"
	if !fsys.Has("events/" + sys + "/" + ev) {
		t.Fatalf("no %s/%s tracepoint", sys, ev)
	}
	err = in.SetFilter(sys, ev, "nosuch > 1")
	var fe *FilterError
	if !errors.As(err, &fe) || !errors.Is(err, unix.EINVAL) {
		t.Fatalf("bad filter: %v, want *FilterError wrapping EINVAL", err)
	}
	if fe.Reason != "Field not found" || fe.Column != 7 {
		t.Errorf("reason %q column %d, want \"Field not found\" at 7", fe.Reason, fe.Column)
	}
	if err := in.SetFilter(sys, ev, "dfd == 3 && flags != 0"); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(in.Path() + "/events/" + sys + "/" + ev + "/filter")
	if strings.TrimSpace(string(b)) != "dfd == 3 && flags != 0" {
		t.Errorf("filter reads back %q", b)
	}
	if err := in.SetFilter(sys, ev, "dfd == 3\nflags == 1"); err == nil {
		t.Error("a filter with a newline was written")
	}
	if err := in.ClearFilter(sys, ev); err != nil {
		t.Fatal(err)
	}

	for _, tr := range []string{"stacktrace", "traceoff:5 if dfd > 3"} {
		if err := in.AddTrigger(sys, ev, tr); err != nil {
			t.Fatal(err)
		}
	}
	trs, err := in.Triggers(sys, ev)
	if err != nil || len(trs) != 2 {
		t.Fatalf("triggers %q, %v; want 2", trs, err)
	}
	if err := in.RemoveTrigger(sys, ev, "stacktrace"); err != nil {
		t.Fatal(err)
	}
	trs, _ = in.Triggers(sys, ev)
	if len(trs) != 1 || !strings.HasPrefix(trs[0], "traceoff:count=") {
		t.Fatalf("after removing stacktrace: %q", trs)
	}
	// clearTriggers removes what Triggers lists, counts and filters included.
	if err := clearTriggers(in.Path() + "/events/" + sys + "/" + ev); err != nil {
		t.Fatal(err)
	}
	if trs, _ = in.Triggers(sys, ev); len(trs) != 0 {
		t.Fatalf("clearTriggers left %q", trs)
	}
	if err := in.AddTrigger(sys, ev, "!stacktrace"); err == nil {
		t.Error("AddTrigger accepted a removal")
	}
}

func TestInstanceNames(t *testing.T) {
	fsys := mustFS(t)
	for _, name := range []string{"foo", "tracelet_1", OwnerGroup(os.Getpid()) + "x", OwnerGroup(os.Getpid()) + "_", OwnerGroup(os.Getpid()) + "_a/b", "../" + OwnerGroup(os.Getpid())} {
		if in, err := fsys.NewInstance(name); err == nil {
			in.Close()
			t.Errorf("NewInstance(%q) accepted", name)
		}
	}
	in, err := fsys.NewInstance(OwnerGroup(os.Getpid()) + "_size")
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	// The kernel rounds up to whole pages of (page size - header) bytes.
	for _, want := range []int{64, 256} {
		if err := in.SetBufferSizeKB(want); err != nil {
			t.Fatal(err)
		}
		if kb, err := in.BufferSizeKB(); err != nil || kb < want || kb > want+want/8+4 {
			t.Errorf("BufferSizeKB = %d, %v; want about %d", kb, err, want)
		}
	}
	if in.PageSize() < 4096 {
		t.Errorf("PageSize = %d", in.PageSize())
	}
	if err := in.Close(); err != nil {
		t.Fatal(err)
	}
	if err := in.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestEventsReal(t *testing.T) {
	fsys := mustFS(t)
	systems, err := fsys.Systems()
	if err != nil || !contains(systems, "syscalls") || !contains(systems, "sched") {
		t.Fatalf("Systems() = %v, %v", systems, err)
	}
	evs, err := fsys.Events("sched")
	if err != nil || !contains(evs, "sched_process_exec") {
		t.Fatalf("Events(sched) = %v, %v", evs, err)
	}
	id, err := fsys.EventID("sched", "sched_process_exec")
	if err != nil {
		t.Fatal(err)
	}
	f, err := fsys.Format("sched", "sched_process_exec")
	if err != nil {
		t.Fatal(err)
	}
	if f.ID != id || f.Name != "sched_process_exec" || f.System != "sched" {
		t.Errorf("format %s/%s id %d, EventID %d", f.System, f.Name, f.ID, id)
	}
	if _, err := fsys.EventID("sched", "../../README"); err == nil {
		t.Error("EventID accepted a path")
	}
	if _, err := fsys.Events("../"); err == nil {
		t.Error("Events accepted a path")
	}
}

// TestFormatsReal parses every format file of the running kernel and prints
// each back: String must give the file byte for byte, since `tracelet trace
// -H` prints it as the event's header. Format files whose print fmt spans
// several lines (ext4_fc_stats, ext4_*fsmap_* on 6.18: the TP_printk
// literal holds a "\n") are the ones a line-at-a-time parser gets wrong.
func TestFormatsReal(t *testing.T) {
	fsys := mustFS(t)
	systems, err := fsys.Systems()
	if err != nil {
		t.Fatal(err)
	}
	n, multi := 0, 0
	for _, sys := range systems {
		evs, err := fsys.Events(sys)
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range evs {
			raw, err := os.ReadFile(eventFile(fsys.Root(), sys, ev, "format"))
			if os.IsNotExist(err) {
				continue
			}
			if err != nil {
				t.Errorf("%s/%s: %v", sys, ev, err)
				continue
			}
			n++
			f, err := fsys.Format(sys, ev)
			if err != nil {
				t.Errorf("%s/%s: %v", sys, ev, err)
				continue
			}
			if strings.Contains(f.PrintFmt, "\n") {
				multi++
			}
			if f.System != sys || f.Name != ev || f.ID == 0 || f.PrintFmt == "" {
				t.Errorf("%s/%s: parsed as %s/%s id %d print fmt %q", sys, ev, f.System, f.Name, f.ID, f.PrintFmt)
			}
			if s := f.String(); s != string(raw) {
				t.Errorf("%s/%s: String() differs from the file:\n%s\nfile:\n%s", sys, ev, s, raw)
			}
			if _, err := f.Decoder(); err != nil {
				t.Errorf("%s/%s: %v", sys, ev, err)
			}
		}
	}
	if n < 100 {
		t.Fatalf("only %d format files under %s", n, fsys.Root())
	}
	t.Logf("%d format files, %d with a print fmt of several lines", n, multi)
}
