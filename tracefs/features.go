package tracefs

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/tracelet/tracelet/kprobeevents"
)

// Features are what the running kernel says its dynamic events accept, read
// from the tracefs README. The README is the kernel's own help text and
// changes with each feature (kernel/trace/trace.c, readme_msg), so it is
// probed instead of comparing version numbers: distributions backport
// features (Debian's 6.1 lists symstr, an upstream 6.2 type) and 6.1 lacks
// char (6.3).
type Features struct {
	// Types are the fetch types of the README's "type:" paragraph.
	Types kprobeevents.TypeSet
	// BTFArgs: the kernel names function arguments and follows members
	// through its BTF ("<argname>[->field…]" among the fetchargs, 6.5+).
	// Such a kernel also types an untyped $retval from the function's
	// BTF return type.
	BTFArgs bool
	// BTFFields: member access on those names,
	// "<argname>[->field[->field|.field...]]" (6.6+).
	BTFFields bool
	// ArgNReturn: "kernel return probes support: $retval, $arg<N>, …"
	// lists $arg<N> (6.10+).
	ArgNReturn bool
	// Fprobe, Tprobe and Eprobe: the "Format:" list has an
	// "f[:[<group>/][<event>]] …", "t[:…" or "e[:…" line (fprobe events
	// 6.5+, tracepoint probes 6.5+, event probes 5.15+).
	Fprobe, Tprobe, Eprobe bool

	// lines are the README lines each finding came from, for Report.
	lines map[kprobeevents.Extension]string
	// eprobeOff: the README lists e[: but the kernel has no event probe
	// code (CheckKallsyms).
	eprobeOff bool
}

// CheckKallsyms corrects what the README says with the kernel's symbol
// table (/proc/kallsyms, read from r). The README lists "e[:" whether or
// not the kernel has event probes, and newer kernels can be built without
// them (CONFIG_EPROBE_EVENTS): the 6.18 development host lists it, has no
// eprobe code, and refuses every e: definition with EINVAL and no
// error_log entry. A symbol table without the probe parser's own symbols
// (hidden, or empty) changes nothing.
func (f *Features) CheckKallsyms(r io.Reader) error {
	sawParser, sawEprobe := false, false
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<16)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 3 {
			continue
		}
		switch fields[2] {
		case "traceprobe_parse_probe_arg":
			sawParser = true
		case "eprobe_dyn_event_show", "eprobe_dyn_event_create":
			sawEprobe = true
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	if sawParser && !sawEprobe && f.Eprobe {
		f.Eprobe, f.eprobeOff = false, true
	}
	return nil
}

// maxReadme bounds the README read; it is about 20 KiB on 6.x kernels.
const maxReadme = 256 << 10

// Features reads the README of this tracefs.
func (fs *FS) Features() (Features, error) {
	b, err := readSmall(fs.path("README"), maxReadme)
	if err != nil {
		return Features{}, fmt.Errorf("tracefs: reading %s: %w", fs.path("README"), err)
	}
	return ParseFeatures(b)
}

