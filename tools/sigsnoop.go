package tools

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/tracelet/tracelet/asm"
	"github.com/tracelet/tracelet/bpf"
	"github.com/tracelet/tracelet/tracefs"
)

// SignalMode selects which kernel events sigsnoop follows.
type SignalMode int

// Signal modes.
const (
	// SignalDeliver pairs signal:signal_generate (in the sender) with
	// signal:signal_deliver (in the target): one event per signal that
	// reached its target, plus the signals that were never queued (their
	// result is not 0) at generation.
	SignalDeliver SignalMode = iota
	// SignalGenerate reports every signal_generate with its result code,
	// as libbpf-tools' sigsnoop does by default.
	SignalGenerate
	// SignalKill follows the kill(2), tkill(2) and tgkill(2) system calls,
	// with the syscall's return value as the result (sigsnoop -k,
	// killsnoop).
	SignalKill
)

// SignalOptions configure Sigsnoop and Killsnoop.
type SignalOptions struct {
	Common
	Mode   SignalMode
	Pid    int  // -p: only signals sent by this process
	Signal int  // -s: only this signal
	Failed bool // -x: only signals that failed (result or return not 0)

	// Tests: the BPF ring's size in bytes (0: 1 MiB), and a function
	// called once everything is attached and before the first record is
	// read, with the map of signals between generation and delivery.
	ringBytes  uint32
	beforeRead func(pending *bpf.Map)
}

// SignalEvent is one signal, from sender to target.
type SignalEvent struct {
	Time    time.Time `json:"-"`
	Pid     int       `json:"pid"`  // sender process
	Tid     int       `json:"tid"`  // sender thread
	Comm    string    `json:"comm"` // sender comm
	Cmdline string    `json:"cmdline"`
	Sig     int       `json:"sig"`
	SigName string    `json:"signal"`
	TPid    int       `json:"tpid"` // target (a thread id for tkill/tgkill)
	TComm   string    `json:"tcomm,omitempty"`
	// Result is the signal_generate result (0 delivered, 1 ignored,
	// 2 already pending, 3 queue overflow, 4 info lost) or the kill
	// syscall's return value (0 or -errno).
	Result    int  `json:"result"`
	Delivered bool `json:"delivered,omitempty"` // seen at signal_deliver
}

// The record the signal programs emit (and keep in their maps).
const (
	sigOffSig    = hdrSize + 0
	sigOffTpid   = hdrSize + 4
	sigOffResult = hdrSize + 8
	sigOffCode   = hdrSize + 12
	sigOffTComm  = hdrSize + 16
	sigOffFlags  = hdrSize + 32
	sigRecSize   = hdrSize + 40
)

const sigRec = -sigRecSize // stack offset of the record

// Sigsnoop traces signals until ctx ends, calling fn for each.
//
// Kept hand-written (issue 18). `make bench BENCH_FLAGS='-only scripted'`
// runs it beside bench/scripts/sigsnoop.bt (sigsnoop -g), the same tool as a tracelet
// script, on the same workload (5 rounds, medians, script ÷ this tool,
// BENCHMARKS.md "Hand-written or script"):
// start-up is 2.75× (18.7 ms against 6.6, exec to first event) and peak
// RSS 1.10× (9.0 MB against 8.2). The script has -g's lines without
// CMDLINE (read from /proc here), -n's names, the default mode (a
// signal_generate paired with its signal_deliver), the tracefs backend
// and the JSON Lines. Per signal, 100,000 in a burst: the tracer's CPU
// 0.67× (1.43 µs against 2.24), the loop 1.51×; this tool lost 62,150
// (median) and the script 1,283 (see Killsnoop).
func Sigsnoop(ctx context.Context, o SignalOptions, fn func(*SignalEvent) error) error {
	backend, err := o.resolve("sigsnoop", o.Mode == SignalKill)
	if err != nil {
		return err
	}
	if backend == BackendTracefs {
		return killTracefs(ctx, o, fn)
	}
	s, err := newSession()
	if err != nil {
		return err
	}
	defer s.Close()
	s.ringBytes = o.ringBytes
	out, err := s.newEventOut(o.PerfOutput)
	if err != nil {
		return err
	}
	pending, err := s.newMap(bpf.MapSpec{Name: "pending", Type: bpf.LRUHash, KeySize: 8, ValueSize: sigRecSize, MaxEntries: 10240})
	if err != nil {
		return err
	}
	lastgen, err := s.newMap(bpf.MapSpec{Name: "lastgen", Type: bpf.LRUHash, KeySize: 4, ValueSize: 8, MaxEntries: 10240})
	if err != nil {
		return err
	}
	maps := map[string]*bpf.Map{eventsMap: out.m, "pending": pending, "lastgen": lastgen}
	switch o.Mode {
	case SignalKill:
		if err := attachKillProgs(s, out, maps, o); err != nil {
			return err
		}
	default:
		if err := attachSignalProgs(s, out, maps, o); err != nil {
			return err
		}
	}
	o.ready()
	if o.beforeRead != nil {
		o.beforeRead(pending)
	}
	return out.loop(ctx, func(b []byte) error {
		ev, err := parseSignal(b)
		if err != nil {
			return err
		}
		ev.Cmdline = cmdline(ev.Pid, ev.Comm)
		return fn(ev)
	})
}

