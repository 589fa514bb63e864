package script

import (
	"bufio"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/tracelet/tracelet/tracefs"
)

// MaxWildcardMatches bounds how many attach points one wildcard may become:
// each is a program to load and a probe to define.
const MaxWildcardMatches = 512

// Expand replaces every wildcard attach point of prog with one attach point
// per match, as bpftrace does: tracepoints from the events directory of
// tracefs, kprobes from available_filter_functions (the functions the
// kernel can probe; kallsyms also lists what it cannot). It runs before
// Check, so that each program has one concrete target.
func Expand(prog *Program, fs *tracefs.FS) error {
	var errs ErrorList
	if prog.src == nil {
		prog.src = newSource(prog.File, nil)
	}
	var funcs []string // available_filter_functions, read once
	for _, p := range prog.Probes {
		var out []*AttachPoint
		for _, a := range p.Attach {
			if !a.Wildcard() {
				out = append(out, a)
				continue
			}
			var names [][2]string
			var err error
			switch a.Type {
			case Tracepoint:
				names, err = matchTracepoints(fs, a.Target, a.Func)
			case Kprobe, Kretprobe:
				if funcs == nil {
					funcs, err = filterFunctions(fs)
				}
				if err == nil {
					for _, f := range funcs {
						if ok, _ := path.Match(a.Func, f); ok {
							names = append(names, [2]string{"", f})
						}
					}
				}
			default:
				err = fmt.Errorf("wildcards are for kprobes and tracepoints; %s needs one target", a.Type)
			}
			switch {
			case err != nil:
				prog.src.errorf(&errs, a.Pos, "%s: %v", a.Raw, err)
				continue
			case len(names) == 0:
				prog.src.errorf(&errs, a.Pos, "%s matches no %s", a.Raw, a.Type)
				continue
			case len(names) > MaxWildcardMatches:
				prog.src.errorf(&errs, a.Pos, "%s matches %d %ss; at most %d are attached: narrow the pattern", a.Raw, len(names), a.Type, MaxWildcardMatches)
				continue
			}
			for _, n := range names {
				b := *a
				if a.Type == Tracepoint {
					b.Target = n[0]
				}
				b.Func = n[1]
				b.Raw = b.describe()
				out = append(out, &b)
			}
		}
		p.Attach = out
	}
	errs.Sort()
	return errs.Err()
}

// matchTracepoints lists SYSTEM:EVENT pairs that match the globs, sorted.
func matchTracepoints(fs *tracefs.FS, sysGlob, evGlob string) ([][2]string, error) {
	if fs == nil {
		return nil, fmt.Errorf("no tracefs to expand the wildcard in")
	}
	systems, err := fs.Systems()
	if err != nil {
		return nil, err
	}
	var out [][2]string
	for _, s := range systems {
		if ok, _ := path.Match(sysGlob, s); !ok {
			continue
		}
		events, err := fs.Events(s)
		if err != nil {
			continue
		}
		for _, e := range events {
			if ok, _ := path.Match(evGlob, e); ok {
				out = append(out, [2]string{s, e})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i][0] != out[j][0] {
			return out[i][0] < out[j][0]
		}
		return out[i][1] < out[j][1]
	})
	return out, nil
}

// maxFilterFunctions bounds what is kept of available_filter_functions,
// which lists some 60k functions on a distribution kernel.
const maxFilterFunctions = 1 << 18

// filterFunctions reads available_filter_functions line by line, without
// the "[module]" suffixes and without duplicates (static functions of the
// same name), sorted.
func filterFunctions(fs *tracefs.FS) ([]string, error) {
	if fs == nil {
		return nil, fmt.Errorf("no tracefs to expand the wildcard in")
	}
	f, err := os.Open(filepath.Join(fs.Root(), "available_filter_functions"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	seen := map[string]bool{}
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() && len(out) < maxFilterFunctions {
		name, _, _ := strings.Cut(sc.Text(), " ")
		// __ftrace_invalid_address___N marks functions ftrace cannot use.
		if name == "" || strings.HasPrefix(name, "__ftrace_invalid_address") || seen[name] {
			continue
		}
		seen[name] = true
		out = append(out, name)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	sort.Strings(out)
	return out, nil
}
