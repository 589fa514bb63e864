package vmtest

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// Kernel is one guest of the matrix: a Debian kernel series on one
// architecture. Its Name ("<series>-<debian arch>") is what `make vmtest
// KERNEL=…` and vmrun -kernel take.
type Kernel struct {
	Name   string // "6.1-amd64"
	Series string // upstream series as Debian names its packages: "6.1", "6.12"
	// Arch is the Debian architecture: "amd64", "arm64", "i386", "armhf",
	// "riscv64", "mipsel". It is not always GOARCH; archSpec maps it.
	Arch string
	// Flavour is the Debian kernel flavour, the suffix of the image
	// package's name: "cloud-amd64", "686-pae", "armmp", "4kc-malta".
	Flavour string
	// Manual keeps the kernel out of "all" (make vmtest): it boots only
	// when named, for the reason given on its line.
	Manual bool
	// FtraceOwnsEntry marks a build that refuses kprobes at SYM+0 because
	// ftrace's patch site is there and it lacks KPROBES_ON_FTRACE and
	// fprobe events (tracefs.ErrFtraceOwnsEntry). Its boot probes are
	// written past the site, and it boots with the boot script's entry
	// probe only, since no return probe can be placed.
	FtraceOwnsEntry bool
	// NoBootProbes, when set, says why the kernel boots without
	// kprobe_event= (and its boot-path tests skip, as testenv says).
	NoBootProbes string
	// Suite, when set, is the Debian release the kernel comes from, in
	// place of the host's or the architecture's: an older kernel series
	// than the host release ships. The guest's busybox and libc stay the
	// architecture's.
	Suite string
}

// kernels is the matrix. Adding a kernel costs one line here, provided Debian
// ships a linux-image-<series>.*-<flavour> package for it.
var kernels = []Kernel{
	{Name: "6.1-amd64", Series: "6.1", Arch: "amd64", Flavour: "cloud-amd64"},
	{Name: "6.12-amd64", Series: "6.12", Arch: "amd64", Flavour: "cloud-amd64"},
	{Name: "6.1-arm64", Series: "6.1", Arch: "arm64", Flavour: "cloud-arm64"},
	// The release architectures without a cloud flavour take Debian's
	// flavour for a QEMU machine: PAE i386 on QEMU's pc.
	{Name: "6.1-i386", Series: "6.1", Arch: "i386", Flavour: "686-pae"},
	// bullseye's 5.10, the kernel before the features the script tools
	// use by default: no prev_state argument on sched_switch (5.18), no
	// rq->q->disk (5.16), block_rq_issue(q, rq) (5.11), task_struct's
	// state not yet __state (5.14). The tools' fallbacks run there for
	// real. Manual: only the tools package's fallback tests are meant to
	// pass on it.
	{Name: "5.10-amd64", Series: "5.10", Arch: "amd64", Flavour: "cloud-amd64", Suite: "bullseye", Manual: true},
	// ARMv7 multiplatform on virt. Its boots hit the kernel's events/
	// race too (a kprobe_event= event with no events/ directory); collect
	// decodes such records from the probe's definition (record/orphan.go).
	// A boot once lost /init's second open to the global buffer's boot
	// size (two pages a CPU until something enables an event through
	// tracefs: "343 events, 10733 lost (ring full)"); bootargs now puts
	// ftrace=nop before kprobe_event=, which gives it its full size.
	{Name: "6.1-armhf", Series: "6.1", Arch: "armhf", Flavour: "armmp"},
	// riscv64 on virt; official only from trixie, whose kernel is 6.12.
	// Debian's build lets ftrace own every function's first instruction
	// (patchable function entry) without KPROBES_ON_FTRACE or fprobe
	// events, so it refuses kprobes at SYM+0 (EINVAL): tracefs places
	// entry probes past the 8-byte site, boot probes included, f: probes
	// become those kprobes, and no return probe can be placed there (those
	// tests skip, saying so). Its kprobe handlers run in NMI context and it
	// lacks ARCH_HAVE_NMI_SAFE_CMPXCHG, so kprobe events never reach the
	// tracefs ring (perf and BPF see them). One vCPU (see arch.go); a full
	// run takes 3 minutes 20 seconds.
	{Name: "6.12-riscv64", Series: "6.12", Arch: "riscv64", Flavour: "riscv64", FtraceOwnsEntry: true},
	// MIPS32r2 little-endian on malta, one vCPU (arch.go); a full run
	// takes 5 minutes 40 seconds. Debian's 4kc-malta 6.1 panics with
	// "Break instruction in kernel code" at a kprobe's single-step slot
	// (BRK_KPROBE_SSTEPBP not claimed) while tests add and remove kprobes,
	// so its kprobe tests skip (testenv.KprobesCrash) and it boots without
	// kprobe_event=, which would not fit anyway: QEMU's malta firmware
	// hands the kernel its command line in one 256-byte YAMON environment
	// entry (ENVP_ENTRY_SIZE, "rd_start=… rd_size=…" included), and the
	// kernel takes it from there only (MIPS_CMDLINE_FROM_BOOTLOADER; no
	// CMDLINE_BOOL, no DTB command line, no BOOT_CONFIG). The kernel lacks
	// what three more kinds of test need, and they skip, saying so: user
	// call chains (perf_callchain_user is empty on MIPS), kernel call
	// chains at tracepoints (no perf_arch_fetch_caller_regs) and BTF. Its
	// syscalls:sys_exit_* record a failed call's errno positive (v0; the
	// error flag is in a3), so the syscall tools read raw_syscalls:sys_exit
	// there (tools/sysexit.go).
	{Name: "6.1-mipsel", Series: "6.1", Arch: "mipsel", Flavour: "4kc-malta",
		NoBootProbes: "its kprobes panic (testenv.KprobesCrash), and malta's firmware cuts the command line at 256 bytes"},
}

