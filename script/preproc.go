package script

import (
	"sort"
	"strings"
)

// bpftrace runs its scripts through the C preprocessor, and its tools
// rely on a little of it: a "#!" first line, #include of kernel headers
// (for struct types), #define'd constants and #ifndef BPFTRACE_HAVE_BTF
// around hand-written struct definitions. The preprocessor here does that
// much without rewriting the text, so that every position stays where the
// user wrote it:
//
//   - a "#!" line 1 is skipped;
//   - each directive line, and every line of a branch that is not taken,
//     is a span the scanner skips as white space;
//   - #include lines are recorded in Program.Includes, for the BTF
//     resolution of struct types to come (without a struct, they change
//     nothing);
//   - #define NAME BODY and #define NAME(a, b) BODY record a macro, which
//     the parser expands where NAME is used as an expression: the body
//     (and each argument) is parsed from where it is written, so an error
//     inside a macro points into its #define line. A body must be one
//     expression; C's token pasting (##) and stringising (#) are not
//     supported.
//
// Conditionals are #ifdef, #ifndef, #if 0/1/defined(NAME), #else and
// #endif. BPFTRACE_HAVE_BTF is defined, as bpftrace defines it when the
// kernel has BTF: tracelet takes kernel types from BTF only, never from C
// headers, so the branch for kernels without BTF is the one it cannot use.

// Include is an #include line.
type Include struct {
	Pos    Pos
	Path   string // linux/sched.h
	System bool   // <...> rather than "..."
}

// Macro is a #define.
type Macro struct {
	Pos      Pos // of the name in the #define line
	Name     string
	FuncLike bool     // NAME(params) BODY
	Params   []string // for FuncLike
	Body     string   // as written, continuation lines joined

	bodyStart, bodyEnd int // byte offsets of the body in the source
	undefAt            int // offset of the #undef that ends it, or -1
	// lit is what a use of a -D macro (Define) stands for; nil for the
	// script's own #defines.
	lit Expr
}

// predefined are the macros every script sees.
var predefined = []string{"BPFTRACE_HAVE_BTF"}

// preproc is what the preprocessing pass found in a source.
type preproc struct {
	skip     map[int]int // start offset -> end offset of a span to skip
	macros   []*Macro    // in definition order, the -D ones first
	includes []Include
	hists    map[string]*HistStyle // the "// hist:" comments of taken lines
}

// macro returns the macro name means at offset off, or nil.
func (pp *preproc) macro(name string, off int) *Macro {
	if pp == nil {
		return nil
	}
	for i := len(pp.macros) - 1; i >= 0; i-- {
		m := pp.macros[i]
		if m.Name == name && m.bodyStart <= off && (m.undefAt < 0 || off < m.undefAt) {
			return m
		}
	}
	return nil
}

func (pp *preproc) defined(name string, off int) bool {
	for _, p := range predefined {
		if p == name {
			return true
		}
	}
	return pp.macro(name, off) != nil
}

// posAt converts a byte offset to a position.
func (s *source) posAt(off int) Pos {
	i := sort.Search(len(s.lines), func(i int) bool { return s.lines[i] > off }) - 1
	if i < 0 {
		i = 0
	}
	return Pos{Offset: off, Line: i + 1, Col: off - s.lines[i] + 1}
}

