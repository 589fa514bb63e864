package script

import "github.com/tracelet/tracelet/btf"

// Program is a parsed script: its probes in source order.
type Program struct {
	File   string
	Probes []*Probe
	// Includes are the #include lines, for the resolution of struct types
	// from BTF; Macros the #defines, in order.
	Includes []Include
	Macros   []*Macro
	// Structs are the script's own struct and union definitions, in
	// order (structdef.go).
	Structs []*StructDef
	// Config is the config = { ... } block: the settings it gives.
	Config []ConfigItem
	// Hists are the "// hist: @MAP ..." comments, by map name (without
	// the @): hist maps to print in libbpf-tools' layout.
	Hists map[string]*HistStyle
	// KprobeSource says where Expand found the functions kprobe wildcards
	// match: "available_filter_functions", or "/proc/kallsyms" where that
	// file is unreadable ("" without kprobe wildcards).
	KprobeSource string

	src  *source // for error lines
	arch string  // ParseOptions.Arch: the built-in constants' architecture
}

// ConfigItem is one "key = value" of a config block, the key in its
// canonical spelling (ConfigKeys).
type ConfigItem struct {
	Pos   Pos
	Key   string
	Value uint64
}

// ConfigKeys are the keys a config block may set, each with the bpftrace
// spellings it accepts (its config name, and the environment variables of
// bpftrace 0.17 and later), and what it sets here.
var ConfigKeys = map[string][]string{
	// CheckOptions.StrLen: the size of str() strings, with the NUL.
	"max_strlen": {"max_strlen", "BPFTRACE_MAX_STRLEN", "BPFTRACE_STRLEN"},
	// Options.MaxEntries: the entries of each map.
	"max_map_keys": {"max_map_keys", "BPFTRACE_MAX_MAP_KEYS", "BPFTRACE_MAP_KEYS_MAX"},
}

// configKey returns the canonical name of a config key, or "".
func configKey(name string) string {
	for k, spellings := range ConfigKeys {
		for _, s := range spellings {
			if s == name {
				return k
			}
		}
	}
	return ""
}

// Probe is one action block with the attach points that run it.
type Probe struct {
	Pos    Pos
	Attach []*AttachPoint
	Pred   Expr // nil without a /predicate/
	Body   []Stmt
}

// ProbeType is the provider of an attach point.
type ProbeType int

// Probe types. Names are bpftrace's long forms.
const (
	InvalidProbe ProbeType = iota
	Kprobe
	Kretprobe
	Uprobe
	Uretprobe
	Tracepoint
	Begin
	End
	Interval
	Profile
	RawTracepoint
	Fentry
	Fexit
	LSM
	Software
	Hardware
	// USDT is a uprobe at a statically defined probe of a binary
	// (usdt:PATH:[PROVIDER:]NAME), its arguments read from the note.
	USDT
)

var probeTypeNames = [...]string{
	InvalidProbe: "invalid", Kprobe: "kprobe", Kretprobe: "kretprobe", Uprobe: "uprobe",
	Uretprobe: "uretprobe", Tracepoint: "tracepoint", Begin: "BEGIN", End: "END",
	Interval: "interval", Profile: "profile", RawTracepoint: "rawtracepoint",
	Fentry: "fentry", Fexit: "fexit", LSM: "lsm",
	Software: "software", Hardware: "hardware", USDT: "usdt",
}

func (t ProbeType) String() string {
	if t >= 0 && int(t) < len(probeTypeNames) {
		return probeTypeNames[t]
	}
	return "invalid"
}

// IsReturn reports whether the probe fires on function return (retval is
// valid there).
func (t ProbeType) IsReturn() bool { return t == Kretprobe || t == Uretprobe || t == Fexit }

// isBTFArgs reports whether the probe's context is the u64 array of its
// arguments that BTF names: raw tracepoints, fentry, fexit and lsm.
func (t ProbeType) isBTFArgs() bool {
	return t == RawTracepoint || t == Fentry || t == Fexit || t == LSM
}

