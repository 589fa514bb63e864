package script

import (
	"fmt"
	"strings"

	"github.com/tracelet/tracelet/btf"
)

// Kind is the kind of a Type.
type Kind int

// Kinds. Aggregation kinds are the value types of maps assigned an
// aggregation function; they are read, merged across CPUs and printed in
// user space.
const (
	KindVoid   Kind = iota // statements: printf(), exit(), delete()
	KindInt                // Size 1, 2, 4 or 8 bytes, Signed or not
	KindBool               // comparisons and logical operators
	KindString             // Size bytes, NUL-padded
	KindKstack             // kstack: a stack id
	KindUstack             // ustack: a stack id and the pid
	KindKsym               // ksym(addr): an address printed as a symbol
	KindUsym               // usym(addr): an address and pid printed as a symbol
	KindProbe              // probe: which attach point fired
	KindCount
	KindSum
	KindAvg
	KindMin
	KindMax
	KindStats
	KindHist
	KindLhist
	KindArgs      // the tracepoint's args record (only its fields are values)
	KindTimestamp // strftime(fmt, nsecs): nsecs, printed as wall time with Fmt
	KindInet      // ntop([af, ]addr): the family (u64), then 16 bytes of address in network order (see ntop.go)
	KindRecord    // a kernel struct, union or array (BTF) in kernel memory: only its members and elements are values
	KindUsername  // username: the uid, printed as the user's name
	KindBuffer    // buf(p, n): a u64 length, then that many bytes, printed by %r
)

var kindNames = [...]string{
	KindVoid: "void", KindInt: "int", KindBool: "bool", KindString: "string",
	KindKstack: "kstack", KindUstack: "ustack", KindKsym: "ksym", KindUsym: "usym",
	KindProbe: "probe", KindCount: "count", KindSum: "sum", KindAvg: "avg",
	KindMin: "min", KindMax: "max", KindStats: "stats", KindHist: "hist", KindLhist: "lhist",
	KindArgs: "args", KindTimestamp: "timestamp", KindInet: "inet", KindRecord: "record",
	KindUsername: "username", KindBuffer: "buffer",
}

func (k Kind) String() string {
	if k >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// IsAggregation reports whether k is the value kind of an aggregation map.
func (k Kind) IsAggregation() bool { return k >= KindCount && k <= KindLhist }

// Type is the type of an expression, a map key or a map value.
type Type struct {
	Kind   Kind
	Size   int  // bytes: ints, strings; the in-map size for the others
	Signed bool // ints, and sum/min/max of signed values
	// User marks an integer that is an address in user memory (a uprobe's
	// argument, a syscall tracepoint's pointer field): str() reads it with
	// bpf_probe_read_user_str.
	User bool

	// Width is the size of the integer a variable was first assigned,
	// before it widened to 64 bits: bswap($port) swaps a u16's two bytes,
	// as bpftrace keeps a variable's width (0: Size).
	Width int
	// Depth is the frames a stack keeps: kstack(5) (0: MaxStackDepth).
	Depth int

	// Lhist bounds.
	Min, Max, Step int64
	// Fmt is a timestamp's strftime format.
	Fmt string

	// BTF is the kernel type behind the value, from the kernel's BTF: for
	// a pointer (an 8-byte integer with Ptr set) the type it points to,
	// for a record the struct, union or array itself. C spells the type
	// as C does ("struct task_struct *"), for -d and messages.
	BTF btf.TypeID
	Ptr bool
	C   string
	// Pointee is the integer an (intN *) cast points to: *p reads it
	// (sign-extended for the signed ones), and p + n steps n of them.
	Pointee *Type
}

// Common types.
var (
	Void    = &Type{Kind: KindVoid}
	Bool    = &Type{Kind: KindBool, Size: 8}
	Uint64  = &Type{Kind: KindInt, Size: 8}
	Int64   = &Type{Kind: KindInt, Size: 8, Signed: true}
	Uint32  = &Type{Kind: KindInt, Size: 4}
	Kstack  = &Type{Kind: KindKstack, Size: 8}
	Ustack  = &Type{Kind: KindUstack, Size: 16}
	ArgsRec = &Type{Kind: KindArgs}
)

// IntType is the integer type of size bytes.
func IntType(size int, signed bool) *Type {
	return &Type{Kind: KindInt, Size: size, Signed: signed}
}

// StringType is a string held in size bytes (with its NUL).
func StringType(size int) *Type { return &Type{Kind: KindString, Size: size} }

// IsInt reports whether t is an integer or bool (bools are integers 0/1 in
// the program, as in bpftrace).
func (t *Type) IsInt() bool { return t != nil && (t.Kind == KindInt || t.Kind == KindBool) }

func (t *Type) String() string {
	if t == nil {
		return "<untyped>"
	}
	if t.C != "" {
		return t.C
	}
	switch t.Kind {
	case KindInt:
		if t.Signed {
			return fmt.Sprintf("int%d", t.Size*8)
		}
		return fmt.Sprintf("uint%d", t.Size*8)
	case KindString:
		return fmt.Sprintf("string[%d]", t.Size)
	case KindLhist:
		return fmt.Sprintf("lhist(%d, %d, %d)", t.Min, t.Max, t.Step)
	case KindSum, KindMin, KindMax, KindAvg, KindStats:
		if t.Signed {
			return t.Kind.String() + "(int64)"
		}
		return t.Kind.String() + "(uint64)"
	}
	return t.Kind.String()
}

// compatible reports whether a value of type u may be stored where t was.
// An unknown type (nil, after an error) is compatible with anything: its
// error has been reported.
func (t *Type) compatible(u *Type) bool {
	if t == nil || u == nil {
		return true
	}
	if t.IsInt() && u.IsInt() {
		return true
	}
	if t.Kind != u.Kind {
		return false
	}
	if t.Kind == KindLhist {
		return t.Min == u.Min && t.Max == u.Max && t.Step == u.Step
	}
	if t.Kind == KindKstack || t.Kind == KindUstack {
		return t.Depth == u.Depth
	}
	return true
}

// tupleString prints a key tuple's types.
func tupleString(ts []*Type) string {
	s := make([]string, len(ts))
	for i, t := range ts {
		s[i] = t.String()
	}
	return "[" + strings.Join(s, ", ") + "]"
}
