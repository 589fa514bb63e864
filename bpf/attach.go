package bpf

import (
	"errors"
	"fmt"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// AttachMode says how a program was attached to a perf event.
type AttachMode int

// Attach modes.
const (
	// AttachAuto prefers a BPF link where the kernel has one (5.15+) and
	// falls back to the ioctl.
	AttachAuto AttachMode = iota
	// AttachIoctl uses PERF_EVENT_IOC_SET_BPF (4.1+). The program stays
	// attached as long as the perf event is open.
	AttachIoctl
	// AttachLink uses BPF_LINK_CREATE with BPF_PERF_EVENT (5.15+), which
	// carries a bpf cookie that the program reads with
	// bpf_get_attach_cookie.
	AttachLink
)

func (m AttachMode) String() string {
	switch m {
	case AttachIoctl:
		return "ioctl"
	case AttachLink:
		return "link"
	}
	return "auto"
}

// AttachOptions tune AttachPerfEvent.
type AttachOptions struct {
	Mode   AttachMode
	Cookie uint64 // needs a link; AttachAuto then requires 5.15
}

// PerfLink is a program attached to a perf event. It owns the perf event fd.
type PerfLink struct {
	mode   AttachMode
	perfFD int
	linkFD int
	close  sync.Once
}

// AttachPerfEvent attaches prog to the perf event perfFD: a tracefs kprobe,
// uprobe or tracepoint opened with PERF_TYPE_TRACEPOINT and the event's id,
// a PMU kprobe or uprobe, or a sampling event for perf_event programs. The
// PerfLink takes ownership of perfFD: Close detaches and closes both.
//
// For tracepoints and tracefs probes one perf event (any CPU, all
// processes) is enough: the program hangs off the trace event itself and
// runs on every CPU.
func AttachPerfEvent(prog *Program, perfFD int, opts AttachOptions) (*PerfLink, error) {
	mode := opts.Mode
	if mode == AttachAuto {
		mode = AttachIoctl
		if HavePerfEventLink() == nil {
			mode = AttachLink
		} else if opts.Cookie != 0 {
			return nil, &Error{Op: "attach", Object: "program " + prog.name, Err: notSupported("bpf cookie on perf events", "5.15")}
		}
	}
	l := &PerfLink{mode: mode, perfFD: perfFD, linkFD: -1}
	switch mode {
	case AttachLink:
		attr := linkCreateAttr{progFD: uint32(prog.fd), targetFD: uint32(perfFD), attachType: unix.BPF_PERF_EVENT, bpfCookie: opts.Cookie}
		fd, err := sys(cmdLinkCreate, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
		if err != nil {
			if errnoOf(err) == unix.EINVAL && HavePerfEventLink() != nil {
				err = HavePerfEventLink()
			}
			return nil, &Error{Op: "attach (link)", Object: "program " + prog.name, Err: err}
		}
		l.linkFD = fd
	case AttachIoctl:
		if opts.Cookie != 0 {
			return nil, &Error{Op: "attach", Object: "program " + prog.name, Err: errors.New("a bpf cookie needs AttachLink")}
		}
		if err := unix.IoctlSetInt(perfFD, unix.PERF_EVENT_IOC_SET_BPF, prog.fd); err != nil {
			if err == unix.EEXIST {
				err = fmt.Errorf("%w (kernels before 4.15 allow one program per event)", err)
			}
			return nil, &Error{Op: "attach (ioctl)", Object: "program " + prog.name, Err: err}
		}
	default:
		return nil, fmt.Errorf("attach: unknown mode %d", mode)
	}
	// A perf event opened disabled must be enabled for the program to run.
	if err := unix.IoctlSetInt(perfFD, unix.PERF_EVENT_IOC_ENABLE, 0); err != nil {
		l.Close()
		return nil, &Error{Op: "enable perf event for", Object: "program " + prog.name, Err: err}
	}
	return l, nil
}

// Mode is how the program was attached.
func (l *PerfLink) Mode() AttachMode { return l.mode }

// Close detaches the program and closes the perf event.
func (l *PerfLink) Close() error {
	var err error
	l.close.Do(func() {
		unix.IoctlSetInt(l.perfFD, unix.PERF_EVENT_IOC_DISABLE, 0)
		if l.linkFD >= 0 {
			err = unix.Close(l.linkFD)
		}
		if cerr := unix.Close(l.perfFD); err == nil {
			err = cerr
		}
	})
	return err
}

// OpenTraceEvent opens the tracefs event with the given id (the events/
// .../id or a probe's id file) as a perf event for attaching a program:
// PERF_TYPE_TRACEPOINT, all processes, CPU 0, disabled, close-on-exec, with
// PERF_SAMPLE_RAW so that a caller who maps its ring also gets the records.
func OpenTraceEvent(id uint64) (int, error) { return openTraceEvent(id, true) }

// OpenTraceEventCounting opens the tracefs event with the given id as a
// counting perf event (sample_period 0) for attaching a program that
// returns non-zero. A tracepoint program's return value decides whether
// the kernel goes on to hand the hit to the tracepoint's perf events
// (perf_trace_run_bpf_submit, perf_syscall_enter): 0 drops it for every
// perf user of that tracepoint on that CPU, perf stat and other tracers
// included. A program that returns 1 leaves them their hits, and an event
// of this kind, which only counts, costs that hit an increment.
func OpenTraceEventCounting(id uint64) (int, error) { return openTraceEvent(id, false) }

// openTraceEvent opens trace event id on CPU 0 for all processes,
// disabled: sampling each hit's raw record, or only counting.
func openTraceEvent(id uint64, sample bool) (int, error) {
	attr := unix.PerfEventAttr{
		Type:   unix.PERF_TYPE_TRACEPOINT,
		Size:   uint32(unsafe.Sizeof(unix.PerfEventAttr{})),
		Config: id,
		Bits:   unix.PerfBitDisabled,
	}
	if sample {
		attr.Sample_type, attr.Sample, attr.Wakeup = unix.PERF_SAMPLE_RAW, 1, 1
	}
	fd, err := unix.PerfEventOpen(&attr, -1, 0, -1, unix.PERF_FLAG_FD_CLOEXEC)
	if err != nil {
		return -1, &Error{Op: "perf_event_open", Object: fmt.Sprintf("trace event %d", id), Err: err}
	}
	return fd, nil
}

// RawTracepointLink is a raw tracepoint program attached by name.
type RawTracepointLink struct {
	fd    int
	close sync.Once
}

// AttachRawTracepoint attaches a RawTracepoint program to the kernel
// tracepoint name ("sys_enter", "sched_switch"), 4.17+.
func AttachRawTracepoint(prog *Program, name string) (*RawTracepointLink, error) {
	cname := append([]byte(name), 0)
	attr := rawTracepointAttr{name: bytesPtr(cname), progFD: uint32(prog.fd)}
	fd, err := sys(cmdRawTracepointOpen, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
	keep(cname)
	if err != nil {
		return nil, &Error{Op: "attach raw tracepoint", Object: name, Err: err}
	}
	return &RawTracepointLink{fd: fd}, nil
}

// Close detaches the program.
func (l *RawTracepointLink) Close() error {
	var err error
	l.close.Do(func() { err = unix.Close(l.fd) })
	return err
}
