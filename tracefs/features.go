package tracefs

import (
	"fmt"
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
// would only be refused by the write itself.
func (fs *FS) Grammar(o kprobeevents.Options) kprobeevents.Options {
	if o.Arch == kprobeevents.ArchUnknown {
		o.Arch = KernelArch()
	}
	if o.Kernel == (kprobeevents.Kernel{}) {
		var u unix.Utsname
		if unix.Uname(&u) == nil {
			if k, err := kprobeevents.ParseKernel(unix.ByteSliceToString(u.Release[:])); err == nil {
				o.Kernel = k
			}
		}
	}
	if o.Types == 0 {
		if f, err := fs.Features(); err == nil {
			o = f.Options(o)
		}
	}
	return o
}

// Options returns o with what the kernel told us filled in, for validating
// definitions before they are written to this kernel.
func (f Features) Options(o kprobeevents.Options) kprobeevents.Options {
	o.Types = f.Types
	return o
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
	in := false
	for _, line := range strings.Split(string(readme), "\n") {
		t := strings.TrimSpace(line)
		if strings.HasPrefix(t, "<argname>") {
			f.BTFArgs = true
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
