package script

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Parse parses a script. file names it in errors ("-e" for a one-liner from
// the command line). On failure the error is an ErrorList with every
// problem found, sorted by position. Parse never panics.
func Parse(file string, src []byte) (*Program, error) {
	return ParseWith(file, src, ParseOptions{})
}

// ParseOptions extend what Parse knows.
type ParseOptions struct {
	// Constant resolves a name that is not a builtin, built-in constant
	// or macro, such as an enumerator of the kernel's BTF
	// (SKB_DROP_REASON_NOT_SPECIFIED): the runtime passes one that asks
	// btf.Spec.EnumConstant. Nil: such a name is an error.
	Constant func(name string) (uint64, bool)
	// Defines are macros given from outside (-D NAME=VALUE), as if
	// #defined before the first line.
	Defines []Define
	// Params are the positional parameters, for the $1, $2, ... an attach
	// point names (interval:s:$1, uprobe:$1:main), as bpftrace
	// substitutes them there.
	Params []string
	// Arch is the kernel's GOARCH, for the built-in constants whose
	// values differ between architectures (errno, signals and open
	// flags on mips; some open flags on arm). "": x86's values.
	Arch string
}

// ParseWith is Parse with options.
func ParseWith(file string, src []byte, opts ParseOptions) (*Program, error) {
	p := &parser{src: newSource(file, src), constant: opts.Constant, arch: opts.Arch, params: opts.Params}
	p.sc.init(p.src, &p.errs, opts.Defines)
	p.next()
	prog := p.parseProgram()
	prog.File = file
	prog.src = p.src
	prog.arch = opts.Arch
	prog.Includes = p.sc.pp.includes
	prog.Macros = p.sc.pp.macros
	prog.Hists = p.sc.pp.hists
	p.errs.Sort()
	return prog, p.errs.Err()
}

type parser struct {
	src  *source
	sc   Scanner
	errs ErrorList

	pos Pos
	tok Token
	lit string

	inPred int // > 0 while parsing a predicate: "/ {" closes it
	depth  int // nesting, bounded so that hostile input cannot overflow the stack

	// frame is the innermost macro being expanded (nil outside macros),
	// useOff the offset of the outermost macro use, where definitions are
	// looked up (a body may name a macro defined after it).
	frame  *macroFrame
	useOff int
	// expanded counts the macro bodies and arguments parsed: macros that
	// use each other twice over grow exponentially, so they are bounded.
	expanded int

	constant func(string) (uint64, bool) // ParseOptions.Constant
	arch     string                      // ParseOptions.Arch
	params   []string                    // ParseOptions.Params
}

// maxExpansions bounds the macro bodies and arguments a script may expand.
const maxExpansions = 10000

// macroFrame is one macro expansion in progress.
type macroFrame struct {
	m     *Macro
	args  map[string][2]int // parameter -> the source span of its argument
	outer *macroFrame
}

// maxDepth bounds expression and block nesting.
const maxDepth = 200

// bail is raised (and recovered in parseProgram) to stop parsing after too
// many errors or too deep a nesting: nothing useful follows.
type bail struct{}

func (p *parser) next() {
	p.pos, p.tok, p.lit = p.sc.Scan()
}

// peek returns the token after the current one without consuming it.
func (p *parser) peek() Token {
	saved, n := p.sc, len(p.errs)
	_, tok, _ := p.sc.Scan()
	p.sc, p.errs = saved, p.errs[:n]
	return tok
}

func (p *parser) errorf(pos Pos, format string, args ...any) {
	// One error per position: the rest are consequences.
	if n := len(p.errs); n > 0 && p.errs[n-1].Pos.Offset == pos.Offset {
		return
	}
	p.src.errorf(&p.errs, pos, format, args...)
	if len(p.errs) > 10 {
		panic(bail{})
	}
}

func (p *parser) tokDesc() string {
	switch p.tok {
	case EOF:
		return "end of input"
	case IDENT:
		return fmt.Sprintf("%q", p.lit)
	case INT:
		return "number " + p.lit
	case STRING:
		return "string " + strconv.Quote(p.lit)
	case VAR:
		return "$" + p.lit
	case MAP:
		return "@" + p.lit
	}
	return fmt.Sprintf("%q", p.tok.String())
}

func (p *parser) expect(tok Token, what string) Pos {
	pos := p.pos
	if p.tok != tok {
		p.errorf(p.pos, "expected %s, found %s", what, p.tokDesc())
		panic(bail{})
	}
	p.next()
	return pos
}

func (p *parser) enter() {
	p.depth++
	if p.depth > maxDepth {
		p.errorf(p.pos, "nesting deeper than %d levels", maxDepth)
		panic(bail{})
	}
}

func (p *parser) leave() { p.depth-- }

func (p *parser) parseProgram() (prog *Program) {
	prog = &Program{}
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(bail); !ok {
				panic(r)
			}
		}
	}()
	if p.tok == IDENT && p.lit == "config" && p.peek() == ASSIGN {
		prog.Config = p.parseConfig()
	}
	// The first token was scanned as an ordinary token; attach points need
	// the attach scanner, so rewind to where it started.
	for {
		p.rewind()
		pos, raw := p.sc.ScanAttach()
		if raw == "struct" || raw == "union" {
			p.rewind()
			p.next()
			prog.Structs = append(prog.Structs, p.parseStructDef())
			continue
		}
		if raw == "" {
			p.next()
			if p.tok == EOF {
				if len(prog.Probes) == 0 {
					p.errorf(p.pos, "expected a probe, such as BEGIN { ... } or tracepoint:syscalls:sys_enter_openat { ... }")
				}
				return prog
			}
			p.errorf(p.pos, "expected a probe (kprobe:, uprobe:, tracepoint:, BEGIN, END, interval:, profile:), found %s", p.tokDesc())
			panic(bail{})
		}
		prog.Probes = append(prog.Probes, p.parseProbe(pos, raw))
	}
}

