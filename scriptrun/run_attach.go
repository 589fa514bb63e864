package scriptrun

import (
	"bufio"
	"fmt"
	"os"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/tracelet/tracelet/asm"
	"github.com/tracelet/tracelet/bpf"
	"github.com/tracelet/tracelet/perf"
	"github.com/tracelet/tracelet/script"
	"github.com/tracelet/tracelet/tracefs"
)

// eventSeq numbers the tracefs events of this process, so that two runs
// in one process (tests) never share a name in the owner group.
var eventSeq atomic.Uint64

// eventName is a unique tracefs event name for an attach point.
func eventName(a *script.AttachPoint) string {
	var b strings.Builder
	fmt.Fprintf(&b, "s%d_", eventSeq.Add(1))
	for i := 0; i < len(a.Func) && b.Len() < 48; i++ {
		c := a.Func[i]
		if c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' {
			b.WriteByte(c)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

// attach attaches the program of one attach point. BEGIN and END are
// hooks (attachHook), not attached here.
func (r *Run) attach(p *script.Prog, prog *bpf.Program) error {
	a := p.Attach
	var fds []int
	var err error
	switch a.Type {
	case script.Begin, script.End:
		return nil
	case script.Tracepoint:
		fds, err = r.openTracepoint(a)
	case script.Kprobe, script.Kretprobe, script.Uprobe, script.Uretprobe, script.USDT:
		fds, err = r.openDynamic(a)
	case script.Interval, script.Profile:
		fds, err = openClock(a)
	case script.Software, script.Hardware:
		fds, err = openPerfEvent(a)
	case script.Fentry, script.Fexit, script.LSM:
		l, err := bpf.AttachTracing(prog)
		if err != nil {
			return fmt.Errorf("attaching %s: %w", a.Describe(), err)
		}
		r.links = append(r.links, l)
		return nil
	case script.RawTracepoint:
		if p.Type == bpf.Tracing { // tp_btf
			l, err := bpf.AttachTracing(prog)
			if err != nil {
				return fmt.Errorf("attaching %s: %w", a.Describe(), err)
			}
			r.links = append(r.links, l)
			return nil
		}
		l, err := bpf.AttachRawTracepoint(prog, a.Func)
		if err != nil {
			return fmt.Errorf("attaching %s: %w", a.Describe(), err)
		}
		r.links = append(r.links, l)
		return nil
	default:
		err = fmt.Errorf("cannot attach %s probes", a.Type)
	}
	if err != nil {
		return fmt.Errorf("attaching %s: %w", a.Describe(), err)
	}
	for i, fd := range fds {
		// The ioctl, not a BPF link: the run needs no bpf cookie, and
		// closing a perf link waits for a grace period before the perf
		// event's own release waits for another, which doubled the
		// teardown at exit (about 20 ms + 45 ms on 6.18, against 45 ms).
		l, err := bpf.AttachPerfEvent(prog, fd, bpf.AttachOptions{Mode: bpf.AttachIoctl})
		if err != nil {
			for _, rest := range fds[i:] {
				unix.Close(rest)
			}
			return fmt.Errorf("attaching %s: %w", a.Describe(), err)
		}
		r.links = append(r.links, l)
	}
	return nil
}

func (r *Run) needFS(a *script.AttachPoint) error {
	if r.fs == nil {
		return fmt.Errorf("%s probes need tracefs, which is not mounted (mount -t tracefs nodev /sys/kernel/tracing)", a.Type)
	}
	return nil
}

func (r *Run) openTracepoint(a *script.AttachPoint) ([]int, error) {
	if err := r.needFS(a); err != nil {
		return nil, err
	}
	id, err := r.fs.EventID(a.Target, a.Func)
	if err != nil {
		return nil, err
	}
	// Tracepoint programs return 1 (codegen), so that other perf users
	// of the tracepoint keep their hits; this event only counts them.
	fd, err := bpf.OpenTraceEventCounting(uint64(id))
	if err != nil {
		return nil, err
	}
	return []int{fd}, nil
}

// openDynamic opens a kprobe or uprobe: through the kprobe or uprobe PMU
// where the kernel has it (4.17), else as a tracefs event in the run's
// owner group. A PMU probe is made by perf_event_open itself and vanishes
// with its fd: no control-file write, no event directory, and nothing left
// behind if tracelet is killed. For -p, a uprobe is bound to that task,
// which installs it in that task's address space only.
func (r *Run) openDynamic(a *script.AttachPoint) ([]int, error) {
	var path string
	var off uint64
	if a.Type == script.Uprobe || a.Type == script.Uretprobe || a.Type == script.USDT {
		var err error
		if path, off, err = r.uprobeTarget(a); err != nil {
			return nil, err
		}
	}
	if fd, ok := r.openPMUProbe(a, path, off); ok {
		return []int{fd}, nil
	}
	if err := r.needFS(a); err != nil {
		return nil, err
	}
	if r.group == "" {
		r.group = tracefs.OwnerGroup(os.Getpid())
		// Leftovers of dead runs (SIGKILL) go first.
		r.fs.Sweep()
	}
	kind := "p"
	if a.Type.IsReturn() {
		kind = "r"
	}
	var file, loc string
	switch a.Type {
	case script.Kprobe, script.Kretprobe:
		file = tracefs.KprobeEvents
		loc = a.Func
		if a.Target != "" {
			loc = a.Target + ":" + loc
		}
		if a.HasOffset {
			loc += "+" + strconv.FormatUint(a.Offset, 10)
		}
	default:
		file = tracefs.UprobeEvents
		ref, err := r.usdtRefCtrSuffix(a)
		if err != nil {
			return nil, err
		}
		loc = fmt.Sprintf("%s:%#x%s", path, off, ref)
	}
	ev := eventName(a)
	if err := r.fs.AddDynamicEvent(file, fmt.Sprintf("%s:%s/%s %s", kind, r.group, ev, loc)); err != nil {
		return nil, err
	}
	r.dyn = append(r.dyn, dynEvent{file, r.group, ev})
	id, err := r.fs.EventID(r.group, ev)
	if err != nil {
		return nil, err
	}
	if r.opts.PID > 0 && (a.Type == script.Uprobe || a.Type == script.Uretprobe || a.Type == script.USDT) {
		fd, err := openTaskEvent(id, r.opts.PID)
		if err != nil {
			return nil, err
		}
		return []int{fd}, nil
	}
	fd, err := bpf.OpenTraceEvent(uint64(id))
	if err != nil {
		return nil, err
	}
	return []int{fd}, nil
}

// openPMUProbe opens a through the kprobe or uprobe PMU, disabled. It
// reports false when the PMU is missing or refuses: the caller falls back
// to tracefs, whose error, if any, names the probe the way the kernel's
// error_log does. A kprobe on a module (kprobe:MOD:FUNC) is left to
// tracefs, the only interface that takes the module prefix.
func (r *Run) openPMUProbe(a *script.AttachPoint, path string, off uint64) (int, bool) {
	var attr *perf.Attr
	var err error
	pid, cpu := -1, 0
	switch a.Type {
	case script.Kprobe, script.Kretprobe:
		if a.Target != "" {
			return -1, false
		}
		attr, err = perf.Kprobe(a.Func, a.Offset, a.Type == script.Kretprobe, 0)
	case script.Uprobe, script.Uretprobe, script.USDT:
		attr, err = perf.Uprobe(path, off, a.Type == script.Uretprobe, 0)
		if err == nil {
			err = usdtRefCtr(attr, a)
		}
		if r.opts.PID > 0 {
			pid, cpu = r.opts.PID, -1
		}
	default:
		return -1, false
	}
	if err != nil {
		return -1, false
	}
	fd, err := openProbeAttr(attr, pid, cpu)
	return fd, err == nil
}

// openProbeAttr opens a PMU probe for attaching a program and returns its
// fd. For every process it is opened on CPU 0, as a tracepoint is: the
// program hangs off the probe's trace event and runs on every CPU.
func openProbeAttr(attr *perf.Attr, pid, cpu int) (int, error) {
	raw := attr.PerfEventAttr
	raw.Bits |= unix.PerfBitDisabled
	target := append([]byte(attr.ProbeTarget), 0)
	raw.Ext1 = uint64(uintptr(unsafe.Pointer(&target[0])))
	fd, err := unix.PerfEventOpen(&raw, pid, cpu, -1, unix.PERF_FLAG_FD_CLOEXEC)
	runtime.KeepAlive(target)
	if err != nil {
		return -1, fmt.Errorf("perf_event_open %v: %w", attr, err)
	}
	return fd, nil
}

// uprobeTarget resolves BINARY:SYMBOL or BINARY:0xOFFSET to a file and a
// file offset. A relative binary name is looked up as a library, or, with
// -p, in the process's own mappings.
func (r *Run) uprobeTarget(a *script.AttachPoint) (string, uint64, error) {
	if t, ok := r.uprobeTargets[a]; ok {
		return t.path, t.off, t.err
	}
	path, off, err := r.resolveUprobe(a)
	if r.uprobeTargets == nil {
		r.uprobeTargets = map[*script.AttachPoint]uprobeTarget{}
	}
	r.uprobeTargets[a] = uprobeTarget{path, off, err}
	return path, off, err
}

// uprobeTarget is an attach point's file and offset, or why it has none.
type uprobeTarget struct {
	path string
	off  uint64
	err  error
}

func (r *Run) resolveUprobe(a *script.AttachPoint) (string, uint64, error) {
	if a.Type == script.USDT {
		return usdtTarget(a)
	}
	target := a.Target
	if r.opts.PID > 0 && !strings.Contains(target, "/") {
		if p, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", r.opts.PID)); err == nil && baseName(p) == target {
			target = p
		}
	}
	if a.HasOffset {
		path, err := tracefs.ResolveBinary(target)
		return path, a.Offset, err
	}
	return tracefs.ResolveSymbol(target, a.Func)
}

// uprobeArch is Options.UprobeArch: the calling convention of a's file,
// from its ELF header, on this kernel. A target that does not resolve
// keeps the kernel's table: attaching it fails with the resolver's own
// error.
func (r *Run) uprobeArch(a *script.AttachPoint, kernel *asm.Arch) (*asm.Arch, error) {
	path, _, err := r.uprobeTarget(a)
	if err != nil {
		return kernel, nil
	}
	return tracefs.UprobeCode(kernel, path)
}

func baseName(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[i+1:]
	}
	return p
}

