package tools

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/tracelet/tracelet/asm"
	"github.com/tracelet/tracelet/bpf"
	"github.com/tracelet/tracelet/perf"
	"github.com/tracelet/tracelet/tracefs"
)

// Limits of the argument copy, as libbpf-tools' execsnoop has them: each
// argument is cut at ArgSize bytes, and at most MaxArgsLimit are copied.
const (
	ArgSize         = 128
	DefaultMaxArgs  = 20
	MaxArgsLimit    = 60
	execArgsMax     = MaxArgsLimit * ArgSize
	execOffRet      = hdrSize + 0
	execOffArgc     = hdrSize + 4
	execOffArgsSize = hdrSize + 8
	execOffFlags    = hdrSize + 12
	execOffPPid     = hdrSize + 16 // 0: not seen forked
	execOffArgs     = hdrSize + 24
	// execInFlight bounds the execs table: one entry per thread group
	// between execve's entry and exit. libbpf-tools has 10240 entries of
	// 7.7 KB preallocated (78 MB); on a 32-bit kernel that is more than
	// half of all vmalloc space, and a second run before the first's map
	// is freed (the kernel frees maps from a workqueue) fails with ENOMEM.
	execInFlight = 1024
)

// execArgsTotal is the argument buffer for maxArgs arguments and the
// filename, each cut at ArgSize, as libbpf-tools' 7,680-byte buffer caps it.
func execArgsTotal(maxArgs int) int {
	return min(maxArgs+1, MaxArgsLimit) * ArgSize
}

func execValueSize(maxArgs int) int { return execOffArgs + execArgsTotal(maxArgs) }

// ExecOptions configure Execsnoop.
type ExecOptions struct {
	Common
	Failed  bool   // -x: include failed execs
	Name    string // -n: only commands whose comm or an argument contains Name
	Line    string // -l: only commands with an argument containing Line
	UID     int    // -u: only this uid (-1: all)
	MaxArgs int    // --max-args (DefaultMaxArgs when 0)

	beforeRead func() // tests: called once attached, before the first record is read
}

// ExecEvent is one execve or execveat.
type ExecEvent struct {
	Time      time.Time `json:"-"`
	Comm      string    `json:"comm"`
	Pid       int       `json:"pid"`
	PPid      int       `json:"ppid"`
	UID       int       `json:"uid"`
	Ret       int       `json:"ret"`
	Args      []string  `json:"args"` // the filename, then argv[1:]
	Truncated bool      `json:"truncated,omitempty"`
}

