package tools

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tracelet/tracelet/flamegraph"
	"github.com/tracelet/tracelet/internal/testenv"
	"github.com/tracelet/tracelet/perf"
)

// workload is testprog (built with its symbols, which `go test` strips
// from test binaries) with pipes: it prints "ready" and the like on
// stdout and reads stdin.
type workload struct {
	cmd  *exec.Cmd
	in   io.WriteCloser
	out  *bufio.Reader
	comm string
}

func startWorkload(t *testing.T, args ...string) *workload {
	t.Helper()
	prog := testenv.TestProg(t)
	cmd := exec.Command(prog, args...)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w := &workload{cmd: cmd, in: in, out: bufio.NewReader(out), comm: commOf(prog)}
	t.Cleanup(func() { in.Close(); cmd.Process.Kill(); cmd.Wait() })
	w.expect(t, "ready")
	return w
}

// expect reads the workload's next line and fails unless it is want.
func (w *workload) expect(t *testing.T, want string) {
	t.Helper()
	line, err := w.out.ReadString('\n')
	if strings.TrimSpace(line) != want {
		t.Fatalf("workload printed %q (%v), want %q", line, err, want)
	}
}

// commOf is the kernel's comm of a program: its base name, cut to 15
// bytes.
func commOf(path string) string {
	c := filepath.Base(path)
	if len(c) > 15 {
		c = c[:15]
	}
	return c
}

// spinName is spinTarget's symbol in testprog.
const spinName = "main.spinTarget"

// `tracelet profile -p PID -f folded` of a workload spinning in a known
// function: most samples have it as the innermost user frame, every stack
// is the workload's (its comm at the root), and the same run's --svg opens
// in Chromium with that frame drawn, zoomable and searchable.
func TestProfileFoldedSpin(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireUserCallchains(t) // the spin loop is a user frame
	w := startWorkload(t, "spin")
	svg := filepath.Join(t.TempDir(), "profile.svg")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, testenv.Tracelet(t), "profile", "-p", strconv.Itoa(w.cmd.Process.Pid), "-f", "folded", "--svg", svg, "2")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tracelet profile: %v\n%s", err, stderr.String())
	}
	checkSpinFolded(t, out, w)
	if !strings.Contains(stderr.String(), "Sampling at 99 Hertz of one process") {
		t.Errorf("stderr: %q", stderr.String())
	}

	b, err := os.ReadFile(svg)
	if err != nil {
		t.Fatal(err)
	}
	got := testenv.ParseHarness(testenv.BrowserCheck(t, b, testenv.FlameGraphHarness(spinName, "spinTarget$")))
	t.Logf("browser: %v", got)
	if got["error"] != "" {
		t.Fatalf("harness: %s", got["error"])
	}
	if got["display"] == "none" || got["bbox"] == "0.0" || got["bbox"] != got["width"] {
		t.Errorf("%s not rendered: %v", spinName, got)
	}
	if got["zoomed"] != "1180.0" || got["unzoomed"] != got["width"] || got["unzoom"] != "" {
		t.Errorf("a click on %s did not zoom it to the full width: %v", spinName, got)
	}
	if !strings.HasPrefix(got["matched"], "Matched: ") || got["matched"] == "Matched: none" || got["fill"] != "rgb(230,0,230)" {
		t.Errorf("search for spinTarget$: %v", got)
	}
}

