package script

import (
	"github.com/tracelet/tracelet/asm"
)

// bpfFUserStack is BPF_F_USER_STACK, the bpf_get_stackid flag for the user
// stack.
const bpfFUserStack = 1 << 8

// builtin loads an integer-like builtin into r.
func (g *gen) builtin(b *Builtin, r asm.Register) {
	arch := g.arch
	switch b.Name {
	case "pid":
		g.call(asm.FnGetCurrentPidTgid)
		g.emit(asm.Mov.Reg(r, asm.R0))
		g.emit(asm.RSh.Imm(r, 32))
	case "tid":
		g.call(asm.FnGetCurrentPidTgid)
		g.emit(asm.Mov.Reg32(r, asm.R0))
	case "uid", "username":
		g.call(asm.FnGetCurrentUidGid)
		g.emit(asm.Mov.Reg32(r, asm.R0))
	case "gid":
		g.call(asm.FnGetCurrentUidGid)
		g.emit(asm.Mov.Reg(r, asm.R0))
		g.emit(asm.RSh.Imm(r, 32))
	case "cpu":
		g.call(asm.FnGetSmpProcessorId)
		g.emit(asm.Mov.Reg(r, asm.R0))
	case "cpid":
		g.constant(r, uint64(g.c.info.CPID))
	case "nsecs":
		g.call(asm.FnKtimeGetNs)
		g.emit(asm.Mov.Reg(r, asm.R0))
	case "elapsed":
		g.call(asm.FnKtimeGetNs)
		g.emit(asm.Mov.Reg(r, asm.R0))
		g.constant(asm.R1, g.c.opts.StartNs)
		g.emit(asm.Sub.Reg(r, asm.R1))
	case "arg0", "arg1", "arg2", "arg3", "arg4", "arg5", "arg6", "arg7", "arg8", "arg9", "arg10", "arg11":
		if g.ap.Type == USDT {
			g.usdtArg(b, r)
			return
		}
		if g.ap.Type == RawTracepoint {
			// struct bpf_raw_tracepoint_args: the arguments as u64s
			g.emit(asm.LoadMem(r, asm.R6, int16(8*(b.Name[3]-'0')), asm.DWord))
			return
		}
		abi := asm.KernelABI
		if g.ap.Type == Uprobe {
			abi = asm.FuncABI
		}
		loc, err := arch.Arg(abi, int(b.Name[3]-'0'))
		if err != nil {
			g.errorf(b.Pos, "%s on %s: %v", b.Name, arch.GOARCH, err)
			return
		}
		g.load(b, loc, r)
	case "retval":
		if g.ap.Type == Fexit {
			// the u64 after the arguments in the context
			g.emit(asm.LoadMem(r, asm.R6, int16(8*g.ap.NArgs), asm.DWord))
			g.narrow(r, TypeOf(b))
			return
		}
		g.load(b, arch.Ret(), r)
		if arch.Word == 4 {
			// A 32-bit kernel's return register is a long: sign-extend
			// it, as the tracefs path reads it as s32, so that
			// retval == -2 holds for -ENOENT.
			g.emit(asm.LSh.Imm(r, 32))
			g.emit(asm.ArSh.Imm(r, 32))
		}
	case "kstack":
		g.stackID(r, 0, 0)
	case "func":
		if g.ap.Type.IsReturn() || g.ap.Type == Kprobe && g.haveHelper(asm.FnGetFuncIp) {
			if !g.haveHelper(asm.FnGetFuncIp) {
				g.errorf(b.Pos, "func in a return probe needs bpf_get_func_ip (Linux 5.15)")
				return
			}
			// The instruction pointer of a kprobe is past the
			// breakpoint; bpf_get_func_ip knows the function's address.
			g.emit(asm.Mov.Reg(asm.R1, asm.R6))
			g.call(asm.FnGetFuncIp)
			g.emit(asm.Mov.Reg(r, asm.R0))
			if g.ap.Type == Kprobe {
				// It gives 0 for a kprobe the kernel does not count as
				// at the function's entry (KPROBE_FLAG_ON_FUNC_ENTRY):
				// on riscv64, whose ftrace owns the entry, tracelet
				// places it past ftrace's patch site. The trap's
				// address is then inside the function, which names it
				// as well.
				if ins, err := arch.IP().Load(r, asm.R6); err == nil {
					done := g.newLabel("func_ip")
					g.emit(asm.JNE.Imm(r, 0, done))
					g.emit(ins)
					g.label(done)
				}
			}
			return
		}
		g.load(b, arch.IP(), r)
	case "probe":
		g.constant(r, uint64(g.index))
	case "curtask":
		g.call(asm.FnGetCurrentTask)
		g.emit(asm.Mov.Reg(r, asm.R0))
	case "numaid":
		g.call(asm.FnGetNumaNodeId)
		g.emit(asm.Mov.Reg(r, asm.R0))
	case "cgroup":
		g.call(asm.FnGetCurrentCgroupId)
		g.emit(asm.Mov.Reg(r, asm.R0))
	default:
		g.errorf(b.Pos, "%s has no integer value", b.Name)
	}
}

