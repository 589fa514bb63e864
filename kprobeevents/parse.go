package kprobeevents

import (
	"fmt"
	"strconv"
	"strings"
)

// Parse reads one definition, in the syntax written to kprobe_events,
// uprobe_events or dynamic_events, or printed back when those files are
// read, and validates it the way the kernel would, before anything is
// written. The result is a *Probe or a *Removal with the defaults the kernel
// fills in (group, event name, argument names) made explicit, so its
// String() is the line the kernel will print.
//
// Errors are *Error values with the kernel's class and caret column.
func Parse(def string, opts Options) (Definition, error) {
	ps := newParser(opts)
	return ps.parse(def)
}

// ParseProbe is Parse for a definition that must create a probe.
func ParseProbe(def string, opts Options) (*Probe, error) {
	d, err := Parse(def, opts)
	if err != nil {
		return nil, err
	}
	p, ok := d.(*Probe)
	if !ok {
		return nil, &Error{Kind: BAD_COMMAND, Input: def, Msg: "this removes an event, it does not define a probe",
			Hint: "a probe is p[:[GRP/]EVENT] TARGET [ARGS] or r[MAXACTIVE][:[GRP/]EVENT] TARGET [ARGS]"}
	}
	return p, nil
}

// Validate checks a Probe built in code as Parse checks a definition: it
// renders the canonical text and parses it back, so columns in the error
// refer to p.String().
func (p *Probe) Validate(opts Options) error {
	if p == nil {
		return &Error{Kind: BAD_COMMAND, Msg: "nil probe"}
	}
	switch p.Type {
	case Kprobe, Kretprobe:
		if opts.Target == TargetUprobe {
			return &Error{Kind: WRONG_FILE, Input: p.String(), Msg: "a " + p.Type.String() + " cannot go to uprobe_events", Hint: "write it to kprobe_events or dynamic_events"}
		}
		opts.Target = TargetKprobe
		if p.Path != "" {
			return &Error{Kind: BAD_COMMAND, Input: p.String(), Msg: "a kprobe has no Path", Hint: "use Type Uprobe or Uretprobe for PATH:OFFSET"}
		}
	case Uprobe, Uretprobe:
		if opts.Target == TargetKprobe {
			return &Error{Kind: WRONG_FILE, Input: p.String(), Msg: "a " + p.Type.String() + " cannot go to kprobe_events", Hint: "write it to uprobe_events or dynamic_events"}
		}
		opts.Target = TargetUprobe
		if p.Symbol != "" || p.Module != "" || p.Addr != 0 {
			return &Error{Kind: BAD_COMMAND, Input: p.String(), Msg: "a uprobe has no Symbol, Module or Addr", Hint: "resolve the symbol to a file offset first (see Shorthand.Resolve)"}
		}
		if p.MaxActive != 0 {
			return &Error{Kind: BAD_MAXACT_TYPE, Col: 1, Input: p.String(), Msg: "uprobes have no MAXACTIVE"}
		}
	case Fprobe, Fretprobe, Tprobe, Eprobe:
		if opts.Target != TargetAuto {
			return &Error{Kind: WRONG_FILE, Input: p.String(), Msg: "a " + p.Type.String() + " cannot go to " + opts.Target.String(), Hint: "write it to dynamic_events"}
		}
		if p.Type != Fretprobe && p.MaxActive != 0 {
			return &Error{Kind: BAD_MAXACT_TYPE, Col: 1, Input: p.String(), Msg: "MAXACTIVE is only for fprobe exit probes"}
		}
		if p.Type == Eprobe && p.Filter != "" {
			_, err := Parse(p.String()+" if "+p.Filter, opts)
			return err
		}
	default:
		return &Error{Kind: BAD_COMMAND, Input: p.String(), Msg: "probe type not set", Hint: "set Type to Kprobe, Kretprobe, Uprobe, Uretprobe, Fprobe, Fretprobe, Tprobe or Eprobe"}
	}
	if p.Type == Kprobe && p.MaxActive != 0 {
		return &Error{Kind: BAD_MAXACT_TYPE, Col: 1, Input: p.String(), Msg: "MAXACTIVE is only for kretprobes"}
	}
	for i, a := range p.Args {
		if a.Fetch == nil {
			return &Error{Kind: NO_ARG_BODY, Input: p.String(), Msg: fmt.Sprintf("argument %d has no fetch expression", i+1)}
		}
	}
	_, err := Parse(p.String(), opts)
	return err
}

type parser struct {
	opts Options
	// lastBTF is the BTF type of the argument parsed last (the kernel's
	// ctx->last_type), nil when unknown.
	lastBTF *BTFType
	arch    Arch
	ptrBits int
	words   []string
	cols    []int
	cmd     string
	// Backing arrays for words and cols: most definitions have few words,
	// and this keeps them in the parser's one allocation.
	wordBuf [12]string
	colBuf  [12]int
}

func newParser(opts Options) *parser {
	a := opts.arch()
	ps := &parser{opts: opts, arch: a, ptrBits: a.PtrBits()}
	ps.words, ps.cols = ps.wordBuf[:0], ps.colBuf[:0]
	return ps
}

// argFlags is the kernel's TPARG_FL_* for the probe being parsed.
type argFlags struct {
	kernel bool // TPARG_FL_KERNEL (kprobes), else TPARG_FL_USER
	ret    bool // TPARG_FL_RETURN
	fentry bool // TPARG_FL_FENTRY: a kprobe on a function's first instruction
	fprobe bool // TPARG_FL_FPROBE: f: and t: probes, which have no registers
	tpoint bool // TPARG_FL_TPOINT: a t: probe
	tevent bool // TPARG_FL_TEVENT: an e: probe, whose $NAME are event fields
	// funcname is the function whose BTF names the arguments (the probe
	// stub of a tracepoint).
	funcname string
	// fields are the attached event's fields of an e: probe, when
	// haveFields says Options.Events told them.
	fields     []string
	haveFields bool
}

func (ps *parser) err(kind ErrorKind, col int, hint, format string, args ...any) *Error {
	return &Error{Kind: kind, Col: col, Input: ps.cmd, Msg: fmt.Sprintf(format, args...), Hint: hint}
}

