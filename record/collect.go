package record

import (
	"encoding/binary"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/tracelet/tracelet/tracefs"
)

// Stats count what a Rings drain saw.
type Stats struct {
	Events  uint64 // decoded and handed out
	Pages   uint64
	Unknown uint64 // events whose id no format describes
	Corrupt uint64 // records that did not fit their format
	// Missed counts events the kernel dropped (it stores the count in
	// the page since 3.10; pages that only flag a loss add 1).
	Missed uint64
}

// Rings reads the binary per-CPU rings of one instance
// (per_cpu/cpuN/trace_pipe_raw): whole ring-buffer pages, consumed as read,
// decoded by event id. Events of all CPUs are handed out in time order
// within each Drain.
type Rings struct {
	events  *Events
	comms   *Comms
	readers []*tracefs.RawReader
	cpus    []int
	page    []byte
	arena   []byte
	pending []pendingEvent
	stats   Stats
	// orphans, when set, names the records of probe events without an
	// events/ directory (see orphans).
	orphans *orphans
	// commitSize is the size of the pages' commit field.
	commitSize int
}

type pendingEvent struct {
	ts       uint64
	cpu      int
	off, end int
}

// OpenRings opens every CPU's trace_pipe_raw of in. Close them before the
// instance is removed (an open reader makes rmdir fail with EBUSY).
func OpenRings(in *tracefs.Instance, events *Events, comms *Comms) (*Rings, error) {
	dirs, err := filepath.Glob(filepath.Join(in.Path(), "per_cpu", "cpu*"))
	if err != nil {
		return nil, err
	}
	// The page header's commit is the kernel's long, which a 32-bit
	// tracelet on a 64-bit kernel must not take for its own.
	r := &Rings{events: events, comms: comms, page: make([]byte, in.PageSize()), commitSize: events.fs.RingCommitSize()}
	for _, d := range dirs {
		cpu, err := strconv.Atoi(strings.TrimPrefix(filepath.Base(d), "cpu"))
		if err != nil {
			continue
		}
		rr, err := in.OpenRaw(cpu)
		if err != nil {
			r.Close()
			return nil, err
		}
		r.readers = append(r.readers, rr)
		r.cpus = append(r.cpus, cpu)
	}
	if len(r.readers) == 0 {
		return nil, fmt.Errorf("record: %s has no per_cpu rings", in.Path())
	}
	return r, nil
}

// Stats returns the counts so far.
func (r *Rings) Stats() Stats { return r.stats }

// Drain reads every page the rings hold now and calls fn for each event,
// oldest first. fn's event and its views are valid during the call only.
func (r *Rings) Drain(fn func(*Event) error) error {
	r.arena = r.arena[:0]
	r.pending = r.pending[:0]
	for i, rr := range r.readers {
		cpu := r.cpus[i]
		for {
			n, err := rr.Read(r.page)
			if errors.Is(err, tracefs.ErrNoData) {
				break
			}
			if err != nil {
				return err
			}
			r.stats.Pages++
			hdr, err := tracefs.ParseRingPageCommit(r.page[:n], r.commitSize, func(ev tracefs.RingEvent) error {
				off := len(r.arena)
				r.arena = append(r.arena, ev.Data...)
				r.pending = append(r.pending, pendingEvent{ts: ev.Timestamp, cpu: cpu, off: off, end: len(r.arena)})
				return nil
			})
			if err != nil {
				return fmt.Errorf("record: cpu %d: %w", cpu, err)
			}
			if hdr.MissedEvents {
				r.stats.Missed += max(hdr.Missed, 1)
			}
		}
	}
	sort.SliceStable(r.pending, func(i, j int) bool { return r.pending[i].ts < r.pending[j].ts })
	r.comms.Refresh()
	if r.orphans != nil {
		for _, p := range r.pending {
			if data := r.arena[p.off:p.end]; len(data) >= 8 {
				if id := binary.NativeEndian.Uint16(data); r.events.Lookup(id) == nil {
					r.orphans.vote(id, p.ts, p.cpu, int32(binary.NativeEndian.Uint32(data[4:])))
				}
			}
		}
		r.orphans.resolve(r.events)
	}
	var ev Event
	for _, p := range r.pending {
		data := r.arena[p.off:p.end]
		if len(data) < 2 {
			r.stats.Corrupt++
			continue
		}
		// Records are in the kernel's byte order, which is ours.
		id := binary.NativeEndian.Uint16(data)
		info := r.events.Lookup(id)
		if info == nil {
			r.stats.Unknown++
			continue
		}
		if err := info.Decode(data, &ev); err != nil {
			r.stats.Corrupt++
			continue
		}
		ev.Time, ev.CPU = p.ts, p.cpu
		ev.Comm = r.comms.Name(ev.Pid)
		r.stats.Events++
		if err := fn(&ev); err != nil {
			return err
		}
	}
	return nil
}

// Close closes every reader.
func (r *Rings) Close() error {
	var errs []error
	for _, rr := range r.readers {
		errs = append(errs, rr.Close())
	}
	r.readers = nil
	return errors.Join(errs...)
}

// Collect reads what in's rings hold now, in time order, and calls fn for
// each decoded event: what boot-time probes or an applied plan recorded.
// The rings are consumed.
//
// Records of probe events that the kernel left without an events/
// directory (orphans: boot-time events of some kernels) are decoded from
// the probes' definitions.
func Collect(fs *tracefs.FS, in *tracefs.Instance, fn func(*Event) error) (Stats, error) {
	// The trace file must be read before the rings are consumed.
	o := findOrphans(fs)
	if o != nil {
		o.readTrace(in)
	}
	r, err := OpenRings(in, NewEvents(fs), NewComms(fs.Root()))
	if err != nil {
		return Stats{}, err
	}
	defer r.Close()
	r.orphans = o
	err = r.Drain(fn)
	return r.Stats(), err
}