// preprocess finds the directives of src. It scans line by line, keeping
// track of block comments and strings so that a '#' inside them is not
// taken for a directive.
func preprocess(src *source, errs *ErrorList, defines []Define) *preproc {
	pp := &preproc{skip: map[int]int{}}
	for _, d := range defines {
		// Defined before the first line, so visible from offset 0 on.
		x, err := d.literal(Pos{Offset: 0, Line: 1, Col: 1})
		if err != nil {
			src.errorf(errs, Pos{Offset: 0, Line: 1, Col: 1}, "%v", err)
			continue
		}
		pp.macros = append(pp.macros, &Macro{Name: d.Name, Body: d.Value, undefAt: -1, lit: x})
	}
	b := src.src
	if len(b) >= 2 && b[0] == '#' && b[1] == '!' {
		end := 0
		for end < len(b) && b[end] != '\n' {
			end++
		}
		pp.skip[0] = end
	}
	// cond is the stack of open conditionals: whether the enclosing text
	// is taken, and whether a branch of this one has been.
	type cond struct {
		pos               Pos
		outerOn, on, done bool
		sawElse           bool
	}
	var conds []cond
	active := func() bool { return len(conds) == 0 || conds[len(conds)-1].on }
	inComment := false
	for off := 0; off < len(b); {
		if _, ok := pp.skip[off]; ok && off == 0 {
			off = pp.skip[0]
			continue
		}
		// The logical line: physical lines joined by backslash-newline.
		end := off
		for end < len(b) && b[end] != '\n' {
			if b[end] == '\\' && end+1 < len(b) && b[end+1] == '\n' {
				end += 2
				continue
			}
			end++
		}
		next := end + 1
		first := off
		for first < end && (b[first] == ' ' || b[first] == '\t') {
			first++
		}
		if !inComment && first < end && b[first] == '#' {
			pos := src.posAt(first)
			text := strings.ReplaceAll(string(b[first+1:end]), "\\\n", " ")
			text = stripComment(text)
			name, rest := cutWord(strings.TrimLeft(text, " \t"))
			errorf := func(format string, args ...any) {
				if active() {
					src.errorf(errs, pos, format, args...)
				}
			}
			switch name {
			case "ifdef", "ifndef", "if":
				c := cond{pos: pos, outerOn: active()}
				var v, ok bool
				switch name {
				case "ifdef", "ifndef":
					id, extra := cutWord(rest)
					ok = isIdent(id) && extra == ""
					v = pp.defined(id, first) == (name == "ifdef")
					if !ok {
						errorf("#%s needs one macro name, as in #%s BPFTRACE_HAVE_BTF", name, name)
					}
				default:
					v, ok = pp.ifValue(rest, first)
					if !ok {
						errorf("#if %s: only 0, 1 and defined(NAME), optionally negated with !, are supported", strings.TrimSpace(rest))
					}
				}
				c.on = c.outerOn && v
				c.done = v
				conds = append(conds, c)
			case "else":
				if len(conds) == 0 || conds[len(conds)-1].sawElse {
					errorf("#else without #if, #ifdef or #ifndef")
					break
				}
				c := &conds[len(conds)-1]
				c.on = c.outerOn && !c.done
				c.done, c.sawElse = true, true
			case "endif":
				if len(conds) == 0 {
					errorf("#endif without #if, #ifdef or #ifndef")
					break
				}
				conds = conds[:len(conds)-1]
			case "include":
				if !active() {
					break
				}
				arg := strings.TrimSpace(rest)
				switch {
				case len(arg) > 2 && arg[0] == '<' && arg[len(arg)-1] == '>':
					pp.includes = append(pp.includes, Include{Pos: pos, Path: arg[1 : len(arg)-1], System: true})
				case len(arg) > 2 && arg[0] == '"' && arg[len(arg)-1] == '"':
					pp.includes = append(pp.includes, Include{Pos: pos, Path: arg[1 : len(arg)-1]})
				default:
					errorf("#include needs a header, as in #include <linux/sched.h> or #include \"file.h\"")
				}
			case "define":
				if active() {
					pp.define(src, errs, b, first, end, pos)
				}
			case "undef":
				if !active() {
					break
				}
				id, _ := cutWord(rest)
				for _, m := range pp.macros {
					if m.Name == id && m.undefAt < 0 {
						m.undefAt = first
					}
				}
			default:
				errorf("unsupported preprocessor directive #%s: expected #include, #define, #undef, #ifdef, #ifndef, #if, #else or #endif", name)
			}
			pp.skip[off] = end
			off = next
			continue
		}
		if !active() {
			pp.skip[off] = end
			off = next
			continue
		}
		if !inComment {
			pp.histComment(src, errs, b[first:end], src.posAt(first))
		}
		inComment = scanComments(b[off:end], inComment)
		off = next
	}
	for _, c := range conds {
		src.errorf(errs, c.pos, "conditional not terminated: expected #endif")
	}
	return pp
}

