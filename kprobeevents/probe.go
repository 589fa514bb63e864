package kprobeevents

import (
	"fmt"
	"strconv"
	"strings"
)

// ProbeType is the kind of dynamic event a definition creates.
type ProbeType int

// Probe types.
const (
	Kprobe ProbeType = iota + 1
	Kretprobe
	Uprobe
	Uretprobe
	// Fprobe is an f: probe on a function's entry (fentry, 6.5+).
	Fprobe
	// Fretprobe is an f: probe on a function's exit (SYM%return).
	Fretprobe
	// Tprobe is a t: probe on a tracepoint's probe stub (6.5+).
	Tprobe
	// Eprobe is an e: event probe attached to another trace event (5.15+).
	Eprobe
)

func (t ProbeType) String() string {
	switch t {
	case Kprobe:
		return "kprobe"
	case Kretprobe:
		return "kretprobe"
	case Uprobe:
		return "uprobe"
	case Uretprobe:
		return "uretprobe"
	case Fprobe:
		return "fprobe"
	case Fretprobe:
		return "fretprobe"
	case Tprobe:
		return "tprobe"
	case Eprobe:
		return "eprobe"
	}
	return "ProbeType(" + strconv.Itoa(int(t)) + ")"
}

// IsReturn reports a return probe (kretprobe, uretprobe or fretprobe).
func (t ProbeType) IsReturn() bool { return t == Kretprobe || t == Uretprobe || t == Fretprobe }

// IsFprobe reports an f: or t: probe, which the kernel's fprobe events
// implement (trace_fprobe.c).
func (t ProbeType) IsFprobe() bool { return t == Fprobe || t == Fretprobe || t == Tprobe }

// IsUser reports a uprobe or uretprobe.
func (t ProbeType) IsUser() bool { return t == Uprobe || t == Uretprobe }

// Default groups of the kernel (KPROBE_EVENT_SYSTEM, UPROBE_EVENT_SYSTEM).
const (
	DefaultKprobeGroup = "kprobes"
	DefaultUprobeGroup = "uprobes"
	// FPROBE_EVENT_SYSTEM, TRACEPOINT_EVENT_SYSTEM, EPROBE_EVENT_SYSTEM.
	DefaultFprobeGroup     = "fprobes"
	DefaultTracepointGroup = "tracepoints"
	DefaultEprobeGroup     = "eprobes"
)

// Kernel limits (kernel/trace/trace.h, trace_probe.h).
const (
	MaxEventNameLen = 64   // MAX_EVENT_NAME_LEN, including the NUL: names hold at most 63 bytes
	MaxArgNameLen   = 32   // MAX_ARG_NAME_LEN
	MaxArgStrLen    = 63   // MAX_ARGSTR_LEN: the fetch expression after NAME=
	MaxTraceArgs    = 128  // MAX_TRACE_ARGS
	MaxArrayLen     = 64   // MAX_ARRAY_LEN
	MaxProbeSize    = 3072 // MAX_PROBE_EVENT_SIZE: bytes of fetched data per event
	MaxActiveMax    = 4096 // KRETPROBE_MAXACTIVE_MAX
	fetchInsnMax    = 16   // FETCH_INSN_MAX: ops per fetcharg
	maxLineLen      = 4094 // WRITE_BUFSIZE - 2: longest line trace_parse_run_command takes
	maxBTFArgsLen   = 128  // MAX_BTF_ARGS_LEN: the buffer $arg* and $argN expand into
)

// Definition is a parsed line of kprobe_events, uprobe_events or
// dynamic_events: a *Probe or a *Removal. String returns the canonical text,
// the one the kernel prints back when it lists the event.
type Definition interface {
	String() string
	isDefinition()
}

// Format returns the canonical text of d.
func Format(d Definition) string {
	if d == nil {
		return ""
	}
	return d.String()
}