// checkSpinFolded checks folded stacks of the spinning workload w: every
// stack is w's (its comm at the root), and spinTarget is the innermost
// user frame of at least two thirds of the samples.
func checkSpinFolded(t *testing.T, out []byte, w *workload) {
	t.Helper()
	p, err := flamegraph.ParseFolded(bytes.NewReader(out))
	if err != nil {
		t.Fatalf("the output is not folded stacks: %v\n%s", err, out)
	}
	comm := w.comm
	var onTop uint64
	for _, s := range p.Stacks() {
		if s.Frames[0] != comm {
			t.Errorf("a stack of another process (-p %d): %v", w.cmd.Process.Pid, s)
		}
		// The innermost user frame: kernel frames (an interrupt taken
		// while spinning) sit above it.
		user := ""
		for _, f := range s.Frames[1:] {
			if !strings.HasSuffix(f, "_[k]") {
				user = f
			}
		}
		if user == spinName {
			onTop += s.Count
		}
	}
	t.Logf("%d samples, %d with %s innermost\n%s", p.Total(), onTop, spinName, out)
	// The workload spins for the whole run: at 99 Hz for 2 s even a
	// busy shared machine gives it some samples.
	if p.Total() < 5 {
		t.Fatalf("%d samples of a spinning process in 2 s at 99 Hz", p.Total())
	}
	if onTop*3 < p.Total()*2 {
		t.Errorf("%s is the innermost user frame of %d of %d samples, want at least two thirds", spinName, onTop, p.Total())
	}
}

// The script behind `tracelet profile`, as `tracelet tools show` prints
// it, copied and run with `tracelet run -D ... -f folded`: the same
// stacks, here of the one spinning thread (-L's TID).
func TestRunFoldedProfileScript(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireUserCallchains(t) // the spin loop is a user frame
	tracelet := testenv.Tracelet(t)
	src, err := exec.Command(tracelet, "tools", "show", "profile").Output()
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "profile.bt")
	if err := os.WriteFile(file, src, 0o644); err != nil {
		t.Fatal(err)
	}
	w := startWorkload(t, "spin")
	// TID, -L's macro: testprog spins on its main thread, whose tid is
	// the pid.
	cmd := exec.Command(tracelet, "run", "-D", "TID="+strconv.Itoa(w.cmd.Process.Pid), "-D", "DURATION=2", "-f", "folded", file)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tracelet run: %v\n%s", err, stderr.String())
	}
	checkSpinFolded(t, out, w)
}

// waitBPFLinks waits until process pid holds n BPF links: its probes are
// attached (a raw tracepoint program is attached through a link).
func waitBPFLinks(t *testing.T, pid, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		ents, _ := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/fd")
		links := 0
		for _, e := range ents {
			if l, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/fd/" + e.Name()); err == nil && l == "anon_inode:bpf_link" {
				links++
			}
		}
		if links >= n {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("process %d attached fewer than %d BPF links in 30 s", pid, n)
}

// offcpuStack is one stack of off-CPU time: kernel frames innermost first,
// from __schedule on (what the tracing itself adds above it, the BPF
// program and bpf_trace_run, is left out: it differs between the tools),
// then user frames innermost first.
type offcpuStack struct {
	kernel, user []string
	us           uint64
}

// libbpfOffcpu reads libbpf-tools offcputime's output: per stack, kernel
// frames then user frames, innermost first, each on a line of its own,
// then "    -                COMM (PID)" and the microseconds.
func libbpfOffcpu(out, comm string, pid int) []offcpuStack {
	var res []offcpuStack
	var frames []string
	lines := strings.Split(out, "\n")
	for i := 0; i < len(lines); i++ {
		l := strings.TrimSpace(lines[i])
		switch {
		case l == "":
			frames = nil
		case strings.HasPrefix(l, "- "):
			f := strings.Fields(l)
			if len(f) == 3 && f[1] == comm && f[2] == "("+strconv.Itoa(pid)+")" && i+1 < len(lines) {
				us, _ := strconv.ParseUint(strings.TrimSpace(lines[i+1]), 10, 64)
				s := offcpuStack{us: us}
				for _, fr := range frames {
					// ksyms name kernel frames; the first frame that is
					// not one is the user stack's.
					if s.user == nil && isKernelFrame(fr) {
						s.kernel = append(s.kernel, fr)
					} else {
						s.user = append(s.user, fr)
					}
				}
				s.kernel = fromSchedule(s.kernel)
				res = append(res, s)
			}
			frames = nil
			i++
		default:
			frames = append(frames, l)
		}
	}
	return res
}

