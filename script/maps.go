package script

import (
	"github.com/tracelet/tracelet/asm"
)

// Flags of bpf_map_update_elem.
const (
	bpfAny     = 0
	bpfNoExist = 1
)

// keyBuf builds the BPF key of a map access on the stack and returns its
// offset. A scalar aggregation map is a one-entry per-CPU array (key u32
// 0), another scalar map a hash with the key u64 0; a histogram's key ends
// in 8 bytes for the bucket, which the caller fills in.
func (g *gen) keyBuf(m *MapExpr) (int16, *Map) {
	bm := g.c.maps[m.Name]
	size := int(bm.Spec.KeySize)
	off := g.alloc(size, m.Pos)
	if len(m.Keys) == 0 {
		if !bm.Buckets {
			g.zero(off, size)
		}
		return off, bm
	}
	for i, k := range m.Keys {
		ks := slotSize(bm.Info.Keys[i])
		g.buf(k, off+int16(bm.KeyOffsets[i]), ks)
	}
	return off, bm
}

// lookup leaves bpf_map_lookup_elem(map, key) in R0.
func (g *gen) lookup(bm *Map, key int16) {
	g.emit(asm.LoadMapPtr(asm.R1, bm.Spec.Name))
	g.stackPtr(asm.R2, key)
	g.call(asm.FnMapLookupElem)
}

func (g *gen) update(bm *Map, key, value int16, flags int32) {
	g.emit(asm.LoadMapPtr(asm.R1, bm.Spec.Name))
	g.stackPtr(asm.R2, key)
	g.stackPtr(asm.R3, value)
	g.emit(asm.Mov.Imm(asm.R4, flags))
	g.call(asm.FnMapUpdateElem)
}

// mapRead loads an integer map value into r; a missing key reads as 0, as
// in bpftrace.
func (g *gen) mapRead(m *MapExpr, r asm.Register) {
	key, bm := g.keyBuf(m)
	g.lookup(bm, key)
	end := g.newLabel("miss")
	g.emit(asm.Mov.Imm(r, 0))
	g.emit(asm.JEq.Imm(asm.R0, 0, end))
	g.emit(asm.LoadMem(r, asm.R0, 0, asm.DWord))
	g.label(end)
}

// mapReadBuf copies a map value of more than 8 bytes (a string) to the
// stack; a missing key reads as zeros.
func (g *gen) mapReadBuf(m *MapExpr, off int16, size int) {
	key, bm := g.keyBuf(m)
	g.lookup(bm, key)
	found, end := g.newLabel("found"), g.newLabel("end")
	g.emit(asm.JNE.Imm(asm.R0, 0, found))
	g.zero(off, size)
	g.emit(asm.Ja.Label(end))
	g.label(found)
	n := min(int(bm.Spec.ValueSize), size)
	for i := 0; i < n; i += 8 {
		g.emit(asm.LoadMem(asm.R1, asm.R0, int16(i), asm.DWord))
		g.emit(asm.StoreMem(asm.R10, off+int16(i), asm.R1, asm.DWord))
	}
	if n < size {
		g.zero(off+int16(n), size-n)
	}
	g.label(end)
}

