package tools

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/tracelet/tracelet/asm"
	"github.com/tracelet/tracelet/bpf"
	"github.com/tracelet/tracelet/perf"
	"github.com/tracelet/tracelet/tracefs"
)

// OpenOptions configure Opensnoop.
type OpenOptions struct {
	Common
	Pid    int    // -p
	Tid    int    // -t
	UID    int    // -u (-1: all)
	Name   string // -n: comm contains
	Failed bool   // -x
}

// OpenEvent is one open, openat or openat2.
type OpenEvent struct {
	Time  time.Time `json:"-"`
	Pid   int       `json:"pid"`
	Tid   int       `json:"tid"`
	UID   int       `json:"uid"`
	Comm  string    `json:"comm"`
	FD    int       `json:"fd"`  // -1 on failure
	Err   int       `json:"err"` // errno, 0 on success
	Flags uint64    `json:"flags"`
	Path  string    `json:"path"`
}

const (
	openOffRet   = hdrSize
	openOffFlags = hdrSize + 8
	openOffPath  = hdrSize + 16
	openPathMax  = 256
	openRecSize  = openOffPath + openPathMax
	openRec      = -openRecSize
)

// Opensnoop traces opens until ctx ends.
//
// Kept hand-written (issue 18). `make bench BENCH_FLAGS='-only scripted'`
// runs it beside bench/scripts/opensnoop.bt, the same tool as a tracelet
// script, on the same workload (5 rounds, medians, script ÷ this tool,
// BENCHMARKS.md "Hand-written or script"):
// start-up is 4.26× (24 ms against 6.4, exec to first event) and peak
// RSS 1.12× (9.4 MB against 8.5). The script prints the same lines for
// -p and -x, but it pairs entry and return in a map, which run's tracefs
// backend cannot have: this tool's tracefs backend (no bpf(2)) has no
// script equivalent; nor have -t/-u/-U/-n/-e/-T or the JSON Lines. Per
// open (100,000 in a burst) the loop is 0.99× and the tracer's CPU 0.75×
// (0.85 µs against 1.09); lost 534 against 80 (medians; at most 12,274
// and 18,223).
func Opensnoop(ctx context.Context, o OpenOptions, fn func(*OpenEvent) error) error {
	backend, err := o.resolve("opensnoop", true)
	if err != nil {
		return err
	}
	keep := func(e *OpenEvent) bool {
		return (o.Name == "" || strings.Contains(e.Comm, o.Name)) && (!o.Failed || e.Err != 0)
	}
	if backend == BackendTracefs {
		return openTracefs(ctx, o, keep, fn)
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
	starts, err := s.newMap(bpf.MapSpec{Name: "starts", Type: bpf.Hash, KeySize: 8, ValueSize: 16, MaxEntries: 10240})
	if err != nil {
		return err
	}
	maps := map[string]*bpf.Map{eventsMap: out.m, "starts": starts}
	for _, sc := range []string{"open", "openat", "openat2"} {
		if !s.hasEvent("syscalls", "sys_enter_"+sc) {
			continue
		}
		if err := attachOpenProgs(s, out, maps, sc, o); err != nil {
			return err
		}
	}
	o.ready()
	return out.loop(ctx, func(b []byte) error {
		h, err := parseHeader(b)
		if err != nil {
			return err
		}
		if len(b) < openRecSize {
			return fmt.Errorf("open record of %d bytes", len(b))
		}
		ret := int64(binary.NativeEndian.Uint64(b[openOffRet:]))
		ev := &OpenEvent{Time: monoToWall(h.Time), Pid: int(h.Tgid), Tid: int(h.Tid), UID: int(h.Uid), Comm: h.Comm,
			Flags: binary.NativeEndian.Uint64(b[openOffFlags:]), Path: cstring(b[openOffPath:openRecSize])}
		ev.FD, ev.Err = fdErr(ret)
		if !keep(ev) {
			return nil
		}
		return fn(ev)
	})
}

func fdErr(ret int64) (int, int) {
	if ret < 0 {
		return -1, int(-ret)
	}
	return int(ret), 0
}

// attachOpenProgs: the entry saves the filename pointer and the flags under
// the thread; the exit reads the path (the pointer is still valid: the
// caller is blocked in the syscall) and emits it with the result. openat2's
// flags are the first u64 of the struct open_how it points to.
func attachOpenProgs(s *session, out *eventOut, maps map[string]*bpf.Map, sc string, o OpenOptions) error {
	ef, err := s.format("syscalls", "sys_enter_"+sc)
	if err != nil {
		return err
	}
	flagsField := "flags"
	if sc == "openat2" {
		flagsField = "how"
	}
	f, err := fields(ef, "filename", flagsField)
	if err != nil {
		return err
	}
	const key, val = -8, -24
	e := prologue()
	e = append(e, tgidFilter(o.Pid, "out")...)
	if o.Tid > 0 {
		e = append(e, asm.FnGetCurrentPidTgid.Call(), asm.LSh.Imm(asm.R0, 32), asm.RSh.Imm(asm.R0, 32),
			asm.JNE.Imm(asm.R0, int32(o.Tid), "out"))
	}
	if o.UID >= 0 {
		e = append(e, asm.FnGetCurrentUidGid.Call(), asm.LSh.Imm(asm.R0, 32), asm.RSh.Imm(asm.R0, 32),
			asm.JNE.Imm(asm.R0, int32(o.UID), "out"))
	}
	ldFile, _ := ctxField(asm.R1, f[0])
	ldFlags, _ := ctxField(asm.R3, f[1])
	e = append(e, ldFile...)
	e = append(e, asm.StoreMem(asm.R10, val, asm.R1, asm.DWord), asm.StoreImm(asm.R10, val+8, 0, asm.DWord))
	if sc == "openat2" {
		e = append(e, asm.Mov.Reg(asm.R1, asm.R10), asm.Add.Imm(asm.R1, val+8), asm.Mov.Imm(asm.R2, 8))
		e = append(e, ldFlags...)
		e = append(e, s.readUser(false).Call())
	} else {
		e = append(e, ldFlags...)
		e = append(e, asm.StoreMem(asm.R10, val+8, asm.R3, asm.DWord))
	}
	e = append(e, asm.FnGetCurrentPidTgid.Call(), asm.StoreMem(asm.R10, key, asm.R0, asm.DWord))
	e = append(e, mapUpdate("starts", key, val, 0)...)
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
	ldRet, _ := ctxField(asm.R9, rf[0])
	const xkey = openRec - 8
	x = append(x, asm.FnGetCurrentPidTgid.Call(), asm.StoreMem(asm.R10, xkey, asm.R0, asm.DWord))
	x = append(x, mapLookup("starts", xkey)...)
	x = append(x, asm.JEq.Imm(asm.R0, 0, "out"), asm.Mov.Reg(asm.R7, asm.R0))
	x = append(x, ldRet...)
	if o.Failed {
		x = append(x, asm.JSGE.Imm(asm.R9, 0, "del"))
	}
	x = append(x, storeHeader(asm.R10, openRec)...)
	x = append(x, asm.StoreMem(asm.R10, openRec+openOffRet, asm.R9, asm.DWord),
		asm.LoadMem(asm.R1, asm.R7, 8, asm.DWord),
		asm.StoreMem(asm.R10, openRec+openOffFlags, asm.R1, asm.DWord),
		asm.Mov.Reg(asm.R1, asm.R10), asm.Add.Imm(asm.R1, openRec+openOffPath),
		asm.Mov.Imm(asm.R2, openPathMax),
		asm.LoadMem(asm.R3, asm.R7, 0, asm.DWord),
		s.readUser(true).Call())
	x = append(x, out.emitStack(openRec, openRecSize)...)
	x = append(x, deleteThenOut("starts", xkey)...)
	return s.attachSyscall(sc, se, enter, x, maps)
}

// openTracefs is opensnoop without BPF. The syscall tracepoints carry the
// filename as a user pointer only, and an eprobe to fetch it is refused on
// syscall events (EINVAL, 6.18), so the path is read from /proc/PID/mem at
// that address when the entry record arrives: right while the caller is
// still in the syscall, usually, and "?" when the process moved on. Results
// come from the exit.
func openTracefs(ctx context.Context, o OpenOptions, keep func(*OpenEvent) bool, fn func(*OpenEvent) error) error {
	s, err := newSession()
	if err != nil {
		return err
	}
	defer s.Close()
	var evs []tpEvent
	filter := ""
	if o.Tid > 0 {
		filter = fmt.Sprintf("common_pid == %d", o.Tid)
	}
	for _, sc := range []string{"open", "openat", "openat2"} {
		if s.hasEvent("syscalls", "sys_enter_"+sc) {
			xf := filter
			if o.Failed {
				xf = strings.TrimPrefix(filter+" && ret < 0", " && ")
			}
			se, err := syscallExit(sc)
			if err != nil {
				return err
			}
			evs = append(evs, tpEvent{"syscalls", "sys_enter_" + sc, filter}, se.tp(xf))
		}
	}
	st, err := s.openTracepoints(evs)
	if err != nil {
		return err
	}
	o.ready()
	pending := map[uint32]*OpenEvent{}
	return st.loop(ctx, func(i int, smp *perf.Sample, rec *tracefs.Record) error {
		if o.Pid > 0 && int(smp.Pid) != o.Pid {
			return nil
		}
		if i%2 == 0 {
			if len(pending) > 10240 {
				clear(pending)
			}
			ev := &OpenEvent{Time: eventTime(smp), Pid: int(smp.Pid), Tid: int(smp.Tid), Comm: procComm(smp.Pid, smp.Tid)}
			ev.Path = readProcString(smp.Pid, uint64(intOf(st.field(i, rec, "filename"))))
			if f := st.field(i, rec, "flags"); f.Kind != 0 {
				ev.Flags = uint64(intOf(f))
			}
			if uid, ok := procUID(ev.Pid); ok {
				ev.UID = uid
			}
			pending[smp.Tid] = ev
			return nil
		}
		ev := pending[smp.Tid]
		if ev == nil {
			return nil
		}
		delete(pending, smp.Tid)
		ev.FD, ev.Err = fdErr(intOf(st.field(i, rec, "ret")))
		if (o.UID >= 0 && ev.UID != o.UID) || !keep(ev) {
			return nil
		}
		return fn(ev)
	})
}

// readProcString reads a NUL-terminated string at addr in process pid.
func readProcString(pid uint32, addr uint64) string {
	f, err := os.Open(fmt.Sprintf("/proc/%d/mem", pid))
	if err != nil {
		return "?"
	}
	defer f.Close()
	buf := make([]byte, openPathMax)
	n, _ := f.ReadAt(buf, int64(addr))
	if n == 0 {
		return "?"
	}
	return cstring(buf[:n])
}
