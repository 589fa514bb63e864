package script

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/tracelet/tracelet/btf"
)

// CheckOptions configure semantic analysis.
type CheckOptions struct {
	// Formats types args->FIELD of tracepoints. Without it, a script that
	// uses args is rejected.
	Formats FormatSource
	// StrLen is the size of strings read by str() without a length, with
	// their NUL (bpftrace's BPFTRACE_STRLEN). Zero means 64.
	StrLen int
	// CPID is the pid of the command started with the script (bpftrace's
	// -c), the value of the cpid builtin; zero when there is none, and
	// cpid is then an error.
	CPID int
	// Params are the positional parameters, $1 onwards: a numeric one is
	// an integer, str($N) is any one's text, and one not given is 0 or "".
	Params []string
	// KernelSymbol returns the address of a kernel symbol, for kaddr();
	// nil when the symbol table is not available. The runtime reads
	// /proc/kallsyms; this package reads nothing.
	KernelSymbol func(name string) (uint64, error)
	// CgroupID returns the id of the cgroup v2 directory at path, for
	// cgroupid(); nil where there is none to ask. The runtime reads it
	// from the file handle (name_to_handle_at).
	CgroupID func(path string) (uint64, error)
	// Unsafe allows system() and signal(), as bpftrace's --unsafe does.
	Unsafe bool
	// BTF is the kernel's type information, for curtask, pointer casts,
	// members, sizeof and offsetof; the runtime reads it. Nil means none,
	// and BTFError, if set, says why (it is part of the message of a
	// script that needs BTF).
	BTF      *btf.Spec
	BTFError error
	// BTFModule names the kernel module whose split BTF BTF is, on top
	// of vmlinux's, when fentry or fexit probes attach to its functions
	// (fentry:MODULE:FUNCTION); "" when BTF is vmlinux's. A script
	// attaches to the functions of one module at most.
	BTFModule string
}

// MaxUnroll bounds unroll (N), as bpftrace does: the body is repeated in
// the program. Nested unrolls multiply, and MaxUnrollNested bounds the
// copies of the innermost body: bpftrace 0.17 bounds only each count
// (mmisono/bpftrace-tetris nests unroll(20) and unroll(12)), and the
// verifier takes a million instructions.
const (
	MaxUnroll       = 100
	MaxUnrollNested = 10000
)

// MaxStrLen bounds string sizes: strings live on the 512-byte BPF stack.
const MaxStrLen = 200

// Info is what Check learned about a program, for the code generator.
type Info struct {
	// Maps are the global maps in order of first appearance.
	Maps []*MapInfo
	maps map[string]*MapInfo
	// CPID is CheckOptions.CPID, for the code generator.
	CPID int
	// MaxEntries is the config block's max_map_keys (0: none).
	MaxEntries uint32
	// Resolved are the members reached through BTF, in source order.
	Resolved []Resolved
	// BTF is CheckOptions.BTF, for the code generator.
	BTF *btf.Spec
}

// Map returns the named map ("" is the anonymous @), or nil.
func (in *Info) Map(name string) *MapInfo { return in.maps[name] }

// MapInfo is a map's inferred type.
type MapInfo struct {
	Name  string
	Pos   Pos     // first use
	Keys  []*Type // nil for a scalar map (@x)
	Value *Type
	// Deleted reports whether print(), clear(), zero() or delete() name it.
	Deleted bool
}

func (m *MapInfo) String() string {
	name := "@" + m.Name
	if m.Keys != nil {
		return fmt.Sprintf("%s%s: %s", name, tupleString(m.Keys), m.Value)
	}
	return fmt.Sprintf("%s: %s", name, m.Value)
}

// Check types prog in place (every expression gets its Type) and checks
// it against the rules of the probes it runs in. Errors are an ErrorList.
func Check(prog *Program, opts CheckOptions) (*Info, error) {
	var maxEntries uint32
	for _, it := range prog.Config {
		// The caller's settings win, as bpftrace's environment
		// variables win over its config block.
		switch it.Key {
		case "max_strlen":
			if opts.StrLen == 0 {
				opts.StrLen = int(it.Value)
			}
		case "max_map_keys":
			maxEntries = uint32(it.Value)
		}
	}
	if opts.StrLen == 0 {
		opts.StrLen = 64
	}
	if prog.src == nil {
		prog.src = newSource(prog.File, nil)
	}
	c := &checker{prog: prog, opts: opts, info: &Info{maps: map[string]*MapInfo{}, CPID: opts.CPID, MaxEntries: maxEntries, BTF: opts.BTF}, formats: map[string]*Format{}}

	// Maps are global and may be read in a probe that comes before the
	// one that assigns them: the first pass only infers map types, the
	// second checks everything against them.
	// The script's types are laid out once; their errors are kept for
	// the second pass's list.
	c.pass = 2
	c.types, c.structs = layoutStructs(prog.Structs, opts.BTF, modelOf(opts.BTF), c.errorf)
	if c.types != nil {
		c.info.BTF = c.types
	}
	typeErrs := c.errs
	c.pass = 1
	for n := -1; n != len(c.info.Maps); {
		n = len(c.info.Maps)
		c.program() // again while maps typed late type more (@a = @b; @b = 1)
	}
	c.pass = 2
	c.errs = typeErrs
	for _, it := range prog.Config {
		if it.Key == "max_strlen" && (it.Value < 2 || it.Value > MaxStrLen) {
			c.errorf(it.Pos, "config max_strlen = %d: strings live on the BPF stack here, so it must be from 2 to %d", it.Value, MaxStrLen)
		}
	}
	c.program()
	sort.Slice(c.info.Resolved, func(i, j int) bool { return c.info.Resolved[i].Pos.Offset < c.info.Resolved[j].Pos.Offset })
	c.errs.Sort()
	return c.info, c.errs.Err()
}

type checker struct {
	prog    *Program
	opts    CheckOptions
	info    *Info
	errs    ErrorList
	pass    int
	formats map[string]*Format // "system:event" -> format, or nil after an error

	probe    *Probe
	locals   map[string]*Type
	unrolled int64 // copies of the statements being checked, in nested unrolls
	whiles   int   // the while loops around the statement being checked
	// untyped are the locals whose assignment had an error: their uses
	// are not reported again.
	untyped map[string]bool

	// types holds the script's struct definitions, split on top of the
	// kernel's BTF (nil without definitions); structs are their IDs by
	// "struct NAME" and "union NAME".
	types   *btf.Spec
	structs map[string]btf.TypeID
}

// unsafe reports whether a call of an unsafe function (system, signal)
// may be made, as bpftrace's --unsafe, and reports it if not.
func (c *checker) unsafe(e *Call) bool {
	if !c.opts.Unsafe {
		c.errorf(e.Pos, "%s() is unsafe (it acts on the system for every event it runs in): allow it with --unsafe", e.Name)
	}
	return c.opts.Unsafe
}