// Execsnoop traces exec calls until ctx ends.
//
// Kept hand-written (issue 18). `make bench BENCH_FLAGS='-only scripted'`
// runs it beside bench/scripts/execsnoop.bt, the same tool as a tracelet
// script, on the same workload (5 rounds, medians, script ÷ this tool,
// BENCHMARKS.md "Hand-written or script"):
// the script cannot print the same line. join() prints argv where it is
// read, at the exec's entry, and after a successful exec the old argv is
// gone, so its line has no RET, cannot leave out failed execs (-x), and
// its PCOMM is the caller's; nor has it the tracefs backend, the JSON
// Lines, or -n/-l/-u/-U/-q/--max-args. Start-up (exec to first event)
// 32 ms against 51 (0.60×), peak RSS 9.5 MB against 8.6 (1.11×), the
// exec loop 0.94×, both lossless; the tracer's own CPU per exec 13 µs
// against 85 (0.15×): this tool is woken as records arrive and writes
// each line with a write(2) of its own, where run waits up to 10 ms for
// more records and writes 64 KiB at a time. That output path is the one
// to copy; it is no reason to move.
func Execsnoop(ctx context.Context, o ExecOptions, fn func(*ExecEvent) error) error {
	if o.MaxArgs <= 0 {
		o.MaxArgs = DefaultMaxArgs
	}
	if o.MaxArgs > MaxArgsLimit {
		return fmt.Errorf("--max-args %d: at most %d", o.MaxArgs, MaxArgsLimit)
	}
	backend, err := o.resolve("execsnoop", true)
	if err != nil {
		return err
	}
	keep := func(e *ExecEvent) bool {
		if o.Name != "" && !strings.Contains(e.Comm, o.Name) && !strings.Contains(strings.Join(e.Args, " "), o.Name) {
			return false
		}
		if o.Line != "" && !strings.Contains(strings.Join(e.Args, " "), o.Line) {
			return false
		}
		return true
	}
	if backend == BackendTracefs {
		return execTracefs(ctx, o, keep, fn)
	}
	s, err := newSession()
	if err != nil {
		return err
	}
	defer s.Close()
	out, err := s.newEventOut(o.PerfOutput)
	if err != nil {
		return err
	}
	vsize := uint32(execValueSize(o.MaxArgs))
	heap, err := s.newMap(bpf.MapSpec{Name: "heap", Type: bpf.PerCPUArray, KeySize: 4, ValueSize: vsize, MaxEntries: 1})
	if err != nil {
		return err
	}
	execs, err := s.newMap(bpf.MapSpec{Name: "execs", Type: bpf.Hash, KeySize: 4, ValueSize: vsize, MaxEntries: execInFlight})
	if err != nil {
		return err
	}
	parents, err := s.newMap(bpf.MapSpec{Name: "parents", Type: bpf.LRUHash, KeySize: 4, ValueSize: 4, MaxEntries: 16384})
	if err != nil {
		return err
	}
	maps := map[string]*bpf.Map{eventsMap: out.m, "heap": heap, "execs": execs, "parents": parents}
	if err := attachForkParent(s, maps); err != nil {
		return err
	}
	for _, sc := range []string{"execve", "execveat"} {
		if !s.hasEvent("syscalls", "sys_enter_"+sc) {
			continue
		}
		if err := attachExecProgs(s, out, maps, sc, o); err != nil {
			return err
		}
	}
	o.ready()
	if o.beforeRead != nil {
		o.beforeRead()
	}
	return out.loop(ctx, func(b []byte) error {
		ev, err := parseExec(b)
		if err != nil {
			return err
		}
		if !keep(ev) {
			return nil
		}
		if ev.PPid == 0 {
			ev.PPid = procPPid(ev.Pid)
		}
		return fn(ev)
	})
}

// attachForkParent remembers the parent of every task forked from now on:
// sched:sched_process_fork runs in the parent, whose tgid is what
// task->real_parent->tgid would say (out of reach without BTF), and names
// the child by its pid, which is the tgid of a new process. The exec then
// finds its parent there. Processes forked before the tool started are not
// in the map and their parent is read from /proc instead, which misses
// only those that are gone by then.
func attachForkParent(s *session, maps map[string]*bpf.Map) error {
	ff, err := s.format("sched", "sched_process_fork")
	if err != nil {
		return err
	}
	f, err := fields(ff, "child_pid")
	if err != nil {
		return err
	}
	ld, err := ctxField(asm.R1, f[0])
	if err != nil {
		return err
	}
	const child, parent = -4, -8
	insns := prologue()
	insns = append(insns, ld...)
	insns = append(insns, asm.StoreMem(asm.R10, child, asm.R1, asm.Word),
		asm.FnGetCurrentPidTgid.Call(),
		asm.RSh.Imm(asm.R0, 32),
		asm.StoreMem(asm.R10, parent, asm.R0, asm.Word))
	insns = append(insns, mapUpdate("parents", child, parent, 0)...)
	insns = append(insns, epilogue("out")...)
	prog, err := s.newProgram(bpf.ProgramSpec{Name: "exec_fork", Type: bpf.TracePoint, Instructions: insns, Maps: maps})
	if err != nil {
		return err
	}
	return s.attach(prog, "sched", "sched_process_fork")
}