// isKernelFrame reports whether /proc/kallsyms has a text symbol name, or
// it names a BPF program (the tool's own, gone from kallsyms once the
// tool exits).
func isKernelFrame(name string) bool {
	kallsymsOnce()
	return kallsymsNames[name] || strings.HasPrefix(name, "bpf_prog_")
}

var kallsymsNames map[string]bool

func kallsymsOnce() {
	if kallsymsNames != nil {
		return
	}
	kallsymsNames = map[string]bool{}
	f, err := os.Open("/proc/kallsyms")
	if err != nil {
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fs := strings.Fields(sc.Text()); len(fs) >= 3 && strings.ContainsAny(fs[1], "tTwW") {
			kallsymsNames[fs[2]] = true
		}
	}
}

func fromSchedule(kernel []string) []string {
	for i, f := range kernel {
		if f == "__schedule" {
			return kernel[i:]
		}
	}
	return kernel
}

// ourOffcpu reads our folded output into the same shape.
func ourOffcpu(p *flamegraph.Profile, comm string) []offcpuStack {
	var res []offcpuStack
	for _, s := range p.Stacks() {
		if s.Frames[0] != comm {
			continue
		}
		st := offcpuStack{us: s.Count}
		for i := len(s.Frames) - 1; i >= 1; i-- {
			if k, ok := strings.CutSuffix(s.Frames[i], "_[k]"); ok {
				st.kernel = append(st.kernel, k)
			} else {
				st.user = append(st.user, s.Frames[i])
			}
		}
		st.kernel = fromSchedule(st.kernel)
		res = append(res, st)
	}
	return res
}

// nanosleepStack is the stack of the workload's sleeps: the one with the
// most off-CPU time that passes through do_nanosleep and main.offcpuTarget
// (the Go runtime's sysmon thread naps in nanosleep too).
func nanosleepStack(stacks []offcpuStack) (offcpuStack, bool) {
	var best offcpuStack
	found := false
	for _, s := range stacks {
		if slices.Contains(s.kernel, "do_nanosleep") && userFrom(s.user, "main.offcpuTarget") && s.us > best.us {
			best, found = s, true
		}
	}
	return best, found
}

// userFrom says whether a Go workload's user stack comes from fn. Go keeps
// frame pointers on amd64 and arm64 only; elsewhere (riscv64's, 386's and
// arm's Go code has none) the kernel's frame-pointer walk stops at the
// leaf, the syscall stub: a user stack of the workload with no frame of
// the runtime's own (sysmon's nanosleeps end in runtime.usleep) will do.
func userFrom(user []string, fn string) bool {
	if runtime.GOARCH != "amd64" && runtime.GOARCH != "arm64" {
		return len(user) > 0 && !slices.ContainsFunc(user, func(f string) bool { return strings.HasPrefix(f, "runtime.") })
	}
	return slices.Contains(user, fn)
}

// offcpuN and offcpuMS are the workload of the offcputime tests: 20
// sleeps of 20 ms.
const offcpuN, offcpuMS = 20, 20

// runOffcputimes runs libbpf-tools' offcputime and ours with the same
// extra flags, filtered to a workload that sleeps offcpuN times offcpuMS
// ms in one nanosleep each, on its main thread, and returns the stacks
// each reports for it.
func runOffcputimes(t *testing.T, extra ...string) (theirStacks, ourStacks []offcpuStack) {
	t.Helper()
	const bin = "/usr/sbin/offcputime"
	if _, err := os.Stat(bin); err != nil {
		t.Skipf("%s not installed (apt-get install libbpf-tools): %v", bin, err)
	}
	return runOffcpu(t, bin, extra...)
}