func (c *checker) errorf(p Pos, format string, args ...any) {
	if c.pass != 2 {
		return
	}
	for _, e := range c.errs {
		if e.Pos == p {
			return // one error per place: the rest follow from it
		}
	}
	c.prog.src.errorf(&c.errs, p, format, args...)
}

func (c *checker) program() {
	// One BEGIN and one END, as bpftrace has them: the runtime fires one
	// of each.
	hooks := map[ProbeType]*AttachPoint{}
	for _, p := range c.prog.Probes {
		c.probe = p
		c.locals = map[string]*Type{}
		c.untyped = map[string]bool{}
		for _, a := range p.Attach {
			c.attach(a)
			if a.Type == Begin || a.Type == End {
				if first := hooks[a.Type]; first != nil {
					c.errorf(a.Pos, "more than one %s probe (the first is at %d:%d): put their actions in one", a.Type, first.Pos.Line, first.Pos.Col)
				}
				hooks[a.Type] = a
			}
		}
		if p.Pred != nil {
			if t := c.expr(p.Pred); t != nil && !t.IsInt() {
				c.errorf(p.Pred.Position(), "predicate must be an integer or a comparison, not %s", t)
			}
		}
		c.stmts(p.Body)
	}
}

func (c *checker) attach(a *AttachPoint) {
	switch a.Type {
	case Tracepoint:
		// wildcards are expanded by the caller; the fields are checked
		// only where args is used.
	case Fentry, Fexit, LSM:
		c.attachBTF(a)
	case RawTracepoint:
		c.attachTPBTF(a)
	case Interval, Profile:
		if a.Unit == "hz" && a.Rate > 1_000_000 || a.Rate > 1<<40 {
			c.errorf(a.Pos, "%s rate %d is too high", a.Type, a.Rate)
		}
	}
}

func (c *checker) stmts(list []Stmt) {
	for _, s := range list {
		c.stmt(s)
	}
}

func (c *checker) stmt(s Stmt) {
	switch s := s.(type) {
	case *ExprStmt:
		t := c.expr(s.X)
		call, isCall := s.X.(*Call)
		switch {
		case isCall && isAggregation(call.Name):
			c.errorf(call.Pos, "%s() must be assigned to a map, as in @x = %s(...)", call.Name, call.Name)
		case t != nil && t.Kind != KindVoid:
			c.errorf(s.X.Position(), "%s is evaluated but not used", describe(s.X))
		}
	case *AssignStmt:
		c.assign(s)
	case *IfStmt:
		if t := c.expr(s.Cond); t != nil && !t.IsInt() {
			c.errorf(s.Cond.Position(), "if condition must be an integer or a comparison, not %s", t)
		}
		c.stmts(s.Then)
		c.stmts(s.Else)
	case *WhileStmt:
		if t := c.expr(s.Cond); t != nil && !t.IsInt() {
			c.errorf(s.Cond.Position(), "while condition must be an integer or a comparison, not %s", t)
		}
		c.whiles++
		c.stmts(s.Body)
		c.whiles--
	case *JumpStmt:
		if s.Kind != "return" && c.whiles == 0 {
			c.errorf(s.Pos, "%s is only valid in a while loop", s.Kind)
		}
	case *UnrollStmt:
		n, ok := c.constInt(s.N)
		if !ok || n < 1 || n > MaxUnroll {
			c.errorf(s.N.Position(), "unroll count must be an integer constant from 1 to %d", MaxUnroll)
			n = 1
		}
		// Nested unrolls multiply: bound the copies of the innermost body.
		outer := c.unrolled
		if outer == 0 {
			outer = 1
		}
		c.unrolled = outer * n
		if c.unrolled > MaxUnrollNested {
			c.errorf(s.Pos, "nested unrolls repeat this body %d times: at most %d", c.unrolled, MaxUnrollNested)
			c.unrolled = 1
		}
		c.stmts(s.Body)
		c.unrolled = outer
	}
}

// storable normalises a value type to how it is stored in a variable or
// map: integers widen to 64 bits, as bpftrace does.
func storable(t *Type) *Type {
	if t.Ptr || t.Pointee != nil {
		return t // a pointer keeps its type: $t = curtask; $t->pid
	}
	if t.IsInt() {
		st := Uint64
		if t.Signed {
			st = Int64
		}
		if t.User {
			// A user pointer stays one in a map or variable: str() of it
			// reads user memory, as bpftrace's address spaces have it
			// (opensnoop.bt keeps args->filename in @filename[tid]).
			u := *st
			u.User = true
			return &u
		}
		return st
	}
	return t
}

func (c *checker) assign(s *AssignStmt) {
	var vt *Type
	switch s.Op {
	case ASSIGN:
		if call, ok := s.Value.(*Call); ok && isAggregation(call.Name) {
			vt = c.aggregation(call)
		} else {
			vt = c.expr(s.Value)
			if call, ok := s.Value.(*Call); ok && call.Name == "delete" && vt == Void {
				// $ok = delete(@m, k): bpftrace's newer delete() says
				// whether the key was there.
				vt = Bool
				call.setType(Bool)
			}
		}
	case INC, DEC:
		vt = Int64
	default:
		vt = c.expr(s.Value)
		if vt != nil && !vt.IsInt() {
			c.errorf(s.Value.Position(), "%s needs an integer, not %s", s.Op, vt)
			return
		}
	}
	if vt == nil {
		if v, ok := s.Target.(*Var); ok {
			c.untyped[v.Name] = true
		}
		return
	}
	if vt.Kind == KindVoid || vt.Kind == KindArgs {
		c.errorf(s.Value.Position(), "%s has no value to assign", describe(s.Value))
		return
	}
	switch t := s.Target.(type) {
	case *Var:
		if isPositional(t.Name) {
			c.errorf(t.Pos, "$%s is a positional parameter: it cannot be assigned", t.Name)
			return
		}
		if vt.Kind.IsAggregation() {
			c.errorf(s.Value.Position(), "aggregations can only be assigned to maps: write @%s = ...", t.Name)
			return
		}
		old := c.locals[t.Name]
		if s.Op != ASSIGN && old == nil {
			c.errorf(t.Pos, "variable $%s is used before it is assigned", t.Name)
			return
		}
		if old != nil && !old.compatible(vt) {
			c.errorf(s.Value.Position(), "type mismatch for $%s: it holds %s, assigned %s", t.Name, old, vt)
			return
		}
		if old == nil {
			old = storable(vt)
			if old.IsInt() && !old.Ptr && vt.Size < old.Size {
				w := *old
				w.Width = vt.Size
				old = &w
			}
			c.locals[t.Name] = old
		} else if old.Kind == KindString && vt.Size > old.Size {
			old.Size = vt.Size
		}
		t.setType(old)
	case *MapExpr:
		keys := c.mapKeys(t)
		m := c.info.maps[t.Name]
		if s.Op != ASSIGN && s.Op != INC && s.Op != DEC && m != nil && !m.Value.IsInt() {
			c.errorf(s.Pos, "%s needs an integer map, but @%s holds %s", s.Op, t.Name, m.Value)
			return
		}
		m = c.defineMap(t, keys, storable(vt), s.Value)
		if m != nil {
			t.setType(m.Value)
		}
	}
}

