package guest

import (
	"errors"
	"strings"
	"syscall"
	"testing"

	"github.com/tracelet/tracelet/kprobeevents"
	"github.com/tracelet/tracelet/tracefs"
)

// kernelVersion returns (major, minor) of the running kernel.
func kernelVersion(t *testing.T) (int, int) {
	k, err := kprobeevents.ParseKernel(release(t))
	if err != nil {
		t.Fatal(err)
	}
	return k.Major, k.Minor
}

// TestErrorLogCaret writes malformed definitions and checks that the kernel
// rejects each with the expected errno and that its error_log entry quotes
// the definition with the caret under the offending token.
func TestErrorLogCaret(t *testing.T) {
	fs, abi, group := setup(t)
	a1, a2 := argN(abi)
	maj, min := kernelVersion(t)
	// Since 6.11 a missing symbol is EINVAL; before, ENOENT.
	missingSym := syscall.ENOENT
	if maj > 6 || maj == 6 && min >= 11 {
		missingSym = syscall.EINVAL
	}
	for _, c := range []struct {
		name, def, token string
		errno            syscall.Errno
	}{
		{"maxactive on kprobe", "p1:" + group + "/e do_sys_openat2", "1:", syscall.EINVAL},
		{"retval on kprobe", "p:" + group + "/e do_sys_openat2 r=$retval", "$retval", syscall.EINVAL},
		{"bad register", "p:" + group + "/e do_sys_openat2 a=%nosuchreg", "%nosuchreg", syscall.EINVAL},
		{"bad type", "p:" + group + "/e do_sys_openat2 a=" + a1 + ":u7", "u7", syscall.EINVAL},
		{"used arg name", "p:" + group + "/e do_sys_openat2 a=" + a1 + " a=" + a2, "a=" + a2, syscall.EINVAL},
		{"missing symbol", "p:" + group + "/e no_such_function_tracelet", "no_such_function_tracelet", missingSym},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := fs.AddDynamicEvent(tracefs.KprobeEvents, c.def)
			if !errors.Is(err, c.errno) {
				t.Errorf("%q: %v, want %v", c.def, err, c.errno)
			}
			var we *tracefs.WriteError
			if !errors.As(err, &we) || we.Log == nil {
				t.Fatalf("no error_log entry for %q (%v)", c.def, err)
			}
			if want := strings.Index(c.def, c.token); we.Column() != want {
				t.Errorf("caret at column %d, want %d (under %q): %v", we.Column(), want, c.token, err)
			}
			if we.Log.Location != "trace_kprobe" || we.Log.Message == "" {
				t.Errorf("entry %+v: want a trace_kprobe error with a message", we.Log)
			}
		})
	}
	if evs := groupEvents(t, fs, group); len(evs) != 0 {
		t.Errorf("rejected definitions created %v", evs)
	}
}
