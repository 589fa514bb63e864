package scriptrun

import (
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tracelet/tracelet/asm"
	"github.com/tracelet/tracelet/bpf"
	"github.com/tracelet/tracelet/script"
	"github.com/tracelet/tracelet/tracefs"
)

// HostOptions returns the code-generation options for the running kernel,
// decided by feature probes rather than version numbers: the BPF ring
// buffer (5.8) when the kernel has it, else the perf event array, and the
// probe_read helpers each program type really offers (bpf_probe_read_user
// and friends are 5.5), and BEGIN and END as test-run raw tracepoint
// programs when the kernel can run those (5.10).
func HostOptions() script.Options {
	return hostOptions(true)
}

// hostOptions is HostOptions; the BEGIN and END probe runs only when
// hooks is true, as it loads and runs a program.
func hostOptions(hooks bool) script.Options {
	hook := bpf.Kprobe
	if hooks && haveTestRunHooks() {
		hook = bpf.RawTracepoint
	}
	return script.Options{
		Output:     hostOutput(),
		HookType:   hook,
		CommPadded: commPadded,
		NoPrealloc: haveSafeNoPrealloc(),
		HaveHelper: haveHelperCached,
		StartNs:    monotonicNow(),
	}
}

type helperKey struct {
	t  bpf.ProgramType
	fn asm.BuiltinFunc
}

// helperCache remembers feature probes: each costs a program load.
var helperCache sync.Map // hostOutput is where records go on this kernel: the BPF ring buffer
// where it has one (5.8), else the perf event array.
func hostOutput() script.OutputKind {
	if bpf.HaveMapType(bpf.RingBuf) != nil {
		return script.OutputPerfEventArray
	}
	return script.OutputRingBuf
}

// helperKey -> bool

func haveHelperCached(t bpf.ProgramType, fn asm.BuiltinFunc) bool {
	k := helperKey{t, fn}
	if v, ok := helperCache.Load(k); ok {
		return v.(bool)
	}
	ok := bpf.HaveHelper(t, fn) == nil
	helperCache.Store(k, ok)
	return ok
}

// monotonicNow is CLOCK_MONOTONIC in nanoseconds, the clock of
// bpf_ktime_get_ns, so that elapsed counts from the start of the run.
func monotonicNow() uint64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return uint64(time.Now().UnixNano())
	}
	return uint64(ts.Nano())
}

// TracefsFormats adapts a tracefs mount to FormatSource, so that
// args->FIELD is typed from the kernel's own format files.
func TracefsFormats(fs *tracefs.FS) script.FormatSource {
	return script.FormatFunc(func(system, event string) (*script.Format, error) {
		tf, err := fs.Format(system, event)
		if err != nil {
			return nil, err
		}
		f := &script.Format{System: system, Event: event}
		for _, fd := range tf.Fields {
			layout := script.LayoutOther
			switch fd.Kind {
			case tracefs.FieldInt:
				layout = script.LayoutInt
			case tracefs.FieldCharArray:
				layout = script.LayoutCharArray
			case tracefs.FieldDynString:
				layout = script.LayoutDynString
			}
			f.Fields = append(f.Fields, script.FormatField{Name: fd.Name, CType: fd.Type,
				Offset: fd.Offset, Size: fd.Size, Signed: fd.Signed, Layout: layout})
		}
		return f, nil
	})
}
