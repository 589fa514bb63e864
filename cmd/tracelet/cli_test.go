package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tracelet/tracelet/internal/testenv"
	"github.com/tracelet/tracelet/kprobeevents"
	"github.com/tracelet/tracelet/perf"
	"github.com/tracelet/tracelet/tracefs"
)

// The tests run the real binary, built once, against the real kernel.
var tracelet string

func TestMain(m *testing.M) {
	// A re-executed copy of the test binary plays a tracelet process that
	// owns a group and is then killed (see holdProbe).
	if os.Getenv("TRACELET_TEST_HOLD") != "" {
		holdProbe(os.Getenv("TRACELET_TEST_HOLD"))
		return
	}
	// A re-executed copy runs tracelet where bpf(2) does not exist.
	if bin := os.Getenv(envNoBPF); bin != "" {
		execWithoutBPF(bin, os.Args[1:])
	}
	// The VM suite's guest has no go toolchain: it sets TRACELET_BIN to
	// its prebuilt /bin/tracelet, built from this same directory.
	bin, err := testenv.BuildTracelet()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		testenv.RemoveBuilt()
		os.Exit(1)
	}
	tracelet = bin
	os.Exit(testenv.Main(m))
}

type result struct {
	out, err string
	code     int
}

func runCLI(t *testing.T, args ...string) result {
	t.Helper()
	cmd := exec.Command(tracelet, args...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{out: stdout.String(), err: stderr.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("tracelet %q: %v", args, err)
	}
	return r
}

func mustCLI(t *testing.T, args ...string) string {
	t.Helper()
	r := runCLI(t, args...)
	if r.code != 0 {
		t.Fatalf("tracelet %q: exit %d\nstdout: %s\nstderr: %s", args, r.code, r.out, r.err)
	}
	return r.out
}

type errorRow struct {
	kind   string
	col    int
	target string
	def    string
	line   int
}

func loadErrorRows(t *testing.T, file string) []errorRow {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows []errorRow
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		head, def, ok := strings.Cut(line, "\t")
		f := strings.Fields(head)
		if !ok || len(f) != 3 {
			t.Fatalf("%s:%d: want KIND COL TARGET<TAB>DEF", file, n)
		}
		col, err := strconv.Atoi(f[1])
		if err != nil {
			t.Fatalf("%s:%d: %v", file, n, err)
		}
		rows = append(rows, errorRow{kind: f[0], col: col, target: f[2], def: def, line: n})
	}
	return rows
}

// TestDryRunRejectsMalformed runs every malformed definition of the grammar's
// error table (the one the VM suite checks against real kernels' error_log)
// through `probe add --dry-run`: each must be refused with the kernel's
// class and caret column, and nothing may be written.
func TestDryRunRejectsMalformed(t *testing.T) {
	before := dynamicEvents(t)
	opts := parseOptions()
	for _, r := range loadErrorRows(t, "../../testdata/kprobeevents/errors.txt") {
		t.Run(fmt.Sprintf("%d_%s", r.line, r.kind), func(t *testing.T) {
			// Kernel-side classes (a symbol that does not register) cannot be
			// known without writing; the grammar accepts those, and so must
			// the dry run.
			o := opts
			switch r.target {
			case "kprobe":
				o.Target = kprobeevents.TargetKprobe
			case "uprobe":
				o.Target = kprobeevents.TargetUprobe
			}
			r.def = hostRegs(r.def)
			_, libErr := kprobeevents.Parse(r.def, o)
			kernelOnly := libErr == nil && r.kind != "FILE_NOT_FOUND" && r.kind != "NO_REGULAR_FILE"
			res := runCLI(t, "probe", "add", "--dry-run", r.def)
			if kernelOnly {
				if r.target == "uprobe" || r.target == "auto" && res.code != 0 {
					t.Logf("%s is decided by the kernel at registration; dry run said: %s", r.kind, res.err)
				}
				return
			}
			if res.code == 0 {
				t.Fatalf("dry run accepted %q (want %s at col %d):\n%s", r.def, r.kind, r.col, res.out)
			}
			want := fmt.Sprintf("col %d: %s:", r.col, r.kind)
			if !tracefs.KernelArch().HasArgN() && strings.Contains(r.def, "$arg") {
				// 32-bit arm and mips: every $argN is BAD_VAR, as their
				// kernels say (the guest's agreement test checks that).
				want = "BAD_VAR:"
			}
			if !strings.Contains(res.err, want) {
				t.Fatalf("dry run of %q:\n%s\nwant %q", r.def, res.err, want)
			}
			if !strings.Contains(res.err, "^") {
				t.Errorf("no caret line in:\n%s", res.err)
			}
		})
	}
	// Other test binaries change dynamic_events concurrently; what matters
	// is that none of the table's definitions (all in group tracelet_t) got in.
	if after := dynamicEvents(t); strings.Contains(after, "tracelet_t/") && !strings.Contains(before, "tracelet_t/") {
		t.Fatalf("dry runs wrote to dynamic_events:\n%s", after)
	}
}

