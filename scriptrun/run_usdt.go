package scriptrun

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/tracelet/tracelet/perf"
	"github.com/tracelet/tracelet/script"
	"github.com/tracelet/tracelet/tracefs"
	"github.com/tracelet/tracelet/usdt"
)

// resolveUSDT reads the notes of every usdt attach point's binary and
// replaces the attach point with one per probe location it names
// (script.ResolveUSDT). It runs before Check, which types the arguments
// from the sites.
func (r *Run) resolveUSDT(prog *script.Program) error {
	return script.ResolveUSDT(prog, &usdtNotes{r: r, files: map[string]*usdt.File{}})
}

// usdtNotes is the script.USDTSource of a run: the notes of each binary,
// read once.
type usdtNotes struct {
	r     *Run
	files map[string]*usdt.File
}

func (n *usdtNotes) USDTSites(a *script.AttachPoint) ([]*script.USDTSite, error) {
	return n.r.usdtSites(a, n.files)
}

// usdtPath is the file of a usdt attach point: a path, a library name
// looked up as the dynamic loader would, the -p process's executable when
// the name is its base name, or when the path is left empty.
func (r *Run) usdtPath(a *script.AttachPoint) (string, error) {
	target := a.Target
	if r.opts.PID > 0 && !strings.Contains(target, "/") {
		exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", r.opts.PID))
		if err != nil && target == "" {
			return "", fmt.Errorf("the executable of process %d: %w", r.opts.PID, err)
		}
		if err == nil && (target == "" || baseName(exe) == target) {
			target = exe
		}
	}
	if target == "" {
		return "", fmt.Errorf("no binary: write usdt:PATH:[PROVIDER:]NAME, or trace a process with -p PID")
	}
	return tracefs.ResolveBinary(target)
}

// usdtSites resolves one attach point against its binary's notes; files
// caches the notes of each binary read.
func (r *Run) usdtSites(a *script.AttachPoint, files map[string]*usdt.File) ([]*script.USDTSite, error) {
	path, err := r.usdtPath(a)
	if err != nil {
		return nil, err
	}
	f := files[path]
	if f == nil {
		if f, err = usdt.Open(path); err != nil {
			return nil, err
		}
		files[path] = f
	}
	if len(f.Probes) == 0 {
		return nil, fmt.Errorf("%s has no USDT probes (no %s section)", path, ".note.stapsdt")
	}
	sp := usdt.Spec{Path: path, Provider: a.Provider, Name: a.Func}
	probes, err := sp.Match(f)
	if err != nil {
		return nil, err
	}
	sites := make([]*script.USDTSite, 0, len(probes))
	for _, p := range probes {
		args, err := p.ParseArgs(f.Arch)
		if err != nil {
			return nil, err
		}
		sites = append(sites, &script.USDTSite{Path: path, Provider: p.Provider, Name: p.Name,
			Offset: p.Offset, Semaphore: p.SemaphoreOffset, Args: args})
	}
	return sites, nil
}

// usdtTarget is where a resolved usdt attach point's uprobe goes.
func usdtTarget(a *script.AttachPoint) (string, uint64, error) {
	if a.USDT == nil {
		return "", 0, fmt.Errorf("usdt probe %s was not resolved from its binary's notes", a.Raw)
	}
	return a.USDT.Path, a.USDT.Offset, nil
}

// usdtRefCtr sets the PMU uprobe's reference counter to the probe's
// semaphore, if it has one.
func usdtRefCtr(attr *perf.Attr, a *script.AttachPoint) error {
	if a.Type != script.USDT || a.USDT == nil || a.USDT.Semaphore == 0 {
		return nil
	}
	return attr.SetRefCtrOffset(a.USDT.Semaphore)
}

// usdtRefCtrSuffix is the "(0xREF)" of a uprobe_events definition for the
// probe's semaphore, "" without one. Kernels before 4.20 have no reference
// counters: their README does not show the syntax, and the probe would
// never fire, as nobody raises the semaphore that guards it.
func (r *Run) usdtRefCtrSuffix(a *script.AttachPoint) (string, error) {
	if a.Type != script.USDT || a.USDT == nil || a.USDT.Semaphore == 0 {
		return "", nil
	}
	if r.fs != nil {
		readme, err := os.ReadFile(filepath.Join(r.fs.Root(), "README"))
		if err == nil && !strings.Contains(string(readme), "(ref_ctr_offset)") {
			return "", fmt.Errorf("usdt probe %s has a semaphore, and this kernel's uprobes have no reference counter (ref_ctr_offset needs Linux 4.20): %w", a.Raw, perf.ErrNotSupported)
		}
	}
	return fmt.Sprintf("(%#x)", a.USDT.Semaphore), nil
}