// define records "#define NAME BODY" or "#define NAME(a, b) BODY", the
// directive's '#' being at off and its line ending at end.
func (pp *preproc) define(src *source, errs *ErrorList, b []byte, off, end int, pos Pos) {
	i := off + 1
	skipBlank := func() {
		for i < end && (b[i] == ' ' || b[i] == '\t' || b[i] == '\\' && i+1 < end && b[i+1] == '\n' || b[i] == '\n') {
			i++
		}
	}
	skipBlank()
	i += len("define")
	skipBlank()
	nameAt := i
	for i < end && (isLetter(b[i]) || isDigit(b[i])) {
		i++
	}
	name := string(b[nameAt:i])
	if !isIdent(name) {
		src.errorf(errs, src.posAt(nameAt), "#define needs a macro name, as in #define NAME 42")
		return
	}
	m := &Macro{Pos: src.posAt(nameAt), Name: name, undefAt: -1}
	if i < end && b[i] == '(' {
		m.FuncLike = true
		close := i
		for close < end && b[close] != ')' {
			close++
		}
		if close == end {
			src.errorf(errs, src.posAt(i), "#define %s(: expected ')' to close the parameter list", name)
			return
		}
		if params := strings.TrimSpace(string(b[i+1 : close])); params != "" {
			for _, p := range strings.Split(params, ",") {
				p = strings.TrimSpace(p)
				if !isIdent(p) {
					src.errorf(errs, src.posAt(i+1), "#define %s: parameter %q is not a name (variadic macros are not supported)", name, p)
					return
				}
				m.Params = append(m.Params, p)
			}
		}
		i = close + 1
	}
	skipBlank()
	m.bodyStart, m.bodyEnd = i, end
	body := strings.ReplaceAll(string(b[i:end]), "\\\n", " ")
	m.Body = strings.TrimSpace(stripComment(body))
	if hasHash(m.Body) {
		src.errorf(errs, pos, "#define %s: the # and ## operators are not supported", name)
		return
	}
	for _, p := range predefined {
		if p == name {
			src.errorf(errs, m.Pos, "#define %s: %s is predefined", name, name)
			return
		}
	}
	pp.macros = append(pp.macros, m)
}

// hasHash reports whether a macro body holds # or ## outside its string
// literals.
func hasHash(body string) bool {
	for i := 0; i < len(body); i++ {
		switch body[i] {
		case '"':
			for i++; i < len(body) && body[i] != '"'; i++ {
				if body[i] == '\\' {
					i++
				}
			}
		case '#':
			return true
		}
	}
	return false
}

// ifValue evaluates the condition of an #if: 0, 1, defined(NAME),
// defined NAME or NAME (a macro whose body is an integer), each
// optionally negated.
func (pp *preproc) ifValue(s string, off int) (v, ok bool) {
	s = strings.TrimSpace(s)
	neg := false
	for strings.HasPrefix(s, "!") {
		neg = !neg
		s = strings.TrimSpace(s[1:])
	}
	switch {
	case s == "0":
		v = false
	case s == "1":
		v = true
	case strings.HasPrefix(s, "defined"):
		id := strings.TrimSpace(s[len("defined"):])
		if strings.HasPrefix(id, "(") && strings.HasSuffix(id, ")") {
			id = strings.TrimSpace(id[1 : len(id)-1])
		}
		if !isIdent(id) {
			return false, false
		}
		v = pp.defined(id, off)
	case isIdent(s):
		// #if NAME, NAME a macro whose body is an integer (a flag's
		// -D NAME=1, or #define NAME 0): true when it is not zero, as
		// in cpp; an undefined name is 0.
		m := pp.macro(s, off)
		if m == nil {
			v = false
			break
		}
		n, err := ParseInt(m.Body)
		if err != nil {
			return false, false
		}
		v = n != 0
	default:
		return false, false
	}
	return v != neg, true
}

// scanComments reports whether line leaves a block comment open, given
// whether one was open at its start. Strings and line comments are
// skipped so that "/*" inside them opens nothing.
func scanComments(line []byte, in bool) bool {
	for i := 0; i < len(line); i++ {
		switch {
		case in:
			if line[i] == '*' && i+1 < len(line) && line[i+1] == '/' {
				in = false
				i++
			}
		case line[i] == '"':
			for i++; i < len(line) && line[i] != '"'; i++ {
				if line[i] == '\\' {
					i++
				}
			}
		case line[i] == '/' && i+1 < len(line) && line[i+1] == '/':
			return false
		case line[i] == '/' && i+1 < len(line) && line[i+1] == '*':
			in = true
			i++
		}
	}
	return in
}

// stripComment removes a trailing // or /* */ comment from a directive.
func stripComment(s string) string {
	if i := strings.Index(s, "//"); i >= 0 {
		s = s[:i]
	}
	if i := strings.Index(s, "/*"); i >= 0 {
		s = s[:i]
	}
	return s
}

// cutWord splits off the first word (letters, digits, '_') of s.
func cutWord(s string) (word, rest string) {
	i := 0
	for i < len(s) && (isLetter(s[i]) || isDigit(s[i])) {
		i++
	}
	return s[:i], strings.TrimSpace(s[i:])
}

func isIdent(s string) bool {
	if s == "" || !isLetter(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if !isLetter(s[i]) && !isDigit(s[i]) {
			return false
		}
	}
	return true
}
