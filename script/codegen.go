package script

import (
	"fmt"

	"github.com/tracelet/tracelet/asm"
	"github.com/tracelet/tracelet/bpf/uapi"
)

// gen generates the program of one attach point.
//
// Registers: R6 holds the context for the whole program (helpers clobber
// R1-R5); R7-R9 hold intermediate integers, which survive helper calls;
// deeper expressions spill to the stack. Locals live in stack slots for the
// whole program, temporaries only for their statement.
type gen struct {
	c     *compiler
	probe *Probe
	ap    *AttachPoint
	arch  *asm.Arch // places arguments and the return value (compiler.archAt)
	index int       // the probe builtin's value
	ptype uapi.ProgramType

	insns   asm.Instructions
	pending string            // label for the next instruction
	alias   map[string]string // label -> the label it shares an instruction with
	nlabel  int
	loops   [][2]string // the enclosing while loops' top and end labels

	top    int // bytes of stack in use
	locals map[string]int16
}

// regNone is returned by nextReg when R7-R9 are all in use.
const regNone asm.Register = 0xff

func nextReg(r asm.Register) asm.Register {
	if r >= asm.R7 && r < asm.R9 {
		return r + 1
	}
	return regNone
}

func (c *compiler) program(p *Probe, a *AttachPoint, index int) asm.Instructions {
	g := &gen{c: c, probe: p, ap: a, index: index, ptype: c.progTypeAt(a),
		alias: map[string]string{}, locals: map[string]int16{}}
	g.arch = c.archAt(a, c.opts.Arch, c.opts.UprobeArch)
	g.emit(asm.Mov.Reg(asm.R6, asm.R1))
	g.allocLocals(p.Body)
	if v, ok := foldPred(p.Pred); !ok || v != 0 {
		// A constant false predicate leaves nothing to run: the verifier
		// rejects unreachable instructions, so none are emitted.
		if p.Pred != nil && !ok {
			g.cond(p.Pred, "exit", asm.R7)
		}
		g.stmts(p.Body)
	}
	g.label("exit")
	// A tracepoint program's 0 would drop the hit for every other perf
	// user of the tracepoint (perf_trace_run_bpf_submit); 1 passes it on,
	// and our own perf event only counts it (bpf.OpenTraceEventCounting).
	// On a kprobe or uprobe, 1 would make the kernel build the event's
	// record for nobody, so those return 0.
	ret := int32(0)
	if a.Type == Tracepoint {
		ret = 1
	}
	g.emit(asm.Mov.Imm(asm.R0, ret))
	g.emit(asm.Return())
	// Labels that landed on the same instruction become one.
	for i := range g.insns {
		ref := g.insns[i].Reference
		for ref != "" && g.alias[ref] != "" && !g.insns[i].IsLoadMap() {
			ref = g.alias[ref]
		}
		if !g.insns[i].IsLoadMap() {
			g.insns[i].Reference = ref
		}
	}
	// The context is kept in R6 for args, arguments and helpers that take
	// it (perf output, stacks); a program that uses none of them does not
	// need the copy.
	if !usesReg(g.insns[1:], asm.R6) {
		g.insns = g.insns[1:]
	}
	return removeDeadCode(g.insns)
}

// usesReg reports whether an instruction of insns names r.
func usesReg(insns asm.Instructions, r asm.Register) bool {
	for _, ins := range insns {
		if ins.Dst == r || (ins.Src == r && !ins.IsLoadMap() && !(ins.OpCode.Class() == asm.JumpClass && ins.OpCode.JumpOp() == asm.Call)) {
			return true
		}
	}
	return false
}

func (g *gen) emit(ins asm.Instruction) {
	if g.pending != "" {
		ins = ins.WithSymbol(g.pending)
		g.pending = ""
	}
	g.insns = append(g.insns, ins)
}

func (g *gen) newLabel(what string) string {
	g.nlabel++
	return fmt.Sprintf("%s_%d", what, g.nlabel)
}

// label places l on the next instruction emitted.
func (g *gen) label(l string) {
	if g.pending != "" {
		g.alias[l] = g.pending
		return
	}
	g.pending = l
}

func (g *gen) errorf(p Pos, format string, args ...any) { g.c.errorf(p, format, args...) }

// alloc reserves size bytes (rounded to 8) of stack and returns the offset
// from R10.
func (g *gen) alloc(size int, at Pos) int16 {
	g.top += (size + 7) &^ 7
	if g.top > maxStack {
		g.errorf(at, "this probe needs more than the %d bytes of stack BPF allows: use shorter strings (str(p, n)) or fewer keys", maxStack)
		g.top = 0 // keep going to find other errors
	}
	return int16(-g.top)
}

