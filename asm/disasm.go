package asm

import (
	"fmt"
	"io"
	"strings"
)

// FormatOptions let a caller symbolize what only the running kernel can
// name, as bpftool does with /proc/kallsyms and map ids.
type FormatOptions struct {
	// CallName names the target of a call the helper table does not cover:
	// in a translated (xlated) program the kernel has replaced each
	// helper id with the helper's address relative to __bpf_call_base.
	// Returning "" falls back to the kernel's default text.
	CallName func(ins Instruction) string
	// Imm64 replaces the text of an ld_imm64 operand.
	Imm64 func(ins Instruction) string
	// Legacy prints what disasm.c of Linux 6.1 prints (bpftool 7.1, as in
	// Debian bookworm): it predates the signed, sign-extending and bswap
	// forms (6.6), gotol, and the verifier's internal per-CPU address
	// move (6.8), and shows them as the plain instruction or a BUG line.
	Legacy bool
}

// String lists the program one instruction per line, in the text of
// `bpftool prog dump xlated`: "   0: (b7) r0 = 0".
func (insns Instructions) String() string {
	var b strings.Builder
	insns.Format(&b, nil)
	return b.String()
}

// Format writes the listing of insns to w, numbering slots as the kernel
// does (an ld_imm64 takes two numbers).
func (insns Instructions) Format(w io.Writer, opts *FormatOptions) error {
	var b strings.Builder
	slot := 0
	for i := range insns {
		fmt.Fprintf(&b, "% 4d: ", slot)
		formatInsn(&b, insns, i, opts)
		b.WriteByte('\n')
		slot += insns[i].Slots()
	}
	_, err := io.WriteString(w, b.String())
	return err
}

var aluText = [16]string{"+=", "-=", "*=", "/=", "|=", "&=", "<<=", ">>=", "neg", "%=", "^=", "=", "s>>=", "endian", "", ""}
var jumpText = [16]string{"jmp", "==", ">", ">=", "&", "!=", "s>", "s>=", "call", "exit", "<", "<=", "s<", "s<=", "", ""}
var atomicText = map[int64]string{int64(AtomicAdd): "add", int64(AtomicAnd): "and", int64(AtomicOr): "or", int64(AtomicXor): "xor"}

func ldstText(s Size) string { return [4]string{"u32", "u16", "u8", "u64"}[s>>3] }
func ldsxText(s Size) string { return [4]string{"s32", "s16", "s8", ""}[s>>3] }

func regPrefix(c Class) byte {
	if c == ALUClass || c == Jump32Class {
		return 'w'
	}
	return 'r'
}

