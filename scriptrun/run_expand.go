package scriptrun

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

// wildcards lists what wildcard attach points match from tracefs: the
// events directory for tracepoints, available_filter_functions or
// /proc/kallsyms for kprobes (script.WildcardSource).
type wildcards struct{ fs *tracefs.FS }

func (w wildcards) Tracepoints(sysGlob, evGlob string) ([][2]string, error) {
	return matchTracepoints(w.fs, sysGlob, evGlob)
}

func (w wildcards) KprobeFunctions() ([]string, string, error) { return kprobeFunctions(w.fs) }

func (w wildcards) UprobeFunctions(binary, glob string) ([]string, error) {
	syms, err := tracefs.ListSymbols(binary, glob)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(syms))
	for i, s := range syms {
		names[i] = s.Name
	}
	return names, nil
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