// runOffcpu runs our offcputime, and libbpf-tools' at bin unless bin is
// "", on the sleeping workload.
func runOffcpu(t *testing.T, bin string, extra ...string) (theirStacks, ourStacks []offcpuStack) {
	t.Helper()
	testenv.RequireRoot(t)
	w := startWorkload(t, "offcpu", strconv.Itoa(offcpuN), strconv.Itoa(offcpuMS))
	pid := strconv.Itoa(w.cmd.Process.Pid)

	ours := exec.Command(testenv.Tracelet(t), append([]string{"offcputime", "-p", pid, "-f", "folded"}, extra...)...)
	var ourOut, ourErr bytes.Buffer
	ours.Stdout, ours.Stderr = &ourOut, &ourErr
	cmds := []*exec.Cmd{ours}
	var theirOut bytes.Buffer
	if bin != "" {
		theirs := exec.Command(bin, append([]string{"-p", pid}, extra...)...)
		theirs.Stdout, theirs.Stderr = &theirOut, os.Stderr
		cmds = append(cmds, theirs)
	}
	for _, c := range cmds {
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Process.Kill(); c.Wait() })
	}
	waitBPFLinks(t, ours.Process.Pid, 2) // the two sched_switch probes
	if bin != "" {
		waitBPFLinks(t, cmds[1].Process.Pid, 1)
	}
	io.WriteString(w.in, "go\n")
	w.expect(t, "done")
	for _, c := range cmds {
		c.Process.Signal(syscall.SIGINT)
		if err := c.Wait(); err != nil {
			t.Fatalf("%s: %v\n%s", c.Path, err, ourErr.String())
		}
	}
	p, err := flamegraph.ParseFolded(&ourOut)
	if err != nil {
		t.Fatalf("our output is not folded stacks: %v", err)
	}
	return libbpfOffcpu(theirOut.String(), w.comm, w.cmd.Process.Pid), ourOffcpu(p, w.comm)
}

// offcputime alone, where libbpf-tools is not (the VM suite's guests):
// the workload's sleeps are one stack through do_nanosleep and
// main.offcpuTarget, with at least half the time slept.
func TestOffcputimeFolded(t *testing.T) {
	if _, err := os.Stat("/sys/kernel/btf/vmlinux"); err != nil {
		t.Skipf("offcputime reads sched_switch's task_structs through BTF, and this kernel has none: %v", err)
	}
	_, ourStacks := runOffcpu(t, "")
	our, ok := nanosleepStack(ourStacks)
	if !ok {
		// The kernel stack map is a hash table of 4096 buckets with no
		// BPF_F_REUSE_STACKID, as libbpf-tools' (of 1024): a kernel
		// stack whose bucket an earlier stack of the run holds gets no
		// id (-EEXIST), and the tool prints "[Missed Kernel Stack]", as
		// libbpf-tools does. Seen once in the 6.12 guest, where KASLR
		// moves the addresses hashed at each boot. The user half and
		// the time are still the workload's.
		for _, s := range ourStacks {
			if len(s.kernel) == 0 && slices.Contains(s.user, "[Missed Kernel Stack]") && slices.Contains(s.user, "main.offcpuTarget") && s.us > our.us {
				our, ok = s, true
			}
		}
		if !ok {
			t.Fatalf("no do_nanosleep stack of the workload: %v", ourStacks)
		}
		t.Logf("the workload's kernel stack collided in the stack map: %v", our.user)
	}
	t.Logf("%d us, kernel %v, user %v", our.us, our.kernel, our.user)
	if our.us < offcpuN*offcpuMS*1000/2 {
		t.Errorf("%d us off-CPU, under half the %d ms slept", our.us, offcpuN*offcpuMS)
	}
}

