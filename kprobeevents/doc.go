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
// formats back to the line the kernel prints when the file is read: the
// probe head in the kernel's spelling (trace_kprobe_show,
// trace_uprobe_show) and each fetcharg as it was written, which is how the
// kernel keeps it. Parse also reads those printed lines, and
// Format(Parse(line)) gives the printed line back unchanged.
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
// knows (FILE_NOT_FOUND, NON_UNIQ_SYMBOL, BAD_INSN_BNDRY, ...). Some of
// what the kernel prints back depends on the running kernel, so a
// definition's Format differs from it there: the default MAXACTIVE it gives
// a kretprobe (r10: on a small machine), unnamed $argN arguments renamed
// after their BTF names, address probes with hashed addresses, and %pd/%pD
// arguments expanded with the build's struct offsets (formatted as the
// kernel does when Options.VFS gives them). Those printed forms parse and
// format back unchanged.
package kprobeevents