func dynamicEvents(t *testing.T) string {
	t.Helper()
	testenv.RequireRoot(t)
	fs, err := tracefs.Find()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(fs.Root(), "dynamic_events"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// foreignProbe defines a probe in another tool's group with a plain append,
// as perf-tools would, and removes it when the test ends.
func foreignProbe(t *testing.T, fs *tracefs.FS, prog string) string {
	t.Helper()
	path, off, err := tracefs.ResolveSymbol(prog, testenv.GoTarget)
	if err != nil {
		t.Fatal(err)
	}
	group := fmt.Sprintf("othertool%d", os.Getpid())
	def := fmt.Sprintf("p:%s/foreign %s:0x%x", group, path, off)
	f, err := os.OpenFile(filepath.Join(fs.Root(), "uprobe_events"), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(def); err != nil {
		t.Fatal(err)
	}
	f.Close()
	t.Cleanup(func() {
		f, err := os.OpenFile(filepath.Join(fs.Root(), "uprobe_events"), os.O_WRONLY|os.O_APPEND, 0)
		if err == nil {
			f.WriteString("-:" + group + "/foreign")
			f.Close()
		}
	})
	return group + "/foreign"
}

func requireForeign(t *testing.T, name string) {
	t.Helper()
	if !strings.Contains(dynamicEvents(t), name+" ") {
		t.Fatalf("the foreign probe %s did not survive", name)
	}
}

// TestProbeLifecycle: a uprobe added with the shorthand is seen in
// uprobe_events, counts exactly the hits the workload makes, and is removed;
// another tool's probe defined beforehand survives every command.
func TestProbeLifecycle(t *testing.T) {
	testenv.RequireRoot(t)
	fs, err := tracefs.Find()
	if err != nil {
		t.Fatal(err)
	}
	prog := testenv.TestProg(t)
	foreign := foreignProbe(t, fs, prog)
	event := fmt.Sprintf("cli%d", os.Getpid())
	t.Cleanup(func() { runCLI(t, "probe", "del", "tracelet/"+event) })

	spec := hostRegs(fmt.Sprintf("p:%s:%s a=%%di:s64 b=%%si:u64", prog, testenv.CABITarget))
	dry := mustCLI(t, "probe", "add", "--dry-run", spec)
	if !strings.Contains(dry, "p:tracelet/") || !strings.Contains(dry, hostRegs(" a=%di:s64 b=%si:u64 >> uprobe_events")) {
		t.Fatalf("dry run printed %q", dry)
	}
	if strings.Contains(dynamicEvents(t), "tracelet/") && strings.Contains(dynamicEvents(t), testenv.CABITarget) {
		t.Fatal("dry run wrote a probe")
	}

	// The kernel syntax with an explicit event name, offset from the shorthand's resolution.
	path, off, err := tracefs.ResolveSymbol(prog, testenv.CABITarget)
	if err != nil {
		t.Fatal(err)
	}
	mustCLI(t, "probe", "add", hostRegs(fmt.Sprintf("p:%s %s:0x%x a=%%di:s64", event, path, off)))
	requireForeign(t, foreign)
	if evs := dynamicEvents(t); !strings.Contains(evs, "p:tracelet/"+event+" ") {
		t.Fatalf("probe not in dynamic_events:\n%s", evs)
	}
	// Not enabled, the probe does not count. Enable it in a private
	// instance (never in the global buffer), then hit it 7 times.
	inst, err := fs.NewInstance(fmt.Sprintf("tracelet_%d_cli", os.Getpid()))
	if err != nil {
		t.Fatal(err)
	}
	defer inst.Close()
	if err := inst.Enable("tracelet", event); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(prog, "calls", "7", "3", "4").CombinedOutput(); err != nil {
		t.Fatalf("testprog: %v %s", err, out)
	}
	list := mustCLI(t, "probe", "list")
	re := regexp.MustCompile(`(?m)^tracelet/` + event + `\s+persistent\s+(\d+)\s`)
	m := re.FindStringSubmatch(list)
	if m == nil || m[1] != "7" {
		t.Fatalf("probe list does not show 7 hits for tracelet/%s:\n%s", event, list)
	}
	if strings.Contains(list, "othertool") {
		t.Fatalf("probe list shows another tool's probe:\n%s", list)
	}
	// Deleting an enabled probe works: it is disabled first.
	mustCLI(t, "probe", "del", event)
	if strings.Contains(dynamicEvents(t), "tracelet/"+event+" ") {
		t.Fatal("probe del left the probe")
	}
	requireForeign(t, foreign)

	// probe del and clear refuse or ignore other tools' probes.
	if r := runCLI(t, "probe", "del", foreign); r.code == 0 {
		t.Fatalf("probe del removed another tool's probe %s", foreign)
	}
	mustCLI(t, "probe", "clear")
	mustCLI(t, "probe", "clear", "--stale")
	requireForeign(t, foreign)
}

// TestProbeAddRefusesTraceletGroups: probe add writes only to the persistent
// group. A tracelet_ group is tracelet's to pick: tracelet_<pid> is a
// running trace's (swept once that pid is dead), tracelet_<name> an applied
// plan's; naming one is refused, dry run or not, and nothing is written.
func TestProbeAddRefusesTraceletGroups(t *testing.T) {
	testenv.RequireRoot(t)
	path, off, err := tracefs.ResolveSymbol(testenv.TestProg(t), testenv.CABITarget)
	if err != nil {
		t.Fatal(err)
	}
	event := fmt.Sprintf("grp%d", os.Getpid())
	for _, g := range []string{"tracelet_123", fmt.Sprintf("tracelet_%d", os.Getpid()), "tracelet_myplan"} {
		t.Cleanup(func() { runCLI(t, "probe", "del", g+"/"+event) })
		spec := fmt.Sprintf("p:%s/%s %s:0x%x", g, event, path, off)
		for _, dry := range []bool{true, false} {
			args := []string{"probe", "add", spec}
			if dry {
				args = []string{"probe", "add", "--dry-run", spec}
			}
			r := runCLI(t, args...)
			if r.code != 2 || !strings.Contains(r.err, "tracelet picks its tracelet_ groups itself") {
				t.Errorf("tracelet %q: exit %d, want 2 and the reserved-group error:\n%s%s", args, r.code, r.out, r.err)
			}
		}
		if strings.Contains(dynamicEvents(t), g+"/"+event+" ") {
			t.Errorf("probe add wrote %s/%s", g, event)
		}
	}
	// The persistent group may still be named explicitly.
	spec := fmt.Sprintf("p:tracelet/%s %s:0x%x", event, path, off)
	if out := mustCLI(t, "probe", "add", "--dry-run", spec); !strings.Contains(out, "p:tracelet/"+event+" ") {
		t.Errorf("dry run of %q printed %q", spec, out)
	}
}

// holdProbe is a stand-in tracelet run: it defines a probe in its owner
// group, says so, and waits to be killed.
func holdProbe(prog string) {
	fs, err := tracefs.Find()
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	spec := fmt.Sprintf("p:%s:%s", prog, testenv.CABITarget)
	if def, ok := strings.CutPrefix(prog, "spec="); ok {
		spec = def // a whole definition, e.g. a kprobe
	}
	p, err := tracefs.ParseSpec(spec, parseOptions(), tracefs.OwnerGroup(os.Getpid()))
	if err == nil {
		err = fs.AddProbe(p)
	}
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	fmt.Println("ready", p.GroupName())
	time.Sleep(time.Hour) // until the test kills it
}

func startHolder(t *testing.T, prog string) (*exec.Cmd, string) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), "TRACELET_TEST_HOLD="+prog)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(out).ReadString('\n')
	f := strings.Fields(line)
	if len(f) != 2 || f[0] != "ready" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("holder said %q", line)
	}
	return cmd, f[1]
}

