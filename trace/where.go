package trace

import (
	"fmt"
	"strings"

	"github.com/tracelet/tracelet/asm"
	"github.com/tracelet/tracelet/bpf"
	"github.com/tracelet/tracelet/kprobeevents"
	"github.com/tracelet/tracelet/tracefs"
)

// WherePrefix starts the names of the fetchargs that a Predicate adds to a
// probe for its own tests (an argument, a member, $retval). The printers
// leave them out: they are the filter's, not the user's.
const WherePrefix = "__where"

// Predicate is a condition on every traced event (trace --where). The
// script language implements it (script.ParseWhere), which keeps this
// package free of the language.
type Predicate interface {
	// TracefsFilter returns the tracefs event filter of an event whose
	// probe is p (nil for a tracepoint), and the fetchargs the filter
	// tests that the probe must add (NAME=FETCH[:TYPE], NAME starting
	// with WherePrefix). code places the arguments of the probed code
	// (see CodeArch); nil where tracelet has no table for it. An error
	// names what a tracefs filter cannot express.
	TracefsFilter(p *kprobeevents.Probe, arch kprobeevents.Arch, code *asm.Arch) (filter string, fetchargs []string, err error)
	// BPFFilter returns a program that returns non-zero for the events
	// of probe p that pass, from its pt_regs and the current task. The
	// kernel runs it in front of the probe's fetchargs, which it records
	// only when the program passes the event (PERF_EVENT_IOC_SET_BPF on
	// a tracefs probe, 4.1+). An error means a BPF filter cannot express
	// the predicate; the tracefs filter is tried then. code is as for
	// TracefsFilter: its offsets are the kernel's pt_regs.
	BPFFilter(p *kprobeevents.Probe, code *asm.Arch) (asm.Instructions, error)
	String() string
}

// where compiles pred for sp: its filter in sp.Where and the fetchargs it
// needs added to sp.Probe, lowered like the user's (tracefs.ParseSpec).
func where(pred Predicate, sp *Spec, opts kprobeevents.Options) error {
	arch := opts.Arch
	if arch == kprobeevents.ArchUnknown {
		arch = tracefs.KernelArch()
	}
	// BPF first: it reads what tracefs filters cannot (pid) and needs no
	// fetchargs. Where the kernel or the permissions refuse the program,
	// the tracefs filter does the job, if it can.
	code, err := CodeArch(sp.Probe, arch)
	if err != nil {
		return fmt.Errorf("--where %q: %w", pred, err)
	}
	var bpfErr error
	if sp.Probe != nil {
		insns, err := pred.BPFFilter(sp.Probe, code)
		if err == nil {
			prog, lerr := bpf.NewProgram(bpf.ProgramSpec{Name: "tracelet_where", Type: bpf.Kprobe, Instructions: insns, License: "GPL"})
			if lerr == nil {
				sp.whereProg = prog
				sp.Where = ""
				return nil
			}
			err = lerr
		}
		bpfErr = err
	}
	f, extra, err := pred.TracefsFilter(sp.Probe, arch, code)
	if err != nil {
		if bpfErr != nil {
			why := strings.TrimPrefix(bpfErr.Error(), fmt.Sprintf("--where %q: ", pred))
			return fmt.Errorf("%w (and as a BPF filter: %s)", err, why)
		}
		return err
	}
	if len(extra) > 0 {
		def := sp.Probe.String() + " " + strings.Join(extra, " ")
		p, err := tracefs.ParseSpec(def, opts, sp.Probe.GroupName())
		if err != nil {
			return fmt.Errorf("--where %q: the probe with what it reads: %w", pred, err)
		}
		p.Group, p.Event = sp.Probe.GroupName(), sp.Probe.EventName()
		sp.Probe = p
	}
	if err := tracefs.CheckFilter(f); err != nil {
		return fmt.Errorf("--where %q: %w", pred, err)
	}
	sp.Where = f
	return nil
}

// CodeArch is the table that places the arguments of the code that p probes
// on a kernel of arch: the kernel's own for a kprobe; for a uprobe the one
// of the probed file's ELF class and machine, which for a 32-bit process
// on a 64-bit kernel is not the kernel's (asm.Arch.ForELF). It is nil, with
// no error, for a kernel tracelet has no pt_regs table of (and for a
// tracepoint, p nil, the kernel's).
func CodeArch(p *kprobeevents.Probe, arch kprobeevents.Arch) (*asm.Arch, error) {
	kernel, err := asm.ArchForMachine(arch.String())
	if err != nil {
		return nil, nil
	}
	if p == nil || !p.Type.IsUser() {
		return kernel, nil
	}
	code, err := tracefs.UprobeCode(kernel, p.Path)
	if err != nil {
		return nil, err
	}
	return code, nil
}
