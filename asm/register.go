package asm

import "fmt"

// Register is one of the eleven BPF registers.
type Register uint8

// The registers. R0 holds return values, R1-R5 helper arguments (R1 the
// program's context on entry), R6-R9 survive calls, R10 is the read-only
// frame pointer.
const (
	R0 Register = iota
	R1
	R2
	R3
	R4
	R5
	R6
	R7
	R8
	R9
	R10
)

// Aliases that say what a register is for.
const (
	RFP     = R10 // frame pointer
	RCtx    = R1  // context on entry
	RReturn = R0
)

func (r Register) String() string {
	if r <= R10 {
		return fmt.Sprintf("r%d", uint8(r))
	}
	return fmt.Sprintf("Register(%d)", uint8(r))
}
