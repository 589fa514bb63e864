package usdtarg

import (
	"fmt"
	"strconv"
)

// Kind says where an argument's value is.
type Kind int

const (
	KindInvalid Kind = iota
	// KindRegister: the value is in register Reg.
	KindRegister
	// KindMemory: the value is Size bytes at Reg + Offset.
	KindMemory
	// KindConstant: the value is Value; nothing is fetched.
	KindConstant
	// KindStatic: the value is Size bytes of a static variable, at the
	// link-time address Addr plus the load bias of the file (a uprobe
	// fetches it with @+ProbeOffset).
	KindStatic
)

var kindNames = [...]string{"invalid", "register", "memory", "constant", "static"}

func (k Kind) String() string {
	if k >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Arg is one probe argument. A BPF compiler loads Reg from pt_regs, adds
// Offset and reads Size bytes for KindMemory, then sign- or zero-extends
// from Size bytes.
type Arg struct {
	Size   int  // bytes: 1, 2, 4 or 8
	Signed bool // the spec's size was negative
	Kind   Kind
	// Reg is the pt_regs register as the kernel's regoffset_table names it
	// (kprobeevents.Registers): "di" on x86_64, "x0" on arm64, "r0" on
	// arm, "a0" on riscv64.
	Reg    string
	Offset int64 // KindMemory: added to Reg
	Value  int64 // KindConstant
	// Addr is a KindStatic variable's link-time address. ProbeOffset is
	// what a uprobe's @+OFFSET fetch needs for it: the kernel
	// (translate_user_vaddr) reads at the probe's runtime address minus
	// the probe's file offset plus OFFSET, as if the whole file were
	// mapped like the probe's segment, so ProbeOffset is Addr - PC +
	// Offset of the probe. It is the variable's file offset only when
	// its segment lies at the same distance from its file offset as the
	// code's, which the data segment of most files does not.
	Addr        uint64
	ProbeOffset uint64
	// Spec is the argument as the note wrote it, "-4@%edi".
	Spec string
}

// Type is the fetcharg type of the argument: s8..s64, u8..u64.
func (a Arg) Type() string {
	c := "u"
	if a.Signed {
		c = "s"
	}
	return c + strconv.Itoa(a.Size*8)
}

// Fetcharg renders the argument for uprobe_events: "%di:s32",
// "-16(%bp):u64", "\42:s32", "@+0x4010:u32".
func (a Arg) Fetcharg() string {
	var s string
	switch a.Kind {
	case KindRegister:
		s = "%" + a.Reg
	case KindMemory:
		if a.Offset < 0 {
			// -OFF(FETCHARG): the kernel parses the sign itself and
			// reads OFF as unsigned, so -MinInt64 has no spelling;
			// package usdt's parsers never produce it (see its checkOffset).
			s = "-" + strconv.FormatUint(uint64(-a.Offset), 10)
		} else {
			s = "+" + strconv.FormatInt(a.Offset, 10)
		}
		s += "(%" + a.Reg + ")"
	case KindConstant:
		s = `\` + strconv.FormatInt(a.Value, 10)
	case KindStatic:
		s = "@+0x" + strconv.FormatUint(a.ProbeOffset, 16)
	default:
		return ""
	}
	return s + ":" + a.Type()
}

// String describes the argument: "s32 %di", "u64 -16(%bp)".
func (a Arg) String() string {
	f := a.Fetcharg()
	if f == "" {
		return a.Kind.String() + " " + a.Spec
	}
	return a.Type() + " " + f[:len(f)-len(a.Type())-1]
}

// ArgError is an argument string that cannot be turned into fetches.
type ArgError struct {
	Arch string // the architecture whose syntax was read
	N    int    // 1-based argument number
	Spec string // the argument as written
	Msg  string
}

func (e *ArgError) Error() string {
	return fmt.Sprintf("%s arg %d %q: %s", e.Arch, e.N, e.Spec, e.Msg)
}
