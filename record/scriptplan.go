package record

import (
	"fmt"
	"strconv"

	"github.com/tracelet/tracelet/asm"
	"github.com/tracelet/tracelet/kprobeevents"
	"github.com/tracelet/tracelet/script"
	"github.com/tracelet/tracelet/tracefs"
)

// ScriptOptions configure PlanFromScript.
type ScriptOptions struct {
	// Name is the plan's name (its group and instance are tracelet_NAME);
	// "" derives it from the file name.
	Name string
	// Grammar describes the target kernel: its architecture names the
	// argument registers (0: this machine's), its version what the
	// definitions may use.
	Grammar kprobeevents.Options
	// Formats types args->FIELD of tracepoints; nil rejects args.
	Formats script.FormatSource
	// BufferSizeKB is the instance's per-CPU ring (0: the kernel's default).
	BufferSizeKB int
}

// maxEventName is MAX_EVENT_NAME_LEN (trace_probe.h): the kernel refuses
// longer event names.
const maxEventName = 64

// PlanFromScript compiles a tracelet script with the tracefs backend
// (script.CompileTracefs) into the persistent state that apply, bootargs,
// bootconfig and record install: one dynamic event per kprobe or uprobe
// attach point, in the plan's group, and one enable per tracepoint, each
// with the predicate as its event filter and count() into a map as a hist
// trigger. What tracefs cannot express is refused by the backend, with the
// script's position. Uprobe symbols are resolved to file offsets now, so
// the plan pins the binary it was compiled against.
func PlanFromScript(file string, src []byte, o ScriptOptions) (*tracefs.Plan, error) {
	prog, err := script.Parse(file, src)
	if err != nil {
		return nil, err
	}
	// Struct casts, members and fentry/fexit arguments are typed from the
	// target's BTF (--btf FILE, or the running kernel's): the offsets the
	// definitions carry are that kernel's.
	copts := script.CheckOptions{Formats: o.Formats}
	if o.Grammar.BTF != nil {
		copts.BTF, copts.BTFError = tracefs.SpecOf(o.Grammar.BTF)
	}
	info, err := script.Check(prog, copts)
	if err != nil {
		return nil, err
	}
	karch := o.Grammar.Arch
	if karch == 0 {
		karch = tracefs.KernelArch() // the kernel's pt_regs, not GOARCH's
	}
	a, err := asm.ArchFor(goarchOf(karch))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	g := o.Grammar
	g.Arch = karch
	probes, _, err := script.CompileTracefs(prog, info, script.TracefsOptions{Arch: a, Grammar: &g})
	if err != nil {
		return nil, err
	}
	name := o.Name
	if name == "" {
		name = tracefs.PlanNameFromPath(file)
	}
	p := &tracefs.Plan{Name: name, Group: tracefs.PlanGroup(name), Instance: tracefs.PlanGroup(name), BufferSizeKB: o.BufferSizeKB}
	used := map[string]bool{}
	for _, tp := range probes {
		at := tp.Attach
		ev := tracefs.PlanEvent{Filter: tp.Filter}
		if tp.Count == script.CountHist {
			ev.Triggers = []string{tp.Trigger}
		}
		if at.Type == script.Tracepoint {
			ev.System, ev.Event = at.Target, at.Func
			if p.Event(ev.System, ev.Event) != nil {
				// An event has one filter per instance: two predicates
				// on it would overwrite each other.
				return nil, fmt.Errorf("%s:%d:%d: tracefs backend: tracepoint %s:%s is probed twice; join the probes into one (an event has one filter)", file, at.Pos.Line, at.Pos.Col, ev.System, ev.Event)
			}
			p.Events = append(p.Events, ev)
			continue
		}
		event := eventName(at, used)
		loc := ""
		if at.Type == script.Uprobe || at.Type == script.Uretprobe {
			var path string
			var off uint64
			if at.HasOffset && at.Func == "" {
				path, err = tracefs.ResolveBinary(at.Target)
				off = at.Offset
			} else {
				path, off, err = tracefs.ResolveSymbol(at.Target, at.Func)
			}
			if err != nil {
				return nil, fmt.Errorf("%s:%d:%d: %s: %w", file, at.Pos.Line, at.Pos.Col, at.Raw, err)
			}
			loc = path + ":" + "0x" + strconv.FormatUint(off, 16)
		}
		def, err := tp.Definition(p.Group, event, loc)
		if err != nil {
			return nil, fmt.Errorf("%s:%d:%d: %w", file, at.Pos.Line, at.Pos.Col, err)
		}
		g.Target = kprobeevents.TargetKprobe
		switch {
		case at.Type == script.Uprobe || at.Type == script.Uretprobe:
			g.Target = kprobeevents.TargetUprobe
		case tp.Fprobe:
			g.Target = kprobeevents.TargetAuto // dynamic_events
		}
		pr, err := kprobeevents.ParseProbe(def, g)
		if err != nil {
			return nil, fmt.Errorf("%s:%d:%d: %s compiles to %q, which the target kernel does not accept: %w", file, at.Pos.Line, at.Pos.Col, at.Raw, def, err)
		}
		ev.System, ev.Event, ev.Probe = p.Group, event, pr
		p.Probes = append(p.Probes, pr)
		p.Events = append(p.Events, ev)
	}
	if len(p.Events) == 0 {
		return nil, fmt.Errorf("%s: the script has no probe", file)
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return p, nil
}

// eventName names a probe's event after its function, "_ret" for return
// probes, made unique with a counter and cut to the kernel's limit.
func eventName(at *script.AttachPoint, used map[string]bool) string {
	base := at.Func
	if base == "" {
		base = "off_" + strconv.FormatUint(at.Offset, 16)
	}
	b := []byte(base)
	for i, c := range b {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			b[i] = '_'
		}
	}
	if b[0] >= '0' && b[0] <= '9' {
		b = append([]byte{'_'}, b...)
	}
	base = string(b)
	if at.Type.IsReturn() {
		base += "_ret"
	}
	if len(base) > maxEventName-4 {
		base = base[:maxEventName-4]
	}
	name := base
	for i := 2; used[name]; i++ {
		name = base + "_" + strconv.Itoa(i)
	}
	used[name] = true
	return name
}

// goarchOf maps the kernel's architecture names to the GOARCH names of
// asm's register tables.
func goarchOf(a kprobeevents.Arch) string {
	switch a {
	case kprobeevents.ArchX86_64:
		return "amd64"
	case kprobeevents.ArchI386:
		return "386"
	case kprobeevents.ArchARM64:
		return "arm64"
	case kprobeevents.ArchARM:
		return "arm"
	case kprobeevents.ArchRISCV64:
		return "riscv64"
	case kprobeevents.ArchPPC64:
		return "ppc64le"
	}
	return a.String()
}
