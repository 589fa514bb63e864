package flamegraph

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
)

// Profile is a set of stacks with their counts; adding a stack that is
// already there adds to its count.
type Profile struct {
	counts map[string]uint64 // frames joined by ';'
	total  uint64
}

// NewProfile returns an empty Profile.
func NewProfile() *Profile { return &Profile{counts: map[string]uint64{}} }

// Frame makes s safe to be one frame of a folded line: ';' separates
// frames and a newline ends the line, so both become other characters;
// blanks at either end are dropped (a reader could not tell them from the
// separator before the count), and an empty name becomes "[unknown]".
func Frame(s string) string {
	if strings.ContainsAny(s, ";\n\r") {
		b := []byte(s)
		for i, c := range b {
			switch c {
			case ';':
				b[i] = ':'
			case '\n', '\r':
				b[i] = ' '
			}
		}
		s = string(b)
	}
	s = strings.Trim(s, " \t")
	if s == "" {
		return "[unknown]"
	}
	return s
}

// Add adds count samples of the stack frames, root first. Each frame is
// passed through Frame. A stack without frames, or a zero count, adds
// nothing. Counts saturate at the largest uint64 rather than wrap.
func (p *Profile) Add(frames []string, count uint64) {
	if len(frames) == 0 || count == 0 {
		return
	}
	var b strings.Builder
	for i, f := range frames {
		if i > 0 {
			b.WriteByte(';')
		}
		b.WriteString(Frame(f))
	}
	k := b.String()
	p.counts[k] = addSat(p.counts[k], count)
	p.total = addSat(p.total, count)
}

func addSat(a, b uint64) uint64 {
	if a > math.MaxUint64-b {
		return math.MaxUint64
	}
	return a + b
}

// Total is the sum of all counts.
func (p *Profile) Total() uint64 { return p.total }

// Len is the number of distinct stacks.
func (p *Profile) Len() int { return len(p.counts) }

// Count is the count of the stack frames (root first), zero if absent.
func (p *Profile) Count(frames ...string) uint64 {
	return p.counts[strings.Join(frames, ";")]
}

// Stack is one folded line.
type Stack struct {
	Frames []string // root first
	Count  uint64
}

// Stacks returns the stacks sorted by their folded text, as
// stackcollapse's output is sorted.
func (p *Profile) Stacks() []Stack {
	keys := make([]string, 0, len(p.counts))
	for k := range p.counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]Stack, len(keys))
	for i, k := range keys {
		out[i] = Stack{Frames: strings.Split(k, ";"), Count: p.counts[k]}
	}
	return out
}

// WriteFolded writes one "frame;frame;... count" line per stack, sorted.
func (p *Profile) WriteFolded(w io.Writer) error {
	keys := make([]string, 0, len(p.counts))
	for k := range p.counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	bw := bufio.NewWriter(w)
	for _, k := range keys {
		bw.WriteString(k)
		bw.WriteByte(' ')
		bw.WriteString(strconv.FormatUint(p.counts[k], 10))
		bw.WriteByte('\n')
	}
	return bw.Flush()
}

// ParseError is a line of folded input that could not be read.
type ParseError struct {
	Line, Col int // 1-based; Col counts bytes
	Msg       string
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("folded stacks: line %d, col %d: %s", e.Line, e.Col, e.Msg)
}

// maxLine bounds one line of folded input (a 127-frame kernel stack under
// a 127-frame user stack of long C++ names stays far below it).
const maxLine = 1 << 20

// maxFrames bounds the frames of one stack: the kernel keeps at most 127
// per stack (PERF_MAX_STACK_DEPTH), and the graph draws one row per frame.
const maxFrames = 4096

// ParseFolded reads folded stacks into a new Profile, merging repeated
// stacks. Blank lines are skipped. A line is frames joined by ';', then
// white space, then a decimal count; a count with a fraction (perf's
// weighted samples, which flamegraph.pl accepts) is rounded to the nearest
// integer. Errors give the line and column.
func ParseFolded(r io.Reader) (*Profile, error) {
	p := NewProfile()
	return p, p.ReadFolded(r)
}

// ReadFolded adds the folded stacks read from r to p.
func (p *Profile) ReadFolded(r io.Reader) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxLine)
	line := 0
	for sc.Scan() {
		line++
		if err := p.addLine(line, sc.Bytes()); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		if err == bufio.ErrTooLong {
			return &ParseError{line + 1, 1, fmt.Sprintf("line longer than %d bytes", maxLine)}
		}
		return fmt.Errorf("folded stacks: line %d: %w", line+1, err)
	}
	return nil
}

func (p *Profile) addLine(line int, b []byte) error {
	b = bytes.TrimRight(b, " \t\r")
	if len(bytes.TrimLeft(b, " \t")) == 0 {
		return nil
	}
	sp := len(b) - 1
	for sp >= 0 && b[sp] != ' ' && b[sp] != '\t' {
		sp--
	}
	if sp < 0 {
		return &ParseError{line, len(b) + 1, "want a space and a count after the stack"}
	}
	num := string(b[sp+1:])
	var n uint64
	if strings.ContainsAny(num, ".eE") {
		f, err := strconv.ParseFloat(num, 64)
		if err != nil || f < 0 || math.IsInf(f, 0) || math.IsNaN(f) || f >= math.MaxUint64 {
			return &ParseError{line, sp + 2, fmt.Sprintf("count %q: want a non-negative number", num)}
		}
		n = uint64(math.Round(f))
	} else {
		v, err := strconv.ParseUint(num, 10, 64)
		if err != nil {
			return &ParseError{line, sp + 2, fmt.Sprintf("count %q: want a non-negative integer", num)}
		}
		n = v
	}
	stack := bytes.TrimRight(b[:sp], " \t")
	if len(stack) == 0 {
		return &ParseError{line, 1, "empty stack before the count"}
	}
	if c := bytes.Count(stack, []byte{';'}); c >= maxFrames {
		return &ParseError{line, 1, fmt.Sprintf("%d frames: at most %d", c+1, maxFrames)}
	}
	p.Add(strings.Split(string(stack), ";"), n)
	return nil
}