// offcputime side by side with libbpf-tools': both report the workload's
// sleeps as one stack through do_nanosleep, with the same kernel and user
// frames and times within 10% of each other (both time the same switches
// out and in). The times are checked against the 400 ms slept only
// loosely, at least half: a sleep a signal interrupts is resumed for what
// is left, and the time between counts elsewhere.
func TestSideBySideOffcputime(t *testing.T) {
	theirStacks, ourStacks := runOffcputimes(t)
	their, ok := nanosleepStack(theirStacks)
	if !ok {
		t.Fatalf("libbpf-tools offcputime has no do_nanosleep stack of the workload: %v", theirStacks)
	}
	our, ok := nanosleepStack(ourStacks)
	if !ok {
		t.Fatalf("tracelet offcputime has no do_nanosleep stack of the workload: %v", ourStacks)
	}
	t.Logf("libbpf-tools: %d us, kernel %v, user %v", their.us, their.kernel, their.user)
	t.Logf("tracelet:     %d us, kernel %v, user %v", our.us, our.kernel, our.user)
	if strings.Join(their.kernel, ";") != strings.Join(our.kernel, ";") {
		t.Errorf("kernel frames differ:\nlibbpf-tools: %v\ntracelet:     %v", their.kernel, our.kernel)
	}
	const slept = offcpuN * offcpuMS * 1000
	if their.us < slept/2 || our.us < slept/2 {
		t.Errorf("off-CPU time under half the %d us slept: libbpf-tools %d, tracelet %d", slept, their.us, our.us)
	}
	if lo, hi := min(their.us, our.us), max(their.us, our.us); hi-lo > hi/10 {
		t.Errorf("off-CPU times differ by more than 10%%: libbpf-tools %d us, tracelet %d us", their.us, our.us)
	}
	// testprog keeps its symbols: both name every user frame, the
	// sleeping function among them.
	if strings.Join(their.user, ";") != strings.Join(our.user, ";") || !slices.Contains(our.user, "main.offcpuTarget") {
		t.Errorf("user frames (want the same, with main.offcpuTarget):\nlibbpf-tools: %v\ntracelet:     %v", their.user, our.user)
	}
}

// -m and -M as libbpf-tools takes them: a minimum far above the 20 ms
// slept (1 s), or a maximum far below it (1 ms), leaves the sleeps out of
// both; between the two, both see them.
func TestSideBySideOffcputimeBlockTimes(t *testing.T) {
	for _, flags := range [][]string{{"-m", "1000000"}, {"-M", "1000"}} {
		t.Run(strings.Join(flags, ""), func(t *testing.T) {
			theirStacks, ourStacks := runOffcputimes(t, flags...)
			if s, ok := nanosleepStack(theirStacks); ok {
				t.Errorf("libbpf-tools %v reports the 20 ms sleeps: %d us", flags, s.us)
			}
			if s, ok := nanosleepStack(ourStacks); ok {
				t.Errorf("tracelet %v reports the 20 ms sleeps: %d us", flags, s.us)
			}
		})
	}
	theirStacks, ourStacks := runOffcputimes(t, "-m", "1000", "-M", "1000000")
	their, ok1 := nanosleepStack(theirStacks)
	our, ok2 := nanosleepStack(ourStacks)
	if !ok1 || !ok2 || our.us < offcpuN*offcpuMS*1000/2 {
		t.Errorf("-m 1000 -M 1000000: the 20 ms sleeps: libbpf-tools %d us (%v), tracelet %d us (%v)", their.us, ok1, our.us, ok2)
	}
}

