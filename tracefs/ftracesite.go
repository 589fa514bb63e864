package tracefs

import (
	"errors"
	"fmt"

	"github.com/tracelet/tracelet/kprobeevents"
)

// ErrFtraceOwnsEntry: the kernel refused a kprobe at a function's first
// instruction because ftrace's patch site is there and the kernel was built
// without CONFIG_KPROBES_ON_FTRACE (Debian's riscv64 6.12). An entry probe
// is placed past the site instead; a return probe cannot be placed at all,
// since the kernel registers kretprobes at SYM+0 only (kprobe_on_func_entry),
// and such a kernel has no fprobe events to take its place.
var ErrFtraceOwnsEntry = errors.New("ftrace owns each function's first instruction and this kernel has no KPROBES_ON_FTRACE or fprobe events, so it places no kprobe at SYM+0 and no return probe at all")

// addKprobeEvent writes def to kprobe_events. When the kernel refuses a
// kprobe at SYM+0 with EINVAL on an architecture whose ftrace patch site
// sits there, the probe is written again at the first instruction past the
// site (kprobeevents.PastFtraceSite), where the arguments are still in
// their registers, and the move is kept as a notice (Notices). A return
// probe refused there gets ErrFtraceOwnsEntry in its error chain, once a
// probe past the site has shown that the function exists and the refusal
// was ftrace's. The probe as placed is returned when it was moved.
func (fs *FS) addKprobeEvent(def string) (*kprobeevents.Probe, error) {
	err := fs.writeCommand(KprobeEvents, def)
	arch := KernelArch()
	if err == nil || !errors.Is(err, ErrInvalid) || kprobeevents.FtraceSiteSize(arch) == 0 {
		return nil, err
	}
	p, perr := kprobeevents.ParseProbe(def, kprobeevents.Options{Arch: arch, Target: kprobeevents.TargetKprobe})
	if perr != nil || p.Symbol == "" || p.Offset != 0 {
		return nil, err
	}
	switch p.Type {
	case kprobeevents.Kprobe:
		q, qerr := kprobeevents.PastFtraceSite(p, arch)
		if qerr != nil {
			return nil, fmt.Errorf("%w (%v)", err, qerr)
		}
		if fs.writeCommand(KprobeEvents, q.StringArch(arch)) != nil {
			return nil, err
		}
		fs.notice("ftrace-entry", fmt.Sprintf("this kernel refuses kprobes at a function's first instruction (ftrace owns it, no KPROBES_ON_FTRACE): entry probes are placed past ftrace's %d-byte site, e.g. %s at %s", kprobeevents.FtraceSiteSize(arch), p.EventName(), q.Target()))
		return q, nil
	case kprobeevents.Kretprobe:
		if fs.ftraceOwnsEntry(p, arch) {
			return nil, fmt.Errorf("%w: %w", err, ErrFtraceOwnsEntry)
		}
	}
	return nil, err
}

// ftraceOwnsEntry tells a refusal of SYM+0 by ftrace from a missing symbol
// (also EINVAL since 6.11): it defines a bare kprobe past the site and
// removes it again.
func (fs *FS) ftraceOwnsEntry(p *kprobeevents.Probe, arch kprobeevents.Arch) bool {
	probe := &kprobeevents.Probe{Type: kprobeevents.Kprobe, Group: p.GroupName(), Event: p.EventName() + "_ftrace",
		Module: p.Module, Symbol: p.Symbol, Offset: kprobeevents.FtraceSiteSize(arch)}
	if len(probe.Event) >= maxNameLen {
		probe.Event = "tracelet_ftrace_check"
	}
	if fs.writeCommand(KprobeEvents, probe.StringArch(arch)) != nil {
		return false
	}
	_ = fs.writeCommand(KprobeEvents, "-:"+probe.GroupName()+"/"+probe.Event)
	return true
}

// notice keeps msg for Notices, the first time a notice of this kind is
// given.
func (fs *FS) notice(kind, msg string) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.noticed[kind] {
		return
	}
	if fs.noticed == nil {
		fs.noticed = map[string]bool{}
	}
	fs.noticed[kind] = true
	fs.notices = append(fs.notices, msg)
}

// Notices returns, and forgets, what this FS did differently from what it
// was asked because of how the running kernel was built (an entry probe
// placed past ftrace's patch site), for the user to be told once.
func (fs *FS) Notices() []string {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	n := fs.notices
	fs.notices = nil
	return n
}
