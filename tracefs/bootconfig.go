package tracefs

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/tracelet/tracelet/kprobeevents"
)

// The two ways to have probes from the first moment the kernel runs:
//
//   - the kprobe_event= kernel parameter (5.2): kprobes and kretprobes only,
//     any group, enabled in the top-level (global) buffer; no filters,
//     triggers, tracepoint enables, instances or buffer sizes;
//     setup_boot_kprobe_events copies it into a COMMAND_LINE_SIZE buffer,
//     and the whole command line must fit COMMAND_LINE_SIZE too;
//   - bootconfig (5.6, kernel/trace/trace_boot.c): kprobes (group "kprobes"
//     only: trace_boot_init_one_event defines probes only for that group),
//     filters, actions (triggers), enables, instances and buffer_size.
//
// Neither can define a uprobe: that needs the probed file, which is not
// there at boot; apply those from an init script (contrib/).

// BootError is something of a plan that a boot path cannot express.
type BootError struct {
	Path string // "kprobe_event=" or "bootconfig"
	What string // the construct
	Why  string
	Use  string // what can express it instead
}

func (e *BootError) Error() string {
	s := fmt.Sprintf("%s cannot express %s: %s", e.Path, e.What, e.Why)
	if e.Use != "" {
		s += "; " + e.Use
	}
	return s
}

// CommandLineSize is COMMAND_LINE_SIZE of arch, the size of the kernel's
// command-line buffer including its NUL (arch/*/include/asm/setup.h and
// uapi/asm/setup.h): x86 and arm64 2048, 32-bit arm 1024, riscv 1024
// (CONFIG_CMDLINE's default before it became configurable), mips 4096,
// powerpc 2048. Unknown architectures get asm-generic's 512.
func CommandLineSize(arch kprobeevents.Arch) int {
	switch arch {
	case kprobeevents.ArchX86_64, kprobeevents.ArchI386, kprobeevents.ArchARM64, kprobeevents.ArchPPC64:
		return 2048
	case kprobeevents.ArchARM, kprobeevents.ArchRISCV64:
		return 1024
	}
	return 512
}

// BootArgsOptions tell BootArgs about the target.
type BootArgsOptions struct {
	// Grammar describes the target kernel (Arch: 0 means the host's).
	Grammar kprobeevents.Options
	// CommandLineSize overrides CommandLineSize(arch) (0: the table's).
	CommandLineSize int
	// Reserve is how many bytes of the command line the rest of it needs
	// (root=, console=, ...).
	Reserve int
	// PastFtraceSite says that the target kernel refuses kprobes at a
	// function's first instruction because ftrace owns it
	// (ErrFtraceOwnsEntry: Debian's riscv64 6.12). Its entry probes are
	// then written past ftrace's patch site (kprobeevents.PastFtraceSite),
	// as AddDynamicEvent places them on the running kernel, and a return
	// probe is refused: the kernel would drop it at boot.
	PastFtraceSite bool
}