// helper returns fn, or its pre-5.5 equivalent when the kernel lacks it.
func (g *gen) helper(fn asm.BuiltinFunc) asm.BuiltinFunc {
	have := g.c.opts.HaveHelper
	if have == nil || have(g.ptype, fn) {
		return fn
	}
	switch fn {
	case asm.FnProbeReadKernel, asm.FnProbeReadUser:
		return asm.FnProbeRead
	case asm.FnProbeReadKernelStr, asm.FnProbeReadUserStr:
		return asm.FnProbeReadStr
	}
	return fn
}

func (g *gen) call(fn asm.BuiltinFunc) { g.emit(fn.Call()) }

// constant loads v into r in the shortest form.
func (g *gen) constant(r asm.Register, v uint64) {
	if int64(v) == int64(int32(v)) {
		g.emit(asm.Mov.Imm(r, int32(v)))
	} else {
		g.emit(asm.LoadImm64(r, int64(v)))
	}
}

// stackPtr sets r to R10+off.
func (g *gen) stackPtr(r asm.Register, off int16) {
	g.emit(asm.Mov.Reg(r, asm.R10))
	g.emit(asm.Add.Imm(r, int32(off)))
}

// zero clears size bytes of stack at off, 8 at a time.
func (g *gen) zero(off int16, size int) {
	for i := 0; i < size; i += 8 {
		g.emit(asm.StoreImm(asm.R10, off+int16(i), 0, asm.DWord))
	}
}

func (g *gen) stmts(list []Stmt) {
	for _, s := range list {
		mark := g.top
		g.stmt(s)
		g.top = mark // temporaries die with their statement
		if isExit(s) {
			return // what follows exit() never runs, and must not be emitted
		}
	}
}

func isExit(s Stmt) bool {
	if _, ok := s.(*JumpStmt); ok {
		return true // what follows return, break or continue never runs either
	}
	es, ok := s.(*ExprStmt)
	if !ok {
		return false
	}
	c, ok := es.X.(*Call)
	return ok && c.Name == "exit"
}

// foldPred folds a predicate; no predicate is true.
func foldPred(e Expr) (uint64, bool) {
	if e == nil {
		return 1, true
	}
	return foldConst(e)
}

func (g *gen) stmt(s Stmt) {
	switch s := s.(type) {
	case *ExprStmt:
		g.exprStmt(s.X)
	case *AssignStmt:
		switch t := s.Target.(type) {
		case *Var:
			g.assignVar(s, t)
		case *MapExpr:
			g.assignMap(s, t)
		}
	case *IfStmt:
		if v, ok := foldConst(s.Cond); ok {
			if v != 0 {
				g.stmts(s.Then)
			} else {
				g.stmts(s.Else)
			}
			return
		}
		els, end := g.newLabel("else"), g.newLabel("endif")
		g.cond(s.Cond, els, asm.R7)
		g.stmts(s.Then)
		if len(s.Else) > 0 {
			g.emit(asm.Ja.Label(end))
		}
		g.label(els)
		g.stmts(s.Else)
		g.label(end)
	case *WhileStmt:
		top, end := g.newLabel("while"), g.newLabel("endwhile")
		g.label(top)
		g.cond(s.Cond, end, asm.R7)
		g.loops = append(g.loops, [2]string{top, end})
		g.stmts(s.Body)
		g.loops = g.loops[:len(g.loops)-1]
		g.emit(asm.Ja.Label(top))
		g.label(end)
	case *JumpStmt:
		switch s.Kind {
		case "return":
			g.emit(asm.Ja.Label("exit"))
		case "continue":
			g.emit(asm.Ja.Label(g.loops[len(g.loops)-1][0])) // checked: in a while
		case "break":
			g.emit(asm.Ja.Label(g.loops[len(g.loops)-1][1]))
		}
	case *UnrollStmt:
		n, _ := foldConst(s.N) // checked: 1 to MaxUnroll
		for i := uint64(0); i < n; i++ {
			g.stmts(s.Body)
		}
	}
}