func (g *gen) haveHelper(fn asm.BuiltinFunc) bool {
	return g.c.opts.HaveHelper == nil || g.c.opts.HaveHelper(g.ptype, fn)
}

// load reads a pt_regs register of the context. BEGIN, END, interval and
// profile have no function registers: the checker refused arguments there.
func (g *gen) load(b *Builtin, loc asm.Loc, r asm.Register) {
	if !loc.InRegister() && (g.ap.Type == Uprobe || g.ap.Type == Kprobe) {
		g.stackArg(loc, r, b.Pos)
		return
	}
	ins, err := loc.Load(r, asm.R6)
	if err != nil {
		g.errorf(b.Pos, "%s: %v", b.Name, err)
		return
	}
	g.emit(ins)
}

// stackArg reads a function argument that the calling convention passes
// on the stack (a uprobe's every one on i386, the fifth and later on arm
// and mips; a kprobe's fourth and later on i386, whose kernel is built
// with regparm(3)): one word at sp + Stack words,
// with bpf_probe_read_user or _kernel, zero-extended. A kernel-mode trap
// saves sp in pt_regs on i386 too since 5.2 (kernel_stack_pointer is
// regs->sp), which is what tracefs' $stackN reads.
func (g *gen) stackArg(loc asm.Loc, r asm.Register, at Pos) {
	arch := g.arch
	off := g.alloc(8, at)
	sp, err := arch.SP().Load(asm.R3, asm.R6)
	if err != nil {
		g.errorf(at, "%v", err)
		return
	}
	g.zero(off, 8)
	g.emit(sp)
	g.emit(asm.Add.Imm(asm.R3, int32(loc.Stack*arch.Word)))
	g.stackPtr(asm.R1, off)
	g.emit(asm.Mov.Imm(asm.R2, int32(loc.Size)))
	read := asm.FnProbeReadUser
	if g.ap.Type == Kprobe {
		read = asm.FnProbeReadKernel
	}
	g.call(g.helper(read))
	g.emit(asm.LoadMem(r, asm.R10, off, asm.DWord))
}

// stackID sets r to bpf_get_stackid(ctx, stacks, flags).
func (g *gen) stackID(r asm.Register, flags int32, depth int) {
	if depth == 0 {
		depth = MaxStackDepth
	}
	if g.c.stackDepths == nil {
		g.c.stackDepths = map[int]bool{}
	}
	g.c.stackDepths[depth] = true
	g.emit(asm.Mov.Reg(asm.R1, asm.R6))
	g.emit(asm.LoadMapPtr(asm.R2, StackMapName(depth)))
	g.emit(asm.Mov.Imm(asm.R3, flags))
	g.call(asm.FnGetStackid)
	g.emit(asm.Mov.Reg(r, asm.R0))
}

