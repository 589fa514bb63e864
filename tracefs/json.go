package tracefs

import (
	"encoding/hex"
	"strconv"
	"unicode/utf8"
)

// AppendJSON appends the value as JSON with its type kept: integers as
// numbers (a u64 above 2^53 too, exact), strings quoted, a string the
// kernel could not read as null, arrays as arrays, raw bytes as hex. It
// allocates nothing for ASCII.
func (v Value) AppendJSON(b []byte) []byte {
	switch v.Kind {
	case KindInt:
		return strconv.AppendInt(b, v.Int, 10)
	case KindUint:
		return strconv.AppendUint(b, v.Uint, 10)
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