func (g *gen) assignVar(s *AssignStmt, v *Var) {
	t := TypeOf(v)
	off := g.locals[v.Name]
	if t.Kind == KindString || slotSize(t) > 8 {
		g.buf(s.Value, off, slotSize(t))
		return
	}
	switch s.Op {
	case ASSIGN:
		g.value(s.Value, asm.R7)
	case INC, DEC:
		g.emit(asm.LoadMem(asm.R7, asm.R10, off, asm.DWord))
		g.emit(map[Token]asm.ALUOp{INC: asm.Add, DEC: asm.Sub}[s.Op].Imm(asm.R7, 1))
	default:
		g.emit(asm.LoadMem(asm.R7, asm.R10, off, asm.DWord))
		g.binop(s.Op.compoundOp(), asm.R7, s.Value, arithSigned(t, TypeOf(s.Value)))
	}
	g.emit(asm.StoreMem(asm.R10, off, asm.R7, asm.DWord))
}

// allocLocals gives every local of the probe its slot before the body:
// stmts frees a statement's temporaries when it ends, and a local must
// outlive the statement that assigns it.
func (g *gen) allocLocals(list []Stmt) {
	for _, s := range list {
		switch s := s.(type) {
		case *AssignStmt:
			if v, ok := s.Target.(*Var); ok {
				if _, done := g.locals[v.Name]; !done && TypeOf(v) != nil {
					g.locals[v.Name] = g.alloc(slotSize(TypeOf(v)), v.Pos)
				}
			}
		case *IfStmt:
			g.allocLocals(s.Then)
			g.allocLocals(s.Else)
		case *WhileStmt:
			g.allocLocals(s.Body)
		case *UnrollStmt:
			g.allocLocals(s.Body)
		}
	}
}

// value computes an integer-like expression (8 bytes) into r.
func (g *gen) value(e Expr, r asm.Register) {
	if v, ok := foldConst(e); ok {
		g.constant(r, v)
		return
	}
	switch e := e.(type) {
	case *Builtin:
		g.builtin(e, r)
	case *Var:
		g.emit(asm.LoadMem(r, asm.R10, g.locals[e.Name], asm.DWord))
	case *MapExpr:
		g.mapRead(e, r)
	case *FieldExpr:
		if e.mem != nil {
			g.memberValue(e, r)
			return
		}
		g.field(e, r)
	case *Index:
		if e.tp != nil {
			g.tracepointIndex(e, r)
			return
		}
		g.memberValue(e, r)
	case *Cast:
		if e.Stars > 0 && inKernel(TypeOf(e.X)) {
			// (struct X *)$skb->cb: the address of the member.
			off := g.kernelAddr(e.X, r)
			g.emit(asm.Mov.Reg(r, asm.R3))
			if off != 0 {
				g.emit(asm.Add.Imm(r, off))
			}
			return
		}
		g.value(e.X, r)
		if e.Stars > 0 {
			return // a pointer cast changes the type, not the value
		}
		size := castTypes[e.Type]
		switch {
		case size == 8:
		case e.Type[0] == 'i':
			sh := int32(64 - 8*size)
			g.emit(asm.LSh.Imm(r, sh))
			g.emit(asm.ArSh.Imm(r, sh))
		case size == 4:
			g.emit(asm.Mov.Reg32(r, r)) // a 32-bit move zero-extends
		default:
			g.emit(asm.And.Imm(r, int32(1)<<(8*size)-1))
		}
	case *Call:
		switch e.Name {
		case "ksym":
			g.value(e.Args[0], r)
		case "kaddr":
			g.constant(r, e.addr)
		case "strftime":
			g.value(e.Args[1], r) // nsecs; user space formats it
		case "kstack":
			g.stackID(r, 0, TypeOf(e).Depth)
		case "reg":
			// The register's slot in pt_regs, by the names tracefs
			// gives them (x86: "ip", "sp", "ax", "di", ...).
			name := e.Args[0].(*StrLit).Value
			loc, ok := g.c.opts.Arch.Register(name)
			if !ok {
				g.errorf(e.Args[0].Position(), "reg(%q): no such register in %s's pt_regs", name, g.c.opts.Arch.GOARCH)
				return
			}
			ins, err := loc.Load(r, asm.R6)
			if err != nil {
				g.errorf(e.Pos, "reg(%q): %v", name, err)
				return
			}
			g.emit(ins)
		case "bswap":
			g.value(e.Args[0], r)
			g.bswap(r, TypeOf(e).Size)
		case "uptr", "kptr":
			g.value(e.Args[0], r)
		case "strncmp":
			n, _ := foldConst(e.Args[2]) // checked: 1 to MaxStrLen
			differ, end := g.newLabel("strncmp_differ"), g.newLabel("strncmp_end")
			g.strCompare(e.Args[0], e.Args[1], false, int(n), differ)
			g.emit(asm.Mov.Imm(r, 0))
			g.emit(asm.Ja.Label(end))
			g.label(differ)
			g.emit(asm.Mov.Imm(r, 1))
			g.label(end)
		case "cgroupid":
			g.constant(r, e.addr)
		case "delete": // $ok = delete(@m, k): 1 if the key was there
			g.delete(e)
			g.emit(asm.Mov.Reg(r, asm.R0))
			g.boolify(r, asm.JEq)
		default:
			g.errorf(e.Pos, "%s() has no integer value", e.Name)
		}
	case *Unary:
		g.value(e.X, r)
		if e.Op == MUL {
			g.deref(r, TypeOf(e), e.Pos)
			return
		}
		switch e.Op {
		case SUB:
			g.emit(asm.Neg64(r))
		case TILDE:
			g.emit(asm.Xor.Imm(r, -1))
		case NOT:
			g.boolify(r, asm.JEq)
		}
	case *Binary:
		switch e.Op {
		case LAND, LOR, EQL, NEQ, LSS, LEQ, GTR, GEQ:
			f, end := g.newLabel("false"), g.newLabel("end")
			g.cond(e, f, r)
			g.emit(asm.Mov.Imm(r, 1))
			g.emit(asm.Ja.Label(end))
			g.label(f)
			g.emit(asm.Mov.Imm(r, 0))
			g.label(end)
			return
		}
		g.value(e.X, r)
		y := e.Y
		if p := TypeOf(e.X).Pointee; p != nil && p.Size > 1 && (e.Op == ADD || e.Op == SUB) {
			// p + n steps n integers, as in C and bpftrace.
			n := &IntLit{Pos: e.Pos, Value: uint64(p.Size)}
			n.setType(Uint64)
			scaled := &Binary{Pos: e.Pos, Op: MUL, X: e.Y, Y: n}
			scaled.setType(TypeOf(e.Y))
			y = scaled
		}
		g.binop(e.Op, r, y, arithSigned(TypeOf(e.X), TypeOf(e.Y)))
	case *Ternary:
		if v, ok := foldConst(e.Cond); ok {
			if v != 0 {
				g.value(e.Then, r)
			} else {
				g.value(e.Else, r)
			}
			return
		}
		els, end := g.newLabel("else"), g.newLabel("end")
		g.cond(e.Cond, els, r)
		g.value(e.Then, r)
		g.emit(asm.Ja.Label(end))
		g.label(els)
		g.value(e.Else, r)
		g.label(end)
	default:
		g.errorf(e.Position(), "%s has no integer value", describe(e))
	}
}

