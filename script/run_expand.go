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
		// A wildcard that matches nothing is dropped where the probe
		// keeps other attach points, as bpftrace does: dcsnoop.bt lists
		// kprobe:lookup_fast and kprobe:lookup_fast.constprop.*, of
		// which a kernel has one or the other.
		var unmatched []*AttachPoint
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
					funcs, prog.KprobeSource, err = kprobeFunctions(fs)
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
				unmatched = append(unmatched, a)
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
		if len(out) == 0 {
			for _, a := range unmatched {
				prog.src.errorf(&errs, a.Pos, "%s matches no %s", a.Raw, a.Type)
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

// kprobeFunctions lists the functions a kprobe wildcard may match, and
// where they came from: available_filter_functions where it can be read,
// else the text symbols of /proc/kallsyms less the kprobe blacklist, as
// bpftrace falls back to. Some kernels refuse everyone the first (this
// host's sandbox answers EPERM); the second also lists functions that
// ftrace cannot probe, which the kernel refuses when the probe is added.
func kprobeFunctions(fs *tracefs.FS) ([]string, string, error) {
	funcs, err := filterFunctions(fs)
	if err == nil {
		return funcs, "available_filter_functions", nil
	}
	ks, kerr := kallsymsFunctions("/proc/kallsyms", tracefs.KprobeBlacklist())
	if kerr != nil {
		return nil, "", fmt.Errorf("%v; and %v", err, kerr)
	}
	return ks, "/proc/kallsyms", nil
}

// kallsymsFunctions reads the text symbols (t, T) of a kallsyms file,
// without the "[module]" suffixes, the __pfx_ and __cfi_ padding that is
// no function, the blacklisted and duplicates, sorted.
func kallsymsFunctions(file string, blacklist map[string]bool) ([]string, error) {
	return readFunctions(file, func(line string) string {
		// "ffffffff81000000 T _stext [module]"
		fields := strings.Fields(line)
		if len(fields) < 3 || (fields[1] != "t" && fields[1] != "T") {
			return ""
		}
		name := fields[2]
		if strings.HasPrefix(name, "__pfx_") || strings.HasPrefix(name, "__cfi_") || blacklist[name] {
			return ""
		}
		return name
	})
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
	return readFunctions(filepath.Join(fs.Root(), "available_filter_functions"), func(line string) string {
		name, _, _ := strings.Cut(line, " ")
		// __ftrace_invalid_address___N marks functions ftrace cannot use.
		if strings.HasPrefix(name, "__ftrace_invalid_address") {
			return ""
		}
		return name
	})
}

// readFunctions reads a listing line by line, keeping the name that name
// finds in each ("" for none) once, at most maxFilterFunctions, sorted.
func readFunctions(file string, name func(line string) string) ([]string, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	seen := map[string]bool{}
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() && len(out) < maxFilterFunctions {
		n := name(sc.Text())
		if n == "" || seen[n] {
			continue
		}
		seen[n] = true
		out = append(out, n)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	sort.Strings(out)
	return out, nil
}