// parseConfig parses "config = { key = value; ... }", bpftrace's block of
// settings before the probes.
func (p *parser) parseConfig() []ConfigItem {
	var items []ConfigItem
	p.next()
	p.expect(ASSIGN, "'=' after config")
	p.expect(LBRACE, "'{' to start the config block")
	for p.tok != RBRACE && p.tok != EOF {
		if p.tok == SEMICOLON {
			p.next()
			continue
		}
		pos, name := p.pos, p.lit
		if p.tok != IDENT {
			p.errorf(p.pos, "expected a config key, found %s", p.tokDesc())
			panic(bail{})
		}
		key := configKey(name)
		if key == "" {
			var known []string
			for k := range ConfigKeys {
				known = append(known, k)
			}
			sort.Strings(known)
			p.errorf(pos, "unknown config key %q: tracelet applies %s (or their BPFTRACE_ variables)", name, strings.Join(known, ", "))
		}
		p.next()
		p.expect(ASSIGN, "'=' after the config key")
		vpos, lit := p.pos, p.lit
		if p.tok != INT {
			p.errorf(p.pos, "config %s needs a number, found %s", name, p.tokDesc())
			panic(bail{})
		}
		p.next()
		v, err := ParseInt(lit)
		if err != nil || v == 0 || v > 1<<31 {
			p.errorf(vpos, "config %s = %s: expected a positive number", name, lit)
		}
		for _, it := range items {
			if it.Key == key && key != "" {
				p.errorf(pos, "config %s is set twice (first at %s)", name, it.Pos)
			}
		}
		if key != "" {
			items = append(items, ConfigItem{Pos: pos, Key: key, Value: v})
		}
		if p.tok != RBRACE {
			p.expect(SEMICOLON, "';' or '}' after the config value")
		}
	}
	p.expect(RBRACE, "'}' to close the config block")
	return items
}

// rewind moves the scanner back to the start of the current token, so
// that it can be rescanned in attach-point mode.
func (p *parser) rewind() {
	p.sc.off, p.sc.line, p.sc.col = p.pos.Offset, p.pos.Line, p.pos.Col
}

