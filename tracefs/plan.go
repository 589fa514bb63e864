package tracefs

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/tracelet/tracelet/kprobeevents"
	"golang.org/x/sys/unix"
)

// A Plan is the persistent tracefs state of a probe script: what `tracelet
// apply` installs and leaves behind without a running tracelet, what
// `tracelet revert` removes, and what the boot paths (kprobe_event=,
// bootconfig) express. A script compiles to one Plan (record.PlanFromScript,
// through the script language's tracefs backend); ParsePlan reads one from
// a plan file.
//
// Everything a Plan installs carries its name: the probes are in Group
// (tracelet_NAME) and the events are enabled in a private instance
// (instances/tracelet_NAME), so that Revert can remove exactly that and a
// foreign probe, or a probe of another plan, is never touched. The name is
// not a pid, so no Sweep ever takes a plan's state for a dead tracelet's
// leftovers.
type Plan struct {
	// Name is the script's name ([A-Za-z_][A-Za-z0-9_]*).
	Name string
	// Group holds the plan's probes: "tracelet_" + Name unless a probe
	// names another tracelet group.
	Group string
	// Probes are the dynamic events to define, each with a group of ours.
	Probes []*kprobeevents.Probe
	// Events are enabled in Instance, each with its filter and triggers:
	// one per probe (System is the probe's group) and one per tracepoint.
	Events []PlanEvent
	// Instance is the private instance the events record into.
	Instance string
	// BufferSizeKB is each CPU's ring in the instance (0: the kernel's
	// default).
	BufferSizeKB int

	// owner is the pid whose owner names an Owned plan uses.
	owner int
}

// Owned returns a copy of the plan for a run of process pid that must not
// outlive it (`tracelet record`): its probes move into the owner group
// tracelet_<pid> and its instance becomes tracelet_<pid>_<suffix>, so that
// Sweep removes both if the process is SIGKILLed.
func (p *Plan) Owned(pid int, suffix string) *Plan {
	q := *p
	q.owner = pid
	q.Group = OwnerGroup(pid)
	q.Instance = OwnerGroup(pid) + "_" + suffix
	q.Probes = nil
	q.Events = make([]PlanEvent, len(p.Events))
	copy(q.Events, p.Events)
	for i := range q.Events {
		e := &q.Events[i]
		if e.Probe == nil {
			continue
		}
		pr := *e.Probe
		pr.Group = q.Group
		e.Probe, e.System = &pr, q.Group
		q.Probes = append(q.Probes, &pr)
	}
	return &q
}

// isPlanName accepts the names a plan may use: persistent tracelet names,
// and for an Owned plan its own owner names.
func (p *Plan) isPlanName(name string) bool {
	if pid, ok := ParseOwnerGroup(name); ok {
		return p.owner != 0 && pid == p.owner
	}
	return isPersistentName(name)
}

// PlanEvent is one event a Plan enables, in the instance.
type PlanEvent struct {
	System, Event string
	// Filter is the event filter ("" for none).
	Filter string
	// Triggers are event triggers ("traceoff", "stacktrace if pid == 1").
	Triggers []string
	// Probe is the definition when the event is one of the plan's probes,
	// nil for a tracepoint.
	Probe *kprobeevents.Probe
}

// Name is SYSTEM:EVENT.
func (e *PlanEvent) Name() string { return e.System + ":" + e.Event }

// PlanGroup is the group, and the instance, of the plan called name.
func PlanGroup(name string) string { return ownerPrefix + name }

// checkPlanName keeps a plan's group and instance names apart from owner
// groups (tracelet_<pid>), which Sweep removes when that pid is dead.
func checkPlanName(name string) error {
	if name == "" {
		return errors.New("tracefs: plan has no name")
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		ok := c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9'
		if !ok {
			return fmt.Errorf("tracefs: plan name %q: col %d: %q is not allowed (letters, digits and '_', not starting with a digit, so that tracelet_%s cannot be taken for a process's owner group)", name, i, c, name)
		}
	}
	if len(PlanGroup(name)) >= maxNameLen {
		return fmt.Errorf("tracefs: plan name %q is too long: the group %s must be under %d characters", name, PlanGroup(name), maxNameLen)
	}
	return nil
}

