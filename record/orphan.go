package record

import (
	"bufio"
	"os"
	"path/filepath"

	"github.com/tracelet/tracelet/kprobeevents"
	"github.com/tracelet/tracelet/tracefs"
)

// Orphan events are probe events that the kernel defined, enabled and
// recorded, but for which it made no events/GROUP/EVENT directory, so no id
// or format file tells a reader how to decode their records.
//
// Debian's 6.1 and 6.12 kernels do this now and then to boot-time events
// (kprobe_event=), and so does upstream from 5.19 on; no fix exists as of
// 6.12.118. Since "tracing: make tracer_init_tracefs initcall asynchronous"
// (6621a7004684, 5.19) the events/ tree is built on a workqueue:
// early_event_add_tracer (trace_events.c) walks tr->events once under
// event_mutex, creating each directory, unlocks, and only then sets
// eventdir_initialized. Meanwhile PID 1 runs the fs_initcall
// init_kprobe_trace, which registers the kprobe_event= probes; one that
// takes event_mutex between that unlock and the flag is added to
// tr->events by __trace_add_new_event without a directory (the flag says
// "not yet"), after the only walk that would have made one. Its type id is
// registered and it is enabled and recorded; only the directory is missing.
//
// Their records are still whole, and the kernel still names them in its
// text rendering (the trace file), because the event itself is registered.
// So tracelet rebuilds each orphan's format from its definition in
// kprobe_events or uprobe_events (tracefs.ProbeFormat: the layout is a
// function of the fetchargs alone) and learns its id from the trace file:
// each record there carries its CPU, pid, time and event name, and the
// binary record with the same CPU, pid and time carries the id.
type orphans struct {
	byName  map[string]*kprobeevents.Probe // event name → definition (names unique among orphans)
	seen    map[textKey]string             // (cpu, pid, µs) → orphan event name, from the trace file
	votes   map[uint16]map[string]int
	ptrBits int
	btfArgs bool
}

type textKey struct {
	cpu  int
	pid  int32
	usec uint64
}

// maxTraceLines bounds the trace file read: a few ring buffers' worth of
// lines, each printed from one record.
const maxTraceLines = 4 << 20

// findOrphans returns the probe events of fs without an events/ directory,
// or nil when there are none.
func findOrphans(fs *tracefs.FS) *orphans {
	var missing []tracefs.DynamicEvent
	for _, file := range []string{tracefs.KprobeEvents, tracefs.UprobeEvents} {
		evs, err := fs.DynamicEvents(file)
		if err != nil {
			continue
		}
		for _, ev := range evs {
			if ev.Group == "" || ev.Event == "" {
				continue
			}
			if _, err := os.Stat(filepath.Join(fs.Root(), "events", ev.Group, ev.Event)); err == nil {
				continue
			}
			missing = append(missing, ev)
		}
	}
	return newOrphans(fs, missing)
}

// newOrphans prepares to decode the events of defs (lines of kprobe_events
// or uprobe_events) from their definitions; nil when none can be.
func newOrphans(fs *tracefs.FS, defs []tracefs.DynamicEvent) *orphans {
	o := &orphans{byName: map[string]*kprobeevents.Probe{}}
	dup := map[string]bool{}
	opts := fs.Grammar(kprobeevents.Options{})
	// What the kernel prints back is what it accepted: parse it with no
	// version or type limits.
	opts.Kernel, opts.Types = kprobeevents.Kernel{}, 0
	for _, ev := range defs {
		p, err := kprobeevents.ParseProbe(ev.Raw, opts)
		if err != nil {
			continue
		}
		if o.byName[ev.Event] != nil {
			dup[ev.Event] = true
		}
		o.byName[ev.Event] = p
	}
	for n := range dup {
		// The trace file names events without their group: two orphans
		// of one name cannot be told apart there.
		delete(o.byName, n)
	}
	if len(o.byName) == 0 {
		return nil
	}
	o.ptrBits = opts.Arch.PtrBits()
	if f, err := fs.Features(); err == nil {
		o.btfArgs = f.BTFArgs
	}
	return o
}

// readTrace reads the kernel's text rendering of in's rings (its trace
// file, which does not consume them) and keeps where each orphan's records
// are. The kernel pauses recording into that buffer while the file is open,
// as it does for `cat trace`; the read takes milliseconds.
func (o *orphans) readTrace(in *tracefs.Instance) {
	o.seen = map[textKey]string{}
	o.votes = map[uint16]map[string]int{}
	f, err := os.Open(filepath.Join(in.Path(), "trace"))
	if err != nil {
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), MaxLine)
	for n := 0; n < maxTraceLines && sc.Scan(); n++ {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		e, err := parseTextLine(line)
		if err != nil || o.byName[e.Event] == nil {
			continue
		}
		k := textKey{cpu: e.CPU, pid: int32(e.Pid), usec: e.Time / 1000}
		if prev, ok := o.seen[k]; ok && prev != e.Event {
			o.seen[k] = "" // two orphans in one microsecond: no vote
			continue
		}
		o.seen[k] = e.Event
	}
}

// vote records that a binary record of unknown id was written at ts (ns)
// on cpu by pid.
func (o *orphans) vote(id uint16, ts uint64, cpu int, pid int32) {
	// The trace file prints ns2usecs(ts): rounded to the nearest µs.
	name := o.seen[textKey{cpu: cpu, pid: pid, usec: (ts + 500) / 1000}]
	if name == "" {
		return
	}
	v := o.votes[id]
	if v == nil {
		v = map[string]int{}
		o.votes[id] = v
	}
	v[name]++
}

// resolve turns the votes into formats: an id is an orphan's when every
// record of it that the trace file named was named the same.
func (o *orphans) resolve(events *Events) {
	for id, v := range o.votes {
		if len(v) != 1 {
			continue
		}
		for name := range v {
			p := o.byName[name]
			f, err := tracefs.ProbeFormat(p, uint32(id), o.ptrBits, o.btfArgs)
			if err != nil {
				continue
			}
			info, err := NewEventInfo(f)
			if err != nil {
				continue
			}
			events.mu.Lock()
			if events.byID[id] == nil {
				events.byID[id] = info
				delete(events.unknown, id)
			}
			events.mu.Unlock()
		}
	}
	o.votes = map[uint16]map[string]int{}
}
