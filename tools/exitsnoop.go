package tools

import (
	"context"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/tracelet/tracelet/asm"
	"github.com/tracelet/tracelet/bpf"
)

// ExitOptions configure Exitsnoop.
type ExitOptions struct {
	Common
	Pid      int  // -p
	Failed   bool // -x: only non-zero exit codes and deaths by signal
	Threaded bool // -T: every thread, not only the last of each process

	noGroupDead bool // tests: take the path of kernels whose format lacks group_dead
}

// ExitEvent is a process (or, threaded, a thread) that ended.
type ExitEvent struct {
	Time time.Time `json:"-"`
	Comm string    `json:"comm"`
	Pid  int       `json:"pid"`
	PPid int       `json:"ppid"`
	Tid  int       `json:"tid"`
	// Age is the time since the process started, when its fork was seen
	// (the tool started first); -1 otherwise.
	Age time.Duration `json:"age_ns"`
	// Status is the wait status: code<<8, or the signal number.
	Status int    `json:"status"`
	Code   int    `json:"code"`             // exit code, when not killed
	Signal int    `json:"signal,omitempty"` // fatal signal
	Known  bool   `json:"known"`            // false: no exit/exit_group or fatal signal was seen
	Text   string `json:"exit"`             // as libbpf-tools prints it
}

const (
	exitOffStatus = hdrSize + 0
	exitOffPPid   = hdrSize + 4
	exitOffStart  = hdrSize + 8
	exitOffFlags  = hdrSize + 16 // 1: start known, 2: status known
	exitRecSize   = hdrSize + 24
	exitRec       = -exitRecSize

	// Signals whose default action ends the process (sig_kernel_coredump
	// or terminate in the kernel's signal.h): 1-16 except none, 24-27,
	// 29-31, and every real-time signal.
	fatalDefault = 1<<1 | 1<<2 | 1<<3 | 1<<4 | 1<<5 | 1<<6 | 1<<7 | 1<<8 | 1<<9 | 1<<10 | 1<<11 | 1<<12 |
		1<<13 | 1<<14 | 1<<15 | 1<<16 | 1<<24 | 1<<25 | 1<<26 | 1<<27 | 1<<29 | 1<<30 | 1<<31 | 0xffffffff00000000
)

