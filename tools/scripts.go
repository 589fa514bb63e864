package tools

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"sort"
	"strconv"
	"strings"

	"github.com/tracelet/tracelet/metrics"
	"github.com/tracelet/tracelet/script"
	"github.com/tracelet/tracelet/scriptrun"
)

// Script tools are tracelet scripts (package script's language) embedded
// from tools/scripts/NAME.bt: `tracelet NAME` runs one, `tracelet tools
// show NAME` prints it, and `tracelet run -D ... FILE` runs a copy. Adding
// a tool is adding a file: its flags and positional arguments come from
// its header, the comment lines before its first line of code:
//
//	// tool: DESCRIPTION
//	// flag: [-X] [--long] NAME TYPE "USAGE"
//	// arg: NAME TYPE "USAGE"
//
// "tool:" is the one-line description that `tracelet tools list` and the
// command's help show. "// fallback: NAME" names the script to run where
// this one cannot be prepared on the running kernel (a tracepoint, an
// argument or a member it needs is missing): a script cannot hold alternatives, so a tool that needs
// two ways, as libbpf-tools picks between a tracepoint and a kprobe, is
// two scripts; RunScript says on stderr which one runs. A script whose
// name starts with '_' is such a fallback: `tools show` prints it, but it
// is no command of its own. Each "flag:" is an option, with a one-letter name,
// a long name or both (libbpf-tools' names: -p --pid, -m --milliseconds).
// Each "arg:" is a positional argument, in order (libbpf-tools' interval
// and count). TYPE is
//
//   - bool: the flag takes no value; given, it defines NAME as 1 (not
//     given, NAME is undefined);
//   - int: a whole number >= 0 (> 0 for an arg), defining NAME as it;
//   - string: any text without '"' or '\', defining NAME as the string
//     literal "TEXT";
//   - ints (flags only): a comma-separated list of up to MaxListValues
//     whole numbers >= 0, as libbpf-tools' tcpconnect -P 80,443 takes:
//     the first defines NAME, the second NAME_2, and so on.
//
// The language has no lists: a script with an ints flag gives each slot
// it does not get the first value, and tests against all of them:
//
//	#ifndef PORT_2
//	#define PORT_2 PORT
//	#endif
//	...
//	#define PORT_OK(p) (PORT == 0 || p == PORT || p == PORT_2 || ...)
//
// A flag or argument reaches the script as a macro, exactly as `tracelet
// run -D NAME=VALUE` gives one (script.Define), so the script reads the
// same run either way. It gives its defaults with
//
//	#ifndef PID
//	#define PID 0
//	#endif
//
// and uses NAME in expressions (/PID == 0 || pid == PID/, folded to a
// constant), in #if NAME (a bool flag defaulted to 0), and as the count
// of an interval probe (interval:s:INTERVAL). A script may also print a
// hist map in libbpf-tools' layout with a "// hist: @MAP UNIT [KEYLINE]"
// comment (script.HistStyle).
//
// A script whose maps are keyed by stacks (kstack, ustack) may say
//
//	// flamegraph: UNIT TITLE
//
// (UNIT is what its counts count, "samples" or "us"): the command then
// also takes -f folded, which prints those maps as folded stacks
// (script.Object.Fold), and --svg FILE, which draws them as a flame graph
// titled TITLE (package flamegraph).
//
//go:embed scripts/*.bt
var scriptFiles embed.FS

// Script is one embedded script tool.
type Script struct {
	Name     string // the file name without .bt: the command's name
	Usage    string // the "// tool:" line
	Fallback string // the "// fallback:" line: a script's name, or ""
	Flags    []ScriptFlag
	Args     []ScriptArg
	Source   []byte
	// FlameGraph is the "// flamegraph:" line; nil without one.
	FlameGraph *FlameGraphSpec
	// Metrics are the maps its `// metric: @MAP LABEL,...` comments name,
	// with their labels: what --metrics serves. None: no --metrics.
	Metrics map[string][]string
	// Tables are its `// table: @MAP "FORMAT" COLUMN...` lines: maps
	// printed in columns, as libbpf-tools prints its counts.
	Tables map[string]*script.Table
}

// FlameGraphSpec is a "// flamegraph: UNIT TITLE" header line.
type FlameGraphSpec struct {
	Unit, Title string
}

// Hidden reports whether s is only a fallback of another script.
func (s *Script) Hidden() bool { return strings.HasPrefix(s.Name, "_") }

