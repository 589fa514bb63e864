package testenv

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
)

var tracefsRoot struct {
	once sync.Once
	dir  string
}

// Tracefs returns the tracefs mount point, found through mountinfo (it may
// sit at /sys/kernel/tracing, under debugfs, or anywhere else). It fails the
// test when tracefs is not mounted.
func Tracefs(t testing.TB) string {
	t.Helper()
	tracefsRoot.once.Do(func() {
		f, err := os.Open("/proc/self/mountinfo")
		if err != nil {
			return
		}
		defer f.Close()
		s := bufio.NewScanner(f)
		for s.Scan() {
			// "id parent maj:min root mountpoint opts ... - fstype source superopts"
			fields := strings.Fields(s.Text())
			for i, fld := range fields {
				if fld == "-" && i+1 < len(fields) && fields[i+1] == "tracefs" && len(fields) > 4 {
					tracefsRoot.dir = fields[4]
					return
				}
			}
		}
	})
	if tracefsRoot.dir == "" {
		t.Fatal("tracefs is not mounted (mount -t tracefs nodev /sys/kernel/tracing)")
	}
	return tracefsRoot.dir
}

// HasFetchargType reports whether the kernel's kprobe/uprobe parser accepts
// the fetcharg type typ ("char", "symstr", "ustring", ...), as its tracefs
// README lists it. 6.1 lacks char (6.3) and symstr (6.2): tests that cover
// every type ask this instead of comparing versions.
func HasFetchargType(t testing.TB, typ string) bool {
	t.Helper()
	b, err := os.ReadFile(Tracefs(t) + "/README")
	if err != nil {
		t.Fatal(err)
	}
	// "     type: s8/16/32/64, u8/16/32/64, x8/16/32/64, char, string, symbol,"
	// continues on the indented lines below, up to the next "name: " line.
	in := false
	for _, line := range strings.Split(string(b), "\n") {
		l := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(l, "type:"):
			in, l = true, strings.TrimPrefix(l, "type:")
		case in && strings.Contains(l, ":"):
			in = false
		}
		if !in {
			continue
		}
		for _, w := range strings.FieldsFunc(l, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
			if w == typ {
				return true
			}
		}
	}
	return false
}

// ReadmeMentions reports whether the tracefs README contains s, which is how
// the kernel advertises optional probe syntax ("$arg<N>", "<argname>",
// "kernel return probes support: $retval, $arg<N>").
func ReadmeMentions(t testing.TB, s string) bool {
	t.Helper()
	b, err := os.ReadFile(Tracefs(t) + "/README")
	if err != nil {
		t.Fatal(err)
	}
	return strings.Contains(string(b), s)
}

// syscallPrefix is how each architecture names the pt_regs wrapper of a
// system call since 4.17 (ARCH_HAS_SYSCALL_WRAPPER): __x64_sys_getppid,
// __arm64_sys_getppid. Probing sys_getppid itself finds nothing there, and
// the __do_sys_ body may be inlined into one wrapper and kept out of line
// for the other (ia32), so only the exact native wrapper is safe.
var syscallPrefix = map[string]string{
	"amd64": "__x64_sys_",
	"arm64": "__arm64_sys_",
	// A 386 process enters through the ia32 wrappers on an i386 kernel
	// and, in compat mode, on an x86_64 one alike.
	"386":     "__ia32_sys_",
	"riscv64": "__riscv_sys_",
	"s390x":   "__s390x_sys_",
}

// SyscallEntry returns the kernel symbol that the native entry of system
// call name ("getppid") runs through, checked against /proc/kallsyms.
func SyscallEntry(t testing.TB, name string) string {
	t.Helper()
	want := []string{"sys_" + name}
	if p, ok := syscallPrefix[runtime.GOARCH]; ok {
		want = append([]string{p + name}, want...)
	}
	for _, w := range want {
		if KallsymsHas(t, w) {
			return w
		}
	}
	t.Fatalf("none of %v is in /proc/kallsyms", want)
	return ""
}

// KallsymsHas reports whether /proc/kallsyms lists the text symbol name.
func KallsymsHas(t testing.TB, name string) bool {
	t.Helper()
	f, err := os.Open("/proc/kallsyms")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		// "ffffffff8110a2b0 T __x64_sys_getppid"
		fields := strings.Fields(s.Text())
		if len(fields) >= 3 && fields[2] == name && (fields[1] == "T" || fields[1] == "t") {
			return true
		}
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	return false
}

var probeSeq struct {
	sync.Mutex
	n int
}

// Probe defines a dynamic event in the test's own group through the control
// file ("kprobe_events" or "uprobe_events") and removes it when the test
// ends. body is the definition without its "p:GROUP/EVENT" head ("do_sys_openat2
// dfd=$arg1"); kind is "p" or "r". It returns the event's directory
// (<tracefs>/events/GROUP/EVENT), whose id and format the test reads.
func Probe(t testing.TB, control, kind, body string) (group, event, evdir string) {
	t.Helper()
	RequireRoot(t)
	root := Tracefs(t)
	probeSeq.Lock()
	probeSeq.n++
	event = fmt.Sprintf("t%d", probeSeq.n)
	probeSeq.Unlock()
	group = fmt.Sprintf("tracelet_%d_test", os.Getpid())
	if control == "kprobe_events" && FtraceOwnsEntry(t) {
		// Where the kernel refuses SYM+0, entry probes go past ftrace's
		// site as tracefs places them, and return probes cannot be had.
		if kind == "r" {
			RequireReturnProbes(t)
		}
		if moved, ok := pastFtraceSite(t, body); ok {
			body = moved
		}
	}
	def := fmt.Sprintf("%s:%s/%s %s", kind, group, event, body)
	file := root + "/" + control
	if err := appendLine(file, def); err != nil {
		t.Fatalf("defining %q in %s: %v%s", def, control, err, lastErrorLog(root))
	}
	t.Cleanup(func() {
		if err := appendLine(file, "-:"+group+"/"+event); err != nil {
			t.Errorf("removing %s/%s: %v", group, event, err)
		}
	})
	return group, event, root + "/events/" + group + "/" + event
}

// Kprobe is Probe on kprobe_events.
func Kprobe(t testing.TB, kind, body string) (group, event, evdir string) {
	t.Helper()
	RequireKprobes(t)
	return Probe(t, "kprobe_events", kind, body)
}

// appendLine writes one whole definition per write(), never truncating the
// file: O_TRUNC would delete everyone's probes.
func appendLine(path, line string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return err
	}
	_, werr := f.Write([]byte(line + "\n"))
	cerr := f.Close()
	if werr != nil {
		return werr
	}
	return cerr
}

// lastErrorLog is the kernel's last error_log entry (5.4+), which says why
// a definition was refused and where.
func lastErrorLog(root string) string {
	b, err := os.ReadFile(root + "/error_log")
	if err != nil || len(b) == 0 {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return "\nerror_log: " + strings.Join(lines[max(0, len(lines)-3):], "\n")
}
