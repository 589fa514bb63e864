package tracefs

import (
	"strings"
)

// ErrorLogEntry is one entry of tracefs error_log (Linux 5.4), written by
// tracing_log_err:
//
//	[  123.456789] trace_uprobe: error: Invalid register name
//	  Command: p:grp/ev /bin/x:0x10 a=%zz
//	                                  ^
type ErrorLogEntry struct {
	Timestamp string // seconds since boot, as printed
	Location  string // e.g. "trace_kprobe", "trace_uprobe", "hist:sched:sched_switch"
	Message   string
	Command   string // the command as the kernel logged it (arguments joined by single spaces)
	Column    int    // 0-based offset of the caret into Command, -1 if none
}

const errorLogCmdPrefix = "  Command: "

// ReadErrorLog reads and parses error_log. The log is a ring of the last
// few (16) errors of all tracefs users; it is never cleared here, since
// clearing it would lose other tools' messages.
func (fs *FS) ReadErrorLog() ([]ErrorLogEntry, error) {
	b, err := readSmall(fs.path("error_log"), 1<<20)
	if err != nil {
		return nil, err
	}
	return ParseErrorLog(b), nil
}

// ParseErrorLog parses the text of error_log. Lines it does not understand
// are skipped.
func ParseErrorLog(b []byte) []ErrorLogEntry {
	var out []ErrorLogEntry
	lines := strings.Split(string(b), "\n")
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		if !strings.HasPrefix(l, "[") {
			continue
		}
		end := strings.Index(l, "] ")
		if end < 0 {
			continue
		}
		e := ErrorLogEntry{Timestamp: strings.TrimSpace(l[1:end]), Column: -1}
		rest := l[end+2:]
		if j := strings.Index(rest, ": error: "); j >= 0 {
			e.Location, e.Message = rest[:j], rest[j+len(": error: "):]
		} else {
			e.Message = rest
		}
		if i+1 < len(lines) && strings.HasPrefix(lines[i+1], errorLogCmdPrefix) {
			e.Command = lines[i+1][len(errorLogCmdPrefix):]
			i++
			if i+1 < len(lines) {
				c := lines[i+1]
				if k := strings.IndexByte(c, '^'); k >= 0 && strings.TrimSpace(c) == "^" {
					e.Column = k - len(errorLogCmdPrefix)
					i++
				}
			}
		}
		out = append(out, e)
	}
	return out
}

// findErrorLog returns the newest entry whose command is cmd (compared with
// whitespace normalized, as the kernel logs argv joined by spaces).
func findErrorLog(entries []ErrorLogEntry, cmd string) *ErrorLogEntry {
	want := strings.Join(strings.Fields(cmd), " ")
	for i := len(entries) - 1; i >= 0; i-- {
		if strings.Join(strings.Fields(entries[i].Command), " ") == want {
			e := entries[i]
			return &e
		}
	}
	return nil
}
