package tracefs

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/tracelet/tracelet/kprobeevents"
)

// PersistentGroup holds the probes that `tracelet probe add` defines for the
// user. They outlive the process that wrote them, so the group names no
// owner pid and no sweep ever removes it; `probe del` and `probe clear` do.
const PersistentGroup = "tracelet"

// IsOwnGroup reports whether group is one of tracelet's: the persistent
// group, or a name beginning "tracelet_" (owner groups, and persistent
// groups the user named tracelet_<name>). Everything else belongs to
// somebody else and is never touched.
func IsOwnGroup(group string) bool {
	return group == PersistentGroup || strings.HasPrefix(group, ownerPrefix) && len(group) > len(ownerPrefix)
}

// ControlFile is the file a probe of type t is written to. fprobes,
// tracepoint probes and event probes have no file of their own: only
// dynamic_events takes them.
func ControlFile(t kprobeevents.ProbeType) string {
	switch {
	case t.IsFprobe() || t == kprobeevents.Eprobe:
		return DynamicEvents
	case t.IsUser():
		return UprobeEvents
	}
	return KprobeEvents
}

// AddProbe writes one validated probe into its control file; a kprobe the
// kernel refused at SYM+0 because ftrace owns it is placed past ftrace's
// patch site, and p is updated to what was written. The probe must
// be in one of our groups: a definition for the kernel's default group
// ("kprobes", "uprobes") or another tool's group is refused, because we
// could not later tell it from someone else's probe.
func (fs *FS) AddProbe(p *kprobeevents.Probe) error {
	g := p.GroupName()
	if !IsOwnGroup(g) {
		return fmt.Errorf("tracefs: probe %s: group %q is not tracelet's; use %q or a group named tracelet_<name>, so tracelet can tell its probes from other tools'", p.EventName(), g, PersistentGroup)
	}
	file := ControlFile(p.Type)
	if !fs.Has(file) {
		return fmt.Errorf("tracefs: %s: %w (this kernel has no %s)", file, ErrNotAvailable, file)
	}
	def := p.String()
	if p.Type == kprobeevents.Eprobe && p.Filter != "" {
		// The kernel keeps an event probe's filter but does not print
		// it back; it must be written with the definition.
		def += " if " + p.Filter
	}
	if file == KprobeEvents {
		if err := checkCommand("definition", def); err != nil {
			return err
		}
		// An entry probe the kernel took past ftrace's patch site is
		// the probe from now on (Notices says so once).
		placed, err := fs.addKprobeEvent(def)
		if placed != nil {
			*p = *placed
		}
		return err
	}
	return fs.AddDynamicEvent(file, def)
}

// OwnProbe is one of tracelet's probes as the kernel lists it.
type OwnProbe struct {
	File  string // kprobe_events or uprobe_events
	Group string
	Event string
	Def   string // the definition as the kernel prints it back
	// Owner is the pid a tracelet_<pid> group names, 0 for persistent groups.
	Owner int
	// Stale is true when Owner is a process that no longer runs.
	Stale  bool
	Hits   uint64
	Misses uint64
}

// OwnProbes lists tracelet's probes, other tools' never, with their hit
// counts from kprobe_profile and uprobe_profile.
func (fs *FS) OwnProbes() ([]OwnProbe, error) {
	var out []OwnProbe
	for _, pair := range [][2]string{{KprobeEvents, "kprobe_profile"}, {UprobeEvents, "uprobe_profile"}} {
		file, profile := pair[0], pair[1]
		if !fs.Has(file) {
			continue
		}
		evs, err := fs.DynamicEvents(file)
		if err != nil {
			return nil, err
		}
		hits := map[string]ProfileEntry{}
		if fs.Has(profile) {
			ents, err := fs.Profile(profile)
			if err != nil {
				return nil, err
			}
			// The profiles print the event without its group; an event name
			// shared by two groups gets the first line's counts.
			for _, e := range ents {
				if _, dup := hits[e.Event]; !dup {
					hits[e.Event] = e
				}
			}
		}
		for _, ev := range evs {
			if !IsOwnGroup(ev.Group) {
				continue
			}
			p := OwnProbe{File: file, Group: ev.Group, Event: ev.Event, Def: ev.Raw}
			if pid, ok := ParseOwnerGroup(ev.Group); ok {
				p.Owner, p.Stale = pid, !ownerAlive(pid)
			}
			if h, ok := hits[ev.Event]; ok {
				p.Hits, p.Misses = h.Hits, h.Misses
			}
			out = append(out, p)
		}
	}
	// fprobes, tracepoint probes and eprobes are listed only in
	// dynamic_events, and have no profile.
	if fs.Has(DynamicEvents) {
		evs, err := fs.DynamicEvents(DynamicEvents)
		if err != nil {
			return nil, err
		}
		for _, ev := range evs {
			if !IsOwnGroup(ev.Group) || (ev.Type != "f" && ev.Type != "t" && ev.Type != "e") {
				continue
			}
			p := OwnProbe{File: DynamicEvents, Group: ev.Group, Event: ev.Event, Def: ev.Raw}
			if pid, ok := ParseOwnerGroup(ev.Group); ok {
				p.Owner, p.Stale = pid, !ownerAlive(pid)
			}
			out = append(out, p)
		}
	}
	return out, nil
}

