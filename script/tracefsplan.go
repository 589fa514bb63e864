package script

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"

	"github.com/tracelet/tracelet/asm"
	"github.com/tracelet/tracelet/kprobeevents"
)

// The tracefs backend runs scripts without BPF (old kernels, boot time):
// a probe with a predicate and a printf of its arguments becomes a dynamic
// event with fetchargs and an event filter, and count() becomes the
// probe's hit counter (kprobe_profile, uprobe_profile) or a hist trigger.
// What tracefs cannot express is refused with an error naming the
// construct.

// TracefsOptions configure CompileTracefs.
type TracefsOptions struct {
	// Arch names the registers of arg0..argN; nil means the binary's own
	// (asm.HostArch); the runtime passes the running kernel's.
	Arch *asm.Arch
	// UprobeArch is Options.UprobeArch: the table of a uprobe's code
	// where it is not Arch's (32-bit code on a 64-bit kernel).
	UprobeArch func(a *AttachPoint, kernel *asm.Arch) (*asm.Arch, error)
	// Grammar describes the kernel the definitions are for (its version
	// or the extensions its tracefs README lists, and Offsets), which
	// decides how fentry and fexit probes are written (tracefsbtf.go):
	// fprobe events with the kernel's BTF arguments where it has them,
	// else kprobes with tracelet's offsets. Nil means kprobes, which every
	// kernel with kprobe_events takes.
	Grammar *kprobeevents.Options
}

// CountKind says how a tracefs probe implements count().
type CountKind int

const (
	CountNone CountKind = iota
	// CountProfile reads the probe's hit count from kprobe_profile or
	// uprobe_profile: a scalar count() without a predicate on a kprobe or
	// uprobe (the counters ignore filters).
	CountProfile
	// CountHist is a hist trigger (CONFIG_HIST_TRIGGERS) keyed by the
	// map's keys, filtered by the predicate.
	CountHist
)

// TracefsProbe is one attach point compiled for tracefs.
type TracefsProbe struct {
	Attach *AttachPoint
	// Fprobe: an fentry or fexit probe is written as an fprobe event
	// (f:, to dynamic_events) with the kernel's BTF argument names;
	// false writes it as a kprobe or kretprobe with offsets.
	Fprobe bool
	// FetchArgs are the NAME=FETCHARG[:TYPE] arguments of the dynamic
	// event (kprobes and uprobes; a tracepoint's fields are fixed).
	FetchArgs []string
	// Filter is the event filter of the predicate ("" for none).
	Filter string
	// Printf formats the event, and Fields names the record field of
	// each of its arguments (nil without printf).
	Printf *Printf
	Fields []string
	// Count implements @map = count(); Trigger is the hist trigger for
	// CountHist.
	Count    CountKind
	CountMap *MapInfo
	Trigger  string
}

// Definition is the line to write to kprobe_events or uprobe_events for
// the probe, named GROUP/EVENT. location is where it goes: for a kprobe ""
// means the attach point's function; a uprobe needs "PATH:0xOFFSET", which
// the caller resolves (tracefs.ResolveSymbol). Tracepoints have none.
func (tp *TracefsProbe) Definition(group, event, location string) (string, error) {
	a := tp.Attach
	kind := "p"
	switch a.Type {
	case Kretprobe, Uretprobe:
		kind = "r"
	case Fentry, Fexit:
		if tp.Fprobe {
			kind = "f"
		} else if a.Type == Fexit {
			kind = "r"
		}
	case Kprobe, Uprobe, USDT:
	default:
		return "", fmt.Errorf("%s probes are not dynamic events", a.Type)
	}
	if location == "" {
		if a.Type == Uprobe || a.Type == Uretprobe {
			return "", fmt.Errorf("uprobe %s needs its file offset resolved", a.Raw)
		}
		location = a.Func
		if a.Target != "" {
			location = a.Target + ":" + location
		}
		if a.HasOffset {
			location += fmt.Sprintf("+%d", a.Offset)
		}
		if a.Type == Fexit && tp.Fprobe {
			location += "%return"
		}
	}
	parts := append([]string{fmt.Sprintf("%s:%s/%s", kind, group, event), location}, tp.FetchArgs...)
	return strings.Join(parts, " "), nil
}

