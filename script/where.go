package script

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/tracelet/tracelet/asm"
	"github.com/tracelet/tracelet/kprobeevents"
)

// WherePrefix is trace.WherePrefix, which starts the names of the
// fetchargs a Where adds to a probe (this package does not import trace;
// a test checks that the two agree).
const WherePrefix = "__where"

// whereSrc wraps a --where expression into a script whose predicate it
// is, so that the script language's parser reads it; the expression is
// alone on line 2, so that the parser's columns are the expression's.
const whereSrc = "kprobe:where\n/%s\n/ {}"

// ParseWhere reads a `trace --where` expression in the language's
// predicate syntax, for trace.Options.Where.
func ParseWhere(expr string) (*Where, error) {
	prog, err := Parse("--where", []byte(fmt.Sprintf(whereSrc, expr)))
	if err != nil {
		return nil, &WhereError{Expr: expr, Msg: strings.ReplaceAll(err.Error(), "--where:2:", "col ")}
	}
	if len(prog.Probes) != 1 || prog.Probes[0].Pred == nil {
		return nil, &WhereError{Expr: expr, Msg: "not one predicate expression"}
	}
	return &Where{expr: expr, pred: prog.Probes[0].Pred}, nil
}

// Where is a parsed --where expression; it implements trace.Predicate.
type Where struct {
	expr string
	pred Expr
}

func (w *Where) String() string { return w.expr }

// TracefsFilter implements trace.Predicate.
func (w *Where) TracefsFilter(p *kprobeevents.Probe, arch kprobeevents.Arch, code *asm.Arch) (string, []string, error) {
	c := &whereCompiler{expr: w.expr, probe: p, arch: arch, code: code}
	f, err := c.filter(w.pred, false)
	if err != nil {
		return "", nil, err
	}
	return f, c.extra, nil
}

// WhereError is a --where expression that cannot be traced as written:
// Construct names the part that was refused.
type WhereError struct {
	Expr      string
	Construct string
	Msg       string
}

func (e *WhereError) Error() string {
	if e.Construct != "" {
		return fmt.Sprintf("--where %q: %s: %s", e.Expr, e.Construct, e.Msg)
	}
	return fmt.Sprintf("--where %q: %s", e.Expr, e.Msg)
}

// whereCompiler turns a predicate into the tracefs event filter of one
// traced event. The kernel's filter tests only the event's fields, so a
// function argument, a member chain or $retval becomes a fetcharg of the
// probe (named WherePrefix+N) that the filter then tests; the kernel, or
// tracelet's offsets where the kernel cannot follow members, reads it.
type whereCompiler struct {
	expr  string
	probe *kprobeevents.Probe // nil for a tracepoint
	arch  kprobeevents.Arch
	code  *asm.Arch // places the probed code's arguments; nil: no table
	extra []string  // fetchargs to add: NAME=FETCH[:TYPE]
}

func (w *whereCompiler) fail(e Expr, msg string) error {
	return &WhereError{Expr: w.expr, Construct: describeExpr(e), Msg: msg}
}

func (w *whereCompiler) filter(e Expr, nested bool) (string, error) {
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
			a, err := w.filter(x.X, true)
			if err != nil {
				return "", err
			}
			b, err := w.filter(x.Y, true)
			if err != nil {
				return "", err
			}
			return paren(a + " " + x.Op.String() + " " + b), nil
		case EQL, NEQ, LSS, GTR, LEQ, GEQ, AND:
			field, lit, op := x.X, x.Y, x.Op
			if isLit(field) && !isLit(lit) {
				field, lit = lit, field
				op = map[Token]Token{LSS: GTR, GTR: LSS,
					LEQ: GEQ, GEQ: LEQ}[op]
				if op == 0 {
					op = x.Op
				}
			}
			if s, ok := lit.(*StrLit); ok {
				if op != EQL && op != NEQ {
					return "", w.fail(x, "strings compare with == and != only")
				}
				if strings.ContainsAny(s.Value, "\"\\\n") {
					return "", w.fail(lit, "a tracefs filter cannot hold this string")
				}
				f, err := w.field(field, true)
				if err != nil {
					return "", err
				}
				return f + " " + op.String() + " \"" + s.Value + "\"", nil
			}
			v, ok := intLit(lit)
			if !ok {
				return "", w.fail(x, "a tracefs filter compares a field with a constant")
			}
			f, err := w.field(field, false)
			if err != nil {
				return "", err
			}
			return f + " " + op.String() + " " + v, nil
		}
	case *Unary:
		if x.Op == NOT {
			f, err := w.filter(x.X, false)
			if err != nil {
				return "", err
			}
			return "!(" + f + ")", nil
		}
	case *Builtin, *FieldExpr:
		f, err := w.field(e, false)
		if err != nil {
			return "", err
		}
		return f + " != 0", nil
	}
	return "", w.fail(e, "a tracefs filter has comparisons of a field with a constant, joined by && || ! (a BPF filter program is not built yet)")
}