func (ps *parser) need(f feature, col int) error {
	return ps.needAs(NOT_SUPPORTED, f, col)
}

// needAs reports a missing feature with the class the older kernel itself
// would log (an unknown type is BAD_TYPE there).
func (ps *parser) needAs(kind ErrorKind, f feature, col int) error {
	if ps.opts.has(f) {
		return nil
	}
	return ps.err(kind, col, "", "%s needs Linux %d.%d or newer (the target kernel is %s)", f.what, f.maj, f.min, ps.opts.Kernel)
}

// checkChars refuses what would not reach the kernel's parser as one
// definition: trace_parse_run_command() ends a command at '\n' and drops
// everything after '#', a NUL ends the C string, and the kprobe_event= boot
// parameter ends a definition at ';'.
func checkChars(def string) *Error {
	for i := 0; i < len(def); i++ {
		c := def[i]
		var what string
		switch {
		case c == 0:
			what = "a NUL byte"
		case c == '\n':
			what = "a newline, which would start a second definition"
		case c == '\r':
			what = "a carriage return"
		case c == ';':
			what = "';', which separates definitions in the kprobe_event= boot parameter"
		case c == '#':
			what = "'#', which starts a comment: the kernel would drop the rest of the line"
		case c < ' ' && c != '\t' || c == 0x7f:
			what = fmt.Sprintf("the control character %#02x", c)
		default:
			continue
		}
		return &Error{Kind: UNSAFE_CHAR, Col: i, Input: def, Msg: "definition contains " + what,
			Hint: "one definition per write, with printable characters only"}
	}
	return nil
}

// split is argv_split(): words separated by the kernel's isspace(), which
// also counts the Latin-1 no-break space 0xa0. The error_log shows the words
// joined by single spaces, and columns count in that string.
func (ps *parser) split(def string) {
	ps.words = ps.words[:0]
	ps.cols = ps.cols[:0]
	col := 0
	for i := 0; i < len(def); {
		for i < len(def) && (isSpace(def[i]) || def[i] == 0xa0) {
			i++
		}
		j := i
		for j < len(def) && !isSpace(def[j]) && def[j] != 0xa0 {
			j++
		}
		if j > i {
			ps.words = append(ps.words, def[i:j])
			ps.cols = append(ps.cols, col)
			col += j - i + 1
		}
		i = j
	}
	ps.cmd = strings.Join(ps.words, " ")
}

func (ps *parser) parse(def string) (Definition, error) {
	if e := checkChars(def); e != nil {
		return nil, e
	}
	ps.split(def)
	if len(ps.words) == 0 {
		return nil, ps.err(BAD_COMMAND, 0, "a probe is p[:[GRP/]EVENT] TARGET [ARGS], r[MAXACTIVE][:[GRP/]EVENT] TARGET [ARGS] or -:[GRP/]EVENT", "empty definition")
	}
	if len(ps.cmd) > maxLineLen {
		return nil, ps.err(DEF_TOO_LONG, maxLineLen, "", "definition is %d bytes; the kernel parses at most %d per line", len(ps.cmd), maxLineLen)
	}
	w0 := ps.words[0]
	switch w0[0] {
	case '-':
		return ps.parseRemoval()
	case 'p', 'r':
	case 'f', 't', 'e':
		if ps.opts.Target != TargetAuto {
			return nil, ps.err(WRONG_FILE, 0, "write "+w0[:1]+": definitions to dynamic_events", "%s cannot take a %c: definition", ps.opts.Target, w0[0])
		}
		if len(ps.words) < 2 {
			return nil, ps.err(BAD_COMMAND, len(ps.cmd), "f: SYM, t: TRACEPOINT, e: SYSTEM.EVENT", "no probe point after %q", w0)
		}
		var d *Probe
		var err error
		if w0[0] == 'e' {
			d, err = ps.parseEprobe()
		} else {
			d, err = ps.parseFprobe()
		}
		if err != nil {
			return nil, err
		}
		return ps.finish(d)
	default:
		if isAlpha(w0[0]) && (len(w0) == 1 || w0[1] == ':') {
			return nil, ps.err(NOT_PROBE, 0, "", "%q is a %c: dynamic event, not a kprobe or uprobe", w0, w0[0])
		}
		return nil, ps.err(BAD_COMMAND, 0, "definitions start with p, r or -", "unknown command %q", w0)
	}
	if len(ps.words) < 2 {
		return nil, ps.err(BAD_COMMAND, len(ps.cmd), "kprobe: [MOD:]SYM[+OFFS] or ADDR; uprobe: PATH:OFFSET", "no probe point after %q", w0)
	}
	isRet := w0[0] == 'r'
	w1 := ps.words[1]
	_, numeric := kstrtoul(w1, 0, ps.ptrBits)
	pathLike := !numeric && strings.ContainsRune(w1, '/') && strings.ContainsRune(w1, ':')
	if ps.opts.Target == TargetKprobe && pathLike {
		return nil, ps.err(WRONG_FILE, ps.cols[1], "write uprobes to uprobe_events or dynamic_events", "%q is a uprobe target (PATH:OFFSET), not a kernel symbol or address", w1)
	}
	d, err := ps.parseProbe(w0, isRet, pathLike)
	if err != nil {
		return nil, err
	}
	return ps.finish(d)
}

func (ps *parser) finish(d *Probe) (Definition, error) {
	d.ptrBits = ps.ptrBits
	// The canonical line is what gets written; it spells out defaults
	// and may be longer than the input.
	if n := len(d.format(ps.ptrBits)); n > maxLineLen {
		return nil, ps.err(DEF_TOO_LONG, min(len(ps.cmd), maxLineLen), "", "the definition is %d bytes written out; the kernel parses at most %d per line", n, maxLineLen)
	}
	return d, nil
}

