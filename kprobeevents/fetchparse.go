package kprobeevents

import (
	"strings"
)

// parseFetch is the kernel's recursive parse_probe_arg(). It returns the
// expression and the index of the last fetch instruction the kernel would
// emit for it (the innermost load is instruction 0), so that nesting limits
// (FETCH_INSN_MAX) are enforced where the kernel enforces them. col is the
// kernel's idea of where s starts, which is where errors point.
func (ps *parser) parseFetch(s string, col int, fl argFlags) (*Fetch, int, error) {
	if s == "" {
		return nil, 0, ps.err(BAD_FETCH_ARG, col, fetchHint, "empty fetch expression")
	}
	switch s[0] {
	case '$':
		f, err := ps.parseVar(s, col, fl)
		if err == nil && f.Kind == FetchBTF {
			return f, strings.Count(f.Str, "->"), nil
		}
		return f, 0, err
	case '%':
		if fl.fprobe || fl.tevent {
			return nil, 0, ps.err(BAD_VAR, col, "fprobes and event probes have no registers: use $argN, a BTF name or $FIELD", "registers are not available here")
		}
		reg := s[1:]
		if !IsRegister(ps.arch, reg) {
			return nil, 0, ps.badReg(reg, col)
		}
		return &Fetch{Kind: FetchReg, Reg: reg}, 0, nil
	case '@':
		return ps.parseMem(s, col, fl)
	case '+', '-':
		return ps.parseDeref(s, col, fl)
	case '\\':
		f, err := ps.parseImm(s, col)
		return f, 0, err
	}
	if (isAlpha(s[0]) || s[0] == '_') && (ps.opts.has(featBareName) || ps.opts.Offsets) {
		if !fl.kernel || !fl.fentry && !fl.ret {
			return nil, 0, ps.err(NOSUP_BTFARG, col, "BTF names work on kprobes and fprobes at a function entry or return; use a register or $argN", "%q is not a fetcharg here", s)
		}
		return ps.parseBTFVar(s, col, fl)
	}
	return nil, 0, ps.err(BAD_FETCH_ARG, col, fetchHint, "%q is not a fetcharg", s)
}

const fetchHint = "%REG, @ADDR, @SYM[+|-OFFS], $stackN, $stack, $retval, $comm, $argN, +|-[u]OFFS(FETCHARG), \\IMM, \\\"STR\""

func (ps *parser) badReg(reg string, col int) error {
	accepts := registerSummary(ps.arch)
	if other, ok := foreignRegister(ps.arch, reg); ok {
		return ps.err(BAD_REG_NAME, col, "on "+ps.arch.String()+" use "+accepts,
			"%%%s is %s register, not %s one", reg, article(other), article(ps.arch))
	}
	return ps.err(BAD_REG_NAME, col, ps.arch.String()+" registers are "+accepts, "unknown register %%%s", reg)
}