// defineMap records the first use of a map, or checks a later one against it.
func (c *checker) defineMap(x *MapExpr, keys []*Type, vt *Type, at Expr) *MapInfo {
	m := c.info.maps[x.Name]
	if m == nil {
		m = &MapInfo{Name: x.Name, Pos: x.Pos, Keys: keys, Value: vt}
		if c.pass == 1 {
			c.info.maps[x.Name] = m
			c.info.Maps = append(c.info.Maps, m)
		}
		return m
	}
	c.checkKeys(x, m, keys)
	if vt == nil {
		return m
	}
	if !m.Value.compatible(vt) {
		pos := x.Pos
		if at != nil {
			pos = at.Position()
		}
		c.errorf(pos, "type mismatch for @%s: it holds %s (first assigned at %s), assigned %s", x.Name, m.Value, m.Pos, vt)
		return m
	}
	if vt.Kind == KindString && vt.Size > m.Value.Size {
		m.Value.Size = vt.Size
	}
	if m.Value.Kind.IsAggregation() && vt.Signed {
		m.Value.Signed = true
	}
	return m
}

func (c *checker) checkKeys(x *MapExpr, m *MapInfo, keys []*Type) {
	if keys == nil && m.Keys == nil {
		return
	}
	if len(keys) != len(m.Keys) {
		c.errorf(x.Pos, "@%s has %d key(s) %s at %s, but %d here", x.Name, len(m.Keys), tupleString(m.Keys), m.Pos, len(keys))
		return
	}
	for i, k := range keys {
		if k == nil {
			continue
		}
		if m.Keys[i] == nil {
			// The first use's key had an error (reported there): this
			// use types it, so later ones are still checked.
			m.Keys[i] = k
			continue
		}
		if !m.Keys[i].compatible(k) {
			c.errorf(x.Keys[i].Position(), "key %d of @%s is %s at %s, not %s", i+1, x.Name, m.Keys[i], m.Pos, k)
			continue
		}
		if k.Kind == KindString && k.Size > m.Keys[i].Size {
			m.Keys[i].Size = k.Size
		}
	}
}

func (c *checker) mapKeys(x *MapExpr) []*Type {
	if len(x.Keys) == 0 {
		return nil
	}
	keys := make([]*Type, len(x.Keys))
	for i, k := range x.Keys {
		t := c.expr(k)
		if t == nil {
			continue
		}
		switch {
		case t.Kind == KindVoid, t.Kind == KindArgs, t.Kind.IsAggregation():
			c.errorf(k.Position(), "%s cannot be a map key", describe(k))
			continue
		}
		kt := storable(t)
		if kt.Kind == KindString {
			kt = StringType(kt.Size)
		}
		keys[i] = kt
	}
	return keys
}

// aggregation types an aggregation function's call.
func (c *checker) aggregation(call *Call) *Type {
	want := map[string]int{"count": 0, "sum": 1, "avg": 1, "min": 1, "max": 1, "stats": 1, "hist": 1, "lhist": 4}[call.Name]
	if len(call.Args) != want {
		c.errorf(call.Pos, "%s() takes %d argument(s), got %d%s", call.Name, want, len(call.Args), aggUsage[call.Name])
		return nil
	}
	kind := map[string]Kind{"count": KindCount, "sum": KindSum, "avg": KindAvg, "min": KindMin,
		"max": KindMax, "stats": KindStats, "hist": KindHist, "lhist": KindLhist}[call.Name]
	t := &Type{Kind: kind, Size: 8}
	if want > 0 {
		at := c.expr(call.Args[0])
		if at == nil {
			return nil
		}
		if !at.IsInt() {
			c.errorf(call.Args[0].Position(), "%s() needs an integer, not %s", call.Name, at)
			return nil
		}
		t.Signed = at.Signed
	}
	if kind == KindLhist {
		var v [3]int64
		for i, a := range call.Args[1:] {
			n, ok := c.constInt(a)
			if !ok {
				c.errorf(a.Position(), "lhist() %s must be an integer constant", []string{"min", "max", "step"}[i])
				return nil
			}
			v[i] = n
		}
		switch {
		case v[0] < 0:
			c.errorf(call.Args[1].Position(), "lhist() min must be non-negative")
			return nil
		case v[1] <= v[0]:
			c.errorf(call.Args[2].Position(), "lhist() max must be greater than min")
			return nil
		case v[2] <= 0:
			c.errorf(call.Args[3].Position(), "lhist() step must be positive")
			return nil
		case (v[1]-v[0])/v[2] > 1000:
			c.errorf(call.Args[3].Position(), "lhist() has %d buckets: at most 1000 (raise step)", (v[1]-v[0])/v[2])
			return nil
		}
		t.Min, t.Max, t.Step = v[0], v[1], v[2]
	}
	switch kind {
	case KindAvg, KindStats:
		t.Size = 16 // count, sum
	case KindMin, KindMax:
		t.Size = 16 // value, and whether this CPU has one yet
	}
	call.setType(t)
	return t
}

var aggUsage = map[string]string{
	"count": " (usage: @x = count())", "sum": " (usage: @x = sum(value))", "avg": " (usage: @x = avg(value))",
	"min": " (usage: @x = min(value))", "max": " (usage: @x = max(value))", "stats": " (usage: @x = stats(value))",
	"hist": " (usage: @x = hist(value))", "lhist": " (usage: @x = lhist(value, min, max, step))",
}

// constInt evaluates a constant integer expression (a literal, or one
// folded from literals).
func (c *checker) constInt(e Expr) (int64, bool) {
	c.expr(e)
	v, ok := foldConst(e)
	return int64(v), ok
}

