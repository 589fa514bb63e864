package script

import (
	"bytes"

	"github.com/tracelet/tracelet/asm"
)

// bpfFCurrentCPU is BPF_F_CURRENT_CPU: bpf_perf_event_output writes to the
// ring of the CPU it runs on.
const bpfFCurrentCPU = 0xffffffff

// exprStmt generates the statements that are calls.
func (g *gen) exprStmt(e Expr) {
	call, ok := e.(*Call)
	if !ok {
		return // the checker refused unused values
	}
	switch call.Name {
	case "printf", "cat", "system":
		g.printf(call)
	case "signal":
		// bpf_send_signal (5.3): the signal goes to the current task's
		// process, once the program returns.
		g.value(call.Args[0], asm.R1)
		g.call(asm.FnSendSignal)
	case "print":
		id, ok := g.c.printIDs[call]
		if !ok {
			p := &Print{Map: g.c.mapIndex[call.Args[0].(*MapExpr).Name]}
			if len(call.Args) > 1 {
				top, _ := foldConst(call.Args[1]) // checked: 0 to MaxPrintTop
				p.Top = int(top)
			}
			if len(call.Args) > 2 {
				p.Div, _ = foldConst(call.Args[2]) // checked: 0 to MaxPrintDiv
			}
			id = len(g.c.obj.Prints)
			g.c.obj.Prints = append(g.c.obj.Prints, p)
			g.c.printIDs[call] = id
		}
		g.action(ActionID(ActionPrint, id), call.Pos)
	case "clear", "zero":
		m := call.Args[0].(*MapExpr)
		action := map[string]int{"clear": ActionClear, "zero": ActionZero}[call.Name]
		g.action(ActionID(action, g.c.mapIndex[m.Name]), call.Pos)
	case "delete":
		g.delete(call)
	case "time":
		f := "%H:%M:%S\n"
		if len(call.Args) == 1 {
			f = call.Args[0].(*StrLit).Value
		}
		id := g.printfID(call, func() *Printf { return &Printf{Kind: PrintfTime, Format: f, Size: 8} })
		off := g.alloc(8, call.Pos)
		g.emit(asm.StoreImm(asm.R10, off, int32(id), asm.DWord))
		g.send(off, 8)
	case "join":
		g.join(call)
	case "exit":
		// Tell user space to stop, and end this probe here as bpftrace
		// does.
		g.action(ActionID(ActionExit, 0), call.Pos)
		g.emit(asm.Ja.Label("exit"))
	}
}

// delete deletes the key of delete(@m[key]); R0 is 0 if it was there.
func (g *gen) delete(call *Call) {
	m := call.Args[0].(*MapExpr)
	key, bm := g.keyBuf(m)
	g.emit(asm.LoadMapPtr(asm.R1, bm.Spec.Name))
	g.stackPtr(asm.R2, key)
	g.call(asm.FnMapDeleteElem)
}

// action sends a record that is only an id: user space prints, clears or
// zeroes a map, or exits. Maps are read in user space, as in bpftrace.
func (g *gen) action(id uint64, at Pos) {
	off := g.alloc(8, at)
	g.emit(asm.LoadImm64(asm.R1, int64(id)))
	g.emit(asm.StoreMem(asm.R10, off, asm.R1, asm.DWord))
	g.send(off, 8)
}

// printfID is the index in Object.Printfs of a call's record, made by
// mk on the call's first program.
func (g *gen) printfID(call *Call, mk func() *Printf) int {
	c := g.c
	if id, ok := c.printfIDs[call]; ok {
		return id
	}
	id := len(c.obj.Printfs)
	c.obj.Printfs = append(c.obj.Printfs, mk())
	c.printfIDs[call] = id
	return id
}

// recordCalls are the calls whose records are Printfs: what a probe
// prints as it fires.
var recordCalls = map[string]bool{"printf": true, "time": true, "join": true, "cat": true, "system": true}

// isPrintValue reports whether c is print(value), which the checker makes
// a printf.
func isPrintValue(c *Call) bool {
	if c.Name != "print" || len(c.Args) != 1 {
		return false
	}
	_, isMap := c.Args[0].(*MapExpr)
	return !isMap
}

