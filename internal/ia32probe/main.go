// Command ia32probe is the tiny static program that `make compat386` builds
// for GOARCH=386 and executes to learn whether this x86_64 kernel runs i386
// binaries at all. A kernel built without CONFIG_IA32_EMULATION, or booted
// with ia32_emulation=off (6.7+), refuses the exec with ENOEXEC, and the
// shell reports "Exec format error". It prints one word so that a binary
// that starts but misbehaves is told apart from one that never started.
package main

import "os"

func main() { os.Stdout.WriteString("ia32-ok\n") }
