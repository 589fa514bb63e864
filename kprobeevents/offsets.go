package kprobeevents

import (
	"fmt"
	"strings"
)

// argRegs are the registers that carry a function's first arguments in the
// kernel's calling convention, as %REG names of regTables. The i386 kernel
// is built with -mregparm=3.
var argRegs = map[Arch][]string{
	ArchX86_64:  {"di", "si", "dx", "cx", "r8", "r9"},
	ArchI386:    {"ax", "dx", "cx"},
	ArchARM64:   seqNames("x", 0, 7),
	ArchARM:     seqNames("r", 0, 3),
	ArchRISCV64: seqNames("a", 0, 7),
	ArchPPC64:   seqNames("r", 3, 10),
}

// retRegs hold a function's return value.
var retRegs = map[Arch]string{
	ArchX86_64: "ax", ArchI386: "ax", ArchARM64: "x0", ArchARM: "r0", ArchRISCV64: "a0", ArchPPC64: "r3",
}

// ArgRegisters returns the registers (without '%') that pass the first
// arguments of a kernel function on arch, in order.
func ArgRegisters(arch Arch) []string {
	return append([]string(nil), argRegs[arch]...)
}

// Lower rewrites a parsed probe into what a kernel without BTF arguments or
// fprobes accepts, when opts.Offsets asks for it (opts.BTF must then be
// set): an f: probe becomes the kprobe (entry) or kretprobe (exit) on the
// same function, keeping the event name the fprobe would have had, and
// every argument name, $retval member chain and $argN becomes the
// architecture's argument or return register and +OFFS() dereferences at
// BTF's member offsets, typed from BTF as the kernel types a BTF argument
// (ints by size and sign, enums s32, pointers x64, bitfields
// b<width>@<offset>/<container>). It returns one note per change, for
// --dry-run to show. Without opts.Offsets it does nothing.
func Lower(p *Probe, opts Options) ([]string, error) {
	if !opts.Offsets || p == nil {
		return nil, nil
	}
	arch := opts.arch()
	var notes []string
	needs := false
	for _, a := range p.Args {
		if a.Fetch != nil && (a.Fetch.Kind == FetchBTF || a.Fetch.Kind == FetchRetval || a.Fetch.Kind == FetchArgN) {
			needs = true
		}
	}
	// An fprobe has no registers to compile to: it becomes the kprobe or
	// kretprobe on the same function when the kernel has no fprobes or
	// its arguments need tracelet's offsets.
	if (p.Type == Fprobe || p.Type == Fretprobe) && (!opts.hasExt(ExtFprobe) || needs) {
		from := p.Type
		p.Event = p.EventName()
		if p.Type == Fprobe {
			p.Type = Kprobe
		} else {
			p.Type, p.Return = Kretprobe, false
		}
		why := "the kernel has no fprobe events"
		if opts.hasExt(ExtFprobe) {
			why = "its arguments are read through registers"
		}
		notes = append(notes, fmt.Sprintf("%s: the %s on %s is written as a %s", why, from, p.Symbol, p.Type))
	}
	if !needs || p.Type != Kprobe && p.Type != Kretprobe {
		return notes, nil
	}
	if opts.BTF == nil {
		return nil, fmt.Errorf("probe %q: argument names and member access need the kernel's BTF (/sys/kernel/btf/vmlinux, or --btf FILE)", p.String())
	}
	fn, err := opts.BTF.Func(p.Symbol)
	if err != nil || fn == nil {
		return nil, fmt.Errorf("probe %q: the BTF has no function %s: %v", p.String(), p.Symbol, err)
	}
	isRet := p.Type == Kretprobe
	regs := argRegs[arch]
	for i := range p.Args {
		a := &p.Args[i]
		f := a.Fetch
		if f == nil {
			continue
		}
		var (
			fetch *Fetch
			t     *BTFType
		)
		switch f.Kind {
		case FetchRetval:
			if !a.Type.IsZero() || fn.Return == nil {
				continue
			}
			fetch, t = f, fn.Return
		case FetchArgN:
			// The kernel's $argN (4.20+) needs no rewrite; it is typed
			// from BTF, as a BTF-aware kernel types it.
			if !a.Type.IsZero() || f.N == 0 || int(f.N) > len(fn.Params) {
				continue
			}
			fetch, t = f, fn.Params[f.N-1].Type
		case FetchBTF:
			fetch, t, err = compileChain(f.Str, fn, opts.BTF, arch, regs, isRet)
			if err != nil {
				return nil, fmt.Errorf("probe %q, argument %q: %w", p.String(), a.Name+"="+f.Str, err)
			}
		default:
			continue
		}
		written := a.Name + "=" + a.Text()
		bitOff, bitSize := 0, 0
		if t != nil {
			bitOff, bitSize = t.BitOffset%8, t.BitSize
		}
		switch {
		case a.Type.Kind == TypeString || a.Type.Kind == TypeUstring:
			// check_prepare_btf_string_fetch(): a char array is read
			// where it lies, a char pointer is followed first.
			if t != nil && t.Kind == BTFPtr {
				fetch = Deref(0, fetch)
			}
		case !a.Type.IsZero():
		case bitSize > 0 && (bitSize%8 != 0 || bitOff != 0):
			c := 8
			for c < bitOff+bitSize {
				c *= 2
			}
			a.Type = Type{Kind: TypeBitfield, BitWidth: bitSize, BitOffset: bitOff, Container: c}
		default:
			a.Type.Kind = btfFetchType(t, arch.PtrBits(), bitSize)
		}
		a.Fetch = fetch
		a.text, a.canon = "", ""
		if f.Kind == FetchBTF {
			notes = append(notes, fmt.Sprintf("%s becomes %s (argument registers and member offsets from BTF)", written, a.Text()))
		}
	}
	return notes, nil
}

