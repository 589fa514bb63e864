package script

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Record is what one output record asks user space to do.
type Record struct {
	// Action is 0 for printf, else ActionExit, ActionPrint, ActionClear or
	// ActionZero.
	Action int
	// Map is the index in Object.Maps of the map to print, clear or zero.
	Map int
	// Top, for a print, keeps that many elements (see TopEntries); 0
	// prints them all. Div divides the values printed (Print.Div).
	Top int
	Div uint64
}

var errShortRecord = errors.New("record shorter than its printf needs")

// HandleRecord decodes one record from the output ring. A printf record is
// formatted to w as C's printf would (bpftrace's verbs); other records are
// returned for the caller to act on.
func (o *Object) HandleRecord(w io.Writer, rec []byte, r *Resolver) (Record, error) {
	if len(rec) < 8 {
		return Record{}, errShortRecord
	}
	id := u64(rec)
	if action := int(id >> 32); action == ActionPrint {
		i := int(uint32(id))
		if i >= len(o.Prints) {
			return Record{}, fmt.Errorf("record has print id %d; the program has %d print calls", i, len(o.Prints))
		}
		p := o.Prints[i]
		return Record{Action: action, Map: p.Map, Top: p.Top, Div: p.Div}, nil
	} else if action != 0 {
		return Record{Action: action, Map: int(uint32(id))}, nil
	}
	if id >= uint64(len(o.Printfs)) {
		return Record{}, fmt.Errorf("record has printf id %d; the program has %d printf calls", id, len(o.Printfs))
	}
	pf := o.Printfs[id]
	if len(rec) < pf.Size {
		return Record{}, errShortRecord
	}
	if r == nil {
		r = &Resolver{}
	}
	_, err := io.WriteString(w, o.FormatPrintf(pf, rec, r))
	return Record{}, err
}

// FormatPrintf formats a printf record (or a time() or join() one).
func (o *Object) FormatPrintf(pf *Printf, rec []byte, r *Resolver) string {
	switch pf.Kind {
	case PrintfTime:
		return Strftime(pf.Format, r.now())
	case PrintfJoin:
		n := u64(rec[8:]) // at most JoinArgs, unless the record is corrupt
		parts := make([]string, min(n, JoinArgs))
		for i := range parts {
			s := rec[16+i*JoinArgSize : 16+(i+1)*JoinArgSize]
			if j := bytes.IndexByte(s, 0); j >= 0 {
				s = s[:j]
			}
			parts[i] = string(s)
		}
		return strings.Join(parts, pf.Format) + "\n"
	}
	p := planPrintf(pf.Format)
	text := string(o.appendPrintf(nil, &p, pf, rec, r))
	// cat() and system() print what the runtime reads or runs, and
	// nothing without one.
	var run func(string) string
	switch pf.Kind {
	case PrintfCat:
		run = r.Cat
	case PrintfSystem:
		run = r.System
	default:
		return text
	}
	if run == nil {
		return ""
	}
	return run(text)
}

// printfPlan is a printf format parsed once: its conversions, and the
// literal text before each and after the last, with "%%" unescaped.
type printfPlan struct {
	verbs []Verb
	lits  []string
}

func planPrintf(format string) printfPlan {
	verbs, _ := ParseFormat(format) // checked at compile time
	p := printfPlan{verbs: verbs, lits: make([]string, len(verbs)+1)}
	last := 0
	for i, v := range verbs {
		p.lits[i] = unescapePercent(format[last:v.Offset])
		last = v.Offset + len(v.Text)
	}
	p.lits[len(verbs)] = unescapePercent(format[last:])
	return p
}

// appendPrintf appends the text of printf record rec, formatted by p, to
// dst. The common conversions (no flags, width or precision; a string's
// %s) append without allocating, which is what keeps `run`'s printf
// consumer as fast as `trace`'s.
func (o *Object) appendPrintf(dst []byte, p *printfPlan, pf *Printf, rec []byte, r *Resolver) []byte {
	for i, v := range p.verbs {
		dst = append(dst, p.lits[i]...)
		t := pf.Args[i]
		arg := rec[pf.Offsets[i] : pf.Offsets[i]+slotSize(t)]
		dst = o.appendVerb(dst, v, t, arg, r)
	}
	return append(dst, p.lits[len(p.verbs)]...)
}