// builtinType is the type of a builtin, or an error message when the
// probe type cannot provide it.
func (c *checker) builtin(b *Builtin) *Type {
	for _, a := range c.probe.Attach {
		if msg := builtinAllowed(b.Name, a.Type); msg != "" {
			c.errorf(b.Pos, "%s (in probe %s)", msg, a.Raw)
			return nil
		}
	}
	switch b.Name {
	case "pid", "tid", "uid", "gid", "cpu":
		return Uint32
	case "cpid":
		if c.opts.CPID <= 0 {
			c.errorf(b.Pos, "cpid is the pid of the command started with -c, and there is none: add -c CMD")
			return nil
		}
		return Uint32
	case "nsecs", "elapsed":
		return Uint64
	case "numaid":
		return Uint32
	case "cgroup":
		return Uint64
	case "username":
		return &Type{Kind: KindUsername, Size: 8}
	case "comm":
		return StringType(16)
	case "arg0", "arg1", "arg2", "arg3", "arg4", "arg5":
		if c.probe.Attach[0].Type == USDT {
			return c.usdtArgType(b)
		}
		for _, a := range c.probe.Attach {
			if n := int(b.Name[3] - '0'); a.Type == RawTracepoint && a.BTFID != 0 && n >= a.NArgs {
				c.errorf(b.Pos, "%s: rawtracepoint %s has %d arguments (arg0 to arg%d)", b.Name, a.Func, a.NArgs, a.NArgs-1)
				return nil
			}
		}
		t := IntType(8, false)
		t.User = c.probe.Attach[0].Type == Uprobe
		return t
	case "retval":
		if a := c.probe.Attach[0]; a.Type == Fexit {
			return c.fexitRetval(b, a)
		}
		t := IntType(8, true)
		t.User = c.probe.Attach[0].Type == Uretprobe
		return t
	case "arg6", "arg7", "arg8", "arg9", "arg10", "arg11":
		if c.probe.Attach[0].Type == USDT {
			return c.usdtArgType(b)
		}
		c.errorf(b.Pos, "%s: %s probes have arguments arg0 to arg5 (arg6 to arg11 are for usdt probes)", b.Name, c.probe.Attach[0].Type)
		return nil
	case "args":
		return ArgsRec
	case "func":
		if isUser(c.probe.Attach[0].Type) {
			return &Type{Kind: KindUsym, Size: 16}
		}
		return &Type{Kind: KindKsym, Size: 8}
	case "probe":
		return &Type{Kind: KindProbe, Size: 8}
	case "kstack":
		return Kstack
	case "ustack":
		return Ustack
	case "curtask":
		return c.curtask(b)
	}
	return nil
}

func isUser(t ProbeType) bool { return t == Uprobe || t == Uretprobe || t == USDT }

// builtinAllowed says why a builtin cannot be used in a probe type, or "".
func builtinAllowed(name string, t ProbeType) string {
	switch {
	case name == "retval" && !t.IsReturn():
		return "retval is only valid in kretprobe, uretprobe and fexit probes"
	case name == "args" && t != Tracepoint && !t.isBTFArgs():
		return "args is only valid in tracepoint, rawtracepoint, fentry, fexit and lsm probes"
	case strings.HasPrefix(name, "arg") && name != "args" && t != Kprobe && t != Uprobe && t != RawTracepoint && t != USDT:
		return name + " is only valid in kprobe, uprobe, usdt and rawtracepoint probes (function entry)"
	case name == "func" && t != Kprobe && t != Kretprobe && t != Uprobe && t != Uretprobe:
		return "func is only valid in kprobe, kretprobe, uprobe and uretprobe probes"
	}
	return ""
}

func (c *checker) expr(e Expr) (t *Type) {
	defer func() { e.setType(t) }()
	switch e := e.(type) {
	case *IntLit:
		if e.Value > 1<<63-1 {
			return Uint64
		}
		return Int64
	case *StrLit:
		if len(e.Value)+1 > MaxStrLen {
			c.errorf(e.Pos, "string literal is %d bytes: at most %d", len(e.Value), MaxStrLen-1)
			return nil
		}
		return StringType(len(e.Value) + 1)
	case *Builtin:
		t := c.builtin(e)
		if t != nil && t.Kind == KindArgs {
			// only as the operand of a field access, which types it itself
			c.errorf(e.Pos, "args must be followed by a field, as in args->%s", c.someField())
			return nil
		}
		return t
	case *Var:
		if isPositional(e.Name) {
			return c.positional(e)
		}
		t := c.locals[e.Name]
		if t == nil && !c.untyped[e.Name] {
			c.errorf(e.Pos, "variable $%s is used before it is assigned", e.Name)
		}
		return t
	case *Cast:
		xt := c.expr(e.X)
		if xt == nil {
			return nil
		}
		if size, ok := castTypes[e.Type]; ok && e.Stars == 1 {
			// (uint16 *)p: an address, which keeps its address space,
			// of an integer that *p reads.
			if !xt.IsInt() {
				c.errorf(e.Pos, "cannot cast %s to %s *: only integers and pointers can be", xt, e.Type)
				return nil
			}
			return &Type{Kind: KindInt, Size: 8, User: xt.User, C: e.Type + " *", Pointee: IntType(size, e.Type[0] == 'i')}
		}
		if e.Stars > 0 {
			return c.ptrCast(e, xt)
		}
		if !xt.IsInt() {
			c.errorf(e.Pos, "cannot cast %s to %s: only integers can be cast", xt, e.Type)
			return nil
		}
		return IntType(castTypes[e.Type], e.Type[0] == 'i')
	case *MapExpr:
		keys := c.mapKeys(e)
		m := c.info.maps[e.Name]
		if m == nil {
			if c.pass == 2 {
				c.errorf(e.Pos, "map @%s is read but never assigned", e.Name)
			}
			return nil
		}
		c.checkKeys(e, m, keys)
		if m.Value.Kind.IsAggregation() {
			c.errorf(e.Pos, "@%s holds %s, an aggregation: it cannot be read in a probe, only printed (print(@%s))", e.Name, m.Value, e.Name)
			return nil
		}
		return m.Value
	case *FieldExpr:
		return c.field(e)
	case *Index:
		return c.index(e)
	case *Sizeof:
		return c.sizeof(e)
	case *Offsetof:
		return c.offsetof(e)
	case *Call:
		return c.call(e)
	case *Unary:
		xt := c.expr(e.X)
		if xt == nil {
			return nil
		}
		if !xt.IsInt() {
			c.errorf(e.Pos, "operator %s needs an integer, not %s", e.Op, xt)
			return nil
		}
		switch e.Op {
		case NOT:
			return Bool
		case SUB:
			return Int64
		case MUL:
			// An integer dereferenced reads an unsigned integer of its
			// own width, as bpftrace 0.17 does for kaddr()'s address
			// (loads.bt: *kaddr("avenrun")); an (intN *) its integer.
			t := IntType(xt.Size, false)
			if xt.Pointee != nil {
				t = IntType(xt.Pointee.Size, xt.Pointee.Signed)
			}
			t.User = xt.User
			return t
		}
		return storable(xt)
	case *Binary:
		return c.binary(e)
	case *Ternary:
		ct, tt, et := c.expr(e.Cond), c.expr(e.Then), c.expr(e.Else)
		if ct == nil || tt == nil || et == nil {
			return nil
		}
		if !ct.IsInt() {
			c.errorf(e.Cond.Position(), "condition must be an integer or a comparison, not %s", ct)
			return nil
		}
		if tt.IsInt() && et.IsInt() {
			return signedOf(tt, et)
		}
		if tt.Kind == KindString && et.Kind == KindString {
			return StringType(max(tt.Size, et.Size))
		}
		c.errorf(e.Pos, "the branches of ?: have different types: %s and %s", tt, et)
		return nil
	}
	return nil
}

