package script

import (
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
	case "printf":
		g.printf(call)
	case "print":
		top := uint64(0)
		if len(call.Args) > 1 {
			top, _ = foldConst(call.Args[1]) // checked: 0 to MaxPrintTop
		}
		g.action(printID(g.c.mapIndex[call.Args[0].(*MapExpr).Name], int(top)), call.Pos)
	case "clear", "zero":
		m := call.Args[0].(*MapExpr)
		action := map[string]int{"clear": ActionClear, "zero": ActionZero}[call.Name]
		g.action(ActionID(action, g.c.mapIndex[m.Name]), call.Pos)
	case "delete":
		m := call.Args[0].(*MapExpr)
		key, bm := g.keyBuf(m)
		g.emit(asm.LoadMapPtr(asm.R1, bm.Spec.Name))
		g.stackPtr(asm.R2, key)
		g.call(asm.FnMapDeleteElem)
	case "exit":
		// Tell user space to stop, and end this probe here as bpftrace
		// does.
		g.action(ActionID(ActionExit, 0), call.Pos)
		g.emit(asm.Ja.Label("exit"))
	}
}

// action sends a record that is only an id: user space prints, clears or
// zeroes a map, or exits. Maps are read in user space, as in bpftrace.
func (g *gen) action(id uint64, at Pos) {
	off := g.alloc(8, at)
	g.emit(asm.LoadImm64(asm.R1, int64(id)))
	g.emit(asm.StoreMem(asm.R10, off, asm.R1, asm.DWord))
	g.send(off, 8)
}

// printf sends the id of the call and its arguments, each in an 8-byte
// aligned slot; user space formats them.
func (g *gen) printf(call *Call) {
	id, ok := g.c.printfIDs[call]
	var pf *Printf
	if ok {
		pf = g.c.obj.Printfs[id]
	} else {
		pf = &Printf{Format: call.Args[0].(*StrLit).Value, Size: 8}
		for _, a := range call.Args[1:] {
			t := TypeOf(a)
			pf.Args = append(pf.Args, t)
			pf.Offsets = append(pf.Offsets, pf.Size)
			pf.Size += slotSize(t)
		}
		id = len(g.c.obj.Printfs)
		g.c.obj.Printfs = append(g.c.obj.Printfs, pf)
		g.c.printfIDs[call] = id
	}
	off := g.alloc(pf.Size, call.Pos)
	g.emit(asm.StoreImm(asm.R10, off, int32(id), asm.DWord))
	for i, a := range call.Args[1:] {
		g.buf(a, off+int16(pf.Offsets[i]), slotSize(pf.Args[i]))
	}
	g.send(off, pf.Size)
}

// send writes size bytes of stack at off to the output ring.
func (g *gen) send(off int16, size int) {
	g.c.needEvents = true
	if g.c.opts.Output == OutputPerfEventArray {
		g.emit(asm.Mov.Reg(asm.R1, asm.R6))
		g.emit(asm.LoadMapPtr(asm.R2, EventsMap))
		g.emit(asm.LoadImm64(asm.R3, bpfFCurrentCPU))
		g.stackPtr(asm.R4, off)
		g.emit(asm.Mov.Imm(asm.R5, int32(size)))
		g.call(asm.FnPerfEventOutput)
		return
	}
	g.emit(asm.LoadMapPtr(asm.R1, EventsMap))
	g.stackPtr(asm.R2, off)
	g.emit(asm.Mov.Imm(asm.R3, int32(size)))
	g.emit(asm.Mov.Imm(asm.R4, 0))
	g.call(asm.FnRingbufOutput)
	// A full ring buffer refuses the record and says nothing to the
	// reader (perf rings at least emit PERF_RECORD_LOST), so the program
	// counts what it could not send, in a per-CPU slot that user space
	// sums at the end. The record's stack, sent or not, holds the key.
	sent := g.newLabel("sent")
	g.emit(asm.JEq.Imm(asm.R0, 0, sent))
	g.emit(asm.StoreImm(asm.R10, off, 0, asm.Word))
	g.emit(asm.LoadMapPtr(asm.R1, LostMap))
	g.stackPtr(asm.R2, off)
	g.call(asm.FnMapLookupElem)
	g.emit(asm.JEq.Imm(asm.R0, 0, sent))
	g.emit(asm.LoadMem(asm.R1, asm.R0, 0, asm.DWord))
	g.emit(asm.Add.Imm(asm.R1, 1))
	g.emit(asm.StoreMem(asm.R0, 0, asm.R1, asm.DWord))
	g.label(sent)
}
