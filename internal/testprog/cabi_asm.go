//go:build amd64 || arm64 || 386 || arm || riscv64 || mipsle

package main

// cabi6 loads its arguments as a C caller of the architecture would (its
// argument registers, and the stack where the C ABI puts arguments there)
// and calls cabiTarget, returning what cabiTarget left in the C return
// register. On the 32-bit architectures each argument is one word, the
// low half of the uint64, as for a C function of six unsigned longs.
func cabi6(a, b, c, d, e, f uint64) uint64

// cabiTarget returns the sum of its six arguments. It is never called
// from Go; only cabi6 calls it.
func cabiTarget()
