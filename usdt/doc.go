// Package usdt reads the user-level statically defined tracing probes
// (USDT, SystemTap SDT) that an ELF file carries, and turns each into what a
// uprobe needs: the file offset of the probe's nop, the file offset of its
// semaphore (the uprobe's ref_ctr_offset) and its arguments as registers,
// memory dereferences and constants.
//
// The format is SystemTap's: every probe is one ELF note of type 3 owned by
// "stapsdt" in the non-allocated section .note.stapsdt, whose descriptor
// holds three addresses (the probe's pc, the link-time address of
// .stapsdt.base and the semaphore, each as wide as an address of the file's
// class) and then the provider, the name and the argument string, each
// NUL-terminated. The argument string is a space-separated list of
// SIZE@OPERAND, SIZE being the byte count, negative when signed, and
// OPERAND written in the assembler syntax of the architecture.
//
// The package makes no system calls besides reading the file: a caller
// resolves a probe to (Offset, SemaphoreOffset, []Arg) and then either
// compiles each Arg into BPF loads (register, offset, size, sign) or prints
// it as a uprobe_events fetcharg with Arg.Fetcharg.
//
//	f, err := usdt.Open("/usr/bin/python3")
//	if err != nil { ... }
//	p, err := f.Lookup("python", "function__entry")
//	if err != nil { ... }
//	args, err := p.ParseArgs(f.Arch)
//	if err != nil { ... }
//	line, err := p.UprobeEvent("mygroup", "entry", "/usr/bin/python3", f.Arch)
//	// p:mygroup/entry /usr/bin/python3:0xf20a1(0x683260) arg1=%bp:u64 arg2=%r12:u64 arg3=%ax:s32
package usdt
