package script

import (
	"strconv"
	"strings"
)

// Scanner turns a script into tokens, each with its position, in the manner
// of go/scanner. It never fails: malformed input becomes an ILLEGAL token and
// an error in the list.
//
// Attach points (kprobe:vfs_read, uprobe:/bin/bash:readline) are not made of
// ordinary tokens (a path has '/' and '.' in it), so the parser asks for one
// with ScanAttach where the grammar expects it, as bpftrace's lexer switches
// state after a probe type.
type Scanner struct {
	src  *source
	errs *ErrorList

	off  int // next byte to read
	end  int // where scanning stops: the source's end, or a macro body's
	line int
	col  int

	pp *preproc // directives and macros, found before scanning
}

// NewScanner returns a scanner of src; file names it in errors.
func NewScanner(file string, src []byte) *Scanner {
	s := &Scanner{}
	s.init(newSource(file, src), new(ErrorList), nil)
	return s
}

// Errors returns the errors met so far, in source order.
func (s *Scanner) Errors() ErrorList { return *s.errs }

// init prepares s to scan src, defines given before its first line;
// errors are appended to errs.
func (s *Scanner) init(src *source, errs *ErrorList, defines []Define) {
	s.src = src
	s.errs = errs
	s.off = 0
	s.end = len(src.src)
	s.line = 1
	s.col = 1
	s.pp = preprocess(src, errs, defines)
}

func (s *Scanner) pos() Pos { return Pos{Offset: s.off, Line: s.line, Col: s.col} }

func (s *Scanner) peek(n int) byte {
	if s.off+n < s.end {
		return s.src.src[s.off+n]
	}
	return 0
}

func (s *Scanner) next() byte {
	if s.off >= s.end {
		return 0
	}
	c := s.src.src[s.off]
	s.off++
	if c == '\n' {
		s.line++
		s.col = 1
	} else {
		s.col++
	}
	return c
}

func (s *Scanner) errorf(p Pos, format string, args ...any) {
	s.src.errorf(s.errs, p, format, args...)
}

// skipSpace skips white space and comments. An unterminated block comment
// is an error at its start.
func (s *Scanner) skipSpace() {
	for s.off < s.end {
		if end, ok := s.pp.skip[s.off]; ok && end > s.off {
			// A directive, the "#!" line or a branch not taken.
			for s.off < end && s.off < s.end {
				s.next()
			}
			continue
		}
		c := s.peek(0)
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			s.next()
		case c == '\\' && s.peek(1) == '\n':
			// a line continuation, in a macro body
			s.next()
			s.next()
		case c == '/' && s.peek(1) == '/':
			for s.off < s.end && s.peek(0) != '\n' {
				s.next()
			}
		case c == '/' && s.peek(1) == '*':
			p := s.pos()
			s.next()
			s.next()
			for {
				if s.off >= s.end {
					s.errorf(p, "comment not terminated: expected \"*/\"")
					return
				}
				if s.peek(0) == '*' && s.peek(1) == '/' {
					s.next()
					s.next()
					break
				}
				s.next()
			}
		default:
			return
		}
	}
}

