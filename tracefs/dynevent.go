package tracefs

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/tracelet/tracelet/kprobeevents"
)

// Dynamic-event control files.
const (
	KprobeEvents  = "kprobe_events"
	UprobeEvents  = "uprobe_events"
	DynamicEvents = "dynamic_events"
)

// DynamicEvent is one line of kprobe_events, uprobe_events or
// dynamic_events, minimally parsed: the kprobeevents package parses the
// rest of Raw.
type DynamicEvent struct {
	Type  string // "p", "r", "r10", "e", "f", "t", "s"... (before the ':')
	Group string
	Event string
	Raw   string
}

// AddDynamicEvent writes one definition to file (kprobe_events,
// uprobe_events or dynamic_events). def must already be validated by the
// grammar; it is still refused here if it holds a newline, CR, NUL or ';',
// or is 4 KiB or longer. On failure the error is a *WriteError carrying the
// kernel's error_log entry for this command, when there is one.
func (fs *FS) AddDynamicEvent(file, def string) error {
	if err := checkControlFile(file); err != nil {
		return err
	}
	if err := checkCommand("definition", def); err != nil {
		return err
	}
	if file == KprobeEvents {
		_, err := fs.addKprobeEvent(def)
		return err
	}
	if file == UprobeEvents && KernelArch() == kprobeevents.ArchMIPS {
		def = mipsUretprobeRetval(def)
	}
	return fs.writeCommand(file, def)
}

// mipsUretprobeRetval reads a MIPS uretprobe's return value from v0 (%r2)
// instead of $retval. The kernel's $retval is regs_return_value, which on
// MIPS takes a3 as a system call's error flag and negates v0 whenever a3 is
// not 0 in user mode: after an ordinary function returns, a3 is whatever
// the function left there (the 6.1 mipsel guest read 2634344180 for a
// return of 1660623116, and 244 for 12).
func mipsUretprobeRetval(def string) string {
	if !strings.HasPrefix(def, "r") {
		return def
	}
	return strings.ReplaceAll(def, "$retval", "%r2")
}

// RemoveDynamicEvent writes "-:GROUP/EVENT" to file. An enabled event gives
// ErrBusy; RemoveGroup disables first.
func (fs *FS) RemoveDynamicEvent(file, group, event string) error {
	if err := checkControlFile(file); err != nil {
		return err
	}
	if err := checkName("group", group); err != nil {
		return err
	}
	if err := checkName("event", event); err != nil {
		return err
	}
	return fs.writeCommand(file, "-:"+group+"/"+event)
}

func (fs *FS) writeCommand(file, cmd string) error {
	err := writeOnce(fs.path(file), cmd)
	if err == nil {
		return nil
	}
	we := &WriteError{File: file, Def: cmd, Err: err}
	if entries, lerr := fs.ReadErrorLog(); lerr == nil {
		we.Log = findErrorLog(entries, cmd)
	}
	return we
}

func checkControlFile(file string) error {
	switch file {
	case KprobeEvents, UprobeEvents, DynamicEvents:
		return nil
	}
	return fmt.Errorf("tracefs: %q is not a dynamic-event file (want %s, %s or %s)", file, KprobeEvents, UprobeEvents, DynamicEvents)
}

// maxNameLen is MAX_EVENT_NAME_LEN in kernel/trace/trace_probe.h.
const maxNameLen = 64

// checkName applies the kernel's rule for group and event names
// (is_good_name: a C identifier) and its length limit.
func checkName(what, s string) error {
	if s == "" {
		return fmt.Errorf("tracefs: empty %s name", what)
	}
	if len(s) >= maxNameLen {
		return fmt.Errorf("tracefs: %s name %q is %d characters; the kernel allows %d", what, s, len(s), maxNameLen-1)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9'
		if !ok {
			return fmt.Errorf("tracefs: %s name %q: col %d: %q is not allowed (letters, digits and '_', not starting with a digit)", what, s, i, c)
		}
	}
	return nil
}

// DynamicEvents lists the lines of file (kprobe_events, uprobe_events or
// dynamic_events).
func (fs *FS) DynamicEvents(file string) ([]DynamicEvent, error) {
	if err := checkControlFile(file); err != nil {
		return nil, err
	}
	b, err := readSmall(fs.path(file), 64<<20)
	if err != nil {
		return nil, err
	}
	return ParseDynamicEvents(b), nil
}

