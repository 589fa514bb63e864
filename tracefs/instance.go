package tracefs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Instance is a private trace instance (instances/NAME): its own ring
// buffer and its own enable/filter/trigger files for every event, so that
// tracelet never touches the global buffer other tools read.
type Instance struct {
	fs     *FS
	name   string
	dir    string
	closed bool
}

// NewInstance creates instances/name. The name must be our own owner group
// name, OwnerGroup(os.Getpid()), optionally followed by "_SUFFIX", so that
// Sweep can find it if we die.
func (fs *FS) NewInstance(name string) (*Instance, error) {
	pid, ok := ParseOwnerGroup(name)
	if !ok || pid != os.Getpid() {
		return nil, fmt.Errorf("tracefs: instance name %q: must be %s or %s_SUFFIX (our own pid)", name, OwnerGroup(os.Getpid()), OwnerGroup(os.Getpid()))
	}
	dir := filepath.Join(fs.root, "instances", name)
	if err := os.Mkdir(dir, 0o700); err != nil {
		return nil, fmt.Errorf("tracefs: creating instance: %w", err)
	}
	return &Instance{fs: fs, name: name, dir: dir}, nil
}

// Name is the instance's directory name.
func (in *Instance) Name() string { return in.name }

// Path is the instance's directory.
func (in *Instance) Path() string { return in.dir }

// Close disables every event of the instance and removes it. The kernel
// refuses to remove an instance whose trace_pipe files are open (EBUSY);
// close readers first. Close is idempotent.
func (in *Instance) Close() error {
	if in.closed {
		return nil
	}
	if err := removeInstanceDir(in.fs, in.name); err != nil {
		return err
	}
	in.closed = true
	return nil
}

func removeInstanceDir(fs *FS, name string) error {
	dir := filepath.Join(fs.root, "instances", name)
	// Disabling through events/enable turns off every event of the
	// instance in one write; tracing_on stops its ring first.
	var errs []error
	for _, f := range []string{"tracing_on", "events/enable"} {
		if err := writeOnce(filepath.Join(dir, f), "0"); err != nil && !os.IsNotExist(err) {
			errs = append(errs, fmt.Errorf("tracefs: instance %s: writing 0 to %s: %w", name, f, err))
		}
	}
	if err := rmdirInstance(dir); err != nil && !os.IsNotExist(err) {
		errs = append(errs, fmt.Errorf("tracefs: removing instance %s: %w", name, err))
	}
	return errors.Join(errs...)
}

// rmdirInstance removes an instance directory. The kernel answers EBUSY
// while any file of the instance is open, and that includes a moment in
// which another tracelet's Sweep walks every instance to disable a dead
// group's events. Such a hold lasts microseconds, so EBUSY is retried for
// a bounded time (about half a second) before it is reported: a reader of
// our own left open still fails, just not at once.
func rmdirInstance(dir string) error {
	delay := time.Millisecond
	for i := 0; ; i++ {
		err := os.Remove(dir)
		if !errors.Is(err, unix.EBUSY) || i == 9 {
			return err
		}
		time.Sleep(delay)
		delay = min(2*delay, 100*time.Millisecond)
	}
}

// Enable turns on system/event in this instance.
func (in *Instance) Enable(system, event string) error {
	return setEnable(in.dir, system, event, true)
}

// Disable turns off system/event in this instance.
func (in *Instance) Disable(system, event string) error {
	return setEnable(in.dir, system, event, false)
}

// SetFilter sets system/event's filter in this instance; see FS.SetFilter.
func (in *Instance) SetFilter(system, event, expr string) error {
	return setFilter(in.dir, system, event, expr)
}

// ClearFilter removes system/event's filter in this instance.
func (in *Instance) ClearFilter(system, event string) error {
	return setFilter(in.dir, system, event, "0")
}

// AddTrigger adds a trigger to system/event in this instance.
func (in *Instance) AddTrigger(system, event, trigger string) error {
	return addTrigger(in.dir, system, event, trigger)
}

// RemoveTrigger removes a trigger from system/event in this instance.
func (in *Instance) RemoveTrigger(system, event, trigger string) error {
	return removeTrigger(in.dir, system, event, trigger)
}

// Triggers lists system/event's triggers in this instance.
func (in *Instance) Triggers(system, event string) ([]string, error) {
	return readTriggers(eventFile(in.dir, system, event, "trigger"))
}

// SetBufferSizeKB sets the size of each per-CPU ring of the instance.
func (in *Instance) SetBufferSizeKB(kb int) error {
	if kb <= 0 {
		return fmt.Errorf("tracefs: buffer size %d KiB: must be positive", kb)
	}
	return writeOnce(filepath.Join(in.dir, "buffer_size_kb"), strconv.Itoa(kb))
}

// BufferSizeKB reads the per-CPU ring size of the instance. Before the
// buffer is first used the kernel prints "7 (expanded: 1408)"; the
// expanded size is returned then.
func (in *Instance) BufferSizeKB() (int, error) {
	b, err := readSmall(filepath.Join(in.dir, "buffer_size_kb"), 4096)
	if err != nil {
		return 0, err
	}
	s := strings.TrimSpace(string(b))
	if _, exp, ok := strings.Cut(s, "(expanded: "); ok {
		s = strings.TrimSuffix(exp, ")")
	}
	return strconv.Atoi(s)
}

// PageSize is the size of one ring-buffer page (sub-buffer) of the
// instance: buffer_subbuf_size_kb since Linux 6.8, the system page size
// before.
func (in *Instance) PageSize() int {
	if b, err := readSmall(filepath.Join(in.dir, "buffer_subbuf_size_kb"), 64); err == nil {
		if kb, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && kb > 0 {
			return kb * 1024
		}
	}
	return os.Getpagesize()
}

// ErrNoData is returned by RawReader.Read when the ring holds no page.
var ErrNoData = errors.New("tracefs: ring buffer empty")

// RawReader reads whole ring-buffer pages from one CPU's trace_pipe_raw.
type RawReader struct {
	fd int
}

// OpenRaw opens per_cpu/cpuN/trace_pipe_raw of the instance, non-blocking.
// Close it before closing the instance (an open reader makes rmdir fail
// with EBUSY).
func (in *Instance) OpenRaw(cpu int) (*RawReader, error) {
	p := filepath.Join(in.dir, "per_cpu", "cpu"+strconv.Itoa(cpu), "trace_pipe_raw")
	fd, err := unix.Open(p, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: p, Err: err}
	}
	return &RawReader{fd: fd}, nil
}

// Read consumes one page into p, which must hold PageSize bytes. It returns
// ErrNoData when the ring is empty. The page is parsed with ParseRingPage.
func (r *RawReader) Read(p []byte) (int, error) {
	for {
		n, err := unix.Read(r.fd, p)
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN || err == nil && n == 0:
			return 0, ErrNoData
		case err != nil:
			return 0, fmt.Errorf("tracefs: reading trace_pipe_raw: %w", err)
		}
		return n, nil
	}
}

// Close closes the reader.
func (r *RawReader) Close() error {
	if r.fd < 0 {
		return nil
	}
	err := unix.Close(r.fd)
	r.fd = -1
	return err
}