func parseExec(b []byte) (*ExecEvent, error) {
	h, err := parseHeader(b)
	if err != nil {
		return nil, err
	}
	if len(b) < execOffArgs {
		return nil, fmt.Errorf("exec record of %d bytes", len(b))
	}
	ev := &ExecEvent{
		Time: monoToWall(h.Time), Comm: h.Comm, Pid: int(h.Tgid), UID: int(h.Uid),
		Ret:       int(int32(binary.NativeEndian.Uint32(b[execOffRet:]))),
		Truncated: binary.NativeEndian.Uint32(b[execOffFlags:]) == 1,
		PPid:      int(binary.NativeEndian.Uint32(b[execOffPPid:])),
	}
	n := int(binary.NativeEndian.Uint32(b[execOffArgsSize:]))
	args := b[execOffArgs:]
	if n > len(args) {
		n = len(args)
	}
	for _, a := range bytes.Split(bytes.TrimSuffix(args[:n], []byte{0}), []byte{0}) {
		ev.Args = append(ev.Args, string(a))
	}
	return ev, nil
}

// procPPid reads the parent of pid from /proc/PID/status (the tracepoints
// do not carry it and, without BTF, task->real_parent is out of reach).
func procPPid(pid int) int {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	if i := bytes.Index(b, []byte("\nPPid:")); i >= 0 {
		line := b[i+6:]
		if j := bytes.IndexByte(line, '\n'); j >= 0 {
			line = line[:j]
		}
		n, _ := strconv.Atoi(strings.TrimSpace(string(line)))
		return n
	}
	return 0
}

