package trace

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/tracelet/tracelet/bpf"
	"github.com/tracelet/tracelet/kprobeevents"
	"github.com/tracelet/tracelet/perf"
	"github.com/tracelet/tracelet/tracefs"
)

// Options configure a Session.
type Options struct {
	// Specs are probe definitions (kernel syntax or perf-tools shorthand)
	// and tracepoints (SYSTEM:EVENT).
	Specs []string
	// Filter is a kernel-side filter in the ftrace filter language, set on
	// every event ("" for none).
	Filter string
	// PID traces only that process and every thread it has or will have;
	// 0 traces every task.
	PID int
	// FromExec, with PID, starts the trace at PID's next execve instead of
	// at Start: every event at once, when the kernel installs the new
	// program. It is for a command started behind a gate (StartGated),
	// whose gate process is tracelet's own and not to be traced.
	FromExec bool
	// Stacks adds kernel and user call chains (PERF_SAMPLE_CALLCHAIN).
	Stacks bool
	// Symbols, with Stacks, is told the file mappings that the traced
	// processes make (PERF_RECORD_MMAP2), in time order with their
	// samples, so that it can symbolize the stacks of a process that has
	// exited by the time they are printed. With PID it learns those of
	// PID and its descendants only.
	Symbols *Symbolizer
	// RingSize is each CPU's ring in bytes (0: sized from the machine by
	// perf.PlanRings, so that a busy event is buffered, not lost, while
	// the reader is not scheduled).
	RingSize int
	// Latency bounds how long a record may wait in a ring that has not
	// reached its wakeup watermark (0: 10ms). The rings wake the reader
	// per watermark, not per record, which is what keeps a busy trace
	// cheap; a quiet trace is polled at this interval instead, so that
	// its first event is not held back (a poll costs the tracer a few
	// microseconds; a per-record wakeup costs the traced task an IPI).
	Latency time.Duration
	// Where is a predicate (script.ParseWhere) that every event must
	// pass. It becomes each event's tracefs filter, with the fetchargs
	// it tests added to the probe (named WherePrefix+N, not printed);
	// members are followed by the kernel or, where it cannot, by
	// tracelet's offsets from BTF. It is combined with Filter by &&.
	Where Predicate
	// Grammar describes the running kernel to the probe grammar. What it
	// leaves zero comes from the kernel itself (tracefs.FS.Grammar): the
	// host architecture, the running version and the fetch types its
	// README lists.
	Grammar kprobeevents.Options
	// FS is the tracefs to use; nil means tracefs.Find().
	FS *tracefs.FS
	// Group is the owner group probes are defined in; "" means
	// tracefs.OwnerGroup(os.Getpid()).
	Group string
}

// Event is one event a session traces.
type Event struct {
	Spec   Spec
	ID     uint32
	Format *tracefs.Format
	dec    *tracefs.Decoder
	hex    map[string]bool
	// the special fields of probe events, -1 when absent
	probeIP, probeFunc, probeRetIP int
}

// Name is SYSTEM:EVENT.
func (e *Event) Name() string { return e.Spec.System + ":" + e.Spec.Event }

// Hex reports whether the kernel prints field i of Format.Fields in hex.
func (e *Event) Hex(i int) bool { return e.hex[e.Format.Fields[i].Name] }

// Sample is one decoded event. Fields and every view in it are valid until
// the next call to Next.
type Sample struct {
	Event     *Event
	CPU       int
	Pid, Tid  int
	Time      uint64 // perf clock (the kernel's local clock), ns
	Comm      string // the thread's command name when it fired, "<...>" if unknown
	Record    tracefs.Record
	Callchain perf.Callchain
}

// Session is a live trace: probes defined in an owner group, perf events
// open on every CPU (or on one process), and a reader over their rings.
// Close removes everything it created, whatever happened before.
type Session struct {
	opts        Options
	fs          *tracefs.FS
	group       string
	events      []*Event
	byID        map[uint16]*Event
	defined     []*kprobeevents.Probe
	perfEvs     []*perf.Event
	progs       []*bpf.Program  // --where filters
	links       []*bpf.PerfLink // and where they are attached
	leaders     []*perf.Event
	commEvs     []*perf.Event
	reader      *perf.Reader
	st          perf.SampleType
	countLost   bool
	plan        perf.RingPlan
	sampleBytes uint64 // of the samples delivered, for SuggestedRingSize

	sample    perf.Sample
	comms     comms
	tree      map[int]bool // with PID and Symbols: PID and the processes it forked
	out       Sample
	delivered uint64
	idleAt    time.Time
	latency   time.Duration

	closeOnce sync.Once
	closeErr  error
	stopped   bool
	stopMu    sync.Mutex
}

