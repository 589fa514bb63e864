package script

import (
	"fmt"
	"path"
	"strings"

	"github.com/tracelet/tracelet/asm"
	"github.com/tracelet/tracelet/usdt/usdtarg"
)

// USDTSite is one location of a usdt probe, as the runtime read it from
// the binary's .note.stapsdt notes: where the uprobe goes, its semaphore
// and how each argument is read. The language only uses what it holds;
// reading the file is the runtime's (ResolveUSDT's USDTSource).
type USDTSite struct {
	// Path is the file the probe is in, as the uprobe names it.
	Path string
	// Provider and Name are the probe's, without wildcards.
	Provider, Name string
	// Offset is the file offset of the probe's nop: the uprobe's offset.
	Offset uint64
	// Semaphore is the file offset of the probe's semaphore, the
	// uprobe's ref_ctr_offset; 0 when the probe has none.
	Semaphore uint64
	// Args are the note's arguments, arg0 first, in the registers of the
	// file's architecture as pt_regs names them.
	Args []usdtarg.Arg
}

// USDTSource resolves usdt attach points from the notes of their binaries,
// which the runtime reads (package scriptrun), since this package reads no
// file.
type USDTSource interface {
	// USDTSites lists the probe locations that usdt attach point a
	// names: its binary, resolved, and every location of every probe
	// whose provider and name match a's (a wildcard, or a probe that
	// the compiler inlined at several places, has several).
	USDTSites(a *AttachPoint) ([]*USDTSite, error)
}

// ResolveUSDT replaces every usdt attach point of prog with one per probe
// location that src lists, each with its USDTSite. It runs before Check,
// which types the arguments from the sites. Errors name the attach point
// and its column.
func ResolveUSDT(prog *Program, src USDTSource) error {
	var errs ErrorList
	if prog.src == nil {
		prog.src = newSource(prog.File, nil)
	}
	for _, p := range prog.Probes {
		var out []*AttachPoint
		changed := false
		for _, a := range p.Attach {
			if a.Type != USDT || a.USDT != nil {
				out = append(out, a)
				continue
			}
			changed = true
			sites, err := src.USDTSites(a)
			if err != nil {
				prog.src.errorf(&errs, a.Pos, "%s: %v", a.Raw, err)
				continue
			}
			if len(sites) > MaxWildcardMatches {
				prog.src.errorf(&errs, a.Pos, "%s matches %d usdt probe locations; at most %d are attached: narrow the pattern", a.Raw, len(sites), MaxWildcardMatches)
				continue
			}
			for _, s := range sites {
				b := *a
				b.Target, b.Provider, b.Func, b.USDT = s.Path, s.Provider, s.Name, s
				b.Raw = b.describe()
				out = append(out, &b)
			}
		}
		if changed {
			p.Attach = out
		}
	}
	errs.Sort()
	return errs.Err()
}

// parseUSDT reads usdt:PATH:PROVIDER:NAME or usdt:PATH:NAME, bpftrace's
// forms. PROVIDER and NAME may hold wildcards; PATH may be empty with -p
// (the traced process's executable), which the runtime checks.
func (p *parser) parseUSDT(a *AttachPoint, parts []string, col func(int) Pos) {
	const form = "usdt:PATH:[PROVIDER:]NAME"
	switch len(parts) {
	case 3:
		a.Target, a.Func = parts[1], parts[2]
	case 4:
		a.Target, a.Provider, a.Func = parts[1], parts[2], parts[3]
		if a.Provider == "" {
			p.errorf(col(2), "usdt probe must be written %s: empty provider in %q", form, a.Raw)
			return
		}
	default:
		p.errorf(a.Pos, "usdt probe must be written %s, found %q", form, a.Raw)
		return
	}
	name := len(parts) - 1
	if a.Func == "" {
		p.errorf(col(name), "usdt probe must be written %s: empty probe name in %q", form, a.Raw)
		return
	}
	if hasGlob(a.Target) {
		p.errorf(col(1), "usdt binary %q: wildcards are for the provider and the probe name, not the path", a.Target)
		return
	}
	for i, s := range []string{a.Provider, a.Func} {
		if s == "" {
			continue
		}
		if _, err := path.Match(s, ""); err != nil {
			at := name
			if i == 0 {
				at = 2
			}
			p.errorf(col(at), "bad pattern %q in %q: %v", s, a.Raw, err)
			return
		}
	}
}

// usdtArgIndex is N of argN (arg0 to arg11), or -1.
func usdtArgIndex(name string) int {
	n, ok := strings.CutPrefix(name, "arg")
	if !ok || len(n) == 0 || len(n) > 2 || (len(n) == 2 && n[0] == '0') {
		return -1
	}
	v := 0
	for i := 0; i < len(n); i++ {
		if !isDigit(n[i]) {
			return -1
		}
		v = v*10 + int(n[i]-'0')
	}
	return v
}

