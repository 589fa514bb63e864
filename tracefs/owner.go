package tracefs

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// ownerPrefix starts every group and instance tracelet creates.
const ownerPrefix = "tracelet_"

// OwnerGroup is the group name for events owned by process pid.
func OwnerGroup(pid int) string { return ownerPrefix + strconv.Itoa(pid) }

// ParseOwnerGroup accepts "tracelet_<pid>" and "tracelet_<pid>_<suffix>"
// (the suffix being a non-empty run of name characters) and returns pid.
func ParseOwnerGroup(name string) (pid int, ok bool) {
	rest, found := strings.CutPrefix(name, ownerPrefix)
	if !found {
		return 0, false
	}
	digits, suffix, hasSuffix := strings.Cut(rest, "_")
	if digits == "" || len(digits) > 10 || digits[0] == '0' {
		return 0, false
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return 0, false
		}
	}
	if hasSuffix {
		if suffix == "" {
			return 0, false
		}
		for i := 0; i < len(suffix); i++ {
			c := suffix[i]
			if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
				return 0, false
			}
		}
	}
	n, err := strconv.Atoi(digits)
	if err != nil || n <= 0 || n > 1<<22 {
		return 0, false // PID_MAX_LIMIT is 4194304
	}
	return n, true
}

// ownerAlive decides whether the owner of a group still runs.
//
// Only the pid is encoded in the name, and liveness is kill(pid, 0) plus a
// look at /proc/<pid>/stat to treat a zombie as dead. If the pid was reused
// by an unrelated process, the group is kept until that process exits:
// with pid reuse the safe mistake is leaking a stale group for a while,
// never removing the probes of a live tracelet. We deliberately do not
// check the comm ("tracelet", or a test binary's name), since library users
// and tests have other names and would lose their live probes.
//
// The pid is in the pid namespace of the process that created the group;
// tracefs is global, so run the sweep in the same pid namespace as the
// tracelets that created the groups.
func ownerAlive(pid int) bool {
	if pid == os.Getpid() {
		return true
	}
	err := unix.Kill(pid, 0)
	if err == unix.ESRCH {
		return false
	}
	if b, rerr := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat"); rerr == nil {
		// "pid (comm) S ...": comm may hold ')' so take the last one.
		if i := strings.LastIndexByte(string(b), ')'); i >= 0 && i+2 < len(b) {
			if st := b[i+2]; st == 'Z' || st == 'X' {
				return false
			}
		}
	}
	return true // alive, or EPERM: exists but is not ours to signal
}

// SweepReport says what Sweep removed and what it left alone.
type SweepReport struct {
	Groups    []string // removed groups of dead owners
	Events    []string // removed events, as GROUP/EVENT
	Instances []string // removed instances of dead owners
	Live      []string // owner groups and instances kept because the owner runs
}

// Sweep removes the dynamic-event groups and instances left behind by
// tracelet processes that died without cleaning up (SIGKILL). Only names
// that parse as tracelet owner groups are considered, and only those whose
// owner pid is dead are touched: first their instances are disabled and
// removed, then each event of a dead group is disabled at the top level and
// in every instance, its triggers cleared, and removed.
func (fs *FS) Sweep() (SweepReport, error) {
	return fs.sweep(nil)
}

// sweep considers only owners for which match returns true (all if nil).
// Tests use it to sweep only their own children, so that concurrent test
// binaries sweeping the same kernel do not make reports nondeterministic.
func (fs *FS) sweep(match func(pid int) bool) (SweepReport, error) {
	var rep SweepReport
	var errs []error
	live := map[string]bool{}

	if ents, err := os.ReadDir(fs.path("instances")); err == nil {
		for _, e := range ents {
			pid, ok := ParseOwnerGroup(e.Name())
			if !ok || !e.IsDir() || match != nil && !match(pid) {
				continue
			}
			if ownerAlive(pid) {
				live[e.Name()] = true
				continue
			}
			if err := removeInstanceDir(fs, e.Name()); err != nil {
				errs = append(errs, err)
				continue
			}
			rep.Instances = append(rep.Instances, e.Name())
		}
	}

	// dynamic_events lists kprobes, uprobes, eprobes and synthetic events
	// together and removes any of them; older kernels (before 5.0) have
	// only the two separate files.
	files := []string{DynamicEvents}
	if !fs.Has(DynamicEvents) {
		files = nil
		for _, f := range []string{KprobeEvents, UprobeEvents} {
			if fs.Has(f) {
				files = append(files, f)
			}
		}
	}
	for _, file := range files {
		evs, err := fs.DynamicEvents(file)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		dead := map[string]bool{}
		for _, ev := range evs {
			pid, ok := ParseOwnerGroup(ev.Group)
			if !ok || match != nil && !match(pid) {
				continue
			}
			if ownerAlive(pid) {
				live[ev.Group] = true
				continue
			}
			dead[ev.Group] = true
			if err := fs.quiesceEvent(ev.Group, ev.Event); err != nil {
				errs = append(errs, err)
			}
			if err := fs.RemoveDynamicEvent(file, ev.Group, ev.Event); err != nil && !errors.Is(err, ErrNotFound) {
				errs = append(errs, err)
				continue
			}
			rep.Events = append(rep.Events, ev.Group+"/"+ev.Event)
		}
		for g := range dead {
			rep.Groups = append(rep.Groups, g)
		}
	}
	for n := range live {
		rep.Live = append(rep.Live, n)
	}
	sort.Strings(rep.Groups)
	sort.Strings(rep.Live)
	if err := errors.Join(errs...); err != nil {
		return rep, fmt.Errorf("tracefs: sweep: %w", err)
	}
	return rep, nil
}