func (ps *parser) parseProbe(w0 string, isRet, pathLike bool) (*Probe, error) {
	switch ps.opts.Target {
	case TargetKprobe:
		return ps.parseKprobe(isRet)
	case TargetUprobe:
		return ps.parseUprobe(isRet)
	}
	if pathLike {
		// dynamic_events offers the line to the kprobe parser first, which
		// checks MAXACTIVE before it gives up on a PATH target.
		if len(w0) > 1 && isDigit(w0[1]) {
			if _, _, err := ps.maxActive(isRet); err != nil {
				return nil, err
			}
		}
		return ps.parseUprobe(isRet)
	}
	return ps.parseKprobe(isRet)
}

// maxActive parses r[MAXACTIVE] and returns it with the event text after ':'
// (nil when there is no ':'). The kernel puts the caret of every MAXACTIVE
// error at column 1.
func (ps *parser) maxActive(isRet bool) (int, *string, error) {
	w0 := ps.words[0]
	var ev *string
	n := len(w0) - 1
	if i := strings.IndexByte(w0[1:], ':'); i >= 0 {
		s := w0[i+2:]
		ev = &s
		n = i
	}
	if len(w0) < 2 || !isDigit(w0[1]) {
		if n > 0 {
			return 0, nil, ps.err(BAD_COMMAND, 1, "p[:[GRP/]EVENT] or r[MAXACTIVE][:[GRP/]EVENT]", "unexpected %q after %q", w0[1:1+n], w0[:1])
		}
		return 0, ev, nil
	}
	if !isRet {
		return 0, nil, ps.err(BAD_MAXACT_TYPE, 1, "use r"+w0[1:1+n]+" for a kretprobe", "MAXACTIVE is only for return probes")
	}
	if n > MaxEventNameLen-1 {
		return 0, nil, ps.err(BAD_MAXACT, 1, "1..4096", "MAXACTIVE %q is too long", w0[1:1+n])
	}
	v, ok := kstrtoul(w0[1:1+n], 0, 32)
	if !ok || v == 0 {
		return 0, nil, ps.err(BAD_MAXACT, 1, "a number 1..4096", "bad MAXACTIVE %q", w0[1:1+n])
	}
	if v > MaxActiveMax {
		return 0, nil, ps.err(MAXACT_TOO_BIG, 1, "at most 4096", "MAXACTIVE %d is too big", v)
	}
	if err := ps.need(featMaxActive, 1); err != nil {
		return 0, nil, err
	}
	return int(v), ev, nil
}

func (ps *parser) parseKprobe(isRet bool) (*Probe, error) {
	p := &Probe{Type: Kprobe, ptrBits: ps.ptrBits}
	maxact, ev, err := ps.maxActive(isRet)
	if err != nil {
		return nil, err
	}
	p.MaxActive = maxact
	w1, c1 := ps.words[1], ps.cols[1]
	fl := argFlags{kernel: true}
	if v, ok := kstrtoul(w1, 0, ps.ptrBits); ok {
		if v == 0 {
			return nil, ps.err(FAIL_REG_PROBE, c1, "a kernel address or [MOD:]SYM[+OFFS]", "cannot probe address 0")
		}
		p.Addr = v
	} else {
		if strings.ContainsRune(w1, '/') && strings.ContainsRune(w1, ':') {
			return nil, ps.err(BAD_COMMAND, c1, "a uprobe target is PATH:OFFSET with a number after the last ':'", "%q is neither a kernel symbol nor a uprobe target", w1)
		}
		sym := w1
		if i := strings.IndexByte(sym, '%'); i >= 0 {
			if sym[i:] != "%return" {
				return nil, ps.err(BAD_ADDR_SUFFIX, c1+i, "the only suffix is %return", "unknown suffix %q", sym[i:])
			}
			if err := ps.need(featReturnSufx, c1+i); err != nil {
				return nil, err
			}
			sym = sym[:i]
			isRet = true
			p.Return = true
		}
		var off int64
		if i := strings.IndexAny(sym, "+-"); i >= 0 {
			o, ok := kstrtol(sym[i:], 0, ps.ptrBits)
			if !ok || o < 0 || o > 0xffffffff {
				return nil, ps.err(BAD_PROBE_ADDR, c1, "SYM+OFFS with 0 <= OFFS <= 4294967295", "bad offset %q", sym[i:])
			}
			off = o
			sym = sym[:i]
		}
		mod := ""
		hasMod := false
		if i := strings.IndexByte(sym, ':'); i >= 0 {
			mod, sym, hasMod = sym[:i], sym[i+1:], true
		}
		if sym == "" || len(sym) >= ksymNameLen || !isSymbolName(sym) || hasMod && (mod == "" || !isModuleName(mod)) {
			return nil, ps.err(BAD_PROBE_ADDR, c1, "[MOD:]SYM[+OFFS] with a kernel symbol name, or an address", "%q is not a kernel symbol", w1)
		}
		if isRet && off != 0 {
			return nil, ps.err(BAD_RETPROBE, c1, "a return probe goes on the function entry: SYM or SYM+0", "return probe at %s+%d is not a function entry", sym, off)
		}
		p.Module, p.Symbol, p.Offset = mod, sym, uint64(off)
		fl.ret = isRet
		fl.fentry = !isRet && off == 0
	}
	if isRet {
		p.Type = Kretprobe
	}
	if ev != nil {
		g, e, err := ps.eventName(*ev, 2+strings.IndexByte(ps.words[0][1:], ':'))
		if err != nil {
			return nil, err
		}
		p.Group, p.Event = g, e
	}
	if p.Group == "" {
		p.Group = DefaultKprobeGroup
	}
	if p.Event == "" {
		p.Event = p.DefaultEventName()
	}
	fl.funcname = p.Symbol
	if err := ps.parseArgs(p, fl, ps.words[2:], ps.cols[2:]); err != nil {
		return nil, err
	}
	return p, nil
}

// isSymbolName accepts kernel symbol names (including compiler suffixes
// like foo.isra.0). A name may not start with a digit: the kernel would read
// such a target as an address, and no kernel symbol looks like that.
// ksymNameLen is KSYM_NAME_LEN (512 since 6.1): no kernel symbol is longer.
const ksymNameLen = 512

