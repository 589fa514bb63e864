package script

import "github.com/tracelet/tracelet/asm"

// removeDeadCode drops the instructions no path from the entry reaches
// (code after exit(), the far side of a constant condition), because the
// verifier refuses a program with an unreachable instruction, and the
// jumps to the very next instruction, which do nothing. Labels are
// resolved already (no aliases).
func removeDeadCode(insns asm.Instructions) asm.Instructions {
	at := map[string]int{}
	for i, ins := range insns {
		if ins.Symbol != "" {
			at[ins.Symbol] = i
		}
	}
	reach := make([]bool, len(insns))
	work := []int{0}
	for len(work) > 0 {
		i := work[len(work)-1]
		work = work[:len(work)-1]
		if i >= len(insns) || reach[i] {
			continue
		}
		reach[i] = true
		ins := insns[i]
		if ins.OpCode.Class() != asm.JumpClass || ins.IsLoadMap() {
			work = append(work, i+1)
			continue
		}
		switch ins.OpCode.JumpOp() {
		case asm.Exit:
		case asm.Call:
			work = append(work, i+1)
		case asm.Ja:
			if t, ok := at[ins.Reference]; ok {
				work = append(work, t)
			}
		default:
			work = append(work, i+1)
			if t, ok := at[ins.Reference]; ok {
				work = append(work, t)
			}
		}
	}
	out := make(asm.Instructions, 0, len(insns))
	for i, ins := range insns {
		if reach[i] {
			out = append(out, ins)
		}
	}
	// A goto to the next instruction is a no-op; its own label moves on.
	final := out[:0]
	for i := 0; i < len(out); i++ {
		ins := out[i]
		if ins.OpCode.Class() == asm.JumpClass && ins.OpCode.JumpOp() == asm.Ja && ins.Reference != "" &&
			i+1 < len(out) && out[i+1].Symbol == ins.Reference && ins.Symbol == "" {
			continue
		}
		final = append(final, ins)
	}
	return final
}
