package kprobeevents

import (
	"strconv"
	"strings"
)

// TypeKind is the :TYPE of a fetcharg, named as the kernel's fetch type
// table names it (probe_fetch_types in kernel/trace/trace_probe.c).
type TypeKind int

// Fetch types. TypeDefault is "no :TYPE", which the kernel stores as
// x64 (x32 on 32-bit architectures), or the BTF type for a BTF argument.
const (
	TypeDefault TypeKind = iota
	TypeU8
	TypeU16
	TypeU32
	TypeU64
	TypeS8
	TypeS16
	TypeS32
	TypeS64
	TypeX8
	TypeX16
	TypeX32
	TypeX64
	TypeChar
	TypeString
	TypeUstring
	TypeSymbol
	TypeSymstr
	TypeDentry // %pd: the name of a struct dentry * (expanded by the kernel)
	TypeFile   // %pD: the name of a struct file *
	TypeBitfield
)

var typeNames = [...]string{
	TypeDefault: "", TypeU8: "u8", TypeU16: "u16", TypeU32: "u32", TypeU64: "u64",
	TypeS8: "s8", TypeS16: "s16", TypeS32: "s32", TypeS64: "s64",
	TypeX8: "x8", TypeX16: "x16", TypeX32: "x32", TypeX64: "x64",
	TypeChar: "char", TypeString: "string", TypeUstring: "ustring",
	TypeSymbol: "symbol", TypeSymstr: "symstr", TypeDentry: "%pd", TypeFile: "%pD",
	TypeBitfield: "bitfield",
}

func (k TypeKind) String() string {
	if k >= 0 && int(k) < len(typeNames) {
		return typeNames[k]
	}
	return "TypeKind(" + strconv.Itoa(int(k)) + ")"
}

// isString reports the kernel's is_string types (stored as __data_loc).
func (k TypeKind) isString() bool {
	return k == TypeString || k == TypeUstring || k == TypeSymstr || k == TypeDentry || k == TypeFile
}

// Type is a fetcharg's :TYPE, including a bitfield b<Width>@<Offset>/<Container>
// and an array suffix [Len].
type Type struct {
	Kind TypeKind
	// Bitfield only: width and offset in bits, container size in bits
	// (8, 16, 32 or 64).
	BitWidth, BitOffset, Container int
	// ArrayLen is N of TYPE[N] (1..64), or 0 for a scalar.
	ArrayLen int
}

// IsZero reports whether no type was given.
func (t Type) IsZero() bool { return t == Type{} }

// String renders the type the way the definition spells it ("" for none).
func (t Type) String() string {
	var s string
	if t.Kind == TypeBitfield {
		s = "b" + strconv.Itoa(t.BitWidth) + "@" + strconv.Itoa(t.BitOffset) + "/" + strconv.Itoa(t.Container)
	} else {
		s = t.Kind.String()
	}
	if t.ArrayLen > 0 {
		s += "[" + strconv.Itoa(t.ArrayLen) + "]"
	}
	return s
}

// size is the bytes the kernel reserves in the event record for one
// element (struct fetch_type.size); strings are a u32 __data_loc.
func (t Type) size(ptrBytes int) int {
	switch t.Kind {
	case TypeU8, TypeS8, TypeX8, TypeChar:
		return 1
	case TypeU16, TypeS16, TypeX16:
		return 2
	case TypeU32, TypeS32, TypeX32:
		return 4
	case TypeU64, TypeS64, TypeX64:
		return 8
	case TypeString, TypeUstring, TypeSymstr, TypeDentry, TypeFile:
		return 4
	case TypeBitfield:
		return t.Container / 8
	}
	return ptrBytes // default type and symbol: unsigned long
}

// lookupType is find_fetch_type() for the non-bitfield names.
func lookupType(name string) (TypeKind, bool) {
	for k := TypeU8; k <= TypeSymstr; k++ {
		if typeNames[k] == name {
			return k, true
		}
	}
	return TypeDefault, false
}

// isGoodName is the kernel's is_good_name(): a C identifier. Event and
// argument names must be one.
func isGoodName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isAlpha(c) || c == '_' || (i > 0 && isDigit(c)) {
			continue
		}
		return false
	}
	return true
}

// isGoodSystemName is is_good_system_name(): a group may also hold '-'.
func isGoodSystemName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isAlpha(c) || c == '_' || c == '-' || (i > 0 && isDigit(c)) {
			continue
		}
		return false
	}
	return true
}

func isAlpha(c byte) bool  { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isDigit(c byte) bool  { return c >= '0' && c <= '9' }
func isXDigit(c byte) bool { return isDigit(c) || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

// isSpace is the kernel's isspace(), which argv_split() splits on.
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

func hasPrefix(s, p string) bool { return strings.HasPrefix(s, p) }