// Streams reports whether a probe other than BEGIN, END and interval
// prints as it fires (printf, time, join, cat, system): then records come
// at the rate of the traced events, and the output ring is sized for
// them. Without it, records come only from those hooks, a few at a time
// (Object.Streams). It reads the parsed program, so that the ring can be
// made while the rest is checked and compiled.
func Streams(prog *Program) bool {
	var prints func([]Stmt) bool
	prints = func(body []Stmt) bool {
		for _, s := range body {
			switch s := s.(type) {
			case *ExprStmt:
				if c, ok := s.X.(*Call); ok && (recordCalls[c.Name] || isPrintValue(c)) {
					return true
				}
			case *IfStmt:
				if prints(s.Then) || prints(s.Else) {
					return true
				}
			case *WhileStmt:
				if prints(s.Body) {
					return true
				}
			case *UnrollStmt:
				if prints(s.Body) {
					return true
				}
			}
		}
		return false
	}
	for _, p := range prog.Probes {
		for _, a := range p.Attach {
			switch a.Type {
			case Begin, End, Interval:
			default:
				if prints(p.Body) {
					return true
				}
			}
		}
	}
	return false
}

// MayStream reports whether Streams could be true of the program in src,
// from its text alone: whether it names a call that prints as it fires.
// It is a guess made before the parse (a name in a comment or a string
// counts), for work that can start that early.
func MayStream(src []byte) bool {
	for name := range recordCalls {
		if bytes.Contains(src, []byte(name)) {
			return true
		}
	}
	return bytes.Contains(src, []byte("print"))
}

// printf sends the id of the call and its arguments, each in an 8-byte
// aligned slot; user space formats them.
func (g *gen) printf(call *Call) {
	id := g.printfID(call, func() *Printf {
		pf := &Printf{Format: call.Args[0].(*StrLit).Value, Size: 8}
		switch call.Name {
		case "cat":
			pf.Kind = PrintfCat
		case "system":
			pf.Kind = PrintfSystem
		}
		for _, a := range call.Args[1:] {
			t := TypeOf(a)
			pf.Args = append(pf.Args, t)
			pf.Offsets = append(pf.Offsets, pf.Size)
			pf.Size += slotSize(t)
		}
		return pf
	})
	pf := g.c.obj.Printfs[id]
	off := g.alloc(pf.Size, call.Pos)
	g.emit(asm.StoreImm(asm.R10, off, int32(id), asm.DWord))
	for i, a := range call.Args[1:] {
		g.buf(a, off+int16(pf.Offsets[i]), slotSize(pf.Args[i]))
	}
	g.send(off, pf.Size)
}

// send writes size bytes of stack at off to the output ring.
func (g *gen) send(off int16, size int) {
	g.sendFrom(func(r asm.Register) { g.stackPtr(r, off) }, off, size)
}

// sendFrom writes size bytes at the address ptr puts in a register to the
// output ring; off is 8 bytes of stack it may use, for the lost count.
func (g *gen) sendFrom(ptr func(asm.Register), off int16, size int) {
	g.c.needEvents = true
	if g.c.opts.Output == OutputPerfEventArray {
		g.emit(asm.Mov.Reg(asm.R1, asm.R6))
		g.emit(asm.LoadMapPtr(asm.R2, EventsMap))
		g.emit(asm.LoadImm64(asm.R3, bpfFCurrentCPU))
		ptr(asm.R4)
		g.emit(asm.Mov.Imm(asm.R5, int32(size)))
		g.call(asm.FnPerfEventOutput)
		return
	}
	g.emit(asm.LoadMapPtr(asm.R1, EventsMap))
	ptr(asm.R2)
	g.emit(asm.Mov.Imm(asm.R3, int32(size)))
	g.emit(asm.Mov.Imm(asm.R4, 0))
	g.call(asm.FnRingbufOutput)
	// A full ring buffer refuses the record and says nothing to the
	// reader (perf rings at least emit PERF_RECORD_LOST), so the program
	// counts what it could not send: an atomic add to the one u64 of an
	// array, addressed directly (BPF_PSEUDO_MAP_VALUE, 5.2; the ring
	// buffer is 5.8), with no lookup.
	sent := g.newLabel("sent")
	g.emit(asm.JEq.Imm(asm.R0, 0, sent))
	g.emit(asm.LoadMapValue(asm.R1, LostMap, 0))
	g.emit(asm.Mov.Imm(asm.R2, 1))
	g.emit(asm.AtomicAdd.Mem(asm.R1, 0, asm.R2, asm.DWord))
	g.label(sent)
}

