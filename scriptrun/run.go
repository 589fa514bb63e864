package scriptrun

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tracelet/tracelet/bpf"
	"github.com/tracelet/tracelet/btf"
	"github.com/tracelet/tracelet/flamegraph"
	"github.com/tracelet/tracelet/kprobeevents"
	"github.com/tracelet/tracelet/perf"
	"github.com/tracelet/tracelet/script"
	"github.com/tracelet/tracelet/tracefs"
)

// Backend chooses how a script runs.
type Backend int

const (
	// BackendAuto is BPF when the kernel has bpf(2), else tracefs.
	BackendAuto Backend = iota
	// BackendBPF compiles to BPF programs (Compile).
	BackendBPF
	// BackendTracefs defines tracefs probes with filters (CompileTracefs).
	BackendTracefs
)

func (b Backend) String() string {
	return [...]string{"auto", "bpf", "tracefs"}[b]
}

// ParseBackend reads --backend.
func ParseBackend(s string) (Backend, error) {
	for b := BackendAuto; b <= BackendTracefs; b++ {
		if b.String() == s {
			return b, nil
		}
	}
	return 0, fmt.Errorf("backend %q: want auto, bpf or tracefs", s)
}

// OutputFormat is bpftrace's -f.
type OutputFormat int

const (
	// TextOutput is bpftrace's default text.
	TextOutput OutputFormat = iota
	// JSONOutput is bpftrace's -f json: one JSON object per line.
	JSONOutput
)

// RunOptions configure Prepare and Run.
type RunOptions struct {
	// Out receives printf output and the maps; nil means os.Stdout.
	Out io.Writer
	// Format is text or JSON.
	Format OutputFormat
	// Folded, if not nil, receives the maps keyed by a stack (Foldable)
	// as folded stacks (package flamegraph; Object.Fold), in place of
	// their text: the format flame graph tools read. The other maps and
	// printf output still go to Out.
	Folded io.Writer
	// Backend forces BPF or tracefs.
	Backend Backend
	// PID restricts uprobes to one process (bpftrace's -p, or the -c
	// command), and ends the run when it exits.
	PID int
	// CPID is the pid of the -c command, the cpid builtin (zero: none).
	CPID int
	// StrLen is the size of str() strings (0: 64).
	StrLen int
	// Params are the positional parameters $1, $2, ...
	Params []string
	// Defines are macros given from outside (-D NAME=VALUE).
	Defines []script.Define
	// Unsafe allows system() and signal() (bpftrace's --unsafe).
	Unsafe bool
	// Quiet leaves out what bpftrace prints around a script's own
	// output: "Attaching N probes...", the two empty lines before the
	// maps at the end, and the empty line of each empty map. A script
	// tool prints its own header and rows, as its libbpf-tools namesake.
	Quiet bool
	// FS is the tracefs to use; nil means tracefs.Find().
	FS *tracefs.FS
	// ForceOutput overrides the feature probe that picks the BPF ring
	// buffer over the perf event array.
	ForceOutput *script.OutputKind
	// RingSize is the BPF ring buffer's size in bytes, a power-of-two
	// multiple of the page size, or each CPU's perf ring with the perf
	// event array (0: sized from the machine, perf.PlanRings: the rings
	// buffer what a busy probe writes while the reader is not scheduled).
	RingSize uint32
	// MaxRingSize, when RingSize is 0, bounds the ring sized from the
	// machine (0: no bound but the machine's).
	MaxRingSize uint32
	// BTF is the file of kernel types (raw BTF, or an ELF with a .BTF
	// section) for curtask, struct casts and members; "" means the
	// running kernel's, /sys/kernel/btf/vmlinux.
	BTF string

	// hookType forces the program type of BEGIN and END (tests of the
	// uprobe fallback); zero means the feature probe decides.
	hookType bpf.ProgramType
	// rawTP keeps rawtracepoints raw_tp programs where tp_btf is there
	// (tests of both).
	rawTP bool
}