// AttachPoint is one "type:target:func" of a probe.
type AttachPoint struct {
	Pos  Pos
	Type ProbeType
	Raw  string // as written

	// Target is the binary or library of a uprobe or usdt probe, or the
	// system of a tracepoint. Empty for kprobes.
	Target string
	// Func is the function (kprobe, uprobe) or event (tracepoint); it may
	// hold wildcards.
	Func string
	// Offset is the file offset of "uprobe:BINARY:0xOFFSET" (HasOffset
	// set), or the "+OFF" of kprobe:SYM+OFF.
	Offset    uint64
	HasOffset bool

	// Unit and Rate are interval's "s"/"ms"/"us" and profile's "hz"/"s"/
	// "ms"/"us", with their count.
	Unit string
	Rate uint64

	// BTFID is the kernel function (fentry, fexit) or bpf_lsm_ hook (lsm)
	// that the program attaches to, and NArgs its parameters; set by
	// Check from BTF.
	BTFID btf.TypeID
	NArgs int

	// Provider is a usdt probe's provider, empty when the attach point
	// left it out (usdt:PATH:NAME); Func is then the probe's name. Both
	// may hold wildcards until the runtime resolves them (USDTSite).
	Provider string
	// USDT is where a usdt probe is and how to read its arguments, set
	// by the runtime from the binary's notes before Check; nil before.
	USDT *USDTSite
}

// Wildcard reports whether Target or Func hold glob characters.
func (a *AttachPoint) Wildcard() bool {
	return hasGlob(a.Func) || hasGlob(a.Target) || hasGlob(a.Provider)
}

func hasGlob(s string) bool {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '*', '?', '[':
			return true
		}
	}
	return false
}

// Node is any node of the syntax tree.
type Node interface {
	Position() Pos
}

// Expr is an expression. After Check, its Type is set.
type Expr interface {
	Node
	exprNode()
	typ() *Type
	setType(*Type)
}

// Stmt is a statement.
type Stmt interface {
	Node
	stmtNode()
}

type typed struct{ T *Type }

func (t *typed) typ() *Type      { return t.T }
func (t *typed) setType(x *Type) { t.T = x }

// Type returns the expression's type (nil before Check).
func TypeOf(e Expr) *Type { return e.typ() }

// Expressions.
type (
	// IntLit is an integer literal.
	IntLit struct {
		typed
		Pos   Pos
		Raw   string
		Value uint64
	}
	// StrLit is a string literal, escapes resolved.
	StrLit struct {
		typed
		Pos   Pos
		Value string
	}
	// Builtin is a builtin variable: pid, comm, arg0, retval, args, ...
	Builtin struct {
		typed
		Pos  Pos
		Name string
	}
	// Var is a local variable $name, or a positional parameter $1, $2
	// ($# is their count).
	Var struct {
		typed
		Pos  Pos
		Name string

		param *StrLit // a positional parameter's text, set by Check
	}
	// Cast is (uint8)X ... (int64)X: X truncated to the type's size, then
	// zero- or sign-extended; or (struct NAME *)X, (union NAME *)X,
	// (TYPEDEF *)X: X becomes a pointer to a kernel type from BTF.
	Cast struct {
		typed
		Pos   Pos
		Type  string // uint8, int8, ..., uint64, int64; or "struct task_struct"
		Stars int    // the *s of a pointer cast
		X     Expr
	}
	// Index is X[I]: an element of an array member, or of the array a
	// pointer points to.
	Index struct {
		typed
		Pos  Pos
		X, I Expr

		// tp is set by Check for args->FIELD[I] of a tracepoint: the
		// element of an integer array field, as a field of its own, or,
		// with deref, a pointer-to-pointer field (execve's argv), whose
		// elements are read from memory.
		tp    *FieldExpr
		deref bool
	}
	// Sizeof is sizeof(TYPE) or sizeof(X), and Offsetof is offsetof(TYPE,
	// a.b): constants, from BTF, that Check computes.
	Sizeof struct {
		typed
		Pos  Pos
		Type string // "" when X is set
		X    Expr
		v    uint64
	}
	Offsetof struct {
		typed
		Pos    Pos
		Type   string
		Member string // a.b.c
		v      uint64
	}
	// MapExpr is @name or @name[key, ...]. Name is "" for the anonymous @.
	MapExpr struct {
		typed
		Pos  Pos
		Name string
		Keys []Expr
	}
	// FieldExpr is X.Field or X->Field (args->filename).
	FieldExpr struct {
		typed
		Pos   Pos
		X     Expr
		Field string
		Arrow bool

		arg int                           // a raw tracepoint's args->NAME: 1 + the index of its argument
		fd  *FormatField                  // resolved by Check: the first attach point's
		fds map[*AttachPoint]*FormatField // each attach point's own
		mem *btf.Field                    // a kernel struct's member, resolved by Check
	}
	// Call is a function call: printf(...), count(), str(p).
	Call struct {
		typed
		Pos  Pos
		Name string
		Args []Expr

		addr uint64 // kaddr's address, resolved by Check
		// dynLen marks str(p, n) with n known only when the probe runs.
		dynLen bool
	}
	// Unary is -X, !X or ~X.
	Unary struct {
		typed
		Pos Pos
		Op  Token
		X   Expr
	}
	// Binary is X op Y.
	Binary struct {
		typed
		Pos  Pos // the operator's position
		Op   Token
		X, Y Expr
	}
	// Ternary is Cond ? Then : Else.
	Ternary struct {
		typed
		Pos              Pos
		Cond, Then, Else Expr
	}
)