func (o *Object) appendVerb(dst []byte, v Verb, t *Type, arg []byte, r *Resolver) []byte {
	if v.Flags == "" && v.Width < 0 && v.Prec < 0 {
		if v.Conv == 's' {
			if t.Kind == KindString {
				if i := bytes.IndexByte(arg, 0); i >= 0 {
					arg = arg[:i]
				}
				return append(dst, arg...)
			}
		} else {
			n := verbValue(v, t, arg)
			switch v.Conv {
			case 'd', 'i':
				return strconv.AppendInt(dst, int64(n), 10)
			case 'u':
				return strconv.AppendUint(dst, n, 10)
			case 'x':
				return strconv.AppendUint(dst, n, 16)
			case 'X':
				start := len(dst)
				dst = strconv.AppendUint(dst, n, 16)
				for i := start; i < len(dst); i++ {
					if c := dst[i]; c >= 'a' && c <= 'f' {
						dst[i] = c - 'a' + 'A'
					}
				}
				return dst
			case 'o':
				return strconv.AppendUint(dst, n, 8)
			case 'c':
				return utf8.AppendRune(dst, rune(byte(n)))
			case 'p':
				return strconv.AppendUint(append(dst, "0x"...), n, 16)
			}
		}
	}
	return append(dst, formatVerb(v, o.argText(t, arg, r), t, arg)...)
}

func unescapePercent(s string) string { return strings.ReplaceAll(s, "%%", "%") }

// argText is the %s text of a non-integer argument.
func (o *Object) argText(t *Type, arg []byte, r *Resolver) string {
	switch t.Kind {
	case KindString:
		if i := bytes.IndexByte(arg, 0); i >= 0 {
			return string(arg[:i])
		}
		return string(arg)
	case KindInt, KindBool:
		return ""
	}
	return o.valueString(t, arg, r)
}

// verbValue is the integer a conversion prints: h and hh truncate the
// argument to 16 and 8 bits, and without l or ll to 32.
func verbValue(v Verb, t *Type, arg []byte) uint64 {
	n := u64(arg)
	if v.Length != "l" && v.Length != "ll" && v.Conv != 'p' && v.Conv != 'c' {
		// Without l or ll, bpftrace 0.17 hands the conversion to C's
		// printf as it is written, which reads a 32-bit int: 0x100000005
		// prints 5 with %x, (int8)-1 prints 4294967295 with %u, and
		// (uint32)-1 prints -1 with %d.
		if t.Signed && t.Size < 8 && t.Size > 0 {
			sh := uint(64 - 8*t.Size)
			n = uint64(int64(n<<sh) >> sh)
		}
		n = uint64(uint32(n))
		if v.Conv == 'd' || v.Conv == 'i' {
			n = uint64(int64(int32(n)))
		}
	}
	switch v.Length {
	case "h":
		n = uint64(uint16(n))
		if v.Conv == 'd' || v.Conv == 'i' {
			n = uint64(int64(int16(n)))
		}
	case "hh":
		n = uint64(uint8(n))
		if v.Conv == 'd' || v.Conv == 'i' {
			n = uint64(int64(int8(n)))
		}
	}
	return n
}

// formatVerb renders one conversion with C semantics: flags, width and
// precision as printf(3); h and hh truncate the argument to 16 and 8 bits.
func formatVerb(v Verb, text string, t *Type, arg []byte) string {
	spec := "%" + v.Flags
	if v.Width >= 0 {
		spec += strconv.Itoa(v.Width)
	}
	if v.Prec >= 0 {
		spec += "." + strconv.Itoa(v.Prec)
	}
	if v.Conv == 's' || v.Conv == 'r' {
		return fmt.Sprintf(spec+"s", text)
	}
	n := verbValue(v, t, arg)
	switch v.Conv {
	case 'd', 'i':
		return fmt.Sprintf(spec+"d", int64(n))
	case 'u':
		return fmt.Sprintf(spec+"d", n)
	case 'x', 'X', 'o':
		return fmt.Sprintf(spec+string(v.Conv), n)
	case 'c':
		return fmt.Sprintf(spec+"c", rune(byte(n)))
	case 'p':
		return fmt.Sprintf(spec+"s", "0x"+strconv.FormatUint(n, 16))
	}
	return text
}