func (p *parser) parseProbe(pos Pos, raw string) *Probe {
	probe := &Probe{Pos: pos}
	probe.Attach = append(probe.Attach, p.parseAttach(pos, raw))
	p.next()
	for p.tok == COMMA {
		pos, raw := p.sc.ScanAttach()
		if raw == "" {
			p.next()
			if p.tok == QUO || p.tok == LBRACE {
				break // a trailing comma, as newer bpftrace accepts it
			}
			p.errorf(p.pos, "expected a probe after ',', found %s", p.tokDesc())
			panic(bail{})
		}
		probe.Attach = append(probe.Attach, p.parseAttach(pos, raw))
		p.next()
	}
	if p.tok == QUO {
		p.next()
		p.inPred++
		probe.Pred = p.parseExpr()
		p.inPred--
		p.expect(QUO, "'/' to close the predicate")
	}
	if p.tok != LBRACE {
		p.errorf(p.pos, "expected '{' to start the probe's action block (or ',' for another probe, '/' for a predicate), found %s", p.tokDesc())
		panic(bail{})
	}
	probe.Body = p.parseBlock()
	return probe
}

// substParams replaces the positional parameters $1, $2, ... of an
// attach point's text with their values.
func (p *parser) substParams(pos Pos, raw string) string {
	var b strings.Builder
	for i := 0; i < len(raw); i++ {
		if raw[i] != '$' {
			b.WriteByte(raw[i])
			continue
		}
		j := i + 1
		for j < len(raw) && raw[j] >= '0' && raw[j] <= '9' {
			j++
		}
		n, err := strconv.Atoi(raw[i+1 : j])
		at := Pos{Offset: pos.Offset + i, Line: pos.Line, Col: pos.Col + i}
		if err != nil || n == 0 {
			p.errorf(at, "%q in an attach point: only the positional parameters $1, $2, ... are replaced there", raw[i:j])
			b.WriteString(raw[i:j])
		} else if n > len(p.params) {
			p.errorf(at, "attach point %q needs positional parameter $%d, and %d are given", raw, n, len(p.params))
		} else {
			b.WriteString(p.params[n-1])
		}
		i = j - 1
	}
	return b.String()
}

// parseAttach gives meaning to the text of one attach point.
// splitAttach splits an attach point at the ':' that are not inside
// double quotes and removes the quotes, as bpftrace does for
// uprobe:BIN:"fn(char const*)"; widths are the parts' lengths in raw.
// open is the offset of a quote that is not closed, or -1.
func splitAttach(raw string) (parts []string, widths []int, open int) {
	var b strings.Builder
	start, quote := 0, -1
	for i := 0; i < len(raw); i++ {
		switch c := raw[i]; {
		case c == '"' && quote < 0:
			quote = i
		case c == '"':
			quote = -1
		case c == ':' && quote < 0:
			parts, widths = append(parts, b.String()), append(widths, i-start)
			b.Reset()
			start = i + 1
		default:
			b.WriteByte(c)
		}
	}
	return append(parts, b.String()), append(widths, len(raw)-start), quote
}

