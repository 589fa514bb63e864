package tracefs

import "strings"

// HexFields reads the event's "print fmt" and returns the fields the kernel
// prints in hex. The format file's field types cannot say it: a probe's
// x32 and u32 arguments both appear as "u32", and only the print format
// ("c=0x%x" against "c=%u") tells them apart. The conversions of the quoted
// format are paired with the arguments after it, in order; an argument that
// mentions REC->NAME gives NAME that conversion.
func (f *Format) HexFields() map[string]bool {
	out := map[string]bool{}
	s := strings.TrimSpace(f.PrintFmt)
	if !strings.HasPrefix(s, `"`) {
		return out
	}
	// The quoted format, with its escapes.
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
	quoted, rest := s[1:end], s[end+1:]
	var verbs []string
	for i := 0; i < len(quoted); i++ {
		if quoted[i] != '%' {
			continue
		}
		if i+1 < len(quoted) && quoted[i+1] == '%' {
			i++
			continue
		}
		j := i + 1
		for j < len(quoted) && strings.IndexByte("diouxXcspSsfeEgGnaA", quoted[j]) < 0 {
			j++
		}
		if j < len(quoted) {
			prefix := strings.HasSuffix(quoted[:i], "0x")
			verbs = append(verbs, string(quoted[j])+map[bool]string{true: "#", false: ""}[prefix])
		}
		i = j
	}
	args := splitArgs(rest)
	for k, a := range args {
		if k >= len(verbs) {
			break
		}
		v := verbs[k]
		hex := v[0] == 'x' || v[0] == 'X' || v[0] == 'p' || strings.HasSuffix(v, "#")
		if !hex {
			continue
		}
		if i := strings.Index(a, "REC->"); i >= 0 {
			name := a[i+5:]
			n := 0
			for n < len(name) && (name[n] == '_' || name[n] >= 'a' && name[n] <= 'z' || name[n] >= 'A' && name[n] <= 'Z' || name[n] >= '0' && name[n] <= '9') {
				n++
			}
			// REC->arr[0] makes the whole array hex.
			out[name[:n]] = true
		}
	}
	return out
}

// splitArgs splits the C argument list after the format at its top-level
// commas.
func splitArgs(s string) []string {
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
	if start >= 0 && start <= len(s) {
		out = append(out, strings.TrimSpace(s[start:]))
	}
	return out
}
