package asm

import (
	"errors"
	"fmt"
	"math"
)

// Errors of Assemble, wrapped in *AssembleError.
var (
	ErrUndefinedLabel = errors.New("undefined label")
	ErrDuplicateLabel = errors.New("duplicate label")
	ErrJumpOutOfRange = errors.New("jump out of range")
)

// AssembleError says which instruction and label could not be resolved.
type AssembleError struct {
	Index int    // instruction index in the Instructions
	Label string // the label involved
	Err   error  // ErrUndefinedLabel, ErrDuplicateLabel or ErrJumpOutOfRange
	Msg   string // detail
}

func (e *AssembleError) Error() string {
	s := fmt.Sprintf("instruction %d: %v %q", e.Index, e.Err, e.Label)
	if e.Msg != "" {
		s += ": " + e.Msg
	}
	return s
}

func (e *AssembleError) Unwrap() error { return e.Err }

// Assemble returns a copy of insns with every jump and bpf-to-bpf call label
// turned into a relative offset, counted in 8-byte slots from the next
// instruction as the kernel does (ld_imm64 counts twice). Map references are
// left for package bpf to bind. Symbols are kept, so the result can still be
// listed and appended to.
func (insns Instructions) Assemble() (Instructions, error) {
	labels := make(map[string]int, 8) // label -> slot
	slot := 0
	for i := range insns {
		if sym := insns[i].Symbol; sym != "" {
			if _, dup := labels[sym]; dup {
				return nil, &AssembleError{Index: i, Label: sym, Err: ErrDuplicateLabel}
			}
			labels[sym] = slot
		}
		slot += insns[i].Slots()
	}
	out := make(Instructions, len(insns))
	copy(out, insns)
	slot = 0
	for i := range out {
		ins := &out[i]
		next := slot + ins.Slots()
		if ins.Reference != "" && ins.isBranch() {
			target, ok := labels[ins.Reference]
			if !ok {
				return nil, &AssembleError{Index: i, Label: ins.Reference, Err: ErrUndefinedLabel}
			}
			delta := target - next
			switch {
			case ins.IsLongJump():
				if delta < math.MinInt32 || delta > math.MaxInt32 {
					return nil, &AssembleError{Index: i, Label: ins.Reference, Err: ErrJumpOutOfRange, Msg: fmt.Sprintf("offset %d does not fit 32 bits", delta)}
				}
				ins.Constant = int64(delta)
			case ins.OpCode.JumpOp() == Call:
				// A bpf-to-bpf call carries its offset in imm.
				if delta < math.MinInt32 || delta > math.MaxInt32 {
					return nil, &AssembleError{Index: i, Label: ins.Reference, Err: ErrJumpOutOfRange, Msg: fmt.Sprintf("offset %d does not fit 32 bits", delta)}
				}
				ins.Constant = int64(delta)
			default:
				if delta < math.MinInt16 || delta > math.MaxInt16 {
					return nil, &AssembleError{Index: i, Label: ins.Reference, Err: ErrJumpOutOfRange,
						Msg: fmt.Sprintf("offset %d does not fit the 16-bit jump offset (use JaLong for unconditional jumps)", delta)}
				}
				ins.Offset = int16(delta)
			}
			ins.Reference = ""
		}
		slot = next
	}
	return out, nil
}

// MapReferences returns the distinct map names the program refers to, in
// order of first use.
func (insns Instructions) MapReferences() []string {
	var names []string
	seen := map[string]bool{}
	for i := range insns {
		if insns[i].IsLoadMap() && insns[i].Reference != "" && !seen[insns[i].Reference] {
			seen[insns[i].Reference] = true
			names = append(names, insns[i].Reference)
		}
	}
	return names
}
