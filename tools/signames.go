package tools

import (
	"fmt"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// SignalName is the signal's name as kill -l prints it ("SIGUSR1"), or
// "SIGRTMIN+N" for real-time signals.
func SignalName(sig int) string {
	if sig >= 34 && sig <= 64 {
		return fmt.Sprintf("SIGRTMIN+%d", sig-34)
	}
	if n := unix.SignalName(unix.Signal(sig)); n != "" {
		return n
	}
	return strconv.Itoa(sig)
}

// ParseSignal reads -s: a number, or a name with or without "SIG".
func ParseSignal(s string) (int, error) {
	if n, err := strconv.Atoi(s); err == nil {
		if n < 1 || n > 64 {
			return 0, fmt.Errorf("signal %d: want 1 to 64", n)
		}
		return n, nil
	}
	name := strings.ToUpper(s)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	if sig := unix.SignalNum(name); sig != 0 {
		return int(sig), nil
	}
	return 0, fmt.Errorf("signal %q: not a signal number (1-64) or name (USR1, SIGTERM, ...)", s)
}

// ParseErrno reads syscount -e: a number or a name (ENOENT).
func ParseErrno(s string) (int, error) {
	if n, err := strconv.Atoi(s); err == nil && n > 0 && n < 4096 {
		return n, nil
	}
	want := strings.ToUpper(s)
	for n := 1; n < 4096; n++ {
		if unix.ErrnoName(syscall.Errno(n)) == want {
			return n, nil
		}
	}
	return 0, fmt.Errorf("errno %q: want a number (2) or a name (ENOENT)", s)
}