// Run is a script prepared for running: parsed, wildcards expanded,
// checked and compiled, then loaded and attached by Start.
type Run struct {
	// Program is the typed syntax tree (tracelet run -d prints it).
	Program *script.Program
	// Object is the compiled script; for the tracefs backend it holds
	// the printfs and maps only.
	Object *script.Object
	// TracefsProbes is the tracefs backend's plan (nil for BPF).
	TracefsProbes []*script.TracefsProbe
	// Backend is the backend chosen.
	Backend Backend

	opts  RunOptions
	out   io.Writer
	fs    *tracefs.FS
	group string

	maps   map[string]*bpf.Map
	progs  []*bpf.Program
	links  []io.Closer
	dyn    []dynEvent
	output recordSource
	res    *script.Resolver
	begin  *hook
	end    *hook
	tfs    *tracefsRun

	// zeroed holds the maps without keys that zero() (or clear() of a
	// count) left at zero: bpftrace prints those as "@m: 0", where an
	// all-zero one-element array otherwise reads as empty (ReadMap).
	zeroed map[string]bool
	// zmu guards zeroed, which a scrape (Metrics) reads while Wait runs.
	zmu sync.Mutex

	// endCleared holds the maps END cleared: the probes are still
	// attached while the maps print (see Wait), and one of them must not
	// refill such a map, as none can in bpftrace, which detaches first.
	endCleared map[string]bool
	inEnd      bool

	// plan is the size of the output rings; records and recBytes count
	// what was read from them, for SuggestedRingSize.
	plan     perf.RingPlan
	records  uint64
	recBytes uint64
	// plans are the printfs' formats, parsed once; buf collects their
	// text, written out in batches (flush): at outBatch bytes, and
	// whenever the rings are empty, so that a live run still prints as
	// it goes.
	plans []script.PrintfPlan
	buf   []byte
	// idle is a context already done: a read with it does not wait.
	idle context.Context

	// uprobeTargets holds the uprobe attach points' files and offsets,
	// resolved once (uprobeTarget).
	uprobeTargets map[*script.AttachPoint]uprobeTarget

	pidfd   int
	exited  bool // exit() seen
	closed  bool
	early   *earlyRing     // planRing's ring, until load takes it
	dropped sync.WaitGroup // early rings of the wrong size, being closed
	started time.Time
}

// dynEvent is a probe we defined in tracefs, to remove at Close.
type dynEvent struct {
	file, group, event string
}

