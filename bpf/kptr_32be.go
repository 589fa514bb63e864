//go:build mips || ppc

package bpf

import "unsafe"

// The pointer is the low half of the big-endian u64: the second word.
type kptr struct {
	_ uint32
	p unsafe.Pointer
}
