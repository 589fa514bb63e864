package script

import (
	"fmt"
	"path"
)

// MaxWildcardMatches bounds how many attach points one wildcard may become:
// each is a program to load and a probe to define.
const MaxWildcardMatches = 512

// WildcardSource lists what wildcard attach points may match on the
// running system; the runtime reads it from tracefs (package scriptrun),
// since this package reads no file.
type WildcardSource interface {
	// Tracepoints lists the SYSTEM:EVENT pairs that match the globs,
	// sorted.
	Tracepoints(sysGlob, evGlob string) ([][2]string, error)
	// KprobeFunctions lists the functions a kprobe wildcard may match,
	// sorted, and where they came from (Program.KprobeSource).
	KprobeFunctions() ([]string, string, error)
	// UprobeFunctions lists the function symbols of binary (a path, or
	// a library's name) that match glob, sorted.
	UprobeFunctions(binary, glob string) ([]string, error)
}

// Expand replaces every wildcard attach point of prog with one attach point
// per match, as bpftrace does: tracepoints from the events directory of
// tracefs, kprobes from available_filter_functions (the functions the
// kernel can probe; kallsyms also lists what it cannot), uprobes from the
// binary's function symbols, as src lists them. It runs before Check, so that each program has one concrete
// target.
func Expand(prog *Program, src WildcardSource) error {
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
			switch {
			case src == nil && (a.Type == Tracepoint || a.Type == Kprobe || a.Type == Kretprobe):
				err = fmt.Errorf("no tracefs to expand the wildcard in")
			case src == nil && (a.Type == Uprobe || a.Type == Uretprobe):
				err = fmt.Errorf("no binary to read the symbols of")
			case (a.Type == Uprobe || a.Type == Uretprobe) && (hasGlob(a.Target) || a.HasOffset):
				err = fmt.Errorf("a uprobe wildcard matches the functions of one binary: name the file, and a symbol pattern")
			case a.Type == Uprobe || a.Type == Uretprobe:
				var fns []string
				fns, err = src.UprobeFunctions(a.Target, a.Func)
				for _, f := range fns {
					names = append(names, [2]string{"", f})
				}
			case a.Type == Tracepoint:
				names, err = src.Tracepoints(a.Target, a.Func)
			case a.Type == Kprobe || a.Type == Kretprobe:
				if funcs == nil {
					funcs, prog.KprobeSource, err = src.KprobeFunctions()
				}
				if err == nil {
					for _, f := range funcs {
						if ok, _ := path.Match(a.Func, f); ok {
							names = append(names, [2]string{"", f})
						}
					}
				}
			default:
				err = fmt.Errorf("wildcards are for kprobes, uprobes and tracepoints; %s needs one target", a.Type)
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
