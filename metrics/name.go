package metrics

import "strings"

// Name turns a map's name into a legal metric name with prefix: "@" is
// dropped, every character outside [a-zA-Z0-9_:] becomes '_', a name that
// would start with a digit gets a '_' first, and the anonymous map "@"
// becomes prefix+"map".
func Name(prefix, mapName string) string {
	s := strings.TrimPrefix(mapName, "@")
	if s == "" {
		s = "map"
	}
	return legal(prefix+s, true)
}

// LabelName turns s into a legal label name: [a-zA-Z_][a-zA-Z0-9_]*, not
// starting with "__", which Prometheus reserves.
func LabelName(s string) string {
	out := legal(s, false)
	if out == "" {
		return "key"
	}
	for strings.HasPrefix(out, "__") {
		out = out[1:]
	}
	return out
}

// legal replaces each character outside [a-zA-Z0-9_] (and ':' where colon
// allows it) with '_', and puts a '_' before a leading digit.
func legal(s string, colon bool) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || colon && c == ':':
		case c >= '0' && c <= '9':
			if i == 0 {
				b.WriteByte('_')
			}
		default:
			c = '_'
		}
		b.WriteByte(c)
	}
	return b.String()
}