// openTaskEvent opens trace event id for one process, on any CPU.
func openTaskEvent(id uint32, pid int) (int, error) {
	attr := unix.PerfEventAttr{
		Type:        unix.PERF_TYPE_TRACEPOINT,
		Size:        uint32(unsafe.Sizeof(unix.PerfEventAttr{})),
		Config:      uint64(id),
		Sample_type: unix.PERF_SAMPLE_RAW,
		Sample:      1,
		Wakeup:      1,
		Bits:        unix.PerfBitDisabled,
	}
	fd, err := unix.PerfEventOpen(&attr, pid, -1, -1, unix.PERF_FLAG_FD_CLOEXEC)
	if err != nil {
		return -1, fmt.Errorf("perf_event_open of trace event %d for process %d: %w", id, pid, err)
	}
	return fd, nil
}

// openClock opens the cpu-clock software events of interval (one CPU:
// the program runs once per period, as bpftrace's) and profile (every
// online CPU, by frequency for hz, else by period).
func openClock(a *script.AttachPoint) ([]int, error) {
	cpus, err := perf.OnlineCPUs()
	if err != nil {
		return nil, err
	}
	if len(cpus) == 0 {
		return nil, fmt.Errorf("no online CPU")
	}
	attr := unix.PerfEventAttr{
		Type:   unix.PERF_TYPE_SOFTWARE,
		Config: unix.PERF_COUNT_SW_CPU_CLOCK,
		Size:   uint32(unsafe.Sizeof(unix.PerfEventAttr{})),
		Bits:   unix.PerfBitDisabled,
	}
	ns := map[string]uint64{"s": 1e9, "ms": 1e6, "us": 1e3}
	switch {
	case a.Type == script.Profile && a.Unit == "hz":
		attr.Bits |= unix.PerfBitFreq
		attr.Sample = a.Rate
	case ns[a.Unit] != 0:
		attr.Sample = a.Rate * ns[a.Unit]
	default:
		return nil, fmt.Errorf("unit %q: want s, ms or us (or hz for profile)", a.Unit)
	}
	if a.Rate == 0 {
		return nil, fmt.Errorf("a rate of 0")
	}
	if a.Type == script.Interval {
		cpus = cpus[:1]
	}
	return openOnCPUs(&attr, cpus, "cpu-clock")
}