func parseSignal(b []byte) (*SignalEvent, error) {
	h, err := parseHeader(b)
	if err != nil {
		return nil, err
	}
	if len(b) < sigRecSize {
		return nil, fmt.Errorf("signal record of %d bytes, want %d", len(b), sigRecSize)
	}
	i32 := func(off int) int { return int(int32(binary.NativeEndian.Uint32(b[off:]))) }
	ev := &SignalEvent{
		Time: monoToWall(h.Time), Pid: int(h.Tgid), Tid: int(h.Tid), Comm: h.Comm,
		Sig: i32(sigOffSig), TPid: i32(sigOffTpid), Result: i32(sigOffResult),
		TComm:     cstring(b[sigOffTComm : sigOffTComm+16]),
		Delivered: binary.NativeEndian.Uint32(b[sigOffFlags:]) == 1,
	}
	ev.SigName = SignalName(ev.Sig)
	return ev, nil
}

// attachSignalProgs builds the signal_generate program, and for
// SignalDeliver the signal_deliver program.
//
// Neither tracepoint's format carries the siginfo pointer (they hold sig,
// errno, code, comm, pid, group and result; sig, errno, code, sa_handler and
// sa_flags), and the pointers that raw tracepoints see are not one object
// anyway: the sender's siginfo lives on its stack, the queue holds a copy,
// and signal_deliver shows the receiver's copy of that (see
// TestSiginfoPointersDiffer). So the pair is joined on what both sides
// know: the target task and the signal number. signal_generate's pid is the task that
// __send_signal_locked was given: the thread for tkill/tgkill, the thread
// group leader (pid == tgid) for kill(2). signal_deliver runs in the thread
// that dequeues it, so it looks up (tid, sig) and then (tgid, sig). A
// standard signal cannot be pending twice (the second generate reports
// result 2, already pending, and is emitted at once), so the key is unique
// for them; real-time signals queue, and the first sender is kept (NOEXIST)
// for the first delivery. Entries that are never delivered (a signal blocked
// forever) age out of the LRU map.
func attachSignalProgs(s *session, out *eventOut, maps map[string]*bpf.Map, o SignalOptions) error {
	gf, err := s.format("signal", "signal_generate")
	if err != nil {
		return err
	}
	f, err := fields(gf, "sig", "pid", "result", "code", "comm")
	if err != nil {
		return err
	}
	fSig, fPid, fRes, fCode, fComm := f[0], f[1], f[2], f[3], f[4]
	insns := prologue()
	insns = append(insns, tgidFilter(o.Pid, "out")...)
	insns = append(insns, zeroStack(sigRec, sigRecSize)...)
	insns = append(insns, storeHeader(asm.R10, sigRec)...)
	for _, c := range []struct {
		f   int
		off int16
	}{{0, sigOffSig}, {1, sigOffTpid}, {2, sigOffResult}, {3, sigOffCode}} {
		ld, err := ctxField(asm.R1, []*tracefs.Field{fSig, fPid, fRes, fCode}[c.f])
		if err != nil {
			return err
		}
		insns = append(insns, ld...)
		insns = append(insns, asm.StoreMem(asm.R10, sigRec+c.off, asm.R1, asm.Word))
	}
	// comm is 4-byte aligned in the record (offset 20); context loads
	// must be aligned to their size, so it is copied a word at a time.
	for i := 0; i < 16; i += 4 {
		insns = append(insns,
			asm.LoadMem(asm.R1, asm.R6, int16(fComm.Offset+i), asm.Word),
			asm.StoreMem(asm.R10, sigRec+sigOffTComm+int16(i), asm.R1, asm.Word))
	}
	if o.Signal > 0 {
		insns = append(insns,
			asm.LoadMem(asm.R1, asm.R10, sigRec+sigOffSig, asm.Word),
			asm.JNE.Imm(asm.R1, int32(o.Signal), "out"))
	}
	insns = append(insns, asm.LoadMem(asm.R1, asm.R10, sigRec+sigOffResult, asm.Word))
	switch {
	case o.Mode == SignalGenerate && o.Failed, o.Mode == SignalDeliver && o.Failed:
		insns = append(insns, asm.JEq.Imm(asm.R1, 0, "out"))
	case o.Mode == SignalDeliver:
		// Queued for delivery: remember the sender until signal_deliver.
		insns = append(insns, asm.JNE.Imm(asm.R1, 0, "emit"),
			asm.LoadMem(asm.R1, asm.R10, sigRec+sigOffTpid, asm.Word),
			asm.LSh.Imm(asm.R1, 32),
			asm.LoadMem(asm.R2, asm.R10, sigRec+sigOffSig, asm.Word),
			asm.Or.Reg(asm.R1, asm.R2),
			asm.StoreMem(asm.R10, sigRec-8, asm.R1, asm.DWord))
		insns = append(insns, mapUpdate("pending", sigRec-8, sigRec, 1 /* BPF_NOEXIST */)...)
		// A fatal signal with the default action is not dequeued as
		// itself: complete_signal turns it into a group exit and every
		// thread dequeues SIGKILL (get_signal traces signal_deliver with
		// SIGKILL). lastgen lets the deliver side find the signal that
		// really killed the process.
		insns = append(insns, asm.JNE.Imm(asm.R0, 0, "out"),
			asm.LoadMem(asm.R1, asm.R10, sigRec+sigOffTpid, asm.Word),
			asm.StoreMem(asm.R10, sigRec-16, asm.R1, asm.Word))
		insns = append(insns, mapUpdate("lastgen", sigRec-16, sigRec-8, 0)...)
		insns = append(insns, asm.Ja.Label("out"))
	}
	emit := out.emitStack(sigRec, sigRecSize)
	emit[0] = emit[0].WithSymbol("emit")
	insns = append(insns, emit...)
	insns = append(insns, epilogue("out")...)
	gen, err := s.newProgram(bpf.ProgramSpec{Name: "sig_generate", Type: bpf.TracePoint, Instructions: insns, Maps: maps})
	if err != nil {
		return err
	}
	if o.Mode == SignalDeliver && !o.Failed {
		df, err := s.format("signal", "signal_deliver")
		if err != nil {
			return err
		}
		f, err := fields(df, "sig")
		if err != nil {
			return err
		}
		ldSig, err := ctxField(asm.R8, f[0])
		if err != nil {
			return err
		}
		const key = -8
		d := prologue()
		d = append(d, ldSig...)
		d = append(d,
			asm.FnGetCurrentPidTgid.Call(),
			asm.Mov.Reg(asm.R9, asm.R0),
			// (tid, sig): the thread the signal was sent to.
			asm.LSh.Imm(asm.R0, 32),
			asm.Or.Reg(asm.R0, asm.R8),
			asm.StoreMem(asm.R10, key, asm.R0, asm.DWord))
		d = append(d, mapLookup("pending", key)...)
		d = append(d, asm.JNE.Imm(asm.R0, 0, "found"),
			// (tgid, sig): a process-directed signal, taken by any thread.
			asm.RSh.Imm(asm.R9, 32),
			asm.LSh.Imm(asm.R9, 32),
			asm.Or.Reg(asm.R9, asm.R8),
			asm.StoreMem(asm.R10, key, asm.R9, asm.DWord))
		d = append(d, mapLookup("pending", key)...)
		d = append(d, asm.JNE.Imm(asm.R0, 0, "found"),
			// SIGKILL of a group exit: the signal that caused it.
			asm.JNE.Imm(asm.R8, 9, "out"),
			asm.RSh.Imm(asm.R9, 32),
			asm.StoreMem(asm.R10, key-8, asm.R9, asm.Word))
		d = append(d, mapLookup("lastgen", key-8)...)
		d = append(d, asm.JEq.Imm(asm.R0, 0, "out"),
			asm.LoadMem(asm.R1, asm.R0, 0, asm.DWord),
			asm.StoreMem(asm.R10, key, asm.R1, asm.DWord))
		d = append(d, mapDelete("lastgen", key-8)...)
		d = append(d, mapLookup("pending", key)...)
		d = append(d, asm.JEq.Imm(asm.R0, 0, "out"),
			asm.Mov.Reg(asm.R7, asm.R0).WithSymbol("found"),
			asm.FnKtimeGetNs.Call(),
			asm.StoreMem(asm.R7, hdrTime, asm.R0, asm.DWord),
			asm.StoreImm(asm.R7, sigOffFlags, 1, asm.Word),
			asm.Mov.Imm(asm.R8, sigRecSize))
		d = append(d, out.emit(asm.R7, asm.R8)...)
		// The entry goes whether or not the output found room: a full
		// ring must not leave it behind to pair with a later signal.
		d = append(d, mapDelete("pending", key)...)
		d = append(d, epilogue("out")...)
		del, err := s.newProgram(bpf.ProgramSpec{Name: "sig_deliver", Type: bpf.TracePoint, Instructions: d, Maps: maps})
		if err != nil {
			return err
		}
		if err := s.attach(del, "signal", "signal_deliver"); err != nil {
			return err
		}
	}
	return s.attach(gen, "signal", "signal_generate")
}

