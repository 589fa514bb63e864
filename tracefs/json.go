package tracefs

import (
	"encoding/hex"
	"unicode/utf8"
)

// AppendJSON appends the value as JSON with its type kept. An integer
// follows its field's C type (an int stored in 8 bytes is still an int)
// and is a number, or a string of decimal digits beyond ±2^53, which a
// double cannot hold; a pointer is a hex string ("0x7ffd5c2a1b40"); a
// string is quoted, a string the kernel could not read is null, arrays are
// arrays and raw bytes hex. It allocates nothing for ASCII.
func (v Value) AppendJSON(b []byte) []byte {
	switch v.Kind {
	case KindInt, KindUint:
		bits := v.Uint
		if v.Kind == KindInt {
			bits = uint64(v.Int)
		}
		switch {
		case v.c.ptr:
			return AppendJSONAddr(b, bits)
		case v.c.size > 0 && v.c.signed:
			return AppendJSONInt(b, signExtend(bits&sizeMask(int(v.c.size)), int(v.c.size)))
		case v.c.size > 0:
			return AppendJSONUint(b, bits&sizeMask(int(v.c.size)))
		case v.Kind == KindInt:
			return AppendJSONInt(b, v.Int)
		}
		return AppendJSONUint(b, v.Uint)
	case KindString:
		if v.Fault {
			return append(b, "null"...)
		}
		return AppendJSONString(b, v.Bytes)
	case KindArray:
		return append(v.appendInts(append(b, '[')), ']')
	case KindStringArray:
		b = append(b, '[')
		for i := 0; i < v.Len(); i++ {
			if i > 0 {
				b = append(b, ',')
			}
			if s, ok := v.StringAt(i); ok {
				b = AppendJSONString(b, s)
			} else {
				b = append(b, "null"...)
			}
		}
		return append(b, ']')
	case KindBytes:
		b = append(b, '"')
		b = hex.AppendEncode(b, v.Bytes)
		return append(b, '"')
	}
	return append(b, "null"...)
}

func sizeMask(size int) uint64 {
	if size >= 8 {
		return ^uint64(0)
	}
	return 1<<(8*size) - 1
}

// AppendJSONString quotes s as a JSON string. Bytes that are not UTF-8
// become U+FFFD, as encoding/json does: kernel strings are bytes.
func AppendJSONString[T ~string | ~[]byte](b []byte, s T) []byte {
	const hexdig = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hexdig[c>>4], hexdig[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(string(s[i:min(i+utf8.UTFMax, len(s))]))
		if r == utf8.RuneError && n == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+n]...)
		}
		i += n
	}
	return append(b, '"')
}
