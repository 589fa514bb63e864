package script

import (
	"path"
	"sort"
	"strings"

	"github.com/tracelet/tracelet/btf"
)

// ExpandBTF replaces the wildcard fentry, fexit and lsm attach points of
// prog with one per kernel function (or bpf_lsm_ hook) of spec that
// matches, in name order. The functions come from BTF's FUNC entries,
// not available_filter_functions, which may be unreadable (a sandbox
// refuses it) and takes seconds to read: a FUNC the kernel cannot trace
// fails at load, naming itself. A module's functions
// (fentry:MODULE:PATTERN) are those of its split BTF: then spec is that,
// on top of vmlinux's (CheckOptions.BTFModule). Run it before Expand.
func ExpandBTF(prog *Program, spec *btf.Spec) error {
	var errs ErrorList
	if prog.src == nil {
		prog.src = newSource(prog.File, nil)
	}
	var funcs, modFuncs []string // the FUNC names, sorted, read once
	for _, p := range prog.Probes {
		var out []*AttachPoint
		for _, a := range p.Attach {
			if !a.Wildcard() || a.Type != Fentry && a.Type != Fexit && a.Type != LSM {
				out = append(out, a)
				continue
			}
			if spec == nil {
				prog.src.errorf(&errs, a.Pos, "%s: expanding the wildcard needs the kernel's BTF: give a BTF file with --btf FILE", a.Raw)
				continue
			}
			list := &funcs
			if a.Target != "" {
				if spec.Base() == nil {
					prog.src.errorf(&errs, a.Pos, "%s: the BTF of module %s is not loaded", a.Raw, a.Target)
					continue
				}
				list = &modFuncs
			}
			if *list == nil {
				*list = btfFuncs(spec, a.Target != "")
			}
			prefix := ""
			if a.Type == LSM {
				prefix = "bpf_lsm_"
			}
			var names []string
			for _, f := range *list {
				if !strings.HasPrefix(f, prefix) {
					continue
				}
				if ok, _ := path.Match(a.Func, f[len(prefix):]); ok {
					names = append(names, f[len(prefix):])
				}
			}
			switch {
			case len(names) == 0:
				where := "the kernel's BTF"
				if a.Target != "" {
					where = "the BTF of module " + a.Target
				}
				prog.src.errorf(&errs, a.Pos, "%s matches no function in %s", a.Raw, where)
				continue
			case len(names) > MaxWildcardMatches:
				prog.src.errorf(&errs, a.Pos, "%s matches %d functions; at most %d are attached: narrow the pattern", a.Raw, len(names), MaxWildcardMatches)
				continue
			}
			for _, n := range names {
				b := *a
				b.Func = n
				b.Raw = b.describe()
				out = append(out, &b)
			}
		}
		p.Attach = out
	}
	errs.Sort()
	return errs.Err()
}

// btfFuncs lists the names of the FUNCs of spec, sorted and unique: those
// of vmlinux, or of the module whose split BTF spec is (own).
func btfFuncs(spec *btf.Spec, own bool) []string {
	var names []string
	first, end := btf.TypeID(1), spec.NumTypes()
	switch {
	case own:
		first = spec.FirstID()
	case spec.Base() != nil:
		end = int(spec.FirstID())
	}
	for id := first; int(id) < end; id++ {
		if spec.Kind(id) == btf.BTF_KIND_FUNC {
			names = append(names, spec.Name(id))
		}
	}
	sort.Strings(names)
	out := names[:0]
	for i, n := range names {
		if n != "" && (i == 0 || n != names[i-1]) {
			out = append(out, n)
		}
	}
	return out
}