// Probe is one kprobe, kretprobe, uprobe, uretprobe, fprobe, tracepoint
// probe or event probe definition.
type Probe struct {
	Type  ProbeType
	Group string // "" means the default group (kprobes or uprobes)
	Event string // "" means the name the kernel generates (DefaultEventName)
	// MaxActive is the r[MAXACTIVE] of a kretprobe (0: the kernel default).
	MaxActive int

	// Kprobe target: [Module:]Symbol[+Offset], or Addr when Symbol is "".
	// Fprobe target: [Module:]Symbol. Tprobe target: the tracepoint's name
	// in Symbol.
	Module string
	Symbol string
	Addr   uint64

	// Uprobe target: Path:Offset[(RefCtrOffset)], Offset a file offset.
	Path         string
	RefCtrOffset uint64
	HasRefCtr    bool

	// Offset is the symbol offset of a kprobe or the file offset of a uprobe.
	Offset uint64

	// Return records that the definition used the SYM%return or
	// PATH:OFFSET%return form; Type is then Kretprobe or Uretprobe, and the
	// canonical text uses the r: form the kernel prints back.
	Return bool

	// Eprobe target: the attached event SYSTEM.EVENT, and the filter
	// after "if" (on the attached event's fields). The kernel does not
	// print the filter back in dynamic_events, so String leaves it out;
	// write String() + " if " + Filter to create the same probe.
	AttachGroup, AttachEvent string
	Filter                   string

	Args []Arg

	// ptrBits is the unsigned long width of the architecture Parse read
	// the probe for; String pads addresses to it (0 means 64).
	ptrBits int
}

func (*Probe) isDefinition() {}

// GroupName returns Group, or the kernel's default group.
func (p *Probe) GroupName() string {
	if p.Group != "" {
		return p.Group
	}
	switch p.Type {
	case Uprobe, Uretprobe:
		return DefaultUprobeGroup
	case Fprobe, Fretprobe:
		return DefaultFprobeGroup
	case Tprobe:
		return DefaultTracepointGroup
	case Eprobe:
		return DefaultEprobeGroup
	}
	return DefaultKprobeGroup
}

// EventName returns Event, or the name the kernel would generate.
func (p *Probe) EventName() string {
	if p.Event != "" {
		return p.Event
	}
	return p.DefaultEventName()
}

// DefaultEventName is the name the kernel gives the event when the
// definition has none:
//   - kprobes: "%c_%s_%ld" of p/r, [MOD:]SYM and the offset, or "%c_0x%p" of
//     an address, cut to 63 bytes, with ':' and '.' made '_'
//     (sanitize_event_name in __trace_kprobe_create);
//   - uprobes: "p_%s_0x%lx" of the file's base name cut at its first '.',
//     '-' or '_', and the offset; 'p' even for a uretprobe
//     (__trace_uprobe_create);
//   - fprobes: "%s__entry" or "%s__exit" of [MOD:]SYM; tracepoint probes:
//     the tracepoint's name, with '_' in front if it starts with a digit;
//     both cut and sanitized like kprobes (__trace_fprobe_create);
//   - event probes: the attached event's name (__trace_eprobe_create).
//
// For an address kprobe the kernel prints the address with %p, which hashes
// it unless the kernel runs with no_hash_pointers; we use the real address.
func (p *Probe) DefaultEventName() string {
	c := byte('p')
	if p.Type == Kretprobe {
		c = 'r'
	}
	var name string
	sym := p.Symbol
	if p.Module != "" {
		sym = p.Module + ":" + sym
	}
	switch {
	case p.Type == Eprobe:
		return p.AttachEvent
	case p.Type == Fprobe:
		name = sym + "__entry"
	case p.Type == Fretprobe:
		name = sym + "__exit"
	case p.Type == Tprobe:
		name = sym
		if name != "" && isDigit(name[0]) {
			name = "_" + name
		}
	case p.Type.IsUser():
		base := p.Path
		if i := strings.LastIndexByte(base, '/'); i >= 0 {
			base = base[i+1:]
		}
		if i := strings.IndexAny(base, ".-_"); i >= 0 {
			base = base[:i]
		}
		name = "p_" + base + "_0x" + strconv.FormatUint(p.Offset, 16)
	case p.Symbol != "":
		name = string(c) + "_" + sym + "_" + strconv.FormatUint(p.Offset, 10)
	default:
		width := 16
		if p.ptrBits == 32 {
			width = 8
		}
		name = fmt.Sprintf("%c_0x%0*x", c, width, p.Addr)
	}
	if len(name) > MaxEventNameLen-1 {
		name = name[:MaxEventNameLen-1]
	}
	if !p.Type.IsUser() {
		b := []byte(name)
		for i := 1; i < len(b); i++ {
			if b[i] == ':' || b[i] == '.' || b[i] == '*' {
				b[i] = '_'
			}
		}
		name = string(b)
	}
	return name
}