// bswap reverses the low size bytes of r with shifts and masks, which
// read the same on either byte order (BPF_END swaps only toward a fixed
// order, and its unconditional form is 6.6's). Two caller-saved registers
// other than r hold the byte and the result: nothing here calls a helper.
func (g *gen) bswap(r asm.Register, size int) {
	var tmp []asm.Register
	for _, x := range []asm.Register{asm.R0, asm.R1, asm.R2} {
		if x != r && len(tmp) < 2 {
			tmp = append(tmp, x)
		}
	}
	b, out := tmp[0], tmp[1]
	g.emit(asm.Mov.Imm(out, 0))
	for i := 0; i < size; i++ {
		g.emit(asm.Mov.Reg(b, r))
		if i > 0 {
			g.emit(asm.RSh.Imm(b, int32(8*i)))
		}
		g.emit(asm.And.Imm(b, 0xff))
		if sh := 8 * (size - 1 - i); sh > 0 {
			g.emit(asm.LSh.Imm(b, int32(sh)))
		}
		g.emit(asm.Or.Reg(out, b))
	}
	g.emit(asm.Mov.Reg(r, out))
}

// boolify turns r into 1 when "r op 0" holds, else 0.
func (g *gen) boolify(r asm.Register, op asm.JumpOp) {
	t, end := g.newLabel("true"), g.newLabel("end")
	g.emit(op.Imm(r, 0, t))
	g.emit(asm.Mov.Imm(r, 0))
	g.emit(asm.Ja.Label(end))
	g.label(t)
	g.emit(asm.Mov.Imm(r, 1))
	g.label(end)
}