func (p *parser) parseAttach(pos Pos, raw string) *AttachPoint {
	if strings.Contains(raw, "$") {
		raw = p.substParams(pos, raw)
	}
	a := &AttachPoint{Pos: pos, Raw: raw}
	parts, widths, open := splitAttach(raw)
	// col returns the position of part i, for errors inside the text.
	col := func(i int) Pos {
		off := 0
		for j := 0; j < i && j < len(widths); j++ {
			off += widths[j] + 1
		}
		return Pos{Offset: pos.Offset + off, Line: pos.Line, Col: pos.Col + off}
	}
	if open >= 0 {
		at := Pos{Offset: pos.Offset + open, Line: pos.Line, Col: pos.Col + open}
		p.errorf(at, "the quote in %s is not closed: a quoted part ends at a '\"' on the same line", raw)
		return a
	}
	t, ok := probeTypeAliases[parts[0]]
	if !ok {
		p.errorf(pos, "unknown probe type %q%s (valid: kprobe, kretprobe, uprobe, uretprobe, usdt, tracepoint, rawtracepoint, fentry, fexit, lsm, BEGIN, END, interval, profile, software, hardware)",
			parts[0], didYouMean(parts[0], probeTypeSpellings()))
		return a
	}
	a.Type = t
	want := func(n int, form string) bool {
		if len(parts) != n {
			p.errorf(pos, "%s probe must be written %s, found %q", t, form, raw)
			return false
		}
		for i, s := range parts[1:] {
			if s == "" {
				p.errorf(col(i+1), "%s probe must be written %s: empty part in %q", t, form, raw)
				return false
			}
		}
		return true
	}
	switch t {
	case Software, Hardware:
		// software:EVENT[:COUNT]: the program runs every COUNT events.
		form := t.String() + ":EVENT[:COUNT]"
		if len(parts) == 2 {
			parts = append(parts, "")
		}
		if len(parts) != 3 || parts[1] == "" {
			p.errorf(pos, "%s probe must be written %s, found %q", t, form, raw)
			return a
		}
		ev, ok := perfEvents[t][parts[1]]
		if !ok {
			p.errorf(col(1), "unknown %s event %q%s (events: %s)", t, parts[1],
				didYouMean(parts[1], perfEventNames(t)), strings.Join(perfEventNames(t), ", "))
			return a
		}
		a.Func, a.Rate = parts[1], ev.Count
		if parts[2] != "" {
			n, err := ParseInt(parts[2])
			if err != nil || n == 0 {
				p.errorf(col(2), "bad %s count %q: expected a positive number (%s)", t, parts[2], form)
				return a
			}
			a.Rate = n
		}
	case Begin, End:
		want(1, t.String())
	case Kprobe, Kretprobe:
		// kprobe:[MODULE:]FUNC[+OFFSET]
		if len(parts) == 3 {
			a.Target = parts[1]
			parts = []string{parts[0], parts[2]}
		}
		if !want(2, t.String()+":FUNCTION") {
			return a
		}
		a.Func = parts[1]
		if i := strings.IndexByte(a.Func, '+'); i >= 0 {
			off, err := ParseInt(a.Func[i+1:])
			if err != nil || t == Kretprobe {
				p.errorf(col(1), "bad offset in %q: expected FUNCTION+OFFSET, with a number, on kprobes only", raw)
				return a
			}
			a.Func, a.Offset, a.HasOffset = a.Func[:i], off, true
		}
	case Uprobe, Uretprobe:
		if !want(3, t.String()+":BINARY:SYMBOL or "+t.String()+":BINARY:0xOFFSET") {
			return a
		}
		a.Target, a.Func = parts[1], parts[2]
		if isDigit(a.Func[0]) {
			off, err := ParseInt(a.Func)
			if err != nil {
				p.errorf(col(2), "bad uprobe offset %q: %v", a.Func, err)
				return a
			}
			a.Func, a.Offset, a.HasOffset = "", off, true
		}
	case USDT:
		p.parseUSDT(a, parts, col)
	case RawTracepoint, LSM:
		// rawtracepoint:EVENT, as bpftrace 0.17 spells it; lsm:HOOK
		if !want(2, t.String()+":NAME") {
			return a
		}
		a.Func = parts[1]
	case Fentry, Fexit:
		// fentry:[MODULE:]FUNCTION
		if len(parts) == 3 {
			a.Target = parts[1]
			parts = []string{parts[0], parts[2]}
		}
		if !want(2, t.String()+":[MODULE:]FUNCTION") {
			return a
		}
		a.Func = parts[1]
	case Tracepoint:
		if !want(3, "tracepoint:SYSTEM:EVENT") {
			return a
		}
		a.Target, a.Func = parts[1], parts[2]
	case Interval, Profile:
		form := t.String() + ":UNIT:N or " + t.String() + ":NUNIT (UNIT one of s, ms, us" + map[bool]string{true: ", hz", false: ""}[t == Profile] + ")"
		if len(parts) == 2 && parts[1] != "" {
			// The short form, interval:1s or profile:99hz.
			i := 0
			for i < len(parts[1]) && isDigit(parts[1][i]) {
				i++
			}
			if i == 0 || i == len(parts[1]) {
				p.errorf(col(1), "bad %s %q: expected %s", t, parts[1], form)
				return a
			}
			parts = []string{parts[0], parts[1][i:], parts[1][:i]}
		}
		if !want(3, form) {
			return a
		}
		a.Unit = parts[1]
		switch a.Unit {
		case "s", "ms", "us":
		case "hz":
			if t == Interval {
				p.errorf(col(1), "unknown interval unit %q: expected s, ms or us", a.Unit)
				return a
			}
		default:
			p.errorf(col(1), "unknown %s unit %q: expected %s", t, a.Unit, form)
			return a
		}
		count := parts[2]
		if m := p.sc.pp.macro(count, col(2).Offset); m != nil && isIdent(count) {
			// cpp expands macros in attach points too: bpftrace's tools
			// write interval:s:INTERVAL with INTERVAL a -D or #define.
			count = m.Body
		}
		n, err := ParseInt(count)
		if err != nil || n == 0 {
			p.errorf(col(2), "bad %s count %q: expected a positive integer (or a macro of one)", t, count)
			return a
		}
		a.Rate = n
	}
	return a
}