// btfFetchType is fetch_type_from_btf_type(): the type the kernel gives a
// BTF argument without :TYPE.
func btfFetchType(t *BTFType, ptrBits, bitSize int) TypeKind {
	if t == nil {
		return TypeDefault
	}
	size := t.Size
	if bitSize > 0 {
		size = bitSize / 8
	}
	switch t.Kind {
	case BTFEnum:
		if t.Size == 8 {
			return TypeS64
		}
		return TypeS32
	case BTFPtr:
		if ptrBits == 32 {
			return TypeX32
		}
		return TypeX64
	case BTFInt:
		k := map[int]TypeKind{1: TypeU8, 2: TypeU16, 4: TypeU32, 8: TypeU64}[size]
		if t.Signed && k != TypeDefault {
			k += TypeS8 - TypeU8
		}
		return k
	}
	return TypeDefault
}

// compileChain turns NAME[->M[.M...]...] or $retval->... into registers
// and dereferences: each '->' is one +OFFS(), its offset the sum of the
// '.' members after it. The parser has already checked the chain against
// the BTF; this only computes.
func compileChain(s string, fn *BTFFunc, b BTF, arch Arch, regs []string, isRet bool) (*Fetch, *BTFType, error) {
	steps := strings.Split(s, "->")
	base, firstDots, _ := strings.Cut(steps[0], ".")
	if firstDots != "" {
		return nil, nil, fmt.Errorf("%q: an argument is not a struct: use ->", s)
	}
	var fetch *Fetch
	var t *BTFType
	if base == "$retval" {
		if !isRet {
			return nil, nil, fmt.Errorf("$retval is only valid on return probes")
		}
		if fn.Return == nil {
			return nil, nil, fmt.Errorf("the function returns void")
		}
		reg, ok := retRegs[arch]
		if !ok {
			return nil, nil, fmt.Errorf("no return register known for %s", arch)
		}
		fetch, t = Reg(reg), fn.Return
	} else {
		if isRet {
			return nil, nil, fmt.Errorf("%s is an argument: at a return its register no longer holds it, and tracelet's offsets only follow $retval there (the kernel's own member access can: Linux 6.10+)", base)
		}
		idx := -1
		for i, prm := range fn.Params {
			if prm.Name == base {
				idx = i
				break
			}
		}
		if idx < 0 {
			return nil, nil, fmt.Errorf("the function has no argument %q", base)
		}
		if idx >= len(regs) {
			return nil, nil, fmt.Errorf("argument %d (%s) is passed on the stack on %s, not in a register", idx+1, base, arch)
		}
		t = fn.Params[idx].Type
		if t == nil || t.Kind == BTFStruct || t.Kind == BTFUnion || t.Kind == BTFInt && t.Size > arch.PtrBits()/8 {
			return nil, nil, fmt.Errorf("argument %s is not passed in one register", base)
		}
		for j := 0; j < idx; j++ {
			if pt := fn.Params[j].Type; pt == nil || pt.Kind == BTFStruct || pt.Kind == BTFUnion || pt.Size > arch.PtrBits()/8 {
				return nil, nil, fmt.Errorf("argument %d is not passed in one register, so %s's register is unknown", j+1, base)
			}
		}
		fetch = Reg(regs[idx])
	}
	for _, step := range steps[1:] {
		if t == nil || t.Kind != BTFPtr || !t.Elem.isStruct() {
			return nil, nil, fmt.Errorf("%q: -> needs a pointer to a struct or union", s)
		}
		t = t.Elem
		bits := 0
		for _, name := range strings.Split(step, ".") {
			if !t.isStruct() {
				return nil, nil, fmt.Errorf("%q: %s is not a struct or union", s, name)
			}
			m, ok, err := b.Member(t, name)
			if err != nil {
				return nil, nil, err
			}
			if !ok {
				return nil, nil, fmt.Errorf("%s has no member %q", typeName(t), name)
			}
			bits += m.BitOffset
			t = m
		}
		mt := *t
		mt.BitOffset = bits
		t = &mt
		fetch = Deref(int64(bits/8), fetch)
	}
	return fetch, t, nil
}