// Join records are made in a per-CPU scratch map: JoinArgs strings of
// JoinArgSize bytes do not fit the 512-byte stack. bpftrace 0.17 reads at
// most 16 arguments of 1024 bytes (its join_argnum and join_argsize).
const (
	JoinArgs    = 16
	JoinArgSize = 1024
	// JoinMap is the scratch map's name.
	JoinMap = "join"
)

// join sends the strings of a NULL-terminated array of pointers (argv):
// the record is the printf id, the number of strings read, then each
// string in a JoinArgSize slot. User space joins them with the separator.
func (g *gen) join(call *Call) {
	sep := " "
	if len(call.Args) == 2 {
		sep = call.Args[1].(*StrLit).Value
	}
	size := 16 + JoinArgs*JoinArgSize
	id := g.printfID(call, func() *Printf { return &Printf{Kind: PrintfJoin, Format: sep, Size: size} })
	g.c.needJoin = true
	user := TypeOf(call.Args[0]).User
	readPtr, readStr := g.helper(asm.FnProbeReadKernel), g.helper(asm.FnProbeReadKernelStr)
	if user {
		readPtr, readStr = g.helper(asm.FnProbeReadUser), g.helper(asm.FnProbeReadUserStr)
	}
	tmp := g.alloc(8, call.Pos)
	arr := g.alloc(8, call.Pos)
	g.value(call.Args[0], asm.R7)
	g.emit(asm.StoreMem(asm.R10, arr, asm.R7, asm.DWord))
	g.emit(asm.StoreImm(asm.R10, tmp, 0, asm.Word))
	g.emit(asm.LoadMapPtr(asm.R1, JoinMap))
	g.stackPtr(asm.R2, tmp)
	g.call(asm.FnMapLookupElem)
	done := g.newLabel("join_done")
	g.emit(asm.JEq.Imm(asm.R0, 0, done))
	g.emit(asm.Mov.Reg(asm.R9, asm.R0))
	g.emit(asm.StoreImm(asm.R9, 0, int32(id), asm.DWord))
	g.emit(asm.StoreImm(asm.R9, 8, 0, asm.DWord))
	send := g.newLabel("join_send")
	for i := 0; i < JoinArgs; i++ {
		// tmp = arr[i]; stop at NULL (or an unreadable array).
		g.stackPtr(asm.R1, tmp)
		g.emit(asm.Mov.Imm(asm.R2, 8))
		g.emit(asm.LoadMem(asm.R3, asm.R10, arr, asm.DWord))
		g.emit(asm.Add.Imm(asm.R3, int32(8*i)))
		g.call(readPtr)
		g.emit(asm.JNE.Imm(asm.R0, 0, send))
		g.emit(asm.LoadMem(asm.R3, asm.R10, tmp, asm.DWord))
		g.emit(asm.JEq.Imm(asm.R3, 0, send))
		g.emit(asm.Mov.Reg(asm.R1, asm.R9))
		g.emit(asm.Add.Imm(asm.R1, int32(16+i*JoinArgSize)))
		g.emit(asm.Mov.Imm(asm.R2, JoinArgSize))
		g.call(readStr)
		g.emit(asm.StoreImm(asm.R9, 8, int32(i+1), asm.DWord))
	}
	g.label(send)
	g.sendFrom(func(r asm.Register) { g.emit(asm.Mov.Reg(r, asm.R9)) }, tmp, size)
	g.label(done)
}