var aluOps = map[Token]asm.ALUOp{
	ADD: asm.Add, SUB: asm.Sub, MUL: asm.Mul, QUO: asm.Div, REM: asm.Mod,
	AND: asm.And, OR: asm.Or, XOR: asm.Xor, SHL: asm.LSh, SHR: asm.RSh,
}

// binop computes r = r op y. Division is unsigned, as in bpftrace: signed
// BPF division only exists since 6.6.
func (g *gen) binop(op Token, r asm.Register, y Expr, signed bool) {
	alu := aluOps[op]
	if op == SHR && signed {
		alu = asm.ArSh
	}
	if v, ok := foldConst(y); ok && int64(v) == int64(int32(v)) {
		g.emit(alu.Imm(r, int32(v)))
		return
	}
	if ry := nextReg(r); ry != regNone && !clobbers(y) {
		g.value(y, ry)
		g.emit(alu.Reg(r, ry))
		return
	}
	// Out of registers, or y builds keys or strings with R7 and up: park
	// r on the stack while y is computed in it.
	g.spill(r, y)
	g.emit(alu.Reg(asm.R1, r))
	g.emit(asm.Mov.Reg(r, asm.R1))
}

// spill stores r, computes y into r, and reloads the old r into R1.
func (g *gen) spill(r asm.Register, y Expr) {
	off := g.alloc(8, y.Position())
	g.emit(asm.StoreMem(asm.R10, off, r, asm.DWord))
	g.value(y, r)
	g.emit(asm.LoadMem(asm.R1, asm.R10, off, asm.DWord))
}

// clobbers reports whether computing e uses R7 and up regardless of the
// register it is computed into: map reads build their key with them, and
// string comparisons their buffers.
func clobbers(e Expr) bool {
	switch e := e.(type) {
	case *MapExpr:
		return true
	case *Unary:
		return clobbers(e.X)
	case *Cast:
		return clobbers(e.X)
	case *Binary:
		if (e.Op == EQL || e.Op == NEQ) && TypeOf(e.X) != nil && TypeOf(e.X).Kind == KindString {
			return true
		}
		return clobbers(e.X) || clobbers(e.Y)
	case *Ternary:
		return clobbers(e.Cond) || clobbers(e.Then) || clobbers(e.Else)
	case *Call:
		for _, a := range e.Args {
			if clobbers(a) {
				return true
			}
		}
	}
	return false
}

// jumpOps maps a comparison to the jump taken when it is false.
var jumpFalse = map[Token][2]asm.JumpOp{ // [unsigned, signed]
	EQL: {asm.JNE, asm.JNE},
	NEQ: {asm.JEq, asm.JEq},
	LSS: {asm.JGE, asm.JSGE},
	LEQ: {asm.JGT, asm.JSGT},
	GTR: {asm.JLE, asm.JSLE},
	GEQ: {asm.JLT, asm.JSLT},
}

// cond jumps to f when e is false (zero), and falls through when true. It
// computes in r and the registers after it, leaving those before r alone.
func (g *gen) cond(e Expr, f string, r asm.Register) {
	if v, ok := foldConst(e); ok {
		if v == 0 {
			g.emit(asm.Ja.Label(f))
		}
		return
	}
	if b, ok := e.(*Binary); ok {
		switch b.Op {
		case LAND:
			if v, ok := foldConst(b.X); ok {
				if v == 0 {
					g.emit(asm.Ja.Label(f))
				} else {
					g.cond(b.Y, f, r)
				}
				return
			}
			g.cond(b.X, f, r)
			g.cond(b.Y, f, r)
			return
		case LOR:
			if v, ok := foldConst(b.X); ok {
				if v == 0 {
					g.cond(b.Y, f, r)
				}
				return
			}
			t, next := g.newLabel("or_true"), g.newLabel("or_next")
			g.cond(b.X, next, r)
			g.emit(asm.Ja.Label(t))
			g.label(next)
			g.cond(b.Y, f, r)
			g.label(t)
			return
		case EQL, NEQ:
			if TypeOf(b.X).Kind == KindString {
				g.strEqual(b, f)
				return
			}
			fallthrough
		case LSS, LEQ, GTR, GEQ:
			signed := 0
			if arithSigned(TypeOf(b.X), TypeOf(b.Y)) {
				signed = 1
			}
			op := jumpFalse[b.Op][signed]
			g.value(b.X, r)
			if v, ok := foldConst(b.Y); ok && int64(v) == int64(int32(v)) {
				g.emit(op.Imm(r, int32(v), f))
				return
			}
			if ry := nextReg(r); ry != regNone && !clobbers(b.Y) {
				g.value(b.Y, ry)
				g.emit(op.Reg(r, ry, f))
				return
			}
			g.spill(r, b.Y)
			g.emit(op.Reg(asm.R1, r, f))
			return
		}
	}
	if u, ok := e.(*Unary); ok && u.Op == NOT {
		g.value(u.X, r)
		g.emit(asm.JNE.Imm(r, 0, f))
		return
	}
	g.value(e, r)
	g.emit(asm.JEq.Imm(r, 0, f))
}

