package tracefs

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Systems lists the event systems (directories under events/).
func (fs *FS) Systems() ([]string, error) {
	return listDirs(fs.path("events"))
}

// Events lists the events of a system.
func (fs *FS) Events(system string) ([]string, error) {
	if err := checkPathElem("system", system); err != nil {
		return nil, err
	}
	return listDirs(fs.path(filepath.Join("events", system)))
}

func listDirs(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		if e.IsDir() {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out, nil
}

// checkPathElem keeps a system or event name from walking out of events/.
func checkPathElem(what, s string) error {
	if s == "" || s == "." || s == ".." || strings.ContainsAny(s, "/\x00\n") {
		return fmt.Errorf("tracefs: bad %s name %q", what, s)
	}
	return nil
}

func eventFile(dir, system, event, file string) string {
	return filepath.Join(dir, "events", system, event, file)
}

// EventID reads events/SYSTEM/EVENT/id, the value of common_type in its
// records and the perf tracepoint config.
func (fs *FS) EventID(system, event string) (uint32, error) {
	if err := checkEvent(system, event); err != nil {
		return 0, err
	}
	b, err := readSmall(eventFile(fs.root, system, event, "id"), 64)
	if err != nil {
		return 0, err
	}
	id, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 32)
	if err != nil {
		return 0, fmt.Errorf("tracefs: id of %s/%s: %w", system, event, err)
	}
	return uint32(id), nil
}

// Format reads and parses events/SYSTEM/EVENT/format.
func (fs *FS) Format(system, event string) (*Format, error) {
	if err := checkEvent(system, event); err != nil {
		return nil, err
	}
	b, err := readSmall(eventFile(fs.root, system, event, "format"), maxFormatSize)
	if err != nil {
		return nil, err
	}
	f, err := ParseFormat(b)
	if err != nil {
		return nil, fmt.Errorf("tracefs: format of %s/%s: %w", system, event, err)
	}
	f.System = system
	return f, nil
}

func checkEvent(system, event string) error {
	if err := checkPathElem("system", system); err != nil {
		return err
	}
	return checkPathElem("event", event)
}

// Enable turns on system/event at the top level (the global buffer and
// perf users). Prefer an Instance for tracing into a ring.
func (fs *FS) Enable(system, event string) error { return setEnable(fs.root, system, event, true) }

// Disable turns off system/event at the top level.
func (fs *FS) Disable(system, event string) error { return setEnable(fs.root, system, event, false) }

// SetFilter sets the filter of system/event at the top level. A filter the
// kernel rejects gives a *FilterError with the kernel's reason and column.
func (fs *FS) SetFilter(system, event, expr string) error {
	return setFilter(fs.root, system, event, expr)
}

// ClearFilter removes the filter of system/event (writes "0").
func (fs *FS) ClearFilter(system, event string) error {
	return setFilter(fs.root, system, event, "0")
}

// AddTrigger adds a trigger ("traceoff", "stacktrace:5 if pid == 1", ...)
// to system/event at the top level. The trigger file is opened for append:
// O_TRUNC would remove every trigger.
func (fs *FS) AddTrigger(system, event, trigger string) error {
	return addTrigger(fs.root, system, event, trigger)
}

// RemoveTrigger removes a trigger by writing "!TRIGGER".
func (fs *FS) RemoveTrigger(system, event, trigger string) error {
	return removeTrigger(fs.root, system, event, trigger)
}

// Triggers lists the triggers of system/event at the top level.
func (fs *FS) Triggers(system, event string) ([]string, error) {
	if err := checkEvent(system, event); err != nil {
		return nil, err
	}
	return readTriggers(eventFile(fs.root, system, event, "trigger"))
}

func setEnable(dir, system, event string, on bool) error {
	if err := checkEvent(system, event); err != nil {
		return err
	}
	v := "0"
	if on {
		v = "1"
	}
	p := eventFile(dir, system, event, "enable")
	if err := writeOnce(p, v); err != nil {
		return &WriteError{File: rel(dir, p), Def: v, Err: err}
	}
	return nil
}

func rel(dir, p string) string {
	if r, err := filepath.Rel(dir, p); err == nil {
		return r
	}
	return p
}

