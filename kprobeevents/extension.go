package kprobeevents

import "strings"

// Extension is a part of the dynamic-event grammar that a kernel may lack
// even at a version that could have it, because it is a build option.
type Extension uint32

// Extensions, each with the README line that shows it (see
// tracefs.ParseFeatures), its kernel option and its first kernel.
const (
	// ExtFprobe: f[:[GRP/][EVENT]] SYM[%return], CONFIG_FPROBE_EVENTS, 6.5.
	ExtFprobe Extension = 1 << iota
	// ExtTprobe: t[:[GRP/][EVENT]] TRACEPOINT, CONFIG_FPROBE_EVENTS, 6.5.
	ExtTprobe
	// ExtEprobe: e[:[GRP/][EVENT]] SYS.EVENT, CONFIG_PROBE_EVENTS (any
	// kprobe or uprobe events), 5.15.
	ExtEprobe
	// ExtBTFArgs: argument names, $arg* and typed $retval from the
	// kernel's BTF, CONFIG_PROBE_EVENTS_BTF_ARGS, 6.5.
	ExtBTFArgs
	// ExtBTFFields: ->field and .field member access on those names
	// (with CONFIG_PROBE_EVENTS_BTF_ARGS), 6.6.
	ExtBTFFields
	// ExtArgNReturn: $argN and argument names on return probes, 6.10.
	ExtArgNReturn

	// ExtProbed marks a set read from the kernel's README: the set then
	// decides, instead of Options.Kernel.
	ExtProbed Extension = 1 << 31
)

// ExtensionSet is a set of extensions. The zero set means "not probed":
// validation then decides by Options.Kernel.
type ExtensionSet uint32

// ExtensionsOf makes a probed set of the given extensions.
func ExtensionsOf(exts ...Extension) ExtensionSet {
	s := ExtensionSet(ExtProbed)
	for _, e := range exts {
		s |= ExtensionSet(e)
	}
	return s
}

// Has reports whether e is in the set.
func (s ExtensionSet) Has(e Extension) bool { return s&ExtensionSet(e) != 0 }

// Probed reports a set read from a kernel.
func (s ExtensionSet) Probed() bool { return s.Has(ExtProbed) }

var extNames = []struct {
	e    Extension
	name string
}{
	{ExtFprobe, "fprobe"}, {ExtTprobe, "tprobe"}, {ExtEprobe, "eprobe"},
	{ExtBTFArgs, "btfargs"}, {ExtBTFFields, "btffields"}, {ExtArgNReturn, "argnreturn"},
}

func (e Extension) String() string {
	for _, n := range extNames {
		if n.e == e {
			return n.name
		}
	}
	return "Extension(?)"
}

// String lists the set, "/"-separated.
func (s ExtensionSet) String() string {
	var names []string
	for _, n := range extNames {
		if s.Has(n.e) {
			names = append(names, n.name)
		}
	}
	if !s.Probed() {
		return "not probed"
	}
	return strings.Join(names, "/")
}

// ExtensionInfo says what an extension is called, which kernel option
// builds it and which kernel first has it.
type ExtensionInfo struct {
	What         string // "fprobe events"
	Config       string // "CONFIG_FPROBE_EVENTS"
	Major, Minor int    // first kernel
}

// Info describes e.
func (e Extension) Info() ExtensionInfo {
	f := extFeature(e)
	return ExtensionInfo{What: f.what, Config: f.config, Major: f.maj, Minor: f.min}
}

type extFeat struct {
	feature
	config string
}

var (
	featFprobe    = extFeat{feature{"fprobe events (f:)", 6, 5}, "CONFIG_FPROBE_EVENTS"}
	featTprobe    = extFeat{feature{"tracepoint probe events (t:)", 6, 5}, "CONFIG_FPROBE_EVENTS"}
	featEprobe    = extFeat{feature{"event probes (e:)", 5, 15}, "CONFIG_PROBE_EVENTS (kprobe or uprobe events)"}
	featBTFArgs   = extFeat{feature{"BTF argument names and $arg*", 6, 5}, "CONFIG_PROBE_EVENTS_BTF_ARGS"}
	featBTFFields = extFeat{feature{"BTF member access (->field, .field)", 6, 6}, "CONFIG_PROBE_EVENTS_BTF_ARGS"}
	featArgNRet   = extFeat{feature{"$argN on a return probe", 6, 10}, "CONFIG_HAVE_FUNCTION_ARG_ACCESS_API"}
)

func extFeature(e Extension) extFeat {
	switch e {
	case ExtFprobe:
		return featFprobe
	case ExtTprobe:
		return featTprobe
	case ExtEprobe:
		return featEprobe
	case ExtBTFArgs:
		return featBTFArgs
	case ExtBTFFields:
		return featBTFFields
	case ExtArgNReturn:
		return featArgNRet
	}
	return extFeat{}
}

// hasExt decides by the probed set when there is one, else by version.
func (o *Options) hasExt(e Extension) bool {
	if o.Extensions.Probed() {
		return o.Extensions.Has(e)
	}
	f := extFeature(e)
	return o.Kernel.AtLeast(f.maj, f.min)
}

// needExt refuses what the target kernel lacks, naming the extension, its
// option and its first kernel.
func (ps *parser) needExt(kind ErrorKind, e Extension, col int) error {
	if ps.opts.hasExt(e) {
		return nil
	}
	f := extFeature(e)
	if ps.opts.Extensions.Probed() {
		return ps.err(kind, col, "", "the target kernel has no %s: its tracefs README does not list them (they need %s, Linux %d.%d or newer)", f.what, f.config, f.maj, f.min)
	}
	return ps.err(kind, col, "", "%s need Linux %d.%d or newer with %s (the target kernel is %s)", f.what, f.maj, f.min, f.config, ps.opts.Kernel)
}

// Has reports whether the target kernel has e: from the probed set where
// there is one, else from Kernel's version (a zero Kernel has everything).
func (o Options) Has(e Extension) bool { return o.hasExt(e) }
