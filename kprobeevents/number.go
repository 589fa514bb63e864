package kprobeevents

// The kernel parses every number in a definition with kstrtoul(), kstrtol()
// or kstrtouint() (lib/kstrtox.c) with base 0, or with simple_strtoul() for
// bitfields. These mirror them exactly, so that what we accept is what the
// kernel accepts: "0x" means hex only when a hex digit follows, a leading 0
// means octal, a leading '+' is allowed, and no trailing text is (the
// kernel also allows one trailing newline, which we never pass on).

// parseRadix is _parse_integer_fixup_radix() + _parse_integer().
// It returns the value, the number of bytes used, and overflow.
func parseRadix(s string, base int) (v uint64, n int, overflow bool) {
	if base == 0 {
		if len(s) >= 1 && s[0] == '0' {
			if len(s) >= 3 && (s[1]|0x20) == 'x' && isXDigit(s[2]) {
				base = 16
				n = 2
			} else {
				base = 8
			}
		} else {
			base = 10
		}
	} else if base == 16 && len(s) >= 2 && s[0] == '0' && (s[1]|0x20) == 'x' {
		n = 2
	}
	start := n
	for ; n < len(s); n++ {
		c := s[n]
		var d uint64
		switch {
		case isDigit(c):
			d = uint64(c - '0')
		case c|0x20 >= 'a' && c|0x20 <= 'f':
			d = uint64(c|0x20-'a') + 10
		default:
			d = 99
		}
		if d >= uint64(base) {
			break
		}
		if v > (^uint64(0)-d)/uint64(base) {
			overflow = true
		}
		v = v*uint64(base) + d
	}
	if n == start && start > 0 {
		// "0x" and no digit: nothing was parsed.
		return 0, 0, false
	}
	return v, n, overflow
}

// kstrtoul is kstrtoull(s, base) limited to an unsigned value of bits bits
// (kstrtoul on a 32-bit kernel, kstrtouint).
func kstrtoul(s string, base, bits int) (uint64, bool) {
	if len(s) > 0 && s[0] == '+' {
		s = s[1:]
	}
	if s == "" {
		return 0, false
	}
	v, n, of := parseRadix(s, base)
	if n == 0 || n != len(s) || of {
		return 0, false
	}
	if bits < 64 && v>>uint(bits) != 0 {
		return 0, false
	}
	return v, true
}

// kstrtol is kstrtol(s, base) for a signed long of the given width.
func kstrtol(s string, base, bits int) (int64, bool) {
	if len(s) > 0 && s[0] == '-' {
		u, ok := kstrtoul(s[1:], base, 64)
		if !ok || len(s) > 1 && s[1] == '+' {
			return 0, false
		}
		if u > uint64(1)<<uint(bits-1) {
			return 0, false
		}
		return -int64(u), true
	}
	u, ok := kstrtoul(s, base, 64)
	if !ok || u >= uint64(1)<<uint(bits-1) {
		return 0, false
	}
	return int64(u), true
}

// simpleStrtoul is simple_strtoul(s, &end, 0): as many digits as parse, no
// error; returns the value and how many bytes it used.
func simpleStrtoul(s string) (uint64, int) {
	v, n, _ := parseRadix(s, 0)
	return v, n
}
