package script

import (
	"fmt"
	"sort"
	"strings"

	"github.com/tracelet/tracelet/asm"
	"github.com/tracelet/tracelet/bpf/uapi"
	"github.com/tracelet/tracelet/btf"
)

// OutputKind selects how programs send printf records and actions to user
// space.
type OutputKind int

const (
	// OutputRingBuf is the BPF ring buffer (5.8): one ring for all CPUs,
	// records in order.
	OutputRingBuf OutputKind = iota
	// OutputPerfEventArray is the perf event array (4.4): one ring per CPU.
	OutputPerfEventArray
)

func (k OutputKind) String() string {
	if k == OutputPerfEventArray {
		return "perf-event-array"
	}
	return "ringbuf"
}

// Options configure code generation. The zero value compiles for the host
// architecture and a kernel with every helper, writing to a ring buffer.
type Options struct {
	// Arch places arg0..argN and retval; nil means the binary's own
	// (asm.HostArch), which this package, reading nothing of the system,
	// takes for the kernel's. The runtime passes the running kernel's
	// (bpf.KernelArch): a 32-bit tracelet on a 64-bit kernel reads the
	// 64-bit pt_regs.
	Arch *asm.Arch
	// UprobeArch places the arguments and return value of a uprobe's code
	// when it is not Arch's: a 32-bit executable on a 64-bit kernel
	// follows its own calling convention (asm.Arch.ForELF). The runtime
	// reads the probed file's ELF header; nil means Arch everywhere.
	UprobeArch func(a *AttachPoint, kernel *asm.Arch) (*asm.Arch, error)
	// Output selects the ring the programs write to. The caller decides it
	// with a feature probe (bpf.HaveMapType(bpf.RingBuf)).
	Output OutputKind
	// HaveHelper reports whether the kernel offers a helper, for programs
	// of type t; it is a feature probe (bpf.HaveHelper), not a version
	// check. Nil means every helper is there. Without
	// bpf_probe_read_{kernel,user}[_str] (5.5) the programs use
	// bpf_probe_read[_str].
	HaveHelper func(t uapi.ProgramType, fn asm.BuiltinFunc) bool
	// StartNs is the bpf_ktime_get_ns (CLOCK_MONOTONIC) time that elapsed
	// counts from.
	StartNs uint64
	// MaxEntries bounds each map (bpftrace's default is 4096).
	MaxEntries uint32
	// CommPadded reports whether bpf_get_current_comm fills all 16
	// bytes, NULs after the name (a feature probe, scriptrun.HostOptions, run only
	// for a script that uses comm); nil or false: the buffer is cleared
	// before the call.
	CommPadded func() bool
	// NoPrealloc creates hash maps with BPF_F_NO_PREALLOC: entries are
	// allocated as keys arrive rather than all at creation, which for a
	// per-CPU hash of 4096 entries was most of the start-up time. Set it
	// only where the kernel allocates safely from any tracing context
	// (bpf_mem_alloc, 6.1; scriptrun.HostOptions probes for it): before, a kprobe
	// could re-enter the allocator it interrupted.
	NoPrealloc bool
	// HookType is the program type of BEGIN and END: bpf.RawTracepoint
	// when the kernel runs those with BPF_PROG_TEST_RUN (5.10), else (the
	// zero value) bpf.Kprobe, for a uprobe on tracelet itself.
	HookType uapi.ProgramType
	// RingSize is the size in bytes of the ring buffer (a power of two
	// multiple of the page size); zero means 256 KiB.
	RingSize uint32
	// TPBTF makes a rawtracepoint whose btf_trace_EVENT Check found a
	// tp_btf program (BPF_TRACE_RAW_TP, 5.5; bpf.HaveTPBTF) instead of a
	// raw_tp one: the same context, and members of its pointer arguments
	// are loaded directly.
	TPBTF bool
}

// Object is a compiled script: the maps to create and one program per
// attach point.
type Object struct {
	Programs []*Prog
	Maps     []*Map
	// Printfs are the printf calls: a record whose id is i was sent by
	// Printfs[i].
	Printfs []*Printf
	// Prints are the print() calls.
	Prints []*Print
	// Streams is Streams(the program): whether a probe other than BEGIN,
	// END and interval sends printf-like records.
	Streams bool
	// Tables are the maps WriteMap prints in columns (SetTable).
	Tables map[string]*Table
	// Attach lists every attach point; the probe builtin is an index into
	// it.
	Attach []*AttachPoint
	Info   *Info
	Output OutputKind
	// Hists are the hist maps printed in libbpf-tools' layout
	// (Program.Hists).
	Hists map[string]*HistStyle
}

