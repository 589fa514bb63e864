package kprobeevents

import "strings"

// TypeSet is a set of fetch types: the ones a kernel offers. The kernel
// lists them in the "type:" paragraph of its tracefs README, which is the
// only reliable source: distributions backport types (Debian's 6.1 has
// symstr, which upstream added in 6.2) and leave others out, so a version
// number cannot say which a kernel has. The tracefs package reads it
// (tracefs.(*FS).Features).
//
// The zero TypeSet means "not probed": validation then decides by
// Options.Kernel.
type TypeSet uint64

// TypesOf makes a set of kinds.
func TypesOf(kinds ...TypeKind) TypeSet {
	var s TypeSet
	for _, k := range kinds {
		s |= 1 << uint(k)
	}
	return s
}

// Has reports whether k is in the set.
func (s TypeSet) Has(k TypeKind) bool { return k >= 0 && k < 64 && s&(1<<uint(k)) != 0 }

// String lists the set's type names, "/"-separated.
func (s TypeSet) String() string {
	var names []string
	for k := TypeU8; k < TypeBitfield; k++ {
		if s.Has(k) {
			names = append(names, k.String())
		}
	}
	return strings.Join(names, "/")
}

// checkProbed refuses a type the probed set lacks, the way that kernel
// would: it does not know the name, so it logs BAD_TYPE ("Unknown type is
// specified") with the caret at the type.
func (ps *parser) checkProbed(k TypeKind, col int) error {
	if ps.opts.Types == 0 || ps.opts.Types.Has(k) {
		return nil
	}
	return ps.err(BAD_TYPE, col, "this kernel's types: "+ps.opts.Types.String(),
		"the target kernel has no %s type (its tracefs README does not list it)", k)
}