// parseVar is parse_probe_vars(): $retval, $stack, $stackN, $comm, $argN.
func (ps *parser) parseVar(s string, col int, fl argFlags) (*Fetch, error) {
	name := s[1:]
	newer := ps.opts.Kernel.AtLeast(kernelCtxOffset.Major, kernelCtxOffset.Minor)
	if fl.tevent {
		// parse_trace_event_arg(): the attached event's fields first,
		// then $comm.
		for _, fd := range fl.fields {
			if fd == name {
				return &Fetch{Kind: FetchField, Str: name}, nil
			}
		}
		if name == "comm" || name == "COMM" {
			return &Fetch{Kind: FetchComm}, nil
		}
		if !fl.haveFields && isGoodName(name) {
			return &Fetch{Kind: FetchField, Str: name}, nil
		}
		return nil, ps.err(BAD_VAR, col, "$FIELD of the attached event, or $comm", "the attached event has no field %q", name)
	}
	switch {
	case hasPrefix(name, "retval"):
		if name == "retval" || newer || ps.opts.Offsets {
			if !fl.ret {
				return nil, ps.err(RETVAL_ON_PROBE, col, "$retval needs a return probe: r:EVENT SYM or p:EVENT SYM%return", "$retval is only valid on return probes")
			}
		}
		if fl.kernel && (newer && ps.opts.hasExt(ExtBTFArgs) || ps.opts.Offsets) && (name != "retval" || ps.opts.BTF != nil) {
			f, _, err := ps.parseBTFVar(s, col, fl)
			return f, err
		}
		if name != "retval" {
			return nil, ps.err(BAD_VAR, col, "$retval", "bad variable %q", s)
		}
		return &Fetch{Kind: FetchRetval}, nil
	case hasPrefix(name, "stack"):
		rest := name[5:]
		if rest == "" {
			return &Fetch{Kind: FetchStack}, nil
		}
		if !isDigit(rest[0]) {
			return nil, ps.err(BAD_VAR, col, "$stack or $stackN", "bad variable %q", s)
		}
		n, ok := kstrtoul(rest, 10, 64)
		if !ok {
			return nil, ps.err(BAD_VAR, col, "$stackN with a decimal N", "bad variable %q", s)
		}
		if fl.kernel && n > ps.arch.paramMaxStack() {
			return nil, ps.err(BAD_STACK_NUM, col, "$stack0..$stack2048", "stack entry %d is beyond the kernel stack", n)
		}
		return &Fetch{Kind: FetchStackN, N: n}, nil
	case name == "comm" || name == "COMM":
		return &Fetch{Kind: FetchComm}, nil
	case hasPrefix(name, "arg"):
		if !ps.arch.HasArgN() {
			return nil, ps.err(BAD_VAR, col, "name the argument registers ("+registerSummary(ps.arch)+")", "the %s kernel has no $argN (no regs_get_kernel_argument)", ps.arch)
		}
		entry := fl.kernel && fl.fentry
		if !newer && !entry {
			return nil, ps.err(BAD_VAR, col, argNHint(fl), "$argN is only available at a function entry")
		}
		n, ok := kstrtoul(name[3:], 10, 64)
		if !ok {
			return nil, ps.err(BAD_VAR, col, "$arg1, $arg2, ...", "bad variable %q", s)
		}
		if n == 0 || n > ps.arch.paramMaxStack() {
			return nil, ps.err(BAD_ARG_NUM, col, "$arg1 and up: arguments count from 1", "bad argument number %d", n)
		}
		if !entry && !(fl.kernel && fl.ret && ps.opts.has(featArgNReturn)) {
			return nil, ps.err(NOFENTRY_ARGS, col, argNHint(fl), "$argN is only available at a function entry")
		}
		if err := ps.need(featArgN, col); err != nil {
			return nil, err
		}
		return &Fetch{Kind: FetchArgN, N: n}, nil
	}
	return nil, ps.err(BAD_VAR, col, "$retval, $stack, $stackN, $comm, $argN", "unknown variable %q", s)
}

// parseMem handles @ADDR, @+OFFS and @SYM[+|-OFFS].
func (ps *parser) parseMem(s string, col int, fl argFlags) (*Fetch, int, error) {
	if len(s) > 1 && isDigit(s[1]) {
		v, ok := kstrtoul(s[1:], 0, ps.ptrBits)
		if !ok {
			return nil, 0, ps.err(BAD_MEM_ADDR, col, "@0xADDRESS", "bad memory address %q", s[1:])
		}
		return &Fetch{Kind: FetchMemAddr, Addr: v}, 1, nil
	}
	if len(s) > 1 && s[1] == '+' {
		if fl.kernel {
			return nil, 0, ps.err(FILE_ON_KPROBE, col, "@+OFFS is for uprobes; kprobes take @ADDR or @SYM", "file offsets are not available on kprobes")
		}
		v, ok := kstrtol(s[2:], 0, ps.ptrBits)
		if !ok {
			return nil, 0, ps.err(BAD_FILE_OFFS, col, "@+0xOFFSET", "bad file offset %q", s[2:])
		}
		if err := ps.need(featFileOffset, col); err != nil {
			return nil, 0, err
		}
		return &Fetch{Kind: FetchFileOffset, Offset: v}, 1, nil
	}
	if !fl.kernel {
		return nil, 0, ps.err(SYM_ON_UPROBE, col, "uprobes take @ADDR or @+OFFS", "symbols are not available on uprobes")
	}
	sym := s[1:]
	var off int64
	if i := strings.IndexAny(sym, "+-"); i >= 0 {
		o, ok := kstrtol(sym[i:], 0, ps.ptrBits)
		if !ok {
			return nil, 0, ps.err(BAD_MEM_ADDR, col, "@SYM+OFFS or @SYM-OFFS", "bad symbol offset %q", sym[i:])
		}
		off, sym = o, sym[:i]
	}
	if sym == "" || !isSymbolName(sym) {
		return nil, 0, ps.err(BAD_MEM_ADDR, col, "@SYM[+|-OFFS] with a kernel data symbol", "bad symbol %q", s[1:])
	}
	return &Fetch{Kind: FetchSymbol, Symbol: sym, Offset: off}, 2, nil
}

