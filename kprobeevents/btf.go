package kprobeevents

// BTF is what the parser needs to know of the target kernel's BTF to check
// argument names the way the kernel does (NO_BTFARG, NO_RETVAL,
// NO_BTF_FIELD, NO_PTR_STRCT, BAD_TYPE4STR) and to expand $arg* and
// unnamed $argN into the names the kernel prints back. The btf package
// implements it for /sys/kernel/btf/vmlinux; tests use a small fake.
//
// Types are described after the kernel's btf_type_skip_modifiers(): const,
// volatile, restrict and typedefs are skipped, so a size_t is an unsigned
// 64-bit BTFInt and a "const char *" a BTFPtr to a one-byte BTFInt.
type BTF interface {
	// Func returns the prototype of a kernel function: the probed
	// function of a kprobe or fprobe, and "__probestub_" + TRACEPOINT for
	// a tracepoint probe (whose first, hidden argument the parser drops,
	// as the kernel does). An error means the
	// kernel has no BTF entry for it (NO_BTF_ENTRY); the parser then skips
	// the name checks, as the kernel would refuse or accept them only at
	// run time.
	Func(name string) (*BTFFunc, error)
	// Member finds a member of a struct or union by name, looking into
	// anonymous members as the kernel does (btf_find_struct_member). ok is
	// false when there is no such member.
	Member(t *BTFType, name string) (m *BTFType, ok bool, err error)
}

// BTFFunc is a function prototype: its parameters in order and its return
// type (nil for void).
type BTFFunc struct {
	Params []BTFParam
	Return *BTFType
}

// BTFParam is one named parameter.
type BTFParam struct {
	Name string
	Type *BTFType
}

// BTFKind is the kind of a BTF type, as far as probe arguments care.
type BTFKind int

// BTF kinds.
const (
	BTFOther BTFKind = iota
	BTFInt
	BTFPtr
	BTFStruct
	BTFUnion
	BTFEnum
	BTFArray
)

// BTFType is a type with modifiers and typedefs skipped.
type BTFType struct {
	Kind   BTFKind
	Name   string   // struct, union, enum or int name ("" if anonymous)
	Size   int      // bytes, for ints and enums
	Signed bool     // ints
	Elem   *BTFType // BTFPtr: the pointee; BTFArray: the element
	Len    int      // BTFArray: the number of elements

	// ID identifies the type to the BTF implementation (a BTF type ID),
	// so that Member can look into a struct it returned.
	ID uint32
	// BitOffset and BitSize place a type returned by Member: its offset
	// in bits from the start of the struct or union it was looked up in
	// (members of anonymous members included), and its width when it is
	// a bitfield (0 otherwise). Options.Offsets compiles member access
	// with them.
	BitOffset, BitSize int
}

func (t *BTFType) isChar() bool {
	return t != nil && t.Kind == BTFInt && t.Size == 1
}

// isStruct reports a struct or union, which members can be looked up in.
func (t *BTFType) isStruct() bool {
	return t != nil && (t.Kind == BTFStruct || t.Kind == BTFUnion)
}

// Events is what the parser needs to know of the target kernel's trace
// events to check an event probe: whether the attached event exists and
// which fields it has. The tracefs package implements it from the events'
// format files.
type Events interface {
	// Fields returns the names of the event's own fields (not the common_
	// fields, which an event probe cannot fetch). An error means there is
	// no such event (BAD_ATTACH_EVENT).
	Fields(system, event string) ([]string, error)
}