func isLit(e Expr) bool {
	_, ok := intLit(e)
	_, s := e.(*StrLit)
	return ok || s
}

func intLit(e Expr) (string, bool) {
	switch x := e.(type) {
	case *IntLit:
		return strconv.FormatUint(x.Value, 10), true
	case *Unary:
		if v, ok := x.X.(*IntLit); ok && x.Op == SUB {
			return "-" + strconv.FormatUint(v.Value, 10), true
		}
	}
	return "", false
}

// field names the event field that e is, adding a fetcharg for it when
// the probe has none. str asks for a string.
func (w *whereCompiler) field(e Expr, str bool) (string, error) {
	p := w.probe
	switch x := e.(type) {
	case *Builtin:
		switch {
		case x.Name == "comm":
			return "comm", nil
		case x.Name == "tid":
			return "common_pid", nil
		case x.Name == "pid":
			return "", w.fail(e, "the tracefs filter has the thread id (tid, common_pid) but not the process id; use -p PID")
		case x.Name == "retval":
			if p == nil || !p.Type.IsReturn() {
				return "", w.fail(e, "retval is only at a return probe")
			}
			return w.add("$retval", w.intType(), str), nil
		case strings.HasPrefix(x.Name, "arg"):
			n, err := strconv.Atoi(x.Name[3:])
			if err != nil || n < 0 {
				break
			}
			if p == nil {
				return "", w.fail(e, "a tracepoint has fields, not arguments: args.FIELD")
			}
			if p.Type.IsReturn() {
				return "", w.fail(e, "a return probe has no arguments")
			}
			if p.Type.IsUser() {
				// The probed file's calling convention, not the
				// kernel's: i386 code passes every argument on the
				// stack (cdecl), also under an x86_64 kernel, and arm
				// code under arm64 has r0-r3 in x0-x3.
				if w.code == nil {
					return "", w.fail(e, fmt.Sprintf("tracelet has no argument table for user code on %s", w.arch))
				}
				loc, err := w.code.Arg(asm.FuncABI, n)
				if err != nil {
					return "", w.fail(e, err.Error())
				}
				return w.add(loc.FetchArg(), w.intType(), str), nil
			}
			return w.add("$arg"+strconv.Itoa(n+1), "s64", str), nil
		}
	case *FieldExpr:
		chain, ok := argsChain(x)
		if !ok {
			break
		}
		if !strings.ContainsAny(chain, ".-") {
			// A field the event already has: a tracepoint's, or a
			// probe's named fetcharg.
			if p == nil {
				return chain, nil
			}
			for _, a := range p.Args {
				if a.Name == chain {
					return chain, nil
				}
			}
		}
		if p == nil {
			return "", w.fail(e, "a tracepoint's fields have no members to follow")
		}
		return w.add(chain, "", str), nil
	}
	return "", w.fail(e, "not a field a tracefs filter can test (comm, tid, argN, retval, args.NAME[->MEMBER...])")
}

// intType is the fetch type of an argument or return value: s32 for 32-bit
// code, whose registers the kernel reads as an unsigned long (a 32-bit
// kernel's -2 would be 4294967294 as an s64), else s64.
func (w *whereCompiler) intType() string {
	if w.code != nil && w.code.Word == 4 || w.code == nil && w.arch.PtrBits() == 32 {
		return "s32"
	}
	return "s64"
}