func (g *gen) assignMap(s *AssignStmt, m *MapExpr) {
	if call, ok := s.Value.(*Call); ok && s.Op == ASSIGN && isAggregation(call.Name) {
		g.aggregate(m, call)
		return
	}
	key, bm := g.keyBuf(m)
	vsize := int(bm.Spec.ValueSize)
	switch s.Op {
	case ASSIGN:
		val := g.alloc(vsize, s.Pos)
		g.buf(s.Value, val, vsize)
		g.update(bm, key, val, bpfAny)
	case INC, DEC, ADD_ASSIGN, SUB_ASSIGN:
		// Adds are atomic on the shared value, so that two CPUs counting
		// at once lose nothing; a new key is created with the delta.
		switch s.Op {
		case INC:
			g.emit(asm.Mov.Imm(asm.R7, 1))
		case DEC:
			g.emit(asm.Mov.Imm(asm.R7, -1))
		default:
			g.value(s.Value, asm.R7)
			if s.Op == SUB_ASSIGN {
				g.emit(asm.Neg64(asm.R7))
			}
		}
		g.lookup(bm, key)
		miss, end := g.newLabel("miss"), g.newLabel("end")
		g.emit(asm.JEq.Imm(asm.R0, 0, miss))
		g.emit(asm.AtomicAdd.Mem(asm.R0, 0, asm.R7, asm.DWord))
		g.emit(asm.Ja.Label(end))
		g.label(miss)
		val := g.alloc(8, s.Pos)
		g.emit(asm.StoreMem(asm.R10, val, asm.R7, asm.DWord))
		g.update(bm, key, val, bpfNoExist)
		g.label(end)
	default:
		// x op= y on a value that may be missing (then 0).
		g.lookup(bm, key)
		miss := g.newLabel("miss")
		g.emit(asm.Mov.Imm(asm.R7, 0))
		g.emit(asm.JEq.Imm(asm.R0, 0, miss))
		g.emit(asm.LoadMem(asm.R7, asm.R0, 0, asm.DWord))
		g.label(miss)
		g.binop(s.Op.compoundOp(), asm.R7, s.Value, arithSigned(TypeOf(m), TypeOf(s.Value)))
		val := g.alloc(8, s.Pos)
		g.emit(asm.StoreMem(asm.R10, val, asm.R7, asm.DWord))
		g.update(bm, key, val, bpfAny)
	}
}

// aggregate updates an aggregation map. Aggregation maps are per-CPU, so
// the value is modified in place without atomics; user space sums the CPUs.
// Value layouts: count, sum, hist/lhist buckets: u64; min/max: {value,
// valid}; avg/stats: {count, sum}.
func (g *gen) aggregate(m *MapExpr, call *Call) {
	t := TypeOf(call)
	key, bm := g.keyBuf(m)
	if len(call.Args) > 0 {
		g.value(call.Args[0], asm.R7)
	}
	switch t.Kind {
	case KindHist:
		g.histBucket(t.Signed)
	case KindLhist:
		g.lhistBucket(t)
	}
	if bm.Buckets {
		g.emit(asm.StoreMem(asm.R10, key+int16(bm.Spec.KeySize)-8, asm.R8, asm.DWord))
	}
	g.lookup(bm, key)
	initL, end := g.newLabel("init"), g.newLabel("end")
	g.emit(asm.JEq.Imm(asm.R0, 0, initL))
	// Adds are BPF_XADD (any kernel with BPF): one instruction in place of
	// a load, add and store. The value is this CPU's, so the lock is
	// never contended.
	switch t.Kind {
	case KindCount, KindHist, KindLhist:
		g.emit(asm.Mov.Imm(asm.R1, 1))
		g.emit(asm.AtomicAdd.Mem(asm.R0, 0, asm.R1, asm.DWord))
	case KindSum:
		g.emit(asm.AtomicAdd.Mem(asm.R0, 0, asm.R7, asm.DWord))
	case KindAvg, KindStats:
		g.emit(asm.Mov.Imm(asm.R1, 1))
		g.emit(asm.AtomicAdd.Mem(asm.R0, 0, asm.R1, asm.DWord))
		g.emit(asm.AtomicAdd.Mem(asm.R0, 8, asm.R7, asm.DWord))
	case KindMin, KindMax:
		// Keep the current value unless this CPU has none yet or the new
		// one is beyond it.
		set := g.newLabel("set")
		g.emit(asm.LoadMem(asm.R1, asm.R0, 8, asm.DWord))
		g.emit(asm.JEq.Imm(asm.R1, 0, set))
		g.emit(asm.LoadMem(asm.R1, asm.R0, 0, asm.DWord))
		keep := map[bool][2]asm.JumpOp{false: {asm.JGE, asm.JLE}, true: {asm.JSGE, asm.JSLE}}[t.Signed]
		op := keep[0]
		if t.Kind == KindMax {
			op = keep[1]
		}
		g.emit(op.Reg(asm.R7, asm.R1, end))
		g.label(set)
		g.emit(asm.StoreMem(asm.R0, 0, asm.R7, asm.DWord))
		g.emit(asm.StoreImm(asm.R0, 8, 1, asm.DWord))
	}
	g.emit(asm.Ja.Label(end))
	g.label(initL)
	val := g.alloc(int(bm.Spec.ValueSize), call.Pos)
	switch t.Kind {
	case KindCount, KindHist, KindLhist:
		g.emit(asm.StoreImm(asm.R10, val, 1, asm.DWord))
	case KindSum:
		g.emit(asm.StoreMem(asm.R10, val, asm.R7, asm.DWord))
	case KindAvg, KindStats:
		g.emit(asm.StoreImm(asm.R10, val, 1, asm.DWord))
		g.emit(asm.StoreMem(asm.R10, val+8, asm.R7, asm.DWord))
	case KindMin, KindMax:
		g.emit(asm.StoreMem(asm.R10, val, asm.R7, asm.DWord))
		g.emit(asm.StoreImm(asm.R10, val+8, 1, asm.DWord))
	}
	g.update(bm, key, val, bpfAny)
	g.label(end)
}

