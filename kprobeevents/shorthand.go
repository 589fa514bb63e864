package kprobeevents

import (
	"strings"
)

// Shorthand is perf-tools' uprobe syntax, which tracelet probe add accepts
// next to the kernel's: p|r:BINARY:SYMBOL[+OFFS] [ARGS], or
// p|r:BINARY:ADDR. BINARY is a command found in PATH ("bash"), a library
// name ("libc") or a path ("/bin/bash"); turning it and the symbol into a
// file and a file offset needs the file system and ELF, which is the
// tracefs package's job, so a Shorthand is resolved in two steps:
//
//	sh, _ := ParseShorthand("p:bash:readline", opts)
//	path, off := ... // look up sh.Binary and sh.Symbol
//	probe, err := sh.Resolve(path, off)
type Shorthand struct {
	Type   ProbeType // Uprobe or Uretprobe
	Binary string    // as written: "bash", "libc", "/bin/bash"
	// Symbol is the function to probe, "" when Addr was given instead.
	Symbol string
	// SymOffset is the +OFFS after the symbol, added to the symbol's file
	// offset by Resolve.
	SymOffset uint64
	// Addr is the ADDR form: an address in the binary's symbol-table
	// space, which the caller converts to a file offset through the
	// PT_LOAD program headers before Resolve.
	Addr    uint64
	HasAddr bool
	// Args are the fetchargs after the probe point, as written.
	Args []string

	spec string
	opts Options
}

// IsShorthand reports whether spec is perf-tools shorthand rather than the
// kernel's syntax: its first word is p: or r: followed by two more
// colon-separated parts (BINARY:SYMBOL), where the kernel's first word has
// at most one colon (p:GRP/EVENT).
func IsShorthand(spec string) bool {
	f := strings.Fields(spec)
	if len(f) == 0 {
		return false
	}
	w := f[0]
	if len(w) < 2 || (w[0] != 'p' && w[0] != 'r') || w[1] != ':' {
		return false
	}
	rest := w[2:]
	i := strings.LastIndexByte(rest, ':')
	return i > 0 && i < len(rest)-1
}

// ParseShorthand parses perf-tools shorthand. The arguments are checked as
// uprobe fetchargs now, so that a mistake is reported with its column in
// spec before any lookup.
func ParseShorthand(spec string, opts Options) (*Shorthand, error) {
	ps := newParser(opts)
	if e := checkChars(spec); e != nil {
		return nil, e
	}
	ps.split(spec)
	if !IsShorthand(ps.cmd) {
		return nil, ps.err(BAD_COMMAND, 0, "p:BINARY:SYMBOL[+OFFS] [ARGS] or r:BINARY:SYMBOL", "%q is not perf-tools shorthand", spec)
	}
	w := ps.words[0]
	sh := &Shorthand{Type: Uprobe, spec: ps.cmd, opts: opts}
	if w[0] == 'r' {
		sh.Type = Uretprobe
	}
	rest := w[2:]
	i := strings.LastIndexByte(rest, ':')
	sh.Binary = rest[:i]
	sym, symCol := rest[i+1:], 2+i+1
	if isDigit(sym[0]) {
		v, ok := kstrtoul(sym, 0, ps.ptrBits)
		if !ok {
			return nil, ps.err(BAD_UPROBE_OFFS, symCol, "an address such as 0x4245c0, or a symbol", "bad address %q", sym)
		}
		sh.Addr, sh.HasAddr = v, true
	} else {
		if j := strings.IndexByte(sym, '+'); j >= 0 {
			v, ok := kstrtoul(sym[j+1:], 0, ps.ptrBits)
			if !ok {
				return nil, ps.err(BAD_PROBE_ADDR, symCol+j, "SYMBOL+OFFS with a number", "bad offset %q", sym[j:])
			}
			sh.SymOffset, sym = v, sym[:j]
		}
		if sym == "" || !isELFSymbol(sym) {
			return nil, ps.err(BAD_PROBE_ADDR, symCol, "a function name such as readline or malloc", "bad symbol %q", sym)
		}
		sh.Symbol = sym
	}
	sh.Args = append([]string(nil), ps.words[1:]...)
	if len(sh.Args) > 0 {
		// Check the arguments on a stand-in probe, and move the caret
		// back into spec.
		const stand = "p:uprobes/shorthand /shorthand:0"
		o := opts
		o.Target = TargetUprobe
		if sh.Type == Uretprobe {
			_, err := Parse("r"+stand[1:]+" "+strings.Join(sh.Args, " "), o)
			if err != nil {
				return nil, sh.moveErr(err, len(stand)+1)
			}
		} else if _, err := Parse(stand+" "+strings.Join(sh.Args, " "), o); err != nil {
			return nil, sh.moveErr(err, len(stand)+1)
		}
	}
	return sh, nil
}

