package script

import (
	"fmt"
	"strings"
)

// Verb is one conversion of a printf format: "%-10lu" is Flags "-",
// Width 10, Length "l", Conv 'u'.
type Verb struct {
	Offset int    // byte offset of the '%' in the format string
	Text   string // the whole conversion as written
	Flags  string
	Width  int // -1 when absent
	Prec   int // -1 when absent
	Length string
	Conv   byte
}

// validVerbs lists bpftrace's printf conversions, for messages.
const validVerbs = "%d %i %u %x %X %o %c %s %p %%, with flags -+ #0, a width, a precision, and h, hh, l, ll before d i u x X o"

// ParseFormat splits a printf format into its conversions ("%%" is not
// one). It rejects what bpftrace's printf rejects.
func ParseFormat(f string) ([]Verb, error) {
	var verbs []Verb
	for i := 0; i < len(f); i++ {
		if f[i] != '%' {
			continue
		}
		start := i
		i++
		if i < len(f) && f[i] == '%' {
			continue
		}
		if i < len(f) && f[i] == '\n' {
			// "%\n" is no conversion: C's printf, which bpftrace 0.17
			// hands the format to, prints it as it is (dcstat.bt's
			// "%5s%\n" header).
			i--
			continue
		}
		v := Verb{Offset: start, Width: -1, Prec: -1}
		for i < len(f) && strings.IndexByte("-+ #0", f[i]) >= 0 {
			v.Flags += string(f[i])
			i++
		}
		num := func() int {
			n := -1
			for i < len(f) && isDigit(f[i]) {
				if n < 0 {
					n = 0
				}
				if n < 1000 {
					n = n*10 + int(f[i]-'0')
				}
				i++
			}
			return n
		}
		v.Width = num()
		if i < len(f) && f[i] == '.' {
			i++
			v.Prec = num()
			if v.Prec < 0 {
				v.Prec = 0
			}
		}
		for _, l := range []string{"hh", "h", "ll", "l"} {
			if strings.HasPrefix(f[i:], l) {
				v.Length = l
				i += len(l)
				break
			}
		}
		if i >= len(f) {
			return verbs, fmt.Errorf("format ends in the middle of conversion %q: expected one of %s", f[start:], validVerbs)
		}
		v.Conv = f[i]
		v.Text = f[start : i+1]
		switch v.Conv {
		case 'd', 'i', 'u', 'x', 'X', 'o':
		case 'c', 's', 'p', 'r':
			if v.Length != "" {
				return verbs, fmt.Errorf("conversion %q: length modifier %q does not apply to %%%c", v.Text, v.Length, v.Conv)
			}
		default:
			return verbs, fmt.Errorf("unknown conversion %q: expected one of %s", v.Text, validVerbs)
		}
		verbs = append(verbs, v)
	}
	return verbs, nil
}

// printf checks a printf call: a literal format, and one argument of a
// fitting type per conversion.
func (c *checker) printf(e *Call) {
	lit, ok := e.Args[0].(*StrLit)
	if !ok {
		c.expr(e.Args[0])
		c.errorf(e.Args[0].Position(), "printf() needs a string literal as its format")
		return
	}
	c.expr(lit)
	args := e.Args[1:]
	types := make([]*Type, len(args))
	for i, a := range args {
		types[i] = c.expr(a)
	}
	verbs, err := ParseFormat(lit.Value)
	if err != nil {
		c.errorf(lit.Pos, "printf: %v", err)
		return
	}
	if len(verbs) != len(args) {
		c.errorf(e.Pos, "printf: the format has %d conversion(s) but %d argument(s) follow it", len(verbs), len(args))
		return
	}
	for i, v := range verbs {
		t := types[i]
		if t == nil {
			continue
		}
		if !verbAccepts(v.Conv, t) {
			want := "an integer"
			if v.Conv == 'r' {
				want = "a buffer, buf(pointer, length)"
			}
			if v.Conv == 's' {
				want = "a string (or comm, str(), ksym(), usym(), strftime(), ntop(), func, probe, kstack, ustack)"
			}
			c.errorf(args[i].Position(), "printf: %s needs %s, but argument %d is %s", v.Text, want, i+1, t)
		}
	}
}

func verbAccepts(conv byte, t *Type) bool {
	switch conv {
	case 'r':
		return t.Kind == KindBuffer
	case 's':
		switch t.Kind {
		case KindString, KindKsym, KindUsym, KindKstack, KindUstack, KindProbe, KindTimestamp, KindInet, KindUsername:
			return true
		}
		return false
	}
	return t.IsInt()
}
