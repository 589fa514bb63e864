package record

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tracelet/tracelet/perf"
	"github.com/tracelet/tracelet/tracefs"
)

// FlightOptions configure a Flight recorder.
type FlightOptions struct {
	// Size is what the rings keep, in bytes, split evenly across the CPUs
	// (each CPU's share rounded up to a power of two pages by perf).
	Size int
	// Trigger, when set, is an event whose every hit makes Triggered
	// fire: SYSTEM:EVENT, or the EVENT name of one of the plan's probes.
	Trigger string
	Format  Format
}

// Flight keeps the newest events of a plan in perf overwrite rings
// (write_backward, mapped read-only, so the kernel overwrites the oldest
// record instead of dropping new ones) and dumps them on demand. The probes
// live in this process's owner group, so a SIGKILL leaves only what the next
// run sweeps; the events are perf events, which close with the process.
type Flight struct {
	fs     *tracefs.FS
	plan   *tracefs.Plan
	ring   *perf.Reader
	evs    []*perf.Event
	byID   map[uint64]*EventInfo
	st     perf.SampleType
	comms  *Comms
	format Format

	trig     *perf.Reader
	trigEvs  []*perf.Event
	fired    chan int // the CPU of the latest trigger hit not yet dumped
	cancel   context.CancelFunc
	trigDone chan struct{}
}

// NewFlight defines the plan's probes under this process's owner group and
// opens every event on every CPU into overwrite rings.
func NewFlight(fs *tracefs.FS, plan *tracefs.Plan, o FlightOptions) (_ *Flight, err error) {
	for _, e := range plan.Events {
		if len(e.Triggers) > 0 {
			return nil, fmt.Errorf("record: flight mode: event %s has triggers, which act on trace instances; flight mode records through perf", e.Name())
		}
	}
	if o.Size <= 0 {
		return nil, fmt.Errorf("record: flight mode needs a positive size")
	}
	owned := plan.Owned(os.Getpid(), "flight")
	if err := owned.Validate(); err != nil {
		return nil, err
	}
	f := &Flight{fs: fs, plan: owned, byID: map[uint64]*EventInfo{}, st: perf.DefaultSampleType,
		comms: NewComms(fs.Root()), format: o.Format, fired: make(chan int, 1)}
	defer func() {
		if err != nil {
			f.Close()
		}
	}()
	for _, p := range owned.Probes {
		if err := fs.AddProbe(p); err != nil {
			return nil, err
		}
	}
	cpus, err := perf.OnlineCPUs()
	if err != nil {
		return nil, err
	}
	if f.ring, err = perf.NewReader(perf.ReaderOptions{CPUs: cpus, RingSize: max(o.Size/len(cpus), 4096), Overwrite: true}); err != nil {
		return nil, err
	}
	events := NewEvents(fs)
	var trigger *tracefs.PlanEvent
	for i := range owned.Events {
		e := &owned.Events[i]
		info, err := events.Add(e.System, e.Event)
		if err != nil {
			return nil, err
		}
		if o.Trigger != "" && (o.Trigger == e.Name() || e.Probe != nil && o.Trigger == e.Probe.EventName()) {
			trigger = e
		}
		attr, err := perf.Tracepoint(uint64(info.Format.ID), f.st)
		if err != nil {
			return nil, err
		}
		attr.SetWriteBackward(true)
		evs, err := perf.OpenCPUs(attr, -1, f.ring.CPUs(), 0)
		if err != nil {
			return nil, err
		}
		f.evs = append(f.evs, evs...)
		for _, pe := range evs {
			if e.Filter != "" {
				if err := pe.SetFilter(e.Filter); err != nil {
					return nil, err
				}
			}
			id, err := pe.ID()
			if err != nil {
				return nil, err
			}
			f.byID[id] = info
		}
		if err := f.ring.Add(evs...); err != nil {
			return nil, err
		}
	}
	if o.Trigger != "" {
		sys, ev, ok := strings.Cut(o.Trigger, ":")
		if trigger != nil {
			sys, ev, ok = trigger.System, trigger.Event, true
		}
		if !ok {
			return nil, fmt.Errorf("record: trigger %q: want SYSTEM:EVENT or a probe of the plan", o.Trigger)
		}
		if err := f.openTrigger(sys, ev, trigger); err != nil {
			return nil, err
		}
	}
	for _, pe := range f.evs {
		if err := pe.Enable(); err != nil {
			return nil, err
		}
	}
	return f, nil
}

