package kprobeevents

import (
	"strings"
)

// parseFprobe reads f[MAXACTIVE][:[GRP/][EVENT]] [MOD:]SYM[%return] [ARGS]
// and t[:[GRP/][EVENT]] TRACEPOINT [ARGS], in the order of the kernel's
// __trace_fprobe_create(): MAXACTIVE, the probe point and %return, a
// $retval that makes an f: probe an exit probe, MAXACTIVE on an entry
// probe, the event name, then the arguments. Whether the kernel has fprobe
// events at all is decided last, so a definition it could never take is
// still checked for syntax first.
func (ps *parser) parseFprobe() (*Probe, error) {
	w0, w1, c1 := ps.words[0], ps.words[1], ps.cols[1]
	tp := w0[0] == 't'
	p := &Probe{Type: Fprobe, ptrBits: ps.ptrBits}
	if tp {
		p.Type = Tprobe
	}
	var ev *string
	n := len(w0) - 1
	if i := strings.IndexByte(w0[1:], ':'); i >= 0 {
		s := w0[i+2:]
		ev = &s
		n = i
	}
	maxact := 0
	if n > 0 && ps.opts.Kernel.AtLeast(kernelFprobeNoMaxact.Major, kernelFprobeNoMaxact.Minor) {
		// Since fprobes run on the function graph tracer (6.14), they
		// have no MAXACTIVE and nothing may come between f or t and ':'.
		return nil, ps.err(BAD_MAXACT, 1, w0[:1]+"[:[GRP/][EVENT]]: fprobes have no MAXACTIVE since Linux 6.14", "unexpected %q after %q", w0[1:1+n], w0[:1])
	}
	if n > 0 {
		if !isDigit(w0[1]) {
			return nil, ps.err(BAD_COMMAND, 1, w0[:1]+"[:[GRP/][EVENT]]", "unexpected %q after %q", w0[1:1+n], w0[:1])
		}
		if n > MaxEventNameLen-1 {
			return nil, ps.err(BAD_MAXACT, 1, "1..4096", "MAXACTIVE %q is too long", w0[1:1+n])
		}
		v, ok := kstrtoul(w0[1:1+n], 0, 32)
		if !ok || v == 0 {
			return nil, ps.err(BAD_MAXACT, 1, "a number 1..4096", "bad MAXACTIVE %q", w0[1:1+n])
		}
		if v > MaxActiveMax {
			return nil, ps.err(MAXACT_TOO_BIG, 1, "at most 4096", "MAXACTIVE %d is too big", v)
		}
		maxact = int(v)
	}
	sym := w1
	if i := strings.IndexByte(sym, '%'); i >= 0 {
		if tp || sym[i:] != "%return" {
			hint := "the only suffix is %return"
			if tp {
				hint = "a tracepoint has no suffix"
			}
			return nil, ps.err(BAD_ADDR_SUFFIX, c1+i, hint, "unknown suffix %q", sym[i:])
		}
		sym = sym[:i]
		p.Type, p.Return = Fretprobe, true
	}
	if tp {
		for i := 0; i < len(sym); i++ {
			if c := sym[i]; !isAlpha(c) && !isDigit(c) && c != '_' {
				return nil, ps.err(BAD_TP_NAME, c1+i, "a tracepoint name: letters, digits and '_' (no SYSTEM.)", "bad character %q in tracepoint name %q", c, sym)
			}
		}
	}
	if !p.Return {
		// The kernel looks for "$retval" not followed by a name character
		// anywhere in the arguments: on a tracepoint it is an error, on
		// an f: probe it makes an exit probe.
		for i := 2; i < len(ps.words); i++ {
			w := ps.words[i]
			j := strings.Index(w, "$retval")
			if j < 0 || j+7 < len(w) && (isAlpha(w[j+7]) || isDigit(w[j+7]) || w[j+7] == '_') {
				continue
			}
			if tp {
				return nil, ps.err(RETVAL_ON_PROBE, ps.cols[i]+j, "a tracepoint probe has no return value", "$retval on a tracepoint")
			}
			p.Type = Fretprobe
			break
		}
	}
	if maxact != 0 && p.Type != Fretprobe {
		return nil, ps.err(BAD_MAXACT_TYPE, 1, "MAXACTIVE is for exit probes: f"+w0[1:1+n]+" SYM%return", "MAXACTIVE on an entry probe")
	}
	p.MaxActive = maxact
	if !tp {
		mod := ""
		s := sym
		if i := strings.IndexByte(s, ':'); i >= 0 {
			mod, s = s[:i], s[i+1:]
			if mod == "" || !isModuleName(mod) {
				return nil, ps.err(BAD_PROBE_ADDR, c1, "[MOD:]SYM, a kernel function", "%q is not a kernel function", sym)
			}
		}
		// The kernel finds out at registration (ENOENT, logged at the
		// symbol); no function has a name like this.
		if s == "" || len(s) >= ksymNameLen || !isSymbolName(s) {
			return nil, ps.err(BAD_PROBE_ADDR, c1, "[MOD:]SYM, a kernel function (no +OFFS: fprobes go on the entry)", "%q is not a kernel function", sym)
		}
		p.Module, p.Symbol = mod, s
	} else {
		if sym == "" {
			return nil, ps.err(BAD_TP_NAME, c1, "a tracepoint name", "empty tracepoint name")
		}
		p.Symbol = sym
	}
	if ev != nil {
		g, e, err := ps.eventName(*ev, 2+n)
		if err != nil {
			return nil, err
		}
		p.Group, p.Event = g, e
	}
	if p.Group == "" {
		p.Group = p.GroupName()
	}
	if p.Event == "" {
		p.Event = p.DefaultEventName()
		if !isGoodName(p.Event) {
			// The kernel would create it, but not take the name back.
			return nil, ps.err(BAD_EVENT_NAME, 1, "name the event: f:GRP/EVENT SYM", "the kernel would name this event %q, which is not a valid event name", p.Event)
		}
	}
	fl := argFlags{kernel: true, fprobe: true, ret: p.Type == Fretprobe, fentry: p.Type != Fretprobe, tpoint: tp}
	fl.funcname = p.Symbol
	if tp {
		// The arguments of a tracepoint are those of its probe stub,
		// after the stub's first, hidden data argument.
		fl.funcname = "__probestub_" + p.Symbol
	}
	if err := ps.parseArgs(p, fl, ps.words[2:], ps.cols[2:]); err != nil {
		return nil, err
	}
	if fl.ret && len(ps.words) > 2 && ps.opts.Kernel.AtLeast(kernelFprobeNoMaxact.Major, kernelFprobeNoMaxact.Minor) {
		// An exit probe saves the entry arguments it reads in the
		// fgraph entry data, 15 words at most (MAX_FPROBE_DATA_SIZE).
		if n := ps.entryArgs(p, fl); n > maxFprobeDataWords {
			return nil, ps.err(TOO_MANY_EARGS, ps.cols[2], "an exit probe can read at most 15 of the function's arguments", "the probe reads %d of the function's arguments at entry", n)
		}
	}
	ext := ExtFprobe
	if tp {
		ext = ExtTprobe
	}
	// With Offsets, Lower turns an fprobe into a kprobe where the kernel
	// has none.
	if tp || !ps.opts.Offsets {
		if err := ps.needExt(NOT_SUPPORTED, ext, 0); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// parseEprobe reads e[:[GRP/][EVENT]] SYSTEM.EVENT [ARGS] [if FILTER] in the
// order of __trace_eprobe_create().
func (ps *parser) parseEprobe() (*Probe, error) {
	w0, w1, c1 := ps.words[0], ps.words[1], ps.cols[1]
	p := &Probe{Type: Eprobe, ptrBits: ps.ptrBits}
	if len(w0) > 1 && w0[1] != ':' {
		return nil, ps.err(BAD_COMMAND, 1, "e[:[GRP/][EVENT]]", "unexpected %q after \"e\"", w0[1:])
	}
	if len(w0) > 1 {
		g, e, err := ps.eventName(w0[2:], 2)
		if err != nil {
			return nil, err
		}
		p.Group, p.Event = g, e
	}
	// The attached event is GRP.EVENT or GRP/EVENT, both parts required;
	// whatever is wrong with it, the kernel's last word is NO_EVENT_INFO
	// at the start of the word.
	sys, event, ok := splitAttached(w1)
	if !ok {
		return nil, ps.err(NO_EVENT_INFO, c1, "SYSTEM.EVENT of an existing trace event, e.g. syscalls.sys_enter_openat", "%q does not name a trace event", w1)
	}
	p.AttachGroup, p.AttachEvent = sys, event
	if p.Group == "" {
		p.Group = DefaultEprobeGroup
	}
	if p.Event == "" {
		p.Event = p.DefaultEventName()
	}
	args, cols := ps.words[2:], ps.cols[2:]
	filterAt := -1
	for i, w := range args {
		if w == "if" {
			filterAt = i
			break
		}
	}
	var filter []string
	if filterAt >= 0 {
		filter = args[filterAt+1:]
		args, cols = args[:filterAt], cols[:filterAt]
	}
	if len(args) > MaxTraceArgs {
		return nil, ps.err(TOO_MANY_ARGS, cols[0], "at most 128 arguments", "%d arguments", len(args))
	}
	var fields []string
	if ps.opts.Events != nil {
		f, err := ps.opts.Events.Fields(sys, event)
		if err != nil {
			return nil, ps.err(BAD_ATTACH_EVENT, c1, "an existing trace event (see tracefs events/)", "no event %s.%s: %v", sys, event, err)
		}
		fields = f
	}
	if filterAt >= 0 {
		if len(filter) == 0 {
			// The kernel points past the end of the command.
			return nil, ps.err(NO_EP_FILTER, len(ps.cmd)+1, "if FIELD == VALUE, on the attached event's fields", "nothing after \"if\"")
		}
		p.Filter = strings.Join(filter, " ")
	}
	fl := argFlags{kernel: true, tevent: true, fields: fields, haveFields: ps.opts.Events != nil}
	if err := ps.parseArgs(p, fl, args, cols); err != nil {
		return nil, err
	}
	if err := ps.needExt(NOT_SUPPORTED, ExtEprobe, 0); err != nil {
		return nil, err
	}
	return p, nil
}

// splitAttached is traceprobe_parse_event_name() on an eprobe's attached
// event, where both the system and the event are required.
func splitAttached(s string) (sys, event string, ok bool) {
	i := strings.IndexByte(s, '/')
	if i < 0 {
		i = strings.IndexByte(s, '.')
	}
	if i <= 0 || i+1 > MaxEventNameLen-1+1 {
		return "", "", false
	}
	sys, event = s[:i], s[i+1:]
	if !isGoodSystemName(sys) || event == "" || len(event) >= MaxEventNameLen || !isGoodName(event) {
		return "", "", false
	}
	return sys, event, true
}

// maxFprobeDataWords is MAX_FPROBE_DATA_SIZE in words: the entry data of
// an fprobe holds at most 15 longs.
const maxFprobeDataWords = 15

// entryArgs counts the distinct function arguments an exit probe reads at
// entry ($argN and argument names; __store_entry_arg keeps one slot per
// argument). Without the BTF to tell which name is which $argN, it counts
// the least the kernel could count.
func (ps *parser) entryArgs(p *Probe, fl argFlags) int {
	params, known := ps.params(fl)
	idx := map[uint64]bool{}
	names := map[string]bool{}
	var walk func(f *Fetch)
	walk = func(f *Fetch) {
		for ; f != nil; f = f.Inner {
			switch f.Kind {
			case FetchArgN:
				idx[f.N] = true
			case FetchBTF:
				name := f.Str
				if i := strings.IndexAny(name, ".-"); i >= 0 {
					name = name[:i]
				}
				if name == "$retval" || name == "$arg*" {
					continue
				}
				if known {
					for i, prm := range params {
						if prm.Name == name {
							idx[uint64(i+1)] = true
						}
					}
				} else {
					names[name] = true
				}
			}
		}
	}
	for _, a := range p.Args {
		walk(a.Fetch)
	}
	return max(len(idx), len(names))
}
