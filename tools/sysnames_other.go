//go:build !amd64 && !arm64

package tools

// syscallNames is empty where no table was generated: syscount then prints
// numbers ("syscall_NNN").
var syscallNames = map[int]string{}
