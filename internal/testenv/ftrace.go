package testenv

import (
	"fmt"
	"os"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// ftraceSite is the size of the ftrace patch site at SYM+0 by GOARCH (the
// tests run natively in the guests), as kprobeevents.FtraceSiteSize has it;
// testenv cannot import kprobeevents, whose tests import testenv.
var ftraceSite = map[string]int{"riscv64": 8}

var ftraceOwnsEntry = struct {
	sync.Once
	yes bool
}{}

// FtraceOwnsEntry reports whether the running kernel refuses kprobes at a
// function's first instruction because ftrace's patch site is there and
// the kernel has no KPROBES_ON_FTRACE (Debian's riscv64 6.12): a kprobe on
// vfs_read is refused and one past the site is taken. Such a kernel places
// no kretprobe at all. It is asked once per test binary.
func FtraceOwnsEntry(t testing.TB) bool {
	t.Helper()
	site, ok := ftraceSite[runtime.GOARCH]
	if !ok {
		return false
	}
	RequireKprobes(t)
	root := Tracefs(t)
	ftraceOwnsEntry.Do(func() {
		file := root + "/kprobe_events"
		ev := fmt.Sprintf("tracelet_%d_test/ftrace_entry", os.Getpid())
		if appendLine(file, "p:"+ev+" vfs_read") == nil {
			appendLine(file, "-:"+ev)
			return
		}
		if appendLine(file, fmt.Sprintf("p:%s vfs_read+%d", ev, site)) == nil {
			appendLine(file, "-:"+ev)
			ftraceOwnsEntry.yes = true
		}
	})
	return ftraceOwnsEntry.yes
}

// RequireReturnProbes skips a test of kretprobes on a kernel that places
// none (FtraceOwnsEntry).
func RequireReturnProbes(t testing.TB) {
	t.Helper()
	RequireKprobes(t)
	if FtraceOwnsEntry(t) {
		t.Skipf("this kernel (%s) places no kretprobes: ftrace owns each function's first instruction and it has no KPROBES_ON_FTRACE or fprobe events", runtime.GOARCH)
	}
}

// KprobeEntryOffset is where a kprobe on a function's entry goes on this
// kernel: 0, or the first instruction past ftrace's patch site when
// FtraceOwnsEntry.
func KprobeEntryOffset(t testing.TB) uint64 {
	t.Helper()
	if FtraceOwnsEntry(t) {
		return uint64(ftraceSite[runtime.GOARCH])
	}
	return 0
}

// KprobeEntry is sym, or sym+OFF past ftrace's patch site when
// FtraceOwnsEntry, for a definition written to kprobe_events directly.
func KprobeEntry(t testing.TB, sym string) string {
	t.Helper()
	if off := KprobeEntryOffset(t); off > 0 {
		return sym + "+" + strconv.FormatUint(off, 10)
	}
	return sym
}

var argNText = regexp.MustCompile(`\$arg([1-8])\b`)

// pastFtraceSite rewrites the body of an entry kprobe ("SYM ARGS") for a
// kernel whose ftrace owns SYM+0, as tracefs does with the definitions it
// writes: SYM+OFF, and each $argN as its argument register, since the
// kernel takes $argN at the entry only. ok is false when body is not a
// bare SYM (an offset, an address, a module).
func pastFtraceSite(t testing.TB, body string) (string, bool) {
	sym, rest := body, ""
	for i := 0; i < len(body); i++ {
		if body[i] == ' ' {
			sym, rest = body[:i], body[i:]
			break
		}
	}
	for _, c := range sym {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.') {
			return "", false
		}
	}
	rest = argNText.ReplaceAllStringFunc(rest, func(m string) string {
		n, _ := strconv.Atoi(m[4:])
		return "%a" + strconv.Itoa(n-1) // riscv64, the only ftraceSite
	})
	return KprobeEntry(t, sym) + rest, true
}

var kprobeRing = struct {
	sync.Once
	why string
}{}

// RequireKprobeRing skips a test that reads kprobe events from the tracefs
// ring buffer (trace, trace_pipe_raw, collect) on a kernel where they
// never reach it: riscv64 kernels run kprobe handlers from the breakpoint
// trap in NMI context (do_trap_break, irqentry_nmi_enter), and without
// CONFIG_ARCH_HAVE_NMI_SAFE_CMPXCHG, which riscv64 6.12 lacks, the ring
// buffer refuses every reservation in NMI (rb_reserve_next_event), so the
// probe counts its hits in kprobe_profile and records nothing. perf
// samples and BPF programs on the same probe work. It is checked on
// riscv64 only, once per test binary: a kprobe on getppid's entry, enabled
// in an instance of our own, hit by this thread.
func RequireKprobeRing(t testing.TB) {
	t.Helper()
	if why := NoKprobeRing(t); why != "" {
		t.Skip(why)
	}
}

// NoKprobeRing is RequireKprobeRing's check for a test that goes on
// without the kprobe: why the kernel records no kprobe events into the
// tracefs ring, or "" when it does. It skips where there are no kprobes.
func NoKprobeRing(t testing.TB) string {
	t.Helper()
	RequireKprobes(t)
	if runtime.GOARCH != "riscv64" {
		return ""
	}
	root := Tracefs(t)
	entry := KprobeEntry(t, SyscallEntry(t, "getppid"))
	kprobeRing.Do(func() { kprobeRing.why = checkKprobeRing(root, entry) })
	return kprobeRing.why
}

func checkKprobeRing(root, entry string) string {
	group := fmt.Sprintf("tracelet_%d_test", os.Getpid())
	file := root + "/kprobe_events"
	if err := appendLine(file, "p:"+group+"/ring_check "+entry); err != nil {
		return ""
	}
	defer appendLine(file, "-:"+group+"/ring_check")
	inst := fmt.Sprintf("%s/instances/tracelet_%d_ringcheck", root, os.Getpid())
	if err := os.Mkdir(inst, 0o700); err != nil {
		return ""
	}
	defer os.Remove(inst)
	enable := inst + "/events/" + group + "/ring_check/enable"
	if os.WriteFile(enable, []byte("1"), 0) != nil {
		return ""
	}
	runtime.LockOSThread()
	for i := 0; i < 10; i++ {
		syscall.Getppid()
	}
	runtime.UnlockOSThread()
	os.WriteFile(enable, []byte("0"), 0)
	b, err := os.ReadFile(inst + "/trace")
	if err != nil || strings.Contains(string(b), " ring_check: ") {
		return ""
	}
	return "this kernel (" + runtime.GOARCH + ") records no kprobe events into the tracefs ring buffer: its kprobe handlers run in NMI context and it lacks ARCH_HAVE_NMI_SAFE_CMPXCHG (10 getppid calls through a kprobe on " + entry + " left 0 records); perf and BPF see them"
}
