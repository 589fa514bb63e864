package record

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/tracelet/tracelet/internal/testenv"
	"github.com/tracelet/tracelet/tracefs"
)

// bootSnapshot is where the VM suite's /init copies kprobe_events and
// kprobe_profile before anything else runs (vmtest.BootSnapshotDir).
const bootSnapshot = "/var/tracelet/boot"

// jsonEvent is one line of `tracelet collect --format json`.
type jsonEvent struct {
	Time   float64                    `json:"time"`
	NS     uint64                     `json:"ns"`
	CPU    int                        `json:"cpu"`
	Pid    int                        `json:"pid"`
	Comm   string                     `json:"comm"`
	Event  string                     `json:"event"`
	Fields map[string]json.RawMessage `json:"fields"`
}

func (e *jsonEvent) str(name string) string {
	var s string
	json.Unmarshal(e.Fields[name], &s)
	return s
}

func (e *jsonEvent) num(name string) (int64, bool) {
	raw := e.Fields[name]
	if raw == nil {
		return 0, false
	}
	var n int64
	if json.Unmarshal(raw, &n) == nil {
		return n, true
	}
	// Integers a double cannot hold come as strings of digits (README:
	// JSON Lines), such as a u64 register argument that arm64
	// sign-extends (dfd -100 in x0); its bits are what the test compares.
	var s string
	if json.Unmarshal(raw, &s) == nil {
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return i, true
		}
		u, err := strconv.ParseUint(s, 10, 64)
		return int64(u), err == nil
	}
	var u uint64
	err := json.Unmarshal(raw, &u)
	return int64(u), err == nil
}

// tracelet runs the tracelet binary (the guest's /bin/tracelet, or the
// release binary with TRACELET_VM_DIST) and returns its standard output.
func tracelet(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(testenv.Tracelet(t), args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tracelet %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr.String())
	}
	if stderr.Len() > 0 {
		t.Logf("tracelet %s: %s", strings.Join(args, " "), strings.TrimSpace(stderr.String()))
	}
	return string(out)
}

func collectJSON(t *testing.T, args ...string) []jsonEvent {
	t.Helper()
	out := tracelet(t, append([]string{"collect", "--format", "json"}, args...)...)
	var evs []jsonEvent
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var e jsonEvent
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("collect printed a line that is not JSON: %v\n%s", err, sc.Text())
		}
		evs = append(evs, e)
	}
	return evs
}

