package tools

import (
	"bufio"
	"fmt"
	"os"
	"path"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/tracelet/tracelet/bpf"
	"github.com/tracelet/tracelet/kprobeevents"
	"github.com/tracelet/tracelet/tracefs"
)

// TargetKind says what a function pattern names.
type TargetKind int

// Target kinds.
const (
	KprobeTarget TargetKind = iota
	UprobeTarget
	TracepointTarget
)

// Target is one probe point a pattern resolved to.
type Target struct {
	Kind   TargetKind
	Name   string // the function or SYSTEM:EVENT, for reports
	Binary string // uprobes: the file
	Offset uint64 // uprobes: file offset
	System string // tracepoints
	Event  string
}

// maxTargets bounds how many probes one pattern may create.
const maxTargets = 1000

// ResolvePattern turns a funccount/funclatency pattern into targets, in
// bcc's syntax: "t:SYSTEM:EVENT" (tracepoints), "u:LIB:FUNC" or "LIB:FUNC"
// (uprobes; LIB a path, a command or a library name, ":FUNC" the binary of
// process pid), "k:FUNC" or "FUNC" (kprobes). FUNC, SYSTEM and EVENT take
// shell wildcards (path.Match).
func ResolvePattern(pattern string, pid int) ([]Target, error) {
	if pattern == "" || strings.ContainsAny(pattern, " \t\n\r\x00;") {
		return nil, fmt.Errorf("pattern %q: want FUNC, LIB:FUNC, u:LIB:FUNC, k:FUNC or t:SYSTEM:EVENT, without spaces", pattern)
	}
	kind, rest := KprobeTarget, pattern
	switch {
	case strings.HasPrefix(pattern, "t:"):
		kind, rest = TracepointTarget, pattern[2:]
	case strings.HasPrefix(pattern, "u:"):
		kind, rest = UprobeTarget, pattern[2:]
	case strings.HasPrefix(pattern, "k:"):
		rest = pattern[2:]
	case strings.Contains(pattern, ":"):
		kind = UprobeTarget
	}
	var out []Target
	switch kind {
	case TracepointTarget:
		sys, ev, ok := strings.Cut(rest, ":")
		if !ok {
			return nil, fmt.Errorf("pattern %q: a tracepoint is t:SYSTEM:EVENT", pattern)
		}
		fs, err := tracefs.Find()
		if err != nil {
			return nil, err
		}
		systems, err := fs.Systems()
		if err != nil {
			return nil, err
		}
		for _, s := range systems {
			if m, _ := path.Match(sys, s); !m {
				continue
			}
			events, err := fs.Events(s)
			if err != nil {
				continue
			}
			for _, e := range events {
				if m, _ := path.Match(ev, e); m {
					out = append(out, Target{Kind: kind, Name: s + ":" + e, System: s, Event: e})
				}
			}
		}
	case UprobeTarget:
		i := strings.LastIndex(rest, ":")
		bin, fn := rest[:i], rest[i+1:]
		if bin == "" {
			if pid <= 0 {
				return nil, fmt.Errorf("pattern %q: :FUNC needs -p PID (it probes that process's binary)", pattern)
			}
			bin = "/proc/" + strconv.Itoa(pid) + "/exe"
			if p, err := os.Readlink(bin); err == nil {
				bin = p
			}
		}
		file, err := tracefs.ResolveBinary(bin)
		if err != nil {
			return nil, err
		}
		syms, err := tracefs.ListSymbols(file, fn)
		if err != nil {
			return nil, err
		}
		for _, s := range syms {
			out = append(out, Target{Kind: kind, Name: s.Name, Binary: file, Offset: s.Offset})
		}
	case KprobeTarget:
		fns, err := kernelFunctions(rest)
		if err != nil {
			return nil, err
		}
		for _, f := range fns {
			out = append(out, Target{Kind: kind, Name: f})
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("pattern %q matches nothing", pattern)
	}
	if len(out) > maxTargets {
		return nil, fmt.Errorf("pattern %q matches %d functions; at most %d", pattern, len(out), maxTargets)
	}
	return out, nil
}

// kernelFunctions lists the traceable kernel functions matching glob, from
// available_filter_functions (read line by line: it can be megabytes). When
// that file cannot be read (no CONFIG_DYNAMIC_FTRACE, or refused under
// lockdown) or lists no match, the text symbols of /proc/kallsyms stand in:
// a kprobe does not need ftrace, and the kernel refuses the few symbols it
// cannot probe when the probe is defined.
func kernelFunctions(glob string) ([]string, error) {
	fs, err := tracefs.Find()
	if err != nil {
		return nil, err
	}
	if !fs.Has("kprobe_events") {
		return nil, fmt.Errorf("kprobe %q: this kernel has no kprobes (CONFIG_KPROBE_EVENTS); use u:LIB:FUNC or t:SYSTEM:EVENT: %w", glob, bpf.ErrNotSupported)
	}
	if !strings.ContainsAny(glob, "*?[") {
		return []string{glob}, nil
	}
	if _, err := path.Match(glob, ""); err != nil {
		return nil, fmt.Errorf("kprobe pattern %q: %w", glob, err)
	}
	out, err := matchSymbolFile(fs.Root()+"/available_filter_functions", glob, func(line string) (string, bool) {
		name, _, _ := strings.Cut(line, " ")
		return name, true
	})
	if err == nil && len(out) > 0 {
		return out, nil
	}
	return matchSymbolFile("/proc/kallsyms", glob, func(line string) (string, bool) {
		// ADDRESS TYPE NAME [MODULE]
		f := strings.Fields(line)
		if len(f) < 3 || (f[1] != "t" && f[1] != "T") {
			return "", false
		}
		return f[2], true
	})
}

// matchSymbolFile scans a symbol listing for names matching glob, each
// once, leaving out compiler-made local copies (name.isra.0, .cold): they
// are not the function the user named. At most maxTargets+1 are returned.
func matchSymbolFile(file, glob string, name func(string) (string, bool)) ([]string, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	seen := map[string]bool{}
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		n, ok := name(sc.Text())
		if !ok || seen[n] || strings.Contains(n, ".") {
			continue
		}
		if m, _ := path.Match(glob, n); m {
			seen[n] = true
			out = append(out, n)
			if len(out) > maxTargets {
				break
			}
		}
	}
	return out, sc.Err()
}

// addProbe defines an entry (or return) probe for t in our group and
// returns its event name. The definition goes through the grammar first.
func (s *session) addTargetProbe(t Target, ret bool) (string, error) {
	name := s.probeName("f")
	typ := "p"
	if ret {
		typ = "r"
	}
	var def, file string
	switch t.Kind {
	case UprobeTarget:
		def = fmt.Sprintf("%s:%s/%s %s:%#x", typ, s.group, name, t.Binary, t.Offset)
		file = tracefs.UprobeEvents
	case KprobeTarget:
		def = fmt.Sprintf("%s:%s/%s %s", typ, s.group, name, t.Name)
		file = tracefs.KprobeEvents
	default:
		return "", fmt.Errorf("%s is not a probe point", t.Name)
	}
	if _, err := tracefs.ParseSpec(def, probeOptions(), s.group); err != nil {
		return "", err
	}
	if err := s.addProbe(file, def); err != nil {
		return "", err
	}
	return name, nil
}

func probeOptions() kprobeevents.Options {
	opts := kprobeevents.Options{Arch: tracefs.KernelArch()}
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		if k, err := kprobeevents.ParseKernel(unix.ByteSliceToString(u.Release[:])); err == nil {
			opts.Kernel = k
		}
	}
	return opts
}
