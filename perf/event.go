package perf

import (
	"encoding/binary"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Event is one open perf event: one fd, for one CPU (or every CPU) and one
// task (or every task).
type Event struct {
	mu   sync.Mutex
	fd   int // -1 once closed
	cpu  int
	pid  int
	attr Attr
}

// Open calls perf_event_open(attr, pid, cpu, group, flags). pid -1 with a
// CPU watches every task on that CPU; pid > 0 with cpu -1 follows one task
// wherever it runs. A non-nil group makes this event a member of group's
// group, which must be on the same CPU. PERF_FLAG_FD_CLOEXEC is always added,
// so that commands we start do not inherit our events.
func Open(attr *Attr, pid, cpu int, group *Event, flags int) (*Event, error) {
	groupFD := -1
	if group != nil {
		group.mu.Lock()
		groupFD = group.fd
		group.mu.Unlock()
		if groupFD < 0 {
			return nil, fmt.Errorf("perf: open %v: group leader: %w", attr, ErrClosed)
		}
	}
	raw := attr.PerfEventAttr
	var target []byte
	if attr.ProbeTarget != "" {
		target = append([]byte(attr.ProbeTarget), 0)
		raw.Ext1 = uint64(uintptr(unsafe.Pointer(&target[0])))
	}
	fd, err := unix.PerfEventOpen(&raw, pid, cpu, groupFD, flags|unix.PERF_FLAG_FD_CLOEXEC)
	runtime.KeepAlive(target)
	if err != nil {
		return nil, &EventError{
			Op:    "perf_event_open",
			Event: fmt.Sprintf("%v (pid %d, cpu %d)", attr, pid, cpu),
			Err:   err,
			Hint:  openHint(err, attr, pid),
		}
	}
	e := &Event{fd: fd, cpu: cpu, pid: pid, attr: *attr}
	return e, nil
}

// openHint says what the kernel would have accepted, for the errnos whose
// cause we can name.
func openHint(err error, attr *Attr, pid int) string {
	switch err {
	case unix.EACCES, unix.EPERM:
		return "needs CAP_PERFMON or CAP_SYS_ADMIN, or a lower /proc/sys/kernel/perf_event_paranoid; the uprobe PMU needs CAP_SYS_ADMIN"
	case unix.ENOENT:
		if attr.Type == unix.PERF_TYPE_TRACEPOINT {
			return "no tracefs event has this id"
		}
		if attr.ProbeTarget != "" {
			return "the probe target does not exist"
		}
	case unix.ESRCH:
		return fmt.Sprintf("no task %d", pid)
	case unix.ENODEV:
		return "the CPU is offline or does not exist"
	case unix.EINVAL:
		if attr.Inherit() && pid == -1 {
			return "inherit needs a task target"
		}
	case unix.EMFILE:
		return "too many open files: one fd per event per CPU (raise RLIMIT_NOFILE)"
	}
	return ""
}

// FD returns the event's file descriptor, e.g. for BPF_PROG_ATTACH or a
// BPF_MAP_TYPE_PERF_EVENT_ARRAY slot; -1 once closed.
func (e *Event) FD() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.fd
}

// CPU returns the CPU the event was opened on (-1: every CPU).
func (e *Event) CPU() int { return e.cpu }

// PID returns the task (or cgroup fd, with PERF_FLAG_PID_CGROUP) the event
// was opened for (-1: every task).
func (e *Event) PID() int { return e.pid }

// Attr returns a copy of the attributes the event was opened with.
func (e *Event) Attr() Attr { return e.attr }

// ioctl passes an integer argument.
func (e *Event) ioctl(name string, req uint, arg uintptr) error {
	return e.withFD(name, func(fd int) unix.Errno {
		_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), uintptr(req), arg)
		return errno
	})
}

// ioctlPtr passes a pointer; it stays an unsafe.Pointer until the Syscall
// expression itself, where the compiler keeps its target alive and in place.
func (e *Event) ioctlPtr(name string, req uint, arg unsafe.Pointer) error {
	return e.withFD(name, func(fd int) unix.Errno {
		_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), uintptr(req), uintptr(arg))
		return errno
	})
}

func (e *Event) withFD(name string, f func(fd int) unix.Errno) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.fd < 0 {
		return &EventError{Op: name, Event: e.attr.String(), Err: ErrClosed}
	}
	if errno := f(e.fd); errno != 0 {
		return &EventError{Op: name, Event: fmt.Sprintf("%v (cpu %d)", &e.attr, e.cpu), Err: errno}
	}
	return nil
}

// Enable starts the event (PERF_EVENT_IOC_ENABLE).
func (e *Event) Enable() error {
	return e.ioctl("PERF_EVENT_IOC_ENABLE", unix.PERF_EVENT_IOC_ENABLE, 0)
}

// Disable stops the event (PERF_EVENT_IOC_DISABLE).
func (e *Event) Disable() error {
	return e.ioctl("PERF_EVENT_IOC_DISABLE", unix.PERF_EVENT_IOC_DISABLE, 0)
}

// EnableGroup starts the leader and every member of its group in one
// operation (PERF_IOC_FLAG_GROUP), so that all of a group's probes start at
// the same moment on the leader's CPU.
func (e *Event) EnableGroup() error {
	return e.ioctl("PERF_EVENT_IOC_ENABLE", unix.PERF_EVENT_IOC_ENABLE, unix.PERF_IOC_FLAG_GROUP)
}

// DisableGroup stops the whole group in one operation.
func (e *Event) DisableGroup() error {
	return e.ioctl("PERF_EVENT_IOC_DISABLE", unix.PERF_EVENT_IOC_DISABLE, unix.PERF_IOC_FLAG_GROUP)
}