// TestBootArgsCollect runs in every VM-suite guest, which boots with
// `tracelet bootargs testdata/vmboot.bt` on its command line:
// the events existed and had hits when /init started, and `tracelet
// collect --global` decodes what they recorded during early boot: the
// files /init's first commands opened, with their file descriptors.
func TestBootArgsCollect(t *testing.T) {
	testenv.RequireKprobes(t)
	// A kernel that places no return probes boots with the entry probe
	// alone, past ftrace's patch site (vmrun's bootScriptEntry).
	script, rets := "testdata/vmboot.bt", true
	if testenv.FtraceOwnsEntry(t) {
		script, rets = "testdata/vmboot-entry.bt", false
		t.Logf("this kernel places no kretprobes (ftrace owns SYM+0, no KPROBES_ON_FTRACE): it booted with %s, and no returns are collected", script)
	}
	src, err := os.ReadFile(script)
	if err != nil {
		t.Fatal(err)
	}
	p, err := PlanFromScript(script, src, ScriptOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want, err := p.BootArgs(tracefs.BootArgsOptions{PastFtraceSite: !rets})
	if err != nil {
		t.Fatal(err)
	}
	cmdline, err := os.ReadFile("/proc/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	// vmrun appends the member-chain plan's probe after a ';' (see
	// bootMemberChain).
	if c := " " + strings.TrimSpace(string(cmdline)) + " "; !strings.Contains(c, " "+want+" ") && !strings.Contains(c, " "+want+";") {
		t.Fatalf("this guest was not booted with `tracelet bootargs testdata/vmboot.bt` (make vmtest):\n/proc/cmdline: %s\nwant: %s", cmdline, want)
	}
	// What the kernel had set up when /init started.
	defs, err := os.ReadFile(filepath.Join(bootSnapshot, "kprobe_events"))
	if err != nil {
		t.Fatal(err)
	}
	prof, err := os.ReadFile(filepath.Join(bootSnapshot, "kprobe_profile"))
	if err != nil {
		t.Fatal(err)
	}
	hits, err := tracefs.ParseProfile("kprobe_profile", prof)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range p.Events {
		if !strings.Contains(string(defs), ":"+e.System+"/"+e.Event+" ") {
			t.Errorf("%s was not defined when /init started:\n%s", e.Name(), defs)
		}
		n := uint64(0)
		for _, h := range hits {
			if h.Event == e.Event {
				n = h.Hits
			}
		}
		if n == 0 {
			t.Errorf("%s had no hits when /init started:\n%s", e.Name(), prof)
		}
	}

	// The global buffer had its full size when /init started: ftrace=nop,
	// which bootargs puts before kprobe_event=, marked it grown before the
	// kernel allocated it. Without it, the file reads "7 (expanded:
	// 1408)": two pages a CPU, which a busy boot overwrites within a few
	// hundred records, until a test first enables an event through tracefs.
	size, err := os.ReadFile(filepath.Join(bootSnapshot, "buffer_size_kb"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(size), "expanded") {
		t.Errorf("the global buffer was at its boot minimum when /init started: buffer_size_kb %q", strings.TrimSpace(string(size)))
	}
	t.Logf("buffer_size_kb when /init started: %s", strings.TrimSpace(string(size)))

	// The Debian kernels race while creating boot-time events: now and
	// then one never gets its events/GROUP/EVENT directory (see record's
	// orphans). collect decodes its records from the definition all the
	// same, which is what this boot then proves.
	for _, e := range p.Events {
		if _, err := os.Stat(filepath.Join(testenv.Tracefs(t), "events", e.System, e.Event)); err != nil {
			t.Logf("kernel race: %s is defined and hit, but has no events/ directory; collect decodes it from its definition", e.Name())
		}
	}

	// /init's first commands, before any test ran: "cat
	// /sys/kernel/tracing/kprobe_events" (the snapshot), which the kernel
	// opened for cat with a file descriptor >= 0 and dfd AT_FDCWD.
	self := os.Getpid()
	testenv.RequireKprobeRing(t)
	evs := collectJSON(t, "--global")
	t.Run("MemberChain", func(t *testing.T) { bootMemberChain(t, evs) })
	entry, ret := p.Group+":do_sys_openat2", p.Group+":do_sys_openat2_ret"
	// /init's first opens, in order: the snapshot's two cats.
	first := []string{"/sys/kernel/tracing/kprobe_events", "/sys/kernel/tracing/kprobe_profile"}
	opened := map[string]int{}
	returned := map[string]int{}
	var early int
	pending := map[int]string{}
	for _, e := range evs {
		if e.Pid != self {
			early++
		}
		switch e.Event {
		case entry:
			dfd, ok := e.num("arg0")
			if !ok {
				t.Fatalf("entry event without arg0: %+v", e)
			}
			// busybox may run cat in the shell's own process (NOFORK
			// applets), so the comm is not checked.
			path := e.str("str_arg1")
			if slices.Contains(first, path) && e.Pid != self {
				if int32(dfd) != -100 {
					t.Errorf("open of %s: dfd %d, want AT_FDCWD (-100)", path, int32(dfd))
				}
				opened[path]++
				pending[e.Pid] = path
			}
		case ret:
			fd, ok := e.num("retval")
			if !ok {
				t.Fatalf("return event without retval: %+v", e)
			}
			if path, ok := pending[e.Pid]; ok {
				delete(pending, e.Pid)
				if fd < 0 || fd > 1024 {
					t.Errorf("the open of %s returned %d, want a file descriptor", path, fd)
				}
				returned[path]++
			}
		default:
			if strings.HasPrefix(e.Event, bootBTFGroup+":") {
				continue // bootMemberChain's
			}
			t.Errorf("the global buffer holds %s, which the boot parameter did not enable", e.Event)
		}
	}
	bad := early < 4
	for _, path := range first {
		if opened[path] == 0 || rets && returned[path] == 0 {
			bad = true
		}
	}
	if bad {
		defs, _ := os.ReadFile("/sys/kernel/tracing/kprobe_events")
		ls, _ := exec.Command("ls", "-R", "/sys/kernel/tracing/events/"+p.Group).CombinedOutput()
		t.Logf("kprobe_events now:\n%s\nevents/%s:\n%s", defs, p.Group, ls)
		for i, e := range evs {
			if i < 200 {
				t.Logf("%s pid %d comm %s: %s", e.Event, e.Pid, e.Comm, e.Fields)
			}
		}
		t.Errorf("collect --global: %d events (%d from before this test); opens by /init %v, returns %v; want each of %v opened and returned", len(evs), early, opened, returned, first)
	}
}

// bootBTFGroup is the group of vmrun's member-chain boot probe, from
// testdata/vmbootbtf.plan.
const bootBTFGroup = "tracelet_vmbootbtf"

// bootMemberChain, a subtest of TestBootArgsCollect given the events it
// collected (collect consumes the global buffer): a guest whose kernel
// image carries BTF also boots with
// testdata/vmbootbtf.plan, whose probe reads path->dentry->d_name.name at
// vfs_open. vmrun compiled that chain on the host, from the BTF in the
// guest's own kernel image, to registers and offsets (`tracelet bootargs
// --btf`), which every kernel's kprobe_events follows: 6.1's cannot name an
// argument or a member itself. The probe recorded the names of the files
// /init's first commands opened.
func bootMemberChain(t *testing.T, evs []jsonEvent) {
	cmdline, err := os.ReadFile("/proc/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(cmdline), bootBTFGroup+"/") {
		if _, err := os.Stat("/sys/kernel/btf/vmlinux"); err != nil {
			t.Skip("this kernel has no BTF (CONFIG_DEBUG_INFO_BTF is off), so the VM suite boots it without a member-chain probe")
		}
		if testenv.FtraceOwnsEntry(t) {
			t.Skip("this kernel places its entry kprobes past ftrace's site, where the boot plan's argument registers no longer hold the arguments: the VM suite boots it without a member-chain probe")
		}
		t.Fatalf("this kernel has BTF, but the guest was not booted with testdata/vmbootbtf.plan's probe (vmrun says why):\n%s", cmdline)
	}
	names := map[string]int{}
	n := 0
	for _, e := range evs {
		if e.Event != bootBTFGroup+":vfs_open__entry" {
			continue
		}
		n++
		name := e.str("name")
		if name == "" || name != "/" && strings.Contains(name, "/") {
			t.Errorf("vfs_open recorded the dentry name %q (pid %d %s)", name, e.Pid, e.Comm)
		}
		names[name]++
	}
	// The snapshot's two cats open these files under /sys/kernel/tracing.
	for _, want := range []string{"kprobe_events", "kprobe_profile"} {
		if names[want] == 0 {
			t.Errorf("no vfs_open of %q among the %d recorded: %v", want, n, names)
		}
	}
	t.Logf("%d vfs_open events at boot, %d names, e.g. kprobe_events %d, kprobe_profile %d", n, len(names), names["kprobe_events"], names["kprobe_profile"])
}

// TestCLIApplyCollect drives the tracelet binary as a user would: apply a
// script twice (the second time changes nothing), status with hit counts,
// collect the instance's events with their values, and revert, while a
// foreign probe on the same function survives. With kprobes (the VM suite:
// the arm64 guest runs the release binary, make vmtest-release) it probes
// do_sys_openat2; on this host it probes the test workload with a uprobe.
func TestCLIApplyCollect(t *testing.T) {
	fs := mustFS(t)
	dir := t.TempDir()
	name := uniq("cli")
	script := filepath.Join(dir, name+".bt")
	missing := fmt.Sprintf("/nonexistent-%d", os.Getpid())
	var foreign, foreignFile, entry, retEv string
	var run func()
	tid := 0
	wantRets := testenv.HasKprobes()
	if testenv.HasKprobes() {
		ret := "kretprobe:do_sys_openat2 /retval < 0/ { printf(\"%d\\n\", retval); }\n"
		if testenv.FtraceOwnsEntry(t) {
			t.Logf("this kernel places no kretprobes (ftrace owns SYM+0, no KPROBES_ON_FTRACE): the script's kretprobe is left out")
			ret, wantRets = "", false
		}
		os.WriteFile(script, []byte(`kprobe:do_sys_openat2 { printf("%s\n", str(arg1)); }
`+ret), 0o644)
		foreign, foreignFile = fmt.Sprintf("p:othertool%d/foreign %s", os.Getpid(), testenv.KprobeEntry(t, "do_sys_openat2")), tracefs.KprobeEvents
		entry, retEv = "do_sys_openat2", "do_sys_openat2_ret"
		run = func() {
			// One thread makes the opens: events carry the thread's id.
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			tid = syscall.Gettid()
			for i := 0; i < 3; i++ {
				if _, err := os.Open(missing); err == nil {
					t.Fatalf("%s exists", missing)
				}
			}
		}
	} else {
		prog, src := cabiScript(t)
		os.WriteFile(script, []byte(src), 0o644)
		path, off, _ := tracefs.ResolveSymbol(prog, testenv.CABITarget)
		foreign, foreignFile = fmt.Sprintf("p:othertool%d/foreign %s:%#x", os.Getpid(), path, off), tracefs.UprobeEvents
		entry = "off_" + fmt.Sprintf("%x", off)
		run = func() {
			for i := 0; i < 3; i++ {
				runProg(t, prog, "calls", "1", "40", "2")
			}
		}
	}
	t.Logf("%s", strings.TrimSpace(tracelet(t, "version")))
	group := "tracelet_" + name
	writeRaw(t, fs, foreignFile, foreign)
	fg := strings.SplitN(strings.SplitN(foreign, " ", 2)[0], ":", 2)[1]
	t.Cleanup(func() { writeRaw(t, fs, foreignFile, "-:"+fg) })
	t.Cleanup(func() { exec.Command(testenv.Tracelet(t), "revert", script).Run() })

	out := tracelet(t, "apply", script)
	if !strings.Contains(out, "created instance "+group) {
		t.Fatalf("first apply:\n%s", out)
	}
	if out := tracelet(t, "apply", script); !strings.Contains(out, "nothing changed") {
		t.Fatalf("second apply changed something:\n%s", out)
	}
	run()
	st := tracelet(t, "status", script)
	if !strings.Contains(st, "applied") || strings.Contains(st, "NOT") {
		t.Errorf("status:\n%s", st)
	}
	evs := collectJSON(t, "--instance", group)
	x86 := testenv.KernelABI(t).X86()
	var entries, rets int
	for _, e := range evs {
		switch {
		case testenv.HasKprobes() && e.Event == group+":"+entry:
			// The kernel's string fetch reads a user pointer only where
			// the address spaces do not overlap (x86); elsewhere it may
			// be a fault, which collect prints as null. Other opens of
			// this thread (os/exec's /dev/null) are not counted.
			if s := e.str("str_arg1"); s == missing || e.Pid == tid && s == "" && !x86 {
				entries++
			}
		case testenv.HasKprobes() && e.Event == group+":"+retEv && e.Pid == tid:
			// The filter passes failed opens only.
			if r, _ := e.num("retval"); r == -int64(syscall.ENOENT) {
				rets++
			} else if r >= 0 {
				t.Errorf("the filter retval < 0 passed %d", r)
			}
		case !testenv.HasKprobes() && strings.HasPrefix(e.Event, group+":"):
			if a, _ := e.num("arg0"); a != 40 {
				t.Errorf("call with arg0 %d, want 40", a)
			}
			entries++
		}
	}
	out = tracelet(t, "revert", script)
	if !strings.Contains(out, "removed instance "+group) {
		t.Errorf("revert:\n%s", out)
	}
	defs, _ := os.ReadFile(filepath.Join(fs.Root(), foreignFile))
	if strings.Contains(string(defs), group+"/") || !strings.Contains(string(defs), fg) {
		t.Errorf("after revert:\n%s", defs)
	}
	if testenv.HasKprobes() {
		testenv.RequireKprobeRing(t)
	}
	if entries < 3 || wantRets && rets < 3 {
		t.Errorf("collect: %d entries and %d failed returns of this test, want 3 each; %d events in all", entries, rets, len(evs))
	}
}