// TestClearStaleAfterSIGKILL: a tracelet process killed with SIGKILL cannot
// clean up; its owner group stays, is listed as dead, and `probe clear
// --stale` removes it, while a live owner's group and a foreign probe stay.
func TestClearStaleAfterSIGKILL(t *testing.T) {
	testenv.RequireRoot(t)
	fs, err := tracefs.Find()
	if err != nil {
		t.Fatal(err)
	}
	prog := testenv.TestProg(t)
	foreign := foreignProbe(t, fs, prog)

	dead, deadGroup := startHolder(t, prog)
	live, liveGroup := startHolder(t, prog)
	t.Cleanup(func() {
		live.Process.Kill()
		live.Wait()
		fs.RemoveGroup(tracefs.UprobeEvents, liveGroup)
		fs.RemoveGroup(tracefs.UprobeEvents, deadGroup)
	})
	dead.Process.Signal(syscall.SIGKILL)
	dead.Wait()

	if evs := dynamicEvents(t); !strings.Contains(evs, deadGroup+"/") {
		t.Fatalf("the killed run's group %s is already gone:\n%s", deadGroup, evs)
	}
	list := mustCLI(t, "probe", "list")
	if !regexp.MustCompile(`(?m)^` + deadGroup + `/\S+\s+\d+ \(dead\)`).MatchString(list) {
		t.Fatalf("probe list does not mark %s dead:\n%s", deadGroup, list)
	}
	out := mustCLI(t, "probe", "clear", "--stale")
	if !strings.Contains(out, "removed "+deadGroup+"/") {
		t.Fatalf("clear --stale said:\n%s", out)
	}
	evs := dynamicEvents(t)
	if strings.Contains(evs, deadGroup+"/") {
		t.Fatalf("clear --stale left %s:\n%s", deadGroup, evs)
	}
	if !strings.Contains(evs, liveGroup+"/") {
		t.Fatalf("clear --stale removed the live owner's group %s", liveGroup)
	}
	// A plain clear leaves the live owner's probes alone too.
	mustCLI(t, "probe", "clear")
	if !strings.Contains(dynamicEvents(t), liveGroup+"/") {
		t.Fatalf("clear removed the live owner's group %s", liveGroup)
	}
	requireForeign(t, foreign)
}