// isPersistentName reports whether name is one of tracelet's names that no
// sweep removes: ours, and not an owner group.
func isPersistentName(name string) bool {
	_, owner := ParseOwnerGroup(name)
	return IsOwnGroup(name) && !owner
}

// PlanNameFromPath derives a plan name from a plan file's name: its base
// name without extension, with characters a group name cannot hold made
// '_' (and a leading digit prefixed with '_').
func PlanNameFromPath(path string) string {
	base := filepath.Base(path)
	if i := strings.IndexByte(base, '.'); i > 0 {
		base = base[:i]
	}
	b := []byte(base)
	for i, c := range b {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			b[i] = '_'
		}
	}
	if len(b) == 0 || b[0] >= '0' && b[0] <= '9' {
		b = append([]byte{'_'}, b...)
	}
	return string(b)
}

// Event returns the plan's event system:event, or nil.
func (p *Plan) Event(system, event string) *PlanEvent {
	for i := range p.Events {
		if p.Events[i].System == system && p.Events[i].Event == event {
			return &p.Events[i]
		}
	}
	return nil
}

// Validate checks the plan's names: a persistent group and instance of
// tracelet's, probes only in tracelet groups that are not owner groups,
// no event twice, filters and triggers that cannot smuggle a command.
func (p *Plan) Validate() error {
	if err := checkPlanName(p.Name); err != nil {
		return err
	}
	for _, n := range []struct{ what, v string }{{"group", p.Group}, {"instance", p.Instance}} {
		if err := checkName(n.what, n.v); err != nil {
			return err
		}
		if !p.isPlanName(n.v) {
			return fmt.Errorf("tracefs: plan %s: %s %q must be tracelet_<name>, where <name> is not a pid (tracelet_<pid> belongs to one tracelet process and is swept when it dies)", p.Name, n.what, n.v)
		}
	}
	if p.BufferSizeKB < 0 {
		return fmt.Errorf("tracefs: plan %s: buffer size %d KiB is negative", p.Name, p.BufferSizeKB)
	}
	seen := map[string]bool{}
	for _, pr := range p.Probes {
		g := pr.GroupName()
		if !p.isPlanName(g) {
			return fmt.Errorf("tracefs: plan %s: probe %s: group %q must be tracelet_<name> (not a pid), so that revert can tell the plan's probes from everyone else's", p.Name, pr.EventName(), g)
		}
		if p.Event(g, pr.EventName()) == nil {
			return fmt.Errorf("tracefs: plan %s: probe %s/%s has no event entry", p.Name, g, pr.EventName())
		}
	}
	for _, e := range p.Events {
		if err := checkEvent(e.System, e.Event); err != nil {
			return err
		}
		if seen[e.Name()] {
			return fmt.Errorf("tracefs: plan %s: event %s appears twice", p.Name, e.Name())
		}
		seen[e.Name()] = true
		if e.Filter != "" {
			if err := CheckFilter(e.Filter); err != nil {
				return fmt.Errorf("plan %s: event %s: %w", p.Name, e.Name(), err)
			}
		}
		for _, t := range e.Triggers {
			if err := checkCommand("trigger", t); err != nil {
				return fmt.Errorf("plan %s: event %s: %w", p.Name, e.Name(), err)
			}
			if strings.HasPrefix(strings.TrimSpace(t), "!") {
				return fmt.Errorf("tracefs: plan %s: event %s: trigger %q starts with '!', which removes a trigger", p.Name, e.Name(), t)
			}
		}
	}
	return nil
}

// PlanError is a line of a plan file that cannot be read.
type PlanError struct {
	File string
	Line int
	// Col is 1-based, 0 if the whole line is blamed: file:line:col is
	// what editors and compilers use (and script errors print), unlike the
	// 0-based caret columns of every other tracelet error.
	Col  int
	Text string
	Err  error
}

func (e *PlanError) Error() string {
	pos := e.File + ":" + strconv.Itoa(e.Line)
	if e.Col > 0 {
		pos += ":" + strconv.Itoa(e.Col)
	}
	return pos + ": " + e.Err.Error()
}

func (e *PlanError) Unwrap() error { return e.Err }