func isLetter(c byte) bool { return c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
func isDigit(c byte) bool  { return '0' <= c && c <= '9' }

// attachByte reports whether c may appear in an attach point: bpftrace's
// path characters plus the wildcard and offset syntax.
func attachByte(c byte) bool {
	return isLetter(c) || isDigit(c) || strings.IndexByte(":/.-*?+[]#@$~", c) >= 0
}

// ScanAttach scans one attach point, up to white space, ',', '{' or a
// comment. It returns the raw text; the parser gives it meaning.
func (s *Scanner) ScanAttach() (Pos, string) {
	s.skipSpace()
	p := s.pos()
	start := s.off
	if s.peek(0) == '/' {
		// A predicate after a trailing comma: no attach point starts
		// with '/'.
		return p, ""
	}
	for s.off < s.end && (attachByte(s.peek(0)) || s.peek(0) == '"') {
		if s.peek(0) == '/' && (s.peek(1) == '/' || s.peek(1) == '*') {
			break
		}
		if s.next() == '"' {
			// A quoted part (uprobe:BIN:"fn(char const*)") holds what
			// an attach point cannot otherwise, up to its closing quote
			// on the same line; parseAttach reports one left open.
			for s.off < s.end && s.peek(0) != '"' && s.peek(0) != '\n' {
				s.next()
			}
			if s.peek(0) == '"' {
				s.next()
			}
		}
	}
	return p, string(s.src.src[start:s.off])
}

// Scan returns the next token. For INT the literal is the source text, for
// STRING the unquoted value, for VAR and MAP the name without its sigil.
func (s *Scanner) Scan() (pos Pos, tok Token, lit string) {
	s.skipSpace()
	pos = s.pos()
	if s.off >= s.end {
		return pos, EOF, ""
	}
	c := s.next()
	switch {
	case isLetter(c):
		start := s.off - 1
		for isLetter(s.peek(0)) || isDigit(s.peek(0)) {
			s.next()
		}
		lit = string(s.src.src[start:s.off])
		if t, ok := keywords[lit]; ok {
			return pos, t, lit
		}
		return pos, IDENT, lit
	case isDigit(c):
		return pos, INT, s.scanNumber(s.off - 1)
	case c == '"':
		return pos, STRING, s.scanString(pos)
	case c == '$' && s.peek(0) == '#':
		s.next()
		return pos, VAR, "#"
	case c == '$' || c == '@':
		start := s.off
		for isLetter(s.peek(0)) || isDigit(s.peek(0)) {
			s.next()
		}
		lit = string(s.src.src[start:s.off])
		if c == '$' {
			if lit == "" {
				s.errorf(pos, "expected a variable name after '$' (such as $x)")
				return pos, ILLEGAL, "$"
			}
			return pos, VAR, lit
		}
		return pos, MAP, lit
	}
	two := func(next byte, yes, no Token) Token {
		if s.peek(0) == next {
			s.next()
			return yes
		}
		return no
	}
	switch c {
	case '+':
		if s.peek(0) == '+' {
			s.next()
			return pos, INC, ""
		}
		return pos, two('=', ADD_ASSIGN, ADD), ""
	case '-':
		switch s.peek(0) {
		case '-':
			s.next()
			return pos, DEC, ""
		case '>':
			s.next()
			return pos, ARROW, ""
		}
		return pos, two('=', SUB_ASSIGN, SUB), ""
	case '*':
		return pos, two('=', MUL_ASSIGN, MUL), ""
	case '/':
		return pos, two('=', QUO_ASSIGN, QUO), ""
	case '%':
		return pos, two('=', REM_ASSIGN, REM), ""
	case '^':
		return pos, two('=', XOR_ASSIGN, XOR), ""
	case '&':
		if s.peek(0) == '&' {
			s.next()
			return pos, LAND, ""
		}
		return pos, two('=', AND_ASSIGN, AND), ""
	case '|':
		if s.peek(0) == '|' {
			s.next()
			return pos, LOR, ""
		}
		return pos, two('=', OR_ASSIGN, OR), ""
	case '<':
		if s.peek(0) == '<' {
			s.next()
			return pos, two('=', SHL_ASSIGN, SHL), ""
		}
		return pos, two('=', LEQ, LSS), ""
	case '>':
		if s.peek(0) == '>' {
			s.next()
			return pos, two('=', SHR_ASSIGN, SHR), ""
		}
		return pos, two('=', GEQ, GTR), ""
	case '=':
		return pos, two('=', EQL, ASSIGN), ""
	case '!':
		return pos, two('=', NEQ, NOT), ""
	case '~':
		return pos, TILDE, ""
	case '(':
		return pos, LPAREN, ""
	case ')':
		return pos, RPAREN, ""
	case '[':
		return pos, LBRACK, ""
	case ']':
		return pos, RBRACK, ""
	case '{':
		return pos, LBRACE, ""
	case '}':
		return pos, RBRACE, ""
	case ',':
		return pos, COMMA, ""
	case ';':
		return pos, SEMICOLON, ""
	case ':':
		return pos, COLON, ""
	case '?':
		return pos, QUESTION, ""
	case '.':
		return pos, PERIOD, ""
	}
	s.errorf(pos, "unexpected character %q", rune(c))
	return pos, ILLEGAL, string(rune(c))
}

// scanNumber scans an integer literal: decimal with optional '_'
// separators and an exponent (1e6), hexadecimal (0x), octal (leading 0),
// each with an optional C size suffix (u, l, ul, ll, ull), as bpftrace's
// lexer accepts. The value is checked by ParseInt.
func (s *Scanner) scanNumber(start int) string {
	for isLetter(s.peek(0)) || isDigit(s.peek(0)) {
		s.next()
	}
	return string(s.src.src[start:s.off])
}

// ParseInt returns the value of an integer literal as the scanner returns
// it, or an error saying what is wrong with it.
func ParseInt(lit string) (uint64, error) {
	body := lit
	// Size suffixes only say how wide C would make the literal; bpftrace
	// widens every literal to 64 bits, so they do not change the value.
	lower := strings.ToLower(body)
	for _, suf := range []string{"ull", "llu", "ul", "lu", "ll", "u", "l"} {
		if strings.HasSuffix(lower, suf) && len(body) > len(suf) {
			body = body[:len(body)-len(suf)]
			break
		}
	}
	switch {
	case isHex(body):
		v, err := strconv.ParseUint(body[2:], 16, 64)
		if err != nil {
			return 0, numErr(lit, err)
		}
		return v, nil
	case strings.ContainsAny(body, "eE"):
		i := strings.IndexAny(body, "eE")
		m, err := strconv.ParseUint(strings.ReplaceAll(body[:i], "_", ""), 10, 64)
		if err != nil {
			return 0, numErr(lit, err)
		}
		e, err := strconv.ParseUint(body[i+1:], 10, 8)
		if err != nil {
			return 0, numErr(lit, err)
		}
		v := m
		for ; e > 0; e-- {
			if v > ^uint64(0)/10 {
				return 0, numErr(lit, strconv.ErrRange)
			}
			v *= 10
		}
		return v, nil
	case len(body) > 1 && body[0] == '0':
		v, err := strconv.ParseUint(body[1:], 8, 64)
		if err != nil {
			return 0, numErr(lit, err)
		}
		return v, nil
	}
	if strings.HasPrefix(body, "_") || strings.HasSuffix(body, "_") {
		return 0, numErr(lit, strconv.ErrSyntax)
	}
	v, err := strconv.ParseUint(strings.ReplaceAll(body, "_", ""), 10, 64)
	if err != nil {
		return 0, numErr(lit, err)
	}
	return v, nil
}

func isHex(s string) bool { return len(s) > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') }

func numErr(lit string, err error) error {
	if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
		return &strconv.NumError{Func: "integer literal", Num: lit, Err: errRange}
	}
	return &strconv.NumError{Func: "integer literal", Num: lit, Err: errSyntax}
}

var (
	errRange  = constError("does not fit in 64 bits")
	errSyntax = constError("is not a valid integer: expected decimal (42, 1_000, 1e6), hex (0x2a) or octal (052), optionally with a u/l/ul/ll/ull suffix")
)

type constError string

func (e constError) Error() string { return string(e) }

// scanString scans a string literal after its opening quote and returns its
// value with escapes resolved: \n \t \r \\ \" \' \0 \a \b \f \v \e,
// \xHH and \NNN octal, as bpftrace's lexer does.
func (s *Scanner) scanString(open Pos) string {
	var b strings.Builder
	for {
		if s.off >= s.end || s.peek(0) == '\n' {
			s.errorf(open, "string literal not terminated: expected a closing '\"' on the same line")
			return b.String()
		}
		c := s.next()
		if c == '"' {
			return b.String()
		}
		if c != '\\' {
			b.WriteByte(c)
			continue
		}
		ep := s.pos()
		ep.Col--
		ep.Offset--
		e := s.next()
		switch e {
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case 'r':
			b.WriteByte('\r')
		case 'a':
			b.WriteByte('\a')
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'v':
			b.WriteByte('\v')
		case 'e':
			b.WriteByte(0x1b)
		case '\\', '"', '\'':
			b.WriteByte(e)
		case 'x':
			v, n := 0, 0
			for n < 2 && isHexDigit(s.peek(0)) {
				v = v*16 + hexVal(s.next())
				n++
			}
			if n == 0 {
				s.errorf(ep, "invalid escape \\x: expected one or two hex digits")
			}
			b.WriteByte(byte(v))
		case '0', '1', '2', '3', '4', '5', '6', '7':
			v, n := int(e-'0'), 1
			for n < 3 && '0' <= s.peek(0) && s.peek(0) <= '7' {
				v = v*8 + int(s.next()-'0')
				n++
			}
			if v > 255 {
				s.errorf(ep, "octal escape out of range: at most \\377")
			}
			b.WriteByte(byte(v))
		default:
			if e == 0 && s.off >= s.end {
				continue // reported as unterminated
			}
			s.errorf(ep, "unknown escape sequence \\%c: expected one of \\n \\t \\r \\\\ \\\" \\xHH \\NNN", e)
		}
	}
}

func isHexDigit(c byte) bool {
	return isDigit(c) || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func hexVal(c byte) int {
	switch {
	case isDigit(c):
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	}
	return int(c-'A') + 10
}