// Target renders the probe point: [MOD:]SYM[+OFFS], 0xADDR, or
// PATH:0xOFFSET[(0xREF)], as the kernel prints it.
func (p *Probe) Target() string {
	return p.target(64)
}

func (p *Probe) target(ptrBits int) string {
	var b strings.Builder
	p.writeTarget(&b, ptrBits)
	return b.String()
}

func (p *Probe) writeTarget(b *strings.Builder, ptrBits int) {
	width := ptrBits / 4
	switch p.Type {
	case Eprobe:
		// eprobe_dyn_event_show: " %s.%s".
		b.WriteString(p.AttachGroup + "." + p.AttachEvent)
		return
	case Fprobe, Fretprobe, Tprobe:
		// trace_fprobe_show: " %s%s", the symbol and "%return".
		if p.Module != "" {
			b.WriteString(p.Module + ":")
		}
		b.WriteString(p.Symbol)
		if p.Type == Fretprobe {
			b.WriteString("%return")
		}
		return
	}
	if p.Type.IsUser() {
		// trace_uprobe_show: "%s:0x%0*lx", then "(0x%lx)" when set.
		b.WriteString(p.Path)
		b.WriteString(":0x")
		writeHexPad(b, p.Offset, width)
		if p.RefCtrOffset != 0 {
			b.WriteString("(0x" + strconv.FormatUint(p.RefCtrOffset, 16) + ")")
		}
		return
	}
	// trace_kprobe_show: " 0x%p", " %s+%u" or " %s".
	if p.Symbol == "" {
		b.WriteString("0x")
		writeHexPad(b, p.Addr, width)
		return
	}
	if p.Module != "" {
		b.WriteString(p.Module + ":")
	}
	b.WriteString(p.Symbol)
	if p.Offset != 0 {
		b.WriteString("+" + strconv.FormatUint(p.Offset, 10))
	}
}

func writeHexPad(b *strings.Builder, v uint64, width int) {
	h := strconv.FormatUint(v, 16)
	for i := len(h); i < width; i++ {
		b.WriteByte('0')
	}
	b.WriteString(h)
}

// String returns the canonical definition, the line the kernel prints in
// kprobe_events, uprobe_events and dynamic_events for it: "p:" or
// "r[MAXACTIVE]:" (a %return probe prints as r:), GROUP/EVENT with the
// defaults filled in, the target, and NAME=FETCH[:TYPE] for every argument,
// with the fetcharg text as it was written (the kernel keeps and prints
// that text; see Arg).
// Addresses and uprobe offsets are padded to the pointer width of the
// architecture the probe was parsed for (64-bit for a Probe built in code).
func (p *Probe) String() string {
	if p != nil && p.ptrBits == 32 {
		return p.format(32)
	}
	return p.format(64)
}

// StringArch is String with the pointer width of arch (32-bit
// architectures print addresses and offsets with 8 hex digits).
func (p *Probe) StringArch(arch Arch) string {
	if arch == ArchUnknown {
		arch = HostArch()
	}
	return p.format(arch.PtrBits())
}