// argsChain spells args.NAME->M.M as the kernel's BTF argument syntax.
func argsChain(x *FieldExpr) (string, bool) {
	var parts []string
	var e Expr = x
	for {
		f, ok := e.(*FieldExpr)
		if !ok {
			break
		}
		sep := "."
		if f.Arrow {
			sep = "->"
		}
		parts = append(parts, sep+f.Field)
		e = f.X
	}
	if b, ok := e.(*Builtin); !ok || b.Name != "args" {
		return "", false
	}
	var s strings.Builder
	for i := len(parts) - 1; i >= 0; i-- {
		s.WriteString(parts[i])
	}
	return strings.TrimPrefix(strings.TrimPrefix(s.String(), "."), "->"), true
}

func (w *whereCompiler) add(fetch, typ string, str bool) string {
	if str {
		typ = "string"
	}
	name := WherePrefix + strconv.Itoa(len(w.extra))
	a := name + "=" + fetch
	if typ != "" {
		a += ":" + typ
	}
	w.extra = append(w.extra, a)
	return name
}

func describeExpr(e Expr) string {
	switch x := e.(type) {
	case *Builtin:
		return x.Name
	case *FieldExpr:
		if c, ok := argsChain(x); ok {
			return "args." + c
		}
		return "." + x.Field
	case *Call:
		return x.Name + "()"
	case *Var:
		return "$" + x.Name
	case *MapExpr:
		return "@" + x.Name
	case *Binary:
		return "operator " + x.Op.String()
	case *Unary:
		return "operator " + x.Op.String()
	case *Ternary:
		return "?:"
	case *StrLit:
		return strconv.Quote(x.Value)
	case *IntLit:
		return x.Raw
	}
	return fmt.Sprintf("%T", e)
}

// BPFFilter implements trace.Predicate: a program for the probe's event
// that returns 1 for the events that pass. It reads the probe's pt_regs
// (arguments, the return value) and the current task (pid, tid); what
// else the predicate tests (comm, strings, members) is the tracefs
// filter's, and gives an error here.
func (w *Where) BPFFilter(p *kprobeevents.Probe, code *asm.Arch) (asm.Instructions, error) {
	if p == nil {
		return nil, &WhereError{Expr: w.expr, Msg: "a tracepoint's program would get its record, not pt_regs"}
	}
	if code == nil {
		return nil, &WhereError{Expr: w.expr, Msg: "tracelet has no pt_regs table for this kernel"}
	}
	g := &bpfWhere{Where: w, probe: p, arch: code}
	g.emit(asm.Mov.Reg(asm.R6, asm.R1))
	if err := g.cond(w.pred, "pass", "drop"); err != nil {
		return nil, err
	}
	g.label("pass")
	g.emit(asm.Mov.Imm(asm.R0, 1))
	g.emit(asm.Return())
	g.label("drop")
	g.emit(asm.Mov.Imm(asm.R0, 0))
	g.emit(asm.Return())
	return g.insns, nil
}

type bpfWhere struct {
	*Where
	probe   *kprobeevents.Probe
	arch    *asm.Arch
	insns   asm.Instructions
	pending []string
	n       int
}

// emit appends ins, carrying the labels placed before it; a second label
// at the same place gets a no-op of its own.
func (g *bpfWhere) emit(ins asm.Instruction) {
	for len(g.pending) > 1 {
		g.insns = append(g.insns, asm.Mov.Reg(asm.R6, asm.R6).WithSymbol(g.pending[0]))
		g.pending = g.pending[1:]
	}
	if len(g.pending) == 1 {
		ins = ins.WithSymbol(g.pending[0])
		g.pending = nil
	}
	g.insns = append(g.insns, ins)
}

func (g *bpfWhere) label(l string) { g.pending = append(g.pending, l) }

func (g *bpfWhere) newLabel() string {
	g.n++
	return "l" + strconv.Itoa(g.n)
}

func (g *bpfWhere) fail(e Expr, msg string) error {
	return &WhereError{Expr: g.expr, Construct: describeExpr(e), Msg: msg}
}

