//go:build !amd64 && !arm64 && !386 && !arm && !riscv64 && !mipsle

package tools

// syscallNames is empty where no table was generated: syscount then prints
// numbers ("syscall_NNN").
var syscallNames = map[int]string{}