// Prog is the program of one attach point.
type Prog struct {
	Name   string // a BPF object name (15 bytes at most)
	Attach *AttachPoint
	// Probe is the index of its probe in Program.Probes: the attach
	// points of one probe, listed or a wildcard's matches, share it.
	Probe int
	Type  uapi.ProgramType
	Insns asm.Instructions
	// AttachType and AttachBTFID are the expected_attach_type and
	// attach_btf_id of fentry, fexit and lsm programs.
	AttachType  uapi.AttachType
	AttachBTFID btf.TypeID
}

// Map is a BPF map the programs use: a script map (Info set), the stack
// trace map, or the output ring.
type Map struct {
	Spec uapi.MapSpec
	Info *MapInfo // nil for the internal maps
	// Buckets is set for hist and lhist maps, whose key ends in an
	// 8-byte bucket number after the script's keys.
	Buckets bool
	// KeyLayout gives the offset of each script key in the BPF key.
	KeyOffsets []int
}

// Printf is one printf call: its format, and where each argument sits in
// the record after the 8-byte id.
type Printf struct {
	// Kind is what the record asks for: a printf, time() (Format is the
	// strftime format) or join() (Format is the separator).
	Kind    PrintfKind
	Format  string
	Args    []*Type
	Offsets []int
	Size    int // the record's size, id included
}

// PrintfKind is the kind of a Printf record.
type PrintfKind int

// Printf kinds.
const (
	PrintfFormat PrintfKind = iota // printf(fmt, args...)
	PrintfTime                     // time(fmt): the wall time now
	PrintfJoin                     // join(argv, sep): the strings read
	PrintfCat                      // cat(fmt, args...): the file the formatted path names
	PrintfSystem                   // system(fmt, args...): the formatted command's output
)

// Record ids: a printf record starts with the index of its Printf; the
// other actions have the action in the upper 32 bits and a map index in the
// lower.
const (
	ActionExit  = 1
	ActionPrint = 2
	ActionClear = 3
	ActionZero  = 4
)

// ActionID is the id of an action record.
func ActionID(action, index int) uint64 { return uint64(action)<<32 | uint64(uint32(index)) }

// MaxPrintTop is the largest top of print(@map, top), and MaxPrintDiv
// the largest div of print(@map, top, div).
const (
	MaxPrintTop = 0xffff
	MaxPrintDiv = 1<<32 - 1
)

// Print is a print(@map[, top[, div]]) call; the id of its record is
// ActionID(ActionPrint, i), i its index in Object.Prints.
type Print struct {
	Map int // the index in Object.Maps
	Top int // keep the top elements (0: all)
	// Div divides the values printed (0 and 1: as they are), as bpftrace
	// 0.17 divides them: integers, count, sum, min, max, avg and a
	// hist's counts (not its bars); an lhist or stats map prints whole.
	Div uint64
}

// RingBufSpec is the output ring of a program whose Options.Output is
// OutputRingBuf: a BPF ring buffer of size bytes.
func RingBufSpec(size uint32) uapi.MapSpec {
	return uapi.MapSpec{Name: EventsMap, Type: uapi.RingBuf, MaxEntries: size}
}

// Names of the internal maps.
const (
	EventsMap = "events"
	StacksMap = "stacks"
	// LostMap counts the records a full BPF ring buffer refused: one u64
	// in an array, added to atomically.
	LostMap = "lost"
)

// MaxStackDepth is the frames a stack keeps by default
// (PERF_MAX_STACK_DEPTH); kstack(N) keeps fewer.
const MaxStackDepth = 127

// bpfNoPrealloc is BPF_F_NO_PREALLOC.
const bpfNoPrealloc = 1

// maxStack is the BPF stack: 512 bytes (MAX_BPF_STACK).
const maxStack = 512