func TestDoctorJSON(t *testing.T) {
	testenv.RequireRoot(t)
	out := mustCLI(t, "doctor", "--json")
	for _, want := range []string{`"name": "tracefs"`, `"name": "uprobe_events"`, `"name": "kprobe_events"`, `"name": "program type kprobe"`, `"name": "map type ringbuf"`, `"name": "perf_event_paranoid"`, `"name": "lockdown"`,
		`"name": "fprobe events"`, `"name": "tracepoint probes"`, `"name": "event probes"`, `"name": "BTF arguments"`,
		`"name": "bpf syscall"`, `"name": "BPF on kprobes"`, `"name": "BPF on uprobes"`, `"name": "BPF on tracepoints"`} {
		if !strings.Contains(out, want) {
			t.Errorf("doctor --json lacks %s:\n%s", want, out)
		}
	}
	// What the doctor says must agree with the kernel.
	fs, err := tracefs.Find()
	if err != nil {
		t.Fatal(err)
	}
	kp := regexp.MustCompile(`"name": "kprobe_events",\s+"ok": (true|false)`).FindStringSubmatch(out)
	if kp == nil || (kp[1] == "true") != fs.Has(tracefs.KprobeEvents) {
		t.Errorf("doctor's kprobe_events answer %v disagrees with tracefs (%v)", kp, fs.Has(tracefs.KprobeEvents))
	}
	// BPF runs on kprobes only where kprobes exist (a tracefs file or the
	// PMU), and this kernel has the bpf syscall and uprobes.
	_, pmuErr := perf.LookupPMU("kprobe")
	for name, want := range map[string]bool{
		"bpf syscall":    true,
		"BPF on uprobes": fs.Has(tracefs.UprobeEvents),
		"BPF on kprobes": fs.Has(tracefs.KprobeEvents) || pmuErr == nil,
	} {
		m := regexp.MustCompile(`"name": "` + name + `",\s+"ok": (true|false)`).FindStringSubmatch(out)
		if m == nil || (m[1] == "true") != want {
			t.Errorf("doctor says %s: %v, want %v", name, m, want)
		}
	}
}

func TestListUprobes(t *testing.T) {
	prog := testenv.TestProg(t)
	out := mustCLI(t, "list", "--uprobes", prog, "main.cabi*")
	_, off, err := tracefs.ResolveSymbol(prog, testenv.CABITarget)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, fmt.Sprintf("%s\t0x%x\n", testenv.CABITarget, off)) {
		t.Fatalf("list --uprobes:\n%s\nwant %s at 0x%x", out, testenv.CABITarget, off)
	}
	if r := runCLI(t, "list", "--uprobes", prog, "["); r.code != 2 {
		t.Fatalf("a bad glob gave exit %d, want 2: %s", r.code, r.err)
	}
}