// openOnCPUs opens attr for every process on each of cpus, closing what
// it opened when one fails.
func openOnCPUs(attr *unix.PerfEventAttr, cpus []int, what string) ([]int, error) {
	var fds []int
	for _, cpu := range cpus {
		fd, err := unix.PerfEventOpen(attr, -1, cpu, -1, unix.PERF_FLAG_FD_CLOEXEC)
		if err != nil {
			for _, f := range fds {
				unix.Close(f)
			}
			return nil, fmt.Errorf("perf_event_open %s on cpu %d: %w", what, cpu, err)
		}
		fds = append(fds, fd)
	}
	return fds, nil
}

// openPerfEvent opens the event of a software: or hardware: probe on every
// online CPU, for every process, sampled every a.Rate events.
func openPerfEvent(a *script.AttachPoint) ([]int, error) {
	typ, config, ok := script.PerfEventOf(a)
	if !ok {
		return nil, fmt.Errorf("unknown %s event %q", a.Type, a.Func)
	}
	cpus, err := perf.OnlineCPUs()
	if err != nil {
		return nil, err
	}
	attr := unix.PerfEventAttr{
		Type:   typ,
		Config: config,
		Size:   uint32(unsafe.Sizeof(unix.PerfEventAttr{})),
		Bits:   unix.PerfBitDisabled,
		Sample: a.Rate,
	}
	return openOnCPUs(&attr, cpus, a.Describe())
}

