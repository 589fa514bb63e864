//go:build !amd64 && !arm64

package main

// cabi6 is plain Go where testprog has no assembly trampoline (386, arm,
// riscv64, mips): the release builds and `go vet` cover every GOARCH, but
// the C-ABI uprobe tests only run on amd64 and arm64.
//
//go:noinline
func cabi6(a, b, c, d, e, f uint64) uint64 { return a + b + c + d + e + f }
