// Package kprobeevents is the grammar of the kernel's dynamic probe events:
// the lines written to and read from tracefs kprobe_events, uprobe_events
// and dynamic_events, and the kprobe_event= boot parameter.
//
// Parse reads a definition and checks it the way the kernel will, before
// anything is written: the kernel's limits (64-byte names, 128 arguments,
// 64-element arrays, nested dereferences), its error classes and the column
// of its error_log caret, register names per architecture, and the features
// of the target kernel version. Nothing that could smuggle a newline, ';',
// '#' or a second command into a control file gets through. The result
// formats back to the canonical line, the one the kernel prints when the
// file is read, and Parse also reads those printed lines.
//
//	p, err := kprobeevents.ParseProbe("r:myprobes/open do_sys_openat2 ret=$retval:s32",
//		kprobeevents.Options{Arch: kprobeevents.ArchX86_64})
//	if err != nil {
//		var e *kprobeevents.Error
//		if errors.As(err, &e) {
//			fmt.Println(e.Kind, e.Col) // the kernel's class and caret column
//			fmt.Println(e.Caret())
//		}
//	}
//	fmt.Println(p) // r:myprobes/open do_sys_openat2 ret=$retval:s32
//
// The package is pure: it makes no system calls and reads no files, so it
// can be used and tested anywhere. Writing definitions is the tracefs
// package's job.
//
// Limits of a static check: whether a symbol, file or BTF name exists, and
// whether an offset is an instruction boundary, only the running kernel
// knows (FILE_NOT_FOUND, NON_UNIQ_SYMBOL, BAD_INSN_BNDRY, ...). The kernel
// prints %pd/%pD arguments expanded into dereferences with its own struct
// offsets, unnamed $argN arguments renamed after their BTF names, and
// address probes with hashed addresses; those printed forms parse, but
// differ from what was written.
package kprobeevents