// parseBlock parses "{ stmt; ... }".
func (p *parser) parseBlock() []Stmt {
	p.enter()
	defer p.leave()
	p.expect(LBRACE, "'{'")
	var list []Stmt
	for p.tok != RBRACE && p.tok != EOF {
		if p.tok == SEMICOLON {
			p.next()
			continue
		}
		s := p.parseStmt()
		list = append(list, s)
		switch s.(type) {
		case *IfStmt, *WhileStmt, *UnrollStmt:
			continue // a block closes them
		}
		if p.tok != RBRACE {
			p.expect(SEMICOLON, "';' or '}' after the statement")
		}
	}
	p.expect(RBRACE, "'}' to close the block")
	return list
}

func (p *parser) parseStmt() Stmt {
	switch p.tok {
	case IF:
		return p.parseIf()
	case WHILE, UNROLL:
		pos, tok := p.pos, p.tok
		p.next()
		p.expect(LPAREN, "'(' after "+tok.String())
		x := p.parseExpr()
		p.expect(RPAREN, "')' to close the "+tok.String()+" condition")
		body := p.parseBlock()
		if tok == WHILE {
			return &WhileStmt{Pos: pos, Cond: x, Body: body}
		}
		return &UnrollStmt{Pos: pos, N: x, Body: body}
	}
	if p.tok == IDENT && (p.lit == "return" || p.lit == "break" || p.lit == "continue") {
		s := &JumpStmt{Pos: p.pos, Kind: p.lit}
		p.next()
		if p.tok != SEMICOLON && p.tok != RBRACE {
			p.errorf(p.pos, "%s takes no value: expected ';' or '}' after it, found %s", s.Kind, p.tokDesc())
			panic(bail{})
		}
		return s
	}
	if p.tok == INC || p.tok == DEC {
		// ++$i; as a statement is $i++;.
		pos, op := p.pos, p.tok
		p.next()
		x := p.parsePostfix(p.parsePrimary())
		if !isAssignable(x) {
			p.errorf(pos, "cannot assign to %s: only a variable ($x) or a map (@x, @x[key]) can be assigned", describe(x))
			panic(bail{})
		}
		return &AssignStmt{Pos: pos, Target: x, Op: op}
	}
	pos := p.pos
	x := p.parseExpr()
	switch p.tok {
	case ASSIGN, ADD_ASSIGN, SUB_ASSIGN, MUL_ASSIGN, QUO_ASSIGN, REM_ASSIGN,
		AND_ASSIGN, OR_ASSIGN, XOR_ASSIGN, SHL_ASSIGN, SHR_ASSIGN, INC, DEC:
		op, opPos := p.tok, p.pos
		if !isAssignable(x) {
			p.errorf(opPos, "cannot assign to %s: only a variable ($x) or a map (@x, @x[key]) can be assigned", describe(x))
			panic(bail{})
		}
		p.next()
		st := &AssignStmt{Pos: pos, Target: x, Op: op}
		if op != INC && op != DEC {
			st.Value = p.parseExpr()
		}
		return st
	}
	return &ExprStmt{X: x}
}

func isAssignable(x Expr) bool {
	switch x.(type) {
	case *Var, *MapExpr:
		return true
	}
	return false
}

func (p *parser) parseIf() Stmt {
	st := &IfStmt{Pos: p.pos}
	p.next()
	p.expect(LPAREN, "'(' after if")
	st.Cond = p.parseExpr()
	p.expect(RPAREN, "')' to close the if condition")
	st.Then = p.parseBlock()
	if p.tok == ELSE {
		p.next()
		if p.tok == IF {
			p.enter()
			st.Else = []Stmt{p.parseIf()}
			p.leave()
		} else {
			st.Else = p.parseBlock()
		}
	}
	return st
}

func (p *parser) parseExpr() Expr {
	p.enter()
	defer p.leave()
	cond := p.parseBinary(1)
	if p.tok != QUESTION {
		return cond
	}
	pos := p.pos
	p.next()
	then := p.parseExpr()
	p.expect(COLON, "':' in the conditional expression")
	els := p.parseExpr()
	return &Ternary{Pos: pos, Cond: cond, Then: then, Else: els}
}

