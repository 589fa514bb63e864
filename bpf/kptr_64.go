//go:build amd64 || arm64 || riscv64 || ppc64 || ppc64le || s390x || mips64 || mips64le || loong64

package bpf

import "unsafe"

type kptr struct{ p unsafe.Pointer }
