package record

import "strings"

// hexFields reads an event's "print fmt" and returns the fields the kernel
// prints in hex: the format file's types cannot tell a probe's x32 from its
// u32 (both are "u32"), only the conversion in the print format can. The
// conversions of the quoted format are paired with the arguments after it;
// an argument naming REC->FIELD gives FIELD that conversion.
func hexFields(printFmt string) map[string]bool {
	out := map[string]bool{}
	s := strings.TrimSpace(printFmt)
	if !strings.HasPrefix(s, `"`) {
		return out
	}
	end := 1
	for end < len(s) && s[end] != '"' {
		if s[end] == '\\' {
			end++
		}
		end++
	}
	if end >= len(s) {
		return out
	}
	format, rest := s[1:end], s[end+1:]
	var hex []bool
	for i := 0; i < len(format); i++ {
		if format[i] != '%' {
			continue
		}
		if i+1 < len(format) && format[i+1] == '%' {
			i++
			continue
		}
		j := i + 1
		for j < len(format) && !strings.ContainsRune("diouxXcspSsfeEgGnaA", rune(format[j])) {
			j++
		}
		if j == len(format) {
			break
		}
		c := format[j]
		hex = append(hex, c == 'x' || c == 'X' || c == 'p' || strings.HasSuffix(format[:i], "0x"))
		i = j
	}
	for k, arg := range splitTopLevel(rest) {
		if k >= len(hex) {
			break
		}
		if !hex[k] {
			continue
		}
		i := strings.Index(arg, "REC->")
		if i < 0 {
			continue
		}
		name := arg[i+5:]
		n := 0
		for n < len(name) && (name[n] == '_' || name[n] >= 'a' && name[n] <= 'z' || name[n] >= 'A' && name[n] <= 'Z' || name[n] >= '0' && name[n] <= '9') {
			n++
		}
		out[name[:n]] = true
	}
	return out
}

// splitTopLevel splits the C arguments after the format at the commas
// outside parentheses and brackets.
func splitTopLevel(s string) []string {
	var out []string
	depth, start := 0, -1
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '(', '[':
			depth++
		case ')', ']':
			depth--
		case ',':
			if depth == 0 {
				if start >= 0 {
					out = append(out, strings.TrimSpace(s[start:i]))
				}
				start = i + 1
			}
		}
	}
	if start >= 0 {
		out = append(out, strings.TrimSpace(s[start:]))
	}
	return out
}