// attachKillProgs follows kill, tkill and tgkill: the entry saves the
// record under the sender's thread id, the exit adds the return value and
// emits it. Every exit deletes the entry, whether it emits or not.
func attachKillProgs(s *session, out *eventOut, maps map[string]*bpf.Map, o SignalOptions) error {
	type sc struct{ name, tpid, sig string }
	for _, c := range []sc{{"kill", "pid", "sig"}, {"tkill", "pid", "sig"}, {"tgkill", "pid", "sig"}} {
		if !s.hasEvent("syscalls", "sys_enter_"+c.name) {
			continue
		}
		ef, err := s.format("syscalls", "sys_enter_"+c.name)
		if err != nil {
			return err
		}
		f, err := fields(ef, c.tpid, c.sig)
		if err != nil {
			return err
		}
		const key = sigRec - 8
		insns := prologue()
		insns = append(insns, tgidFilter(o.Pid, "out")...)
		insns = append(insns, zeroStack(sigRec, sigRecSize)...)
		insns = append(insns, storeHeader(asm.R10, sigRec)...)
		ld1, _ := ctxField(asm.R1, f[0])
		ld2, _ := ctxField(asm.R2, f[1])
		insns = append(insns, ld1...)
		insns = append(insns, ld2...)
		insns = append(insns,
			asm.StoreMem(asm.R10, sigRec+sigOffTpid, asm.R1, asm.Word),
			asm.StoreMem(asm.R10, sigRec+sigOffSig, asm.R2, asm.Word))
		if o.Signal > 0 {
			insns = append(insns, asm.JNE.Imm(asm.R2, int32(o.Signal), "out"))
		}
		insns = append(insns,
			asm.LoadMem(asm.R1, asm.R10, sigRec+hdrPidTgid, asm.DWord),
			asm.StoreMem(asm.R10, key, asm.R1, asm.DWord))
		insns = append(insns, mapUpdate("pending", key, sigRec, 0)...)
		insns = append(insns, epilogue("out")...)
		enter, err := s.newProgram(bpf.ProgramSpec{Name: "enter_" + c.name, Type: bpf.TracePoint, Instructions: insns, Maps: maps})
		if err != nil {
			return err
		}
		se, err := syscallExit(c.name)
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
		ldRet, _ := ctxField(asm.R8, rf[0])
		x = append(x, asm.FnGetCurrentPidTgid.Call(), asm.StoreMem(asm.R10, -8, asm.R0, asm.DWord))
		x = append(x, mapLookup("pending", -8)...)
		x = append(x, asm.JEq.Imm(asm.R0, 0, "out"), asm.Mov.Reg(asm.R7, asm.R0))
		x = append(x, ldRet...)
		if o.Failed {
			x = append(x, asm.JEq.Imm(asm.R8, 0, "del"))
		}
		x = append(x, asm.StoreMem(asm.R7, sigOffResult, asm.R8, asm.Word),
			asm.Mov.Imm(asm.R8, sigRecSize))
		x = append(x, out.emit(asm.R7, asm.R8)...)
		x = append(x, deleteThenOut("pending", -8)...)
		if err := s.attachSyscall(c.name, se, enter, x, maps); err != nil {
			return err
		}
	}
	return nil
}

// cmdline reads /proc/PID/cmdline (arguments joined by spaces), falling
// back to comm when the process is gone or is a kernel thread (whose cmdline
// is empty). It is read when the event arrives, so a sender that exec'd or
// exited meanwhile shows its new command line or its comm.
func cmdline(pid int, comm string) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil || len(b) == 0 {
		return comm
	}
	return strings.TrimRight(strings.ReplaceAll(string(b), "\x00", " "), " ")
}