// BootArgs renders the plan as kernel parameters: trace_buf_size= when the
// plan sizes its buffer, BootBufferParam, and kprobe_event=. Only kprobes
// and kretprobes can be expressed; anything else is refused with a
// *BootError that says whether bootconfig can express it. The parameters
// plus Reserve bytes must fit the target's command line.
func (p *Plan) BootArgs(o BootArgsOptions) (string, error) {
	if err := p.Validate(); err != nil {
		return "", err
	}
	const path = "kprobe_event="
	useBC := "use `tracelet bootconfig` (Linux 5.6+)"
	for _, e := range p.Events {
		switch {
		case e.Probe != nil && e.Probe.Type.IsUser():
			return "", &BootError{path, "uprobe " + e.Name(), "uprobes need their file, which is not there when the kernel boots",
				"neither boot path can; apply the plan from an init script (contrib/)"}
		case e.Probe == nil:
			return "", &BootError{path, "tracepoint " + e.Name(), "the parameter only defines and enables kprobes", useBC}
		case e.Filter != "":
			return "", &BootError{path, "the filter of " + e.Name(), "the parameter has no filters", useBC}
		case len(e.Triggers) > 0:
			return "", &BootError{path, "the triggers of " + e.Name(), "the parameter has no triggers", useBC}
		}
	}
	arch := o.Grammar.Arch
	if arch == 0 {
		arch = KernelArch()
	}
	g := o.Grammar
	g.Arch = arch
	g.Target = kprobeevents.TargetKprobe
	probes := p.Probes
	if o.PastFtraceSite {
		probes = make([]*kprobeevents.Probe, len(p.Probes))
		for i, pr := range p.Probes {
			if pr.Type == kprobeevents.Kretprobe {
				return "", &BootError{path, "return probe " + pr.GroupName() + "/" + pr.EventName(), ErrFtraceOwnsEntry.Error(),
					"probe the function's entry only on this kernel"}
			}
			moved, err := kprobeevents.PastFtraceSite(pr, arch)
			if err != nil {
				return "", err
			}
			probes[i] = moved
		}
	}
	// Measure first, one probe at a time, so that a plan too long for the
	// command line gets the error that says so rather than the encoder's.
	buf := BootBufferParam + " "
	if p.BufferSizeKB > 0 {
		buf = fmt.Sprintf("trace_buf_size=%dK %s", p.BufferSizeKB, buf)
	}
	n := len(buf) + len(kprobeevents.BootParamName) + 1
	for i, pr := range probes {
		one, err := kprobeevents.EncodeBootParamFor([]*kprobeevents.Probe{pr}, g)
		if err != nil {
			return "", err
		}
		if i > 0 {
			n++ // the ';' between definitions
		}
		n += len(one)
	}
	size := o.CommandLineSize
	if size == 0 {
		size = CommandLineSize(arch)
	}
	// The command line and kprobe_boot_events_buf are both
	// COMMAND_LINE_SIZE bytes with the NUL; strscpy cuts the rest silently.
	if need := n + o.Reserve + 1; need > size {
		return "", fmt.Errorf("%s is %d bytes; with %d bytes reserved for the rest of the command line it needs %d of the %d that %s's COMMAND_LINE_SIZE allows (the kernel would cut it silently): define fewer or shorter probes, or use `tracelet bootconfig`", kprobeevents.BootParamName+"=", n, o.Reserve, need, size, arch)
	}
	val, err := kprobeevents.EncodeBootParamFor(probes, g)
	if err != nil {
		return "", err
	}
	return buf + kprobeevents.BootParamName + "=" + val, nil
}

// BootBufferParam is the parameter BootArgs puts before kprobe_event=.
// Unless a parameter says that tracing is used from boot, the kernel
// allocates the global buffer at its minimum, two pages a CPU, and grows it
// only when something first enables an event through tracefs; until then
// the events kprobe_event= enables are recorded into those pages, and a
// busy boot overwrites its earliest records within a few hundred events.
// trace_buf_size= alone does not grow it (it only sets the size to grow
// to); ftrace= (set_cmdline_ftrace, since 2.6.28) marks the buffer grown
// before it is allocated, and the nop tracer it names is the one the
// kernel runs anyway.
const BootBufferParam = "ftrace=nop"

// bootBufLen is MAX_BUF_LEN of kernel/trace/trace_boot.c: each probe
// command ("p:kprobes/EVENT " + probes), filter and action is copied into
// a 256-byte buffer with its NUL; a longer one is refused at boot.
const bootBufLen = 256

// BootConfig renders the plan as bootconfig text for boot-time tracing
// (Documentation/trace/boottime-trace.rst), one key per line:
//
//	ftrace.instance.NAME.buffer_size = "1024KB"
//	ftrace.instance.NAME.event.kprobes.EVENT.probes = "SYM ARGS"
//	ftrace.instance.NAME.event.GROUP.EVENT.filter = "EXPR"
//	ftrace.instance.NAME.event.GROUP.EVENT.actions = "TRIGGER"
//	ftrace.instance.NAME.event.GROUP.EVENT.enable
//
// The kernel defines boot-time kprobes only in the group "kprobes", so the
// plan's probes land there rather than in its tracelet group. Uprobes, a
// kretprobe's maxactive, a kretprobe before Linux 5.10 (it needs
// SYM%return) and values the 256-byte buffers cannot hold are refused.
func (p *Plan) BootConfig(grammar kprobeevents.Options) (string, error) {
	return p.BootConfigFor(grammar, false)
}