// profile side by side with bpftrace (Debian's libbpf-tools 0.26 has no
// profile): both sample the spinning workload at 99 Hz for the same 2 s,
// and the user stack most samples have is the same function names in both,
// with spinTarget innermost.
func TestSideBySideProfileBpftrace(t *testing.T) {
	testenv.RequireRoot(t)
	bpftrace := testenv.RequireHostTool(t, "bpftrace", "apt-get install bpftrace")
	w := startWorkload(t, "spin")
	pid := strconv.Itoa(w.cmd.Process.Pid)
	theirs := exec.Command(bpftrace, "-e", "profile:hz:99 /pid == "+pid+"/ { @[ustack] = count(); } interval:s:2 { exit(); }")
	ours := exec.Command(testenv.Tracelet(t), "profile", "-U", "-p", pid, "-f", "folded", "2")
	var theirOut, ourOut bytes.Buffer
	theirs.Stdout, theirs.Stderr = &theirOut, os.Stderr
	ours.Stdout = &ourOut
	for _, c := range []*exec.Cmd{theirs, ours} {
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []*exec.Cmd{theirs, ours} {
		if err := c.Wait(); err != nil {
			t.Fatalf("%s: %v", c.Path, err)
		}
	}
	// bpftrace: "@[\n        main.spinTarget+85\n ...\n]: 23", frames
	// innermost first.
	var theirTop []string
	var theirMax uint64
	for _, block := range strings.Split(theirOut.String(), "@[")[1:] {
		frames, count, ok := strings.Cut(block, "]: ")
		if !ok {
			continue
		}
		n, _ := strconv.ParseUint(strings.TrimSpace(count), 10, 64)
		var names []string
		for _, f := range strings.Fields(frames) {
			name, _, _ := strings.Cut(f, "+")
			names = append(names, name)
		}
		if n > theirMax {
			theirMax, theirTop = n, names
		}
	}
	p, err := flamegraph.ParseFolded(&ourOut)
	if err != nil {
		t.Fatal(err)
	}
	var ourTop []string
	var ourMax uint64
	for _, s := range p.Stacks() {
		if s.Count > ourMax {
			ourMax, ourTop = s.Count, slices.Clone(s.Frames[1:])
			slices.Reverse(ourTop)
		}
	}
	t.Logf("bpftrace: %d samples of %v", theirMax, theirTop)
	t.Logf("tracelet: %d samples of %v", ourMax, ourTop)
	if len(ourTop) == 0 || ourTop[0] != spinName || !slices.Equal(theirTop, ourTop) {
		t.Errorf("the most sampled user stacks differ, or %s is not innermost:\nbpftrace: %v\ntracelet: %v", spinName, theirTop, ourTop)
	}
}

// profile -C CPU keeps only that CPU's samples, as libbpf-tools' profile
// does: the spinning workload, pinned to one CPU, fills -C of that CPU
// and is absent from -C of another.
func TestProfileCPU(t *testing.T) {
	testenv.RequireCPUHelper(t)
	cpus, err := perf.OnlineCPUs()
	if err != nil {
		t.Fatal(err)
	}
	if len(cpus) < 2 {
		t.Skipf("this machine has one online CPU (%v): -C has no other CPU to leave out", cpus)
	}
	w := startWorkload(t, "spin")
	pinned, other := cpus[len(cpus)-1], cpus[0]
	var set unix.CPUSet
	set.Set(pinned)
	// The spinning thread is the main one, whose tid is the pid.
	if err := unix.SchedSetaffinity(w.cmd.Process.Pid, &set); err != nil {
		t.Fatal(err)
	}
	profile := func(cpu int) *flamegraph.Profile {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		// -L: the spinning thread only (the runtime's other threads are not pinned).
		cmd := exec.CommandContext(ctx, testenv.Tracelet(t), "profile", "-L", strconv.Itoa(w.cmd.Process.Pid), "-C", strconv.Itoa(cpu), "-f", "folded", "2")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("tracelet profile -C %d: %v\n%s", cpu, err, stderr.String())
		}
		p, err := flamegraph.ParseFolded(bytes.NewReader(out))
		if err != nil {
			t.Fatalf("-C %d: not folded stacks: %v\n%s", cpu, err, out)
		}
		return p
	}
	if p := profile(pinned); p.Total() < 5 {
		t.Errorf("-C %d, the workload's CPU: %d samples in 2 s at 99 Hz", pinned, p.Total())
	}
	if p := profile(other); p.Total() != 0 {
		t.Errorf("-C %d, not the workload's CPU: %d samples of it, want none", other, p.Total())
	}
}