func isSymbolName(s string) bool {
	if s == "" || isDigit(s[0]) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isAlpha(c) && !isDigit(c) && c != '_' && c != '.' {
			return false
		}
	}
	return true
}

func isModuleName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isAlpha(c) && !isDigit(c) && c != '_' {
			return false
		}
	}
	return true
}

func (ps *parser) parseUprobe(isRet bool) (*Probe, error) {
	p := &Probe{Type: Uprobe, ptrBits: ps.ptrBits}
	w0, w1, c1 := ps.words[0], ps.words[1], ps.cols[1]
	var ev *string
	if len(w0) > 1 {
		if w0[1] != ':' {
			return nil, ps.err(BAD_COMMAND, 1, "p[:[GRP/]EVENT] or r[:[GRP/]EVENT]", "uprobes take no MAXACTIVE or other text after %q; the kernel would ignore the event name", w0[:1])
		}
		s := w0[2:]
		ev = &s
	}
	colon := strings.LastIndexByte(w1, ':')
	if !strings.ContainsRune(w1, '/') || colon < 0 || colon+1 >= len(w1) || !isDigit(w1[colon+1]) {
		kind := BAD_COMMAND
		if ps.opts.Target == TargetUprobe {
			kind = WRONG_FILE
		}
		return nil, ps.err(kind, c1, "a uprobe target is PATH:OFFSET, a path with '/' and a file offset; kernel symbols go to kprobe_events", "%q is not a uprobe target", w1)
	}
	p.Path = w1[:colon]
	arg := w1[colon+1:]
	base := c1 + colon + 1
	if r := strings.IndexByte(arg, '('); r >= 0 {
		e := strings.IndexByte(arg[r:], ')')
		if e < 0 {
			return nil, ps.err(REFCNT_OPEN_BRACE, c1+len(w1), "PATH:OFFSET(REF_CTR_OFFSET)", "reference counter offset has no ')'")
		}
		e += r
		if e+1 != len(arg) {
			return nil, ps.err(BAD_REFCNT_SUFFIX, base+e+1, "nothing may follow (REF_CTR_OFFSET)", "unexpected %q after the reference counter", arg[e+1:])
		}
		v, ok := kstrtoul(arg[r+1:e], 0, ps.ptrBits)
		if !ok {
			return nil, ps.err(BAD_REFCNT, base+r+1, "a number, e.g. (0x1234)", "bad reference counter offset %q", arg[r+1:e])
		}
		if err := ps.need(featRefCtr, base+r); err != nil {
			return nil, err
		}
		p.RefCtrOffset, p.HasRefCtr = v, true
		arg = arg[:r]
	}
	if i := strings.IndexByte(arg, '%'); i >= 0 {
		if arg[i:] != "%return" {
			return nil, ps.err(BAD_ADDR_SUFFIX, base+i, "the only suffix is %return", "unknown suffix %q", arg[i:])
		}
		if err := ps.need(featReturnSufx, base+i); err != nil {
			return nil, err
		}
		arg = arg[:i]
		isRet = true
		p.Return = true
	}
	off, ok := kstrtoul(arg, 0, ps.ptrBits)
	if !ok {
		return nil, ps.err(BAD_UPROBE_OFFS, base, "a file offset such as 0x4245c0 (not a symbol)", "bad uprobe offset %q", arg)
	}
	p.Offset = off
	if isRet {
		p.Type = Uretprobe
	}
	if ev != nil {
		g, e, err := ps.eventName(*ev, 2)
		if err != nil {
			return nil, err
		}
		p.Group, p.Event = g, e
	}
	if p.Group == "" {
		p.Group = DefaultUprobeGroup
	}
	if p.Event == "" {
		p.Event = p.DefaultEventName()
		if !isGoodName(p.Event) {
			return nil, ps.err(BAD_EVENT_NAME, 1, "name the event: p:GRP/EVENT PATH:OFFSET", "the kernel would name this event %q, which is not a valid event name", p.Event)
		}
	}
	if err := ps.parseArgs(p, argFlags{ret: isRet}, ps.words[2:], ps.cols[2:]); err != nil {
		return nil, err
	}
	return p, nil
}

// eventName is traceprobe_parse_event_name(): [GRP/]EVENT or GRP.EVENT,
// with the caret at the start of the part that is wrong.
func (ps *parser) eventName(s string, col int) (group, event string, err error) {
	slash := strings.IndexByte(s, '/')
	if slash < 0 {
		slash = strings.IndexByte(s, '.')
	}
	ev := s
	if slash >= 0 {
		if slash == 0 {
			return "", "", ps.err(NO_GROUP_NAME, col, "GRP/EVENT with a non-empty GRP", "empty group name")
		}
		if slash+1 > MaxEventNameLen {
			return "", "", ps.err(GROUP_TOO_LONG, col, "at most 63 characters", "group name is %d characters", slash)
		}
		group = s[:slash]
		if !isGoodSystemName(group) {
			return "", "", ps.err(BAD_GROUP_NAME, col, "letters, digits, '_' and '-', not starting with a digit", "bad group name %q", group)
		}
		ev = s[slash+1:]
		col += slash + 1
	}
	if ev == "" {
		if slash >= 0 {
			if err := ps.need(featGroupOnly, col); err != nil {
				return "", "", ps.err(NO_EVENT_NAME, col, "GRP/EVENT", "empty event name")
			}
			return group, "", nil
		}
		return "", "", ps.err(NO_EVENT_NAME, col, "p:[GRP/]EVENT, or leave out the ':' for a generated name", "empty event name")
	}
	if len(ev) >= MaxEventNameLen {
		return "", "", ps.err(EVENT_TOO_LONG, col, "at most 63 characters", "event name is %d characters", len(ev))
	}
	if !isGoodName(ev) {
		return "", "", ps.err(BAD_EVENT_NAME, col, "a C identifier: letters, digits and '_', not starting with a digit", "bad event name %q", ev)
	}
	return group, ev, nil
}