// formatInsn follows print_bpf_insn of the kernel's kernel/bpf/disasm.c,
// which both the verifier log and bpftool use, so the text is identical.
func formatInsn(b *strings.Builder, insns []Instruction, i int, opts *FormatOptions) {
	ins := insns[i]
	if opts != nil && opts.Legacy {
		if formatLegacy(b, ins) {
			return
		}
	}
	code := uint8(ins.OpCode)
	c := ins.OpCode.Class()
	imm32 := int32(ins.Constant)
	switch {
	case c.IsALU():
		p := regPrefix(c)
		op := ins.OpCode.ALUOp()
		switch {
		case op == Swap && c == ALU64Class:
			fmt.Fprintf(b, "(%02x) r%d = bswap%d r%d", code, ins.Dst, imm32, ins.Dst)
		case op == Swap:
			fmt.Fprintf(b, "(%02x) r%d = %s%d r%d", code, ins.Dst, Endianness(ins.OpCode.Source()), imm32, ins.Dst)
		case op == Neg:
			fmt.Fprintf(b, "(%02x) %c%d = -%c%d", code, p, ins.Dst, p, ins.Dst)
		case ins.OpCode == OpCode(ALU64Class)|OpCode(Mov)|OpCode(RegSource) && ins.Offset == 1:
			// BPF_ADDR_SPACE_CAST (6.9)
			fmt.Fprintf(b, "(%02x) r%d = addr_space_cast(r%d, %d, %d)", code, ins.Dst, ins.Src, uint32(imm32)>>16, uint16(imm32))
		case ins.OpCode == OpCode(ALU64Class)|OpCode(Mov)|OpCode(RegSource) && ins.Offset == -1:
			// the verifier's internal per-CPU address move
			fmt.Fprintf(b, "(%02x) r%d = &(void __percpu *)(r%d)", code, ins.Dst, ins.Src)
		default:
			text := aluText[op>>4]
			if (op == Div || op == Mod) && ins.Offset == 1 {
				text = "s" + text
			}
			if ins.OpCode.Source() == RegSource {
				sx := ""
				if op == Mov {
					switch ins.Offset {
					case 8:
						sx = "(s8)"
					case 16:
						sx = "(s16)"
					case 32:
						sx = "(s32)"
					}
				}
				fmt.Fprintf(b, "(%02x) %c%d %s %s%c%d", code, p, ins.Dst, text, sx, p, ins.Src)
			} else {
				fmt.Fprintf(b, "(%02x) %c%d %s %d", code, p, ins.Dst, text, imm32)
			}
		}
	case c == StXClass:
		sz := ins.OpCode.Size()
		bits := ""
		if sz == DWord {
			bits = "64"
		}
		switch mode := ins.OpCode.Mode(); {
		case mode == MemMode:
			fmt.Fprintf(b, "(%02x) *(%s *)(r%d %+d) = r%d", code, ldstText(sz), ins.Dst, ins.Offset, ins.Src)
		case mode != AtomicMode:
			fmt.Fprintf(b, "BUG_%02x", code)
		case atomicText[ins.Constant] != "":
			fmt.Fprintf(b, "(%02x) lock *(%s *)(r%d %+d) %s r%d", code, ldstText(sz), ins.Dst, ins.Offset, aluText[ins.Constant>>4], ins.Src)
		case ins.Constant&1 == 1 && atomicText[ins.Constant&^1] != "":
			fmt.Fprintf(b, "(%02x) r%d = atomic%s_fetch_%s((%s *)(r%d %+d), r%d)", code, ins.Src, bits, atomicText[ins.Constant&^1], ldstText(sz), ins.Dst, ins.Offset, ins.Src)
		case ins.Constant == int64(AtomicCmpXchg):
			fmt.Fprintf(b, "(%02x) r0 = atomic%s_cmpxchg((%s *)(r%d %+d), r0, r%d)", code, bits, ldstText(sz), ins.Dst, ins.Offset, ins.Src)
		case ins.Constant == int64(AtomicXchg):
			fmt.Fprintf(b, "(%02x) r%d = atomic%s_xchg((%s *)(r%d %+d), r%d)", code, ins.Src, bits, ldstText(sz), ins.Dst, ins.Offset, ins.Src)
		case ins.Constant == 0x100: // BPF_LOAD_ACQ (6.15)
			fmt.Fprintf(b, "(%02x) r%d = load_acquire((%s *)(r%d %+d))", code, ins.Dst, ldstText(sz), ins.Src, ins.Offset)
		case ins.Constant == 0x110: // BPF_STORE_REL (6.15)
			fmt.Fprintf(b, "(%02x) store_release((%s *)(r%d %+d), r%d)", code, ldstText(sz), ins.Dst, ins.Offset, ins.Src)
		default:
			fmt.Fprintf(b, "BUG_%02x", code)
		}
	case c == StClass:
		switch ins.OpCode.Mode() {
		case MemMode:
			fmt.Fprintf(b, "(%02x) *(%s *)(r%d %+d) = %d", code, ldstText(ins.OpCode.Size()), ins.Dst, ins.Offset, imm32)
		case 0xc0: // BPF_NOSPEC, inserted by the verifier
			fmt.Fprintf(b, "(%02x) nospec", code)
		default:
			fmt.Fprintf(b, "BUG_st_%02x", code)
		}
	case c == LdXClass:
		sz := ins.OpCode.Size()
		switch ins.OpCode.Mode() {
		case MemMode:
			fmt.Fprintf(b, "(%02x) r%d = *(%s *)(r%d %+d)", code, ins.Dst, ldstText(sz), ins.Src, ins.Offset)
		case MemSXMode:
			fmt.Fprintf(b, "(%02x) r%d = *(%s *)(r%d %+d)", code, ins.Dst, ldsxText(sz), ins.Src, ins.Offset)
		default:
			fmt.Fprintf(b, "BUG_ldx_%02x", code)
		}
	case c == LdClass:
		sz := ins.OpCode.Size()
		switch {
		case ins.OpCode.Mode() == AbsMode:
			fmt.Fprintf(b, "(%02x) r0 = *(%s *)skb[%d]", code, ldstText(sz), imm32)
		case ins.OpCode.Mode() == IndMode:
			fmt.Fprintf(b, "(%02x) r0 = *(%s *)skb[r%d + %d]", code, ldstText(sz), ins.Src, imm32)
		case ins.OpCode.IsLoadImm64():
			fmt.Fprintf(b, "(%02x) r%d = %s", code, ins.Dst, imm64Text(ins, opts))
		default:
			fmt.Fprintf(b, "BUG_ld_%02x", code)
		}
	default: // JMP, JMP32
		p := regPrefix(c)
		op := ins.OpCode.JumpOp()
		switch {
		case op == Call && ins.Src == PseudoCall:
			fmt.Fprintf(b, "(%02x) call pc%s", code, callName(ins, opts))
		case op == Call:
			fmt.Fprintf(b, "(%02x) call %s#%d", code, callName(ins, opts), imm32)
		case ins.OpCode == OpCode(JumpClass)|OpCode(Ja):
			fmt.Fprintf(b, "(%02x) goto pc%+d", code, ins.Offset)
		case ins.OpCode == OpCode(JumpClass)|OpCode(Ja)|OpCode(RegSource):
			fmt.Fprintf(b, "(%02x) gotox r%d", code, ins.Dst)
		case ins.OpCode == OpCode(JumpClass)|0xe0 && ins.Src == 0: // BPF_JCOND, BPF_MAY_GOTO
			fmt.Fprintf(b, "(%02x) may_goto pc%+d", code, ins.Offset)
		case ins.OpCode == OpCode(Jump32Class)|OpCode(Ja):
			fmt.Fprintf(b, "(%02x) gotol pc%+d", code, imm32)
		case ins.OpCode == OpCode(JumpClass)|OpCode(Exit):
			fmt.Fprintf(b, "(%02x) exit", code)
		case ins.OpCode.Source() == RegSource:
			fmt.Fprintf(b, "(%02x) if %c%d %s %c%d goto pc%+d", code, p, ins.Dst, jumpText[op>>4], p, ins.Src, ins.Offset)
		default:
			fmt.Fprintf(b, "(%02x) if %c%d %s 0x%x goto pc%+d", code, p, ins.Dst, jumpText[op>>4], uint32(imm32), ins.Offset)
		}
	}
}