// Prepare parses, expands, checks and compiles src. No kernel object is
// created yet: `tracelet run -d` prints what Prepare made.
func Prepare(file string, src []byte, opts RunOptions) (_ *Run, err error) {
	r := &Run{opts: opts, out: opts.Out, fs: opts.FS}
	if r.out == nil {
		r.out = os.Stdout
	}
	if r.fs == nil {
		// Without tracefs, only BEGIN, END, interval and profile work;
		// the attach step says so for anything else.
		r.fs, _ = tracefs.Find()
	}
	copts := script.CheckOptions{StrLen: opts.StrLen, CPID: opts.CPID, Params: opts.Params, KernelSymbol: kernelSymbol, Unsafe: opts.Unsafe, CgroupID: cgroupID}
	btfPath := opts.BTF
	if btfPath == "" {
		btfPath = btf.KernelPath
	}
	// The spec is mapped, and its types read only where the script asks:
	// a script that names no kernel type never sees a missing file.
	// Loading it maps the file and walks the types only as far as the
	// lookups reach (btf.Spec); it runs beside the parse, from the start
	// of the command where the CLI asked for it (PrefetchKernelBTF).
	btfc := takeBTF(btfPath)
	var specs loadedBTF
	loaded := false
	getBTF := func() (*btf.Spec, error) {
		if !loaded {
			specs, loaded = <-btfc, true
		}
		return specs.spec, specs.err
	}
	defer func() {
		if s, _ := getBTF(); s != nil {
			s.Close()
		}
	}()
	defer func() {
		if err != nil {
			r.closeEarlyRing()
		}
	}()
	// The kernel's registers, not the binary's: a 32-bit tracelet on a
	// 64-bit kernel reads the 64-bit pt_regs. Its constants, too.
	arch, err := bpf.KernelArch()
	if err != nil {
		return nil, err
	}
	popts := script.ParseOptions{Defines: opts.Defines, Arch: arch.GOARCH, Params: opts.Params}
	popts.Constant = func(name string) (uint64, bool) {
		spec, _ := getBTF()
		if spec == nil {
			return 0, false
		}
		c, err := spec.EnumConstant(name)
		return c.Value, err == nil
	}
	output := outputKind(opts)
	machine := ringPlan(opts.RingSize, output) // reads the machine's memory and CPUs once
	r.planRing(machine, script.MayStream(src), output)
	prog, err := script.ParseWith(file, src, popts)
	if err != nil {
		return nil, err
	}
	r.planRing(machine, script.Streams(prog), output)
	if spec, err := getBTF(); err != nil {
		copts.BTFError = err
		if opts.BTF != "" {
			return nil, fmt.Errorf("--btf: %w", err)
		}
	} else {
		copts.BTF = spec
	}
	if copts.BTF != nil {
		dir := ""
		if opts.BTF == "" {
			dir = filepath.Dir(btf.KernelPath)
		}
		mod, name, err := moduleBTF(prog, copts.BTF, dir)
		if err != nil {
			return nil, err
		}
		if mod != nil {
			defer mod.Close()
			copts.BTF, copts.BTFModule = mod, name
		}
	}
	if err := script.ExpandBTF(prog, copts.BTF); err != nil {
		return nil, err
	}
	if err := r.resolveUSDT(prog); err != nil {
		return nil, err
	}
	if err := script.Expand(prog, wildcards{r.fs}); err != nil {
		return nil, err
	}
	var formats script.FormatSource
	if r.fs != nil {
		formats = TracefsFormats(r.fs)
	}
	copts.Formats = formats
	info, err := script.Check(prog, copts)
	if err != nil {
		return nil, err
	}
	r.Program = prog
	r.Backend = opts.Backend
	if r.Backend == BackendAuto {
		r.Backend = BackendBPF
		if bpf.HaveProgramType(bpf.Kprobe) != nil && bpf.HaveProgramType(bpf.TracePoint) != nil {
			r.Backend = BackendTracefs
		}
	}
	if r.Backend == BackendTracefs {
		topts := script.TracefsOptions{Arch: arch, UprobeArch: r.uprobeArch}
		if r.fs != nil {
			// fentry and fexit become fprobes where this kernel's tracefs
			// has them and its BTF arguments, else kprobes with offsets.
			g := r.fs.Grammar(kprobeevents.Options{})
			topts.Grammar = &g
		}
		r.closeEarlyRing()
		r.TracefsProbes, r.Object, err = script.CompileTracefs(prog, info, topts)
		if err != nil {
			return nil, err
		}
		return r, nil
	}
	hooks := false
	for _, p := range prog.Probes {
		for _, a := range p.Attach {
			hooks = hooks || a.Type == script.Begin || a.Type == script.End
		}
	}
	gopts := hostOptions(hooks)
	gopts.Output = output
	if opts.hookType != 0 {
		gopts.HookType = opts.hookType
	}
	gopts.RingSize = uint32(r.plan.Total())
	gopts.Arch = arch
	gopts.UprobeArch = r.uprobeArch
	for _, p := range prog.Probes {
		for _, a := range p.Attach {
			if a.Type == script.RawTracepoint && a.BTFID != 0 && !opts.rawTP {
				gopts.TPBTF = bpf.HaveTPBTF() == nil
			}
		}
	}
	r.Object, err = script.Compile(prog, info, gopts)
	if err != nil {
		return nil, err
	}
	r.plans = make([]script.PrintfPlan, len(r.Object.Printfs))
	for i, pf := range r.Object.Printfs {
		if pf.Kind == script.PrintfFormat {
			r.plans[i] = script.PlanPrintf(pf.Format)
		}
	}
	return r, nil
}