// FormatValues formats the probe's printf from the decoded values of its
// Fields: uint64 (or int64) for integers, string or []byte for strings.
func (tp *TracefsProbe) FormatValues(o *Object, vals []any) (string, error) {
	pf := tp.Printf
	if pf == nil {
		return "", nil
	}
	if len(vals) != len(pf.Args) {
		return "", fmt.Errorf("printf of %s needs %d values, got %d", tp.Attach.Raw, len(pf.Args), len(vals))
	}
	rec := make([]byte, pf.Size)
	for i, v := range vals {
		slot := rec[pf.Offsets[i] : pf.Offsets[i]+slotSize(pf.Args[i])]
		switch v := v.(type) {
		case uint64:
			binary.NativeEndian.PutUint64(slot, v)
		case int64:
			binary.NativeEndian.PutUint64(slot, uint64(v))
		case string:
			copy(slot[:len(slot)-1], v)
		case []byte:
			copy(slot[:len(slot)-1], v)
		default:
			return "", fmt.Errorf("value %d of %s is a %T", i, tp.Attach.Raw, v)
		}
	}
	return o.FormatPrintf(pf, rec, &Resolver{}), nil
}

// CompileTracefs compiles a checked script for the tracefs backend, one
// TracefsProbe per attach point. The Object it also returns holds the
// Printfs and maps, for FormatValues and printing.
func CompileTracefs(prog *Program, info *Info, opts TracefsOptions) ([]*TracefsProbe, *Object, error) {
	if opts.Arch == nil {
		a, err := asm.HostArch()
		if err != nil {
			return nil, nil, err
		}
		opts.Arch = a
	}
	if prog.src == nil {
		prog.src = newSource(prog.File, nil)
	}
	c := &compiler{prog: prog, info: info, obj: &Object{Info: info, Hists: prog.Hists}, maps: map[string]*Map{},
		mapIndex: map[string]int{}, printfIDs: map[*Call]int{}, opts: Options{MaxEntries: 1}}
	c.layoutMaps()
	var out []*TracefsProbe
	for _, p := range prog.Probes {
		for _, a := range p.Attach {
			c.obj.Attach = append(c.obj.Attach, a)
			t := &tfsTranslator{c: c, opts: opts, arch: c.archAt(a, opts.Arch, opts.UprobeArch), tp: &TracefsProbe{Attach: a}, fetched: map[string]int{}}
			t.probe(p)
			t.finish()
			out = append(out, t.tp)
		}
	}
	c.errs.Sort()
	if err := c.errs.Err(); err != nil {
		return nil, nil, err
	}
	return out, c.obj, nil
}

type tfsTranslator struct {
	c       *compiler
	opts    TracefsOptions
	arch    *asm.Arch
	tp      *TracefsProbe
	fetches []tfsFetch
	fetched map[string]int // name -> index in fetches
}

func (t *tfsTranslator) errorf(p Pos, format string, args ...any) {
	t.c.errorf(p, "tracefs backend: "+format, args...)
}

func (t *tfsTranslator) probe(p *Probe) {
	a := t.tp.Attach
	switch a.Type {
	case Kprobe, Kretprobe, Uprobe, Uretprobe, USDT, Tracepoint, Fentry, Fexit:
	default:
		t.errorf(a.Pos, "%s probes need BPF (tracefs has kprobes, uprobes, usdt probes, tracepoints, and fentry and fexit as fprobes or kprobes)", a.Type)
		return
	}
	if a.Wildcard() {
		t.errorf(a.Pos, "the wildcard in %s must be expanded to one probe per match first", a.Raw)
		return
	}
	if p.Pred != nil {
		t.tp.Filter = t.filter(p.Pred, false)
	}
	for _, s := range p.Body {
		t.stmt(s, p.Pred != nil)
	}
}

