package kprobeevents

import (
	"fmt"
	"strconv"
	"strings"
)

// Kernel is a kernel version (major.minor). The zero value means "the newest
// kernel tracelet knows", so validation applies no version limits.
//
// Validation cannot ask the kernel what it supports (this package makes no
// system calls), so version-dependent rules (the $argN, symstr and %return
// features, and the kernel's own choice of error class and caret column,
// which changed over time) are decided against this value.
type Kernel struct{ Major, Minor int }

// ParseKernel reads "6.1", "6.12.5" or a uname -r string like
// "6.1.0-18-amd64".
func ParseKernel(s string) (Kernel, error) {
	f := strings.FieldsFunc(s, func(r rune) bool { return r == '.' || r == '-' || r == '+' || r == '_' })
	if len(f) < 2 {
		return Kernel{}, fmt.Errorf("kprobeevents: bad kernel version %q (want MAJOR.MINOR)", s)
	}
	maj, err1 := strconv.Atoi(f[0])
	min, err2 := strconv.Atoi(f[1])
	if err1 != nil || err2 != nil || maj <= 0 || min < 0 {
		return Kernel{}, fmt.Errorf("kprobeevents: bad kernel version %q (want MAJOR.MINOR)", s)
	}
	return Kernel{maj, min}, nil
}

// IsZero reports whether k is the zero value (newest kernel).
func (k Kernel) IsZero() bool { return k.Major == 0 && k.Minor == 0 }

// AtLeast reports whether k is maj.min or newer; the zero Kernel is newer
// than everything.
func (k Kernel) AtLeast(maj, min int) bool {
	if k.IsZero() {
		return true
	}
	return k.Major > maj || (k.Major == maj && k.Minor >= min)
}

func (k Kernel) String() string {
	if k.IsZero() {
		return "newest"
	}
	return fmt.Sprintf("%d.%d", k.Major, k.Minor)
}

// feature is a piece of the grammar with the first kernel that accepts it.
type feature struct {
	what     string
	maj, min int
}

// The first kernel of each feature (see ../shared/FIELD-NOTES.md and the
// kernel's git history of kernel/trace/trace_{probe,kprobe,uprobe}.c).
var (
	featMaxActive  = feature{"r[MAXACTIVE]", 4, 12}
	featArgN       = feature{"$argN", 4, 20}
	featArgNReturn = feature{"$argN on a return probe", 6, 10}
	featSymbolType = feature{"the symbol type", 4, 20}
	featRefCtr     = feature{"a uprobe reference counter (REF_CTR_OFFSET)", 4, 20}
	featUserDeref  = feature{"a user-space dereference +u/-u", 5, 3}
	featUstring    = feature{"the ustring type", 5, 3}
	featReturnSufx = feature{"the %return suffix", 5, 10}
	// symstr and GRP/ are upstream 6.2 features that 6.1 stable carries:
	// Debian's 6.1 kernel lists symstr in its README and accepts "GRP/",
	// as the VM suite's agreement test found (the kernel is right).
	featSymstr     = feature{"the symstr type", 6, 1}
	featChar       = feature{"the char type", 6, 3}
	featDentry     = feature{"the %pd/%pD types", 6, 10}
	featBareName   = feature{"BTF argument names", 6, 5} // a bare name is read as one, built with BTF arguments or not
	featGroupOnly  = feature{"a group without an event name (GRP/)", 6, 1}
	featImmediate  = feature{"immediate values \\IMM and \\\"STR\"", 5, 7}
	featFileOffset = feature{"@+OFFS file offsets", 5, 7}
)

// Kernel behaviour changes that move the error class or the caret.
var (
	// Since 6.5 (the traceprobe_parse_context rework) the parse offset is
	// kept in ctx->offset; after a dereference it stays at the inside of the
	// outermost brace, so errors found after parsing (BAD_STRING,
	// BAD_BITFIELD, ...) are reported relative to that position. The same
	// release added NOFENTRY_ARGS, NEED_STRING_TYPE and BTF arguments.
	kernelCtxOffset = Kernel{6, 5}
	// Since 6.14 fprobes are built on fgraph and f: and t: take no
	// MAXACTIVE: any text between the letter and ':' is BAD_MAXACT at
	// column 1 (before, f took one on exit probes, 1..4096).
	kernelFprobeNoMaxact = Kernel{6, 14}
)

func (o *Options) has(f feature) bool { return o.Kernel.AtLeast(f.maj, f.min) }