// Grammar returns o completed for this kernel, for validating definitions
// before they are written to it: the running kernel's architecture
// (KernelArch, not GOARCH) and version where o leaves them zero, and the fetch types that this
// kernel's README lists where o names none. Without the types, a type the
// kernel lacks (%pd before 6.5, char before 6.3, a backport either way)
// would only be refused by the write itself. Event probes are checked
// against this tracefs's events (EventFields) where o names no Events.
// Argument names and members are checked against the running kernel's BTF
// (LazyBTF of VmlinuxBTF) where o names no BTF; where this kernel's tracefs
// cannot follow members itself (before 6.6), o.Offsets is set so that
// ParseSpec compiles them to registers and offsets (kprobeevents.Lower).
func (fs *FS) Grammar(o kprobeevents.Options) kprobeevents.Options {
	if o.Arch == kprobeevents.ArchUnknown {
		o.Arch = KernelArch()
	}
	var running kprobeevents.Kernel
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		if k, err := kprobeevents.ParseKernel(unix.ByteSliceToString(u.Release[:])); err == nil {
			running = k
		}
	}
	if o.Kernel == (kprobeevents.Kernel{}) {
		o.Kernel = running
	}
	// The running kernel's BTF, for a grammar of the running kernel only.
	if o.BTF == nil && o.Kernel == running && fileExists(VmlinuxBTF) {
		o.BTF = LazyBTF(VmlinuxBTF)
	}
	if o.Types == 0 {
		if f, err := fs.Features(); err == nil {
			o = f.Options(o)
			// A kernel whose tracefs cannot follow members gets
			// tracelet's own member access, from the kernel's BTF; so
			// does one without fprobe events, whose f: probes become
			// kprobes (Debian's riscv64 6.12 follows members but has
			// no CONFIG_FPROBE_EVENTS).
			if (!f.BTFFields || !f.Fprobe) && o.BTF != nil {
				o.Offsets = true
			}
		}
	}
	if o.Events == nil {
		o.Events = EventFields{fs}
	}
	return o
}

// Options returns o with what the kernel told us filled in, for validating
// definitions before they are written to this kernel.
func (f Features) Options(o kprobeevents.Options) kprobeevents.Options {
	o.Types = f.Types
	o.Extensions = f.Extensions()
	return o
}

// Extensions returns the optional grammar the README shows, as a probed
// set for kprobeevents.Options.
func (f Features) Extensions() kprobeevents.ExtensionSet {
	var exts []kprobeevents.Extension
	for _, x := range []struct {
		has bool
		e   kprobeevents.Extension
	}{
		{f.Fprobe, kprobeevents.ExtFprobe}, {f.Tprobe, kprobeevents.ExtTprobe},
		{f.Eprobe, kprobeevents.ExtEprobe}, {f.BTFArgs, kprobeevents.ExtBTFArgs},
		{f.BTFFields, kprobeevents.ExtBTFFields}, {f.ArgNReturn, kprobeevents.ExtArgNReturn},
	} {
		if x.has {
			exts = append(exts, x.e)
		}
	}
	return kprobeevents.ExtensionsOf(exts...)
}

// Finding is one line of a feature report: what, whether this kernel has
// it, and why we say so.
type Finding struct {
	Name   string
	OK     bool
	Reason string
}

// Report says, for each kind of dynamic event and argument that a kernel
// may lack, whether this one has it and the README line that says so (or
// what it would take), for tracelet doctor.
func (f Features) Report() []Finding {
	var out []Finding
	for _, x := range []struct {
		name string
		has  bool
		e    kprobeevents.Extension
		look string
	}{
		{"fprobe events", f.Fprobe, kprobeevents.ExtFprobe, "f[:[<group>/][<event>]]"},
		{"tracepoint probes", f.Tprobe, kprobeevents.ExtTprobe, "t[:[<group>/][<event>]]"},
		{"event probes", f.Eprobe, kprobeevents.ExtEprobe, "e[:[<group>/][<event>]]"},
		{"BTF arguments", f.BTFArgs, kprobeevents.ExtBTFArgs, "<argname>"},
		{"BTF member access", f.BTFFields, kprobeevents.ExtBTFFields, "<argname>[->field…]"},
		{"$argN on return probes", f.ArgNReturn, kprobeevents.ExtArgNReturn, "kernel return probes support: … $arg<N>"},
	} {
		info := x.e.Info()
		if x.e == kprobeevents.ExtEprobe && f.eprobeOff {
			out = append(out, Finding{x.name, false, fmt.Sprintf("README lists e[: but the kernel has no event probe code (/proc/kallsyms): built without CONFIG_EPROBE_EVENTS")})
			continue
		}
		if x.has {
			out = append(out, Finding{x.name, true, fmt.Sprintf("README: %q", f.lines[x.e])})
			continue
		}
		out = append(out, Finding{x.name, false, fmt.Sprintf("README has no %s (needs %s, Linux %d.%d or newer)", x.look, info.Config, info.Major, info.Minor)})
	}
	return out
}