// cond jumps to yes when e holds, else to no.
func (g *bpfWhere) cond(e Expr, yes, no string) error {
	switch x := e.(type) {
	case *Binary:
		switch x.Op {
		case LAND, LOR:
			mid := g.newLabel()
			var err error
			if x.Op == LAND {
				err = g.cond(x.X, mid, no)
			} else {
				err = g.cond(x.X, yes, mid)
			}
			if err != nil {
				return err
			}
			g.label(mid)
			return g.cond(x.Y, yes, no)
		case EQL, NEQ, LSS, GTR, LEQ, GEQ, AND:
			field, lit, op := x.X, x.Y, x.Op
			if _, ok := intLit(field); ok {
				field, lit = lit, field
				if f, ok := map[Token]Token{LSS: GTR, GTR: LSS, LEQ: GEQ, GEQ: LEQ}[op]; ok {
					op = f
				}
			}
			s, ok := intLit(lit)
			if !ok {
				return g.fail(x, "a BPF filter compares a value with an integer constant")
			}
			v, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				u, uerr := strconv.ParseUint(s, 10, 64)
				if uerr != nil {
					return g.fail(lit, "not a 64-bit constant")
				}
				v = int64(u)
			}
			if err := g.load(field); err != nil {
				return err
			}
			g.emit(asm.LoadImm64(asm.R2, v))
			if op == AND {
				g.emit(asm.And.Reg(asm.R1, asm.R2))
				g.emit(asm.JNE.Imm(asm.R1, 0, yes))
			} else {
				// Signed, as the tracefs filter reads these fields (s64).
				j := map[Token]asm.JumpOp{EQL: asm.JEq, NEQ: asm.JNE, LSS: asm.JSLT, GTR: asm.JSGT, LEQ: asm.JSLE, GEQ: asm.JSGE}[op]
				g.emit(j.Reg(asm.R1, asm.R2, yes))
			}
			g.emit(asm.Ja.Label(no))
			return nil
		}
	case *Unary:
		if x.Op == NOT {
			return g.cond(x.X, no, yes)
		}
	case *Builtin:
		if err := g.load(x); err != nil {
			return err
		}
		g.emit(asm.JNE.Imm(asm.R1, 0, yes))
		g.emit(asm.Ja.Label(no))
		return nil
	}
	return g.fail(e, "a BPF filter has comparisons of pid, tid, argN and retval with constants, joined by && || !")
}

// signExtend makes R1's 32-bit value (the register of 32-bit code) an
// s64, as the tracefs filter reads it (s32).
func (g *bpfWhere) signExtend() {
	if g.arch.Word == 4 {
		g.emit(asm.LSh.Imm(asm.R1, 32))
		g.emit(asm.ArSh.Imm(asm.R1, 32))
	}
}

// load puts the value of e into R1.
func (g *bpfWhere) load(e Expr) error {
	b, ok := e.(*Builtin)
	if !ok {
		return g.fail(e, "not a value a BPF filter reads (pid, tid, argN, retval)")
	}
	switch {
	case b.Name == "pid" || b.Name == "tid":
		g.emit(asm.FnGetCurrentPidTgid.Call())
		g.emit(asm.Mov.Reg(asm.R1, asm.R0))
		if b.Name == "pid" {
			g.emit(asm.RSh.Imm(asm.R1, 32))
		} else {
			g.emit(asm.LSh.Imm(asm.R1, 32))
			g.emit(asm.RSh.Imm(asm.R1, 32))
		}
		return nil
	case b.Name == "retval":
		if !g.probe.Type.IsReturn() {
			return g.fail(e, "retval is only at a return probe")
		}
		ins, err := g.arch.Ret().Load(asm.R1, asm.R6)
		if err != nil {
			return g.fail(e, err.Error())
		}
		g.emit(ins)
		g.signExtend()
		return nil
	case strings.HasPrefix(b.Name, "arg"):
		n, err := strconv.Atoi(b.Name[3:])
		if err != nil || n < 0 {
			break
		}
		if g.probe.Type.IsReturn() {
			return g.fail(e, "a return probe has no arguments")
		}
		abi := asm.KernelABI
		if g.probe.Type.IsUser() {
			abi = asm.FuncABI
		}
		loc, err := g.arch.Arg(abi, n)
		if err != nil {
			return g.fail(e, err.Error())
		}
		ins, err := loc.Load(asm.R1, asm.R6)
		if err != nil {
			return g.fail(e, err.Error())
		}
		g.emit(ins)
		g.signExtend()
		return nil
	}
	return g.fail(e, "not a value a BPF filter reads (pid, tid, argN, retval)")
}