func (t *tfsTranslator) stmt(s Stmt, hasPred bool) {
	switch s := s.(type) {
	case *ExprStmt:
		if call, ok := s.X.(*Call); ok && call.Name == "printf" {
			if t.tp.Printf != nil {
				t.errorf(call.Pos, "a probe can print one printf per event (its record), not two")
				return
			}
			t.printf(call)
			return
		}
		t.errorf(s.X.Position(), "%s cannot be expressed in tracefs (a probe can printf its arguments and count())", describe(s.X))
	case *AssignStmt:
		call, isCall := s.Value.(*Call)
		m, isMap := s.Target.(*MapExpr)
		if !isMap || !isCall || call.Name != "count" || s.Op != ASSIGN {
			what := describe(s.Value)
			if s.Value == nil || !isMap {
				what = "assignment"
			}
			t.errorf(s.Pos, "%s cannot be expressed in tracefs: of the aggregations, only @map = count() can", what)
			return
		}
		t.count(m, hasPred)
	case *IfStmt:
		t.errorf(s.Pos, "if cannot be expressed in tracefs: use a predicate (/.../)")
	case *WhileStmt, *UnrollStmt:
		t.errorf(s.Position(), "loops cannot be expressed in tracefs")
	case *JumpStmt:
		t.errorf(s.Pos, "%s cannot be expressed in tracefs: use a predicate (/.../)", s.Kind)
	}
}

func (t *tfsTranslator) count(m *MapExpr, hasPred bool) {
	if t.tp.Count != CountNone {
		t.errorf(m.Pos, "a probe can count into one map in tracefs, and already counts into @%s", t.tp.CountMap.Name)
		return
	}
	t.tp.CountMap = t.c.info.Map(m.Name)
	a := t.tp.Attach
	if len(m.Keys) == 0 && !hasPred && a.Type != Tracepoint {
		t.tp.Count = CountProfile
		return
	}
	var keys []string
	for _, k := range m.Keys {
		f, ok := t.ref(k, true)
		if !ok {
			return
		}
		keys = append(keys, f)
	}
	if len(keys) == 0 {
		// common_type is the event's id: one bucket, the total.
		keys = []string{"common_type"}
	}
	t.tp.Count = CountHist
	t.tp.Trigger = "hist:keys=" + strings.Join(keys, ",") + ":vals=hitcount:sort=hitcount"
	if t.tp.Filter != "" {
		t.tp.Trigger += " if " + t.tp.Filter
	}
}

func (t *tfsTranslator) printf(call *Call) {
	pf := &Printf{Format: call.Args[0].(*StrLit).Value, Size: 8}
	for _, a := range call.Args[1:] {
		f, ok := t.ref(a, true)
		if !ok {
			return
		}
		typ := TypeOf(a)
		pf.Args = append(pf.Args, typ)
		pf.Offsets = append(pf.Offsets, pf.Size)
		pf.Size += slotSize(typ)
		t.tp.Fields = append(t.tp.Fields, f)
	}
	t.c.obj.Printfs = append(t.c.obj.Printfs, pf)
	t.tp.Printf = pf
}

// fetch adds a fetcharg spelled the same in every kind of probe.
func (t *tfsTranslator) fetch(name, arg string) string {
	return t.add(tfsFetch{name: name, offsets: arg, btf: arg})
}

// finish writes the fetchargs, choosing for fentry and fexit between an
// fprobe and a kprobe (tracefsbtf.go).
func (t *tfsTranslator) finish() {
	a := t.tp.Attach
	if a.Type == Fentry || a.Type == Fexit {
		t.tp.Fprobe = t.fprobe()
	}
	for _, f := range t.fetches {
		arg := f.offsets
		if t.tp.Fprobe {
			arg = f.btf
		} else if f.noOffsets != nil {
			t.errorf(f.pos, "%v", f.noOffsets)
			continue
		}
		t.tp.FetchArgs = append(t.tp.FetchArgs, f.name+"="+arg)
	}
}