func TestListTracepoints(t *testing.T) {
	testenv.RequireRoot(t)
	out := mustCLI(t, "list", "syscalls:sys_enter_openat*")
	if !strings.Contains(out, "syscalls:sys_enter_openat\n") {
		t.Fatalf("list of tracepoints:\n%s", out)
	}
}

// hostRegs translates the x86_64 argument registers that the definitions
// of these tests and of testdata/kprobeevents/errors.txt use (%di, %si)
// into this machine's: on arm64 %x0 and %x1, which have the same length, so
// the recorded caret columns stay right.
// The running kernel's registers count (tracefs.KernelArch), not GOARCH:
// i386 has %di and %si too; arm and riscv64 get 3-letter names.
func hostRegs(def string) string {
	r, ok := map[kprobeevents.Arch][2]string{
		kprobeevents.ArchARM64:   {"%x0", "%x1"},
		kprobeevents.ArchARM:     {"%r0", "%r1"},
		kprobeevents.ArchRISCV64: {"%a0", "%a1"},
		kprobeevents.ArchMIPS:    {"%r4", "%r5"}, // o32's a0 and a1
	}[tracefs.KernelArch()]
	if ok {
		return strings.NewReplacer("%di", r[0], "%si", r[1]).Replace(def)
	}
	return def
}

// TestClearLeavesAppliedPlans: `probe clear` removes what probe add made,
// and leaves an applied script's group to `revert`.
func TestClearLeavesAppliedPlans(t *testing.T) {
	testenv.RequireRoot(t)
	script := filepath.Join(t.TempDir(), fmt.Sprintf("clr%d.bt", os.Getpid()))
	src := fmt.Sprintf("uprobe:%s:%s { printf(\"%%d\\n\", arg0); }\n", testenv.TestProg(t), testenv.CABITarget)
	if err := os.WriteFile(script, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	group := "tracelet_" + strings.TrimSuffix(filepath.Base(script), ".bt")
	t.Cleanup(func() { runCLI(t, "revert", script) })
	mustCLI(t, "apply", script)
	if !strings.Contains(dynamicEvents(t), group+"/") {
		t.Fatalf("apply defined nothing in %s:\n%s", group, dynamicEvents(t))
	}
	mustCLI(t, "probe", "clear")
	if !strings.Contains(dynamicEvents(t), group+"/") {
		t.Fatalf("probe clear removed the applied script's group %s", group)
	}
	mustCLI(t, "revert", script)
	if strings.Contains(dynamicEvents(t), group+"/") {
		t.Fatalf("revert left %s:\n%s", group, dynamicEvents(t))
	}
}

// TestListUSDT lists the probes of a copy of testprog given USDT notes,
// one of them at two places, and, where bpftrace is installed, checks
// that bpftrace -l lists the same attach points.
func TestListUSDT(t *testing.T) {
	src := testenv.TestProg(t)
	bin := filepath.Join(t.TempDir(), "testprog-usdt")
	pc := testenv.SymbolAddr(t, src, testenv.CABITarget)
	testenv.WithUSDTNotes(t, src, bin, []testenv.USDTNote{
		{Provider: "tracelet", Name: "mem", PC: pc},
		{Provider: "tracelet", Name: "args", PC: pc, Args: "8@%rdi"},
		{Provider: "other", Name: "args", PC: pc},
		{Provider: "tracelet", Name: "fire", PC: pc},
		{Provider: "tracelet", Name: "mem", PC: pc + 1},
	})
	out := mustCLI(t, "list", "--usdt", bin)
	want := ""
	for _, p := range []string{"other:args", "tracelet:args", "tracelet:fire", "tracelet:mem"} {
		want += "usdt:" + bin + ":" + p + "\n"
	}
	if out != want {
		t.Errorf("list --usdt:\n%s\nwant:\n%s", out, want)
	}
	if out := mustCLI(t, "list", "-U", bin, "tracelet:[fm]*"); out != "usdt:"+bin+":tracelet:fire\nusdt:"+bin+":tracelet:mem\n" {
		t.Errorf("list -U with a glob:\n%s", out)
	}
	if bt, err := exec.LookPath("bpftrace"); err == nil {
		b, err := exec.Command(bt, "-l", "usdt:"+bin+":*").Output()
		if err != nil {
			t.Fatalf("bpftrace -l: %v", err)
		}
		if string(b) != want {
			t.Errorf("bpftrace -l lists:\n%s\ntracelet list --usdt:\n%s", b, want)
		}
	}
}