func (ps *parser) parseRemoval() (Definition, error) {
	w0 := ps.words[0]
	if len(w0) < 2 || w0[1] != ':' {
		return nil, ps.err(BAD_COMMAND, 1, "-:[GRP/]EVENT", "a removal is -:[GRP/]EVENT")
	}
	if len(ps.words) > 1 {
		return nil, ps.err(BAD_COMMAND, ps.cols[1], "-:[GRP/]EVENT", "unexpected %q after the event to remove", ps.words[1])
	}
	s, col := w0[2:], 2
	r := &Removal{}
	if i := strings.IndexByte(s, '/'); i >= 0 {
		r.Group = s[:i]
		if r.Group == "" {
			return nil, ps.err(NO_GROUP_NAME, col, "-:GRP/EVENT or -:EVENT", "empty group name")
		}
		if len(r.Group) >= MaxEventNameLen {
			return nil, ps.err(GROUP_TOO_LONG, col, "at most 63 characters", "group name is %d characters", len(r.Group))
		}
		if !isGoodSystemName(r.Group) {
			return nil, ps.err(BAD_GROUP_NAME, col, "letters, digits, '_' and '-'", "bad group name %q", r.Group)
		}
		s, col = s[i+1:], col+i+1
	}
	if s == "" {
		return nil, ps.err(NO_EVENT_NAME, col, "-:[GRP/]EVENT", "no event to remove")
	}
	if len(s) >= MaxEventNameLen {
		return nil, ps.err(EVENT_TOO_LONG, col, "at most 63 characters", "event name is %d characters", len(s))
	}
	if !isGoodName(s) {
		return nil, ps.err(BAD_EVENT_NAME, col, "a C identifier", "bad event name %q", s)
	}
	r.Event = s
	return r, nil
}

// reservedFields are the record fields an argument name may not reuse
// (reserved_field_names in trace_probe.c).
var reservedFields = []string{"common_type", "common_flags", "common_preempt_count",
	"common_pid", "common_tgid", "__probe_ip", "__probe_ret_ip", "__probe_func"}

func (ps *parser) parseArgs(p *Probe, fl argFlags, args []string, cols []int) error {
	nOrig := len(args)
	// traceprobe_expand_meta_args() looks at unnamed "$arg..." words of a
	// kprobe or fprobe before any argument is parsed (6.5+).
	expanded := false
	if fl.kernel && !fl.tevent && (ps.opts.Kernel.AtLeast(kernelCtxOffset.Major, kernelCtxOffset.Minor) || ps.opts.Offsets && ps.opts.BTF != nil) {
		expanded = true
		var err error
		args, err = ps.expandMeta(fl, args, cols)
		if err != nil {
			return err
		}
	}
	if len(args) > MaxTraceArgs {
		return ps.err(TOO_MANY_ARGS, cols[0], "at most 128 arguments", "%d arguments", len(args))
	}
	if len(args) == 0 {
		return nil
	}
	p.Args = make([]Arg, 0, len(args))
	size := 0
	for i, w := range args {
		// After $arg* grew the list, the kernel still counts its caret in
		// the words that were written; past their end it points after
		// the command.
		col := len(ps.cmd) + 1
		if i < nOrig {
			col = cols[i]
		}
		if w == "$arg*" && expanded {
			// Left as written when the BTF to expand it is unknown.
			p.Args = append(p.Args, Arg{Fetch: &Fetch{Kind: FetchBTF, Str: w}, text: w, canon: w})
			continue
		}
		a, err := ps.parseArg(p, i, w, col, fl, &size)
		if err != nil {
			if i >= nOrig {
				if e, ok := err.(*Error); ok {
					e.Col = len(ps.cmd) + 1
				}
			}
			return err
		}
		p.Args = append(p.Args, a)
	}
	return nil
}

// expandMeta is traceprobe_expand_meta_args(): it checks the unnamed
// "$arg..." words and, with the kernel's BTF, replaces $arg* by the
// function's parameter names and $argN by the Nth name, which is what the
// kernel then parses and prints back.
func (ps *parser) expandMeta(fl argFlags, args []string, cols []int) ([]string, error) {
	star, last := -1, -1
	for i, w := range args {
		if !hasPrefix(w, "$arg") {
			continue
		}
		last = i
		if !fl.fentry && !(fl.ret && ps.opts.hasExt(ExtArgNReturn)) {
			return nil, ps.err(NOFENTRY_ARGS, cols[i], argNHint(fl), "$argN is only available at a function entry")
		}
		if len(w) > 4 && isDigit(w[4]) {
			continue
		}
		if len(w) <= 4 || w[4] != '*' {
			return nil, ps.err(BAD_VAR, cols[i], "$arg1, $arg2, ... or $arg*", "bad variable %q", w)
		}
		if star >= 0 {
			return nil, ps.err(DOUBLE_ARGS, cols[i], "$arg* stands for all the arguments, once", "a second $arg*")
		}
		star = i
	}
	if last < 0 {
		return args, nil
	}
	if !ps.opts.hasExt(ExtBTFArgs) && !ps.opts.Offsets {
		if star >= 0 {
			return nil, ps.noBTFArgs(cols[last], "$arg*")
		}
		return args, nil
	}
	if ps.opts.BTF == nil {
		// Without the BTF the names are unknown: $arg* stays as written.
		return args, nil
	}
	params, ok := ps.params(fl)
	if !ok || len(params) == 0 {
		if star >= 0 {
			return nil, ps.err(NOSUP_BTFARG, cols[last], "name the arguments: dfd=$arg1 ...", "the kernel has no BTF for %s", fl.funcname)
		}
		return args, nil
	}
	out := make([]string, 0, len(args)+len(params))
	// The expanded words share one buffer of MAX_BTF_ARGS_LEN bytes,
	// each with its NUL.
	used := 0
	fits := func(s string, col int) error {
		if len(s) >= maxBTFArgsLen-used {
			return ps.err(ARGS_2LONG, col, "name the arguments you need instead of $arg*", "the expanded argument names take more than %d bytes", maxBTFArgsLen)
		}
		used += len(s) + 1
		return nil
	}
	for i, w := range args {
		switch {
		case i == star:
			for _, prm := range params {
				if err := fits(prm.Name, cols[i]); err != nil {
					return nil, err
				}
				out = append(out, prm.Name)
			}
		case hasPrefix(w, "$arg"):
			n, used, _ := parseRadix(w[4:], 10)
			rest := w[4+used:]
			if rest != "" && rest[0] != ':' {
				return nil, ps.err(BAD_VAR, cols[i], "$argN[:TYPE]", "bad variable %q", w)
			}
			if n == 0 {
				return nil, ps.err(BAD_ARG_NUM, cols[i], "$arg1 and up: arguments count from 1", "bad argument number 0")
			}
			if n > uint64(len(params)) {
				return nil, ps.err(NO_BTFARG, cols[i], fl.funcname+" has "+plural(len(params), "argument"), "no argument %d", n)
			}
			if err := fits(params[n-1].Name+rest, cols[i]); err != nil {
				return nil, err
			}
			out = append(out, params[n-1].Name+rest)
		default:
			out = append(out, w)
		}
	}
	return out, nil
}