func (sh *Shorthand) moveErr(err error, standLen int) error {
	e, ok := err.(*Error)
	if !ok {
		return err
	}
	argStart := strings.IndexByte(sh.spec, ' ') + 1
	return &Error{Kind: e.Kind, Col: e.Col - standLen + argStart, Input: sh.spec, Msg: e.Msg, Hint: e.Hint}
}

// isELFSymbol accepts C and C++ (mangled) names and versioned names such as
// memcpy@GLIBC_2.14.
func isELFSymbol(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isAlpha(c) && !isDigit(c) && c != '_' && c != '.' && c != '@' && c != '$' {
			return false
		}
	}
	return true
}

// EventName is the event name Resolve gives the probe: p_ or r_, the
// binary's base name up to its first '.', and the symbol (or the address),
// e.g. p_bash_readline, r_libc_malloc, p_bash_0x4245c0. Characters that
// may not appear in an event name become '_'.
func (sh *Shorthand) EventName() string {
	c := "p_"
	if sh.Type == Uretprobe {
		c = "r_"
	}
	base := sh.Binary
	if i := strings.LastIndexByte(base, '/'); i >= 0 {
		base = base[i+1:]
	}
	if i := strings.IndexByte(base, '.'); i > 0 {
		base = base[:i]
	}
	what := sh.Symbol
	if sh.HasAddr {
		what = "0x" + strings.ToLower(strconvHex(sh.Addr))
	} else if sh.SymOffset != 0 {
		what += "_" + strconvHex(sh.SymOffset)
	}
	b := []byte(c + base + "_" + what)
	for i := range b {
		if !isAlpha(b[i]) && !isDigit(b[i]) && b[i] != '_' {
			b[i] = '_'
		}
	}
	if len(b) > MaxEventNameLen-1 {
		b = b[:MaxEventNameLen-1]
	}
	return string(b)
}

// Resolve builds the uprobe once the caller has found the file (path) and
// the file offset of Symbol, or of Addr for the address form. SymOffset is
// added to fileOffset. The probe goes in the default group with
// EventName(); set Group (tracelet uses tracelet_<pid>) before writing it.
func (sh *Shorthand) Resolve(path string, fileOffset uint64) (*Probe, error) {
	if !strings.ContainsRune(path, '/') {
		return nil, &Error{Kind: WRONG_FILE, Input: path, Msg: "resolved path " + path + " has no '/'",
			Hint: "pass the file's path, e.g. /usr/bin/bash"}
	}
	def := "p:" + DefaultUprobeGroup + "/" + sh.EventName() + " " + path + ":0x" + strconvHex(fileOffset+sh.SymOffset)
	if sh.Type == Uretprobe {
		def = "r" + def[1:]
	}
	if len(sh.Args) > 0 {
		def += " " + strings.Join(sh.Args, " ")
	}
	o := sh.opts
	o.Target = TargetUprobe
	return ParseProbe(def, o)
}

func strconvHex(v uint64) string {
	const digits = "0123456789abcdef"
	if v == 0 {
		return "0"
	}
	var buf [16]byte
	i := len(buf)
	for v > 0 {
		i--
		buf[i] = digits[v&15]
		v >>= 4
	}
	return string(buf[i:])
}