// histBucket sets R8 to the power-of-two bucket of R7: 0 for negative
// values, 1 for zero, 2+floor(log2(v)) otherwise; R7 is consumed. The
// logarithm is a binary search over the bit width: each step of 16 bits
// or less is one unsigned compare against 1<<s (an immediate), a shift and
// an add; only the 32-bit step needs the value shifted into a scratch
// register, as 1<<32 does not fit a 32-bit immediate.
func (g *gen) histBucket(signed bool) {
	done := g.newLabel("bucket")
	if signed {
		g.emit(asm.Mov.Imm(asm.R8, 0))
		g.emit(asm.JSLT.Imm(asm.R7, 0, done))
	}
	g.emit(asm.Mov.Imm(asm.R8, 1))
	g.emit(asm.JEq.Imm(asm.R7, 0, done))
	g.emit(asm.Mov.Imm(asm.R8, 2))
	high := g.newLabel("log")
	g.emit(asm.Mov.Reg(asm.R1, asm.R7))
	g.emit(asm.RSh.Imm(asm.R1, 32))
	g.emit(asm.JEq.Imm(asm.R1, 0, high))
	g.emit(asm.Mov.Reg(asm.R7, asm.R1))
	g.emit(asm.Add.Imm(asm.R8, 32))
	g.label(high)
	for _, sh := range []int32{16, 8, 4, 2, 1} {
		next := g.newLabel("log")
		g.emit(asm.JLT.Imm(asm.R7, 1<<sh, next))
		g.emit(asm.RSh.Imm(asm.R7, sh))
		g.emit(asm.Add.Imm(asm.R8, sh))
		g.label(next)
	}
	g.label(done)
}

// lhistBucket sets R8 to the linear bucket of R7: 0 below min, 1+(v-min)/
// step inside, and (max-min)/step+1 at or above max.
func (g *gen) lhistBucket(t *Type) {
	under, over, done := g.newLabel("under"), g.newLabel("over"), g.newLabel("bucket")
	lt, ge := asm.JLT, asm.JGE
	if t.Signed {
		lt, ge = asm.JSLT, asm.JSGE
	}
	g.jumpConst(lt, asm.R7, t.Min, under)
	g.jumpConst(ge, asm.R7, t.Max, over)
	g.emit(asm.Mov.Reg(asm.R8, asm.R7))
	if t.Min != 0 {
		g.constant(asm.R1, uint64(t.Min))
		g.emit(asm.Sub.Reg(asm.R8, asm.R1))
	}
	if t.Step != 1 {
		g.constant(asm.R1, uint64(t.Step))
		g.emit(asm.Div.Reg(asm.R8, asm.R1))
	}
	g.emit(asm.Add.Imm(asm.R8, 1))
	g.emit(asm.Ja.Label(done))
	g.label(under)
	g.emit(asm.Mov.Imm(asm.R8, 0))
	g.emit(asm.Ja.Label(done))
	g.label(over)
	g.constant(asm.R8, uint64((t.Max-t.Min)/t.Step+1))
	g.label(done)
}

// jumpConst is "if r op v goto l" for any 64-bit constant.
func (g *gen) jumpConst(op asm.JumpOp, r asm.Register, v int64, l string) {
	if v == int64(int32(v)) {
		g.emit(op.Imm(r, int32(v), l))
		return
	}
	g.emit(asm.LoadImm64(asm.R1, v))
	g.emit(op.Reg(r, asm.R1, l))
}
