package kprobeevents

import "fmt"

// FtraceSiteSize is the size in bytes of the ftrace patch site that an
// architecture's kernel puts at offset 0 of every traceable function, where
// that site makes SYM+0 unavailable to kprobes on kernels built without
// CONFIG_KPROBES_ON_FTRACE; 0 for the architectures whose kprobes take
// SYM+0 (x86 and powerpc hand it to ftrace, arm64 moves its ftrace
// record past SYM+0, arm and mips have no patch site there).
//
// riscv64 (arch/riscv/Makefile, -fpatchable-function-entry=4 with the C
// extension, =2 without) reserves MCOUNT_INSN_SIZE = 8 bytes at SYM+0 for
// the auipc/jalr pair that ftrace patches in. check_ftrace_location
// (kernel/kprobes.c) refuses a kprobe at the site's first byte with EINVAL
// unless KPROBES_ON_FTRACE, which riscv64 lacks in 6.12; Debian's trixie
// kernel has no fprobe events either (CONFIG_FPROBE needs
// DYNAMIC_FTRACE_WITH_REGS, riscv64 has WITH_ARGS).
func FtraceSiteSize(a Arch) uint64 {
	if a == ArchRISCV64 {
		return 8
	}
	return 0
}

// PastFtraceSite returns a copy of p, a kprobe at SYM+0, placed at the
// first instruction after the architecture's ftrace patch site, for a
// kernel that refused SYM+0 because ftrace owns it. The patch site leaves
// every register as the caller set it, so the arguments are still where
// the calling convention put them: each $argN becomes the argument register
// it names (the kernel takes $argN at a function's entry only, and SYM+8 is
// not its entry to the kernel), and the event keeps the name it would have
// had at SYM+0. It refuses a return probe (a kretprobe can only be placed
// at SYM+0), a probe at an offset or an address, an architecture with no
// patch site at SYM+0, and arguments named from BTF, which the kernel also
// resolves at the entry only.
func PastFtraceSite(p *Probe, arch Arch) (*Probe, error) {
	site := FtraceSiteSize(arch)
	switch {
	case p == nil:
		return nil, fmt.Errorf("kprobeevents: no probe to move past the ftrace site")
	case site == 0:
		return nil, fmt.Errorf("probe %s: %s has no ftrace patch site at a function's entry", p.EventName(), arch)
	case p.Type != Kprobe:
		return nil, fmt.Errorf("probe %s: a %s cannot be moved past the ftrace site at %s+0", p.EventName(), p.Type, p.Symbol)
	case p.Symbol == "" || p.Offset != 0:
		return nil, fmt.Errorf("probe %s: only a kprobe at SYM+0 is moved past the ftrace site", p.EventName())
	}
	regs := argRegs[arch]
	q := *p
	q.Event = p.EventName()
	q.Offset = site
	q.Args = make([]Arg, len(p.Args))
	for i, a := range p.Args {
		f, err := argNToReg(a.Fetch, regs)
		if err != nil {
			return nil, fmt.Errorf("probe %s, argument %d (%s): %w", p.EventName(), i+1, a.Name, err)
		}
		a.Fetch = f
		q.Args[i] = a
	}
	return &q, nil
}

// argNToReg copies f with every $argN replaced by regs[N-1].
func argNToReg(f *Fetch, regs []string) (*Fetch, error) {
	if f == nil {
		return nil, nil
	}
	switch f.Kind {
	case FetchArgN:
		if f.N == 0 || int(f.N) > len(regs) {
			return nil, fmt.Errorf("$arg%d is not passed in a register", f.N)
		}
		return Reg(regs[f.N-1]), nil
	case FetchBTF:
		return nil, fmt.Errorf("%s is read through BTF, which the kernel resolves at a function's entry only", f.Str)
	case FetchDeref:
		in, err := argNToReg(f.Inner, regs)
		if err != nil {
			return nil, err
		}
		g := *f
		g.Inner = in
		return &g, nil
	}
	g := *f
	return &g, nil
}