func plural(n int, what string) string {
	s := strconv.Itoa(n) + " " + what
	if n != 1 {
		s += "s"
	}
	return s
}

// params returns the BTF parameters of the probed function, without a
// tracepoint stub's hidden first one; ok is false without BTF for it.
func (ps *parser) params(fl argFlags) ([]BTFParam, bool) {
	fn, ok := ps.proto(fl)
	if !ok {
		return nil, false
	}
	prm := fn.Params
	if fl.tpoint && len(prm) > 0 {
		prm = prm[1:]
	}
	return prm, true
}

func (ps *parser) proto(fl argFlags) (*BTFFunc, bool) {
	if ps.opts.BTF == nil || fl.funcname == "" {
		return nil, false
	}
	fn, err := ps.opts.BTF.Func(fl.funcname)
	if err != nil || fn == nil {
		return nil, false
	}
	return fn, true
}

// noBTFArgs refuses a BTF name on a kernel built without BTF arguments:
// it logs NOSUP_BTFARG there.
func (ps *parser) noBTFArgs(col int, what string) error {
	f := featBTFArgs
	if ps.opts.Extensions.Probed() {
		return ps.err(NOSUP_BTFARG, col, "name the arguments with registers or $argN", "%s needs %s, which the target kernel's README does not list (%s, Linux %d.%d+)", what, f.what, f.config, f.maj, f.min)
	}
	return ps.err(NOSUP_BTFARG, col, "name the arguments with registers or $argN", "%s needs %s (%s, Linux %d.%d+; the target kernel is %s)", what, f.what, f.config, f.maj, f.min, ps.opts.Kernel)
}

func argNHint(fl argFlags) string {
	if fl.kernel {
		return "$argN works on a kprobe at SYM (offset 0) and, since 6.10, on a kretprobe"
	}
	return "uprobes have no $argN: use the ABI's argument registers (x86_64: %di %si %dx %cx %r8 %r9)"
}

// op is the kernel fetch_insn a parsed expression ends with; finishing an
// argument (finalize_fetch_insn) decides by it.
type op int

const (
	opReg op = iota
	opStack
	opStackP
	opRetval
	opComm
	opArg
	opEdata
	opImm
	opData
	opDeref
	opUDeref
	opTPArg // FETCH_OP_TP_ARG: a field of an eprobe's attached event
)

func lastOp(f *Fetch, fl argFlags) op {
	switch f.Kind {
	case FetchReg:
		return opReg
	case FetchStackN:
		return opStack
	case FetchStack:
		return opStackP
	case FetchRetval:
		return opRetval
	case FetchComm:
		return opComm
	case FetchArgN:
		if fl.fentry {
			return opArg
		}
		return opEdata
	case FetchImm:
		return opImm
	case FetchImmString:
		return opData
	case FetchDeref:
		if f.User {
			return opUDeref
		}
		return opDeref
	case FetchField:
		return opTPArg
	case FetchBTF:
		if strings.Contains(f.Str, "->") {
			return opDeref
		}
		if fl.fentry {
			return opArg
		}
		return opEdata
	}
	return opDeref // @ADDR, @SYM, @+OFFS load and dereference
}

