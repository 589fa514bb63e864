package trace

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/tracelet/tracelet/bpf"
	"github.com/tracelet/tracelet/kprobeevents"
	"github.com/tracelet/tracelet/tracefs"
)

// Spec is one validated SPEC of a session: a dynamic probe to define
// (Probe set) or an existing tracepoint (System and Event set).
type Spec struct {
	Text   string              // as the user wrote it
	Probe  *kprobeevents.Probe // nil for a tracepoint
	System string              // the event's system: the owner group for probes
	Event  string
	// Where is the tracefs filter that Options.Where compiled to for
	// this event ("" without one, or when whereProg filters instead).
	Where string
	// whereProg is Options.Where as a BPF filter program, attached in
	// front of the probe's fetchargs.
	whereProg *bpf.Program
}

// WhereBPF reports whether Options.Where filters this event with a BPF
// program rather than with the tracefs filter in Where.
func (sp *Spec) WhereBPF() bool { return sp.whereProg != nil }

// IsTracepoint reports whether spec names a tracepoint as SYSTEM:EVENT.
// A probe definition always has a space (kernel syntax: "p:EV SYM") or
// three colon-separated parts (shorthand: "p:bash:readline"), while a
// tracepoint is one word with exactly one colon.
func IsTracepoint(spec string) bool {
	sys, ev, ok := strings.Cut(spec, ":")
	return ok && isName(sys) && isName(ev)
}

// isName accepts the characters the kernel allows in system and event
// names (letters, digits, '_'; tracepoint systems also use '-' in a few
// drivers' names, e.g. "kvm-arm" is not one but "i2c" is).
func isName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// ParseSpecs validates every spec before anything is written to the kernel:
// probe definitions through the grammar (kernel syntax or perf-tools
// shorthand, whose binary and symbol are resolved), tracepoints by their
// format file. Probes are moved into group, keeping the user's event name
// (or the one the kernel would derive). fs may be nil when there are no
// tracepoints; it is used to check that the tracepoints and the control
// files exist.
func ParseSpecs(fs *tracefs.FS, specs []string, opts kprobeevents.Options, group string) ([]Spec, error) {
	if len(specs) == 0 {
		return nil, errors.New("no SPEC given: a probe ('p:bash:readline', 'p:myopen do_sys_openat2 path=+0($arg2):ustring') or a tracepoint (syscalls:sys_enter_openat)")
	}
	out := make([]Spec, 0, len(specs))
	seen := map[string]int{}
	for i, text := range specs {
		var sp Spec
		sp.Text = text
		if IsTracepoint(text) {
			sp.System, sp.Event, _ = strings.Cut(text, ":")
			if fs != nil {
				if _, err := fs.Format(sp.System, sp.Event); err != nil {
					if errors.Is(err, os.ErrNotExist) {
						return nil, fmt.Errorf("SPEC %d %q: no tracepoint %s/%s in %s/events (see tracelet list)", i+1, text, sp.System, sp.Event, fs.Root())
					}
					return nil, fmt.Errorf("SPEC %d %q: %w", i+1, text, err)
				}
			}
		} else {
			p, err := tracefs.ParseSpec(text, opts, group)
			if err != nil {
				return nil, &SpecError{Index: i + 1, Spec: text, Err: err}
			}
			// The user's group, if any, is replaced: everything a session
			// defines lives in its owner group so that a SIGKILLed run can
			// be swept.
			p.Event = p.EventName()
			p.Group = group
			if err := p.Validate(opts); err != nil {
				return nil, &SpecError{Index: i + 1, Spec: text, Err: err}
			}
			if fs != nil {
				if file := tracefs.ControlFile(p.Type); !fs.Has(file) {
					return nil, fmt.Errorf("SPEC %d %q: this kernel has no %s (a %s needs CONFIG_%s)", i+1, text, file, p.Type, map[bool]string{true: "UPROBE_EVENTS", false: "KPROBE_EVENTS"}[p.Type.IsUser()])
				}
			}
			sp.Probe, sp.System, sp.Event = p, group, p.Event
		}
		key := sp.System + "/" + sp.Event
		if j, dup := seen[key]; dup {
			return nil, fmt.Errorf("SPEC %d %q: event %s is already traced by SPEC %d; give the probe its own name (p:NAME ...)", i+1, text, key, j)
		}
		seen[key] = i + 1
		out = append(out, sp)
	}
	return out, nil
}

// SpecError is a SPEC that the grammar or the symbol lookup refused.
// It wraps the *kprobeevents.Error (with its column) when there is one.
type SpecError struct {
	Index int
	Spec  string
	Err   error
}

func (e *SpecError) Error() string {
	return fmt.Sprintf("SPEC %d: %v", e.Index, e.Err)
}

func (e *SpecError) Unwrap() error { return e.Err }