// DeleteProbe removes one of our probes by "EVENT" or "GROUP/EVENT": it is
// disabled at the top level and in every instance first, since the kernel
// refuses to remove an enabled event (EBUSY). A bare EVENT that names probes
// in several of our groups is ambiguous and refused.
func (fs *FS) DeleteProbe(name string) (OwnProbe, error) {
	group, event, hasGroup := strings.Cut(name, "/")
	if !hasGroup {
		group, event = "", name
	}
	if hasGroup && !IsOwnGroup(group) {
		return OwnProbe{}, fmt.Errorf("tracefs: probe %q: group %q is not tracelet's; tracelet removes only its own probes", name, group)
	}
	all, err := fs.OwnProbes()
	if err != nil {
		return OwnProbe{}, err
	}
	var match []OwnProbe
	for _, p := range all {
		if p.Event == event && (group == "" || p.Group == group) {
			match = append(match, p)
		}
	}
	switch len(match) {
	case 0:
		return OwnProbe{}, fmt.Errorf("tracefs: probe %q: %w among tracelet's probes (see tracelet probe list)", name, ErrNotFound)
	case 1:
	default:
		var names []string
		for _, p := range match {
			names = append(names, p.Group+"/"+p.Event)
		}
		return OwnProbe{}, fmt.Errorf("tracefs: probe %q is ambiguous: %s; name it as GROUP/EVENT", name, strings.Join(names, ", "))
	}
	p := match[0]
	if p.Owner != 0 && !p.Stale && p.Owner != os.Getpid() {
		return OwnProbe{}, fmt.Errorf("tracefs: probe %s/%s belongs to tracelet process %d, which is still running; stop it instead", p.Group, p.Event, p.Owner)
	}
	return p, fs.removeProbe(p)
}

func (fs *FS) removeProbe(p OwnProbe) error {
	if err := fs.quiesceEvent(p.Group, p.Event); err != nil {
		return err
	}
	if err := fs.RemoveDynamicEvent(p.File, p.Group, p.Event); err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	return nil
}

// ClearProbes removes every probe of the persistent group (what `probe
// add` defines) and of owner groups whose owner is dead, and leaves the
// probes of running tracelet processes alone. With staleOnly it removes
// only the latter, as Sweep does. A plan's group (tracelet_NAME, made by
// apply or at boot by kprobe_event=) is left to revert: removing it behind
// apply's back would break status and idempotence, and an event the kernel
// enabled at boot without its events/ directory (a race of 6.x kernels)
// cannot even be disabled.
func (fs *FS) ClearProbes(staleOnly bool) ([]OwnProbe, error) {
	all, err := fs.OwnProbes()
	if err != nil {
		return nil, err
	}
	var done []OwnProbe
	var errs []error
	for _, p := range all {
		switch {
		case p.Owner == 0 && staleOnly:
			continue
		case p.Owner != 0 && !p.Stale:
			continue // a live tracelet's probe
		case p.Owner == 0 && p.Group != PersistentGroup:
			continue // a plan's: revert removes it
		}
		if err := fs.removeProbe(p); err != nil {
			errs = append(errs, fmt.Errorf("%s/%s: %w", p.Group, p.Event, err))
			continue
		}
		done = append(done, p)
	}
	if staleOnly {
		// Instances of dead owners go too.
		if _, err := fs.Sweep(); err != nil {
			errs = append(errs, err)
		}
	}
	return done, errors.Join(errs...)
}