// field loads an integer field of a tracepoint record. A tracepoint
// program may read its context directly, at aligned offsets
// (tp_prog_is_valid_access); narrower signed fields are sign-extended with
// shifts, since the sign-extending load is only in 6.6.
func (g *gen) field(e *FieldExpr, r asm.Register) {
	if e.arg > 0 {
		// A raw tracepoint's argument, a u64 of its context; narrower
		// types are the low bytes.
		g.emit(asm.LoadMem(r, asm.R6, int16(8*(e.arg-1)), asm.DWord))
		g.narrow(r, TypeOf(e))
		return
	}
	fd := e.fieldAt(g.ap)
	if fd == nil || fd.Layout != LayoutInt {
		g.errorf(e.Pos, "field %s is not an integer", e.Field)
		return
	}
	size := map[int]asm.Size{1: asm.Byte, 2: asm.Half, 4: asm.Word, 8: asm.DWord}[fd.Size]
	g.emit(asm.LoadMem(r, asm.R6, int16(fd.Offset), size))
	if fd.Signed && fd.Size < 8 {
		sh := int32(64 - 8*fd.Size)
		g.emit(asm.LSh.Imm(r, sh))
		g.emit(asm.ArSh.Imm(r, sh))
	}
}

// buf writes the value of e into size bytes of stack at off, zero-padded:
// strings, and anything else that is stored, keyed or sent. Only what a
// write does not cover is zeroed.
func (g *gen) buf(e Expr, off int16, size int) {
	t := TypeOf(e)
	switch t.Kind {
	case KindString:
		g.strBuf(e, off, size)
		return
	case KindBuffer:
		g.bufferBuf(e.(*Call), t, off, size)
		return
	case KindUstack:
		fresh := false
		switch x := e.(type) {
		case *Builtin:
			fresh = true
		case *Call:
			fresh = x.Name == "ustack" // ustack(N)
		}
		if !fresh {
			// A ustack kept in a map or a variable: its bytes, the
			// stack id and pid taken where it was stored, not the
			// stack of the task running now.
			g.strBuf(e, off, size)
			return
		}
		g.stackID(asm.R7, bpfFUserStack, t.Depth)
		g.emit(asm.StoreMem(asm.R10, off, asm.R7, asm.DWord))
		g.pidTo(off + 8)
		return
	case KindInet:
		if c, ok := e.(*Call); ok {
			g.ntop(c, off, size)
			return
		}
	case KindUsym:
		// usym needs the pid to find the address space.
		var arg Expr = e
		if c, ok := e.(*Call); ok {
			arg = c.Args[0]
		}
		if b, ok := e.(*Builtin); ok && b.Name == "func" {
			g.builtin(b, asm.R7)
		} else {
			g.value(arg, asm.R7)
		}
		g.emit(asm.StoreMem(asm.R10, off, asm.R7, asm.DWord))
		g.pidTo(off + 8)
		return
	}
	if v, ok := e.(*Var); ok && slotSize(t) > 8 {
		g.copyStack(off, g.locals[v.Name], slotSize(t))
		return
	}
	if m, ok := e.(*MapExpr); ok && slotSize(t) > 8 {
		g.mapReadBuf(m, off, size)
		return
	}
	g.value(e, asm.R7)
	g.emit(asm.StoreMem(asm.R10, off, asm.R7, asm.DWord))
	if size > 8 {
		g.zero(off+8, size-8)
	}
}

// pidTo stores the current process id (tgid) at off.
func (g *gen) pidTo(off int16) {
	g.call(asm.FnGetCurrentPidTgid)
	g.emit(asm.RSh.Imm(asm.R0, 32))
	g.emit(asm.StoreMem(asm.R10, off, asm.R0, asm.DWord))
}

func (g *gen) copyStack(dst, src int16, size int) {
	if dst == src {
		return
	}
	for i := 0; i < size; i += 8 {
		g.emit(asm.LoadMem(asm.R1, asm.R10, src+int16(i), asm.DWord))
		g.emit(asm.StoreMem(asm.R10, dst+int16(i), asm.R1, asm.DWord))
	}
}

