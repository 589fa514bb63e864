//go:build !amd64 && !arm64 && !386 && !arm && !riscv64 && !mipsle

package main

// cabi6 is plain Go where testprog has no assembly trampoline (mips,
// ppc64le, s390x): the release builds and `go vet` cover every GOARCH, but
// the C-ABI uprobe tests only run where cabiTarget exists.
//
//go:noinline
func cabi6(a, b, c, d, e, f uint64) uint64 { return a + b + c + d + e + f }
