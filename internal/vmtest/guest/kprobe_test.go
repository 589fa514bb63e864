package guest

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tracelet/tracelet/internal/testenv"
	"github.com/tracelet/tracelet/tracefs"
)

// onOurThread runs fn on a locked OS thread and returns that thread's id, so
// that an event filter on common_pid sees only what fn does: the Go runtime
// would otherwise make the syscall from any of its threads.
func onOurThread(t *testing.T, inst *tracefs.Instance, events []string, fn func()) {
	t.Helper()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	tid := syscall.Gettid()
	for _, ev := range events {
		group, event, _ := strings.Cut(ev, "/")
		if err := inst.SetFilter(group, event, fmt.Sprintf("common_pid == %d", tid)); err != nil {
			t.Fatalf("filtering %s: %v", ev, err)
		}
	}
	fn()
}

func uniquePath(tag string) string {
	return fmt.Sprintf("/tmp/tracelet-%s-%d-%d", tag, os.Getpid(), time.Now().UnixNano())
}

// TestSyscallWrapperReadsUserPath probes the openat syscall's entry wrapper
// and reads the caller's arguments through the pt_regs pointer the wrapper
// receives: the path as a user string two dereferences away, dfd and flags
// from their saved registers.
func TestSyscallWrapperReadsUserPath(t *testing.T) {
	fs, abi, group := setup(t)
	inst := instance(t, fs)
	ev := group + "/openat"
	define(t, fs, fmt.Sprintf("p:%s %sopenat dfd=%s:s32 path=+0(%s):ustring flags=%s:x32",
		ev, abi.SyscallPrefix, abi.SyscallArg(1), abi.SyscallArg(2), abi.SyscallArg(3)))
	path := uniquePath("smoke")
	onOurThread(t, inst, []string{ev}, func() {
		disable := enable(t, inst, ev)
		_, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		disable()
		if !errors.Is(err, syscall.ENOENT) {
			t.Fatalf("open %s: %v, want ENOENT", path, err)
		}
	})
	testenv.RequireKprobeRing(t)
	lines := traceLines(t, inst, path)
	if len(lines) != 1 {
		t.Fatalf("want 1 event for %s in the instance's trace, got %d: %q", path, len(lines), lines)
	}
	f := fields(lines[0])
	if f["path"] != path {
		t.Errorf("path = %q, want %q (line %q)", f["path"], path, lines[0])
	}
	if f["dfd"] != "-100" { // AT_FDCWD
		t.Errorf("dfd = %q, want -100 (AT_FDCWD) (line %q)", f["dfd"], lines[0])
	}
	flags, err := strconv.ParseUint(f["flags"], 0, 32)
	if err != nil {
		t.Fatalf("flags %q: %v", f["flags"], err)
	}
	if flags&syscall.O_ACCMODE != syscall.O_RDONLY || flags&syscall.O_CLOEXEC == 0 {
		t.Errorf("flags = %#x, want O_RDONLY|O_CLOEXEC set", flags)
	}
	t.Logf("%s", lines[0])
}

// TestKprobeProfileCountsHits checks that kprobe_profile counts each hit of
// an enabled probe.
func TestKprobeProfileCountsHits(t *testing.T) {
	fs, abi, group := setup(t)
	inst := instance(t, fs)
	name := "profiled"
	a1, _ := argN(abi)
	define(t, fs, fmt.Sprintf("p:%s/%s do_sys_openat2 dfd=%s:s32", group, name, a1))
	before, _ := hits(t, fs, name)
	enable(t, inst, group+"/"+name)
	const n = 5
	for i := 0; i < n; i++ {
		syscall.Open(uniquePath("profile"), syscall.O_RDONLY, 0)
	}
	after, misses := hits(t, fs, name)
	if after-before < n {
		t.Errorf("kprobe_profile hits went from %d to %d after %d opens, want at least +%d", before, after, n, n)
	}
	if misses != 0 {
		t.Errorf("kprobe_profile misses = %d, want 0", misses)
	}
}