func (p *parser) parseBinary(prec int) Expr {
	x := p.parseUnary()
	for {
		op := p.tok
		oprec := op.precedence()
		if oprec < prec {
			return x
		}
		// In a predicate, "/" followed by "{" closes it rather than
		// dividing: bpftrace's grammar resolves the same ambiguity.
		if op == QUO && p.inPred > 0 && p.peek() == LBRACE {
			return x
		}
		pos := p.pos
		p.next()
		p.enter()
		y := p.parseBinary(oprec + 1)
		p.leave()
		x = &Binary{Pos: pos, Op: op, X: x, Y: y}
	}
}

func (p *parser) parseUnary() Expr {
	switch p.tok {
	case SUB, NOT, TILDE, MUL:
		pos, op := p.pos, p.tok
		p.next()
		p.enter()
		x := p.parseUnary()
		p.leave()
		return &Unary{Pos: pos, Op: op, X: x}
	case INC, DEC:
		p.errorf(p.pos, "prefix %s is a statement of its own ($x%s;), not a value: write it as a statement before this one", p.tok, p.tok)
		panic(bail{})
	case AND:
		p.errorf(p.pos, "the address-of operator & is not supported; use str(), or args->FIELD of a tracepoint")
		panic(bail{})
	}
	return p.parsePostfix(p.parsePrimary())
}

func (p *parser) parsePostfix(x Expr) Expr {
	for p.tok == PERIOD || p.tok == ARROW || p.tok == LBRACK {
		if p.tok == LBRACK {
			pos := p.pos
			p.next()
			i := p.parseExpr()
			p.expect(RBRACK, "']' to close the index")
			x = &Index{Pos: pos, X: x, I: i}
			continue
		}
		arrow := p.tok == ARROW
		p.next()
		pos := p.pos
		if p.tok != IDENT {
			p.errorf(p.pos, "expected a field name after %s, found %s", map[bool]string{true: "'->'", false: "'.'"}[arrow], p.tokDesc())
			panic(bail{})
		}
		x = &FieldExpr{Pos: pos, X: x, Field: p.lit, Arrow: arrow}
		p.next()
	}
	return x
}

func (p *parser) parsePrimary() Expr {
	pos := p.pos
	switch p.tok {
	case INT:
		lit := p.lit
		p.next()
		v, err := ParseInt(lit)
		if err != nil {
			p.errorf(pos, "integer literal %s %v", lit, err.(*strconv.NumError).Err)
		}
		return &IntLit{Pos: pos, Raw: lit, Value: v}
	case STRING:
		s := p.lit
		p.next()
		return &StrLit{Pos: pos, Value: s}
	case VAR:
		name := p.lit
		p.next()
		return &Var{Pos: pos, Name: name}
	case MAP:
		m := &MapExpr{Pos: pos, Name: p.lit}
		p.next()
		if p.tok == LBRACK {
			p.next()
			m.Keys = p.parseList(RBRACK, "']' to close the map key")
			if len(m.Keys) == 0 {
				p.errorf(pos, "empty map key: write @%s without brackets, or put a key inside", m.Name)
			}
		}
		return m
	case LPAREN:
		p.next()
		if p.isTypeName(false) {
			typ := p.parseTypeName()
			stars := 0
			for p.tok == MUL {
				stars++
				p.next()
			}
			if _, ok := castTypes[typ]; ok && stars > 1 {
				p.errorf(pos, "casts to pointers to pointers are not supported: cast to (%s *) and read it with *", typ)
				panic(bail{})
			}
			if _, ok := castTypes[typ]; !ok && stars == 0 {
				p.errorf(p.pos, "a cast to %s must be to a pointer, as in (%s *)", typ, typ)
				panic(bail{})
			}
			p.expect(RPAREN, "')' to close the cast ("+typ+strings.Repeat(" *", stars)+")")
			p.enter()
			x := p.parseUnary()
			p.leave()
			return &Cast{Pos: pos, Type: typ, Stars: stars, X: x}
		}
		x := p.parseExpr()
		p.expect(RPAREN, "')'")
		return x
	case IDENT:
		name := p.lit
		if p.frame != nil {
			if span, ok := p.frame.args[name]; ok {
				p.next()
				// The argument is parsed where it was written, among the
				// names of the expansion that used the macro.
				return p.subParse(span[0], span[1], p.frame.outer, "argument "+name+" of macro "+p.frame.m.Name)
			}
		}
		off := pos.Offset
		if p.frame != nil {
			off = p.useOff
		}
		if m := p.sc.pp.macro(name, off); m != nil {
			return p.expandMacro(m, pos)
		}
		p.next()
		if (name == "sizeof" || name == "offsetof") && p.tok == LPAREN {
			return p.parseSizeof(pos, name)
		}
		if p.tok == LPAREN {
			p.next()
			args := p.parseList(RPAREN, "')' to close the argument list")
			if !funcSet[name] {
				p.errorf(pos, "unknown function %q%s", name, didYouMean(name, funcNames))
			}
			return &Call{Pos: pos, Name: name, Args: args}
		}
		if v, ok := constant(name, p.arch); ok && !builtinSet[name] {
			return &IntLit{Pos: pos, Raw: name, Value: v}
		}
		if p.constant != nil && !builtinSet[name] && !funcSet[name] {
			if v, ok := p.constant(name); ok {
				return &IntLit{Pos: pos, Raw: name, Value: v}
			}
		}
		if !builtinSet[name] {
			if funcSet[name] {
				p.errorf(pos, "%s is a function: call it as %s(...)", name, name)
			} else {
				p.errorf(pos, "unknown builtin %q%s", name, didYouMean(name, builtinNames))
			}
		}
		return &Builtin{Pos: pos, Name: name}
	}
	p.errorf(pos, "expected an expression, found %s", p.tokDesc())
	panic(bail{})
}

