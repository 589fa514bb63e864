package script

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/tracelet/tracelet/kprobeevents"
	"github.com/tracelet/tracelet/trace"
)

// whereSrc wraps a --where expression into a script whose predicate it
// is, so that the script language's parser reads it; the expression is
// alone on line 2, so that the parser's columns are the expression's.
const whereSrc = "kprobe:where\n/%s\n/ {}"

// ParseWhere reads a `trace --where` expression in the language's
// predicate syntax, for trace.Options.Where.
func ParseWhere(expr string) (trace.Predicate, error) {
	prog, err := Parse("--where", []byte(fmt.Sprintf(whereSrc, expr)))
	if err != nil {
		return nil, &WhereError{Expr: expr, Msg: strings.ReplaceAll(err.Error(), "--where:2:", "col ")}
	}
	if len(prog.Probes) != 1 || prog.Probes[0].Pred == nil {
		return nil, &WhereError{Expr: expr, Msg: "not one predicate expression"}
	}
	return &where{expr: expr, pred: prog.Probes[0].Pred}, nil
}

type where struct {
	expr string
	pred Expr
}

func (w *where) String() string { return w.expr }

// TracefsFilter implements trace.Predicate.
func (w *where) TracefsFilter(p *kprobeevents.Probe, arch kprobeevents.Arch) (string, []string, error) {
	c := &whereCompiler{expr: w.expr, probe: p, arch: arch}
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
	extra []string // fetchargs to add: NAME=FETCH[:TYPE]
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
			return w.add("$retval", "s64", str), nil
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
				regs := kprobeevents.ArgRegisters(w.arch)
				if n >= len(regs) {
					return "", w.fail(e, fmt.Sprintf("argument %d is not passed in a register on %s", n, w.arch))
				}
				return w.add("%"+regs[n], "s64", str), nil
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
	name := trace.WherePrefix + strconv.Itoa(len(w.extra))
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
