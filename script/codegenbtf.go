package script

import (
	"github.com/tracelet/tracelet/asm"
	"github.com/tracelet/tracelet/bpf/uapi"
)

// This file generates the reads of kernel memory that BTF types describe:
// curtask->real_parent->comm is two reads, of a pointer at its offset in
// task_struct and of 16 bytes at comm's. Every read goes through
// bpf_probe_read_kernel (bpf_probe_read before 5.5), which works in every
// program type; offsets are the running kernel's, from its BTF.

// kernelAddr sets R3 to the address of a value that lies in kernel memory
// (a member, an element) minus the constant it returns, which the read adds:
// a chain of members and constant indexes folds into one offset. R3 is
// where the read helpers take the address, so a pointer read on the way
// is loaded straight there; r (R7 and up) is scratch for anything else.
func (g *gen) kernelAddr(e Expr, r asm.Register) int32 {
	switch e := e.(type) {
	case *FieldExpr:
		if e.mem == nil {
			break
		}
		if TypeOf(e.X).Ptr {
			g.ptrToR3(e.X, r)
			return int32(e.mem.Offset)
		}
		return g.kernelAddr(e.X, r) + int32(e.mem.Offset)
	case *Index:
		xt := TypeOf(e.X)
		size := int32(elemSize(g.c.info.BTF, xt))
		if v, ok := foldConst(e.I); ok {
			if xt.Ptr {
				g.ptrToR3(e.X, r)
				return int32(v) * size
			}
			return g.kernelAddr(e.X, r) + int32(v)*size
		}
		ry := nextReg(r)
		if ry == regNone || clobbers(e.I) {
			g.errorf(e.Pos, "this index is too complex here: assign it to a variable first")
			return 0
		}
		// The index may call helpers, which clobber R3: the base waits in r.
		var off int32
		if xt.Ptr {
			g.value(e.X, r)
		} else {
			off = g.kernelAddr(e.X, r)
			g.emit(asm.Mov.Reg(r, asm.R3))
		}
		g.value(e.I, ry)
		g.emit(asm.Mul.Imm(ry, size))
		g.emit(asm.Add.Reg(r, ry))
		g.emit(asm.Mov.Reg(asm.R3, r))
		return off
	}
	g.errorf(e.Position(), "%s has no address in kernel memory", describe(e))
	return 0
}

// ptrToR3 sets R3 to the value of pointer x.
func (g *gen) ptrToR3(x Expr, r asm.Register) {
	switch x := x.(type) {
	case *Builtin:
		if x.Name == "curtask" {
			g.call(asm.FnGetCurrentTask)
			g.emit(asm.Mov.Reg(asm.R3, asm.R0))
			return
		}
	case *FieldExpr:
		if x.arg > 0 && TypeOf(x).Size == 8 {
			g.emit(asm.LoadMem(asm.R3, asm.R6, int16(8*(x.arg-1)), asm.DWord))
			return
		}
		if x.mem != nil && x.mem.BitfieldSize == 0 {
			off := g.kernelAddr(x, r)
			if g.direct(x, off) {
				g.emit(asm.LoadMem(asm.R3, asm.R3, int16(off), asm.DWord))
				return
			}
			g.readMem(asm.R3, off, TypeOf(x).Size, TypeOf(x).User, x.Pos)
			return
		}
	case *Index:
		g.readMem(asm.R3, g.kernelAddr(x, r), TypeOf(x).Size, TypeOf(x).User, x.Pos)
		return
	case *Cast:
		if x.Stars > 0 {
			g.ptrToR3(x.X, r) // a pointer cast changes the type only
			return
		}
	}
	g.value(x, r)
	g.emit(asm.Mov.Reg(asm.R3, r))
}