// usdtArgType types argN of a usdt probe from the note's argument spec, as
// bpftrace does: its size, signed when the spec's size is negative. A
// probe with several locations (or a wildcard) whose specs differ gets a
// 64-bit integer, signed if any of them is, since each location's program
// extends its own argument to 64 bits.
func (c *checker) usdtArgType(b *Builtin) *Type {
	n := usdtArgIndex(b.Name)
	var t *Type
	for _, a := range c.probe.Attach {
		if a.Type != USDT {
			c.errorf(b.Pos, "%s: the probe mixes usdt with %s attach points, whose arguments are read differently", b.Name, a.Type)
			return nil
		}
		if a.USDT == nil {
			c.errorf(b.Pos, "%s: usdt probe %s was not resolved from its binary's notes", b.Name, a.Raw)
			return nil
		}
		if n < 0 || n >= len(a.USDT.Args) {
			c.errorf(b.Pos, "%s: usdt probe %s:%s in %s has %d arguments%s", b.Name, a.USDT.Provider, a.USDT.Name, a.USDT.Path, len(a.USDT.Args), argRange(len(a.USDT.Args)))
			return nil
		}
		arg := a.USDT.Args[n]
		at := IntType(arg.Size, arg.Signed)
		switch {
		case t == nil:
			t = at
		case t.Size != at.Size || t.Signed != at.Signed:
			t = IntType(8, t.Signed || at.Signed)
		}
	}
	if t == nil {
		return nil
	}
	t.User = true // a pointer argument points into the process
	return t
}

func argRange(n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf(" (arg0 to arg%d)", n-1)
}

// usdtArg loads argument n of the attach point's usdt site into r, 64-bit,
// sign- or zero-extended from its size: a register of pt_regs, a constant,
// Size bytes at a register plus an offset, or a static variable, which is
// read at the probe's runtime address (the instruction pointer, which the
// uprobe handler sets to the breakpoint's address) plus its link-time
// distance from the probe, so that it works in a relocated (PIE) file.
// Memory is read with bpf_probe_read_user into a zeroed stack slot.
func (g *gen) usdtArg(b *Builtin, r asm.Register) {
	site := g.ap.USDT
	n := usdtArgIndex(b.Name)
	if site == nil || n < 0 || n >= len(site.Args) {
		g.errorf(b.Pos, "%s: no such argument of usdt probe %s", b.Name, g.ap.Raw)
		return
	}
	a := site.Args[n]
	reg := func(name string, dst asm.Register) bool {
		loc, ok := g.arch.Register(name)
		if !ok {
			g.errorf(b.Pos, "%s of %s (%s): %s has no register %q", b.Name, g.ap.Raw, a.Spec, g.arch.GOARCH, name)
			return false
		}
		ins, err := loc.Load(dst, asm.R6)
		if err != nil {
			g.errorf(b.Pos, "%s of %s: %v", b.Name, g.ap.Raw, err)
			return false
		}
		g.emit(ins)
		return true
	}
	switch a.Kind {
	case usdtarg.KindConstant:
		g.constant(r, uint64(a.Value))
	case usdtarg.KindRegister:
		if !reg(a.Reg, r) {
			return
		}
	case usdtarg.KindMemory, usdtarg.KindStatic:
		size, ok := loadSizes[a.Size]
		if !ok {
			g.errorf(b.Pos, "%s of %s (%s): cannot read %d bytes", b.Name, g.ap.Raw, a.Spec, a.Size)
			return
		}
		off := g.alloc(8, b.Pos)
		g.zero(off, 8)
		var delta int64
		if a.Kind == usdtarg.KindMemory {
			if !reg(a.Reg, asm.R3) {
				return
			}
			delta = a.Offset
		} else {
			ip := g.arch.IP()
			ins, err := ip.Load(asm.R3, asm.R6)
			if err != nil {
				g.errorf(b.Pos, "%s of %s: %v", b.Name, g.ap.Raw, err)
				return
			}
			g.emit(ins)
			delta = int64(a.ProbeOffset - site.Offset)
		}
		if delta != 0 {
			g.constant(asm.R1, uint64(delta))
			g.emit(asm.Add.Reg(asm.R3, asm.R1))
		}
		g.stackPtr(asm.R1, off)
		g.emit(asm.Mov.Imm(asm.R2, int32(a.Size)))
		g.call(g.helper(asm.FnProbeReadUser))
		g.emit(asm.LoadMem(r, asm.R10, off, size))
	default:
		g.errorf(b.Pos, "%s of %s: argument %q cannot be read (%s)", b.Name, g.ap.Raw, a.Spec, a.Kind)
		return
	}
	g.narrow(r, IntType(a.Size, a.Signed))
}

// loadSizes are the BPF load widths of an argument's byte count.
var loadSizes = map[int]asm.Size{1: asm.Byte, 2: asm.Half, 4: asm.Word, 8: asm.DWord}

// usdtFetchArg is argument n of a usdt site as a uprobe_events fetcharg,
// for the tracefs backend: the kernel fetches registers, memory through
// them, constants and (with @+OFFSET) static variables itself.
func usdtFetchArg(a *AttachPoint, name string) (string, error) {
	n := usdtArgIndex(name)
	if a.USDT == nil || n < 0 || n >= len(a.USDT.Args) {
		return "", fmt.Errorf("%s: no such argument of usdt probe %s", name, a.Raw)
	}
	f := a.USDT.Args[n].Fetcharg()
	if f == "" {
		return "", fmt.Errorf("%s of %s: argument %q cannot be expressed as a uprobe fetcharg", name, a.Raw, a.USDT.Args[n].Spec)
	}
	return f, nil
}