func callName(ins Instruction, opts *FormatOptions) string {
	if ins.Src == 0 && BuiltinFunc(ins.Constant).Known() && ins.Constant == int64(int32(ins.Constant)) {
		return BuiltinFunc(ins.Constant).String()
	}
	if opts != nil && opts.CallName != nil {
		if s := opts.CallName(ins); s != "" {
			return s
		}
	}
	switch ins.Src {
	case PseudoCall:
		return fmt.Sprintf("%+d", int32(ins.Constant))
	case PseudoKfuncCall:
		return "kernel-function"
	}
	return "unknown"
}

// imm64Text follows bpftool's print_imm: maps by id (the kernel puts map ids
// in the immediates of a dumped program), otherwise the raw value.
func imm64Text(ins Instruction, opts *FormatOptions) string {
	if opts != nil && opts.Imm64 != nil {
		if s := opts.Imm64(ins); s != "" {
			return s
		}
	}
	lo, hi := uint32(ins.Constant), uint32(uint64(ins.Constant)>>32)
	switch {
	case ins.Reference != "" && ins.Src == PseudoMapFD:
		return fmt.Sprintf("map[name:%s]", ins.Reference)
	case ins.Reference != "" && ins.Src == PseudoMapValue:
		return fmt.Sprintf("map[name:%s][0]+%d", ins.Reference, hi)
	case ins.Src == PseudoMapFD:
		return fmt.Sprintf("map[id:%d]", lo)
	case ins.Src == PseudoMapValue:
		return fmt.Sprintf("map[id:%d][0]+%d", lo, hi)
	case ins.Src == PseudoFunc:
		return fmt.Sprintf("subprog[%+d]", int32(lo))
	}
	return fmt.Sprintf("0x%x", uint64(ins.Constant))
}

// formatLegacy handles the encodings whose text changed after Linux 6.1 and
// reports whether it wrote one.
func formatLegacy(b *strings.Builder, ins Instruction) bool {
	code := uint8(ins.OpCode)
	c := ins.OpCode.Class()
	switch {
	case c.IsALU() && ins.OpCode.ALUOp() == Swap && c == ALU64Class:
		fmt.Fprintf(b, "BUG_alu64_%02x", code)
	case c.IsALU() && ins.OpCode.ALUOp() != Swap && ins.OpCode.ALUOp() != Neg:
		p := regPrefix(c)
		text := aluText[ins.OpCode.ALUOp()>>4]
		if ins.OpCode.Source() == RegSource {
			fmt.Fprintf(b, "(%02x) %c%d %s %c%d", code, p, ins.Dst, text, p, ins.Src)
		} else {
			fmt.Fprintf(b, "(%02x) %c%d %s %d", code, p, ins.Dst, text, int32(ins.Constant))
		}
	case c == LdXClass && ins.OpCode.Mode() != MemMode:
		fmt.Fprintf(b, "BUG_ldx_%02x", code)
	case c == StXClass && ins.OpCode.Mode() == AtomicMode && (ins.Constant == 0x100 || ins.Constant == 0x110):
		fmt.Fprintf(b, "BUG_%02x", code)
	case c.IsJump() && ins.OpCode.JumpOp() == Ja && ins.OpCode != OpCode(JumpClass)|OpCode(Ja):
		p := regPrefix(c)
		if ins.OpCode.Source() == RegSource {
			fmt.Fprintf(b, "(%02x) if %c%d jmp %c%d goto pc%+d", code, p, ins.Dst, p, ins.Src, ins.Offset)
		} else {
			fmt.Fprintf(b, "(%02x) if %c%d jmp 0x%x goto pc%+d", code, p, ins.Dst, uint32(ins.Constant), ins.Offset)
		}
	default:
		return false
	}
	return true
}
