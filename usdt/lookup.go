package usdt

import (
	"fmt"
	"path"
	"strings"

	"github.com/tracelet/tracelet/kprobeevents"
)

// Find returns the probes whose provider and name match the patterns, in
// note order. The patterns are path.Match globs ("*", "?", "[a-z]"); an
// empty provider matches every provider. A probe inlined at several places
// has one note per place, so one name can return several probes.
func (f *File) Find(provider, name string) ([]*Probe, error) {
	if provider == "" {
		provider = "*"
	}
	for _, pat := range []string{provider, name} {
		if _, err := path.Match(pat, ""); err != nil {
			return nil, fmt.Errorf("usdt: bad pattern %q: %w", pat, err)
		}
	}
	var out []*Probe
	for i := range f.Probes {
		p := &f.Probes[i]
		okp, _ := path.Match(provider, p.Provider)
		okn, _ := path.Match(name, p.Name)
		if okp && okn {
			out = append(out, p)
		}
	}
	return out, nil
}

// Lookup finds the probe PROVIDER:NAME, without wildcards. provider may be
// empty when one provider alone has a probe of that name, as bpftrace
// allows. A probe with several locations returns the first: use Find for
// all of them.
func (f *File) Lookup(provider, name string) (*Probe, error) {
	var found *Probe
	for i := range f.Probes {
		p := &f.Probes[i]
		if p.Name != name || (provider != "" && p.Provider != provider) {
			continue
		}
		if found == nil {
			found = p
		} else if found.Provider != p.Provider {
			return nil, fmt.Errorf("usdt: probe name %q is ambiguous: providers %q and %q both have it; name the provider", name, found.Provider, p.Provider)
		}
	}
	if found == nil {
		what := name
		if provider != "" {
			what = provider + ":" + name
		}
		return nil, fmt.Errorf("usdt: %s: %w", what, ErrNoProbes)
	}
	return found, nil
}

// Spec is a parsed usdt:PATH:[PROVIDER:]NAME probe specifier.
type Spec struct {
	Path     string
	Provider string // empty when the specifier left it out
	Name     string
}

// ParseSpec reads "usdt:PATH:PROVIDER:NAME" or "usdt:PATH:NAME" (bpftrace's
// forms; "U:" is its short prefix). PROVIDER and NAME may hold wildcards.
func ParseSpec(s string) (Spec, error) {
	rest, ok := strings.CutPrefix(s, "usdt:")
	if !ok {
		if rest, ok = strings.CutPrefix(s, "U:"); !ok {
			return Spec{}, fmt.Errorf("usdt: %q does not start with usdt:", s)
		}
	}
	parts := strings.Split(rest, ":")
	var sp Spec
	switch len(parts) {
	case 2:
		sp = Spec{Path: parts[0], Name: parts[1]}
	case 3:
		sp = Spec{Path: parts[0], Provider: parts[1], Name: parts[2]}
	default:
		return Spec{}, fmt.Errorf("usdt: %q: want usdt:PATH:[PROVIDER:]NAME", s)
	}
	if sp.Path == "" || sp.Name == "" {
		return Spec{}, fmt.Errorf("usdt: %q: empty path or probe name", s)
	}
	return sp, nil
}

// Match returns the probes of f that the specifier names. Without
// wildcards and without a provider, a name that two providers share is an
// error rather than both.
func (sp Spec) Match(f *File) ([]*Probe, error) {
	if !strings.ContainsAny(sp.Provider+sp.Name, "*?[") {
		first, err := f.Lookup(sp.Provider, sp.Name)
		if err != nil {
			return nil, err
		}
		return f.Find(first.Provider, first.Name)
	}
	ps, err := f.Find(sp.Provider, sp.Name)
	if err == nil && len(ps) == 0 {
		err = fmt.Errorf("usdt: %s:%s: %w", sp.Provider, sp.Name, ErrNoProbes)
	}
	return ps, err
}

// Target is what a probe resolves to for attaching: where the uprobe goes,
// its semaphore and the arguments.
type Target struct {
	Probe           *Probe
	Offset          uint64 // file offset of the probe's location
	SemaphoreOffset uint64 // uprobe ref_ctr_offset; 0 for none
	Args            []Arg
}

// Resolve opens the specifier's file and returns one Target per matching
// probe location.
func Resolve(s string) ([]Target, error) {
	sp, err := ParseSpec(s)
	if err != nil {
		return nil, err
	}
	f, err := Open(sp.Path)
	if err != nil {
		return nil, err
	}
	ps, err := sp.Match(f)
	if err != nil {
		return nil, fmt.Errorf("%w (in %s)", err, sp.Path)
	}
	out := make([]Target, 0, len(ps))
	for _, p := range ps {
		args, err := p.ParseArgs(f.Arch)
		if err != nil {
			return nil, err
		}
		out = append(out, Target{Probe: p, Offset: p.Offset, SemaphoreOffset: p.SemaphoreOffset, Args: args})
	}
	return out, nil
}

// UprobeEvent renders a uprobe_events definition for the probe:
// "p:GROUP/EVENT PATH:0xOFF(0xREF) arg1=%di:s32 ...". The semaphore part
// needs Linux 4.20 (ref_ctr_offset); the arguments are named arg1.. as
// bpftrace names them.
func (p *Probe) UprobeEvent(group, event, path string, arch kprobeevents.Arch) (string, error) {
	args, err := p.ParseArgs(arch)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "p:%s/%s %s:0x%x", group, event, path, p.Offset)
	if p.SemaphoreOffset != 0 {
		fmt.Fprintf(&b, "(0x%x)", p.SemaphoreOffset)
	}
	for i, a := range args {
		fmt.Fprintf(&b, " arg%d=%s", i+1, a.Fetcharg())
	}
	return b.String(), nil
}
