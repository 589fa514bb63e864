package record

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/tracelet/tracelet/tracefs"
)

// Event is one decoded event, ready to print. Record's views (strings,
// arrays) point into the buffer the event was decoded from and are valid
// until the next event.
type Event struct {
	Time    uint64 // trace clock (the kernel's local clock), ns
	CPU     int
	Pid     int32 // common_pid: the thread
	Comm    string
	Info    *EventInfo
	Record  tracefs.Record
	Flags   uint8 // common_flags (TRACE_FLAG_*)
	Preempt uint8 // common_preempt_count
}

// EventInfo is what printing needs to know about one event id.
type EventInfo struct {
	System, Name string
	Format       *tracefs.Format
	dec          *tracefs.Decoder
	hex          []bool // per Format.Fields: the kernel prints it in hex
	// Fields a probe event prints first as "(0xIP)" or "(0xRET <- 0xFUNC)".
	ip, fn, ret int
}

// FullName is SYSTEM:EVENT.
func (i *EventInfo) FullName() string { return i.System + ":" + i.Name }

// NewEventInfo prepares an event's format for decoding and printing.
func NewEventInfo(f *tracefs.Format) (*EventInfo, error) {
	dec, err := f.Decoder()
	if err != nil {
		return nil, err
	}
	info := &EventInfo{System: f.System, Name: f.Name, Format: f, dec: dec, ip: -1, fn: -1, ret: -1}
	hex := f.HexFields()
	info.hex = make([]bool, len(f.Fields))
	for i, fd := range f.Fields {
		info.hex[i] = hex[fd.Name]
		switch fd.Name {
		case "__probe_ip":
			info.ip = i
		case "__probe_func":
			info.fn = i
		case "__probe_ret_ip":
			info.ret = i
		}
	}
	return info, nil
}

// Decode decodes a record (starting at common_type) into ev.Record.
func (i *EventInfo) Decode(raw []byte, ev *Event) error {
	ev.Info = i
	if err := i.dec.Decode(raw, &ev.Record); err != nil {
		return err
	}
	ev.Pid = ev.Record.Pid
	ev.Flags = ev.Record.Flags
	ev.Preempt = ev.Record.PreemptCount
	return nil
}

// Events maps event ids (common_type) to their formats, read from tracefs
// on first use. An id not seen before makes it scan events/*/*/id once;
// the scan reads a few thousand small files and is not repeated for ids
// that stay unknown.
type Events struct {
	fs      *tracefs.FS
	mu      sync.Mutex
	byID    map[uint16]*EventInfo
	paths   map[uint16][2]string
	scanned bool
	unknown map[uint16]bool
}

// NewEvents returns an empty id map over fs.
func NewEvents(fs *tracefs.FS) *Events {
	return &Events{fs: fs, byID: map[uint16]*EventInfo{}, unknown: map[uint16]bool{}}
}

// Add reads system/event's format now and returns its info.
func (e *Events) Add(system, event string) (*EventInfo, error) {
	f, err := e.fs.Format(system, event)
	if err != nil {
		return nil, err
	}
	info, err := NewEventInfo(f)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	e.byID[uint16(f.ID)] = info
	e.mu.Unlock()
	return info, nil
}

// Lookup returns the info of event id, or nil when tracefs has no such event.
func (e *Events) Lookup(id uint16) *EventInfo {
	e.mu.Lock()
	defer e.mu.Unlock()
	if info := e.byID[id]; info != nil {
		return info
	}
	if e.unknown[id] {
		return nil
	}
	if !e.scanned {
		e.scanned = true
		e.paths = scanIDs(e.fs.Root())
	}
	p, ok := e.paths[id]
	if !ok {
		e.unknown[id] = true
		return nil
	}
	f, err := e.fs.Format(p[0], p[1])
	if err != nil {
		e.unknown[id] = true
		return nil
	}
	info, err := NewEventInfo(f)
	if err != nil {
		e.unknown[id] = true
		return nil
	}
	e.byID[id] = info
	return info
}

func scanIDs(root string) map[uint16][2]string {
	out := map[uint16][2]string{}
	ids, _ := filepath.Glob(filepath.Join(root, "events", "*", "*", "id"))
	for _, p := range ids {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		n, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 16)
		if err != nil {
			continue
		}
		ev := filepath.Dir(p)
		out[uint16(n)] = [2]string{filepath.Base(filepath.Dir(ev)), filepath.Base(ev)}
	}
	return out
}

// Comms names the threads of events: tracefs keeps the names of threads it
// saw (saved_cmdlines: the kernel records the comm of each task that hits an
// enabled event), and /proc/PID/comm has those still running. A short-lived
// process is gone from /proc by the time its events are read, so on a miss
// saved_cmdlines is read again, at most once per Refresh (each drain of the
// rings).
type Comms struct {
	root  string
	names map[int32]string
	fresh bool // saved_cmdlines was read since the last Refresh
}

// NewComms returns a Comms over the tracefs at root.
func NewComms(root string) *Comms { return &Comms{root: root, names: map[int32]string{}} }

// Refresh allows the next miss to read saved_cmdlines again.
func (c *Comms) Refresh() { c.fresh = false }

// Name returns the command name of pid, or "<...>" as the kernel prints an
// unknown one. Pid 0 is the idle task, "<idle>".
func (c *Comms) Name(pid int32) string {
	if pid == 0 {
		return "<idle>"
	}
	if n, ok := c.names[pid]; ok {
		return n
	}
	if !c.fresh {
		c.fresh = true
		if b, err := os.ReadFile(filepath.Join(c.root, "saved_cmdlines")); err == nil {
			for _, l := range strings.Split(string(b), "\n") {
				p, name, ok := strings.Cut(l, " ")
				if n, err := strconv.Atoi(p); ok && err == nil && name != "<...>" && len(c.names) < 1<<16 {
					c.names[int32(n)] = name
				}
			}
			if n, ok := c.names[pid]; ok {
				return n
			}
		}
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(int(pid)) + "/comm")
	if err != nil {
		return "<...>" // not cached: saved_cmdlines may know it later
	}
	name := strings.TrimSpace(string(b))
	if len(c.names) < 1<<16 {
		c.names[pid] = name
	}
	return name
}

// Set records pid's name, e.g. from a PERF_RECORD_COMM.
func (c *Comms) Set(pid int32, name string) { c.names[pid] = name }

func (e *Event) String() string {
	return fmt.Sprintf("%s pid=%d cpu=%d t=%d", e.Info.FullName(), e.Pid, e.CPU, e.Time)
}

// Field returns the decoded value of the field called name.
func (e *Event) Field(name string) (tracefs.Value, bool) {
	for i, f := range e.Info.Format.Fields {
		if f.Name == name && i < len(e.Record.Values) {
			return e.Record.Values[i], true
		}
	}
	return tracefs.Value{}, false
}
