package scriptrun

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/tracelet/tracelet/script"
	"github.com/tracelet/tracelet/trace"
	"github.com/tracelet/tracelet/tracefs"
)

// tracefsRun is the tracefs backend at run time: each probe an event (our
// own dynamic event, or the tracepoint), printf through a perf stream of
// that event with its filter (package trace), count() through the
// probe's hit counter or a hist trigger in a private instance.
type tracefsRun struct {
	inst     *tracefs.Instance
	sessions []*trace.Session
	lines    chan string
	errs     chan error
	wg       sync.WaitGroup
	cancel   context.CancelFunc
	counts   []tfsCount
}

// tfsCount is where a probe's count() is read at the end.
type tfsCount struct {
	tp         *script.TracefsProbe
	file       string // kprobe_profile/uprobe_profile's probe file (CountProfile)
	sys, event string
	// user counts in user space, from a stream of the event, when the
	// kernel has no hist triggers (CONFIG_HIST_TRIGGERS).
	user *userCounts
}

// userCounts is count() of a probe done in user space: key bytes (the
// map's layout) to hits.
type userCounts struct {
	mu sync.Mutex
	n  map[string]uint64
}

var instanceSeq int

func (r *Run) startTracefs(ready func() error) error {
	if r.fs == nil {
		return fmt.Errorf("the tracefs backend needs tracefs, which is not mounted")
	}
	t := &tracefsRun{lines: make(chan string, 1024), errs: make(chan error, 16)}
	r.tfs = t
	r.group = tracefs.OwnerGroup(os.Getpid())
	r.fs.Sweep()
	ctx, cancel := context.WithCancel(context.Background())
	t.cancel = cancel
	for _, tp := range r.TracefsProbes {
		a := tp.Attach
		sys, ev := a.Target, a.Func
		file := ""
		if a.Type != script.Tracepoint {
			file = tracefs.KprobeEvents
			if a.Type == script.Uprobe || a.Type == script.Uretprobe || a.Type == script.USDT {
				file = tracefs.UprobeEvents
			}
			if tp.Fprobe {
				file = tracefs.DynamicEvents // fprobes have no file of their own
			}
			sys, ev = r.group, eventName(a)
			def, err := r.TracefsDefinition(tp, sys, ev)
			if err != nil {
				return err
			}
			if err := r.fs.AddDynamicEvent(file, def); err != nil {
				return fmt.Errorf("attaching %s: %w", a.Describe(), err)
			}
			r.dyn = append(r.dyn, dynEvent{file, sys, ev})
		}
		switch tp.Count {
		case script.CountProfile:
			// A probe is only installed while someone uses its event:
			// enable it in a private instance, with a filter that keeps
			// its ring empty (the hit counter counts before filters).
			if err := t.instance(r); err != nil {
				return err
			}
			if err := t.inst.SetFilter(sys, ev, "common_pid < 0"); err != nil {
				return fmt.Errorf("attaching %s: %w", a.Describe(), err)
			}
			// Counted from the moment the enable installs the probe: an
			// interrupt that comes right after it prints the hits so far
			// (the one-vCPU riscv64 guest's SIGINT came in between).
			t.counts = append(t.counts, tfsCount{tp: tp, file: file, sys: sys, event: ev})
			if err := t.inst.Enable(sys, ev); err != nil {
				return fmt.Errorf("attaching %s: %w", a.Describe(), err)
			}
		case script.CountHist:
			if !haveHistTriggers(r.fs) {
				uc := &userCounts{n: map[string]uint64{}}
				t.counts = append(t.counts, tfsCount{tp: tp, sys: sys, event: ev, user: uc})
				if err := t.streamCounts(ctx, r, tp, sys, ev, uc); err != nil {
					return fmt.Errorf("attaching %s: %w", a.Describe(), err)
				}
				break
			}
			if err := t.instance(r); err != nil {
				return err
			}
			if err := t.inst.AddTrigger(sys, ev, tp.Trigger); err != nil {
				return fmt.Errorf("count() of %s as a hist trigger (%q): %w", a.Describe(), tp.Trigger, err)
			}
			t.counts = append(t.counts, tfsCount{tp: tp, sys: sys, event: ev})
		}
		if tp.Printf != nil {
			if err := t.stream(ctx, r, tp, sys, ev); err != nil {
				return fmt.Errorf("attaching %s: %w", a.Describe(), err)
			}
		}
	}
	// bpftrace prints "Attaching N probes..." before it attaches; here it
	// comes once every probe is defined and counting or streaming, so that
	// whoever waits for the line to start a workload misses none of it.
	// Lines that fired since wait in t.lines, printed after it.
	r.attachedMessage(len(r.TracefsProbes))
	if ready != nil {
		return ready()
	}
	return nil
}

