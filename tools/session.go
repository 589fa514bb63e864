package tools

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tracelet/tracelet/asm"
	"github.com/tracelet/tracelet/bpf"
	"github.com/tracelet/tracelet/metrics"
	"github.com/tracelet/tracelet/tracefs"
)

// Backend chooses how a tool gets its events.
type Backend int

// Backends. BackendAuto is BPF where the kernel loads tracepoint programs,
// and tracefs otherwise (for the tools that have a tracefs form).
const (
	BackendAuto Backend = iota
	BackendBPF
	BackendTracefs
)

func (b Backend) String() string {
	switch b {
	case BackendBPF:
		return "bpf"
	case BackendTracefs:
		return "tracefs"
	}
	return "auto"
}

// ParseBackend reads --backend.
func ParseBackend(s string) (Backend, error) {
	switch s {
	case "", "auto":
		return BackendAuto, nil
	case "bpf":
		return BackendBPF, nil
	case "tracefs":
		return BackendTracefs, nil
	}
	return 0, fmt.Errorf("backend %q: want auto, bpf or tracefs", s)
}

// Common are the options every tool takes.
type Common struct {
	Backend Backend
	// Ready is called once, when everything is attached and before the
	// first event can be lost: tests start their workload there.
	Ready func()
	// PerfOutput sends events through a perf event array even where the
	// kernel has a BPF ring buffer (the path older kernels take).
	PerfOutput bool
	// Metrics is the counting tools' --metrics: it is called once
	// everything is attached, with collect, which reads the tool's running
	// totals (counters that only grow) as Prometheus families, from any
	// goroutine, until the tool returns. The tool calls the returned stop
	// before its maps go away, so that a last write sees the final counts.
	Metrics func(collect func() ([]metrics.Family, error)) (stop func() error, err error)
}

// serveMetrics starts c.Metrics, when set, on collect.
func (c *Common) serveMetrics(collect func() ([]metrics.Family, error)) (stop func() error, err error) {
	if c.Metrics == nil {
		return func() error { return nil }, nil
	}
	return c.Metrics(collect)
}

// reportThenStop is a counting tool's end: its reports until ctx ends,
// then the metrics' last write.
func reportThenStop(ctx context.Context, interval time.Duration, report func() error, stop func() error) error {
	err := reportEvery(ctx, interval, report)
	if serr := stop(); err == nil {
		err = serr
	}
	return err
}

func (c *Common) ready() {
	if c.Ready != nil {
		c.Ready()
	}
}

// resolve picks the backend; hasTracefs says whether the tool has a
// tracefs form. The choice probes the kernel: never a version check.
func (c *Common) resolve(tool string, hasTracefs bool) (Backend, error) {
	return c.resolveWith(tool, hasTracefs, func() error { return bpf.HaveProgramType(bpf.TracePoint) })
}

// resolveWith is resolve with the probe for BPF given: tests stand in a
// kernel without bpf(2) (ENOSYS, or EPERM under a seccomp filter).
func (c *Common) resolveWith(tool string, hasTracefs bool, haveBPF func() error) (Backend, error) {
	switch c.Backend {
	case BackendBPF:
		return BackendBPF, nil
	case BackendTracefs:
		if !hasTracefs {
			return 0, fmt.Errorf("%s: no tracefs backend (it needs BPF to correlate events in the kernel)", tool)
		}
		return BackendTracefs, nil
	}
	if err := haveBPF(); err != nil {
		if hasTracefs {
			return BackendTracefs, nil
		}
		return 0, fmt.Errorf("%s needs BPF: %w", tool, err)
	}
	return BackendBPF, nil
}

// session owns everything a tool run creates and releases it in reverse
// order: BPF links and perf fds first, then the probes they held (the kernel
// refuses to remove a probe that is open, EBUSY), then programs and maps.
type session struct {
	fs      *tracefs.FS
	group   string
	closers []func() error
	// detach closes the BPF links and perf fds that hold programs on
	// events; Close runs them all at once before the closers (see Close).
	detach []func() error
	groups map[string]bool // control files holding our group
	nprobe int

	userHelpers int    // 0 unknown, 1 bpf_probe_read_user*, 2 bpf_probe_read*
	ringBytes   uint32 // BPF ring buffer size; 0 is 1 MiB
}

func newSession() (*session, error) {
	fs, err := tracefs.Find()
	if err != nil {
		return nil, err
	}
	// A group left by a tracelet that was SIGKILLed is swept first, so that
	// a recycled pid never finds its group taken.
	_, _ = fs.Sweep()
	return &session{fs: fs, group: tracefs.OwnerGroup(os.Getpid()), groups: map[string]bool{}}, nil
}

func (s *session) onClose(fn func() error) { s.closers = append(s.closers, fn) }