// Start creates the maps, loads the programs, runs BEGIN and attaches
// every probe; ready, if not nil, runs once they are attached (it releases
// a -c command). It prints bpftrace's "Attaching N probes..." first; the
// tracefs backend prints it once every probe is attached.
func (r *Run) Start(ready func() error) error {
	r.started = time.Now()
	if err := r.openPID(); err != nil {
		return err
	}
	if r.Backend == BackendTracefs {
		return r.startTracefs(ready)
	}
	if err := r.load(); err != nil {
		return err
	}
	n, err := r.resolveUprobes()
	if err != nil {
		return err
	}
	r.attachedMessage(n)
	// BEGIN runs before any other probe is attached, as in bpftrace, so
	// that what it sets up is in place when they fire; its output is
	// printed before theirs.
	for i, p := range r.Object.Programs {
		if p.Attach.Type == script.Begin || p.Attach.Type == script.End {
			h, err := r.attachHook(p.Attach.Type, r.progs[i])
			if err != nil {
				return err
			}
			if p.Attach.Type == script.Begin {
				r.begin = h
			} else {
				r.end = h
			}
		}
	}
	if r.begin != nil {
		if err := r.begin.fire(); err != nil {
			return fmt.Errorf("BEGIN: %w", err)
		}
		if err := r.drain(); err != nil {
			return err
		}
		if r.exited {
			return nil
		}
	}
	if err := r.attachAll(); err != nil {
		return err
	}
	if ready != nil {
		return ready()
	}
	return nil
}

// attachAll attaches every program. A probe of several attach points
// (kprobe:blk_account_io_start, kprobe:__blk_account_io_start, of which a
// kernel has one or the other) needs one of them attached: the others
// that fail are skipped with a warning, as bpftrace does. A probe none of
// whose attach points attaches is an error.
func (r *Run) attachAll() error {
	points := map[int]int{}
	for _, p := range r.Object.Programs {
		points[p.Probe]++
	}
	errs := make([]error, len(r.Object.Programs))
	for i, p := range r.Object.Programs {
		err := r.attach(p, r.progs[i])
		if err != nil && points[p.Probe] == 1 {
			return err
		}
		errs[i] = err
	}
	if err := r.unattached(errs); err != nil {
		return err
	}
	for _, err := range errs {
		if err != nil {
			fmt.Fprintf(os.Stderr, "WARNING: %v: skipping it, as another attach point of its probe is attached\n", err)
		}
	}
	return nil
}

// resolveUprobes resolves the uprobes' files and symbols before anything
// is attached, and returns how many attach points there are to attach: as
// in bpftrace, the count leaves out those of a probe list that do not
// resolve, which attachAll skips. A probe none of whose attach points
// resolves is an error, before BEGIN runs.
func (r *Run) resolveUprobes() (int, error) {
	errs := make([]error, len(r.Object.Programs))
	n := len(errs)
	for i, p := range r.Object.Programs {
		switch p.Attach.Type {
		case script.Uprobe, script.Uretprobe, script.USDT:
			if _, _, err := r.uprobeTarget(p.Attach); err != nil {
				errs[i] = fmt.Errorf("attaching %s: %w", p.Attach.Describe(), err)
				n--
			}
		}
	}
	return n, r.unattached(errs)
}

// unattached is the error of the first probe none of whose attach points
// succeeded, joining each point's: errs holds each program's error, in
// Object.Programs' order (nil where it succeeded, or was not tried).
func (r *Run) unattached(errs []error) error {
	ok := map[int]bool{}
	failed := map[int][]error{}
	var order []int
	for i, p := range r.Object.Programs {
		if errs[i] == nil {
			ok[p.Probe] = true
			continue
		}
		if failed[p.Probe] == nil {
			order = append(order, p.Probe)
		}
		failed[p.Probe] = append(failed[p.Probe], errs[i])
	}
	for _, pi := range order {
		if !ok[pi] {
			return errors.Join(failed[pi]...)
		}
	}
	return nil
}

