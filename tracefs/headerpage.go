package tracefs

import (
	"fmt"
	"strconv"
	"strings"
)

// RingCommitSize returns the size of the commit field (local_t, the
// kernel's long) of the kernel's ring-buffer pages, from events/header_page:
//
//	field: local_t commit;	offset:8;	size:8;	signed:1;
//
// It is the kernel's word size, not tracelet's: a 32-bit tracelet on a
// 64-bit kernel (i386 or armv7 user space, common on boards with arm64
// kernels) reads 8-byte commits. When the file cannot be read it returns the
// RingCommitSize constant, which is right when the word sizes agree.
func (fs *FS) RingCommitSize() int {
	b, err := readSmall(fs.path("events/header_page"), 4096)
	if err != nil {
		return RingCommitSize
	}
	if n, ok := parseCommitSize(string(b)); ok {
		return n
	}
	return RingCommitSize
}

func parseCommitSize(headerPage string) (int, bool) {
	for _, l := range strings.Split(headerPage, "\n") {
		if !strings.Contains(l, " commit;") {
			continue
		}
		for _, f := range strings.Split(l, ";") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(f), "size:"); ok {
				n, err := strconv.Atoi(v)
				if err == nil && (n == 4 || n == 8) {
					return n, true
				}
			}
		}
	}
	return 0, false
}

// ParseRingPageCommit is ParseRingPage for pages whose commit field has
// commitSize bytes (FS.RingCommitSize): 4 or 8.
func ParseRingPageCommit(page []byte, commitSize int, fn func(RingEvent) error) (RingPage, error) {
	if commitSize != 4 && commitSize != 8 {
		return RingPage{}, fmt.Errorf("tracefs: ring page commit field of %d bytes: want 4 or 8", commitSize)
	}
	return parseRingPage(page, commitSize, fn)
}