// ErrIdle is returned by Next when nothing arrived for Options.Latency,
// so that a caller can flush buffered output. Call Next again.
var ErrIdle = errors.New("trace: idle")

// New validates every spec, sweeps the leftovers of dead tracelet runs,
// defines the probes, sets the filter and opens the perf events, disabled.
// Call Start to enable them all at once. On error everything done so far
// is undone.
func New(opts Options) (_ *Session, err error) {
	s := &Session{opts: opts, byID: map[uint16]*Event{}, latency: opts.Latency}
	if opts.PID <= 0 {
		// Read the names of the threads alive now while the probes are
		// defined and opened; Start waits for it (comms.startScan).
		s.comms.startScan("/proc")
	}
	if s.latency <= 0 {
		s.latency = 10 * time.Millisecond
	}
	s.fs = opts.FS
	if s.fs == nil {
		if s.fs, err = tracefs.Find(); err != nil {
			return nil, err
		}
	}
	s.group = opts.Group
	if s.group == "" {
		s.group = tracefs.OwnerGroup(os.Getpid())
	}
	// 1. Validate everything before the first write. The kernel judges a
	// filter only once the events exist (step 5), but one that could never
	// be a filter is refused here, so that it costs no probe write and
	// rollback.
	if opts.Filter != "" {
		if err := tracefs.CheckFilter(opts.Filter); err != nil {
			return nil, err
		}
	}
	grammar := s.fs.Grammar(opts.Grammar)
	specs, err := ParseSpecs(s.fs, opts.Specs, grammar, s.group)
	if err != nil {
		return nil, err
	}
	if opts.Where != nil {
		for i := range specs {
			err := where(opts.Where, &specs[i], grammar)
			if p := specs[i].whereProg; p != nil {
				s.progs = append(s.progs, p)
			}
			if err != nil {
				for _, p := range s.progs {
					p.Close()
				}
				return nil, err
			}
		}
	}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	// 2. A SIGKILLed run leaves its owner group behind; this is where it
	// goes. Only groups whose owner pid is dead are touched.
	if _, err := s.fs.Sweep(); err != nil {
		return nil, fmt.Errorf("sweeping the probes of dead tracelet runs: %w", err)
	}
	// 3. Define the probes and read back their formats.
	for _, sp := range specs {
		if sp.Probe != nil {
			if err := s.fs.AddProbe(sp.Probe); err != nil {
				return nil, &SpecError{Index: len(s.events) + 1, Spec: sp.Text, Err: err}
			}
			s.defined = append(s.defined, sp.Probe)
		}
		f, err := s.fs.Format(sp.System, sp.Event)
		if err != nil {
			return nil, err
		}
		dec, err := f.Decoder()
		if err != nil {
			return nil, fmt.Errorf("%s:%s: %w", sp.System, sp.Event, err)
		}
		ev := &Event{Spec: sp, ID: f.ID, Format: f, dec: dec, hex: f.HexFields(),
			probeIP: -1, probeFunc: -1, probeRetIP: -1}
		for i, fd := range f.Fields {
			switch fd.Name {
			case "__probe_ip":
				ev.probeIP = i
			case "__probe_func":
				ev.probeFunc = i
			case "__probe_ret_ip":
				ev.probeRetIP = i
			}
		}
		if _, dup := s.byID[uint16(f.ID)]; dup {
			return nil, fmt.Errorf("%s: traced twice", ev.Name())
		}
		s.byID[uint16(f.ID)] = ev
		s.events = append(s.events, ev)
	}
	// 4, 5. Open the perf events, set the filter.
	if err := s.open(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Session) open() error {
	// Ordered: the side-band records (COMM, FORK, MMAP2) that a sample
	// depends on may sit in another CPU's ring; in time order they are
	// applied before it.
	cpus, err := perf.OnlineCPUs()
	if err != nil {
		return err
	}
	s.plan = perf.PlanRings(perf.ReadMachine(len(cpus)))
	if s.opts.RingSize > 0 {
		s.plan.RingSize, s.plan.Bound = s.opts.RingSize, "--ring-size"
	}
	ropts := perf.ReaderOptions{CPUs: cpus, RingSize: s.plan.RingSize, Ordered: true}
	r, err := perf.NewReader(ropts)
	if err != nil {
		return err
	}
	s.reader = r
	s.plan.RingSize = r.RingSize()
	// Wake the reader at a quarter of the ring, at most
	// perf.AutoMaxWatermark, rather than per record: one wakeup per
	// record costs a context switch each, which is the overhead that
	// makes bpftrace's printf slow. The cap keeps a large ring mostly
	// empty, its rest headroom for when the reader is not scheduled.
	s.plan.Watermark = min(s.plan.RingSize/4, perf.AutoMaxWatermark)
	wm := uint32(s.plan.Watermark)
	s.st = perf.DefaultSampleType
	if s.opts.Stacks {
		s.st |= perf.PERF_SAMPLE_CALLCHAIN
	}
	s.countLost = true
	cpus = r.CPUs()
	if err := s.openCommTracking(cpus); err != nil {
		return err
	}
	for i, ev := range s.events {
		attr, err := perf.Tracepoint(uint64(ev.ID), s.st)
		if err != nil {
			return err
		}
		attr.SetWatermark(wm)
		// The ordered reader needs the time of every record, the
		// PERF_RECORD_LOST that the kernel writes for this event too.
		attr.Bits |= unix.PerfBitSampleIDAll
		// PERF_FORMAT_LOST (6.0) lets the kernel count what it dropped,
		// including a loss whose PERF_RECORD_LOST never got written because
		// nothing fired after the ring had room again.
		if s.countLost {
			attr.Read_format = unix.PERF_FORMAT_ID | unix.PERF_FORMAT_LOST
		}
		var evs []*perf.Event
		if s.opts.PID > 0 {
			attr.SetEnableOnExec(s.opts.FromExec)
			evs, err = perf.OpenProcess(attr, s.opts.PID, cpus)
			if err != nil && s.countLost && errors.Is(err, unix.EINVAL) {
				s.countLost = false
				attr.Read_format = 0
				evs, err = perf.OpenProcess(attr, s.opts.PID, cpus)
			}
		} else {
			// One group per CPU, led by the first event on that CPU, so
			// that a group enable starts every probe at the same moment.
			for j, cpu := range cpus {
				var leader *perf.Event
				if i > 0 {
					leader = s.leaders[j]
				}
				e, err := perf.Open(attr, -1, cpu, leader, 0)
				if err != nil && s.countLost && i == 0 && j == 0 && errors.Is(err, unix.EINVAL) {
					s.countLost = false
					attr.Read_format = 0
					e, err = perf.Open(attr, -1, cpu, leader, 0)
				}
				if err != nil {
					perf.CloseAll(evs)
					return fmt.Errorf("%s: %w", ev.Name(), err)
				}
				if i == 0 {
					s.leaders = append(s.leaders, e)
				}
				evs = append(evs, e)
			}
		}
		if err != nil {
			return fmt.Errorf("%s: %w", ev.Name(), err)
		}
		s.perfEvs = append(s.perfEvs, evs...)
		if prog := ev.Spec.whereProg; prog != nil && len(evs) > 0 {
			// One program per trace event: attaching through one of its
			// perf events puts it in front of all of them.
			dup, err := unix.Dup(evs[0].FD())
			if err != nil {
				return err
			}
			link, err := bpf.AttachPerfEvent(prog, dup, bpf.AttachOptions{Mode: bpf.AttachIoctl})
			if err != nil {
				unix.Close(dup)
				return fmt.Errorf("%s: --where as a BPF filter: %w", ev.Name(), err)
			}
			s.links = append(s.links, link)
		}
		if f := s.filterOf(ev); f != "" {
			for _, e := range evs {
				if err := e.SetFilter(f); err != nil {
					return s.filterError(ev, err)
				}
			}
		}
		if err := r.Add(evs...); err != nil {
			return err
		}
	}
	return nil
}

// openCommTracking opens a software dummy event per CPU that reports every
// exec and thread rename (PERF_RECORD_COMM) and every fork
// (PERF_RECORD_FORK) into the rings, so that a short-lived process or
// thread still has its name when its events are printed after it exited;
// with Stacks and Symbols also every mapping of a file's code
// (PERF_RECORD_MMAP2), so that its stacks can be symbolized then too. It is
// separate from the traced events because the kernel counts a side-band
// record it could not write as a lost sample of the event that wanted to
// write it (PERF_FORMAT_LOST), which would blur the traced events' lost
// count.
//
// sample_id_all gives those records the sample_id trailer of the samples'
// sample_type (its TID, TIME, CPU and IDENTIFIER parts), which is what lets
// the reader merge them with the samples by time: perf does the same for
// `perf record`, whose side-band records `perf script` orders likewise.
func (s *Session) openCommTracking(cpus []int) error {
	attr := &perf.Attr{}
	attr.Type = unix.PERF_TYPE_SOFTWARE
	attr.Config = unix.PERF_COUNT_SW_DUMMY
	attr.Size = uint32(unsafe.Sizeof(attr.PerfEventAttr))
	attr.Sample_type = uint64(s.st & (perf.PERF_SAMPLE_IDENTIFIER | perf.PERF_SAMPLE_TID | perf.PERF_SAMPLE_TIME | perf.PERF_SAMPLE_CPU))
	attr.Bits = unix.PerfBitDisabled | unix.PerfBitComm | unix.PerfBitCommExec | unix.PerfBitTask | unix.PerfBitSampleIDAll
	if s.opts.Stacks && s.opts.Symbols != nil {
		// attr.mmap without mmap_data: executable mappings only; mmap2
		// makes them MMAP2 records, whose pgoff is in bytes.
		attr.Bits |= unix.PerfBitMmap | unix.PerfBitMmap2
		if s.opts.PID > 0 {
			s.tree = map[int]bool{s.opts.PID: true}
		}
	}
	evs, err := perf.OpenCPUs(attr, -1, cpus, 0)
	if err != nil {
		return fmt.Errorf("comm tracking: %w", err)
	}
	s.commEvs = evs
	return s.reader.Add(evs...)
}

// sideBand applies a record of the comm-tracking events. The reader hands
// them out in time order with the samples, so a sample finds applied what
// happened before it on any CPU, and nothing that happened after.
func (s *Session) sideBand(rec *perf.Record) {
	switch rec.Type {
	case perf.PERF_RECORD_COMM:
		s.comms.record(rec.Data)
		if rec.Misc&unix.PERF_RECORD_MISC_COMM_EXEC != 0 && s.opts.Symbols != nil && len(rec.Data) >= 4 {
			if pid := int(binary.NativeEndian.Uint32(rec.Data)); s.traced(pid) {
				s.opts.Symbols.Exec(pid)
			}
		}
	case perf.PERF_RECORD_FORK:
		s.comms.fork(rec.Data)
		// {u32 pid, ppid, tid, ptid; u64 time}: a new process of a
		// traced one is traced too (the events are inherited).
		if s.tree != nil && len(rec.Data) >= 8 {
			pid, ppid := int(binary.NativeEndian.Uint32(rec.Data)), int(binary.NativeEndian.Uint32(rec.Data[4:]))
			if pid != ppid && s.tree[ppid] && len(s.tree) < maxComms {
				s.tree[pid] = true
			}
		}
	case perf.PERF_RECORD_MMAP2:
		// {u32 pid, tid; u64 addr, len, pgoff; u32 maj, min; u64 ino,
		// ino_generation (or the build id); u32 prot, flags; char
		// filename[]; sample_id}
		d := rec.Data
		if s.opts.Symbols == nil || len(d) < 65 {
			return
		}
		pid := int(binary.NativeEndian.Uint32(d))
		if !s.traced(pid) {
			return
		}
		name := d[64:]
		if i := bytes.IndexByte(name, 0); i >= 0 {
			name = name[:i]
		}
		s.opts.Symbols.Mmap(pid, binary.NativeEndian.Uint64(d[8:]), binary.NativeEndian.Uint64(d[16:]), binary.NativeEndian.Uint64(d[24:]), name)
	}
}

// traced reports whether the mappings of process pid are of interest.
func (s *Session) traced(pid int) bool { return s.tree == nil || s.tree[pid] }

// filterError explains a filter that PERF_EVENT_IOC_SET_FILTER refused.
// The ioctl gives only EINVAL; the kernel's reason is in the filter file
// after a failed write. Writing the top-level filter file of a tracepoint
// would change it for every other user, so the expression is tried in a
// private instance, which has its own filter file per event.
func (s *Session) filterError(ev *Event, ioctlErr error) error {
	f := s.filterOf(ev)
	in, err := s.fs.NewInstance(s.group + "_filter")
	if err != nil {
		return fmt.Errorf("%s: filter %q: %w", ev.Name(), f, ioctlErr)
	}
	defer in.Close()
	if err := in.SetFilter(ev.Spec.System, ev.Spec.Event, f); err != nil {
		return err
	}
	return fmt.Errorf("%s: filter %q: %w", ev.Name(), f, ioctlErr)
}

// filterOf is the event's filter: --filter and the --where compiled for
// it, both when there are both.
func (s *Session) filterOf(ev *Event) string {
	switch {
	case ev.Spec.Where == "":
		return s.opts.Filter
	case s.opts.Filter == "":
		return ev.Spec.Where
	}
	return "(" + s.opts.Filter + ") && (" + ev.Spec.Where + ")"
}

// Events are the traced events, in SPEC order.
func (s *Session) Events() []*Event { return s.events }

// Notices returns what was placed otherwise than asked because of how the
// running kernel was built (tracefs.FS.Notices: an entry probe past
// ftrace's patch site), each kind once, for the user to be told.
func (s *Session) Notices() []string {
	if s.fs == nil {
		return nil
	}
	return s.fs.Notices()
}

// Group is the owner group the session's probes are defined in.
func (s *Session) Group() string { return s.group }

// Start enables every event: per CPU with one group enable, so that all
// probes start at the same moment; per process one by one.
func (s *Session) Start() error {
	s.idleAt = time.Now().Add(s.latency)
	s.reader.SetDeadline(s.idleAt)
	for _, e := range s.commEvs {
		if err := e.Enable(); err != nil {
			return err
		}
	}
	if s.opts.PID > 0 {
		// The threads that PID has now were named before the trace
		// began, with no record to say so, and may exit before their
		// events are read: their names are read now, as perf record
		// synthesizes COMM records from /proc for its target. Threads
		// created from here on come with a PERF_RECORD_FORK.
		if tids, err := perf.Threads(s.opts.PID); err == nil {
			for _, tid := range tids {
				s.comms.known(tid)
			}
		}
	} else {
		s.comms.mergeScan()
	}
	if len(s.leaders) > 0 {
		for _, l := range s.leaders {
			if err := l.EnableGroup(); err != nil {
				return err
			}
		}
		return nil
	}
	if s.opts.FromExec {
		return nil // the exec enables them
	}
	for _, e := range s.perfEvs {
		if err := e.Enable(); err != nil {
			return err
		}
	}
	return nil
}

// Stop disables every event and makes Next return what is still in the
// rings, then io.EOF. It may be called from any goroutine.
func (s *Session) Stop() {
	s.stopMu.Lock()
	defer s.stopMu.Unlock()
	if s.stopped {
		return
	}
	s.stopped = true
	s.disable()
	s.reader.Flush()
}

func (s *Session) disable() {
	for _, e := range s.commEvs {
		e.Disable()
	}
	if len(s.leaders) > 0 {
		for _, l := range s.leaders {
			l.DisableGroup()
		}
		return
	}
	for _, e := range s.perfEvs {
		e.Disable()
	}
}

// Next returns the next decoded event. It returns ErrIdle when nothing came
// for Options.Latency, io.EOF after Stop once the rings are drained, and
// ctx.Err() when ctx is done, never before ctx.Err() is set.
// PERF_RECORD_LOST records are counted (Lost) and skipped.
func (s *Session) Next(ctx context.Context) (*Sample, error) {
	for {
		rec, err := s.reader.Read(ctx)
		if err != nil {
			switch {
			case errors.Is(err, os.ErrDeadlineExceeded):
				// One deadline per idle period, not per record:
				// SetDeadline costs a syscall.
				s.reader.SetDeadline(time.Now().Add(s.latency))
				return nil, ErrIdle
			case errors.Is(err, perf.ErrFlushed):
				return nil, io.EOF
			case errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil:
				// The reader compares ctx's deadline with the clock itself
				// and can see it pass before ctx's timer has fired, when
				// ctx.Err() is still nil. Callers tell "ctx is done" from a
				// failure by ctx.Err(), so wait for the timer: it is due.
				<-ctx.Done()
				return nil, ctx.Err()
			}
			return nil, err
		}
		if rec.Type != perf.PERF_RECORD_SAMPLE {
			s.sideBand(&rec)
			continue
		}
		if err := perf.ParseSample(rec.Data, s.st, &s.sample); err != nil {
			return nil, err
		}
		raw := s.sample.Raw
		if len(raw) < 2 {
			return nil, fmt.Errorf("trace: sample on cpu %d has a raw record of %d bytes", rec.CPU, len(raw))
		}
		// common_type leads every record, which is all that is needed to
		// pick the event's decoder.
		ev := s.byID[binary.NativeEndian.Uint16(raw)]
		if ev == nil {
			continue
		}
		if err := ev.dec.Decode(raw, &s.out.Record); err != nil {
			return nil, err
		}
		s.out.Event = ev
		s.out.CPU = int(s.sample.CPU)
		s.out.Pid = int(s.sample.Pid)
		s.out.Tid = int(s.sample.Tid)
		s.out.Time = s.sample.Time
		s.out.Callchain = s.sample.Callchain
		s.out.Comm = s.comms.lookup(s.out.Pid, s.out.Tid)
		s.delivered++
		s.sampleBytes += uint64(len(rec.Data)) + 8 // perf_event_header
		return &s.out, nil
	}
}

// Rings is the size of each CPU's ring and its wake-up watermark, as
// opened.
func (s *Session) Rings() perf.RingPlan { return s.plan }

// SuggestedRingSize is the --ring-size that would have held the samples
// lost so far, at the mean size of those delivered; 0 when none was lost.
func (s *Session) SuggestedRingSize() int {
	lost := s.Lost()
	if lost == 0 {
		return 0
	}
	rec := 64
	if s.delivered > 0 {
		rec = int(s.sampleBytes / s.delivered)
	}
	return perf.SuggestRingSize(s.plan.RingSize, lost, rec)
}

// Delivered is the number of samples Next returned.
func (s *Session) Delivered() uint64 { return s.delivered }

// Lost is the number of samples the kernel dropped because a ring was
// full. With PERF_FORMAT_LOST (6.0) it is the kernel's own count for the
// traced events, which includes losses not yet reported by a
// PERF_RECORD_LOST; before 6.0 it is the sum of the PERF_RECORD_LOST records
// read so far (which may include lost COMM records).
func (s *Session) Lost() uint64 {
	var ring uint64
	for _, n := range s.reader.Lost() {
		ring += n
	}
	if !s.countLost {
		return ring
	}
	var k uint64
	for _, e := range s.perfEvs {
		c, err := e.ReadCount()
		if err != nil {
			return ring
		}
		k += c.Lost
	}
	return k
}

// Close disables the events, closes them and the reader, and removes the
// probes and the owner group. It is safe to call more than once and after
// any error.
func (s *Session) Close() error {
	s.closeOnce.Do(func() {
		var errs []error
		s.stopMu.Lock()
		s.stopped = true
		s.stopMu.Unlock()
		s.disable()
		for _, l := range s.links {
			if err := l.Close(); err != nil {
				errs = append(errs, err)
			}
		}
		for _, p := range s.progs {
			p.Close()
		}
		// The kernel refuses to remove a probe that a perf fd holds (EBUSY),
		// so the fds go first.
		if err := perf.CloseAll(s.perfEvs); err != nil {
			errs = append(errs, err)
		}
		if err := perf.CloseAll(s.commEvs); err != nil {
			errs = append(errs, err)
		}
		if s.reader != nil {
			if err := s.reader.Close(); err != nil {
				errs = append(errs, err)
			}
		}
		files := map[string]bool{}
		for _, p := range s.defined {
			files[tracefs.ControlFile(p.Type)] = true
		}
		for f := range files {
			if err := s.fs.RemoveGroup(f, s.group); err != nil {
				errs = append(errs, err)
			}
		}
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
}
