package tracefs

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/sys/unix"
)

// Sentinels for the errnos a write to a dynamic-event file can return. A
// *WriteError matches them with errors.Is, and also matches the raw errno
// (errors.Is(err, unix.EBUSY)) and, for ENOENT, fs.ErrNotExist.
var (
	// ErrNotFound: ENOENT. The probed file, symbol, or the event to remove
	// does not exist (before 6.11 also a kprobe on a missing symbol).
	ErrNotFound = errors.New("no such file, symbol or event")
	// ErrInvalid: EINVAL. The definition was rejected; since Linux 6.11 this
	// is also what a kprobe on a missing symbol gives. error_log says why.
	ErrInvalid = errors.New("definition rejected as invalid (since Linux 6.11 also: symbol not found)")
	// ErrBadBoundary: EILSEQ. A kprobe address is not on an instruction boundary.
	ErrBadBoundary = errors.New("probe address is not on an instruction boundary")
	// ErrOutOfRange: ERANGE. A kprobe offset lies past the end of the function.
	ErrOutOfRange = errors.New("probe offset is past the end of the function")
	// ErrBusy: EBUSY. The event is enabled or in use (perf, BPF, an
	// instance); disable it and close its users before removing it.
	ErrBusy = errors.New("event is enabled or in use; disable it first")
	// ErrExist: EEXIST. An event of that name already exists in the group.
	ErrExist = errors.New("event already exists")
	// ErrPermission: EPERM or EACCES. Not allowed (not root, lockdown).
	ErrPermission = errors.New("not permitted")
)

// errnoSentinel maps an errno from a control-file write to its sentinel.
func errnoSentinel(err error) error {
	var errno unix.Errno
	if !errors.As(err, &errno) {
		return nil
	}
	switch errno {
	case unix.ENOENT:
		return ErrNotFound
	case unix.EINVAL:
		return ErrInvalid
	case unix.EILSEQ:
		return ErrBadBoundary
	case unix.ERANGE:
		return ErrOutOfRange
	case unix.EBUSY:
		return ErrBusy
	case unix.EEXIST:
		return ErrExist
	case unix.EPERM, unix.EACCES:
		return ErrPermission
	}
	return nil
}

// WriteError is a failed write of one command to a tracefs control file. It
// wraps the errno; Log is the kernel's error_log entry for this command,
// when the kernel wrote one.
type WriteError struct {
	File string // control file, relative to the tracefs root
	Def  string // the command written
	Err  error  // the errno (or another cause)
	Log  *ErrorLogEntry
}

func (e *WriteError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "tracefs: writing %q to %s: %v", e.Def, e.File, e.Err)
	if s := errnoSentinel(e.Err); s != nil {
		fmt.Fprintf(&b, " (%v)", s)
	}
	if e.Log != nil {
		fmt.Fprintf(&b, ": %s: %s", e.Log.Location, e.Log.Message)
		if c := e.Column(); c >= 0 && c <= len(e.Def) {
			fmt.Fprintf(&b, " at col %d (%s ^ %s)", c, e.Def[:c], e.Def[c:])
		}
	}
	return b.String()
}

func (e *WriteError) Unwrap() error { return e.Err }

// Is matches the sentinels above.
func (e *WriteError) Is(target error) bool {
	s := errnoSentinel(e.Err)
	return s != nil && s == target
}

// Column is the 0-based byte offset into Def that the kernel blamed, or -1.
// The kernel logs the command with its arguments joined by single spaces,
// so the column is mapped back onto Def as written.
func (e *WriteError) Column() int {
	if e.Log == nil || e.Log.Column < 0 {
		return -1
	}
	return mapNormalizedColumn(e.Def, e.Log.Column)
}

// mapNormalizedColumn maps a column in strings.Join(strings.Fields(def), " ")
// to the same character in def.
func mapNormalizedColumn(def string, col int) int {
	fields := fieldSpans(def)
	pos := 0
	for i, f := range fields {
		if i > 0 {
			pos++ // the single space
		}
		l := f[1] - f[0]
		if col < pos+l {
			if col < pos {
				return f[0] - 1
			}
			return f[0] + col - pos
		}
		pos += l
	}
	if len(fields) == 0 {
		return col
	}
	return fields[len(fields)-1][1] + (col - pos)
}

func fieldSpans(s string) [][2]int {
	var spans [][2]int
	start := -1
	for i := 0; i < len(s); i++ {
		sp := s[i] == ' ' || s[i] == '\t'
		if !sp && start < 0 {
			start = i
		} else if sp && start >= 0 {
			spans = append(spans, [2]int{start, i})
			start = -1
		}
	}
	if start >= 0 {
		spans = append(spans, [2]int{start, len(s)})
	}
	return spans
}

// checkCommand refuses anything that could smuggle a second command into a
// control file: the kernel splits writes at newlines (and the boot syntax at
// ';'), and a NUL ends the string early. The grammar package validates
// definitions properly; this is defence in depth.
func checkCommand(what, s string) error {
	if strings.TrimSpace(s) == "" {
		return fmt.Errorf("tracefs: empty %s", what)
	}
	if len(s) >= maxCommand {
		return fmt.Errorf("tracefs: %s is %d bytes; the kernel parses at most %d per write", what, len(s), maxCommand-1)
	}
	if i := strings.IndexAny(s, "\n\r\x00;"); i >= 0 {
		return fmt.Errorf("tracefs: %s %q: col %d: %q is not allowed (it could start a second command)", what, s, i, s[i])
	}
	return nil
}

// maxCommand: trace_parse_run_command reads writes through a 4 KiB
// (WRITE_BUFSIZE) buffer and rejects longer lines.
const maxCommand = 4096
