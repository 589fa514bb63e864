package vmtest

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/tracelet/tracelet/asm"
	"github.com/tracelet/tracelet/kprobeevents"
	"github.com/tracelet/tracelet/tracefs"
)

// DefaultBootProbes are the kprobes every test boot defines through the
// kprobe_event= parameter: a kprobe and a kretprobe on do_sys_openat2, which
// every kernel of the matrix has (since 5.6) and which /init itself hits.
// The guest's TestBootKprobeEvent decodes the command line with
// kprobeevents.DecodeBootParam and checks that each was defined, enabled
// and hit before /init ran. Events land in group "kprobes" unless named;
// the kernel enables them (kernel/trace/trace_kprobe.c,
// setup_boot_kprobe_events).
var DefaultBootProbes = []string{
	"p:kprobes/tracelet_boot do_sys_openat2 dfd=$arg1:s32 path=+0($arg2):ustring",
	"r:kprobes/tracelet_boot_ret do_sys_openat2 ret=$retval:s64",
}

// Grammar is the dynamic-event grammar of kernel k: its architecture and
// series, for definitions written for it on the host.
func (k Kernel) Grammar() (kprobeevents.Options, error) {
	arch, err := kprobeevents.ParseArch(k.Arch)
	if err != nil {
		return kprobeevents.Options{}, err
	}
	kv, err := kprobeevents.ParseKernel(k.Series)
	if err != nil {
		return kprobeevents.Options{}, err
	}
	return kprobeevents.Options{Arch: arch, Kernel: kv}, nil
}

// BootKprobeEvent encodes defs as the value of kprobe_event= with
// kprobeevents' encoder, validated for the kernel's architecture and
// series; nil defs give "".
func BootKprobeEvent(k Kernel, defs []string) (string, error) {
	if len(defs) == 0 {
		return "", nil
	}
	opts, err := k.Grammar()
	if err != nil {
		return "", err
	}
	opts.Target = kprobeevents.TargetKprobe
	if !opts.Arch.HasArgN() {
		if defs, err = argNToRegs(k, defs); err != nil {
			return "", err
		}
	}
	var probes []*kprobeevents.Probe
	for _, d := range defs {
		p, err := kprobeevents.ParseProbe(d, opts)
		if err != nil {
			return "", fmt.Errorf("boot probe for %s: %w", k.Name, err)
		}
		probes = append(probes, p)
	}
	return kprobeevents.EncodeBootParamFor(probes, opts)
}

// kernelCmdline assembles the guest's command line. kprobeEvent is the value
// of kprobe_event= ("" for none); fixtures selects the fixture recorder
// instead of the tests.
func kernelCmdline(console, kprobeEvent string, fixtures bool, extra ...string) (string, error) {
	args := []string{
		"console=" + console,
		// A panic reboots at once, and QEMU's -no-reboot turns that into
		// an exit: the host sees the panic instead of a hang. oops=panic
		// does the same for an oops, after which the kernel is not trusted.
		"panic=-1", "oops=panic",
		// Warnings and worse still reach the console (the host looks for
		// panics there); the boot chatter does not.
		"loglevel=4",
		// The kernel's random seed would otherwise wait for entropy the
		// TCG guest gathers slowly.
		"random.trust_cpu=on",
	}
	mode := "tests"
	if fixtures {
		mode = "fixtures"
	}
	args = append(args, extra...)
	args = append(args, "tracelet.mode="+mode)
	if kprobeEvent != "" {
		if err := checkBootParam(kprobeEvent); err != nil {
			return "", err
		}
		// What `tracelet bootargs` puts before kprobe_event=: without it
		// the global buffer holds two pages a CPU until a test first
		// enables an event through tracefs (tracefs.BootBufferParam).
		args = append(args, tracefs.BootBufferParam, "kprobe_event="+kprobeEvent)
	}
	return strings.Join(args, " "), nil
}

// checkBootParam rejects what would split or end the command line word: the
// kernel separates parameters at spaces (quotes aside), and QEMU passes the
// line through unchanged.
func checkBootParam(v string) error {
	if i := strings.IndexAny(v, " \t\n\r\"\x00"); i >= 0 {
		return fmt.Errorf("kprobe_event=%q: column %d: %q cannot appear on a kernel command line (use ',' for spaces)", v, i+1, v[i])
	}
	if len(v) > 1024 {
		return fmt.Errorf("kprobe_event= value is %d bytes; the command line holds 2048 on x86 and the rest is needed", len(v))
	}
	return nil
}

var argNRE = regexp.MustCompile(`\$arg([1-9])`)

// argNToRegs names the kernel's argument registers for $argN, on a kernel
// that has no $argN (32-bit arm): $arg1 is %r0 there.
func argNToRegs(k Kernel, defs []string) ([]string, error) {
	spec, err := archOf(k.Arch)
	if err != nil {
		return nil, err
	}
	a, err := asm.ArchFor(spec.goarch)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(defs))
	for i, d := range defs {
		var bad error
		out[i] = argNRE.ReplaceAllStringFunc(d, func(m string) string {
			loc, err := a.Arg(asm.KernelABI, int(m[4]-'1'))
			if err != nil || !loc.InRegister() {
				bad = fmt.Errorf("boot probe %q for %s: %s is not in a register", d, k.Name, m)
				return m
			}
			return loc.FetchArg()
		})
		if bad != nil {
			return nil, bad
		}
	}
	return out, nil
}