// ParseDynamicEvents splits the text of a dynamic-event file into lines of
// the form "X[:GRP/EVENT] ...". The kernel always prints the group.
func ParseDynamicEvents(b []byte) []DynamicEvent {
	var out []DynamicEvent
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), " ")
		if line == "" || line[0] == '#' {
			continue
		}
		ev := DynamicEvent{Raw: line}
		head, _, _ := strings.Cut(line, " ")
		if typ, name, ok := strings.Cut(head, ":"); ok {
			ev.Type = typ
			if g, e, ok := strings.Cut(name, "/"); ok {
				ev.Group, ev.Event = g, e
			} else {
				ev.Event = name
			}
		} else {
			// Synthetic events on older kernels: "name field; ..."
			ev.Event = head
		}
		out = append(out, ev)
	}
	return out
}

// RemoveGroup removes every event of one of our own groups from file:
// each event is first disabled at the top level and in every instance and
// its triggers are cleared, because the kernel refuses to remove an enabled
// event (EBUSY). Groups that are not tracelet owner groups are refused.
func (fs *FS) RemoveGroup(file, group string) error {
	if _, ok := ParseOwnerGroup(group); !ok {
		return fmt.Errorf("tracefs: refusing to remove group %q: not a tracelet owner group (tracelet_<pid>[_suffix])", group)
	}
	evs, err := fs.DynamicEvents(file)
	if err != nil {
		return err
	}
	var errs []error
	for _, ev := range evs {
		if ev.Group != group {
			continue
		}
		if err := fs.quiesceEvent(group, ev.Event); err != nil {
			errs = append(errs, err)
		}
		if err := fs.RemoveDynamicEvent(file, group, ev.Event); err != nil && !errors.Is(err, ErrNotFound) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// quiesceEvent disables system/event and clears its triggers at the top
// level and in every instance.
func (fs *FS) quiesceEvent(system, event string) error {
	dirs := []string{fs.root}
	if ents, err := os.ReadDir(fs.path("instances")); err == nil {
		for _, e := range ents {
			if e.IsDir() {
				dirs = append(dirs, filepath.Join(fs.root, "instances", e.Name()))
			}
		}
	}
	var errs []error
	for _, d := range dirs {
		evdir := filepath.Join(d, "events", system, event)
		if _, err := os.Stat(evdir); err != nil {
			continue
		}
		if err := clearTriggers(evdir); err != nil && !vanished(err) {
			errs = append(errs, err)
		}
		if err := writeOnce(filepath.Join(evdir, "enable"), "0"); err != nil && !vanished(err) {
			errs = append(errs, fmt.Errorf("tracefs: disabling %s: %w", evdir, err))
		}
	}
	return errors.Join(errs...)
}

// vanished reports an error that means the file went away under us: an
// instance that its owner removed while we walked it answers ENODEV on the
// files it still had open in eventfs, and ENOENT once it is gone.
func vanished(err error) bool {
	return os.IsNotExist(err) || errors.Is(err, unix.ENODEV)
}

// clearTriggers removes every trigger of the event in evdir by writing
// "!TRIGGER" for each line of its trigger file (never O_TRUNC, which would
// be a blunter tool than we need).
func clearTriggers(evdir string) error {
	trigs, err := readTriggers(filepath.Join(evdir, "trigger"))
	if err != nil {
		if os.IsNotExist(err) {
			return nil
		}
		return err
	}
	var errs []error
	for _, t := range trigs {
		if err := writeOnce(filepath.Join(evdir, "trigger"), "!"+t); err != nil {
			errs = append(errs, fmt.Errorf("tracefs: removing trigger %q of %s: %w", t, evdir, err))
		}
	}
	return errors.Join(errs...)
}

// readTriggers lists the active triggers of a trigger file. The kernel
// prints "# Available triggers:" when there are none, and appends state
// like " [active]" or ":count=N"/":unlimited" to hist and counted triggers.
func readTriggers(path string) ([]string, error) {
	b, err := readSmall(path, 1<<20)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || l[0] == '#' {
			continue
		}
		l = strings.TrimSuffix(l, " [active]")
		l = strings.TrimSuffix(l, " [paused]")
		out = append(out, l)
	}
	return out, nil
}