// A hook runs a BEGIN or END program when the run calls fire. The
// kernel runs the program synchronously, so its records are in the ring
// when fire returns. Where BPF_PROG_TEST_RUN runs raw tracepoint programs
// (run_testrun.go) the hook is that call; elsewhere it is a uprobe on a
// function of this binary, bound to this process, which fire calls.
type hook struct {
	run  func() error
	link *bpf.PerfLink
	fs   *tracefs.FS
	dyn  *dynEvent
}

// The hooks are nosplit: a Go function's prologue may find the stack too
// small, grow it, and run the function again from its first instruction,
// where the uprobe sits, so a hook with a stack check could run BEGIN
// twice (the 386 compat run of TestHooks once printed "begin" twice).
//
//go:noinline
//go:nosplit
func beginHook() int { return int(hookSink.Add(1)) }

//go:noinline
//go:nosplit
func endHook() int { return int(hookSink.Add(2)) }

// hookSink gives the hooks a body each, so that they stay two functions.
var hookSink atomic.Int64

func (h *hook) fire() error {
	if h.run == nil {
		return errNoHook
	}
	return h.run()
}

func (h *hook) close() error {
	h.run = nil
	var err error
	if h.link != nil {
		err = h.link.Close()
		h.link = nil
	}
	if h.dyn != nil {
		if rerr := h.fs.RemoveDynamicEvent(h.dyn.file, h.dyn.group, h.dyn.event); err == nil {
			err = rerr
		}
		h.dyn = nil
	}
	return err
}

// attachHook makes the hook of BEGIN or END: a test run for a raw
// tracepoint program, else a uprobe on its hook function, through
// the uprobe PMU, whose probe vanishes with its fd, or else a tracefs
// uprobe in the owner group.
func (r *Run) attachHook(t script.ProbeType, prog *bpf.Program) (*hook, error) {
	if prog.Type() == bpf.RawTracepoint {
		return testRunHook(prog), nil
	}
	fn := beginHook
	if t == script.End {
		fn = endHook
	}
	h := &hook{run: func() error { fn(); return nil }, fs: r.fs}
	path, off, err := selfOffset(reflect.ValueOf(fn).Pointer())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", t, err)
	}
	fd := -1
	if attr, perr := perf.Uprobe(path, off, false, 0); perr == nil {
		if pfd, oerr := openProbeAttr(attr, os.Getpid(), -1); oerr == nil {
			fd = pfd
		}
	}
	if fd < 0 {
		if r.fs == nil {
			return nil, fmt.Errorf("%s needs the uprobe PMU or tracefs", t)
		}
		if r.group == "" {
			r.group = tracefs.OwnerGroup(os.Getpid())
			r.fs.Sweep()
		}
		ev := eventName(&script.AttachPoint{Func: t.String()})
		if err := r.fs.AddDynamicEvent(tracefs.UprobeEvents, fmt.Sprintf("p:%s/%s %s:%#x", r.group, ev, path, off)); err != nil {
			return nil, fmt.Errorf("%s: %w", t, err)
		}
		h.dyn = &dynEvent{tracefs.UprobeEvents, r.group, ev}
		id, err := r.fs.EventID(r.group, ev)
		if err == nil {
			fd, err = openTaskEvent(id, os.Getpid())
		}
		if err != nil {
			h.close()
			return nil, fmt.Errorf("%s: %w", t, err)
		}
	}
	h.link, err = bpf.AttachPerfEvent(prog, fd, bpf.AttachOptions{})
	if err != nil {
		h.close()
		return nil, fmt.Errorf("%s: %w", t, err)
	}
	return h, nil
}

// selfOffset finds the file and file offset of code address pc of this
// process, from /proc/self/maps. The file is named through /proc/PID/exe
// style links only when it was deleted (a rebuilt binary).
func selfOffset(pc uintptr) (string, uint64, error) {
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// start-end perms offset dev inode path
		fields := strings.Fields(sc.Text())
		if len(fields) < 6 {
			continue
		}
		lo, hi, ok := strings.Cut(fields[0], "-")
		if !ok {
			continue
		}
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		off, err3 := strconv.ParseUint(fields[2], 16, 64)
		if err1 != nil || err2 != nil || err3 != nil || uint64(pc) < start || uint64(pc) >= end {
			continue
		}
		path := strings.Join(fields[5:], " ")
		if strings.HasSuffix(path, " (deleted)") || !strings.HasPrefix(path, "/") {
			path = fmt.Sprintf("/proc/%d/exe", os.Getpid())
		}
		return path, uint64(pc) - start + off, nil
	}
	return "", 0, fmt.Errorf("address %#x is in no file mapping of this process", pc)
}
