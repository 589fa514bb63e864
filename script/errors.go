package script

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Error is one problem in a script, at a position. Its text reads like a
// compiler's: "file:line:col: message", then the source line and a caret
// under the column.
type Error struct {
	File string
	Pos  Pos
	Msg  string
	// Line is the source line the error is on (without its newline), for
	// the caret display; empty when unknown.
	Line string
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		b.WriteByte(':')
	}
	fmt.Fprintf(&b, "%d:%d: %s", e.Pos.Line, e.Pos.Col, e.Msg)
	if e.Line != "" {
		b.WriteByte('\n')
		b.WriteString(e.Line)
		b.WriteByte('\n')
		b.WriteString(caretPad(e.Line, e.Pos.Col))
		b.WriteByte('^')
	}
	return b.String()
}

// caretPad is the indentation that puts a caret under column col of line,
// copying tabs so that the caret lines up whatever the tab width.
func caretPad(line string, col int) string {
	var b strings.Builder
	for i := 0; i < col-1; i++ {
		if i < len(line) && line[i] == '\t' {
			b.WriteByte('\t')
		} else {
			b.WriteByte(' ')
		}
	}
	return b.String()
}

// ErrorList is every error found in a script, sorted by position.
type ErrorList []*Error

func (l ErrorList) Error() string {
	switch len(l) {
	case 0:
		return "no errors"
	case 1:
		return l[0].Error()
	}
	var b strings.Builder
	for i, e := range l {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// Sort orders the list by position.
func (l ErrorList) Sort() {
	sort.SliceStable(l, func(i, j int) bool { return l[i].Pos.Offset < l[j].Pos.Offset })
}

// Err returns l as an error, or nil when it is empty.
func (l ErrorList) Err() error {
	if len(l) == 0 {
		return nil
	}
	return l
}

// AsErrorList extracts the positioned errors from err.
func AsErrorList(err error) (ErrorList, bool) {
	var l ErrorList
	if errors.As(err, &l) {
		return l, true
	}
	var e *Error
	if errors.As(err, &e) {
		return ErrorList{e}, true
	}
	return nil, false
}

// source is a script's text with an index of line starts, to report errors.
type source struct {
	file  string
	src   []byte
	lines []int // offset of the start of each line
}

func newSource(file string, src []byte) *source {
	s := &source{file: file, src: src, lines: []int{0}}
	for i, c := range src {
		if c == '\n' {
			s.lines = append(s.lines, i+1)
		}
	}
	return s
}

// line returns the text of line n (1-based).
func (s *source) line(n int) string {
	if n < 1 || n > len(s.lines) {
		return ""
	}
	start := s.lines[n-1]
	end := len(s.src)
	if n < len(s.lines) {
		end = s.lines[n] - 1
	}
	return strings.TrimRight(string(s.src[start:end]), "\r")
}

func (s *source) errorf(l *ErrorList, p Pos, format string, args ...any) {
	*l = append(*l, &Error{File: s.file, Pos: p, Msg: fmt.Sprintf(format, args...), Line: s.line(p.Line)})
}

// suggest returns the candidate closest to name by edit distance, if it is
// close enough to be a plausible typo.
func suggest(name string, candidates []string) string {
	best, bestD := "", len(name)/2+2
	for _, c := range candidates {
		if d := editDistance(name, c); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// didYouMean formats a suggestion suffix, or nothing.
func didYouMean(name string, candidates []string) string {
	if s := suggest(name, candidates); s != "" {
		return fmt.Sprintf("; did you mean %q?", s)
	}
	return ""
}