// ParsePlan reads a plan file. The format is line based; blank lines and
// lines starting with '#' are ignored, and every other line is one of:
//
//	SPEC                      a probe as `tracelet trace` takes it: kernel syntax
//	                          ("p:open do_sys_openat2 dfd=$arg1") or perf-tools
//	                          shorthand ("p:bash:readline"), or a tracepoint
//	                          SYSTEM:EVENT ("sched:sched_process_exec")
//	name NAME                 the plan's name (default: the file's base name)
//	instance NAME [SIZE_KB]   the instance's name (tracelet_<name>, default
//	                          tracelet_NAME) and per-CPU buffer size in KiB
//	filter EVENT EXPR         the event filter of EVENT; EXPR is the rest of the line
//	trigger EVENT TRIGGER     an event trigger of EVENT; TRIGGER is the rest of the line
//
// EVENT is a probe's event name, GROUP/EVENT or SYSTEM:EVENT. A probe
// without a group goes into tracelet_NAME. A tracepoint must be listed
// before a filter or trigger names it. Uprobe shorthand is resolved to a
// file and offset now, so the plan pins the binary it was read against.
func ParsePlan(file string, src []byte, opts kprobeevents.Options) (*Plan, error) {
	p := &Plan{Name: PlanNameFromPath(file)}
	type deferred struct {
		line, col int
		text      string
		kind      string
		event     string
		arg       string
	}
	var specs []struct {
		line int
		text string
	}
	var later []deferred
	sc := bufio.NewScanner(bytes.NewReader(src))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	n := 0
	perr := func(line, col int, text string, err error) error {
		return &PlanError{File: file, Line: line, Col: col, Text: text, Err: err}
	}
	instanceSet := false
	for sc.Scan() {
		n++
		raw := sc.Text()
		line := strings.TrimSpace(raw)
		if line == "" || line[0] == '#' {
			continue
		}
		indent := strings.Index(raw, line)
		word, rest, _ := strings.Cut(line, " ")
		rest = strings.TrimSpace(rest)
		switch word {
		case "name":
			if err := checkPlanName(rest); err != nil {
				return nil, perr(n, indent+6, raw, err)
			}
			p.Name = rest
		case "instance":
			f := strings.Fields(rest)
			if len(f) < 1 || len(f) > 2 {
				return nil, perr(n, 0, raw, errors.New("want: instance NAME [SIZE_KB]"))
			}
			p.Instance = f[0]
			instanceSet = true
			if len(f) == 2 {
				kb, err := strconv.Atoi(f[1])
				if err != nil || kb <= 0 {
					return nil, perr(n, indent+strings.LastIndex(line, f[1])+1, raw, fmt.Errorf("buffer size %q: want a positive number of KiB", f[1]))
				}
				p.BufferSizeKB = kb
			}
		case "filter", "trigger":
			ev, arg, _ := strings.Cut(rest, " ")
			arg = strings.TrimSpace(arg)
			if ev == "" || arg == "" {
				return nil, perr(n, 0, raw, fmt.Errorf("want: %s EVENT %s", word, map[string]string{"filter": "EXPR", "trigger": "TRIGGER"}[word]))
			}
			later = append(later, deferred{line: n, col: indent + len(word) + 2, text: raw, kind: word, event: ev, arg: arg})
		default:
			specs = append(specs, struct {
				line int
				text string
			}{n, line})
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if err := checkPlanName(p.Name); err != nil {
		return nil, perr(0, 0, "", fmt.Errorf("%w; set one with a \"name NAME\" line", err))
	}
	p.Group = PlanGroup(p.Name)
	if !instanceSet {
		p.Instance = p.Group
	}
	for _, s := range specs {
		if isTracepointSpec(s.text) {
			sys, ev, _ := strings.Cut(s.text, ":")
			if err := checkEvent(sys, ev); err != nil {
				return nil, perr(s.line, 1, s.text, err)
			}
			if p.Event(sys, ev) != nil {
				return nil, perr(s.line, 1, s.text, fmt.Errorf("event %s:%s appears twice", sys, ev))
			}
			p.Events = append(p.Events, PlanEvent{System: sys, Event: ev})
			continue
		}
		pr, err := ParseSpec(s.text, opts, p.Group)
		if err != nil {
			col := 0
			var ke *kprobeevents.Error
			if errors.As(err, &ke) {
				col = ke.Col + 1
			}
			return nil, perr(s.line, col, s.text, err)
		}
		if p.Event(pr.GroupName(), pr.EventName()) != nil {
			return nil, perr(s.line, 1, s.text, fmt.Errorf("event %s/%s is defined twice", pr.GroupName(), pr.EventName()))
		}
		p.Probes = append(p.Probes, pr)
		p.Events = append(p.Events, PlanEvent{System: pr.GroupName(), Event: pr.EventName(), Probe: pr})
	}
	for _, d := range later {
		e := p.lookup(d.event)
		if e == nil {
			return nil, perr(d.line, d.col, d.text, fmt.Errorf("no event %q in the plan (name a probe's EVENT or GROUP/EVENT, or a tracepoint SYSTEM:EVENT listed in the plan)", d.event))
		}
		if d.kind == "filter" {
			if e.Filter != "" {
				return nil, perr(d.line, d.col, d.text, fmt.Errorf("event %s has a filter already; combine them with && or ||", e.Name()))
			}
			e.Filter = d.arg
		} else {
			e.Triggers = append(e.Triggers, d.arg)
		}
	}
	if len(p.Events) == 0 {
		return nil, perr(0, 0, "", errors.New("the plan defines no probe and names no tracepoint"))
	}
	if err := p.Validate(); err != nil {
		return nil, perr(0, 0, "", err)
	}
	return p, nil
}

// isTracepointSpec is trace.IsTracepoint: one word with exactly one colon.
func isTracepointSpec(s string) bool {
	return !strings.ContainsAny(s, " \t") && strings.Count(s, ":") == 1
}

// lookup finds an event by EVENT (a probe's event name), GROUP/EVENT or
// SYSTEM:EVENT.
func (p *Plan) lookup(name string) *PlanEvent {
	if sys, ev, ok := strings.Cut(name, ":"); ok {
		return p.Event(sys, ev)
	}
	if g, ev, ok := strings.Cut(name, "/"); ok {
		return p.Event(g, ev)
	}
	var found *PlanEvent
	for i := range p.Events {
		if p.Events[i].Probe != nil && p.Events[i].Event == name {
			if found != nil {
				return nil // ambiguous
			}
			found = &p.Events[i]
		}
	}
	return found
}

// PlanChange is one thing Apply or Revert did (or, with nothing to do,
// found already in place).
type PlanChange struct {
	Action string // "added", "replaced", "created", "set", "enabled", "removed", "disabled"
	What   string // "probe tracelet_x/ev", "instance tracelet_x", "filter of sys:ev"...
	Detail string
}

func (c PlanChange) String() string {
	s := c.Action + " " + c.What
	if c.Detail != "" {
		s += ": " + c.Detail
	}
	return s
}

// Apply makes tracefs hold the plan's state, comparing what exists with what
// is wanted: a probe that exists with the same definition is kept, one with
// another definition is replaced; the instance is created when missing;
// buffer size, filters, triggers and enables are written only when they
// differ. Applying a plan twice therefore changes nothing the second time
// (the returned list is empty). Nothing outside the plan is touched.
func (fs *FS) Apply(p *Plan) ([]PlanChange, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	var changes []PlanChange
	// Check every tracepoint before writing anything.
	for _, e := range p.Events {
		if e.Probe == nil {
			if _, err := fs.EventID(e.System, e.Event); err != nil {
				return nil, fmt.Errorf("tracefs: plan %s: tracepoint %s: %w", p.Name, e.Name(), err)
			}
		}
	}
	if err := fs.checkTriggerCommands(p); err != nil {
		return nil, err
	}
	existing, err := fs.definedEvents()
	if err != nil {
		return nil, err
	}
	for _, pr := range p.Probes {
		key := pr.GroupName() + "/" + pr.EventName()
		have, ok := existing[key]
		switch {
		case ok && sameDefinition(have.Raw, pr):
			continue
		case ok:
			if err := fs.removeProbe(OwnProbe{File: have.file, Group: have.Group, Event: have.Event}); err != nil {
				return changes, fmt.Errorf("tracefs: plan %s: replacing %s: %w", p.Name, key, err)
			}
			if err := fs.AddProbe(pr); err != nil {
				return changes, err
			}
			changes = append(changes, PlanChange{"replaced", "probe " + key, pr.String()})
		default:
			if err := fs.AddProbe(pr); err != nil {
				return changes, err
			}
			changes = append(changes, PlanChange{"added", "probe " + key, pr.String()})
		}
	}
	dir := fs.path(filepath.Join("instances", p.Instance))
	if err := os.Mkdir(dir, 0o700); err == nil {
		changes = append(changes, PlanChange{Action: "created", What: "instance " + p.Instance})
	} else if !os.IsExist(err) {
		return changes, fmt.Errorf("tracefs: creating instance %s: %w", p.Instance, err)
	}
	in := &Instance{fs: fs, name: p.Instance, dir: dir, closed: true}
	if p.BufferSizeKB > 0 {
		if cur, err := in.BufferSizeKB(); err != nil || !sameBufferSize(cur, p.BufferSizeKB) {
			if err := in.SetBufferSizeKB(p.BufferSizeKB); err != nil {
				return changes, fmt.Errorf("tracefs: instance %s: buffer_size_kb: %w", p.Instance, err)
			}
			changes = append(changes, PlanChange{"set", "buffer size of " + p.Instance, strconv.Itoa(p.BufferSizeKB) + " KiB"})
		}
	}
	for _, e := range p.Events {
		cur, err := readFilter(eventFile(dir, e.System, e.Event, "filter"))
		if err != nil {
			return changes, fmt.Errorf("tracefs: plan %s: %s: %w", p.Name, e.Name(), err)
		}
		switch {
		case e.Filter == "" && cur != "":
			if err := in.ClearFilter(e.System, e.Event); err != nil {
				return changes, err
			}
			changes = append(changes, PlanChange{Action: "cleared", What: "filter of " + e.Name()})
		case e.Filter != "" && cur != strings.TrimSpace(e.Filter):
			if err := in.SetFilter(e.System, e.Event, e.Filter); err != nil {
				return changes, err
			}
			changes = append(changes, PlanChange{"set", "filter of " + e.Name(), e.Filter})
		}
		have, err := in.Triggers(e.System, e.Event)
		if err != nil {
			return changes, err
		}
		for _, t := range e.Triggers {
			if hasTrigger(have, t) {
				continue
			}
			if err := in.AddTrigger(e.System, e.Event, t); err != nil {
				if errors.Is(err, unix.EEXIST) {
					continue // the kernel holds one trigger of this command already
				}
				return changes, err
			}
			changes = append(changes, PlanChange{"added", "trigger of " + e.Name(), t})
		}
		on, err := readSmall(eventFile(dir, e.System, e.Event, "enable"), 64)
		if err != nil {
			return changes, err
		}
		if !isEnabled(on) {
			if err := in.Enable(e.System, e.Event); err != nil {
				return changes, err
			}
			changes = append(changes, PlanChange{Action: "enabled", What: e.Name() + " in " + p.Instance})
		}
	}
	return changes, nil
}

// Revert removes what Apply installed for p and nothing else: the plan's
// instance (its enables, filters and triggers go with it), then each of the
// plan's probes that exists, after disabling it everywhere. Other probes,
// in the plan's group or elsewhere, survive. Reverting what is not applied
// does nothing.
func (fs *FS) Revert(p *Plan) ([]PlanChange, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	var changes []PlanChange
	var errs []error
	if _, err := os.Stat(fs.path(filepath.Join("instances", p.Instance))); err == nil {
		if err := removeInstanceDir(fs, p.Instance); err != nil {
			errs = append(errs, err)
		} else {
			changes = append(changes, PlanChange{Action: "removed", What: "instance " + p.Instance})
		}
	}
	existing, err := fs.definedEvents()
	if err != nil {
		return changes, errors.Join(append(errs, err)...)
	}
	for _, pr := range p.Probes {
		key := pr.GroupName() + "/" + pr.EventName()
		have, ok := existing[key]
		if !ok {
			continue
		}
		if err := fs.removeProbe(OwnProbe{File: have.file, Group: have.Group, Event: have.Event}); err != nil {
			errs = append(errs, fmt.Errorf("tracefs: removing %s: %w", key, err))
			continue
		}
		changes = append(changes, PlanChange{Action: "removed", What: "probe " + key})
	}
	return changes, errors.Join(errs...)
}

// PlanStatus is what of a plan is in tracefs now.
type PlanStatus struct {
	Instance       string
	InstanceExists bool
	BufferSizeKB   int
	// Entries and Overrun add up the instance's per-CPU stats: events in
	// the ring now, and events lost by overwriting.
	Entries, Overrun uint64
	Events           []EventStatus
}

// EventStatus is one event of a plan as tracefs shows it.
type EventStatus struct {
	System, Event string
	Probe         bool   // a dynamic event of the plan (not a tracepoint)
	Defined       bool   // the probe exists (tracepoints: the event exists)
	Current       bool   // the probe's definition is the plan's
	Enabled       bool   // enabled in the plan's instance
	Filter        string // the instance's filter now ("" for none)
	FilterOK      bool
	TriggersOK    bool
	HasHits       bool // Hits is known: kprobe_profile or uprobe_profile counts the probe
	Hits, Misses  uint64
}

// Applied reports whether the event is exactly as the plan wants it.
func (s EventStatus) Applied() bool {
	return s.Defined && (s.Current || !s.Probe) && s.Enabled && s.FilterOK && s.TriggersOK
}

// Applied reports whether the whole plan is in place.
func (s *PlanStatus) Applied() bool {
	if !s.InstanceExists {
		return false
	}
	for _, e := range s.Events {
		if !e.Applied() {
			return false
		}
	}
	return true
}

// Status compares tracefs with the plan and reports, per event, whether it
// is defined, current, enabled and filtered as planned, with the probe's
// hit count.
func (fs *FS) Status(p *Plan) (*PlanStatus, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	st := &PlanStatus{Instance: p.Instance}
	dir := fs.path(filepath.Join("instances", p.Instance))
	in := &Instance{fs: fs, name: p.Instance, dir: dir, closed: true}
	if _, err := os.Stat(dir); err == nil {
		st.InstanceExists = true
		st.BufferSizeKB, _ = in.BufferSizeKB()
		st.Entries, st.Overrun = instanceStats(dir)
	}
	existing, err := fs.definedEvents()
	if err != nil {
		return nil, err
	}
	hits := map[string]ProfileEntry{}
	for _, f := range []string{"kprobe_profile", "uprobe_profile"} {
		if !fs.Has(f) {
			continue
		}
		ents, err := fs.Profile(f)
		if err != nil {
			return nil, err
		}
		for _, e := range ents {
			if _, dup := hits[e.Event]; !dup {
				hits[e.Event] = e
			}
		}
	}
	for _, e := range p.Events {
		es := EventStatus{System: e.System, Event: e.Event, Probe: e.Probe != nil}
		if e.Probe != nil {
			have, ok := existing[e.System+"/"+e.Event]
			es.Defined = ok
			es.Current = ok && sameDefinition(have.Raw, e.Probe)
			if h, ok := hits[e.Event]; ok && es.Defined {
				es.HasHits, es.Hits, es.Misses = true, h.Hits, h.Misses
			}
		} else {
			_, err := os.Stat(eventFile(fs.root, e.System, e.Event, "id"))
			es.Defined = err == nil
		}
		if st.InstanceExists && es.Defined {
			if b, err := readSmall(eventFile(dir, e.System, e.Event, "enable"), 64); err == nil {
				es.Enabled = isEnabled(b)
			}
			if f, err := readFilter(eventFile(dir, e.System, e.Event, "filter")); err == nil {
				es.Filter = f
				es.FilterOK = f == strings.TrimSpace(e.Filter)
			}
			if ts, err := in.Triggers(e.System, e.Event); err == nil {
				es.TriggersOK = true
				for _, t := range e.Triggers {
					if !hasTrigger(ts, t) {
						es.TriggersOK = false
					}
				}
			}
		}
		st.Events = append(st.Events, es)
	}
	return st, nil
}

// definedEvent is a line of kprobe_events or uprobe_events and its file.
type definedEvent struct {
	DynamicEvent
	file string
}

// definedEvents lists every kprobe and uprobe by GROUP/EVENT.
func (fs *FS) definedEvents() (map[string]definedEvent, error) {
	out := map[string]definedEvent{}
	for _, f := range []string{KprobeEvents, UprobeEvents} {
		if !fs.Has(f) {
			continue
		}
		evs, err := fs.DynamicEvents(f)
		if err != nil {
			return nil, err
		}
		for _, ev := range evs {
			out[ev.Group+"/"+ev.Event] = definedEvent{ev, f}
		}
	}
	return out, nil
}

// sameDefinition compares the line the kernel prints for an event with the
// probe we want, both in canonical form: the kernel prints a definition back
// the way kprobeevents formats it, except for details (spacing, padding of
// offsets) that parsing and formatting again smooths out.
func sameDefinition(printed string, want *kprobeevents.Probe) bool {
	got, err := kprobeevents.ParseProbe(printed, kprobeevents.Options{Arch: KernelArch(), Target: targetOf(want)})
	if err != nil {
		return strings.TrimSpace(printed) == want.String()
	}
	// A kretprobe defined without MAXACTIVE gets the kernel's default
	// (max(10, 2*nr_possible_cpus)), and kernels before 6.5 print that
	// default back ("r10:grp/ev ..."): only a MAXACTIVE we asked for is
	// part of the definition.
	if want.MaxActive == 0 {
		got.MaxActive = 0
	}
	// SYM%return is printed back in the r: form.
	got.Return = want.Return
	if got.String() == want.String() {
		return true
	}
	// An entry probe that AddDynamicEvent placed past ftrace's patch site
	// on a kernel that refused SYM+0.
	moved, err := kprobeevents.PastFtraceSite(want, KernelArch())
	return err == nil && got.String() == moved.String()
}

func targetOf(p *kprobeevents.Probe) kprobeevents.Target {
	switch {
	case p.Type.IsFprobe() || p.Type == kprobeevents.Eprobe:
		return kprobeevents.TargetAuto
	case p.Type.IsUser():
		return kprobeevents.TargetUprobe
	}
	return kprobeevents.TargetKprobe
}

// readFilter reads an event's filter file: "none" when there is none.
func readFilter(path string) (string, error) {
	b, err := readSmall(path, 64<<10)
	if err != nil {
		return "", err
	}
	s := strings.TrimSpace(string(b))
	if s == "none" {
		return "", nil
	}
	return s, nil
}

// hasTrigger compares a wanted trigger with the kernel's listing, which
// spells counts and defaults its own way: "traceoff" lists as
// "traceoff:unlimited", "snapshot:5" as "snapshot:count=5".
func hasTrigger(have []string, want string) bool {
	w := normTrigger(want)
	for _, h := range have {
		if normTrigger(h) == w {
			return true
		}
	}
	return false
}

func normTrigger(t string) string {
	t = strings.Join(strings.Fields(t), " ")
	head, cond, hasCond := strings.Cut(t, " if ")
	// A hist trigger is listed with its table size, 2048 unless asked
	// otherwise (event_hist_trigger_print).
	if strings.HasPrefix(head, "hist") {
		head = strings.Replace(head, ":size=2048", "", 1)
	}
	// A counted trigger counts down as it fires ("stacktrace:count=0"
	// after three hits of "stacktrace:3"), so counts are not compared:
	// the trigger is the same one, and re-adding it would fail (EEXIST).
	if cmd, arg, ok := strings.Cut(head, ":"); ok && !strings.HasPrefix(cmd, "hist") {
		parts := strings.Split(arg, ":")
		keep := parts[:0]
		for _, a := range parts {
			if a == "unlimited" || strings.HasPrefix(a, "count=") || isDigits(a) {
				continue
			}
			keep = append(keep, a)
		}
		head = cmd
		if len(keep) > 0 {
			head += ":" + strings.Join(keep, ":")
		}
	}
	if hasCond {
		return head + " if " + cond
	}
	return head
}

// instanceStats adds up "entries:" and "overrun:" of per_cpu/cpuN/stats.
func instanceStats(dir string) (entries, overrun uint64) {
	cpus, _ := filepath.Glob(filepath.Join(dir, "per_cpu", "cpu*"))
	for _, c := range cpus {
		b, err := readSmall(filepath.Join(c, "stats"), 4096)
		if err != nil {
			continue
		}
		for _, l := range strings.Split(string(b), "\n") {
			k, v, ok := strings.Cut(l, ":")
			if !ok {
				continue
			}
			n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
			if err != nil {
				continue
			}
			switch k {
			case "entries":
				entries += n
			case "overrun":
				overrun += n
			}
		}
	}
	return entries, overrun
}

// OpenInstance returns an existing instance (one a plan applied, or one that
// bootconfig created) for reading. Its Close does nothing: the instance is
// not ours to remove; Revert removes a plan's.
func (fs *FS) OpenInstance(name string) (*Instance, error) {
	if err := checkPathElem("instance", name); err != nil {
		return nil, err
	}
	dir := fs.path(filepath.Join("instances", name))
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		names, _ := fs.PersistentInstances()
		hint := "none exists"
		if len(names) > 0 {
			hint = "tracelet's are: " + strings.Join(names, ", ")
		}
		return nil, fmt.Errorf("tracefs: instance %q: %w (%s)", name, ErrNotFound, hint)
	}
	return &Instance{fs: fs, name: name, dir: dir, closed: true}, nil
}

// TopInstance is the top-level trace array, the global buffer that the
// kprobe_event= boot parameter enables its events in. Its Close does
// nothing. Reading its trace_pipe_raw consumes the global buffer that other
// tools may read too: do it only when asked to.
func (fs *FS) TopInstance() *Instance {
	return &Instance{fs: fs, name: "", dir: fs.root, closed: true}
}

// PersistentInstances lists the instances named tracelet_<name> that are not
// owner instances: those of applied plans and of bootconfig.
func (fs *FS) PersistentInstances() ([]string, error) {
	ents, err := os.ReadDir(fs.path("instances"))
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		if e.IsDir() && isPersistentName(e.Name()) {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out, nil
}

// EnabledEvents lists the events enabled in the instance, from its set_event
// file ("system:event" lines).
func (in *Instance) EnabledEvents() ([][2]string, error) {
	b, err := readSmall(filepath.Join(in.dir, "set_event"), 16<<20)
	if err != nil {
		return nil, err
	}
	var out [][2]string
	for _, l := range strings.Split(string(b), "\n") {
		if sys, ev, ok := strings.Cut(strings.TrimSpace(l), ":"); ok {
			out = append(out, [2]string{sys, ev})
		}
	}
	return out, nil
}

// sameBufferSize compares buffer_size_kb as read back with the size
// written: the kernel allocates whole pages, each holding a little less than
// a page of data (BUF_PAGE_SIZE), and prints the size of what it allocated,
// so 512 reads back as 513 with 4 KiB pages.
func sameBufferSize(cur, want int) bool {
	return cur >= want && cur <= want+want/128+4
}

// isEnabled reads an event's enable file (event_enable_read): "1" when it
// records, "0" when not, with a '*' appended in soft mode, when triggers
// are attached ("1*") or the event is only armed for them ("0*").
func isEnabled(b []byte) bool {
	return strings.HasPrefix(strings.TrimSpace(string(b)), "1")
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// checkTriggerCommands refuses, before anything is written, a trigger whose
// command this kernel lacks: every event's trigger file starts with
// "# Available triggers:" and the commands the kernel was built with (hist
// needs CONFIG_HIST_TRIGGERS, snapshot CONFIG_TRACER_SNAPSHOT).
func (fs *FS) checkTriggerCommands(p *Plan) error {
	var avail map[string]bool
	for _, e := range p.Events {
		for _, t := range e.Triggers {
			if avail == nil {
				avail = fs.availableTriggers()
				if avail == nil {
					return nil // no listing to check against: let the kernel judge
				}
			}
			cmd := strings.TrimSpace(t)
			if i := strings.IndexAny(cmd, ": "); i >= 0 {
				cmd = cmd[:i]
			}
			if !avail[cmd] {
				have := make([]string, 0, len(avail))
				for c := range avail {
					have = append(have, c)
				}
				sort.Strings(have)
				return fmt.Errorf("tracefs: plan %s: event %s: trigger %q: this kernel has no %q trigger (it has: %s)", p.Name, e.Name(), t, cmd, strings.Join(have, " "))
			}
		}
	}
	return nil
}

// availableTriggers reads the trigger commands from the header of an
// event's trigger file, or returns nil when none can be read.
func (fs *FS) availableTriggers() map[string]bool {
	files, _ := filepath.Glob(fs.path("events/sched/*/trigger"))
	if len(files) == 0 {
		files, _ = filepath.Glob(fs.path("events/*/*/trigger"))
	}
	if len(files) == 0 {
		return nil
	}
	b, err := readSmall(files[0], 64<<10)
	if err != nil {
		return nil
	}
	for _, l := range strings.Split(string(b), "\n") {
		if l == "# Available triggers:" || !strings.HasPrefix(l, "# ") {
			continue
		}
		out := map[string]bool{}
		for _, c := range strings.Fields(l[2:]) {
			out[c] = true
		}
		return out
	}
	return nil
}