func (ps *parser) parseArg(p *Probe, i int, w string, col int, fl argFlags, size *int) (Arg, error) {
	var a Arg
	body, bodyCol := w, col
	if eq := strings.IndexByte(w, '='); eq >= 0 {
		if eq > MaxArgNameLen {
			return a, ps.err(ARG_NAME_TOO_LONG, col, "at most 32 characters", "argument name is %d characters", eq)
		}
		if eq == 0 {
			return a, ps.err(NO_ARG_NAME, col, "NAME=FETCHARG", "'=' without a name")
		}
		a.Name = w[:eq]
		body, bodyCol = w[eq+1:], col+eq+1
	} else {
		a.Name = "arg" + strconv.Itoa(i+1)
		if ps.opts.hasExt(ExtBTFArgs) || ps.opts.Offsets {
			cand := body
			if c := strings.IndexByte(cand, ':'); c >= 0 {
				cand = cand[:c]
			}
			if isGoodName(cand) {
				a.Name = cand
			}
		}
	}
	if len(a.Name) > MaxArgNameLen {
		// The kernel names an unnamed BTF argument after itself without
		// checking the length, and then prints a NAME= it would refuse.
		return a, ps.err(ARG_NAME_TOO_LONG, col, "give it a name of at most 32 characters: NAME="+body, "argument name %q would be %d characters", a.Name, len(a.Name))
	}
	if !isGoodName(a.Name) {
		return a, ps.err(BAD_ARG_NAME, col, "a C identifier: letters, digits and '_'", "bad argument name %q", a.Name)
	}
	for _, r := range reservedFields {
		if r == a.Name {
			return a, ps.err(USED_ARG_NAME, col, "pick another name", "%q is a reserved field name", a.Name)
		}
	}
	for _, prev := range p.Args {
		if prev.Name == a.Name {
			return a, ps.err(USED_ARG_NAME, col, "each argument needs its own name", "argument name %q is already used", a.Name)
		}
	}
	// The kernel keeps the text after NAME= and prints it back.
	text := body
	// traceprobe_expand_dentry_args() rewrites a kprobe's "...:%pd" and
	// "...:%pD" into a dereference chain before parsing it.
	var dentry TypeKind
	if fl.kernel && (strings.HasSuffix(w, ":%pd") || strings.HasSuffix(w, ":%pD")) && len(body) >= 4 {
		dentry = TypeDentry
		if body[len(body)-1] == 'D' {
			dentry = TypeFile
		}
		if ps.opts.Types != 0 {
			if err := ps.checkProbed(dentry, bodyCol+len(body)-3); err != nil {
				return a, err
			}
		} else if err := ps.need(featDentry, bodyCol+len(body)-3); err != nil {
			return a, err
		}
		body = body[:len(body)-4]
		// The expansion is "+0x0(+0xN(" FETCH "))" ":string", with one
		// more "+0xM(" ")" for %pD; N and M are the kernel's offsets,
		// two hex digits when the layout is not known.
		grow := 20
		if dentry == TypeFile {
			grow = 27
		}
		if !ps.opts.VFS.IsZero() {
			grow = len(ps.opts.VFS.expand("", dentry == TypeFile))
		}
		if len(body)+grow > MaxArgStrLen {
			return a, ps.err(ARG_TOO_LONG, bodyCol, "at most 63 characters after NAME=", "argument expands to %d characters", len(body)+grow)
		}
	}
	if len(body) > MaxArgStrLen {
		return a, ps.err(ARG_TOO_LONG, bodyCol, "at most 63 characters after NAME=", "argument expression is %d characters", len(body))
	}
	if body == "" {
		return a, ps.err(NO_ARG_BODY, bodyCol, "NAME=FETCHARG", "no fetch expression after %q", w)
	}
	fetchStr, typeStr, typeOff, hasType, count := body, "", 0, false, 0
	if t := strings.IndexByte(body, ':'); t >= 0 {
		hasType, fetchStr, typeStr, typeOff = true, body[:t], body[t+1:], t+1
		if t2 := strings.IndexByte(typeStr, '['); t2 >= 0 {
			rest := typeStr[t2+1:]
			t3 := strings.IndexByte(rest, ']')
			if t3 < 0 {
				return a, ps.err(ARRAY_NO_CLOSE, bodyCol+len(body), "TYPE[N]", "array size has no ']'")
			}
			if t3+1 != len(rest) {
				return a, ps.err(BAD_ARRAY_SUFFIX, bodyCol+typeOff+t2+1+t3+1, "nothing may follow TYPE[N]", "unexpected %q after the array size", rest[t3+1:])
			}
			n, ok := kstrtoul(rest[:t3], 0, 32)
			if !ok || n == 0 {
				return a, ps.err(BAD_ARRAY_NUM, bodyCol+typeOff+t2+1, "1..64", "bad array size %q", rest[:t3])
			}
			if n > MaxArrayLen {
				return a, ps.err(ARRAY_TOO_BIG, bodyCol+typeOff+t2+1, "at most 64 elements", "array size %d is too big", n)
			}
			count = int(n)
			typeStr = typeStr[:t2]
		}
	}
	typeCol := bodyCol + typeOff
	var typ Type
	typ.ArrayLen = count
	eff := TypeDefault // the type the kernel uses
	if !fl.tevent && (fetchStr == "$comm" || fetchStr == "$COMM" || hasPrefix(fetchStr, "\\\"")) {
		if count > 0 || hasType && typeStr != "string" {
			return a, ps.err(NEED_STRING_TYPE, typeCol, "$comm and \\\"STR\" take no type but :string, and no array", "%q cannot be fetched as %q", fetchStr, body[typeOff:])
		}
		eff = TypeString
		if hasType {
			typ.Kind = TypeString
		}
	} else if hasType {
		k, err := ps.fetchType(typeStr, typeCol, fl)
		if err != nil {
			return a, err
		}
		eff, typ.Kind = k, k
	}
	if dentry != TypeDefault {
		if hasType {
			return a, ps.err(BAD_TYPE, typeCol, "FETCHARG:%pd", "%%pd and %%pD take no other type")
		}
		eff, typ.Kind = TypeString, dentry
	}
	ps.lastBTF = nil
	f, last, err := ps.parseFetch(fetchStr, bodyCol, fl)
	if err != nil {
		return a, err
	}
	a.Fetch = f
	btfType := ps.lastBTF
	btfString := false
	if (f.Kind == FetchBTF || f.Kind == FetchRetval && btfType != nil) && hasType && strings.Contains(typeStr, "string") {
		// check_prepare_btf_string_fetch(): a char array is read as it
		// is, a char pointer is dereferenced first, anything else is not
		// a string. Without the BTF the kernel's answer is unknown.
		switch {
		case btfType == nil:
			last++
		case btfType.Kind == BTFArray && btfType.Elem.isChar() && !btfType.Elem.Signed:
		case btfType.Kind == BTFPtr && btfType.Elem.isChar() && !btfType.Elem.Signed:
			last++
		default:
			return a, ps.err(BAD_TYPE4STR, bodyCol, "a string is a char array or a char pointer", "%s is not a string", fetchStr)
		}
		btfString = true
	}
	if dentry == TypeDentry {
		last += 2
	} else if dentry == TypeFile {
		last += 3
	}
	// Since 6.5 the kernel reports what it finds after parsing at the
	// position its parser stopped: inside the outermost dereference.
	postCol := bodyCol
	if f.Kind == FetchDeref && ps.opts.Kernel.AtLeast(kernelCtxOffset.Major, kernelCtxOffset.Minor) {
		postCol = f.innerCol
	}
	n := count
	if n == 0 {
		n = 1
	}
	sz := typ
	sz.Kind = eff
	if eff == TypeBitfield {
		sz.Container = bitContainer(typeStr)
	}
	*size += sz.size(ps.ptrBits/8) * n
	if *size > MaxProbeSize {
		return a, ps.err(EVENT_TOO_BIG, postCol, "fetch less: at most 3072 bytes per event", "the arguments need %d bytes", *size)
	}
	if dentry != TypeDefault {
		a.Type = typ
		a.vfs = ps.opts.VFS
		a.text, a.canon = text, a.canonBody()
		return a, nil
	}
	// finalize_fetch_insn(): the kernel appends store, bitfield and array
	// operations to at most FETCH_INSN_MAX-1 instructions.
	o := lastOp(f, fl)
	if btfString {
		o = opDeref
	}
	code := last
	var store op // which store: opDeref = ST_MEM, opData = ST_STRING, opUDeref = ST_USTRING/ST_UMEM, opReg = ST_RAW, opArg = ST_SYMSTR
	if eff.isString() {
		if eff == TypeSymstr {
			if o != opReg && o != opStack && o != opRetval && o != opArg && o != opDeref && o != opTPArg {
				return a, ps.err(BAD_SYMSTRING, postCol+typeOff, "symstr takes a register, $stackN, $retval, $argN or a kernel dereference", "symstr cannot take %q", fetchStr)
			}
		} else if o != opDeref && o != opUDeref && o != opImm && o != opComm && o != opData && o != opTPArg {
			return a, ps.err(BAD_STRING, postCol+typeOff, "a string is read from memory: +0("+fetchStr+"):"+typeStr, "%s needs a memory address to read from, not %q", typeStr, fetchStr)
		}
		if eff == TypeSymstr || o == opImm || o == opComm || o == opData || o == opTPArg || count > 0 {
			code++
			if code == fetchInsnMax-1 {
				return a, ps.err(TOO_MANY_OPS, postCol, "fewer nested dereferences", "too many operations")
			}
		}
		switch {
		case eff == TypeUstring || o == opUDeref:
			store = opUDeref
		case eff == TypeSymstr:
			store = opArg
		default:
			store = opData
		}
	} else if o == opDeref {
		store = opDeref
	} else if o == opUDeref {
		store = opStack // ST_UMEM
	} else {
		code++
		if code == fetchInsnMax-1 {
			return a, ps.err(TOO_MANY_OPS, postCol, "fewer nested dereferences", "too many operations")
		}
		store = opReg
	}
	if hasType && typeStr[0] == 'b' {
		bw, bo, cont, ok := parseBitfield(typeStr)
		if !ok || code+1 == fetchInsnMax-1 {
			return a, ps.err(BAD_BITFIELD, postCol+typeOff, "b<width>@<offset>/<container>, width+offset <= container", "bad bitfield %q", typeStr)
		}
		code++
		typ.Kind, typ.BitWidth, typ.BitOffset, typ.Container = TypeBitfield, bw, bo, cont
	}
	if count > 0 {
		if store != opDeref && store != opData && store != opUDeref {
			return a, ps.err(BAD_STRING, postCol+typeOff, "arrays are read from memory: +0(...):TYPE[N]", "an array needs a kernel memory address to read from")
		}
		code++
		if code == fetchInsnMax-1 {
			return a, ps.err(TOO_MANY_OPS, postCol, "fewer nested dereferences", "too many operations")
		}
	}
	a.Type = typ
	a.text, a.canon = text, a.canonBody()
	return a, nil
}