// instance makes the run's private instance on first use.
func (t *tracefsRun) instance(r *Run) error {
	if t.inst != nil {
		return nil
	}
	instanceSeq++
	inst, err := r.fs.NewInstance(fmt.Sprintf("%s_run%d", r.group, instanceSeq))
	if err != nil {
		return err
	}
	t.inst = inst
	return nil
}

// haveHistTriggers reports whether the kernel has hist triggers: the
// README of tracefs documents them when it does.
func haveHistTriggers(fs *tracefs.FS) bool {
	b, err := os.ReadFile(filepath.Join(fs.Root(), "README"))
	return err == nil && bytes.Contains(b, []byte("hist:keys="))
}

// stream opens a perf stream of sys:ev with the probe's filter and formats
// each event's printf.
func (t *tracefsRun) stream(ctx context.Context, r *Run, tp *script.TracefsProbe, sys, ev string) error {
	return t.open(ctx, r, sys, ev, tp.Filter, tp.Fields, func(vs []fieldValue) error {
		vals := make([]any, len(vs))
		for k, v := range vs {
			if tp.Printf.Args[k].Kind == script.KindString {
				vals[k] = v.b
			} else {
				vals[k] = v.u
			}
		}
		line, err := tp.FormatValues(r.Object, vals)
		if err != nil {
			return err
		}
		t.lines <- line
		return nil
	})
}

// streamCounts counts the events of sys:ev by the keys of the probe's hist
// trigger, in user space.
func (t *tracefsRun) streamCounts(ctx context.Context, r *Run, tp *script.TracefsProbe, sys, ev string, uc *userCounts) error {
	spec, _, _ := strings.Cut(strings.TrimPrefix(tp.Trigger, "hist:keys="), ":")
	fields := strings.Split(spec, ",")
	m := tp.CountMap
	if len(m.Keys) == 0 {
		fields = nil
	}
	return t.open(ctx, r, sys, ev, tp.Filter, fields, func(vs []fieldValue) error {
		var key []byte
		if len(m.Keys) == 0 {
			key = make([]byte, 4)
		}
		for i, kt := range m.Keys {
			slot := make([]byte, script.SlotSize(kt))
			if kt.Kind == script.KindString {
				copy(slot[:len(slot)-1], vs[i].b)
			} else {
				binary.NativeEndian.PutUint64(slot, vs[i].u)
			}
			key = append(key, slot...)
		}
		uc.mu.Lock()
		uc.n[string(key)]++
		uc.mu.Unlock()
		return nil
	})
}

// fieldValue is a record field: an integer, or a string's bytes.
type fieldValue struct {
	u uint64
	b []byte
}