// maxFilterLen is the kernel's bound: perf_event_set_filter copies the string
// with strndup_user(arg, PAGE_SIZE), so a longer one fails with E2BIG or
// EINVAL; a page is at least 4 KiB everywhere.
const maxFilterLen = 4095

// SetFilter installs a tracepoint filter in the ftrace filter language
// ("fd == 3 && common_pid != 1") with PERF_EVENT_IOC_SET_FILTER. The kernel
// checks it against the event's format and refuses unknown fields and bad
// syntax with EINVAL; unlike the tracefs filter file, this ioctl has no
// error_log, so the error names the expression and the event.
func (e *Event) SetFilter(expr string) error {
	if i := strings.IndexAny(expr, "\x00\n"); i >= 0 {
		return fmt.Errorf("perf: filter %q, col %d: NUL and newline are not allowed in a filter", expr, i+1)
	}
	if len(expr) > maxFilterLen {
		return fmt.Errorf("perf: filter of %d bytes is longer than the kernel's limit of %d", len(expr), maxFilterLen)
	}
	b := append([]byte(expr), 0)
	err := e.ioctlPtr("PERF_EVENT_IOC_SET_FILTER", unix.PERF_EVENT_IOC_SET_FILTER, unsafe.Pointer(&b[0]))
	if err != nil {
		ee := err.(*EventError)
		ee.Op = fmt.Sprintf("PERF_EVENT_IOC_SET_FILTER %q", expr)
		if ee.Err == unix.EINVAL {
			ee.Hint = "the kernel rejects the expression: check field names against the event's format file and the ftrace filter syntax"
		}
		return ee
	}
	return nil
}

// SetBPF attaches a BPF program to the event (PERF_EVENT_IOC_SET_BPF: 4.1
// for kprobes, 4.3 uprobes, 4.7 tracepoints).
func (e *Event) SetBPF(progFD int) error {
	return e.ioctl("PERF_EVENT_IOC_SET_BPF", unix.PERF_EVENT_IOC_SET_BPF, uintptr(progFD))
}

// SetOutput makes the event write its records into target's ring instead of
// its own (PERF_EVENT_IOC_SET_OUTPUT). The kernel requires the same CPU, the
// same clock and the same write direction.
func (e *Event) SetOutput(target *Event) error {
	tfd := target.FD()
	if tfd < 0 {
		return &EventError{Op: "PERF_EVENT_IOC_SET_OUTPUT", Event: e.attr.String(), Err: ErrClosed}
	}
	return e.ioctl("PERF_EVENT_IOC_SET_OUTPUT", unix.PERF_EVENT_IOC_SET_OUTPUT, uintptr(tfd))
}

// PauseOutput pauses (true) or resumes (false) writing into the event's ring
// (PERF_EVENT_IOC_PAUSE_OUTPUT, 4.7). While paused, the kernel counts what it
// would have written as lost.
func (e *Event) PauseOutput(pause bool) error {
	v := uintptr(0)
	if pause {
		v = 1
	}
	return e.ioctl("PERF_EVENT_IOC_PAUSE_OUTPUT", unix.PERF_EVENT_IOC_PAUSE_OUTPUT, v)
}

// ID returns the kernel's unique id of the event (PERF_EVENT_IOC_ID): the
// value of PERF_SAMPLE_IDENTIFIER and PERF_SAMPLE_ID in its samples.
func (e *Event) ID() (uint64, error) {
	var id uint64
	err := e.ioctlPtr("PERF_EVENT_IOC_ID", unix.PERF_EVENT_IOC_ID, unsafe.Pointer(&id))
	return id, err
}

// Count is what read(2) on an event returns for a read_format of
// PERF_FORMAT_ID|PERF_FORMAT_LOST (without PERF_FORMAT_GROUP).
type Count struct {
	Value uint64 // times the event fired
	ID    uint64
	Lost  uint64 // samples the kernel could not write to the ring (6.0)
}

// ReadCount reads the event's counter. The Attr must have been opened with
// Read_format PERF_FORMAT_ID|PERF_FORMAT_LOST; the kernel counts lost
// samples itself since 6.0, which is an independent check on the
// PERF_RECORD_LOST records in the ring. The counts include inherited
// children only once they have exited.
func (e *Event) ReadCount() (Count, error) {
	if e.attr.Read_format != unix.PERF_FORMAT_ID|unix.PERF_FORMAT_LOST {
		return Count{}, fmt.Errorf("perf: read %v: read_format is %#x, want PERF_FORMAT_ID|PERF_FORMAT_LOST", &e.attr, e.attr.Read_format)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.fd < 0 {
		return Count{}, ErrClosed
	}
	var b [24]byte
	n, err := unix.Read(e.fd, b[:])
	if err != nil {
		return Count{}, &EventError{Op: "read", Event: e.attr.String(), Err: err}
	}
	if n != len(b) {
		return Count{}, &CorruptError{What: "read_format", Need: len(b), Have: n}
	}
	return Count{
		Value: binary.NativeEndian.Uint64(b[0:]),
		ID:    binary.NativeEndian.Uint64(b[8:]),
		Lost:  binary.NativeEndian.Uint64(b[16:]),
	}, nil
}

// Close closes the event's fd. A tracefs probe cannot be removed while an
// fd holds it open (EBUSY), so close events before removing their probes.
// Closing twice is harmless.
func (e *Event) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.fd < 0 {
		return nil
	}
	err := unix.Close(e.fd)
	e.fd = -1
	return err
}

// CloseAll closes every event and returns the first error.
func CloseAll(events []*Event) error {
	var first error
	for _, e := range events {
		if e == nil {
			continue
		}
		if err := e.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}