// Compile generates the programs of a checked script.
func Compile(prog *Program, info *Info, opts Options) (*Object, error) {
	if opts.Arch == nil {
		a, err := asm.HostArch()
		if err != nil {
			return nil, err
		}
		opts.Arch = a
	}
	if opts.MaxEntries == 0 {
		opts.MaxEntries = info.MaxEntries
	}
	if opts.MaxEntries == 0 {
		opts.MaxEntries = 4096
	}
	if opts.RingSize == 0 {
		opts.RingSize = 256 << 10
	}
	if prog.src == nil {
		prog.src = newSource(prog.File, nil)
	}
	c := &compiler{prog: prog, info: info, opts: opts, obj: &Object{Info: info, Output: opts.Output, Hists: prog.Hists, Streams: Streams(prog)},
		maps: map[string]*Map{}, mapIndex: map[string]int{}, printfIDs: map[*Call]int{}, printIDs: map[*Call]int{}}
	c.layoutMaps()
	for _, p := range prog.Probes {
		c.obj.Attach = append(c.obj.Attach, p.Attach...)
	}
	idx := 0
	for pi, p := range prog.Probes {
		for _, a := range p.Attach {
			insns := c.program(p, a, idx)
			pr := &Prog{Name: progName(idx, a), Attach: a, Probe: pi, Type: c.progTypeAt(a), Insns: insns, AttachBTFID: a.BTFID}
			switch a.Type {
			case RawTracepoint:
				if pr.Type == uapi.Tracing {
					pr.AttachType = uapi.AttachTraceRawTp
				} else {
					pr.AttachBTFID = 0
				}
			case Fentry:
				pr.AttachType = uapi.AttachTraceFentry
			case Fexit:
				pr.AttachType = uapi.AttachTraceFexit
			case LSM:
				pr.AttachType = uapi.AttachLSMMac
			}
			c.obj.Programs = append(c.obj.Programs, pr)
			idx++
		}
	}
	// One stack map per depth: the kernel keeps as many frames as the
	// value holds and hashes only those, so kstack(5) of two stacks that
	// differ deeper down is one key, as in bpftrace.
	for _, d := range sortedDepths(c.stackDepths) {
		c.obj.Maps = append(c.obj.Maps, &Map{Spec: uapi.MapSpec{Name: StackMapName(d), Type: uapi.StackTrace,
			KeySize: 4, ValueSize: uint32(8 * d), MaxEntries: opts.MaxEntries}})
	}
	if c.needJoin {
		c.obj.Maps = append(c.obj.Maps, &Map{Spec: uapi.MapSpec{Name: JoinMap, Type: uapi.PerCPUArray,
			KeySize: 4, ValueSize: 16 + JoinArgs*JoinArgSize, MaxEntries: 1}})
	}
	if c.needEvents {
		spec := RingBufSpec(opts.RingSize)
		if opts.Output == OutputPerfEventArray {
			spec = uapi.MapSpec{Name: EventsMap, Type: uapi.PerfEventArray, KeySize: 4, ValueSize: 4}
		}
		c.obj.Maps = append(c.obj.Maps, &Map{Spec: spec})
		if opts.Output != OutputPerfEventArray {
			c.obj.Maps = append(c.obj.Maps, &Map{Spec: uapi.MapSpec{Name: LostMap, Type: uapi.Array, KeySize: 4, ValueSize: 8, MaxEntries: 1}})
		}
	}
	c.errs.Sort()
	if err := c.errs.Err(); err != nil {
		return nil, err
	}
	return c.obj, nil
}

// CompileSource parses, checks and compiles a script.
func CompileSource(file string, src []byte, copts CheckOptions, opts Options) (*Object, error) {
	prog, err := Parse(file, src)
	if err != nil {
		return nil, err
	}
	info, err := Check(prog, copts)
	if err != nil {
		return nil, err
	}
	return Compile(prog, info, opts)
}

// progTypeAt is the program type of attach point a.
func (c *compiler) progTypeAt(a *AttachPoint) uapi.ProgramType {
	if a.Type == RawTracepoint && c.opts.TPBTF && a.BTFID != 0 {
		return uapi.Tracing
	}
	return c.progType(a.Type)
}

func (c *compiler) progType(t ProbeType) uapi.ProgramType {
	switch t {
	case Tracepoint:
		return uapi.TracePoint
	case RawTracepoint:
		return uapi.RawTracepoint
	case Fentry, Fexit:
		return uapi.Tracing
	case LSM:
		return uapi.LSM
	case Interval, Profile, Software, Hardware:
		return uapi.PerfEvent
	case Begin, End:
		if c.opts.HookType != 0 {
			return c.opts.HookType
		}
	}
	return uapi.Kprobe
}

