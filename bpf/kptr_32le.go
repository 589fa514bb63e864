//go:build 386 || arm || mipsle

package bpf

import "unsafe"

// The pointer is the low half of the little-endian u64.
type kptr struct {
	p unsafe.Pointer
	_ uint32
}