// Exitsnoop traces process exits until ctx ends.
//
// sched:sched_process_exit carries no exit code, and task->exit_code is
// out of reach without BTF. So the status is put together from what the
// tracepoints show: exit_group(2)/exit(2) give the code (syscalls
// sys_enter_exit_group/sys_enter_exit, stored under the tgid), and
// signal:signal_deliver with the default handler (sa_handler 0) and a
// signal that kills by default gives the signal. A fatal signal that the
// kernel turned into a group exit is dequeued as SIGKILL, so the last such
// signal generated for the process (signal:signal_generate) is preferred
// then. The age and parent come from sched:sched_process_fork, seen only
// for processes forked after the tool started (Age -1 otherwise; PPid then
// read from /proc). A process that dies without any of these (killed by
// the kernel before the tool saw a cause) has Known false.
//
// Kept hand-written (issue 18). `make bench BENCH_FLAGS='-only scripted'`
// runs it beside bench/scripts/exitsnoop.bt, the same tool as a tracelet
// script, on the same workload (5 rounds, medians, script ÷ this tool,
// BENCHMARKS.md "Hand-written or script"):
// the script prints the same columns but needs BTF (task->exit_code and
// start_time, as libbpf-tools), which this tool does without; it reports
// a thread group at its leader's exit, not its last thread's, names only
// the common signals, and has no -t nor the tools' JSON Lines. Start-up
// (exec to first event) 2.59× in one run (31 ms against 8.0) and 0.64×
// in the next: no clear winner; peak RSS 1.07× (9.1 MB against 8.5) in
// both. Per exit the loop is 0.95×, both lossless, and the tracer's own
// CPU 0.14× (9.5 µs against 68: woken as records arrive, a write(2) per
// line; see Execsnoop).
func Exitsnoop(ctx context.Context, o ExitOptions, fn func(*ExitEvent) error) error {
	if _, err := o.resolve("exitsnoop", false); err != nil {
		return err
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
	newLRU := func(name string, k, v uint32) (*bpf.Map, error) {
		return s.newMap(bpf.MapSpec{Name: name, Type: bpf.LRUHash, KeySize: k, ValueSize: v, MaxEntries: 16384})
	}
	codes, err := newLRU("codes", 4, 8)
	if err != nil {
		return err
	}
	sigs, err := newLRU("sigs", 4, 8)
	if err != nil {
		return err
	}
	starts, err := newLRU("starts", 4, 16)
	if err != nil {
		return err
	}
	maps := map[string]*bpf.Map{eventsMap: out.m, "codes": codes, "sigs": sigs, "starts": starts}
	load := func(name string, insns asm.Instructions, system, event string) error {
		p, err := s.newProgram(bpf.ProgramSpec{Name: name, Type: bpf.TracePoint, Instructions: insns, Maps: maps})
		if err != nil {
			return err
		}
		return s.attach(p, system, event)
	}
	const key, val = -8, -24

	// exit_group(code) and exit(code): status code<<8 under the tgid.
	for _, sc := range []string{"exit_group", "exit"} {
		f, err := s.format("syscalls", "sys_enter_"+sc)
		if err != nil {
			return err
		}
		fc, err := fields(f, "error_code")
		if err != nil {
			return err
		}
		ld, _ := ctxField(asm.R1, fc[0])
		p := prologue()
		p = append(p, ld...)
		p = append(p, asm.And.Imm(asm.R1, 0xff), asm.LSh.Imm(asm.R1, 8), asm.Or.Imm(asm.R1, 1<<16),
			asm.StoreMem(asm.R10, val, asm.R1, asm.DWord),
			asm.FnGetCurrentPidTgid.Call(), asm.RSh.Imm(asm.R0, 32), asm.StoreMem(asm.R10, key, asm.R0, asm.Word))
		p = append(p, mapUpdate("codes", key, val, 0)...)
		p = append(p, epilogue("out")...)
		if err := load("exit_"+sc, p, "syscalls", "sys_enter_"+sc); err != nil {
			return err
		}
	}

	// signal_generate: remember the last default-fatal signal queued for
	// each target, for deaths that the kernel dequeues as SIGKILL.
	gf, err := s.format("signal", "signal_generate")
	if err != nil {
		return err
	}
	gfs, err := fields(gf, "sig", "pid", "result")
	if err != nil {
		return err
	}
	ldSig, _ := ctxField(asm.R7, gfs[0])
	ldPid, _ := ctxField(asm.R1, gfs[1])
	ldRes, _ := ctxField(asm.R1, gfs[2])
	g := prologue()
	g = append(g, ldRes...)
	g = append(g, asm.JNE.Imm(asm.R1, 0, "out"))
	g = append(g, ldSig...)
	g = append(g, fatalTest(asm.R7, "out")...)
	g = append(g, ldPid...)
	g = append(g, asm.StoreMem(asm.R10, key, asm.R1, asm.Word), asm.StoreMem(asm.R10, val, asm.R7, asm.DWord))
	g = append(g, mapUpdate("sigs", key, val, 0)...)
	g = append(g, epilogue("out")...)
	if err := load("exit_generate", g, "signal", "signal_generate"); err != nil {
		return err
	}

	// signal_deliver: a handled signal clears the candidate; a default
	// fatal one records the death (the first cause wins: NOEXIST).
	df, err := s.format("signal", "signal_deliver")
	if err != nil {
		return err
	}
	dfs, err := fields(df, "sig", "sa_handler")
	if err != nil {
		return err
	}
	ldDSig, _ := ctxField(asm.R7, dfs[0])
	ldHandler, _ := ctxField(asm.R1, dfs[1])
	d := prologue()
	d = append(d, asm.FnGetCurrentPidTgid.Call(), asm.RSh.Imm(asm.R0, 32), asm.StoreMem(asm.R10, key, asm.R0, asm.Word))
	d = append(d, ldDSig...)
	d = append(d, ldHandler...)
	d = append(d, asm.JEq.Imm(asm.R1, 0, "dfl"))
	d = append(d, mapDelete("sigs", key)...)
	d = append(d, asm.Ja.Label("out"))
	dfl := fatalTest(asm.R7, "out")
	dfl[0] = dfl[0].WithSymbol("dfl")
	d = append(d, dfl...)
	d = append(d, asm.JNE.Imm(asm.R7, 9, "store"))
	d = append(d, mapLookup("sigs", key)...)
	d = append(d, asm.JEq.Imm(asm.R0, 0, "store"), asm.LoadMem(asm.R7, asm.R0, 0, asm.DWord))
	d = append(d, asm.Mov.Reg(asm.R1, asm.R7).WithSymbol("store"), asm.Or.Imm(asm.R1, 1<<16),
		asm.StoreMem(asm.R10, val, asm.R1, asm.DWord))
	d = append(d, mapUpdate("codes", key, val, 1 /* BPF_NOEXIST */)...)
	d = append(d, epilogue("out")...)
	if err := load("exit_deliver", d, "signal", "signal_deliver"); err != nil {
		return err
	}

	// sched_process_fork, in the parent: the child's start and parent.
	k := prologue()
	ff, err := s.format("sched", "sched_process_fork")
	if err != nil {
		return err
	}
	ffs, err := fields(ff, "child_pid")
	if err != nil {
		return err
	}
	ldChild, _ := ctxField(asm.R1, ffs[0])
	k = append(k, ldChild...)
	k = append(k, asm.StoreMem(asm.R10, key, asm.R1, asm.Word),
		asm.FnKtimeGetNs.Call(), asm.StoreMem(asm.R10, val, asm.R0, asm.DWord),
		asm.FnGetCurrentPidTgid.Call(), asm.RSh.Imm(asm.R0, 32), asm.StoreMem(asm.R10, val+8, asm.R0, asm.DWord))
	k = append(k, mapUpdate("starts", key, val, 0)...)
	k = append(k, epilogue("out")...)
	if err := load("exit_fork", k, "sched", "sched_process_fork"); err != nil {
		return err
	}

	// sched_process_exit, in the exiting thread.
	xf, err := s.format("sched", "sched_process_exit")
	if err != nil {
		return err
	}
	const tidKey, tgidKey = exitRec - 8, exitRec - 16
	x := prologue()
	// group_dead (in the format since 6.9) says the last thread of the
	// process is exiting. Older kernels do not show it, and
	// task->signal->live is out of reach without BTF, so there the
	// thread-group leader's exit stands for the process's: exact for
	// single-threaded processes and for exit_group(2) and fatal signals
	// (every thread dies, the code is keyed by tgid), late only when a
	// leader leaves with pthread_exit while other threads go on.
	dead := xf.Field("group_dead")
	if o.noGroupDead {
		dead = nil
	}
	if dead != nil {
		ldDead, err := ctxField(asm.R9, dead)
		if err != nil {
			return err
		}
		x = append(x, ldDead...)
	}
	x = append(x, zeroStack(exitRec, exitRecSize)...)
	x = append(x, storeHeader(asm.R10, exitRec)...)
	if dead == nil {
		x = append(x,
			asm.LoadMem(asm.R1, asm.R10, exitRec+hdrPidTgid, asm.DWord),
			asm.Mov.Reg(asm.R2, asm.R1),
			asm.RSh.Imm(asm.R2, 32),
			asm.LSh.Imm(asm.R1, 32),
			asm.RSh.Imm(asm.R1, 32),
			asm.Mov.Imm(asm.R9, 0),
			asm.JNE.Reg(asm.R1, asm.R2, "notleader"),
			asm.Mov.Imm(asm.R9, 1),
			asm.Mov.Imm(asm.R0, 1).WithSymbol("notleader"))
	}
	x = append(x, asm.LoadMem(asm.R1, asm.R10, exitRec+hdrPidTgid, asm.DWord),
		asm.StoreMem(asm.R10, tidKey, asm.R1, asm.Word),
		asm.RSh.Imm(asm.R1, 32),
		asm.StoreMem(asm.R10, tgidKey, asm.R1, asm.Word))
	// Start and parent: the thread's own fork (threaded), else the
	// process's (the leader's pid is the tgid).
	startKey := int16(tgidKey)
	if o.Threaded {
		startKey = tidKey
	}
	x = append(x, mapLookup("starts", startKey)...)
	x = append(x, asm.JEq.Imm(asm.R0, 0, "nostart"),
		asm.LoadMem(asm.R1, asm.R0, 0, asm.DWord), asm.StoreMem(asm.R10, exitRec+exitOffStart, asm.R1, asm.DWord),
		asm.LoadMem(asm.R1, asm.R0, 8, asm.Word), asm.StoreMem(asm.R10, exitRec+exitOffPPid, asm.R1, asm.Word),
		asm.StoreImm(asm.R10, exitRec+exitOffFlags, 1, asm.Word))
	// A thread's start goes with it, except the leader's, which is the
	// process's and is needed until the last thread (group_dead) exits:
	// the leader usually exits before the others.
	x = append(x,
		asm.LoadMem(asm.R1, asm.R10, tidKey, asm.Word).WithSymbol("nostart"),
		asm.LoadMem(asm.R2, asm.R10, tgidKey, asm.Word),
		asm.JNE.Reg(asm.R1, asm.R2, "deltid"),
		asm.JEq.Imm(asm.R9, 0, "keepstart"))
	deltid := mapDelete("starts", tidKey)
	deltid[0] = deltid[0].WithSymbol("deltid")
	x = append(x, deltid...)
	x = append(x, asm.JEq.Imm(asm.R9, 0, "keepstart"))
	x = append(x, mapDelete("starts", tgidKey)...)
	x = append(x, asm.Mov.Imm(asm.R0, 1).WithSymbol("keepstart"))
	if !o.Threaded {
		x = append(x, asm.JEq.Imm(asm.R9, 0, "out"))
	}
	x = append(x, tgidFilter(o.Pid, "out")...)
	x = append(x, asm.JEq.Imm(asm.R9, 0, "emit"))
	x = append(x, mapLookup("codes", tgidKey)...)
	x = append(x, asm.JEq.Imm(asm.R0, 0, "cleanup"),
		asm.LoadMem(asm.R1, asm.R0, 0, asm.DWord),
		asm.StoreMem(asm.R10, exitRec+exitOffStatus, asm.R1, asm.Word),
		asm.LoadMem(asm.R2, asm.R10, exitRec+exitOffFlags, asm.Word),
		asm.Or.Imm(asm.R2, 2),
		asm.StoreMem(asm.R10, exitRec+exitOffFlags, asm.R2, asm.Word))
	cleanup := mapDelete("codes", tgidKey)
	cleanup[0] = cleanup[0].WithSymbol("cleanup")
	x = append(x, cleanup...)
	x = append(x, mapDelete("sigs", tgidKey)...)
	if o.Failed {
		x = append(x, asm.LoadMem(asm.R1, asm.R10, exitRec+exitOffStatus, asm.Word),
			asm.And.Imm(asm.R1, 0xffff),
			asm.JEq.Imm(asm.R1, 0, "out"))
	}
	emit := out.emitStack(exitRec, exitRecSize)
	emit[0] = emit[0].WithSymbol("emit")
	x = append(x, emit...)
	x = append(x, epilogue("out")...)
	if err := load("exit_exit", x, "sched", "sched_process_exit"); err != nil {
		return err
	}

	o.ready()
	return out.loop(ctx, func(b []byte) error {
		h, err := parseHeader(b)
		if err != nil {
			return err
		}
		if len(b) < exitRecSize {
			return fmt.Errorf("exit record of %d bytes", len(b))
		}
		flags := binary.NativeEndian.Uint32(b[exitOffFlags:])
		status := int(binary.NativeEndian.Uint32(b[exitOffStatus:]) & 0xffff)
		ev := &ExitEvent{Time: monoToWall(h.Time), Comm: h.Comm, Pid: int(h.Tgid), Tid: int(h.Tid),
			PPid: int(binary.NativeEndian.Uint32(b[exitOffPPid:])), Age: -1, Status: status, Known: flags&2 != 0}
		if flags&1 != 0 {
			ev.Age = time.Duration(h.Time - binary.NativeEndian.Uint64(b[exitOffStart:]))
		} else {
			ev.PPid = procPPid(ev.Pid)
		}
		ev.Code, ev.Signal = status>>8, status&0x7f
		switch {
		case ev.Signal != 0:
			ev.Text = fmt.Sprintf("signal %d (%s)", ev.Signal, signalText(ev.Signal))
		case ev.Code != 0:
			ev.Text = fmt.Sprintf("code %d", ev.Code)
		default:
			ev.Text = "0"
		}
		return fn(ev)
	})
}

// fatalMask is fatalDefault as a variable, for its conversion to int64.
var fatalMask uint64 = fatalDefault

// fatalTest jumps to label unless the signal in r (1-64) kills by default.
// Clobbers R1 and R2.
func fatalTest(r asm.Register, label string) asm.Instructions {
	return asm.Instructions{
		asm.JGT.Imm(r, 63, "fatal_"+label+"_rt"),
		asm.Mov.Imm(asm.R1, 1),
		asm.LSh.Reg(asm.R1, r),
		asm.LoadImm64(asm.R2, int64(fatalMask)),
		asm.And.Reg(asm.R1, asm.R2),
		asm.JEq.Imm(asm.R1, 0, label),
		asm.Mov.Reg(asm.R1, asm.R1).WithSymbol("fatal_" + label + "_rt"),
	}
}