// Statements.
type (
	// ExprStmt is an expression evaluated for its effect: printf(...),
	// delete(@m[k]), exit().
	ExprStmt struct {
		X Expr
	}
	// AssignStmt is Target op Value, where Target is a Var or MapExpr and
	// Op is ASSIGN, a compound assignment (ADD_ASSIGN, ...), or INC/DEC
	// (Value nil).
	AssignStmt struct {
		Pos    Pos
		Target Expr
		Op     Token
		Value  Expr
	}
	// IfStmt is if (Cond) { Then } else { Else }. An "else if" is an Else
	// holding one IfStmt.
	IfStmt struct {
		Pos  Pos
		Cond Expr
		Then []Stmt
		Else []Stmt
	}
	// WhileStmt is while (Cond) { Body }: a bounded loop, which the
	// verifier must see end (Linux 5.3).
	WhileStmt struct {
		Pos  Pos
		Cond Expr
		Body []Stmt
	}
	// UnrollStmt is unroll (N) { Body }: Body repeated N times (1 to
	// MaxUnroll) in the program.
	UnrollStmt struct {
		Pos  Pos
		N    Expr
		Body []Stmt
	}
	// JumpStmt is return, which ends the probe (the run goes on, unlike
	// exit()), or break or continue, which leave or restart the
	// innermost while loop.
	JumpStmt struct {
		Pos  Pos
		Kind string // "return", "break" or "continue"
	}
)

// fieldAt is the field in attach point a's layout.
func (e *FieldExpr) fieldAt(a *AttachPoint) *FormatField {
	if fd := e.fds[a]; fd != nil {
		return fd
	}
	return e.fd
}

func (e *IntLit) Position() Pos    { return e.Pos }
func (e *StrLit) Position() Pos    { return e.Pos }
func (e *Builtin) Position() Pos   { return e.Pos }
func (e *Var) Position() Pos       { return e.Pos }
func (e *MapExpr) Position() Pos   { return e.Pos }
func (e *FieldExpr) Position() Pos { return e.Pos }
func (e *Call) Position() Pos      { return e.Pos }
func (e *Index) Position() Pos     { return e.Pos }
func (e *Sizeof) Position() Pos    { return e.Pos }
func (e *Offsetof) Position() Pos  { return e.Pos }
func (e *Cast) Position() Pos      { return e.Pos }
func (e *Unary) Position() Pos     { return e.Pos }
func (e *Binary) Position() Pos    { return e.Pos }
func (e *Ternary) Position() Pos   { return e.Pos }

func (*IntLit) exprNode()    {}
func (*StrLit) exprNode()    {}
func (*Builtin) exprNode()   {}
func (*Var) exprNode()       {}
func (*MapExpr) exprNode()   {}
func (*FieldExpr) exprNode() {}
func (*Call) exprNode()      {}
func (*Index) exprNode()     {}
func (*Sizeof) exprNode()    {}
func (*Offsetof) exprNode()  {}
func (*Cast) exprNode()      {}
func (*Unary) exprNode()     {}
func (*Binary) exprNode()    {}
func (*Ternary) exprNode()   {}

func (s *ExprStmt) Position() Pos   { return s.X.Position() }
func (s *AssignStmt) Position() Pos { return s.Pos }
func (s *IfStmt) Position() Pos     { return s.Pos }
func (s *WhileStmt) Position() Pos  { return s.Pos }
func (s *UnrollStmt) Position() Pos { return s.Pos }
func (s *JumpStmt) Position() Pos   { return s.Pos }

func (*ExprStmt) stmtNode()   {}
func (*AssignStmt) stmtNode() {}
func (*IfStmt) stmtNode()     {}
func (*WhileStmt) stmtNode()  {}
func (*UnrollStmt) stmtNode() {}
func (*JumpStmt) stmtNode()   {}