// onDetach registers what takes a program or a perf event off a
// tracepoint or probe: Close runs all of these at once, first.
func (s *session) onDetach(fn func() error) { s.detach = append(s.detach, fn) }

// Close detaches every program at once, then releases the rest in reverse
// order. Detaching a program from a tracepoint waits for an RCU grace
// period in the kernel (tracepoint_synchronize_unregister), tens of
// milliseconds on a small VM; one after the other, execsnoop's handful of
// tracepoints took a third of a second to exit after Ctrl-C. Grace periods
// that are waited for together end together.
func (s *session) Close() error {
	errs := make([]error, len(s.detach), len(s.detach)+len(s.closers))
	var wg sync.WaitGroup
	for i, fn := range s.detach {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = fn()
		}()
	}
	wg.Wait()
	s.detach = nil
	for i := len(s.closers) - 1; i >= 0; i-- {
		errs = append(errs, s.closers[i]())
	}
	s.closers = nil
	return errors.Join(errs...)
}

// addProbe defines a kprobe, uprobe or eprobe named NAME in our group
// (def is "p:GROUP/NAME ..." built from validated parts) and makes sure the
// group is removed on Close.
func (s *session) addProbe(file, def string) error {
	if !s.groups[file] {
		s.groups[file] = true
		s.onClose(func() error {
			err := s.fs.RemoveGroup(file, s.group)
			if errors.Is(err, tracefs.ErrNotFound) {
				return nil
			}
			return err
		})
	}
	return s.fs.AddDynamicEvent(file, def)
}

// probeName is a fresh event name in our group.
func (s *session) probeName(prefix string) string {
	s.nprobe++
	return fmt.Sprintf("%s%d", prefix, s.nprobe)
}

// attach loads nothing: it opens system/event and attaches prog to it.
func (s *session) attach(prog *bpf.Program, system, event string) error {
	id, err := s.fs.EventID(system, event)
	if err != nil {
		return err
	}
	// The tools' programs return 1 (epilogue), which leaves every other
	// perf user of a tracepoint its hits; this event only counts them.
	fd, err := bpf.OpenTraceEventCounting(uint64(id))
	if err != nil {
		return fmt.Errorf("open %s:%s: %w", system, event, err)
	}
	link, err := bpf.AttachPerfEvent(prog, fd, bpf.AttachOptions{})
	if err != nil {
		unix.Close(fd)
		return fmt.Errorf("attach %s to %s:%s: %w", prog.Name(), system, event, err)
	}
	s.onDetach(link.Close)
	return nil
}

// hasEvent reports whether system/event exists (sys_enter_open is absent
// on arm64, execveat on old kernels).
func (s *session) hasEvent(system, event string) bool {
	_, err := s.fs.EventID(system, event)
	return err == nil
}

// format reads an event's format file, the source of every tracepoint
// offset the programs use.
func (s *session) format(system, event string) (*tracefs.Format, error) {
	return s.fs.Format(system, event)
}

func (s *session) newMap(spec bpf.MapSpec) (*bpf.Map, error) {
	m, err := bpf.NewMap(spec)
	if err != nil {
		return nil, err
	}
	s.onClose(m.Close)
	return m, nil
}

func (s *session) newProgram(spec bpf.ProgramSpec) (*bpf.Program, error) {
	if spec.License == "" {
		spec.License = "GPL"
	}
	p, err := bpf.NewProgram(spec)
	if err != nil {
		return nil, err
	}
	s.onClose(p.Close)
	return p, nil
}

// clock turns CLOCK_MONOTONIC nanoseconds (bpf_ktime_get_ns, perf sample
// times) into wall-clock time.
type clock struct {
	wall time.Time
	mono int64
}

var clockOnce = sync.OnceValue(func() clock {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return clock{wall: time.Now(), mono: ts.Nano()}
})

func monoToWall(ns uint64) time.Time {
	c := clockOnce()
	return c.wall.Add(time.Duration(int64(ns) - c.mono))
}

func monoNow() uint64 {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return uint64(ts.Nano())
}

func bpfHaveHelper(fn asm.BuiltinFunc) error { return bpf.HaveHelper(bpf.TracePoint, fn) }

// attachSyscall loads exit as the program of SC's exit (x) and attaches it,
// then enter to sys_enter_SC: exit first, so that no entry recorded by
// enter waits for an exit program that is not there yet.
func (s *session) attachSyscall(sc string, x sysExit, enter *bpf.Program, exit asm.Instructions, maps map[string]*bpf.Map) error {
	prog, err := s.newProgram(bpf.ProgramSpec{Name: "exit_" + sc, Type: bpf.TracePoint, Instructions: exit, Maps: maps})
	if err != nil {
		return err
	}
	if err := s.attach(prog, x.system, x.event); err != nil {
		return err
	}
	return s.attach(enter, "syscalls", "sys_enter_"+sc)
}