// attachExecProgs: the entry copies the filename and argv into a per-CPU
// scratch value (too big for the 512-byte stack) and saves it under the
// tgid; the exit adds the return value and the new comm and emits it. The
// key is the tgid because a multi-threaded exec ends in the thread-group
// leader's pid (de_thread), whichever thread called it.
func attachExecProgs(s *session, out *eventOut, maps map[string]*bpf.Map, sc string, o ExecOptions) error {
	ef, err := s.format("syscalls", "sys_enter_"+sc)
	if err != nil {
		return err
	}
	f, err := fields(ef, "filename", "argv")
	if err != nil {
		return err
	}
	readStr, read := s.readUser(true), s.readUser(false)
	const (
		zero = -4
		tgid = -8
		argv = -16
		argp = -24
	)
	total := execArgsTotal(o.MaxArgs)
	limit := int32(total - ArgSize)
	e := prologue()
	if o.UID >= 0 {
		e = append(e, asm.FnGetCurrentUidGid.Call(),
			asm.LSh.Imm(asm.R0, 32), asm.RSh.Imm(asm.R0, 32),
			asm.JNE.Imm(asm.R0, int32(o.UID), "out"))
	}
	e = append(e, asm.StoreImm(asm.R10, zero, 0, asm.Word))
	e = append(e, mapLookup("heap", zero)...)
	e = append(e, asm.JEq.Imm(asm.R0, 0, "out"), asm.Mov.Reg(asm.R7, asm.R0),
		asm.StoreImm(asm.R7, execOffRet, 0, asm.Word),
		asm.StoreImm(asm.R7, execOffFlags, 0, asm.Word),
		asm.Mov.Imm(asm.R8, 0), asm.Mov.Imm(asm.R9, 0))
	ldFile, _ := ctxField(asm.R3, f[0])
	ldArgv, _ := ctxField(asm.R1, f[1])
	e = append(e, ldArgv...)
	e = append(e, asm.StoreMem(asm.R10, argv, asm.R1, asm.DWord))
	// argv is an array of the user's pointers, as wide as the syscall
	// tracepoint's unsigned long fields (4 bytes on a 32-bit kernel, where
	// an 8-byte stride read every other argument). A narrower read leaves
	// the upper half of argp at the zero stored here.
	ptr := f[1].Size
	if ptr != 4 && ptr != 8 {
		return fmt.Errorf("tracepoint syscalls:sys_enter_%s: argv is %d bytes, want a 4- or 8-byte pointer", sc, ptr)
	}
	e = append(e, asm.StoreImm(asm.R10, argp, 0, asm.DWord))
	e = append(e, ldFile...)
	e = append(e, asm.Mov.Reg(asm.R1, asm.R7), asm.Add.Imm(asm.R1, execOffArgs),
		asm.Mov.Imm(asm.R2, ArgSize), readStr.Call(),
		asm.JSLE.Imm(asm.R0, 0, "save"),
		asm.Mov.Reg(asm.R8, asm.R0), asm.Mov.Imm(asm.R9, 1))
	for i := 1; i <= o.MaxArgs; i++ {
		e = append(e,
			asm.Mov.Reg(asm.R1, asm.R10), asm.Add.Imm(asm.R1, argp),
			asm.Mov.Imm(asm.R2, int32(ptr)),
			asm.LoadMem(asm.R3, asm.R10, argv, asm.DWord),
			asm.Add.Imm(asm.R3, int32(ptr*i)),
			read.Call(),
			asm.JNE.Imm(asm.R0, 0, "save"),
			asm.LoadMem(asm.R3, asm.R10, argp, asm.DWord),
			asm.JEq.Imm(asm.R3, 0, "save"))
		if i == o.MaxArgs {
			// One more non-NULL argv entry than we copy: say so.
			e = append(e, asm.Ja.Label("trunc"))
			break
		}
		e = append(e,
			asm.JGT.Imm(asm.R8, limit, "trunc"),
			asm.Mov.Reg(asm.R1, asm.R7), asm.Add.Imm(asm.R1, execOffArgs),
			asm.Add.Reg(asm.R1, asm.R8),
			asm.Mov.Imm(asm.R2, ArgSize),
			readStr.Call(),
			asm.JSLE.Imm(asm.R0, 0, "save"),
			asm.Add.Reg(asm.R8, asm.R0), asm.Add.Imm(asm.R9, 1))
	}
	e = append(e,
		asm.StoreImm(asm.R7, execOffFlags, 1, asm.Word).WithSymbol("trunc"),
		asm.StoreMem(asm.R7, execOffArgsSize, asm.R8, asm.Word).WithSymbol("save"),
		asm.StoreMem(asm.R7, execOffArgc, asm.R9, asm.Word),
		asm.FnGetCurrentPidTgid.Call(), asm.RSh.Imm(asm.R0, 32),
		asm.StoreMem(asm.R10, tgid, asm.R0, asm.Word),
		asm.LoadMapPtr(asm.R1, "execs"),
		asm.Mov.Reg(asm.R2, asm.R10), asm.Add.Imm(asm.R2, tgid),
		asm.Mov.Reg(asm.R3, asm.R7), asm.Mov.Imm(asm.R4, 0),
		asm.FnMapUpdateElem.Call())
	e = append(e, epilogue("out")...)
	enter, err := s.newProgram(bpf.ProgramSpec{Name: "enter_" + sc, Type: bpf.TracePoint, Instructions: e, Maps: maps})
	if err != nil {
		return err
	}

	se, err := syscallExit(sc)
	if err != nil {
		return err
	}
	xf, x, err := s.exitProgram(se)
	if err != nil {
		return err
	}
	rf, err := fields(xf, "ret")
	if err != nil {
		return err
	}
	ldRet, _ := ctxField(asm.R1, rf[0])
	x = append(x, asm.FnGetCurrentPidTgid.Call(), asm.RSh.Imm(asm.R0, 32),
		asm.StoreMem(asm.R10, tgid, asm.R0, asm.Word))
	x = append(x, mapLookup("execs", tgid)...)
	x = append(x, asm.JEq.Imm(asm.R0, 0, "out"), asm.Mov.Reg(asm.R7, asm.R0))
	x = append(x, ldRet...)
	x = append(x, asm.StoreMem(asm.R7, execOffRet, asm.R1, asm.Word),
		asm.StoreImm(asm.R7, execOffPPid, 0, asm.Word))
	x = append(x, mapLookup("parents", tgid)...)
	x = append(x, asm.JEq.Imm(asm.R0, 0, "noparent"),
		asm.LoadMem(asm.R1, asm.R0, 0, asm.Word),
		asm.StoreMem(asm.R7, execOffPPid, asm.R1, asm.Word),
		// ret again, sign-extended, for the test of failure below.
		asm.LoadMem(asm.R1, asm.R7, execOffRet, asm.Word).WithSymbol("noparent"),
		asm.LSh.Imm(asm.R1, 32), asm.ArSh.Imm(asm.R1, 32))
	if !o.Failed {
		x = append(x, asm.JSLT.Imm(asm.R1, 0, "del"))
	}
	x = append(x, storeHeader(asm.R7, 0)...)
	x = append(x, asm.LoadMem(asm.R8, asm.R7, execOffArgsSize, asm.Word),
		asm.JGT.Imm(asm.R8, int32(total), "del"),
		asm.Add.Imm(asm.R8, execOffArgs))
	x = append(x, out.emit(asm.R7, asm.R8)...)
	x = append(x, deleteThenOut("execs", tgid)...)
	return s.attachSyscall(sc, se, enter, x, maps)
}