// strBuf writes a string into size bytes at off.
func (g *gen) strBuf(e Expr, off int16, size int) {
	t := TypeOf(e)
	switch e := e.(type) {
	case *StrLit:
		// Whole words of the literal, then zeros: every byte is written
		// once.
		b := make([]byte, (size+7)&^7)
		copy(b, e.Value)
		for i := 0; i < len(b); i += 4 {
			w := int32(uint32(b[i]) | uint32(b[i+1])<<8 | uint32(b[i+2])<<16 | uint32(b[i+3])<<24)
			g.emit(asm.StoreImm(asm.R10, off+int16(i), w, asm.Word))
		}
		return
	case *Builtin: // comm
		// Where bpf_get_current_comm pads the rest of its 16 bytes with
		// NULs, only what lies beyond them is cleared; elsewhere (6.1
		// copies up to the NUL only) the whole buffer is, or a comm used as
		// a map key would leave stack garbage in the key.
		if g.c.opts.CommPadded != nil && g.c.opts.CommPadded() {
			g.zero(off+16, size-16)
		} else {
			g.zero(off, size)
		}
		g.stackPtr(asm.R1, off)
		g.emit(asm.Mov.Imm(asm.R2, 16))
		g.call(asm.FnGetCurrentComm)
		return
	case *Var:
		n := slotSize(t)
		g.copyStack(off, g.locals[e.Name], n)
		g.zero(off+int16(n), size-n)
		return
	case *MapExpr:
		g.mapReadBuf(e, off, size)
		return
	case *Ternary:
		if v, ok := foldConst(e.Cond); ok {
			if v != 0 {
				g.strBuf(e.Then, off, size)
			} else {
				g.strBuf(e.Else, off, size)
			}
			return
		}
		els, end := g.newLabel("else"), g.newLabel("end")
		g.cond(e.Cond, els, asm.R7)
		g.strBuf(e.Then, off, size)
		g.emit(asm.Ja.Label(end))
		g.label(els)
		g.strBuf(e.Else, off, size)
		g.label(end)
		return
	case *Index:
		g.memberString(e, off, size)
		return
	case *FieldExpr:
		if e.mem != nil {
			g.memberString(e, off, size)
			return
		}
		fd := e.fieldAt(g.ap)
		switch fd.Layout {
		case LayoutCharArray:
			n := min(fd.Size, t.Size)
			g.zeroTail(off, n, size)
			g.stackPtr(asm.R1, off)
			g.emit(asm.Mov.Imm(asm.R2, int32(n)))
			g.emit(asm.Mov.Reg(asm.R3, asm.R6))
			g.emit(asm.Add.Imm(asm.R3, int32(fd.Offset)))
			g.call(g.helper(asm.FnProbeReadKernel))
			return
		case LayoutDynString:
			// __data_loc: the low 16 bits are the string's offset in the
			// record, the high 16 its length.
			g.zero(off, size)
			g.emit(asm.LoadMem(asm.R3, asm.R6, int16(fd.Offset), asm.Word))
			g.emit(asm.And.Imm(asm.R3, 0xffff))
			g.emit(asm.Add.Reg(asm.R3, asm.R6))
			g.stackPtr(asm.R1, off)
			g.emit(asm.Mov.Imm(asm.R2, int32(min(t.Size, size))))
			g.call(g.helper(asm.FnProbeReadKernelStr))
			return
		}
	case *Call:
		if e.Name == "str" {
			if TypeOf(e.Args[0]).Kind == KindString {
				g.strBuf(e.Args[0], off, size)
				return
			}
			// bpf_probe_read_*_str stops at the NUL without padding: clear
			// the buffer so keys and records are deterministic.
			g.zero(off, size)
			g.value(e.Args[0], asm.R7)
			g.stackPtr(asm.R1, off)
			g.emit(asm.Mov.Imm(asm.R2, int32(min(t.Size, size))))
			if e.dynLen {
				// At most n bytes and the NUL: n clamped (unsigned, so
				// a negative n is too big) to what the string holds,
				// which also bounds the size for the verifier.
				room := int32(min(t.Size, size) - 1)
				g.value(e.Args[1], asm.R8)
				ok := g.newLabel("strlen")
				g.emit(asm.JLE.Imm(asm.R8, room, ok))
				g.emit(asm.Mov.Imm(asm.R8, room))
				g.label(ok)
				g.emit(asm.Add.Imm(asm.R8, 1))
				g.stackPtr(asm.R1, off)
				g.emit(asm.Mov.Reg(asm.R2, asm.R8))
			}
			g.emit(asm.Mov.Reg(asm.R3, asm.R7))
			g.call(g.strHelper(TypeOf(e.Args[0])))
			return
		}
	}
	g.errorf(e.Position(), "cannot compute string %s", describe(e))
}

