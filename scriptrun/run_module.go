package scriptrun

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/tracelet/tracelet/bpf"
	"github.com/tracelet/tracelet/btf"
	"github.com/tracelet/tracelet/script"
)

// moduleBTF finds the kernel module whose functions the fentry and fexit
// probes of prog attach to: the one they name (fentry:MODULE:FUNCTION), or
// for a function that vmlinux's BTF does not have, the loaded module whose
// BTF has it (the attach point then names it). It returns that module's
// split BTF on top of base, for the checks (CheckOptions.BTFModule), or
// nil when no probe attaches to a module. Modules are the running
// kernel's: dir is where it publishes their BTF (/sys/kernel/btf), ""
// when base is not its BTF (--btf FILE).
func moduleBTF(prog *script.Program, base *btf.Spec, dir string) (*btf.Spec, string, error) {
	var module string
	var first *script.AttachPoint
	var spec *btf.Spec
	use := func(a *script.AttachPoint) error {
		switch {
		case module == "":
			module, first = a.Target, a
		case a.Target != module:
			return fmt.Errorf("%s: a script attaches to the functions of one module, and %s attaches to %s's", a.Raw, first.Raw, module)
		}
		return nil
	}
	for _, p := range prog.Probes {
		for _, a := range p.Attach {
			if a.Type != script.Fentry && a.Type != script.Fexit {
				continue
			}
			if a.Target == "" && !a.Wildcard() && dir != "" {
				if _, err := base.TypeByName(a.Func, btf.BTF_KIND_FUNC); errors.Is(err, btf.ErrNotFound) {
					// With a module chosen, only its BTF is searched.
					if s, name := findModuleFunc(base, dir, a.Func, module, spec); s != nil {
						spec, a.Target = s, name
					}
				}
			}
			if a.Target == "" {
				continue
			}
			if err := use(a); err != nil {
				if spec != nil {
					spec.Close()
				}
				return nil, "", err
			}
		}
	}
	if module == "" || spec != nil {
		return spec, module, nil
	}
	if dir == "" {
		return nil, "", fmt.Errorf("%s: module functions need the running kernel's BTF, not --btf", first.Raw)
	}
	spec, err := btf.LoadSplitFile(filepath.Join(dir, module), base)
	if errors.Is(err, os.ErrNotExist) {
		return nil, "", fmt.Errorf("%s: no loaded module %s has BTF (%s)", first.Raw, module, filepath.Join(dir, module))
	}
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", first.Raw, err)
	}
	return spec, module, nil
}

// findModuleFunc looks for FUNC fn among the BTF of the modules in dir,
// in name order, the module already chosen (spec) first, and returns the
// split spec and name of the first that has it.
func findModuleFunc(base *btf.Spec, dir, fn, module string, spec *btf.Spec) (*btf.Spec, string) {
	has := func(s *btf.Spec) bool {
		id, err := s.TypeByName(fn, btf.BTF_KIND_FUNC)
		return err == nil && id >= s.FirstID()
	}
	if spec != nil {
		if has(spec) {
			return spec, module
		}
		return nil, ""
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, ""
	}
	names := make([]string, 0, len(ents))
	for _, e := range ents {
		if e.Name() != filepath.Base(btf.KernelPath) {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	for _, name := range names {
		s, err := btf.LoadSplitFile(filepath.Join(dir, name), base)
		if err != nil {
			continue
		}
		if has(s) {
			return s, name
		}
		s.Close()
	}
	return nil, ""
}

// moduleObjects opens, once each, the kernel BTF objects of the modules
// that programs attach to, for their loads (ProgramSpec.AttachBTFObjFD).
type moduleObjects map[string]*bpf.BTFObject

func (m moduleObjects) fd(a *script.AttachPoint) (int, error) {
	if a.Target == "" || a.Type != script.Fentry && a.Type != script.Fexit {
		return 0, nil
	}
	o, ok := m[a.Target]
	if !ok {
		var err error
		if o, err = bpf.ModuleBTF(a.Target); err != nil {
			return 0, err
		}
		m[a.Target] = o
	}
	return o.FD(), nil
}

func (m moduleObjects) Close() {
	for _, o := range m {
		o.Close()
	}
}