// FilterError is a filter the kernel rejected. After a failed write the
// kernel leaves the expression, a caret line and "parse_error: REASON" in
// the event's filter file; Reason and Column come from there.
type FilterError struct {
	System, Event string
	Expr          string
	Reason        string
	Column        int // 0-based offset into Expr, -1 if unknown
	Err           error
}

func (e *FilterError) Error() string {
	s := fmt.Sprintf("tracefs: filter %q on %s/%s: %v", e.Expr, e.System, e.Event, e.Err)
	if e.Reason != "" {
		s += ": " + e.Reason
		if e.Column >= 0 {
			s += fmt.Sprintf(" at col %d", e.Column)
		}
	}
	return s
}

func (e *FilterError) Unwrap() error { return e.Err }

func setFilter(dir, system, event, expr string) error {
	if err := checkEvent(system, event); err != nil {
		return err
	}
	if err := CheckFilter(expr); err != nil {
		return err
	}
	p := eventFile(dir, system, event, "filter")
	err := writeOnce(p, expr)
	if err == nil {
		return nil
	}
	fe := &FilterError{System: system, Event: event, Expr: expr, Column: -1, Err: err}
	if b, rerr := readSmall(p, 64<<10); rerr == nil {
		fe.Reason, fe.Column = ParseFilterError(b)
	}
	return fe
}

// CheckFilter is what every filter must pass before it is written to a
// filter file or set with PERF_EVENT_IOC_SET_FILTER: one expression, with
// '&&' and '||' to combine conditions. A newline or NUL would end it early
// or start another, and the filter grammar has no ';' (only a quoted string
// constant could hold one, and ~ "a?b" matches it there); refusing it
// keeps filters as safe as triggers, which embed them after "if".
func CheckFilter(expr string) error {
	if strings.TrimSpace(expr) == "" {
		return fmt.Errorf("tracefs: empty filter (use ClearFilter)")
	}
	if len(expr) >= maxCommand {
		return fmt.Errorf("tracefs: filter is %d bytes; at most %d", len(expr), maxCommand-1)
	}
	if i := strings.IndexAny(expr, "\n\r\x00"); i >= 0 {
		return fmt.Errorf("tracefs: filter %q: col %d: %q is not allowed (a filter is one line; combine conditions with && or ||)", expr, i, expr[i])
	}
	if i := strings.IndexByte(expr, ';'); i >= 0 {
		return fmt.Errorf("tracefs: filter %q: col %d: ';' is not allowed (the filter grammar has none: combine conditions with && or ||, and match a ';' in a string with ~ and '?')", expr, i)
	}
	return nil
}

// ParseFilterError reads what the kernel leaves in a filter file after a
// rejected filter:
//
//	nosuch > 1
//	       ^
//	parse_error: Field not found
func ParseFilterError(b []byte) (reason string, column int) {
	column = -1
	lines := strings.Split(string(b), "\n")
	for i, l := range lines {
		if r, ok := strings.CutPrefix(l, "parse_error: "); ok {
			reason = strings.TrimSpace(r)
			if i > 0 {
				c := lines[i-1]
				if k := strings.IndexByte(c, '^'); k >= 0 && strings.TrimSpace(c) == "^" {
					column = k
				}
			}
			return reason, column
		}
	}
	return "", -1
}

func addTrigger(dir, system, event, trigger string) error {
	if err := checkEvent(system, event); err != nil {
		return err
	}
	if err := checkCommand("trigger", trigger); err != nil {
		return err
	}
	if strings.HasPrefix(strings.TrimSpace(trigger), "!") {
		return fmt.Errorf("tracefs: trigger %q starts with '!', which removes a trigger (use RemoveTrigger)", trigger)
	}
	p := eventFile(dir, system, event, "trigger")
	if err := writeOnce(p, trigger); err != nil {
		return &WriteError{File: rel(dir, p), Def: trigger, Err: err}
	}
	return nil
}

func removeTrigger(dir, system, event, trigger string) error {
	if err := checkEvent(system, event); err != nil {
		return err
	}
	trigger = strings.TrimPrefix(strings.TrimSpace(trigger), "!")
	if err := checkCommand("trigger", trigger); err != nil {
		return err
	}
	p := eventFile(dir, system, event, "trigger")
	if err := writeOnce(p, "!"+trigger); err != nil {
		return &WriteError{File: rel(dir, p), Def: "!" + trigger, Err: err}
	}
	return nil
}