// isTypeName reports whether the current token starts a type name inside
// parentheses: struct, union or enum, an integer type of a cast, or any
// other name followed by '*' (or, in sizeof, ')') that is not a builtin, constant or
// macro (a typedef such as sk_buff_t or u64).
func (p *parser) isTypeName(inSizeof bool) bool {
	if p.tok != IDENT {
		return false
	}
	switch p.lit {
	case "struct", "union", "enum":
		return true
	}
	if _, ok := castTypes[p.lit]; ok {
		return true
	}
	if builtinSet[p.lit] || funcSet[p.lit] || p.sc.pp.macro(p.lit, p.pos.Offset) != nil {
		return false
	}
	if _, ok := constants[p.lit]; ok {
		return false
	}
	if p.frame != nil {
		if _, ok := p.frame.args[p.lit]; ok {
			return false
		}
	}
	next := p.peek()
	return next == MUL || inSizeof && (next == RPAREN || next == COMMA)
}

// parseTypeName parses "struct NAME", "union NAME", "enum NAME" or a single
// name, without the stars.
func (p *parser) parseTypeName() string {
	typ := p.lit
	p.next()
	switch typ {
	case "struct", "union", "enum":
		if p.tok != IDENT {
			p.errorf(p.pos, "expected the name of the %s, found %s", typ, p.tokDesc())
			panic(bail{})
		}
		typ += " " + p.lit
		p.next()
	}
	return typ
}

// parseSizeof parses sizeof(TYPE), sizeof(X) or offsetof(TYPE, a.b); the
// name has been read and the current token is '('.
func (p *parser) parseSizeof(pos Pos, name string) Expr {
	p.next()
	if name == "sizeof" {
		e := &Sizeof{Pos: pos}
		if p.isTypeName(true) {
			e.Type = p.parseTypeName()
			for p.tok == MUL {
				e.Type += " *"
				p.next()
			}
		} else {
			e.X = p.parseExpr()
		}
		p.expect(RPAREN, "')' to close sizeof")
		return e
	}
	if p.tok != IDENT {
		p.errorf(p.pos, "offsetof needs a type first, as in offsetof(struct task_struct, comm)")
		panic(bail{})
	}
	e := &Offsetof{Pos: pos, Type: p.parseTypeName()}
	p.expect(COMMA, "',' after the type of offsetof")
	for {
		if p.tok != IDENT {
			p.errorf(p.pos, "expected a member name, found %s", p.tokDesc())
			panic(bail{})
		}
		e.Member += p.lit
		p.next()
		if p.tok != PERIOD {
			break
		}
		e.Member += "."
		p.next()
	}
	p.expect(RPAREN, "')' to close offsetof")
	return e
}