// parseDeref handles +|-[u]OFFS(FETCHARG). The kernel computes the column of
// the inner expression from its own pointer arithmetic, which comes out one
// short for the 'u' forms; we do the same so the caret matches.
func (ps *parser) parseDeref(s string, col int, fl argFlags) (*Fetch, int, error) {
	user := len(s) > 1 && s[1] == 'u'
	a := s
	if user {
		a = s[:1] + s[2:]
	}
	if a[0] == '+' {
		a = a[1:]
	}
	p := strings.IndexByte(a, '(')
	if p < 0 {
		return nil, 0, ps.err(DEREF_NEED_BRACE, col, "+OFFS(FETCHARG)", "dereference %q has no '('", s)
	}
	off, ok := kstrtol(a[:p], 0, ps.ptrBits)
	if !ok {
		return nil, 0, ps.err(BAD_DEREF_OFFS, col, "+0(%REG), -8(...), +0x10(...)", "bad dereference offset %q", a[:p])
	}
	inCol := col + p + 1
	if a[0] != '-' {
		inCol++
	}
	inner := a[p+1:]
	rp := strings.LastIndexByte(inner, ')')
	if rp < 0 {
		return nil, 0, ps.err(DEREF_OPEN_BRACE, inCol+len(inner), "close every '(' with ')'", "dereference has no ')'")
	}
	if rp != len(inner)-1 {
		return nil, 0, ps.err(BAD_FETCH_ARG, inCol+rp+1, "nothing may follow the ')' of a dereference except :TYPE", "unexpected %q after ')' (the kernel would silently ignore it)", inner[rp+1:])
	}
	in, last, err := ps.parseFetch(inner[:rp], inCol, fl)
	if err != nil {
		return nil, 0, err
	}
	if in.Kind == FetchComm || in.Kind == FetchImmString {
		return nil, 0, ps.err(COMM_CANT_DEREF, inCol, "$comm and \\\"STR\" are strings already: NAME=$comm", "%q cannot be dereferenced", inner[:rp])
	}
	last++
	if last == fetchInsnMax-1 {
		return nil, 0, ps.err(TOO_MANY_OPS, inCol, "at most 14 nested dereferences", "dereferences nested too deep")
	}
	if user {
		if err := ps.need(featUserDeref, col); err != nil {
			return nil, 0, err
		}
	}
	return &Fetch{Kind: FetchDeref, Offset: off, User: user, Inner: in, innerCol: inCol}, last, nil
}

// parseImm handles \IMM (str_to_immediate) and \"STR" (__parse_imm_string).
func (ps *parser) parseImm(s string, col int) (*Fetch, error) {
	if err := ps.need(featImmediate, col); err != nil {
		return nil, err
	}
	if len(s) > 1 && s[1] == '"' {
		str := s[2:]
		if str == "" || str[len(str)-1] != '"' {
			return nil, ps.err(IMMSTR_NO_CLOSE, col+2+len(str), "\\\"STRING\" (no spaces; ':' ends it)", "string is not closed with '\"'")
		}
		return &Fetch{Kind: FetchImmString, Str: str[:len(str)-1]}, nil
	}
	t := s[1:]
	var v int64
	ok, unsigned := false, false
	switch {
	case t == "":
	case isDigit(t[0]):
		var u uint64
		u, ok = kstrtoul(t, 0, ps.ptrBits)
		v, unsigned = int64(u), true
	case t[0] == '-':
		v, ok = kstrtol(t, 0, ps.ptrBits)
	case t[0] == '+':
		v, ok = kstrtol(t[1:], 0, ps.ptrBits)
	}
	if !ok {
		return nil, ps.err(BAD_IMM, col+1, "\\123, \\0x10, \\-1", "bad immediate value %q", t)
	}
	return &Fetch{Kind: FetchImm, Imm: v, immUnsigned: unsigned}, nil
}

// article prefixes the architecture name with "a" or "an" as it is spoken
// ("an x86_64", "a riscv64").
func article(a Arch) string {
	switch a {
	case ArchRISCV64, ArchPPC64:
		return "a " + a.String()
	}
	return "an " + a.String()
}
