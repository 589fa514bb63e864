package script

// foldConst evaluates an integer expression made of literals, as the
// compiler would at run time: 64-bit two's complement, signed division and
// right shift when an operand is signed (the types Check set). It reports
// false for anything not constant, and for division by zero, which the
// checker reports.
func foldConst(e Expr) (uint64, bool) {
	switch e := e.(type) {
	case *IntLit:
		return e.Value, true
	case *Sizeof:
		return e.v, e.typ() != nil
	case *Offsetof:
		return e.v, e.typ() != nil
	case *Var:
		if e.param != nil && e.typ() != nil && e.typ().IsInt() {
			if e.param.Value == "" {
				return 0, true // a parameter not given
			}
			v, err := ParseInt(e.param.Value)
			return v, err == nil
		}
	case *Cast:
		x, ok := foldConst(e.X)
		if !ok {
			return 0, false
		}
		if e.Stars > 0 {
			return x, true
		}
		return castValue(x, e.Type), true
	case *Unary:
		x, ok := foldConst(e.X)
		if !ok {
			return 0, false
		}
		switch e.Op {
		case SUB:
			return -x, true
		case TILDE:
			return ^x, true
		case NOT:
			return b2u(x == 0), true
		}
	case *Binary:
		x, ok1 := foldConst(e.X)
		y, ok2 := foldConst(e.Y)
		if !ok1 || !ok2 {
			return 0, false
		}
		signed := arithSigned(e.X.typ(), e.Y.typ())
		return foldBinary(e.Op, x, y, signed)
	case *Ternary:
		c, ok := foldConst(e.Cond)
		if !ok {
			return 0, false
		}
		if c != 0 {
			return foldConst(e.Then)
		}
		return foldConst(e.Else)
	}
	return 0, false
}

func b2u(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

// foldBinary applies op with BPF semantics. Shifts take their count modulo
// 64, as BPF_LSH/BPF_RSH on 64-bit registers do.
func foldBinary(op Token, x, y uint64, signed bool) (uint64, bool) {
	sx, sy := int64(x), int64(y)
	switch op {
	case ADD:
		return x + y, true
	case SUB:
		return x - y, true
	case MUL:
		return x * y, true
	case QUO:
		if y == 0 {
			return 0, false
		}
		if signed {
			if sy == -1 {
				return -x, true
			}
			return uint64(sx / sy), true
		}
		return x / y, true
	case REM:
		if y == 0 {
			return 0, false
		}
		if signed {
			if sy == -1 {
				return 0, true
			}
			return uint64(sx % sy), true
		}
		return x % y, true
	case AND:
		return x & y, true
	case OR:
		return x | y, true
	case XOR:
		return x ^ y, true
	case SHL:
		return x << (y & 63), true
	case SHR:
		if signed {
			return uint64(sx >> (y & 63)), true
		}
		return x >> (y & 63), true
	case EQL:
		return b2u(x == y), true
	case NEQ:
		return b2u(x != y), true
	case LSS:
		if signed {
			return b2u(sx < sy), true
		}
		return b2u(x < y), true
	case LEQ:
		if signed {
			return b2u(sx <= sy), true
		}
		return b2u(x <= y), true
	case GTR:
		if signed {
			return b2u(sx > sy), true
		}
		return b2u(x > y), true
	case GEQ:
		if signed {
			return b2u(sx >= sy), true
		}
		return b2u(x >= y), true
	case LAND:
		return b2u(x != 0 && y != 0), true
	case LOR:
		return b2u(x != 0 || y != 0), true
	}
	return 0, false
}

// castValue truncates x to the size of an integer type, then zero- or
// sign-extends it to 64 bits.
func castValue(x uint64, typ string) uint64 {
	size := castTypes[typ]
	if size == 8 {
		return x
	}
	sh := uint(64 - 8*size)
	if typ[0] == 'i' {
		return uint64(int64(x<<sh) >> sh)
	}
	return x << sh >> sh
}
