package script

import (
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Fprint writes the syntax tree of prog, one node per line, indented by
// depth, in the spirit of bpftrace -d. After Check each expression shows
// its type after "::".
func Fprint(w io.Writer, prog *Program) error {
	pr := &printer{}
	pr.line(0, "Program")
	for _, p := range prog.Probes {
		pr.probe(p)
	}
	_, err := io.WriteString(w, pr.b.String())
	return err
}

// String returns the tree Fprint writes.
func (prog *Program) String() string {
	var b strings.Builder
	Fprint(&b, prog)
	return b.String()
}

type printer struct{ b strings.Builder }

func (pr *printer) line(depth int, format string, args ...any) {
	pr.b.WriteString(strings.Repeat(" ", depth))
	fmt.Fprintf(&pr.b, format, args...)
	pr.b.WriteByte('\n')
}

func (pr *printer) probe(p *Probe) {
	for _, a := range p.Attach {
		pr.line(1, "%s", a.describe())
	}
	if p.Pred != nil {
		pr.line(2, "predicate")
		pr.expr(3, p.Pred)
	}
	pr.stmts(2, p.Body)
}

// describe prints an attach point in its canonical long form.
func (a *AttachPoint) describe() string {
	switch a.Type {
	case Begin, End:
		return a.Type.String()
	case Kprobe, Kretprobe:
		s := a.Type.String() + ":"
		if a.Target != "" {
			s += a.Target + ":"
		}
		s += a.Func
		if a.HasOffset {
			s += fmt.Sprintf("+%d", a.Offset)
		}
		return s
	case Uprobe, Uretprobe:
		if a.HasOffset {
			return fmt.Sprintf("%s:%s:%#x", a.Type, a.Target, a.Offset)
		}
		return fmt.Sprintf("%s:%s:%s", a.Type, a.Target, a.Func)
	case Tracepoint:
		return fmt.Sprintf("%s:%s:%s", a.Type, a.Target, a.Func)
	case USDT:
		if a.Provider == "" {
			return fmt.Sprintf("%s:%s:%s", a.Type, a.Target, a.Func)
		}
		return fmt.Sprintf("%s:%s:%s:%s", a.Type, a.Target, a.Provider, a.Func)
	case RawTracepoint, LSM, Fentry, Fexit:
		if a.Target != "" {
			return fmt.Sprintf("%s:%s:%s", a.Type, a.Target, a.Func)
		}
		return fmt.Sprintf("%s:%s", a.Type, a.Func)
	case Interval, Profile:
		return fmt.Sprintf("%s:%s:%d", a.Type, a.Unit, a.Rate)
	case Software, Hardware:
		return fmt.Sprintf("%s:%s:%d", a.Type, a.Func, a.Rate)
	}
	return a.Raw
}

func (pr *printer) stmts(depth int, list []Stmt) {
	for _, s := range list {
		pr.stmt(depth, s)
	}
}

func (pr *printer) stmt(depth int, s Stmt) {
	switch s := s.(type) {
	case *ExprStmt:
		pr.expr(depth, s.X)
	case *AssignStmt:
		pr.line(depth, "%s", s.Op)
		pr.expr(depth+1, s.Target)
		if s.Value != nil {
			pr.expr(depth+1, s.Value)
		}
	case *WhileStmt:
		pr.line(depth, "while")
		pr.expr(depth+1, s.Cond)
		pr.stmts(depth+1, s.Body)
	case *JumpStmt:
		pr.line(depth, "%s", s.Kind)
	case *UnrollStmt:
		pr.line(depth, "unroll")
		pr.expr(depth+1, s.N)
		pr.stmts(depth+1, s.Body)
	case *IfStmt:
		pr.line(depth, "if")
		pr.expr(depth+1, s.Cond)
		pr.line(depth+1, "then")
		pr.stmts(depth+2, s.Then)
		if s.Else != nil {
			pr.line(depth+1, "else")
			pr.stmts(depth+2, s.Else)
		}
	}
}

func typeSuffix(e Expr) string {
	if t := e.typ(); t != nil {
		return " :: " + t.String()
	}
	return ""
}

func (pr *printer) expr(depth int, e Expr) {
	ts := typeSuffix(e)
	switch e := e.(type) {
	case *IntLit:
		pr.line(depth, "int: %d%s", e.Value, ts)
	case *StrLit:
		pr.line(depth, "string: %s%s", strconv.Quote(e.Value), ts)
	case *Builtin:
		pr.line(depth, "builtin: %s%s", e.Name, ts)
	case *Var:
		pr.line(depth, "variable: $%s%s", e.Name, ts)
	case *MapExpr:
		pr.line(depth, "map: @%s%s", e.Name, ts)
		for _, k := range e.Keys {
			pr.expr(depth+1, k)
		}
	case *FieldExpr:
		op := "."
		if e.Arrow {
			op = "->"
		}
		pr.line(depth, "%s%s%s", op, e.Field, ts)
		pr.expr(depth+1, e.X)
	case *Call:
		pr.line(depth, "call: %s%s", e.Name, ts)
		for _, a := range e.Args {
			pr.expr(depth+1, a)
		}
	case *Cast:
		pr.line(depth, "(%s%s)%s", e.Type, strings.Repeat(" *", e.Stars), ts)
		pr.expr(depth+1, e.X)
	case *Index:
		pr.line(depth, "[]%s", ts)
		pr.expr(depth+1, e.X)
		pr.expr(depth+1, e.I)
	case *Sizeof:
		if e.X != nil {
			pr.line(depth, "sizeof%s", ts)
			pr.expr(depth+1, e.X)
		} else {
			pr.line(depth, "sizeof(%s)%s", e.Type, ts)
		}
	case *Offsetof:
		pr.line(depth, "offsetof(%s, %s)%s", e.Type, e.Member, ts)
	case *Unary:
		pr.line(depth, "%s%s", e.Op, ts)
		pr.expr(depth+1, e.X)
	case *Binary:
		pr.line(depth, "%s%s", e.Op, ts)
		pr.expr(depth+1, e.X)
		pr.expr(depth+1, e.Y)
	case *Ternary:
		pr.line(depth, "?:%s", ts)
		pr.expr(depth+1, e.Cond)
		pr.expr(depth+1, e.Then)
		pr.expr(depth+1, e.Else)
	}
}