// ParseFeatures reads a tracefs README. The fetch types are a paragraph
// like
//
//	type: s8/16/32/64, u8/16/32/64, x8/16/32/64, char, string, symbol,
//	      b<bit-width>@<bit-offset>/<container-size>, ustring,
//	      symstr, %pd/%pD, <type>\[<array-size>\]
//
// whose continuation lines carry no "label:" of their own. A README without
// that paragraph (a kernel without kprobe or uprobe events) is an error.
func ParseFeatures(readme []byte) (Features, error) {
	var f Features
	f.lines = map[kprobeevents.Extension]string{}
	in := false
	found := func(e kprobeevents.Extension, t string) bool {
		if _, ok := f.lines[e]; !ok {
			f.lines[e] = strings.TrimSuffix(t, ",")
		}
		return true
	}
	for _, line := range strings.Split(string(readme), "\n") {
		t := strings.TrimSpace(line)
		head := strings.TrimSpace(strings.TrimPrefix(t, "Format:"))
		switch {
		case strings.HasPrefix(head, "f[:") || strings.HasPrefix(head, "f[maxactive]"):
			f.Fprobe = found(kprobeevents.ExtFprobe, head)
		case strings.HasPrefix(head, "t[:"):
			f.Tprobe = found(kprobeevents.ExtTprobe, head)
		case strings.HasPrefix(head, "e[:"):
			f.Eprobe = found(kprobeevents.ExtEprobe, head)
		}
		if strings.HasPrefix(t, "<argname>") {
			f.BTFArgs = found(kprobeevents.ExtBTFArgs, t)
			if strings.HasPrefix(t, "<argname>[->field") {
				f.BTFFields = found(kprobeevents.ExtBTFFields, t)
			}
		}
		if rest, ok := strings.CutPrefix(t, "kernel return probes support:"); ok && strings.Contains(rest, "$arg") {
			f.ArgNReturn = found(kprobeevents.ExtArgNReturn, t)
		}
		if rest, ok := strings.CutPrefix(t, "type:"); ok {
			in, t = true, rest
		} else if in && (t == "" || isLabel(t)) {
			break
		}
		if !in {
			continue
		}
		for _, tok := range strings.Split(t, ",") {
			for _, name := range expandTypeNames(strings.TrimSpace(tok)) {
				if k, ok := typeKind(name); ok {
					f.Types |= kprobeevents.TypesOf(k)
				}
			}
		}
	}
	if f.Types == 0 {
		return f, fmt.Errorf("tracefs: README has no fetcharg \"type:\" list (kernel without kprobe_events and uprobe_events?)")
	}
	return f, nil
}

// isLabel reports a README line that starts a new item ("field: …",
// "stype: …").
func isLabel(t string) bool {
	i := strings.IndexByte(t, ':')
	return i > 0 && !strings.ContainsAny(t[:i], " <>/%\\[")
}

// expandTypeNames turns "u8/16/32/64" into u8 u16 u32 u64 and "%pd/%pD"
// into %pd %pD; other tokens stay as they are.
func expandTypeNames(tok string) []string {
	parts := strings.Split(tok, "/")
	if len(parts) == 1 || strings.ContainsAny(tok, "<@") {
		return parts[:1]
	}
	out := []string{parts[0]}
	prefix := strings.TrimRight(parts[0], "0123456789")
	for _, p := range parts[1:] {
		if p != "" && p[0] >= '0' && p[0] <= '9' {
			p = prefix + p
		}
		out = append(out, p)
	}
	return out
}

// typeKind maps a README type name to its kind; bitfields and arrays are
// not kinds of their own.
func typeKind(name string) (kprobeevents.TypeKind, bool) {
	for k := kprobeevents.TypeU8; k < kprobeevents.TypeBitfield; k++ {
		if k.String() == name {
			return k, true
		}
	}
	return 0, false
}