// TestRemoveEnabledEventIsBusy: the kernel refuses to remove an enabled
// event (EBUSY), and removes it once disabled.
func TestRemoveEnabledEventIsBusy(t *testing.T) {
	fs, _, group := setup(t)
	inst := instance(t, fs)
	ev := group + "/busy"
	define(t, fs, "p:"+ev+" do_sys_openat2")
	disable := enable(t, inst, ev)
	group2, event, _ := strings.Cut(ev, "/")
	err := fs.RemoveDynamicEvent(tracefs.KprobeEvents, group2, event)
	if !errors.Is(err, syscall.EBUSY) || !errors.Is(err, tracefs.ErrBusy) {
		t.Fatalf("removing enabled %s: %v, want EBUSY", ev, err)
	}
	listed(t, fs, ev)
	disable()
	if err := fs.RemoveDynamicEvent(tracefs.KprobeEvents, group2, event); err != nil {
		t.Fatalf("removing disabled %s: %v", ev, err)
	}
	if evs := groupEvents(t, fs, group); len(evs) != 0 {
		t.Errorf("still listed after removal: %v", evs)
	}
}

// retProbe defines a return probe with def, hits it once with a failing and
// once with a succeeding open on this thread, and checks the return values
// the trace shows.
func retProbe(t *testing.T, def, ev string) {
	fs, _, _ := setup(t)
	inst := instance(t, fs)
	define(t, fs, def)
	line := listed(t, fs, ev)
	missing := uniquePath("ret")
	var fd int
	onOurThread(t, inst, []string{ev}, func() {
		disable := enable(t, inst, ev)
		syscall.Open(missing, syscall.O_RDONLY, 0)
		var err error
		fd, err = syscall.Open("/proc/self/stat", syscall.O_RDONLY, 0)
		disable()
		if err != nil {
			t.Fatal(err)
		}
		syscall.Close(fd)
	})
	_, name, _ := strings.Cut(ev, "/")
	lines := traceLines(t, inst, " "+name+": ")
	var rets []string
	for _, l := range lines {
		rets = append(rets, fields(l)["ret"])
	}
	want := []string{"-2", strconv.Itoa(fd)}
	if fmt.Sprint(rets) != fmt.Sprint(want) {
		t.Errorf("%s: returns %q, want %q (ENOENT, then the fd)\n%q", line, rets, want, lines)
	}
}

// TestMaxactiveKretprobe defines r10: (at most 10 concurrent instances,
// since 4.12), sees it listed with its maxactive, and decodes $retval.
func TestMaxactiveKretprobe(t *testing.T) {
	_, _, group := setup(t)
	ev := group + "/maxret"
	retProbe(t, "r10:"+ev+" do_sys_openat2 ret=$retval:s32", ev)
}

// TestMaxactiveListed checks that the kernel prints a maxactive back. 7 is
// not the default (max(10, 2*CPUs)), which a plain r: is listed with once
// registered.
func TestMaxactiveListed(t *testing.T) {
	fs, _, group := setup(t)
	ev := group + "/maxlisted"
	define(t, fs, "r7:"+ev+" do_sys_openat2")
	if line := listed(t, fs, ev); !strings.HasPrefix(line, "r7:") {
		t.Errorf("kprobe_events prints %q, want the r7: prefix back", line)
	}
	// A maxactive on a plain kprobe is an error (BAD_MAXACT).
	err := fs.AddDynamicEvent(tracefs.KprobeEvents, "p10:"+group+"/maxbad do_sys_openat2")
	if !errors.Is(err, syscall.EINVAL) {
		t.Errorf("p10: gave %v, want EINVAL", err)
	}
}

// TestReturnSuffix: SYM%return (5.10+) makes a return probe from the p:
// syntax, listed back as r:.
func TestReturnSuffix(t *testing.T) {
	_, _, group := setup(t)
	ev := group + "/sfxret"
	retProbe(t, "p:"+ev+" do_sys_openat2%return ret=$retval:s32", ev)
}