// expandMacro parses the use of macro m at pos (the current token is its
// name) and returns its body's expression.
func (p *parser) expandMacro(m *Macro, pos Pos) Expr {
	for f := p.frame; f != nil; f = f.outer {
		if f.m == m {
			p.errorf(pos, "macro %s expands to itself", m.Name)
			panic(bail{})
		}
	}
	p.next()
	if m.lit != nil {
		return defineUse(m.lit, pos)
	}
	frame := &macroFrame{m: m, args: map[string][2]int{}, outer: p.frame}
	if m.FuncLike {
		if p.tok != LPAREN {
			p.errorf(pos, "macro %s takes %d argument(s): use it as %s(%s)", m.Name, len(m.Params), m.Name, strings.Join(m.Params, ", "))
			panic(bail{})
		}
		p.next()
		var spans [][2]int
		for p.tok != RPAREN && p.tok != EOF {
			start := p.pos.Offset
			p.parseExpr() // for its extent; each use parses it again
			spans = append(spans, [2]int{start, p.pos.Offset})
			if p.tok != COMMA {
				break
			}
			p.next()
		}
		p.expect(RPAREN, "')' to close the macro's arguments")
		if len(spans) != len(m.Params) {
			p.errorf(pos, "macro %s takes %d argument(s) (%s), got %d", m.Name, len(m.Params), strings.Join(m.Params, ", "), len(spans))
			panic(bail{})
		}
		for i, name := range m.Params {
			frame.args[name] = spans[i]
		}
	}
	if m.Body == "" {
		p.errorf(pos, "macro %s is defined empty (at %s): it has no value to use", m.Name, m.Pos)
		panic(bail{})
	}
	if p.frame == nil {
		p.useOff = pos.Offset
	}
	return p.subParse(m.bodyStart, m.bodyEnd, frame, "the body of macro "+m.Name)
}

// defineUse returns a copy of lit, a -D macro's literal, at pos: each use
// is a node of its own, typed where it is.
func defineUse(lit Expr, pos Pos) Expr {
	switch x := lit.(type) {
	case *IntLit:
		return &IntLit{Pos: pos, Raw: x.Raw, Value: x.Value}
	case *StrLit:
		return &StrLit{Pos: pos, Value: x.Value}
	case *Unary:
		return &Unary{Pos: pos, Op: x.Op, X: defineUse(x.X, pos)}
	}
	return lit
}

// subParse parses the expression in source bytes [start, end) with frame
// as the innermost expansion, then carries on where it was.
func (p *parser) subParse(start, end int, frame *macroFrame, what string) Expr {
	p.enter()
	defer p.leave()
	if p.expanded++; p.expanded > maxExpansions {
		p.errorf(p.pos, "macros expand to more than %d bodies and arguments here: they use each other too many times", maxExpansions)
		panic(bail{})
	}
	sc, pos, tok, lit, outer, inPred := p.sc, p.pos, p.tok, p.lit, p.frame, p.inPred
	at := p.src.posAt(start)
	p.sc.off, p.sc.end, p.sc.line, p.sc.col = start, end, at.Line, at.Col
	p.frame, p.inPred = frame, 0
	p.next()
	x := p.parseExpr()
	if p.tok != EOF {
		p.errorf(p.pos, "%s must be one expression, but %s follows it", what, p.tokDesc())
		panic(bail{})
	}
	p.sc, p.pos, p.tok, p.lit, p.frame, p.inPred = sc, pos, tok, lit, outer, inPred
	return x
}

// parseList parses "a, b, c" up to and including the closing token.
func (p *parser) parseList(closer Token, what string) []Expr {
	var list []Expr
	for p.tok != closer && p.tok != EOF {
		list = append(list, p.parseExpr())
		if p.tok != COMMA {
			break
		}
		p.next()
	}
	p.expect(closer, what)
	return list
}

// describe names an expression's kind for errors.
func describe(x Expr) string {
	switch x := x.(type) {
	case *IntLit:
		return "an integer literal"
	case *StrLit:
		return "a string literal"
	case *Builtin:
		return "builtin " + x.Name
	case *Call:
		return x.Name + "()"
	case *FieldExpr:
		return "field " + x.Field
	case *Cast:
		return "a cast to " + x.Type + strings.Repeat(" *", x.Stars)
	case *Index:
		return "an array element"
	}
	return "an expression"
}
