package script

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Define is a macro given from outside the script, as cpp's and
// bpftrace's -D NAME=VALUE give one: `tracelet run -D PID=42`, and every
// flag of a script tool (package tools). The script sees it as if it were
// #defined before its first line, so that #ifdef NAME, #ifndef NAME /
// #define NAME default / #endif and uses of NAME all see it.
//
// A value is one literal, as flags give: an integer (42, -1, 0x2a) or a
// string in double quotes ("sda"). cpp would take any text; a literal is
// all a flag needs, and it keeps the script's positions its own: a use of
// NAME is the literal at the place NAME is written.
type Define struct {
	Name  string
	Value string // as given; "" means 1, as for cpp's -D NAME
}

// ParseDefine reads "NAME=VALUE" or "NAME" (which means NAME=1).
func ParseDefine(s string) (Define, error) {
	name, value, hasValue := strings.Cut(s, "=")
	d := Define{Name: name, Value: value}
	if !hasValue {
		d.Value = "1"
	}
	if _, err := d.literal(Pos{}); err != nil {
		return Define{}, err
	}
	return d, nil
}

func (d Define) String() string { return d.Name + "=" + d.Value }

// literal parses the value as the literal a use of the macro stands for,
// at pos.
func (d Define) literal(pos Pos) (Expr, error) {
	if !isIdent(d.Name) {
		return nil, fmt.Errorf("-D %s: %q is not a macro name (letters, digits and _, not starting with a digit)", d, d.Name)
	}
	for _, p := range predefined {
		if p == d.Name {
			return nil, fmt.Errorf("-D %s: %s is predefined", d, d.Name)
		}
	}
	sc := NewScanner("-D "+d.Name, []byte(d.Value))
	_, tok, lit := sc.Scan()
	neg := false
	if tok == SUB {
		neg = true
		_, tok, lit = sc.Scan()
	}
	var x Expr
	switch tok {
	case INT:
		v, err := ParseInt(lit)
		if err != nil {
			var ne *strconv.NumError
			if errors.As(err, &ne) {
				err = ne.Err
			}
			return nil, fmt.Errorf("-D %s: integer literal %s %v", d, lit, err)
		}
		x = &IntLit{Pos: pos, Raw: lit, Value: v}
		if neg {
			x = &Unary{Pos: pos, Op: SUB, X: x}
		}
	case STRING:
		if !neg {
			x = &StrLit{Pos: pos, Value: lit}
		}
	}
	if _, end, _ := sc.Scan(); x == nil || end != EOF || len(sc.Errors()) > 0 {
		return nil, fmt.Errorf("-D %s: the value must be one integer (42, -1, 0x2a) or a string in double quotes (\"sda\")", d)
	}
	return x, nil
}
