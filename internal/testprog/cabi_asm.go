//go:build amd64 || arm64

package main

// cabi6 loads its arguments into the C argument registers and calls
// cabiTarget, returning what cabiTarget left in the return register.
func cabi6(a, b, c, d, e, f uint64) uint64

// cabiTarget returns the sum of its six register arguments. It is never
// called from Go; only cabi6 calls it.
func cabiTarget()