// bufferBuf writes buf(p, n): n, clamped to the room, in the first 8
// bytes, then that many bytes read at p, the rest zero.
func (g *gen) bufferBuf(e *Call, t *Type, off int16, size int) {
	g.zero(off, size)
	room := int32(min(t.Size, size) - 8)
	g.value(e.Args[0], asm.R7)
	g.value(e.Args[1], asm.R8)
	ok := g.newLabel("buflen")
	g.emit(asm.JLE.Imm(asm.R8, room, ok))
	g.emit(asm.Mov.Imm(asm.R8, room))
	g.label(ok)
	g.emit(asm.StoreMem(asm.R10, off, asm.R8, asm.DWord))
	g.stackPtr(asm.R1, off+8)
	g.emit(asm.Mov.Reg(asm.R2, asm.R8))
	g.emit(asm.Mov.Reg(asm.R3, asm.R7))
	helper := g.helper(asm.FnProbeReadKernel)
	if t.User {
		helper = g.helper(asm.FnProbeReadUser)
	}
	g.call(helper)
}

// strHelper picks the helper that reads a string at an address of type t.
// A kprobe's arguments may point to kernel or to user memory (a syscall's
// path is a user pointer), and nothing in the script says which. As
// bpftrace does, such a string is read with bpf_probe_read_str, which on
// architectures with separate address spaces reads either: the kernel
// offers it to programs only there (CONFIG_ARCH_HAS_NON_OVERLAPPING_
// ADDRESS_SPACE), so a feature probe decides. Elsewhere kernel memory is
// assumed, which is also what a kprobe's tracefs "string" fetcharg reads.
func (g *gen) strHelper(t *Type) asm.BuiltinFunc {
	switch {
	case t.User:
		return g.helper(asm.FnProbeReadUserStr)
	case g.ap.Type == Kprobe || g.ap.Type == Kretprobe:
		if have := g.c.opts.HaveHelper; have == nil || have(g.ptype, asm.FnProbeReadStr) {
			return asm.FnProbeReadStr
		}
	}
	return g.helper(asm.FnProbeReadKernelStr)
}

// zeroTail clears the bytes of [off+n, off+size) in whole words that a
// write of n bytes at off does not cover.
func (g *gen) zeroTail(off int16, n, size int) {
	start := n &^ 7
	if start < size {
		g.zero(off+int16(start), size-start)
	}
}

// narrow keeps the low t.Size bytes of r, sign- or zero-extended.
func (g *gen) narrow(r asm.Register, t *Type) {
	if t == nil || t.Size >= 8 {
		return
	}
	sh := int32(64 - 8*t.Size)
	g.emit(asm.LSh.Imm(r, sh))
	if t.Signed {
		g.emit(asm.ArSh.Imm(r, sh))
	} else {
		g.emit(asm.RSh.Imm(r, sh))
	}
}

// tracepointIndex loads args->FIELD[I] of a tracepoint (Check's
// tracepointIndex): an array element from the record, or a pointer read
// from the memory a pointer-to-pointer field points to, one kernel word
// per element.
func (g *gen) tracepointIndex(e *Index, r asm.Register) {
	if !e.deref {
		g.field(e.tp, r)
		return
	}
	word := g.arch.Word
	off := g.alloc(8, e.Pos)
	g.value(e.I, r)
	g.emit(asm.Mul.Imm(r, int32(word)))
	g.emit(asm.StoreMem(asm.R10, off, r, asm.DWord))
	g.field(e.tp, r)
	tmp := asm.R1
	if r == asm.R1 {
		tmp = asm.R2
	}
	g.emit(asm.LoadMem(tmp, asm.R10, off, asm.DWord))
	g.emit(asm.Add.Reg(r, tmp))
	t := *TypeOf(e)
	t.Size = word
	g.deref(r, &t, e.Pos)
}
