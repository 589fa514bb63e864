package vmtest

import (
	"strings"
)

// compareDebVersions orders two Debian package versions the way dpkg does
// (deb-version(7)): epoch numerically, then upstream version and revision,
// each compared as alternating non-digit and digit runs, where '~' sorts
// before everything, even the end of the string. It returns -1, 0 or +1.
// "Newest kernel" must be decided this way: 6.1.0-9 is older than 6.1.0-56,
// and 6.12.90+deb12.1 is newer than 6.12.90+deb12.
func compareDebVersions(a, b string) int {
	ea, ua, ra := splitDebVersion(a)
	eb, ub, rb := splitDebVersion(b)
	if c := compareDigits(ea, eb); c != 0 {
		return c
	}
	if c := compareDebPart(ua, ub); c != 0 {
		return c
	}
	return compareDebPart(ra, rb)
}

func splitDebVersion(v string) (epoch, upstream, revision string) {
	epoch = "0"
	if i := strings.IndexByte(v, ':'); i >= 0 {
		epoch, v = v[:i], v[i+1:]
	}
	if i := strings.LastIndexByte(v, '-'); i >= 0 {
		return epoch, v[:i], v[i+1:]
	}
	return epoch, v, ""
}

func compareDebPart(a, b string) int {
	for a != "" || b != "" {
		var na, nb string
		na, a = spanNonDigits(a)
		nb, b = spanNonDigits(b)
		if c := compareNonDigits(na, nb); c != 0 {
			return c
		}
		na, a = spanDigits(a)
		nb, b = spanDigits(b)
		if c := compareDigits(na, nb); c != 0 {
			return c
		}
	}
	return 0
}

func spanNonDigits(s string) (string, string) {
	i := 0
	for i < len(s) && !isDigit(s[i]) {
		i++
	}
	return s[:i], s[i:]
}

func spanDigits(s string) (string, string) {
	i := 0
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	return s[:i], s[i:]
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// debOrder is dpkg's weight of one character of a non-digit run: '~' below
// the end of the string, letters below everything else.
func debOrder(s string, i int) int {
	if i >= len(s) {
		return 0
	}
	c := s[i]
	switch {
	case c == '~':
		return -1
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		return int(c)
	default:
		return int(c) + 256
	}
}

func compareNonDigits(a, b string) int {
	for i := 0; i < len(a) || i < len(b); i++ {
		oa, ob := debOrder(a, i), debOrder(b, i)
		if oa != ob {
			if oa < ob {
				return -1
			}
			return 1
		}
	}
	return 0
}

// compareDigits compares decimal runs of any length without overflow.
func compareDigits(a, b string) int {
	a = strings.TrimLeft(a, "0")
	b = strings.TrimLeft(b, "0")
	if len(a) != len(b) {
		if len(a) < len(b) {
			return -1
		}
		return 1
	}
	return strings.Compare(a, b)
}