// open streams sys:ev through package trace and calls fn with the named
// fields of each event.
func (t *tracefsRun) open(ctx context.Context, r *Run, sys, ev, filter string, fields []string, fn func([]fieldValue) error) error {
	instanceSeq++
	s, err := trace.New(trace.Options{Specs: []string{sys + ":" + ev}, Filter: filter, PID: r.opts.PID,
		FS: r.fs, Group: fmt.Sprintf("%s_s%d", r.group, instanceSeq)})
	if err != nil {
		return err
	}
	t.sessions = append(t.sessions, s)
	if err := s.Start(); err != nil {
		return err
	}
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		var idx []int
		vals := make([]fieldValue, len(fields))
		for {
			smp, err := s.Next(ctx)
			if errors.Is(err, trace.ErrIdle) {
				continue
			}
			if err != nil {
				if err != io.EOF && ctx.Err() == nil {
					t.errs <- err
				}
				return
			}
			if idx == nil {
				for _, f := range fields {
					i := -1
					for j, fd := range smp.Event.Format.Fields {
						if fd.Name == f {
							i = j
						}
					}
					if i < 0 && f != "common_pid" {
						t.errs <- fmt.Errorf("event %s:%s has no field %s", sys, ev, f)
						return
					}
					idx = append(idx, i)
				}
			}
			for k, i := range idx {
				if i < 0 {
					vals[k] = fieldValue{u: uint64(smp.Record.Pid)}
					continue
				}
				v := smp.Record.Values[i]
				switch v.Kind {
				case tracefs.KindInt:
					vals[k] = fieldValue{u: uint64(v.Int)}
				case tracefs.KindUint:
					vals[k] = fieldValue{u: v.Uint}
				default:
					vals[k] = fieldValue{b: append([]byte(nil), bytes.TrimRight(v.Bytes, "\x00")...)}
				}
			}
			if err := fn(vals); err != nil {
				t.errs <- err
				return
			}
		}
	}()
	return nil
}

// TracefsDefinition is the dynamic-event definition Start writes for tp
// as group/event, its uprobe's binary and symbol resolved as Start
// resolves them; "" for a tracepoint, which needs none. `run -d` prints it.
func (r *Run) TracefsDefinition(tp *script.TracefsProbe, group, event string) (string, error) {
	a := tp.Attach
	if a.Type == script.Tracepoint {
		return "", nil
	}
	loc := ""
	if a.Type == script.Uprobe || a.Type == script.Uretprobe || a.Type == script.USDT {
		path, off, err := r.uprobeTarget(a)
		if err == nil {
			var ref string
			ref, err = r.usdtRefCtrSuffix(a)
			loc = fmt.Sprintf("%s:%#x%s", path, off, ref)
		}
		if err != nil {
			return "", fmt.Errorf("attaching %s: %w", a.Describe(), err)
		}
	}
	return tp.Definition(group, event, loc)
}

func (r *Run) waitTracefs(ctx context.Context) error {
	t := r.tfs
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if stop := r.watch(cancel); stop != nil {
		defer stop()
	}
	var err error
loop:
	for {
		select {
		case l := <-t.lines:
			r.writeLine(l)
		case err = <-t.errs:
			break loop
		case <-ctx.Done():
			break loop
		}
	}
	for _, s := range t.sessions {
		s.Stop()
	}
	done := make(chan struct{})
	go func() { t.wg.Wait(); close(done) }()
	for {
		select {
		case l := <-t.lines:
			r.writeLine(l)
			continue
		case <-done:
		}
		break
	}
	for len(t.lines) > 0 {
		r.writeLine(<-t.lines)
	}
	if perr := r.printTracefsMaps(); err == nil {
		err = perr
	}
	return err
}

func (r *Run) writeLine(l string) {
	if r.opts.Format == JSONOutput {
		fmt.Fprintf(r.out, script.JSONHead+"\"printf\", \"data\": %s}\n", script.JSONString(l))
		return
	}
	io.WriteString(r.out, l)
}

// printTracefsMaps prints the count() maps from the kernel's counters.
func (r *Run) printTracefsMaps() error {
	entries := map[*script.MapInfo][]script.Entry{}
	for _, c := range r.tfs.counts {
		es, err := r.tfs.read(r.fs, c)
		if err != nil {
			return err
		}
		entries[c.tp.CountMap] = append(entries[c.tp.CountMap], es...)
	}
	read := func(m *script.Map) ([]script.Entry, error) { return mergeEntries(entries[m.Info]), nil }
	if r.opts.Format == JSONOutput {
		return r.Object.WriteMapsJSON(r.out, read, nil)
	}
	if !r.opts.Quiet {
		io.WriteString(r.out, "\n\n")
	}
	return r.Object.WriteMaps(r.out, read, nil)
}