// BootConfigFor is BootConfig; with global the events are set up in the
// top-level trace array (ftrace.event.GROUP.EVENT.*, ftrace.buffer_size)
// instead of the plan's instance, where kprobe_event= probes record too.
func (p *Plan) BootConfigFor(grammar kprobeevents.Options, global bool) (string, error) {
	if err := p.Validate(); err != nil {
		return "", err
	}
	const path = "bootconfig"
	var b strings.Builder
	fmt.Fprintf(&b, "# tracelet plan %s: boot-time tracing (Linux 5.6+, CONFIG_BOOT_CONFIG and CONFIG_BOOTTIME_TRACING).\n", p.Name)
	b.WriteString("# Add it to the initrd with `bootconfig -a FILE INITRD` and boot with the parameter \"bootconfig\".\n")
	b.WriteString("# Boot-time kprobes are always in the group \"kprobes\". Read the events with\n")
	pre := "ftrace.instance." + p.Instance + "."
	if global {
		pre = "ftrace."
		b.WriteString("# `tracelet collect --global`.\n")
	} else {
		fmt.Fprintf(&b, "# `tracelet collect --instance %s`.\n", p.Instance)
	}
	if p.BufferSizeKB > 0 {
		fmt.Fprintf(&b, "%sbuffer_size = \"%dKB\"\n", pre, p.BufferSizeKB)
	}
	for _, e := range p.Events {
		sys := e.System
		if e.Probe != nil {
			pr := e.Probe
			if pr.Type.IsUser() {
				return "", &BootError{path, "uprobe " + e.Name(), "uprobes need their file, which is not there when the kernel boots",
					"apply the plan from an init script instead (contrib/)"}
			}
			sys = kprobeevents.DefaultKprobeGroup
			loc := pr.Target()
			if pr.Type.IsReturn() {
				if pr.MaxActive != 0 {
					return "", &BootError{path, "the maxactive of kretprobe " + e.Name(), "boot-time probes are generated as p:kprobes/EVENT SYM%return, which has no maxactive", "drop the r" + strconv.Itoa(pr.MaxActive) + " count"}
				}
				if !grammar.Kernel.IsZero() && !grammar.Kernel.AtLeast(5, 10) {
					return "", &BootError{path, "kretprobe " + e.Name(), "boot-time probes are generated as p: definitions, and SYM%return needs Linux 5.10", "use kprobe_event= (`tracelet bootargs`)"}
				}
				loc += "%return"
			}
			val := loc
			for _, a := range pr.Args {
				val += " " + a.String()
			}
			if n := len("p:kprobes/"+pr.EventName()+" "+val) + 1; n > bootBufLen {
				return "", &BootError{path, "probe " + e.Name(), fmt.Sprintf("its command is %d bytes with the NUL, and trace_boot.c builds it in %d", n, bootBufLen), "use fewer or shorter arguments"}
			}
			q, err := bootQuote(val)
			if err != nil {
				return "", &BootError{path, "probe " + e.Name(), err.Error(), ""}
			}
			fmt.Fprintf(&b, "%sevent.%s.%s.probes = %s\n", pre, sys, e.Event, q)
		}
		key := pre + "event." + sys + "." + e.Event + "."
		if e.Filter != "" {
			if len(e.Filter)+1 > bootBufLen {
				return "", &BootError{path, "the filter of " + e.Name(), fmt.Sprintf("it is %d bytes and trace_boot.c copies filters into %d with the NUL", len(e.Filter), bootBufLen), ""}
			}
			q, err := bootQuote(e.Filter)
			if err != nil {
				return "", &BootError{path, "the filter of " + e.Name(), err.Error(), ""}
			}
			fmt.Fprintf(&b, "%sfilter = %s\n", key, q)
		}
		var acts []string
		for _, t := range e.Triggers {
			if len(t)+1 > bootBufLen {
				return "", &BootError{path, "trigger " + strconv.Quote(t), fmt.Sprintf("it is %d bytes and trace_boot.c copies actions into %d with the NUL", len(t), bootBufLen), ""}
			}
			q, err := bootQuote(t)
			if err != nil {
				return "", &BootError{path, "trigger " + strconv.Quote(t), err.Error(), ""}
			}
			acts = append(acts, q)
		}
		if len(acts) > 0 {
			// An array value: trace_boot_init_one_event applies each.
			fmt.Fprintf(&b, "%sactions = %s\n", key, strings.Join(acts, ", "))
		}
		fmt.Fprintf(&b, "%senable\n", key)
	}
	return b.String(), nil
}

// bootQuote quotes a bootconfig value. Values are quoted with '"' or '\”
// and have no escapes (Documentation/admin-guide/bootconfig.rst), so a
// value holding both quote characters, or a newline, cannot be written.
func bootQuote(v string) (string, error) {
	if strings.ContainsAny(v, "\n\r\x00") {
		return "", fmt.Errorf("value %q holds a line break or NUL", v)
	}
	switch {
	case !strings.Contains(v, `"`):
		return `"` + v + `"`, nil
	case !strings.Contains(v, `'`):
		return `'` + v + `'`, nil
	}
	return "", fmt.Errorf("value %q holds both quote characters, and bootconfig values have no escapes", v)
}
