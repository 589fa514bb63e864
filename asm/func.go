package asm

import "fmt"

// BuiltinFunc is a helper function id (enum bpf_func_id).
type BuiltinFunc int32

// String is the kernel's name, as the verifier and bpftool print it
// ("bpf_map_lookup_elem").
func (fn BuiltinFunc) String() string {
	if fn >= 0 && int(fn) < len(builtinNames) {
		return builtinNames[fn]
	}
	return fmt.Sprintf("BuiltinFunc(%d)", int32(fn))
}

// Known reports whether fn is in the helper table.
func (fn BuiltinFunc) Known() bool { return fn > 0 && int(fn) < len(builtinNames) }

// MaxBuiltinFunc is one past the highest helper id (__BPF_FUNC_MAX_ID).
const MaxBuiltinFunc = BuiltinFunc(len(builtinNames))

// BuiltinFuncByName looks a helper up by its kernel name, with or without
// the "bpf_" prefix.
func BuiltinFuncByName(name string) (BuiltinFunc, bool) {
	for i, n := range builtinNames {
		if n == name || n[4:] == name {
			return BuiltinFunc(i), true
		}
	}
	return 0, false
}