// ref names the record field holding e, adding the fetcharg that makes it.
// output is false for filters, which may also use comm on tracepoints.
func (t *tfsTranslator) ref(e Expr, output bool) (string, bool) {
	a := t.tp.Attach
	intType := ":u64"
	if t.arch.Word == 4 {
		intType = ":u32"
	}
	switch e := e.(type) {
	case *Builtin:
		switch e.Name {
		case "pid", "tid":
			// Every record starts with the pid of the task, which is the
			// thread's id; the process's tgid is not recorded, so pid is
			// the thread's id too (the same in a single-threaded process).
			return "common_pid", true
		case "comm":
			if a.Type == Tracepoint {
				if !output {
					return "comm", true // the filter's special field
				}
				t.errorf(e.Pos, "comm of a tracepoint is not in its record; tracefs can only filter on it")
				return "", false
			}
			return t.fetch("comm", "$comm"), true
		case "retval":
			if a.Type == Fexit {
				// typed from the function's BTF return type
				return t.fetch("retval", "$retval"+t.ktype(TypeOf(e), kexpr{})), true
			}
			// $retval is an unsigned long: on a 32-bit kernel an s64
			// would zero-extend -ENOENT into 4294967294.
			if t.arch.Word == 4 {
				return t.fetch("retval", "$retval:s32"), true
			}
			return t.fetch("retval", "$retval:s64"), true
		case "arg0", "arg1", "arg2", "arg3", "arg4", "arg5", "arg6", "arg7", "arg8", "arg9", "arg10", "arg11":
			if a.Type == USDT {
				f, err := usdtFetchArg(a, e.Name)
				if err != nil {
					t.errorf(e.Pos, "%v", err)
					return "", false
				}
				return t.fetch(e.Name, f), true
			}
			loc, err := t.argLoc(e)
			if err != nil {
				t.errorf(e.Pos, "%v", err)
				return "", false
			}
			return t.fetch(e.Name, loc+intType), true
		}
	case *FieldExpr:
		if e.fd != nil {
			return e.Field, true
		}
		if e.mem != nil || e.arg > 0 && (a.Type == Fentry || a.Type == Fexit) {
			return t.kfield(e, TypeOf(e).Kind == KindString)
		}
	case *Cast:
		if e.Stars > 0 {
			return t.kfield(e, false)
		}
	case *Call:
		if e.Name == "str" && len(e.Args) == 1 {
			if b, ok := e.Args[0].(*Builtin); ok && strings.HasPrefix(b.Name, "arg") && b.Name != "args" {
				loc, err := t.argLoc(b)
				if a.Type == USDT {
					loc, err = usdtFetchArg(a, b.Name)
					loc = loc[:max(strings.LastIndexByte(loc, ':'), 0)]
				}
				if err != nil {
					t.errorf(b.Pos, "%v", err)
					return "", false
				}
				typ := ":string"
				if a.Type == Kprobe && TypeOf(b).User {
					typ = ":ustring"
				}
				// In a uprobe, a dereference reads the user's memory.
				return t.fetch("str_"+b.Name, "+0("+loc+")"+typ), true
			}
			if x := e.Args[0]; isKernelValue(x, a) {
				if xt := TypeOf(x); xt.Ptr || xt.Kind == KindString {
					return t.kfield(x, true)
				}
			}
			if f, ok := e.Args[0].(*FieldExpr); ok {
				if TypeOf(f).Kind == KindString {
					return t.ref(f, output)
				}
				t.errorf(e.Pos, "str(args->%s) cannot be expressed in tracefs: a tracepoint's record cannot be dereferenced (use a kprobe or BPF)", f.Field)
				return "", false
			}
		}
		if e.Name == "str" && len(e.Args) == 2 {
			t.errorf(e.Pos, "str() with a length cannot be expressed in tracefs: its strings are whole")
			return "", false
		}
	}
	t.errorf(e.Position(), "%s cannot be expressed in tracefs: only arg0-arg5, retval, pid, tid, comm, args fields, members through struct casts and fentry/fexit arguments, and str() of those", describe(e))
	return "", false
}

