package kprobeevents

import (
	"fmt"
	"strings"
)

// BootParamName is the kernel command-line parameter that defines kprobes
// at boot (kernel/trace/trace_kprobe.c, __setup("kprobe_event=")).
const BootParamName = "kprobe_event"

// maxBootParam is COMMAND_LINE_SIZE on x86 and arm64; the kernel copies the
// value into a buffer of that size and silently cuts what does not fit.
const maxBootParam = 2048

// EncodeBootParam renders kprobe definitions as the value of kprobe_event=.
// setup_boot_kprobe_events() turns every ',' into a space and runs each
// ';'-separated part as a kprobe_events line, then enables them all, so
// spaces become commas and a definition that contains a ',' (or ';') cannot
// be represented. Only kprobes and kretprobes can be defined this way (the
// parameter feeds create_or_delete_trace_kprobe).
//
// Each probe is validated for the host architecture; see
// EncodeBootParamFor to validate for another.
func EncodeBootParam(probes []*Probe) (string, error) {
	return EncodeBootParamFor(probes, Options{})
}

// EncodeBootParamFor is EncodeBootParam validating with opts (Arch, Kernel).
func EncodeBootParamFor(probes []*Probe, opts Options) (string, error) {
	opts.Target = TargetKprobe
	var b strings.Builder
	for i, p := range probes {
		if p == nil {
			return "", fmt.Errorf("kprobeevents: boot parameter: probe %d is nil", i+1)
		}
		if p.Type.IsUser() {
			return "", &Error{Kind: WRONG_FILE, Input: p.String(), Msg: "the kprobe_event= boot parameter only creates kprobes",
				Hint: "create uprobes after boot through uprobe_events"}
		}
		if err := p.Validate(opts); err != nil {
			return "", err
		}
		def := p.StringArch(opts.arch())
		if c := strings.IndexAny(def, ",;"); c >= 0 {
			return "", &Error{Kind: UNSAFE_CHAR, Col: c, Input: def, Msg: fmt.Sprintf("%q cannot be written in kprobe_event=: the kernel turns every ',' into a space and splits at ';'", def[c]),
				Hint: "avoid ',' in string immediates, or define the probe after boot"}
		}
		// The command-line parser toggles quoting at every '"'; an odd
		// count would swallow the parameters that follow.
		if strings.Count(def, "\"")%2 != 0 {
			return "", &Error{Kind: UNSAFE_CHAR, Col: strings.LastIndexByte(def, '"'), Input: def, Msg: "an odd number of '\"' would unbalance the kernel command line's quoting",
				Hint: "avoid '\"' inside string immediates"}
		}
		if i > 0 {
			b.WriteByte(';')
		}
		b.WriteString(strings.ReplaceAll(def, " ", ","))
	}
	if b.Len() > maxBootParam {
		return "", &Error{Kind: DEF_TOO_LONG, Col: maxBootParam, Input: b.String(), Msg: fmt.Sprintf("kprobe_event= value is %d bytes; the kernel keeps %d", b.Len(), maxBootParam)}
	}
	return b.String(), nil
}

// BootParam renders the whole "kprobe_event=..." kernel command-line
// argument for probes.
func BootParam(probes []*Probe) (string, error) {
	v, err := EncodeBootParam(probes)
	if err != nil {
		return "", err
	}
	return BootParamName + "=" + v, nil
}

// DecodeBootParam reads a kprobe_event= value (with or without the
// "kprobe_event=" prefix and surrounding double quotes) the way
// setup_boot_kprobe_events() does: commas become spaces, ';' separates
// definitions, empty parts are skipped. Removals ("-:EVENT") are refused:
// they define nothing.
func DecodeBootParam(s string) ([]*Probe, error) {
	return DecodeBootParamFor(s, Options{})
}

// DecodeBootParamFor is DecodeBootParam parsing with opts (Arch, Kernel).
func DecodeBootParamFor(s string, opts Options) ([]*Probe, error) {
	s = strings.TrimPrefix(s, BootParamName+"=")
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		s = s[1 : len(s)-1]
	}
	opts.Target = TargetKprobe
	var out []*Probe
	for i, part := range strings.Split(s, ";") {
		def := strings.ReplaceAll(part, ",", " ")
		if strings.TrimSpace(def) == "" {
			continue
		}
		d, err := Parse(def, opts)
		if err != nil {
			if e, ok := err.(*Error); ok {
				e.Msg = fmt.Sprintf("boot definition %d: %s", i+1, e.Msg)
			}
			return nil, err
		}
		p, ok := d.(*Probe)
		if !ok {
			return nil, &Error{Kind: BAD_COMMAND, Input: def, Msg: fmt.Sprintf("boot definition %d removes an event; kprobe_event= is decoded into probes only", i+1)}
		}
		out = append(out, p)
	}
	return out, nil
}