// literalLookup checks NAME("LITERAL"), whose value lookup finds when the
// script is compiled (kaddr's address, cgroupid's id): the literal is
// wantLit, and without lookup the call needs what missing says.
func (c *checker) literalLookup(e *Call, lookup func(string) (uint64, error), wantLit, missing string) *Type {
	lit, ok := e.Args[0].(*StrLit)
	if !ok {
		c.expr(e.Args[0])
		c.errorf(e.Args[0].Position(), "%s() needs %s", e.Name, wantLit)
		return nil
	}
	c.expr(lit)
	if lookup == nil {
		c.errorf(e.Pos, "%s(%q) needs %s", e.Name, lit.Value, missing)
		return nil
	}
	v, err := lookup(lit.Value)
	if err != nil {
		c.errorf(lit.Pos, "%s(%q): %v", e.Name, lit.Value, err)
		return nil
	}
	e.addr = v
	return Uint64
}

// printValue checks print(value), bpftrace's print of one value: it
// prints as printf prints it, then a newline, so the call becomes that
// printf (integers in full, stacks, strings and the other printable
// kinds with %s, a buf() with %r).
func (c *checker) printValue(e *Call) *Type {
	t := c.expr(e.Args[0])
	if t == nil {
		return nil
	}
	var format string
	switch {
	case t.Ptr || t.Pointee != nil:
		c.errorf(e.Args[0].Position(), "print() cannot print %s, a pointer: print an integer cast of it, or its members", t)
		return nil
	case t.IsInt() && t.Signed:
		format = "%lld\n"
	case t.IsInt():
		format = "%llu\n"
	case t.Kind == KindBuffer:
		format = "%r\n"
	case verbAccepts('s', t):
		format = "%s\n"
	default:
		c.errorf(e.Args[0].Position(), "print() cannot print %s (usage: print(@map[, top[, div]]) or print(value))", t)
		return nil
	}
	e.Name = "printf"
	e.Args = []Expr{&StrLit{Pos: e.Pos, Value: format}, e.Args[0]}
	c.printf(e)
	return Void
}

func isPositional(name string) bool { return name == "#" || isDigits(name) }

// positional types $N or $#: an integer, whose text is kept on the node.
func (c *checker) positional(e *Var) *Type {
	text := ""
	switch n, _ := strconv.Atoi(e.Name); {
	case e.Name == "#":
		text = strconv.Itoa(len(c.opts.Params))
	case n == 0:
		c.errorf(e.Pos, "$%s is not a positional parameter: they are $1, $2, ... and $# (their count)", e.Name)
		return nil
	case n <= len(c.opts.Params):
		text = c.opts.Params[n-1]
	}
	e.param = &StrLit{Pos: e.Pos, Value: text}
	if text != "" {
		if _, err := ParseInt(text); err != nil {
			c.errorf(e.Pos, "positional parameter $%s is %q, not a number: use str($%s) for its text", e.Name, text, e.Name)
			return nil
		}
	}
	return Int64
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return s != ""
}

func signedOf(x, y *Type) *Type {
	if arithSigned(x, y) {
		return Int64
	}
	return Uint64
}

// arithSigned applies C's usual arithmetic conversions to two integers that
// are widened to 64 bits: an unsigned 64-bit operand makes the operation
// unsigned (nsecs - @start), otherwise a signed operand makes it signed
// (pid - 1, retval < 0).
func arithSigned(x, y *Type) bool {
	if x == nil || y == nil {
		return false
	}
	if !x.Signed && x.Size == 8 && x.Kind == KindInt || !y.Signed && y.Size == 8 && y.Kind == KindInt {
		return false
	}
	return x.Signed || y.Signed
}

// unassignedMap reports whether e reads a map that no assignment has
// defined yet, in the first pass.
func (c *checker) unassignedMap(e Expr) bool {
	m, ok := e.(*MapExpr)
	return ok && c.pass == 1 && c.info.maps[m.Name] == nil
}

func (c *checker) binary(e *Binary) *Type {
	xt, yt := c.expr(e.X), c.expr(e.Y)
	// @sum = @sum + $d (vmscan.bt): in the first pass the map is read
	// before any assignment defined it. Arithmetic on it makes it an
	// integer, as a map first used that way is in bpftrace; the second pass
	// checks the read against the assignment's definition.
	if xt == nil && yt != nil && yt.IsInt() && c.unassignedMap(e.X) {
		xt = Int64
	}
	if yt == nil && xt != nil && xt.IsInt() && c.unassignedMap(e.Y) {
		yt = Int64
	}
	if xt == nil || yt == nil {
		return nil
	}
	switch e.Op {
	case EQL, NEQ:
		if xt.Kind == KindString && yt.Kind == KindString {
			return Bool
		}
	case LAND, LOR:
		if xt.IsInt() && yt.IsInt() {
			return Bool
		}
	}
	if !xt.IsInt() || !yt.IsInt() {
		bad := xt
		if xt.IsInt() {
			bad = yt
		}
		if xt.Kind == KindString && yt.Kind == KindString {
			c.errorf(e.Pos, "strings can only be compared with == and !=, not %s", e.Op)
		} else {
			c.errorf(e.Pos, "operator %s needs integers, not %s (comparing %s with %s)", e.Op, bad, xt, yt)
		}
		return nil
	}
	switch e.Op {
	case EQL, NEQ, LSS, LEQ, GTR, GEQ:
		return Bool
	case ADD, SUB:
		if xt.Pointee != nil && yt.Pointee == nil {
			return xt // p + n: still a pointer to the same integer
		}
		if xt.User != yt.User {
			// An address plus an offset stays in its address space:
			// *(int16 *)(args->filename + 1) reads user memory.
			t := *signedOf(xt, yt)
			t.User = true
			return &t
		}
	case QUO, REM:
		if v, ok := foldConst(e.Y); ok && v == 0 {
			c.errorf(e.Y.Position(), "division by zero")
			return nil
		}
	}
	return signedOf(xt, yt)
}

// someField names a field of the probe's tracepoint, for a message. It
// reports nothing: the format's own errors belong to a field access.
func (c *checker) someField() string {
	for _, a := range c.probe.Attach {
		if a.Type != Tracepoint || a.Wildcard() || c.opts.Formats == nil {
			continue
		}
		if f, err := c.opts.Formats.Format(a.Target, a.Func); err == nil && f != nil && len(f.Fields) > 0 {
			return f.Fields[len(f.Fields)-1].Name
		}
	}
	return "FIELD"
}

