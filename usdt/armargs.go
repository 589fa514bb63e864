package usdt

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// arm64Reg maps xN, wN (the low half of xN), sp, wsp, fp and lr to the
// names of arm64's regoffset_table.
func arm64Reg(r string) (string, error) {
	switch r {
	case "sp", "wsp":
		return "sp", nil
	case "fp":
		return "x29", nil
	case "lr":
		return "x30", nil
	case "xzr", "wzr":
		return "", errors.New("the zero register")
	}
	if len(r) >= 2 && (r[0] == 'x' || r[0] == 'w') {
		if n, err := strconv.Atoi(r[1:]); err == nil && n >= 0 && n <= 30 && strconv.Itoa(n) == r[1:] {
			return "x" + r[1:], nil
		}
	}
	if len(r) >= 2 && strings.ContainsRune("vqdshb", rune(r[0])) {
		if _, err := strconv.Atoi(r[1:]); err == nil {
			return "", fmt.Errorf("%s is a SIMD/FP register; pt_regs does not hold it", r)
		}
	}
	return "", fmt.Errorf("unknown register %s", r)
}

// parseARM64 reads xN, wN, [xN], [xN, OFF], [sp, #OFF] and constants (gcc
// prints them bare, "5", or with '#').
func parseARM64(op string, a *Arg) error {
	if op[0] == '[' {
		if !strings.HasSuffix(op, "]") {
			return fmt.Errorf("%s: memory operand is not closed with ']'", op)
		}
		base, off, err := splitBracket(op[1:len(op)-1], true)
		if err != nil {
			return fmt.Errorf("%s: %v", op, err)
		}
		reg, err := arm64Reg(base)
		if err != nil {
			return fmt.Errorf("%s: %v", op, err)
		}
		return setMemory(a, reg, off)
	}
	if v, err := parseNum(strings.TrimPrefix(op, "#")); err == nil {
		a.Kind, a.Value = KindConstant, v
		return nil
	}
	reg, err := arm64Reg(op)
	if err != nil {
		return err
	}
	a.Kind, a.Reg = KindRegister, reg
	return nil
}

// splitBracket reads the inside of "[base]" or "[base, off]"; when
// bareOff, the offset may lack the '#' (arm64 gcc omits it).
func splitBracket(in string, bareOff bool) (string, int64, error) {
	base, rest, found := strings.Cut(in, ",")
	base = strings.TrimSpace(base)
	if !found {
		return base, 0, nil
	}
	rest = strings.TrimSpace(rest)
	if strings.ContainsRune(rest, ',') {
		return "", 0, errors.New("extended or shifted offsets cannot be fetched")
	}
	if strings.HasPrefix(rest, "#") {
		rest = rest[1:]
	} else if !bareOff {
		return "", 0, fmt.Errorf("offset %q: a register offset needs two registers, a fetch dereferences one", rest)
	}
	off, err := parseNum(rest)
	if err != nil {
		return "", 0, fmt.Errorf("offset %q: a register offset needs two registers, a fetch dereferences one", rest)
	}
	return base, off, nil
}

// armRegs maps the 32-bit ARM register names, with gas's aliases, to the
// names of arm's regoffset_table (r0..r10, fp, ip, sp, lr, pc).
var armRegs = func() map[string]string {
	m := map[string]string{}
	for i := 0; i <= 10; i++ {
		r := "r" + strconv.Itoa(i)
		m[r] = r
	}
	m["sb"], m["sl"] = "r9", "r10"
	for r, pt := range map[string]string{"r11": "fp", "r12": "ip", "r13": "sp", "r14": "lr", "r15": "pc"} {
		m[r], m[pt] = pt, pt
	}
	return m
}()

// parseARM reads rN, [rN], [rN, #OFF] and #IMM.
func parseARM(op string, a *Arg) error {
	if op[0] == '[' {
		if !strings.HasSuffix(op, "]") {
			return fmt.Errorf("%s: memory operand is not closed with ']'", op)
		}
		base, off, err := splitBracket(op[1:len(op)-1], false)
		if err != nil {
			return fmt.Errorf("%s: %v", op, err)
		}
		reg, ok := armRegs[base]
		if !ok {
			return fmt.Errorf("%s: unknown register %s", op, base)
		}
		return setMemory(a, reg, off)
	}
	if v, err := parseNum(strings.TrimPrefix(op, "#")); err == nil {
		a.Kind, a.Value = KindConstant, v
		return nil
	}
	reg, ok := armRegs[op]
	if !ok {
		return fmt.Errorf("unknown register %s", op)
	}
	a.Kind, a.Reg = KindRegister, reg
	return nil
}