// isKernelValue reports a value that kvalue compiles: a member reached
// through BTF, an fentry or fexit argument, or a struct cast.
func isKernelValue(e Expr, a *AttachPoint) bool {
	switch e := e.(type) {
	case *FieldExpr:
		return e.mem != nil || e.arg > 0 && (a.Type == Fentry || a.Type == Fexit)
	case *Cast:
		return e.Stars > 0
	}
	return false
}

// argLoc is the fetcharg of an argument register, from the per-arch table
// (the fetchargs name registers; $argN needs 4.20).
func (t *tfsTranslator) argLoc(b *Builtin) (string, error) {
	abi := asm.KernelABI
	if t.tp.Attach.Type == Uprobe {
		abi = asm.FuncABI
	}
	loc, err := t.arch.Arg(abi, int(b.Name[3]-'0'))
	if err != nil {
		return "", fmt.Errorf("%s on %s: %v", b.Name, t.arch.GOARCH, err)
	}
	return loc.FetchArg(), nil
}

// filterOps are the comparisons of the kernel's event filter grammar.
var filterOps = map[Token]string{EQL: "==", NEQ: "!=", LSS: "<", LEQ: "<=", GTR: ">", GEQ: ">="}

// flipped is the comparison with its operands swapped.
var flipped = map[Token]Token{EQL: EQL, NEQ: NEQ, LSS: GTR, LEQ: GEQ, GTR: LSS, GEQ: LEQ}

// filter translates a predicate into the event filter grammar
// (Documentation/trace/events.rst: field op value, && || ! and
// parentheses). nested puts parentheses around compound results.
func (t *tfsTranslator) filter(e Expr, nested bool) string {
	paren := func(s string) string {
		if nested {
			return "(" + s + ")"
		}
		return s
	}
	switch x := e.(type) {
	case *Binary:
		switch x.Op {
		case LAND, LOR:
			return paren(t.filter(x.X, true) + " " + x.Op.String() + " " + t.filter(x.Y, true))
		case AND:
			if v, ok := foldConst(x.Y); ok {
				if f, ok := t.ref(x.X, false); ok {
					return f + " & " + strconv.FormatUint(v, 10)
				}
				return ""
			}
		}
		if op, ok := filterOps[x.Op]; ok {
			field, lit, op2 := x.X, x.Y, x.Op
			if isLiteral(field) && !isLiteral(lit) {
				field, lit, op2 = lit, field, flipped[x.Op]
				op = filterOps[op2]
			}
			f, ok := t.ref(field, false)
			if !ok {
				return ""
			}
			if s, isStr := lit.(*StrLit); isStr {
				if op2 != EQL && op2 != NEQ {
					break
				}
				if strings.ContainsAny(s.Value, "\"\\\n") {
					t.errorf(s.Pos, "string %q cannot be written in a tracefs filter", s.Value)
					return ""
				}
				return f + " " + op + " \"" + s.Value + "\""
			}
			v, ok := foldConst(lit)
			if !ok {
				break
			}
			num := strconv.FormatUint(v, 10)
			if TypeOf(lit).Signed && int64(v) < 0 {
				num = strconv.FormatInt(int64(v), 10)
			}
			return f + " " + op + " " + num
		}
	case *Unary:
		if x.Op == NOT {
			return "!(" + t.filter(x.X, false) + ")"
		}
	case *Builtin, *FieldExpr:
		if f, ok := t.ref(e, false); ok {
			return f + " != 0"
		}
		return ""
	}
	t.errorf(e.Position(), "predicate %s cannot be expressed as a tracefs filter: it compares a field with a constant, joined by && || !", describe(e))
	return ""
}

func isLiteral(e Expr) bool {
	if _, ok := e.(*StrLit); ok {
		return true
	}
	_, ok := foldConst(e)
	return ok
}