// format returns the format of a tracepoint attach point, reporting at pos
// when it cannot be had.
func (c *checker) format(a *AttachPoint, pos Pos) *Format {
	key := a.Target + ":" + a.Func
	if f, ok := c.formats[key]; ok {
		return f
	}
	var f *Format
	switch {
	case a.Wildcard():
		c.errorf(pos, "args cannot be used with the wildcard tracepoint %s: its events have different fields", a.Raw)
	case c.opts.Formats == nil:
		c.errorf(pos, "args needs the format of tracepoint %s:%s, and no tracefs is available", a.Target, a.Func)
	default:
		var err error
		f, err = c.opts.Formats.Format(a.Target, a.Func)
		if err != nil {
			c.errorf(a.Pos, "tracepoint %s:%s: %v", a.Target, a.Func, err)
			f = nil
		}
	}
	if c.pass == 2 || f != nil {
		c.formats[key] = f
	}
	return f
}

func (c *checker) field(e *FieldExpr) *Type {
	b, ok := e.X.(*Builtin)
	if !ok || b.Name != "args" {
		xt := c.expr(e.X)
		if xt == nil {
			return nil
		}
		if xt.Ptr || inKernel(xt) {
			return c.member(e, xt)
		}
		c.errorf(e.Pos, "only args and kernel structs have fields (args->%s, curtask->%s), not %s", e.Field, e.Field, describe(e.X))
		return nil
	}
	bt := c.builtin(b)
	if bt == nil {
		return nil
	}
	b.setType(ArgsRec)
	if c.probe.Attach[0].Type.isBTFArgs() {
		return c.rawArg(e)
	}
	// Each attach point compiles to its own program, with its own
	// layout (sys_enter_open and sys_enter_openat have filename at
	// different offsets), as bpftrace does; only the type must agree.
	var typ *Type
	var typAt *AttachPoint
	e.fds = map[*AttachPoint]*FormatField{}
	for _, a := range c.probe.Attach {
		fd := c.tracepointField(a, e)
		if fd == nil {
			return nil
		}
		t := c.fieldType(fd, a)
		if t == nil {
			c.errorf(e.Pos, "field %s of %s has type %q, which scripts cannot use (integers and strings only)", e.Field, a.Raw, fd.CType)
			return nil
		}
		e.fds[a] = fd
		if typ == nil {
			typ, typAt, e.fd = t, a, fd
			continue
		}
		switch {
		case typ.IsInt() && t.IsInt():
			if typ.Size != t.Size || typ.Signed != t.Signed || typ.User != t.User {
				// Different widths widen to 64 bits, as any stored integer.
				u := storable(IntType(8, typ.Signed || t.Signed))
				u.User = typ.User && t.User
				typ = u
			}
		case typ.Kind == KindString && t.Kind == KindString:
			typ = StringType(max(typ.Size, t.Size))
		default:
			c.errorf(e.Pos, "field %s is %s in %s but %s in %s: one action block needs one type", e.Field, typ, typAt.Raw, t, a.Raw)
			return nil
		}
	}
	return typ
}

// fieldType is the type of a tracepoint field as a script sees it, or nil
// for a layout scripts cannot use.
func (c *checker) fieldType(fd *FormatField, a *AttachPoint) *Type {
	switch fd.Layout {
	case LayoutInt:
		if fd.Size != 1 && fd.Size != 2 && fd.Size != 4 && fd.Size != 8 {
			return nil
		}
		t := IntType(fd.Size, fd.Signed)
		// Syscall tracepoints record the user's arguments: their pointers
		// address user memory.
		t.User = fd.isPointer() && a.Target == "syscalls"
		if fd.Size == 8 && fd.isPointer() && c.opts.BTF != nil {
			// "struct sk_buff * skbaddr": a pointer to a kernel type,
			// whose members the script may read.
			if id, err := namedType(c.opts.BTF, pointee(fd.CType)); err == nil {
				return &Type{Kind: KindInt, Size: 8, Ptr: true, BTF: id, C: pointee(fd.CType) + " *", User: t.User}
			}
		}
		return t
	case LayoutCharArray:
		return StringType(min(fd.Size, MaxStrLen))
	case LayoutDynString:
		return StringType(c.opts.StrLen)
	}
	return nil
}

// strLit checks that argument i of e is a string literal.
func (c *checker) strLit(e *Call, i int, example string) bool {
	if _, ok := e.Args[i].(*StrLit); !ok {
		c.expr(e.Args[i])
		c.errorf(e.Args[i].Position(), "%s() needs a string literal here, as in %s", e.Name, example)
		return false
	}
	c.expr(e.Args[i])
	return true
}