// execTracefs is execsnoop without BPF. The syscall tracepoints carry only
// pointers, and an eprobe that would fetch the strings they point to is
// refused on syscall events (EINVAL, 6.18), so the filename comes from
// sched:sched_process_exec and the arguments from /proc/PID/cmdline, read
// when the event arrives: a command that exits sooner shows its filename
// only. Failed execs come from sys_exit_execve(at) with the comm only.
func execTracefs(ctx context.Context, o ExecOptions, keep func(*ExecEvent) bool, fn func(*ExecEvent) error) error {
	s, err := newSession()
	if err != nil {
		return err
	}
	defer s.Close()
	evs := []tpEvent{{"sched", "sched_process_exec", ""}}
	if o.Failed {
		for _, sc := range []string{"execve", "execveat"} {
			if !s.hasEvent("syscalls", "sys_exit_"+sc) {
				continue
			}
			se, err := syscallExit(sc)
			if err != nil {
				return err
			}
			evs = append(evs, se.tp("ret < 0"))
		}
	}
	st, err := s.openTracepoints(evs)
	if err != nil {
		return err
	}
	o.ready()
	return st.loop(ctx, func(i int, smp *perf.Sample, rec *tracefs.Record) error {
		ev := &ExecEvent{Time: eventTime(smp), Pid: int(smp.Pid), Comm: procComm(smp.Pid, smp.Tid)}
		if uid, ok := procUID(ev.Pid); ok {
			ev.UID = uid
		}
		if o.UID >= 0 && ev.UID != o.UID {
			return nil
		}
		if i == 0 {
			file := st.field(i, rec, "filename").String()
			ev.Args = []string{file}
			if b, err := os.ReadFile("/proc/" + strconv.Itoa(ev.Pid) + "/cmdline"); err == nil && len(b) > 0 {
				args := strings.Split(strings.TrimSuffix(string(b), "\x00"), "\x00")
				ev.Args = append(ev.Args, args[1:]...)
			}
		} else {
			ev.Ret = int(intOf(st.field(i, rec, "ret")))
			ev.Args = []string{ev.Comm}
		}
		if !keep(ev) {
			return nil
		}
		ev.PPid = procPPid(ev.Pid)
		return fn(ev)
	})
}

func procUID(pid int) (int, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, false
	}
	if i := bytes.Index(b, []byte("\nUid:")); i >= 0 {
		f := strings.Fields(string(b[i+5:]))
		if len(f) > 0 {
			n, err := strconv.Atoi(f[0])
			return n, err == nil
		}
	}
	return 0, false
}
