//go:build !amd64 && !arm64

package main

// call2 is plain Go where there is no C-ABI trampoline (386, arm, riscv64,
// mips), so that the tree builds and vets for every release GOARCH; the
// benchmarks that probe target run on amd64 and arm64.
//
//go:noinline
func call2(a, b uint64) uint64 { return a + b }