func (c *checker) call(e *Call) *Type {
	nargs := func(lo, hi int, usage string) bool {
		if len(e.Args) < lo || len(e.Args) > hi {
			c.errorf(e.Pos, "wrong number of arguments to %s(): got %d (usage: %s)", e.Name, len(e.Args), usage)
			for _, a := range e.Args {
				c.expr(a)
			}
			return false
		}
		return true
	}
	mapArg := func(usage string, keyed bool) *MapExpr {
		m, ok := e.Args[0].(*MapExpr)
		if !ok {
			c.expr(e.Args[0])
			c.errorf(e.Args[0].Position(), "%s() needs a map, not %s (usage: %s)", e.Name, describe(e.Args[0]), usage)
			return nil
		}
		info := c.info.maps[m.Name]
		if info == nil {
			if c.pass == 2 {
				c.errorf(m.Pos, "map @%s is never assigned", m.Name)
			}
			return nil
		}
		if keyed {
			keys := c.mapKeys(m)
			c.checkKeys(m, info, keys)
		} else if len(m.Keys) > 0 {
			c.errorf(m.Pos, "%s() takes the whole map: write @%s without a key", e.Name, m.Name)
			return nil
		}
		m.setType(info.Value)
		if c.pass == 1 {
			info.Deleted = true
		}
		return m
	}
	switch e.Name {
	case "printf":
		if !nargs(1, 65, `printf("format", args...)`) {
			return nil
		}
		c.printf(e)
		return Void
	case "buf":
		// buf(p, n): n bytes at p, n known when the probe runs, at most
		// the string size (bpftrace's BPFTRACE_STRLEN bounds it too).
		if !nargs(2, 2, "buf(pointer, length)") {
			return nil
		}
		pt, lt := c.expr(e.Args[0]), c.expr(e.Args[1])
		if pt == nil || lt == nil {
			return nil
		}
		if !pt.IsInt() {
			c.errorf(e.Args[0].Position(), "buf() needs a pointer, not %s", pt)
			return nil
		}
		if !lt.IsInt() {
			c.errorf(e.Args[1].Position(), "buf() length must be an integer, not %s", lt)
			return nil
		}
		if clobbers(e.Args[0]) || clobbers(e.Args[1]) {
			c.errorf(e.Pos, "buf(): a map read or string comparison in its arguments is not supported; assign it to a variable first")
			return nil
		}
		n := c.opts.StrLen
		if n == 0 {
			n = 64
		}
		return &Type{Kind: KindBuffer, Size: 8 + (n+7)&^7, User: pt.User}
	case "cat":
		// cat("/proc/loadavg"), or a path formatted as printf formats.
		if !nargs(1, 65, `cat("file"[, args...])`) {
			return nil
		}
		c.printf(e)
		return Void
	case "system":
		// system("cmd %d", args...): user space formats the command and
		// runs it with /bin/sh, its output in the run's.
		if !c.unsafe(e) || !nargs(1, 65, `system("command"[, args...])`) {
			return nil
		}
		c.printf(e)
		return Void
	case "signal":
		// signal(SIGKILL), signal("KILL") or signal(9): bpf_send_signal
		// to the current task's process.
		if !c.unsafe(e) || !nargs(1, 1, `signal("KILL" or number)`) {
			return nil
		}
		for _, a := range c.probe.Attach {
			switch a.Type {
			case Begin, End, Interval:
				// No task of the script's own to signal: bpftrace
				// refuses them too.
				c.errorf(e.Pos, "signal() cannot be used in %s probes: it signals the process the probe fires in", a.Type)
				return nil
			}
		}
		if s, ok := e.Args[0].(*StrLit); ok {
			name := strings.TrimPrefix(s.Value, "SIG")
			v, ok := constant("SIG"+name, c.prog.arch)
			if !ok {
				c.errorf(s.Pos, "signal(%q): no such signal; give a name such as \"KILL\", \"SIGTERM\" or \"USR1\", or a number from 1 to 64", s.Value)
				return nil
			}
			e.Args[0] = &IntLit{Pos: s.Pos, Raw: s.Value, Value: v}
		}
		at := c.expr(e.Args[0])
		if at == nil {
			return nil
		}
		if !at.IsInt() {
			c.errorf(e.Args[0].Position(), "signal() needs a signal name or number, not %s", at)
			return nil
		}
		if v, ok := c.constInt(e.Args[0]); ok && (v < 1 || v > 64) {
			c.errorf(e.Args[0].Position(), "signal(%d): a signal number is from 1 to 64", v)
			return nil
		}
		return Void
	case "print":
		const usage = "print(@map[, top[, div]]) or print(value)"
		if !nargs(1, 3, usage) {
			return nil
		}
		if _, ok := e.Args[0].(*MapExpr); !ok && len(e.Args) == 1 {
			return c.printValue(e)
		}
		mapArg(usage, false)
		if len(e.Args) == 3 {
			div, ok := c.constInt(e.Args[2])
			if !ok || div < 0 || div > MaxPrintDiv {
				c.errorf(e.Args[2].Position(), "print()'s div must be an integer constant from 0 (none) to %d", int64(MaxPrintDiv))
				return nil
			}
		}
		if len(e.Args) >= 2 {
			top, ok := c.constInt(e.Args[1])
			if !ok || top < 0 || top > MaxPrintTop {
				c.errorf(e.Args[1].Position(), "print()'s top must be an integer constant from 0 (all) to %d", MaxPrintTop)
				return nil
			}
		}
		return Void
	case "delete":
		const usage = "delete(@map[key]) or delete(@map, key)"
		if !nargs(1, 2, usage) {
			return nil
		}
		if len(e.Args) == 2 {
			// delete(@m, key) is delete(@m[key]), bpftrace's newer form.
			m, ok := e.Args[0].(*MapExpr)
			if !ok || len(m.Keys) > 0 {
				c.expr(e.Args[1])
				c.errorf(e.Args[0].Position(), "delete() with two arguments takes a map without a key, then the key (usage: %s)", usage)
				return nil
			}
			if info := c.info.maps[m.Name]; info != nil && len(info.Keys) != 1 {
				c.expr(e.Args[1])
				c.errorf(e.Args[1].Position(), "@%s has %d keys: write delete(@%s[k1, k2, ...])", m.Name, len(info.Keys), m.Name)
				return nil
			}
			m.Keys, e.Args = []Expr{e.Args[1]}, e.Args[:1]
		}
		mapArg(usage, true)
		return Void
	case "clear", "zero":
		if !nargs(1, 1, e.Name+"(@map)") {
			return nil
		}
		mapArg(e.Name+"(@map)", false)
		return Void
	case "exit":
		if !nargs(0, 0, "exit()") {
			return nil
		}
		return Void
	case "str":
		if !nargs(1, 2, "str(pointer[, length])") {
			return nil
		}
		if v, ok := e.Args[0].(*Var); ok && isPositional(v.Name) && v.Name != "#" {
			// str($1) is the parameter's text, numeric or not.
			if n, _ := strconv.Atoi(v.Name); n == 0 {
				c.positional(v) // reports it
				return nil
			}
			c.positional(v)
			e.Args[0] = &StrLit{Pos: v.Pos, Value: v.param.Value}
		}
		pt := c.expr(e.Args[0])
		if pt == nil {
			return nil
		}
		if pt.Kind == KindString {
			return pt // already a string: bpftrace allows str(args->name) of char arrays
		}
		if !pt.IsInt() {
			c.errorf(e.Args[0].Position(), "str() needs a pointer, not %s", pt)
			return nil
		}
		n := int64(c.opts.StrLen)
		if len(e.Args) == 2 {
			v, ok := c.constInt(e.Args[1])
			if !ok {
				// A length known when the probe runs (shellsnoop.bt's
				// str(args->buf, args->count)) reads at most that many
				// bytes into a string of the default size.
				lt := c.expr(e.Args[1])
				if lt == nil {
					return nil
				}
				if !lt.IsInt() {
					c.errorf(e.Args[1].Position(), "str() length must be an integer, not %s", lt)
					return nil
				}
				if clobbers(e.Args[1]) {
					c.errorf(e.Args[1].Position(), "str() length: a map read or string comparison here is not supported; assign it to a variable first")
					return nil
				}
				e.dynLen = true
				return StringType(int(n))
			}
			if v < 1 || v >= MaxStrLen {
				c.errorf(e.Args[1].Position(), "str() length %d out of range: 1 to %d", v, MaxStrLen-1)
				return nil
			}
			n = v + 1
		}
		return StringType(int(n))
	case "ksym", "usym":
		if !nargs(1, 1, e.Name+"(address)") {
			return nil
		}
		if at := c.expr(e.Args[0]); at == nil || !at.IsInt() {
			if at != nil {
				c.errorf(e.Args[0].Position(), "%s() needs an address, not %s", e.Name, at)
			}
			return nil
		}
		if e.Name == "ksym" {
			return &Type{Kind: KindKsym, Size: 8}
		}
		return &Type{Kind: KindUsym, Size: 16}
	case "reg":
		if !nargs(1, 1, `reg("name")`) {
			return nil
		}
		lit, ok := e.Args[0].(*StrLit)
		if !ok {
			c.expr(e.Args[0])
			c.errorf(e.Args[0].Position(), `reg() needs a register name as a string literal, as in reg("ip")`)
			return nil
		}
		c.expr(lit)
		switch t := c.probe.Attach[0].Type; t {
		case Kprobe, Kretprobe, Uprobe, Uretprobe, USDT, Profile:
		default:
			// The program's context must be the saved registers
			// (bpf_perf_event_data begins with them).
			c.errorf(e.Pos, "reg() reads the registers a kprobe, uprobe or profile probe saves, not a %s probe's", t)
			return nil
		}
		t := IntType(8, false)
		t.User = isUser(c.probe.Attach[0].Type)
		return t
	case "kstack", "ustack":
		usage := e.Name + "([frames])"
		if !nargs(0, 1, usage) {
			return nil
		}
		st := *Kstack
		if e.Name == "ustack" {
			st = *Ustack
		}
		if len(e.Args) == 1 {
			c.expr(e.Args[0])
			v, ok := foldConst(e.Args[0])
			if !ok || v < 1 || v > MaxStackDepth {
				c.errorf(e.Args[0].Position(), "%s() takes the number of frames to keep, a constant from 1 to %d (usage: %s)", e.Name, MaxStackDepth, usage)
				return nil
			}
			if v != MaxStackDepth {
				st.Depth = int(v)
			}
		}
		return &st
	case "bswap":
		if !nargs(1, 1, "bswap(integer)") {
			return nil
		}
		at := c.expr(e.Args[0])
		if at == nil || !at.IsInt() {
			if at != nil {
				c.errorf(e.Args[0].Position(), "bswap() needs an integer, not %s", at)
			}
			return nil
		}
		// The bytes of the argument's own size, reversed, as bpftrace
		// does: bswap of a u16 port swaps two bytes.
		size := at.Size
		if at.Width > 0 {
			size = at.Width
		}
		if at.Kind == KindBool || size == 0 {
			size = 8
		}
		return IntType(size, false)
	case "cgroupid":
		// cgroupid("/sys/fs/cgroup/unified/x"): the id the cgroup
		// builtin gives for a task in that cgroup, read at compile time.
		if !nargs(1, 1, `cgroupid("/sys/fs/cgroup/PATH")`) {
			return nil
		}
		return c.literalLookup(e, c.opts.CgroupID, `the cgroup's path as a string literal, as in cgroupid("/sys/fs/cgroup/system.slice")`,
			"the cgroup filesystem, which is not available here")
	case "strncmp":
		// strncmp(a, b, n): 0 if the strings' first n bytes (to the
		// first NUL) are the same, else 1, as bpftrace's.
		const usage = "strncmp(string, string, length)"
		if !nargs(3, 3, usage) {
			return nil
		}
		for _, a := range e.Args[:2] {
			if t := c.expr(a); t != nil && t.Kind != KindString {
				c.errorf(a.Position(), "strncmp() compares strings, not %s (usage: %s)", t, usage)
				return nil
			}
		}
		c.expr(e.Args[2])
		if n, ok := c.constInt(e.Args[2]); !ok || n < 1 || n > MaxStrLen {
			c.errorf(e.Args[2].Position(), "strncmp()'s length must be an integer constant from 1 to %d (usage: %s)", MaxStrLen, usage)
			return nil
		}
		return Int64
	case "uptr", "kptr":
		// uptr(p), kptr(p): p points to user or kernel memory, whatever
		// the probe: str(uptr(arg1)) in a kprobe reads a user string.
		if !nargs(1, 1, e.Name+"(pointer)") {
			return nil
		}
		at := c.expr(e.Args[0])
		if at == nil {
			return nil
		}
		if !at.IsInt() {
			c.errorf(e.Args[0].Position(), "%s() needs an integer or a pointer, not %s", e.Name, at)
			return nil
		}
		t := *at
		t.User = e.Name == "uptr"
		return &t
	case "kaddr":
		if !nargs(1, 1, `kaddr("symbol")`) {
			return nil
		}
		return c.literalLookup(e, c.opts.KernelSymbol, `a symbol name as a string literal, as in kaddr("avenrun")`,
			"the kernel's symbol table, and none is available")
	case "time":
		if !nargs(0, 1, `time(["strftime format"])`) {
			return nil
		}
		if len(e.Args) == 1 && !c.strLit(e, 0, `time("%H:%M:%S\n")`) {
			return nil
		}
		return Void
	case "strftime":
		if !nargs(2, 2, `strftime("format", nsecs)`) {
			return nil
		}
		if !c.strLit(e, 0, `strftime("%H:%M:%S", nsecs)`) {
			return nil
		}
		if t := c.expr(e.Args[1]); t == nil || !t.IsInt() {
			if t != nil {
				c.errorf(e.Args[1].Position(), "strftime() needs nanoseconds (nsecs), not %s", t)
			}
			return nil
		}
		return &Type{Kind: KindTimestamp, Size: 8, Fmt: e.Args[0].(*StrLit).Value}
	case "ntop":
		return c.ntop(e)
	case "join":
		if !nargs(1, 2, `join(array[, "separator"])`) {
			return nil
		}
		if t := c.expr(e.Args[0]); t == nil || !t.IsInt() {
			if t != nil {
				c.errorf(e.Args[0].Position(), "join() needs the address of an array of string pointers (args->argv), not %s", t)
			}
			return nil
		}
		if len(e.Args) == 2 && !c.strLit(e, 1, `join(args->argv, ",")`) {
			return nil
		}
		return Void
	}
	if isAggregation(e.Name) {
		for _, a := range e.Args {
			c.expr(a)
		}
		c.errorf(e.Pos, "%s() must be assigned to a map, as in @x = %s(...)", e.Name, e.Name)
		return nil
	}
	return nil
}

// tracepointField is e's field in attach point a's format, or nil after
// an error naming the fields there are.
func (c *checker) tracepointField(a *AttachPoint, e *FieldExpr) *FormatField {
	f := c.format(a, e.Pos)
	if f == nil {
		return nil
	}
	fd := f.Field(e.Field)
	if fd == nil {
		c.errorf(e.Pos, "tracepoint %s:%s has no field %q%s (fields: %s)", a.Target, a.Func, e.Field,
			didYouMean(e.Field, f.fieldNames()), strings.Join(f.fieldNames(), ", "))
	}
	return fd
}
