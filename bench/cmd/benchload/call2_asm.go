//go:build amd64 || arm64

package main

// call2 calls target(a, b) through the C ABI (target_*.s).
func call2(a, b uint64) uint64
