package testenv

import (
	"fmt"
	"os"
	"regexp"
	"runtime"
	"strconv"
	"sync"
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