// memberValue reads an integer or pointer member or element into r.
func (g *gen) memberValue(e Expr, r asm.Register) {
	t := TypeOf(e)
	if t.Kind != KindInt {
		g.errorf(e.Position(), "%s is %s, not a value: read one of its members", describe(e), t)
		return
	}
	off := g.kernelAddr(e, r)
	size, bit, bits := t.Size, 0, 0
	if f, ok := e.(*FieldExpr); ok && f.mem.BitfieldSize != 0 {
		// The bytes that hold the bitfield, little-endian (x86_64,
		// arm64): read them, shift the field down, mask it.
		bit, bits = int(f.mem.BitOffset%8), int(f.mem.BitfieldSize)
		size = 1
		for size < 8 && size*8 < bit+bits {
			size *= 2
		}
	}
	if bits == 0 && g.direct(e, off) {
		g.emit(asm.LoadMem(r, asm.R3, int16(off), loadSize[size]))
	} else {
		g.readMem(r, off, size, t.User, e.Position())
	}
	if bits != 0 {
		if bit != 0 {
			g.emit(asm.RSh.Imm(r, int32(bit)))
		}
		if t.Signed {
			sh := int32(64 - bits)
			g.emit(asm.LSh.Imm(r, sh))
			g.emit(asm.ArSh.Imm(r, sh))
		} else if bits < 32 {
			g.emit(asm.And.Imm(r, int32(1)<<bits-1))
		} else if bits < 64 {
			g.emit(asm.LSh.Imm(r, int32(64-bits)))
			g.emit(asm.RSh.Imm(r, int32(64-bits)))
		}
		return
	}
	if t.Signed && size < 8 {
		sh := int32(64 - 8*size)
		g.emit(asm.LSh.Imm(r, sh))
		g.emit(asm.ArSh.Imm(r, sh))
	}
}

// readMem sets r to the size bytes at address R3+off, in user memory
// when user is set, else in the kernel's. The
// load is of the size read, so the slot needs no zeroing: the helper
// writes all of it, zeros when the address is unreadable.
func (g *gen) readMem(r asm.Register, off int32, size int, user bool, at Pos) {
	slot := g.alloc(8, at)
	if off != 0 {
		g.emit(asm.Add.Imm(asm.R3, off))
	}
	g.stackPtr(asm.R1, slot)
	g.emit(asm.Mov.Imm(asm.R2, int32(size)))
	g.call(g.helper(readHelper(user)))
	g.emit(asm.LoadMem(r, asm.R10, slot, loadSize[size]))
}

// memberString copies a char array member into size bytes at off.
func (g *gen) memberString(e Expr, off int16, size int) {
	t := TypeOf(e)
	n := min(t.Size, size)
	a := g.kernelAddr(e, asm.R7)
	if a != 0 {
		g.emit(asm.Add.Imm(asm.R3, a))
	}
	g.zeroTail(off, n, size)
	g.stackPtr(asm.R1, off)
	g.emit(asm.Mov.Imm(asm.R2, int32(n)))
	g.call(g.helper(readHelper(t.User)))
}

func readHelper(user bool) asm.BuiltinFunc {
	if user {
		return asm.FnProbeReadUser
	}
	return asm.FnProbeReadKernel
}

var loadSize = map[int]asm.Size{1: asm.Byte, 2: asm.Half, 4: asm.Word, 8: asm.DWord}

// direct reports whether member e, at R3+off, may be loaded with an
// ordinary load rather than bpf_probe_read_kernel: in fentry, fexit and
// lsm programs, a pointer argument is a PTR_TO_BTF_ID, and so is a
// pointer member loaded from one; the verifier checks such a load
// against BTF (btf_struct_access) and turns a fault into a zero.
func (g *gen) direct(e Expr, off int32) bool {
	switch {
	case g.ap.Type == Fentry || g.ap.Type == Fexit || g.ap.Type == LSM:
	case g.ap.Type == RawTracepoint && g.ptype == uapi.Tracing: // tp_btf
	default:
		return false
	}
	f, ok := e.(*FieldExpr)
	if !ok || f.mem == nil || f.mem.BitfieldSize != 0 || off < 0 || off > 1<<15-1 {
		return false
	}
	return g.rootDirect(f)
}

// rootDirect reports whether the base kernelAddr puts in R3 for member e
// is a PTR_TO_BTF_ID.
func (g *gen) rootDirect(e *FieldExpr) bool {
	if TypeOf(e.X).Ptr {
		return g.ptrDirect(e.X)
	}
	x, ok := e.X.(*FieldExpr)
	return ok && x.mem != nil && g.rootDirect(x)
}

// ptrDirect reports whether pointer x, as ptrToR3 loads it, is a
// PTR_TO_BTF_ID: an argument of the context, or a pointer member loaded
// directly from one.
func (g *gen) ptrDirect(x Expr) bool {
	f, ok := x.(*FieldExpr)
	switch {
	case !ok:
		return false
	case f.arg > 0:
		return TypeOf(f).Size == 8
	case f.mem != nil && f.mem.BitfieldSize == 0:
		return g.rootDirect(f) && int64(f.mem.Offset) < 1<<15
	}
	return false
}