func (p *Probe) format(ptrBits int) string {
	if p == nil {
		return ""
	}
	var b strings.Builder
	b.Grow(64 + 24*len(p.Args))
	switch {
	case p.Type == Fprobe || p.Type == Fretprobe:
		// trace_fprobe_show prints MAXACTIVE of an exit probe only.
		b.WriteByte('f')
		if p.Type == Fretprobe && p.MaxActive > 0 {
			b.WriteString(strconv.Itoa(p.MaxActive))
		}
	case p.Type == Tprobe:
		b.WriteByte('t')
	case p.Type == Eprobe:
		b.WriteByte('e')
	case p.Type.IsReturn():
		b.WriteByte('r')
		if p.MaxActive > 0 && !p.Type.IsUser() {
			b.WriteString(strconv.Itoa(p.MaxActive))
		}
	default:
		b.WriteByte('p')
	}
	b.WriteByte(':')
	b.WriteString(p.GroupName())
	b.WriteByte('/')
	b.WriteString(p.EventName())
	b.WriteByte(' ')
	p.writeTarget(&b, ptrBits)
	for _, a := range p.Args {
		b.WriteByte(' ')
		a.write(&b)
	}
	return b.String()
}

// Removal is "-:[GRP/]EVENT", which deletes an event.
type Removal struct {
	Group string // "" matches the event in any group
	Event string
}

func (*Removal) isDefinition() {}

// String returns "-:GRP/EVENT" or "-:EVENT".
func (r *Removal) String() string {
	if r == nil {
		return ""
	}
	if r.Group == "" {
		return "-:" + r.Event
	}
	return "-:" + r.Group + "/" + r.Event
}

// RemovalOf returns the definition that removes p's event.
func (p *Probe) RemovalOf() *Removal {
	return &Removal{Group: p.GroupName(), Event: p.EventName()}
}

// Target says which control file a definition is for, which decides how an
// ambiguous one is read and what is allowed.
type Target int

// Targets.
const (
	// TargetAuto reads the definition like dynamic_events does: a uprobe
	// when the probe point is PATH:OFFSET with a '/' in it, a kprobe
	// otherwise.
	TargetAuto Target = iota
	// TargetKprobe is kprobe_events (and the kprobe_event= boot parameter).
	TargetKprobe
	// TargetUprobe is uprobe_events.
	TargetUprobe
)

func (t Target) String() string {
	switch t {
	case TargetAuto:
		return "dynamic_events"
	case TargetKprobe:
		return "kprobe_events"
	case TargetUprobe:
		return "uprobe_events"
	}
	return "Target(" + strconv.Itoa(int(t)) + ")"
}

// Options tell the parser what it cannot find out by itself.
type Options struct {
	// Arch decides which %REG names are valid and the width of unsigned
	// long. Zero means HostArch().
	Arch Arch
	// Target is the control file the definition is for.
	Target Target
	// Kernel is the kernel the definition will be written to; zero means
	// the newest, with no version limits.
	Kernel Kernel
	// Types are the fetch types the target kernel offers, as probed from
	// its tracefs README (tracefs.(*FS).Features). When set, they decide
	// which types are accepted, instead of Kernel's version.
	Types TypeSet
	// Extensions are the optional parts of the grammar the target kernel
	// has (fprobe, tracepoint and event probes, BTF arguments), as probed
	// from its tracefs README (tracefs.Features). When set, they decide
	// which of those are accepted, instead of Kernel's version.
	Extensions ExtensionSet
	// BTF is the target kernel's BTF, for the checks of argument names,
	// $arg* and member access that the kernel makes against it. Nil skips
	// those checks: the definition is then accepted as the kernel would
	// accept it if the names exist.
	BTF BTF
	// Events are the target kernel's trace events, for the checks of an
	// event probe's attached event and $FIELD arguments. Nil skips them.
	Events Events
	// VFS is the target kernel's struct layout for %pd and %pD. When set,
	// such an argument formats the way that kernel prints it back: expanded
	// into dereferences (see VFSLayout). Zero keeps FETCH:%pd as written.
	VFS VFSLayout
	// Offsets makes tracelet do the member access instead of the kernel:
	// argument names, $retval and their ->/. member chains are accepted
	// whatever the kernel's README says, and Compile turns them into the
	// architecture's argument registers and +OFFS() dereferences with
	// BTF's offsets. It needs BTF, and is for kernels whose tracefs
	// has no BTF arguments (before 6.5/6.6) or for writing definitions
	// for another kernel from its BTF.
	Offsets bool
}

func (o Options) arch() Arch {
	if o.Arch == ArchUnknown {
		return HostArch()
	}
	return o.Arch
}