func progName(i int, a *AttachPoint) string {
	var b strings.Builder
	fmt.Fprintf(&b, "p%d_", i)
	name := a.Func
	if name == "" {
		name = a.Type.String()
	}
	for j := 0; j < len(name) && b.Len() < 15; j++ {
		c := name[j]
		if isLetter(c) || isDigit(c) {
			b.WriteByte(c)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

type compiler struct {
	prog *Program
	info *Info
	opts Options
	obj  *Object
	errs ErrorList

	maps        map[string]*Map
	mapIndex    map[string]int // script map name -> index in obj.Maps
	printfIDs   map[*Call]int
	printIDs    map[*Call]int
	stackDepths map[int]bool
	needEvents  bool
	needJoin    bool
}

// archAt is the table that places a's arguments: the kernel's, or for a
// uprobe the one of the probed file's ELF class (UprobeArch).
func (c *compiler) archAt(a *AttachPoint, kernel *asm.Arch, uprobeArch func(*AttachPoint, *asm.Arch) (*asm.Arch, error)) *asm.Arch {
	if uprobeArch == nil || a.Type != Uprobe && a.Type != Uretprobe && a.Type != USDT {
		return kernel
	}
	arch, err := uprobeArch(a, kernel)
	if err != nil {
		c.errorf(a.Pos, "%s: %v", a.Raw, err)
		return kernel
	}
	return arch
}

func (c *compiler) errorf(p Pos, format string, args ...any) {
	for _, e := range c.errs {
		if e.Pos == p {
			return
		}
	}
	c.prog.src.errorf(&c.errs, p, format, args...)
}

// slotSize is how many bytes a value of type t takes in a key, a map value
// or a record: 8-byte aligned, as bpftrace lays them out.
func slotSize(t *Type) int {
	switch t.Kind {
	case KindString:
		return (t.Size + 7) &^ 7
	case KindBuffer:
		return t.Size
	case KindUstack, KindUsym:
		return 16
	case KindInet:
		return inetSize
	}
	return 8
}

// layoutMaps decides each script map's BPF type and sizes.
func (c *compiler) layoutMaps() {
	for i, m := range c.info.Maps {
		name := fmt.Sprintf("m%d", i)
		bm := &Map{Info: m}
		key := 0
		for _, k := range m.Keys {
			bm.KeyOffsets = append(bm.KeyOffsets, key)
			key += slotSize(k)
		}
		v := m.Value
		spec := uapi.MapSpec{Name: name, MaxEntries: c.opts.MaxEntries}
		switch {
		case v.Kind == KindHist || v.Kind == KindLhist:
			// One entry per (key, bucket), as bpftrace stores histograms:
			// a value array of 66 buckets would not fit the 512-byte stack
			// the initial value is built on.
			bm.Buckets = true
			spec.Type, spec.KeySize, spec.ValueSize = uapi.PerCPUHash, uint32(key+8), 8
		case v.Kind.IsAggregation() && len(m.Keys) == 0:
			spec.Type, spec.KeySize, spec.ValueSize, spec.MaxEntries = uapi.PerCPUArray, 4, uint32(v.Size), 1
		case v.Kind.IsAggregation():
			spec.Type, spec.KeySize, spec.ValueSize = uapi.PerCPUHash, uint32(key), uint32(v.Size)
		default:
			if key == 0 {
				key = 8
			}
			spec.Type, spec.KeySize, spec.ValueSize = uapi.Hash, uint32(key), uint32(slotSize(v))
		}
		if c.opts.NoPrealloc && (spec.Type == uapi.Hash || spec.Type == uapi.PerCPUHash) {
			spec.Flags |= bpfNoPrealloc
		}
		bm.Spec = spec
		c.maps[m.Name] = bm
		c.mapIndex[m.Name] = len(c.obj.Maps)
		c.obj.Maps = append(c.obj.Maps, bm)
	}
}

// StackMapName names the stack map of stacks kept to depth frames:
// StacksMap for the default, MaxStackDepth.
func StackMapName(depth int) string {
	if depth == 0 || depth == MaxStackDepth {
		return StacksMap
	}
	return fmt.Sprintf("%s_%d", StacksMap, depth)
}

func sortedDepths(m map[int]bool) []int {
	var ds []int
	for d := range m {
		ds = append(ds, d)
	}
	sort.Ints(ds)
	return ds
}
