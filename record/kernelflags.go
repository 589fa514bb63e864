package record

import (
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// reschedLazy reports whether the running kernel's trace flags carry
// TRACE_FLAG_NEED_RESCHED_LAZY in bit 0x02 (Linux 6.13, which added lazy
// preemption and retired TRACE_FLAG_IRQS_NOSUPPORT). Nothing in tracefs
// announces the change, so the release decides; it is read once.
var reschedLazy = sync.OnceValue(func() bool {
	var u unix.Utsname
	if unix.Uname(&u) != nil {
		return true
	}
	return releaseAtLeast(unix.ByteSliceToString(u.Release[:]), 6, 13)
})

// releaseAtLeast compares the MAJOR.MINOR of a kernel release string
// ("6.1.0-56-cloud-amd64") with major.minor.
func releaseAtLeast(release string, major, minor int) bool {
	f := strings.FieldsFunc(release, func(r rune) bool { return r == '.' || r == '-' || r == '+' })
	if len(f) < 2 {
		return true
	}
	ma, err1 := strconv.Atoi(f[0])
	mi, err2 := strconv.Atoi(f[1])
	if err1 != nil || err2 != nil {
		return true
	}
	return ma > major || ma == major && mi >= minor
}