func (f *Flight) openTrigger(sys, ev string, pe *tracefs.PlanEvent) error {
	id, err := f.fs.EventID(sys, ev)
	if err != nil {
		return fmt.Errorf("record: trigger %s:%s: %w", sys, ev, err)
	}
	attr, err := perf.Tracepoint(uint64(id), perf.PERF_SAMPLE_IDENTIFIER|perf.PERF_SAMPLE_TIME)
	if err != nil {
		return err
	}
	if f.trig, err = perf.NewReader(perf.ReaderOptions{CPUs: f.ring.CPUs(), RingSize: 4096}); err != nil {
		return err
	}
	if f.trigEvs, err = perf.OpenCPUs(attr, -1, f.trig.CPUs(), 0); err != nil {
		return err
	}
	for _, e := range f.trigEvs {
		if pe != nil && pe.Filter != "" {
			if err := e.SetFilter(pe.Filter); err != nil {
				return err
			}
		}
	}
	if err := f.trig.Add(f.trigEvs...); err != nil {
		return err
	}
	for _, e := range f.trigEvs {
		if err := e.Enable(); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	f.cancel, f.trigDone = cancel, make(chan struct{})
	go func() {
		defer close(f.trigDone)
		for {
			rec, err := f.trig.Read(ctx)
			if err != nil {
				return
			}
			if rec.Type != perf.PERF_RECORD_SAMPLE {
				continue
			}
			select {
			case f.fired <- rec.CPU:
			default: // one is pending: the latest hit's CPU replaces it
				select {
				case <-f.fired:
				default:
				}
				f.fired <- rec.CPU // this goroutine is the only sender
			}
		}
	}()
	return nil
}

// Triggered receives the CPU of a hit of the trigger event (at most one
// pending, the latest).
func (f *Flight) Triggered() <-chan int { return f.fired }

// settle returns once cpu has finished the probe handler that wrote a
// trigger sample read before the call. The kernel writes one hit into
// every perf event on its tracepoint in one handler, with preemption
// off, but the trigger's reader may be woken (by irq_work) before the
// handler reaches the flight ring's event: a dump taken then lacks the
// very hit that triggered it (CI on e37f5cc, 6.1-amd64). A thread that
// runs on cpu runs after that handler ended, so settle moves a thread
// there. Where this process may not run on cpu (a cpuset), it returns at
// once.
func settle(cpu int) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		// Never unlocked: the pinned thread ends with this goroutine.
		runtime.LockOSThread()
		var set unix.CPUSet
		set.Set(cpu)
		unix.SchedSetaffinity(0, &set)
	}()
	<-done
}

// Plan is the plan as defined, under owner names.
func (f *Flight) Plan() *tracefs.Plan { return f.plan }

type flightRecord struct {
	time uint64
	cpu  int
	info *EventInfo
	raw  []byte
}

// Dump writes what the rings hold, oldest first, in the recorder's format
// (with the text header), and returns the number of events. The rings are
// paused while read, and not consumed.
func (f *Flight) Dump(w io.Writer) (int, error) {
	f.comms.Refresh()
	var recs []flightRecord
	var s perf.Sample
	err := f.ring.Snapshot(func(r perf.Record) error {
		if r.Type != perf.PERF_RECORD_SAMPLE {
			return nil
		}
		if perf.ParseSample(r.Data, f.st, &s) != nil {
			return nil
		}
		info := f.byID[s.Identifier]
		if info == nil {
			return nil
		}
		recs = append(recs, flightRecord{time: s.Time, cpu: int(s.CPU), info: info, raw: append([]byte(nil), s.Raw...)})
		return nil
	})
	if err != nil {
		return 0, err
	}
	sort.SliceStable(recs, func(i, j int) bool { return recs[i].time < recs[j].time })
	p := NewPrinter(f.format)
	out := append([]byte(nil), f.format.Header()...)
	n := 0
	var ev Event
	for _, r := range recs {
		if err := r.info.Decode(r.raw, &ev); err != nil {
			continue
		}
		ev.Time, ev.CPU = r.time, r.cpu
		ev.Comm = f.comms.Name(ev.Pid)
		out = p.Append(out, &ev)
		n++
	}
	_, err = w.Write(out)
	return n, err
}

// Close closes the events and rings and removes the probes.
func (f *Flight) Close() error {
	var errs []error
	if f.cancel != nil {
		f.cancel()
		if f.trig != nil {
			f.trig.Close()
		}
		<-f.trigDone
	} else if f.trig != nil {
		f.trig.Close()
	}
	errs = append(errs, perf.CloseAll(f.trigEvs), perf.CloseAll(f.evs))
	f.trigEvs, f.evs = nil, nil
	if f.ring != nil {
		errs = append(errs, f.ring.Close())
		f.ring = nil
	}
	if f.plan != nil {
		if _, err := f.fs.Revert(f.plan); err != nil {
			errs = append(errs, err)
		}
		f.plan = nil
	}
	return errors.Join(errs...)
}

// DumpFile writes a dump into dir as flight-UNIXNANO.txt (or .jsonl). The
// file appears under its name only when complete and synced (it is
// written as a temporary file and renamed), so that a reader never sees
// half a dump.
func (f *Flight) DumpFile(dir string) (string, int, error) {
	name := filepath.Join(dir, fmt.Sprintf("flight-%d%s", time.Now().UnixNano(), f.format.Ext()))
	tmp := name + ".tmp"
	out, err := os.Create(tmp)
	if err != nil {
		return "", 0, err
	}
	n, err := f.Dump(out)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, name)
	}
	if err != nil {
		os.Remove(tmp)
		return "", 0, err
	}
	return name, n, nil
}

// Serve dumps into dir whenever dump receives (SIGUSR1, through
// signal.Notify) or the trigger event fires, until ctx is done. report is
// called after each dump with its reason, file and event count.
func (f *Flight) Serve(ctx context.Context, dir string, dump <-chan os.Signal, report func(why, file string, n int)) error {
	for {
		var why string
		select {
		case <-ctx.Done():
			return nil
		case s := <-dump:
			why = s.String()
		case cpu := <-f.fired:
			why = "trigger"
			settle(cpu)
		}
		name, n, err := f.DumpFile(dir)
		if err != nil {
			return fmt.Errorf("record: flight dump: %w", err)
		}
		if report != nil {
			report(why, name, n)
		}
	}
}