// ScriptFlag is a "// flag:" header line.
type ScriptFlag struct {
	Short  string // one letter, or ""
	Long   string // or ""
	Define string // the macro it defines
	Type   string // bool, int or string
	Usage  string
}

// ScriptArg is an "// arg:" header line: a positional argument.
type ScriptArg struct {
	Define, Type, Usage string
}

// Scripts returns the embedded script tools, sorted by name.
func Scripts() ([]*Script, error) {
	names, err := fs.Glob(scriptFiles, "scripts/*.bt")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	var out []*Script
	for _, n := range names {
		src, err := scriptFiles.ReadFile(n)
		if err != nil {
			return nil, err
		}
		s, err := ParseScript(strings.TrimSuffix(strings.TrimPrefix(n, "scripts/"), ".bt"), src)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// LookupScript returns the embedded script tool name.
func LookupScript(name string) (*Script, error) {
	src, err := scriptFiles.ReadFile("scripts/" + name + ".bt")
	if err != nil || strings.ContainsAny(name, "/.") {
		var names []string
		if all, err := Scripts(); err == nil {
			for _, s := range all {
				names = append(names, s.Name)
			}
		}
		return nil, fmt.Errorf("no script tool %q (there are: %s)", name, strings.Join(names, ", "))
	}
	return ParseScript(name, src)
}

// ParseScript reads the header of a script tool's source. Errors name the
// line.
func ParseScript(name string, src []byte) (*Script, error) {
	s := &Script{Name: name, Source: src, Metrics: scriptrun.MetricLabels(src)}
	seen := map[string]bool{}
	for i, line := range strings.Split(string(src), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || i == 0 && strings.HasPrefix(line, "#!") {
			continue
		}
		text, ok := strings.CutPrefix(line, "//")
		if !ok {
			break // the header ends at the first line of code
		}
		errorf := func(format string, args ...any) error {
			return fmt.Errorf("%s.bt:%d: %s", name, i+1, fmt.Sprintf(format, args...))
		}
		key, rest, _ := strings.Cut(strings.TrimSpace(text), ":")
		switch key {
		case "tool":
			s.Usage = strings.TrimSpace(rest)
		case "flamegraph":
			unit, title, _ := strings.Cut(strings.TrimSpace(rest), " ")
			if unit == "" || strings.TrimSpace(title) == "" {
				return nil, errorf("flamegraph: want UNIT TITLE, e.g. samples CPU Flame Graph")
			}
			s.FlameGraph = &FlameGraphSpec{Unit: unit, Title: strings.TrimSpace(title)}
		case "table":
			name, t, err := parseTable(rest)
			if err != nil {
				return nil, errorf("%v", err)
			}
			if s.Tables == nil {
				s.Tables = map[string]*script.Table{}
			}
			s.Tables[name] = t
		case "fallback":
			s.Fallback = strings.TrimSpace(rest)
			if s.Fallback == "" || strings.ContainsAny(s.Fallback, "/. \t") {
				return nil, errorf("fallback: want a script's name, as in // fallback: _biosnoop-issue")
			}
		case "flag", "arg":
			words, usage, err := splitUsage(rest)
			if err != nil {
				return nil, errorf("%v", err)
			}
			var f ScriptFlag
			for len(words) > 0 && strings.HasPrefix(words[0], "-") {
				switch w := words[0]; {
				case key == "flag" && len(w) == 2 && f.Short == "" && f.Long == "" && (isLetter(w[1]) || '0' <= w[1] && w[1] <= '9'):
					f.Short = w[1:]
				case key == "flag" && len(w) > 3 && w[:2] == "--" && f.Long == "":
					f.Long = w[2:]
				default:
					return nil, errorf("%s: %q: want -X (one letter or digit) then --long-name", key, w)
				}
				words = words[1:]
			}
			if key == "flag" && f.Short == "" && f.Long == "" {
				return nil, errorf("flag: want a name, -X or --long-name, before the macro name")
			}
			if len(words) != 2 {
				return nil, errorf("%s: want %sNAME TYPE \"USAGE\"", key, map[string]string{"flag": "-X --long ", "arg": ""}[key])
			}
			f.Define, f.Type, f.Usage = words[0], words[1], usage
			if _, err := script.ParseDefine(f.Define); err != nil {
				return nil, errorf("%s: %q is not a macro name", key, f.Define)
			}
			switch f.Type {
			case "bool", "int", "string":
			case "ints":
				if key == "arg" {
					return nil, errorf("arg %s: an argument is an int or a string, not a list", f.Define)
				}
			default:
				return nil, errorf("%s %s: type %q: want bool, int, ints or string", key, f.Define, f.Type)
			}
			for _, n := range []string{f.Short, f.Long, "D:" + f.Define} {
				if n != "" && seen[n] {
					return nil, errorf("%s: %s is given twice", key, strings.TrimPrefix(n, "D:"))
				}
				seen[n] = true
			}
			if key == "flag" {
				s.Flags = append(s.Flags, f)
			} else {
				if f.Type == "bool" {
					return nil, errorf("arg %s: an argument is an int or a string, not a bool", f.Define)
				}
				s.Args = append(s.Args, ScriptArg{Define: f.Define, Type: f.Type, Usage: f.Usage})
			}
		}
	}
	if s.Usage == "" {
		return nil, fmt.Errorf("%s.bt: no \"// tool: DESCRIPTION\" line in its header", name)
	}
	return s, nil
}

// parseTable reads `@MAP "FORMAT" COLUMN...`.
func parseTable(s string) (string, *script.Table, error) {
	const want = `table: want @MAP "FORMAT" COLUMN..., as in // table: @connects "%-25s %-10s" RADDR CONNECTS`
	name, rest, _ := strings.Cut(strings.TrimSpace(s), " ")
	name, ok := strings.CutPrefix(name, "@")
	rest = strings.TrimSpace(rest)
	if !ok || !strings.HasPrefix(rest, `"`) {
		return "", nil, errors.New(want)
	}
	format, columns, ok := strings.Cut(rest[1:], `"`)
	if !ok {
		return "", nil, errors.New(want)
	}
	t, err := script.NewTable(format, strings.Fields(columns))
	return name, t, err
}

// splitUsage splits `WORD WORD "USAGE"` into its words and the unquoted
// usage.
func splitUsage(s string) ([]string, string, error) {
	i := strings.IndexByte(s, '"')
	if i < 0 {
		return nil, "", fmt.Errorf("want a \"USAGE\" string at the end")
	}
	usage, err := strconv.Unquote(strings.TrimSpace(s[i:]))
	if err != nil {
		return nil, "", fmt.Errorf("usage %s: not one string in double quotes", strings.TrimSpace(s[i:]))
	}
	return strings.Fields(s[:i]), usage, nil
}

func isLetter(c byte) bool { return 'A' <= c&^0x20 && c&^0x20 <= 'Z' }

// Name is how help and errors name the flag: -X, or --long.
func (f ScriptFlag) Name() string {
	if f.Short != "" {
		return "-" + f.Short
	}
	return "--" + f.Long
}

// define makes the macro for a value of type typ given to what (a flag's
// or argument's name); min is the smallest int allowed.
func define(what, name, typ, value string, min int64) (script.Define, error) {
	switch typ {
	case "bool":
		return script.Define{Name: name, Value: "1"}, nil
	case "int":
		n, err := strconv.ParseInt(value, 0, 64)
		if err != nil || n < min {
			return script.Define{}, fmt.Errorf("%s %q: want a whole number >= %d", what, value, min)
		}
		return script.Define{Name: name, Value: strconv.FormatInt(n, 10)}, nil
	default:
		if strings.ContainsAny(value, "\"\\") || strings.ContainsFunc(value, func(r rune) bool { return r < ' ' }) {
			return script.Define{}, fmt.Errorf("%s %q: '\"', '\\' and control characters are not allowed", what, value)
		}
		return script.Define{Name: name, Value: `"` + value + `"`}, nil
	}
}

// DefineValue returns the macro for the flag given value ("" for a bool;
// one value for ints, which DefineValues takes as a list).
func (f ScriptFlag) DefineValue(value string) (script.Define, error) {
	typ := f.Type
	if typ == "ints" {
		typ = "int"
	}
	return define(f.Name(), f.Define, typ, value, 0)
}

// MaxListValues is how many values an ints flag takes: a script tests
// NAME and NAME_2 to NAME_8.
const MaxListValues = 8

// DefineValues returns the macros for the flag given value: one, or for
// an ints flag one per value of the comma-separated list, NAME, NAME_2,
// ... in order.
func (f ScriptFlag) DefineValues(value string) ([]script.Define, error) {
	if f.Type != "ints" {
		d, err := f.DefineValue(value)
		if err != nil {
			return nil, err
		}
		return []script.Define{d}, nil
	}
	values := strings.Split(value, ",")
	if len(values) > MaxListValues {
		return nil, fmt.Errorf("%s %q: at most %d values", f.Name(), value, MaxListValues)
	}
	var out []script.Define
	for i, v := range values {
		name := f.Define
		if i > 0 {
			name += "_" + strconv.Itoa(i+1)
		}
		d, err := define(f.Name(), name, "int", strings.TrimSpace(v), 0)
		if err != nil {
			return nil, fmt.Errorf("%s %q: value %d: %w", f.Name(), value, i+1, err)
		}
		out = append(out, d)
	}
	return out, nil
}

// DefineValue returns the macro for the argument given value.
func (a ScriptArg) DefineValue(value string) (script.Define, error) {
	return define(a.Define, a.Define, a.Type, value, 1)
}

// ScriptOptions configure RunScript.
type ScriptOptions struct {
	// Defines are the flags' and arguments' macros (DefineValue).
	Defines []script.Define
	// Out receives the script's output; nil means os.Stdout.
	Out io.Writer
	// Backend is bpf, tracefs or auto.
	Backend scriptrun.Backend
	// Ready, if not nil, runs once every probe is attached.
	Ready func()
	// JSON prints run -f json's lines (bpftrace's, with "version").
	JSON bool
	// Folded, if not nil, receives the maps keyed by stacks as folded
	// stacks (scriptrun.RunOptions.Folded).
	Folded io.Writer
	// Notes receives a line when the fallback script runs; nil: none.
	Notes io.Writer
	// Metrics, as Common.Metrics, serves the maps that the script names in
	// `// metric: @MAP LABEL,...` comments, read at each scrape.
	Metrics func(collect func() ([]metrics.Family, error)) (stop func() error, err error)
}

// toolRingSize is a script tool's output ring (see RunScript).
const toolRingSize = 1 << 20

// RunScript runs a script tool until it exits or ctx ends, then prints
// its maps as it asks.
func RunScript(ctx context.Context, s *Script, o ScriptOptions) error {
	// A tool's events come at the rate of what it watches (connects,
	// block requests, wakeups by the histogram's interval): 1 MiB of ring
	// holds tens of thousands of its records, as libbpf-tools' buffers
	// do, and keeps its resident memory at theirs (run's lossless default,
	// sized for a syscall loop, would map 8 MiB more). A tool that
	// prints only from BEGIN, END and interval gets the smallest ring.
	ropts := scriptrun.RunOptions{Out: o.Out, Defines: o.Defines, Backend: o.Backend, Quiet: true, Folded: o.Folded, MaxRingSize: toolRingSize}
	if o.JSON {
		ropts.Format = scriptrun.JSONOutput
	}
	r, err := scriptrun.Prepare(s.Name+".bt", s.Source, ropts)
	used := s
	if err != nil && s.Fallback != "" {
		fb, ferr := LookupScript(s.Fallback)
		if ferr != nil {
			return fmt.Errorf("%s: fallback: %w", s.Name, ferr)
		}
		if r, ferr = scriptrun.Prepare(fb.Name+".bt", fb.Source, ropts); ferr != nil {
			return err // the first choice's error is the one to read
		}
		used = fb
		if o.Notes != nil {
			first, _, _ := strings.Cut(err.Error(), "\n")
			fmt.Fprintf(o.Notes, "%s: running %s (tracelet tools show %s): %s\n", s.Name, fb.Name, fb.Name, first)
		}
		err = nil
	}
	if err != nil {
		return err
	}
	defer r.Close()
	for name, t := range used.Tables {
		if err := r.Object.SetTable(name, t); err != nil {
			return fmt.Errorf("%s: %w", used.Name, err)
		}
	}
	var ready func() error
	if o.Ready != nil {
		ready = func() error { o.Ready(); return nil }
	}
	if err := r.Start(ready); err != nil {
		return err
	}
	if o.Metrics == nil {
		return r.Wait(ctx)
	}
	labels := used.Metrics
	only := map[string]bool{}
	for m := range labels {
		only[m] = true
	}
	stop, err := o.Metrics(func() ([]metrics.Family, error) {
		return r.Metrics(scriptrun.MetricsOptions{Prefix: "tracelet_" + s.Name + "_", Labels: labels, Only: only})
	})
	if err != nil {
		return err
	}
	err = r.Wait(ctx)
	if serr := stop(); err == nil {
		err = serr
	}
	return err
}