// Kernels returns the matrix in its canonical order, without the Manual
// kernels.
func Kernels() []Kernel {
	var out []Kernel
	for _, k := range kernels {
		if !k.Manual {
			out = append(out, k)
		}
	}
	return out
}

// LookupKernels resolves a comma-separated list of kernel names; "" and "all"
// mean the whole matrix but its Manual kernels, which a name selects.
func LookupKernels(list string) ([]Kernel, error) {
	list = strings.TrimSpace(list)
	if list == "" || list == "all" {
		return Kernels(), nil
	}
	var out []Kernel
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(name)
		k, ok := lookupKernel(name)
		if !ok {
			return nil, fmt.Errorf("unknown kernel %q: want one of %s, or all", name, strings.Join(kernelNames(), ", "))
		}
		out = append(out, k)
	}
	return out, nil
}

func lookupKernel(name string) (Kernel, bool) {
	for _, k := range kernels {
		if k.Name == name {
			return k, true
		}
	}
	return Kernel{}, false
}

func kernelNames() []string {
	var n []string
	for _, k := range kernels {
		n = append(n, k.Name)
	}
	sort.Strings(n)
	return n
}

// PackagePattern matches the names of the kernel images of the series and
// flavour, and nothing else: "linux-image-6.1.0-56-cloud-amd64",
// "linux-image-6.12.117+deb12-cloud-amd64" and "linux-image-6.1.0-41-686-pae",
// but not the meta packages ("linux-image-6.12-cloud-amd64"), -dbg or
// -unsigned, the PREEMPT_RT builds ("…-rt-686-pae", "…-rt-armmp"), another
// flavour ending the same way ("armmp-lpae" for "armmp"), and "6.1" never
// matches a 6.12 package. The ABI part is "0-56" (6.1) or
// "117+deb12[.1]" (6.12 and later).
func (k Kernel) PackagePattern() *regexp.Regexp {
	return regexp.MustCompile(`^linux-image-` + regexp.QuoteMeta(k.Series) + `\.[0-9]+(-[0-9]+)?(\+[a-z]+[0-9]*(\.[0-9]+)?)?-` + regexp.QuoteMeta(k.Flavour) + `$`)
}

// packagePrefix is what apt-cache pkgnames gets, to keep the listing short.
func (k Kernel) packagePrefix() string { return "linux-image-" + k.Series + "." }