// strEqual compares two strings byte by byte up to the first NUL, as
// bpftrace's string comparison does, and jumps to f when the comparison
// (== or !=) is false. A literal operand is compared against immediates.
// It emits no unreachable instruction: the verifier rejects those.
func (g *gen) strEqual(b *Binary, f string) {
	g.strCompare(b.X, b.Y, b.Op == NEQ, 0, f)
}

// strCompare jumps to f when strings x and y differ (or, with neq, when
// they are equal), comparing at most limit bytes where limit is not 0
// (strncmp).
func (g *gen) strCompare(x, y Expr, neq bool, limit int, f string) {
	if _, ok := x.(*StrLit); ok {
		x, y = y, x
	}
	tx, ty := TypeOf(x), TypeOf(y)
	xo := g.alloc(slotSize(tx), x.Position())
	g.buf(x, xo, slotSize(tx))
	lit, isLit := y.(*StrLit)
	var yo int16
	if !isLit {
		yo = g.alloc(slotSize(ty), y.Position())
		g.buf(y, yo, slotSize(ty))
	}
	done := g.newLabel("str_done")
	onEqual, onDiffer := done, f
	if neq {
		onEqual, onDiffer = f, done
	}
	n := min(tx.Size, ty.Size)
	limited := limit > 0 && limit <= n
	if limited {
		n = limit
	}
	for i := 0; i < n; i++ {
		g.emit(asm.LoadMem(asm.R1, asm.R10, xo+int16(i), asm.Byte))
		if isLit {
			var c byte
			if i < len(lit.Value) {
				c = lit.Value[i]
			}
			g.emit(asm.JNE.Imm(asm.R1, int32(c), onDiffer))
			if c == 0 {
				// Both strings end here: equal.
				if onEqual != done {
					g.emit(asm.Ja.Label(onEqual))
				}
				g.label(done)
				return
			}
			continue
		}
		g.emit(asm.LoadMem(asm.R2, asm.R10, yo+int16(i), asm.Byte))
		g.emit(asm.JNE.Reg(asm.R1, asm.R2, onDiffer))
		g.emit(asm.JEq.Imm(asm.R1, 0, onEqual))
	}
	// The first n bytes are equal and neither string ended: they are equal
	// only if the longer one ends right there, or if n is the limit.
	switch {
	case limited:
	case isLit:
		// the literal is the longer one (else it would have ended above)
		g.emit(asm.Ja.Label(onDiffer))
		g.label(done)
		return
	case tx.Size != ty.Size:
		lo := xo
		if ty.Size > tx.Size {
			lo = yo
		}
		g.emit(asm.LoadMem(asm.R1, asm.R10, lo+int16(n), asm.Byte))
		g.emit(asm.JNE.Imm(asm.R1, 0, onDiffer))
	}
	if onEqual != done {
		g.emit(asm.Ja.Label(onEqual))
	}
	g.label(done)
}

// deref replaces the address in r with the integer of type t it points to,
// read with bpf_probe_read_{kernel,user} (zero when unreadable).
func (g *gen) deref(r asm.Register, t *Type, at Pos) {
	off := g.alloc(8, at)
	g.emit(asm.StoreImm(asm.R10, off, 0, asm.DWord))
	g.stackPtr(asm.R1, off)
	g.emit(asm.Mov.Imm(asm.R2, int32(t.Size)))
	g.emit(asm.Mov.Reg(asm.R3, r))
	fn := asm.FnProbeReadKernel
	if t.User {
		fn = asm.FnProbeReadUser
	}
	g.call(g.helper(fn))
	// The integer's own width: on a big-endian machine its bytes are not
	// the low ones of the slot.
	g.emit(asm.LoadMem(r, asm.R10, off, loadSize[t.Size]))
	if t.Signed && t.Size < 8 {
		sh := int32(64 - 8*t.Size)
		g.emit(asm.LSh.Imm(r, sh))
		g.emit(asm.ArSh.Imm(r, sh))
	}
}