func bitContainer(t string) int {
	if i := strings.IndexByte(t, '/'); i >= 0 {
		v, _ := kstrtoul(t[i+1:], 0, 64)
		return int(v)
	}
	return 0
}

// parseBitfield is __parse_bitfield_probe_arg(): b<width>@<offset>/<size>
// read with simple_strtoul, width > 0 and width+offset within the container.
func parseBitfield(t string) (bw, bo, cont int, ok bool) {
	c := bitContainer(t)
	w, n := simpleStrtoul(t[1:])
	i := 1 + n
	if w == 0 || i >= len(t) || t[i] != '@' {
		return 0, 0, 0, false
	}
	o, n2 := simpleStrtoul(t[i+1:])
	j := i + 1 + n2
	if n2 == 0 || j >= len(t) || t[j] != '/' {
		return 0, 0, 0, false
	}
	if w > uint64(c) || o > uint64(c) || w+o > uint64(c) {
		return 0, 0, 0, false
	}
	return int(w), int(o), c, true
}

// fetchType is find_fetch_type(): the table names, and a bitfield whose
// container is 8, 16, 32 or 64.
func (ps *parser) fetchType(t string, col int, fl argFlags) (TypeKind, error) {
	hint := "u8/16/32/64, s8/16/32/64, x8/16/32/64, char, string, ustring, symbol, symstr, b<width>@<offset>/<container>, TYPE[N]"
	if !fl.kernel && (t == "symbol" || t == "symstr") {
		return 0, ps.err(BAD_TYPE, col, "uprobes cannot resolve kernel symbols; use x64", "%s is not available on uprobes", t)
	}
	if t != "" && t[0] == 'b' {
		s := strings.IndexByte(t, '/')
		if s < 0 {
			return 0, ps.err(BAD_TYPE, col, hint, "bitfield %q has no /<container>", t)
		}
		v, ok := kstrtoul(t[s+1:], 0, 64)
		if !ok || v != 8 && v != 16 && v != 32 && v != 64 {
			return 0, ps.err(BAD_TYPE, col, hint, "bitfield container must be 8, 16, 32 or 64, not %q", t[s+1:])
		}
		return TypeBitfield, nil
	}
	k, ok := lookupType(t)
	if !ok {
		if !fl.kernel && (t == "%pd" || t == "%pD") {
			return 0, ps.err(BAD_TYPE, col, "%pd and %pD are for kprobes", "unknown type %q", t)
		}
		return 0, ps.err(BAD_TYPE, col, hint, "unknown type %q", t)
	}
	var f *feature
	switch k {
	case TypeChar:
		f = &featChar
	case TypeSymstr:
		f = &featSymstr
	case TypeUstring:
		f = &featUstring
	case TypeSymbol:
		f = &featSymbolType
	}
	if ps.opts.Types != 0 {
		return k, ps.checkProbed(k, col)
	}
	if f != nil {
		if err := ps.needAs(BAD_TYPE, *f, col); err != nil {
			return 0, err
		}
	}
	return k, nil
}
