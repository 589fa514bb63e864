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
	s = prefix + s
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := c == '_' || c == ':' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9'
		if !ok {
			if i == 0 && c >= '0' && c <= '9' {
				b.WriteByte('_')
				b.WriteByte(c)
				continue
			}
			c = '_'
		}
		b.WriteByte(c)
	}
	return b.String()
}

// LabelName turns s into a legal label name: [a-zA-Z_][a-zA-Z0-9_]*, not
// starting with "__", which Prometheus reserves.
func LabelName(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9'
		if !ok {
			if i == 0 && c >= '0' && c <= '9' {
				b.WriteByte('_')
				b.WriteByte(c)
				continue
			}
			c = '_'
		}
		b.WriteByte(c)
	}
	out := b.String()
	if out == "" {
		return "key"
	}
	for strings.HasPrefix(out, "__") {
		out = out[1:]
	}
	return out
}