// ParseSpec reads a probe as `tracelet probe add` and `tracelet trace`
// accept it: the kernel's own syntax, or perf-tools' uprobe shorthand
// (p|r:BINARY:SYMBOL[+OFFS] [ARGS], BINARY a path, a command in PATH or a
// library name), whose binary and symbol are resolved here to a file and
// file offset. A probe with no group is put in defaultGroup. Nothing is
// written to the kernel. With opts.Offsets the probe comes back lowered
// (kprobeevents.Lower); ParseSpecNotes also says what was changed.
func ParseSpec(spec string, opts kprobeevents.Options, defaultGroup string) (*kprobeevents.Probe, error) {
	p, _, err := ParseSpecNotes(spec, opts, defaultGroup)
	return p, err
}

// ParseSpecNotes is ParseSpec, with a note for each change that
// kprobeevents.Lower made for a kernel that lacks fprobes or member access.
func ParseSpecNotes(spec string, opts kprobeevents.Options, defaultGroup string) (*kprobeevents.Probe, []string, error) {
	p, err := parseSpec(spec, opts, defaultGroup)
	if err != nil || !opts.Offsets {
		return p, nil, err
	}
	notes, err := kprobeevents.Lower(p, opts)
	if err != nil {
		return nil, nil, err
	}
	return p, notes, nil
}

func parseSpec(spec string, opts kprobeevents.Options, defaultGroup string) (*kprobeevents.Probe, error) {
	var p *kprobeevents.Probe
	if kprobeevents.IsShorthand(spec) {
		sh, err := kprobeevents.ParseShorthand(spec, opts)
		if err != nil {
			return nil, err
		}
		var path string
		var off uint64
		if sh.HasAddr {
			path, off, err = ResolveAddress(sh.Binary, sh.Addr)
		} else {
			path, off, err = ResolveSymbol(sh.Binary, sh.Symbol)
		}
		if err != nil {
			return nil, fmt.Errorf("probe %q: %w", spec, err)
		}
		if p, err = sh.Resolve(path, off); err != nil {
			return nil, err
		}
		p.Group = defaultGroup
		return p, nil
	}
	p, err := kprobeevents.ParseProbe(spec, opts)
	if err != nil {
		return nil, err
	}
	// The parser fills in the kernel's default group; only a group written
	// in the first word ("p:GRP/EVENT") is the user's choice.
	if first, _, _ := strings.Cut(strings.TrimSpace(spec), " "); !strings.Contains(first, "/") {
		p.Group = defaultGroup
	}
	if p.Type.IsUser() {
		if err := checkUprobeFile(spec, p.Path); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// ResolveAddress turns an address in a binary's symbol-table space into the
// binary's path and the file offset a uprobe needs, through the PT_LOAD
// program headers.
func ResolveAddress(binary string, addr uint64) (string, uint64, error) {
	path, err := ResolveBinary(binary)
	if err != nil {
		return "", 0, err
	}
	t, err := loadSymbols(path)
	if err != nil {
		return "", 0, err
	}
	off, err := t.fileOffset(addr)
	if err != nil {
		return "", 0, err
	}
	return path, off, nil
}

// checkUprobeFile does what the kernel does first with a uprobe's path
// (kern_path, then a regular-file check), so that a dry run reports
// FILE_NOT_FOUND and NO_REGULAR_FILE at the column the kernel would blame.
func checkUprobeFile(spec, path string) error {
	fi, err := os.Stat(path)
	if err == nil && fi.Mode().IsRegular() {
		return nil
	}
	// The kernel logs the command with its words joined by single spaces.
	input := strings.Join(strings.Fields(spec), " ")
	col := strings.Index(input, " "+path+":") + 1
	if err != nil {
		return &kprobeevents.Error{Kind: kprobeevents.FILE_NOT_FOUND, Col: col, Input: input,
			Msg: fmt.Sprintf("%s: %v", path, errors.Unwrap(err)), Hint: "the path of an existing executable or library"}
	}
	return &kprobeevents.Error{Kind: kprobeevents.NO_REGULAR_FILE, Col: col, Input: input,
		Msg: path + " is not a regular file", Hint: "the path of an executable or library, not a directory or device"}
}
