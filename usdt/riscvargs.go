package usdt

import (
	"fmt"
	"strconv"
	"strings"
)

// riscvRegs maps ABI names and xN to the names of riscv's regoffset_table,
// which uses the ABI names.
var riscvRegs = func() map[string]string {
	abi := []string{"zero", "ra", "sp", "gp", "tp", "t0", "t1", "t2", "s0", "s1",
		"a0", "a1", "a2", "a3", "a4", "a5", "a6", "a7",
		"s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11",
		"t3", "t4", "t5", "t6"}
	m := map[string]string{}
	for i, r := range abi {
		m[r], m["x"+strconv.Itoa(i)] = r, r
	}
	m["fp"] = "s0"
	return m
}()

// parseRISCV reads REG, OFF(REG), (REG) and bare constants.
func parseRISCV(op string, a *Arg) error {
	if lp := strings.IndexByte(op, '('); lp >= 0 {
		if !strings.HasSuffix(op, ")") {
			return fmt.Errorf("%s: memory operand is not closed with ')'", op)
		}
		var off int64
		if d := op[:lp]; d != "" {
			v, err := parseNum(d)
			if err != nil {
				return fmt.Errorf("%s: offset %v", op, err)
			}
			off = v
		}
		reg, err := riscvReg(op[lp+1 : len(op)-1])
		if err != nil {
			return fmt.Errorf("%s: %v", op, err)
		}
		if reg == "zero" {
			return fmt.Errorf("%s: an absolute address cannot be fetched", op)
		}
		return setMemory(a, reg, off)
	}
	if v, err := parseNum(op); err == nil {
		a.Kind, a.Value = KindConstant, v
		return nil
	}
	reg, err := riscvReg(op)
	if err != nil {
		return err
	}
	if reg == "zero" {
		// x0 reads as 0 and is not in pt_regs.
		a.Kind, a.Value = KindConstant, 0
		return nil
	}
	a.Kind, a.Reg = KindRegister, reg
	return nil
}

func riscvReg(r string) (string, error) {
	if pt, ok := riscvRegs[r]; ok {
		return pt, nil
	}
	if len(r) >= 2 && (r[0] == 'f' || r[0] == 'v') {
		return "", fmt.Errorf("%s is a floating-point or vector register; pt_regs does not hold it", r)
	}
	return "", fmt.Errorf("unknown register %s", r)
}