func (r *Run) attachedMessage(n int) {
	if r.opts.Quiet {
		return
	}
	if r.opts.Format == JSONOutput {
		fmt.Fprintf(r.out, script.JSONHead+"\"attached_probes\", \"data\": {\"probes\": %d}}\n", n)
		return
	}
	s := "s"
	if n == 1 {
		s = ""
	}
	fmt.Fprintf(r.out, "Attaching %d probe%s...\n", n, s)
}

// load creates the maps and loads the programs.
func (r *Run) load() error {
	r.maps = map[string]*bpf.Map{}
	for _, m := range r.Object.Maps {
		if bm := r.takeEarlyRing(m.Spec); bm != nil {
			r.maps[m.Spec.Name] = bm
			continue
		}
		bm, err := bpf.NewMap(m.Spec)
		if err != nil {
			what := "map " + m.Spec.Name
			if m.Info != nil {
				what = "map @" + m.Info.Name
			}
			return fmt.Errorf("%s (%v): %w", what, m.Spec.Type, err)
		}
		r.maps[m.Spec.Name] = bm
	}
	mods := moduleObjects{}
	defer mods.Close() // a loaded program holds what it attaches to
	for _, p := range r.Object.Programs {
		obj, err := mods.fd(p.Attach)
		if err != nil {
			return fmt.Errorf("probe %s: %w", p.Attach.Describe(), err)
		}
		prog, err := bpf.NewProgram(bpf.ProgramSpec{Name: p.Name, Type: p.Type, License: "GPL",
			Instructions: p.Insns, Maps: r.maps, AttachType: p.AttachType, AttachBTFID: p.AttachBTFID, AttachBTFObjFD: obj})
		if err != nil {
			return fmt.Errorf("probe %s: the kernel refused its program: %w", p.Attach.Describe(), err)
		}
		r.progs = append(r.progs, prog)
	}
	stacks := map[int]*bpf.Map{}
	for _, m := range r.Object.Maps {
		if m.Spec.Type == bpf.StackTrace {
			stacks[int(m.Spec.ValueSize/8)] = r.maps[m.Spec.Name]
		}
	}
	r.res = NewResolver(stacks)
	if ev, ok := r.maps[script.EventsMap]; ok {
		var err error
		if r.Object.Output == script.OutputPerfEventArray {
			r.output, err = newPerfArraySource(ev, r.plan.RingSize)
		} else {
			r.output, err = newRingSource(ev, r.maps[script.LostMap])
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// Wait prints output until exit(), ctx is done (Ctrl-C) or the -p/-c
// process exits; then it runs END and prints the maps, as bpftrace does.
func (r *Run) Wait(ctx context.Context) error {
	if r.Backend == BackendTracefs {
		return r.waitTracefs(ctx)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if stop := r.watch(cancel); stop != nil {
		defer stop()
	}
	var err error
	if !r.exited && r.output != nil {
		err = r.loop(ctx)
	} else if !r.exited {
		<-ctx.Done()
	}
	// The maps are printed before the probes are detached: each detach
	// waits for the kernel's RCU grace periods, tens of milliseconds per
	// probe (see detach), and a user waits for the maps, not for that.
	// What still hits in between is what would have hit while bpftrace,
	// which detaches first, noticed the exit; END runs after the probes'
	// records are drained, as there.
	if derr := r.drain(); err == nil {
		err = derr
	}
	if r.end != nil {
		r.inEnd = true
		if ferr := r.end.fire(); ferr != nil && err == nil {
			err = fmt.Errorf("END: %w", ferr)
		}
		if derr := r.drain(); err == nil {
			err = derr
		}
	}
	if lerr := r.printLost(); err == nil {
		err = lerr
	}
	if perr := r.printMaps(); err == nil {
		err = perr
	}
	r.detach()
	return err
}

// Rings is the size of the output rings (one BPF ring buffer, or a perf
// ring per CPU) and what bounded it.
func (r *Run) Rings() perf.RingPlan { return r.plan }

// SuggestedRingSize is the RingSize that would have held the records lost,
// at the mean size of those read; 0 when none was lost.
func (r *Run) SuggestedRingSize() int {
	if r.output == nil {
		return 0
	}
	lost, err := r.output.lost()
	if err != nil || lost == 0 {
		return 0
	}
	rec := 64
	if r.records > 0 {
		rec = int(r.recBytes / r.records)
	}
	return perf.SuggestRingSize(r.plan.RingSize, lost, rec)
}

// printLost says how many records never reached user space, as bpftrace
// does: a lost event is never silent.
func (r *Run) printLost() error {
	if r.output == nil {
		return nil
	}
	n, err := r.output.lost()
	if err != nil || n == 0 {
		return err
	}
	if r.opts.Format == JSONOutput {
		_, err = fmt.Fprintf(r.out, script.JSONHead+"\"lost_events\", \"data\": {\"events\": %d}}\n", n)
	} else {
		_, err = fmt.Fprintf(r.out, "\nLost %d events\n", n)
	}
	return err
}

// loop handles records until exit() or ctx is done.
func (r *Run) loop(ctx context.Context) error {
	for !r.exited {
		rec, err := r.next(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		if rec == nil {
			continue
		}
		if err := r.handle(rec); err != nil {
			return err
		}
	}
	return r.flush()
}

// next reads the next record, writing out what is batched before it waits.
func (r *Run) next(ctx context.Context) ([]byte, error) {
	if len(r.buf) == 0 {
		return r.output.read(ctx)
	}
	if r.idle == nil {
		idle, cancel := context.WithCancel(context.Background())
		cancel()
		r.idle = idle
	}
	rec, err := r.output.read(r.idle)
	if err == nil || !errors.Is(err, context.Canceled) {
		return rec, err
	}
	if err := r.flush(); err != nil {
		return nil, err
	}
	return r.output.read(ctx)
}

// outBatch is how much printf text is batched before it is written.
const outBatch = 64 << 10

// flush writes out the batched printf text.
func (r *Run) flush() error {
	if len(r.buf) == 0 {
		return nil
	}
	_, err := r.out.Write(r.buf)
	r.buf = r.buf[:0]
	return err
}

// drain handles the records already in the rings.
func (r *Run) drain() error {
	if r.output == nil {
		return nil
	}
	done, cancel := context.WithCancel(context.Background())
	cancel()
	for {
		rec, err := r.output.read(done)
		if err != nil {
			if errors.Is(err, context.Canceled) {
				return r.flush()
			}
			r.flush()
			return err
		}
		if rec == nil {
			continue
		}
		if err := r.handle(rec); err != nil {
			r.flush()
			return err
		}
	}
}

// handle prints a printf record or performs an action.
func (r *Run) handle(rec []byte) error {
	r.records++
	r.recBytes += uint64(len(rec)+8+7) &^ 7 // the ring's header, 8-byte aligned
	if r.opts.Format == TextOutput && len(rec) >= 8 {
		if id := script.NativeU64(rec); id < uint64(len(r.plans)) {
			if pf := r.Object.Printfs[id]; pf.Kind == script.PrintfFormat && len(rec) >= pf.Size {
				r.buf = r.Object.AppendPrintf(r.buf, &r.plans[id], pf, rec, r.res)
				if len(r.buf) >= outBatch {
					return r.flush()
				}
				return nil
			}
		}
	}
	// Anything else writes to r.out itself, after the printfs before it.
	if err := r.flush(); err != nil {
		return err
	}
	if r.opts.Format == JSONOutput {
		if len(rec) >= 8 && script.NativeU64(rec)>>32 == 0 {
			var b strings.Builder
			if _, err := r.Object.HandleRecord(&b, rec, r.res); err != nil {
				return err
			}
			// bpftrace's types: "time", "join" (its text without the
			// newline) and "printf".
			typ, data := "printf", b.String()
			if id := script.NativeU64(rec); id < uint64(len(r.Object.Printfs)) {
				switch r.Object.Printfs[id].Kind {
				case script.PrintfTime:
					typ = "time"
				case script.PrintfJoin:
					typ, data = "join", strings.TrimSuffix(data, "\n")
				case script.PrintfCat:
					typ = "cat"
				case script.PrintfSystem:
					typ = "system"
				}
			}
			_, err := fmt.Fprintf(r.out, script.JSONHead+"%q, \"data\": %s}\n", typ, script.JSONString(data))
			return err
		}
	}
	act, err := r.Object.HandleRecord(r.out, rec, r.res)
	if err != nil {
		return err
	}
	if act.Action == 0 {
		return nil
	}
	if act.Map < 0 || act.Map >= len(r.Object.Maps) {
		return fmt.Errorf("action %d on map %d: the object has %d maps", act.Action, act.Map, len(r.Object.Maps))
	}
	m := r.Object.Maps[act.Map]
	switch act.Action {
	case script.ActionExit:
		r.exited = true
	case script.ActionPrint:
		return r.printMap(m, act.Top, act.Div)
	case script.ActionClear:
		// bpftrace 0.17 prints a cleared count without keys as 0, and
		// every other cleared map as empty.
		r.setZeroed(m, m.Info != nil && m.Info.Value.Kind == script.KindCount)
		if r.inEnd {
			if r.endCleared == nil {
				r.endCleared = map[string]bool{}
			}
			r.endCleared[m.Spec.Name] = true
		}
		return ClearMap(r.maps[m.Spec.Name], m)
	case script.ActionZero:
		r.setZeroed(m, true)
		return ZeroMap(r.maps[m.Spec.Name], m)
	}
	return nil
}

// readCleared reads a map END cleared as it was then: empty, or the one
// zero a cleared count without keys prints as.
func (r *Run) readCleared(m *script.Map) ([]script.Entry, error) {
	r.zmu.Lock()
	zeroed := r.zeroed[m.Spec.Name]
	r.zmu.Unlock()
	if zeroed {
		return []script.Entry{{Key: make([]byte, m.Spec.KeySize), Values: [][]byte{make([]byte, m.Spec.ValueSize)}}}, nil
	}
	return nil, nil
}

func (r *Run) readMap(m *script.Map) ([]script.Entry, error) {
	entries, err := ReadMap(r.maps[m.Spec.Name], m)
	r.zmu.Lock()
	zeroed := r.zeroed[m.Spec.Name]
	r.zmu.Unlock()
	if err == nil && len(entries) == 0 && zeroed {
		entries = []script.Entry{{Key: make([]byte, m.Spec.KeySize), Values: [][]byte{make([]byte, m.Spec.ValueSize)}}}
	}
	return entries, err
}

// setZeroed notes whether a map without keys is to print as zero while
// its element is all zeros.
func (r *Run) setZeroed(m *script.Map, zeroed bool) {
	if m.Info == nil || len(m.Info.Keys) > 0 {
		return
	}
	r.zmu.Lock()
	defer r.zmu.Unlock()
	if r.zeroed == nil {
		r.zeroed = map[string]bool{}
	}
	r.zeroed[m.Spec.Name] = zeroed
}

func (r *Run) printMap(m *script.Map, top int, div uint64) error {
	entries, err := r.readMap(m)
	if err != nil {
		return err
	}
	if top > 0 {
		entries = r.Object.TopEntries(m, entries, top, r.res)
	}
	if r.opts.Folded != nil && script.Foldable(m) {
		p := flamegraph.NewProfile()
		r.Object.Fold(p, m, entries, r.res)
		return p.WriteFolded(r.opts.Folded)
	}
	if r.opts.Format == JSONOutput {
		return r.Object.WriteMapJSON(r.out, m, entries, r.res)
	}
	return r.Object.WriteMapDiv(r.out, m, entries, r.res, div)
}

// printMaps prints every map at the end, after bpftrace's two empty lines
// (text only).
func (r *Run) printMaps() error {
	read := func(m *script.Map) ([]script.Entry, error) {
		if r.endCleared[m.Spec.Name] {
			return r.readCleared(m)
		}
		return r.readMap(m)
	}
	if r.opts.Folded != nil {
		return r.printFolded(read)
	}
	if r.opts.Format == JSONOutput {
		return r.Object.WriteMapsJSON(r.out, read, r.res)
	}
	if !r.opts.Quiet {
		if _, err := io.WriteString(r.out, "\n\n"); err != nil {
			return err
		}
	}
	return r.Object.WriteMapsSkipEmpty(r.out, read, r.res, r.opts.Quiet)
}

// printFolded writes the maps keyed by stacks to Folded, merged into one
// profile, and the other maps that hold elements as Out's format has them.
func (r *Run) printFolded(read func(*script.Map) ([]script.Entry, error)) error {
	p := flamegraph.NewProfile()
	var rest []*script.Map
	for _, m := range r.Object.Maps {
		if m.Info == nil {
			continue
		}
		entries, err := read(m)
		if err != nil {
			return fmt.Errorf("reading @%s: %w", m.Info.Name, err)
		}
		switch {
		case script.Foldable(m):
			r.Object.Fold(p, m, entries, r.res)
		case len(entries) > 0:
			rest = append(rest, m)
		}
	}
	if err := p.WriteFolded(r.opts.Folded); err != nil {
		return err
	}
	if len(rest) == 0 {
		return nil
	}
	o := *r.Object
	o.Maps = rest
	if r.opts.Format == JSONOutput {
		return o.WriteMapsJSON(r.out, read, r.res)
	}
	if _, err := io.WriteString(r.out, "\n\n"); err != nil {
		return err
	}
	return o.WriteMapsSkipEmpty(r.out, read, r.res, true)
}

// detach stops every probe but the END hook. Each perf event's release
// unregisters its tracepoint or probe and then waits for RCU grace periods
// (tracepoint_synchronize_unregister), tens of milliseconds each, under
// the kernel's event_mutex: closing them in parallel gains nothing, so
// they close in order.
func (r *Run) detach() {
	for _, l := range r.links {
		l.Close()
	}
	r.links = nil
	r.removeDynamic()
}

func (r *Run) removeDynamic() {
	for i := len(r.dyn) - 1; i >= 0; i-- {
		d := r.dyn[i]
		r.fs.RemoveDynamicEvent(d.file, d.group, d.event)
	}
	r.dyn = nil
}

// Close removes everything the run created: probes, perf events, programs,
// maps and rings. It is safe to call more than once.
func (r *Run) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	var errs []error
	if r.pidfd > 0 {
		unix.Close(r.pidfd)
		r.pidfd = 0
	}
	// Streams and triggers hold the events: they go before the events.
	if r.tfs != nil {
		errs = append(errs, r.tfs.close())
	}
	r.detach()
	for _, h := range []*hook{r.begin, r.end} {
		if h != nil {
			errs = append(errs, h.close())
		}
	}
	r.removeDynamic()
	r.closeEarlyRing()
	if r.output != nil {
		errs = append(errs, r.output.close())
	}
	for _, p := range r.progs {
		errs = append(errs, p.Close())
	}
	for _, m := range r.maps {
		errs = append(errs, m.Close())
	}
	return errors.Join(errs...)
}

// openPID takes a pidfd of the -p/-c process before the probes are
// attached, so that its exit is seen however early it comes.
func (r *Run) openPID() error {
	if r.opts.PID <= 0 || r.pidfd > 0 {
		return nil
	}
	fd, err := unix.PidfdOpen(r.opts.PID, unix.PIDFD_NONBLOCK)
	if err != nil {
		return fmt.Errorf("process %d: %w", r.opts.PID, err)
	}
	r.pidfd = fd
	return nil
}

// watch calls stop when the -p/-c process exits.
func (r *Run) watch(stop func()) func() {
	if r.pidfd <= 0 {
		return nil
	}
	fd := r.pidfd
	r.pidfd = 0
	return watchPID(fd, stop)
}

// watchPID calls stop when the process of pidfd exits (the pidfd becomes
// readable), and closes the pidfd.
func watchPID(fd int, stop func()) func() {
	quit := make(chan struct{})
	go func() {
		defer unix.Close(fd)
		for {
			fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
			n, err := unix.Poll(fds, 100)
			select {
			case <-quit:
				return
			default:
			}
			if err == nil && n > 0 {
				stop()
				return
			}
		}
	}()
	return func() { close(quit) }
}
