package usdt

import (
	"errors"
	"fmt"
	"strings"

	"github.com/tracelet/tracelet/kprobeevents"
)

// x86Regs maps every AT&T general-purpose register name, with its 32-, 16-
// and 8-bit parts, to the pt_regs field that holds it; a narrower part is
// the low bytes of the same field, which the fetch type's size truncates
// to. The high-byte registers (%ah) are missing on purpose: no fetch type
// reads bits 8..15 as a signed or unsigned integer.
var x86Regs = func() map[string]string {
	m := map[string]string{}
	for _, r := range []struct{ pt, q, d, w, b string }{
		{"ax", "rax", "eax", "ax", "al"},
		{"bx", "rbx", "ebx", "bx", "bl"},
		{"cx", "rcx", "ecx", "cx", "cl"},
		{"dx", "rdx", "edx", "dx", "dl"},
		{"si", "rsi", "esi", "si", "sil"},
		{"di", "rdi", "edi", "di", "dil"},
		{"bp", "rbp", "ebp", "bp", "bpl"},
		{"sp", "rsp", "esp", "sp", "spl"},
	} {
		m[r.q], m[r.d], m[r.w], m[r.b] = r.pt, r.pt, r.pt, r.pt
	}
	for i := 8; i <= 15; i++ {
		r := fmt.Sprintf("r%d", i)
		m[r], m[r+"d"], m[r+"w"], m[r+"b"], m[r+"l"] = r, r, r, r, r
	}
	m["rip"], m["eip"] = "ip", "ip"
	return m
}()

// x86Reg maps "%name" to its pt_regs field on arch.
func x86Reg(arch kprobeevents.Arch, name string) (string, error) {
	if !strings.HasPrefix(name, "%") {
		return "", fmt.Errorf("register %q lacks its '%%'", name)
	}
	n := name[1:]
	switch n {
	case "ah", "bh", "ch", "dh":
		return "", fmt.Errorf("%s is bits 8-15 of a register, which no fetch type reads", name)
	}
	pt, ok := x86Regs[n]
	if !ok {
		if strings.HasPrefix(n, "xmm") || strings.HasPrefix(n, "ymm") || strings.HasPrefix(n, "st") || strings.HasPrefix(n, "mm") {
			return "", fmt.Errorf("%s is not a general-purpose register; pt_regs does not hold it", name)
		}
		return "", fmt.Errorf("unknown register %s", name)
	}
	if arch == kprobeevents.ArchI386 && (n[0] == 'r' || strings.HasSuffix(n, "il") || strings.HasSuffix(n, "pl")) {
		return "", fmt.Errorf("%s does not exist on i386", name)
	}
	if !kprobeevents.IsRegister(arch, pt) {
		return "", fmt.Errorf("%s (%s) is not in the %s pt_regs table", name, pt, arch)
	}
	return pt, nil
}

// parseX86 reads an AT&T operand: %reg, $imm, DISP(%base), with DISP a
// number, a symbol or symbol±number.
func parseX86(arch kprobeevents.Arch, op string, a *Arg, sr *symbolResolver) error {
	switch {
	case op[0] == '$':
		v, err := parseNum(op[1:])
		if err != nil {
			return fmt.Errorf("constant %s: %v (an address constant $sym needs the load address)", op, err)
		}
		a.Kind, a.Value = KindConstant, v
		return nil
	case op[0] == '%':
		if strings.ContainsRune(op, ':') {
			return fmt.Errorf("segment-relative operand %s cannot be fetched", op)
		}
		reg, err := x86Reg(arch, op)
		if err != nil {
			return err
		}
		if reg == "ip" {
			return errors.New("%rip as a value is the probe's own address, not an argument")
		}
		a.Kind, a.Reg = KindRegister, reg
		return nil
	}
	lp := strings.IndexByte(op, '(')
	if lp < 0 || !strings.HasSuffix(op, ")") {
		return fmt.Errorf("%s: expected %%REG, $IMM or DISP(%%REG) (an absolute address cannot be fetched)", op)
	}
	disp, inner := op[:lp], op[lp+1:len(op)-1]
	if strings.ContainsRune(inner, ',') {
		return fmt.Errorf("%s: indexed addressing needs two registers, a fetch dereferences one", op)
	}
	if strings.ContainsRune(disp, ':') {
		return fmt.Errorf("segment-relative operand %s cannot be fetched", op)
	}
	reg, err := x86Reg(arch, inner)
	if err != nil {
		return err
	}
	sym, off, err := splitDisp(disp)
	if err != nil {
		return fmt.Errorf("%s: %v", op, err)
	}
	if sym == "" {
		if reg == "ip" {
			return fmt.Errorf("%s: a %%rip offset is relative to an instruction the note does not locate", op)
		}
		return setMemory(a, reg, off)
	}
	if sr == nil {
		return fmt.Errorf("%s names symbol %q; read the probe from its file to resolve it", op, sym)
	}
	s, ok := sr.lookup(sym)
	if !ok {
		return fmt.Errorf("%s: symbol %q is not in the file's symbol tables (stripped?)", op, sym)
	}
	addr := s.Value + uint64(off)
	if reg == "ip" {
		// gas wrote the symbol's address, which the CPU forms from
		// %rip: a fixed distance from the probe, whatever the load
		// address.
		a.Kind, a.Addr, a.ProbeOffset = KindStatic, addr, addr-sr.bias
		return nil
	}
	// sym(%reg) indexes a table at the symbol's absolute address, which
	// is only known before load in a file that is not relocated.
	if sr.pie {
		return fmt.Errorf("%s: symbol-relative addressing in a position-independent file needs the load address", op)
	}
	return setMemory(a, reg, int64(addr))
}

// splitDisp splits "sym+8", "sym-8", "sym", "-16", "" into symbol and
// offset.
func splitDisp(d string) (string, int64, error) {
	if d == "" {
		return "", 0, nil
	}
	c := d[0]
	if c == '-' || c == '+' || (c >= '0' && c <= '9') {
		v, err := parseNum(d)
		return "", v, err
	}
	i := strings.IndexAny(d, "+-")
	if i < 0 {
		return d, 0, validSymbol(d)
	}
	v, err := parseNum(d[i:])
	if err != nil {
		return "", 0, err
	}
	return d[:i], v, validSymbol(d[:i])
}

func validSymbol(s string) error {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '_' || c == '.' || c == '$' || (c >= '0' && c <= '9' && i > 0) || (c|0x20 >= 'a' && c|0x20 <= 'z') {
			continue
		}
		return fmt.Errorf("%q is not a symbol", s)
	}
	return nil
}