// mergeEntries joins elements of one key (several probes counting into
// one map), their counts as separate per-CPU values, which printing sums.
func mergeEntries(es []script.Entry) []script.Entry {
	var out []script.Entry
	at := map[string]int{}
	for _, e := range es {
		if i, ok := at[string(e.Key)]; ok {
			out[i].Values = append(out[i].Values, e.Values...)
			continue
		}
		at[string(e.Key)] = len(out)
		out = append(out, e)
	}
	return out
}

func u64Bytes(v uint64) []byte { return binary.NativeEndian.AppendUint64(nil, v) }

// read turns a probe's counter into map elements.
func (t *tracefsRun) read(fs *tracefs.FS, c tfsCount) ([]script.Entry, error) {
	m := c.tp.CountMap
	if c.user != nil {
		c.user.mu.Lock()
		defer c.user.mu.Unlock()
		var out []script.Entry
		for k, n := range c.user.n {
			out = append(out, script.Entry{Key: []byte(k), Values: [][]byte{u64Bytes(n)}})
		}
		return out, nil
	}
	if c.tp.Count == script.CountProfile {
		prof, err := fs.Profile(strings.Replace(c.file, "_events", "_profile", 1))
		if err != nil {
			return nil, err
		}
		for _, p := range prof {
			if p.Event == c.event {
				return []script.Entry{{Key: make([]byte, 4), Values: [][]byte{u64Bytes(p.Hits)}}}, nil
			}
		}
		return nil, fmt.Errorf("%s: no hit counter for %s", c.file, c.event)
	}
	b, err := os.ReadFile(filepath.Join(t.inst.Path(), "events", c.sys, c.event, "hist"))
	if err != nil {
		return nil, err
	}
	var out []script.Entry
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(line, "{ ") {
			continue
		}
		keyPart, rest, ok := strings.Cut(line[2:], "} hitcount:")
		if !ok {
			continue
		}
		n, err := strconv.ParseUint(strings.Fields(rest)[0], 10, 64)
		if err != nil {
			continue
		}
		if len(m.Keys) == 0 {
			// keys=common_type: one line, the total.
			out = append(out, script.Entry{Key: make([]byte, 4), Values: [][]byte{u64Bytes(n)}})
			continue
		}
		vals := splitHistKeys(keyPart)
		if len(vals) != len(m.Keys) {
			continue
		}
		var key []byte
		for i, kt := range m.Keys {
			slot := make([]byte, script.SlotSize(kt))
			if kt.Kind == script.KindString {
				copy(slot[:len(slot)-1], vals[i])
			} else {
				x, err := strconv.ParseInt(vals[i], 0, 64)
				if err != nil {
					u, uerr := strconv.ParseUint(vals[i], 0, 64)
					if uerr != nil {
						continue
					}
					x = int64(u)
				}
				binary.NativeEndian.PutUint64(slot, uint64(x))
			}
			key = append(key, slot...)
		}
		out = append(out, script.Entry{Key: key, Values: [][]byte{u64Bytes(n)}})
	}
	return out, nil
}

// splitHistKeys takes "comm: bash      , arg2:          3 " apart into
// its values.
func splitHistKeys(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ", ") {
		_, v, ok := strings.Cut(part, ": ")
		if !ok {
			continue
		}
		out = append(out, strings.TrimSpace(v))
	}
	return out
}

func (t *tracefsRun) close() error {
	if t.cancel != nil {
		t.cancel()
	}
	var errs []error
	for _, s := range t.sessions {
		errs = append(errs, s.Close())
	}
	t.wg.Wait()
	if t.inst != nil {
		errs = append(errs, t.inst.Close())
	}
	return errors.Join(errs...)
}
