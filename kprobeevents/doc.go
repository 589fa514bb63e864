// Package kprobeevents is the grammar of the kernel's dynamic probe events:
// the lines written to and read from tracefs kprobe_events, uprobe_events
// and dynamic_events, and the kprobe_event= boot parameter.
//
// The forms are those of the kernel's dynamic events: kprobes and kretprobes
// (p:, r:), uprobes, fprobes on a function's entry or exit (f:, 6.5+),
// tracepoint probes (t:, 6.5+), event probes on another trace event (e:,
// 5.15+) and removals (-:), with fetchargs including BTF argument names,
// $arg*, ->member access and typed $retval (6.5+/6.6+).
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
// Which optional forms a kernel takes comes from its tracefs README
// (Options.Extensions and Options.Types, filled in by tracefs.Features);
// without them, Options.Kernel's version decides. A definition of a kind the
// kernel lacks is checked for syntax first and then refused with
// NOT_SUPPORTED, naming the kind, its kernel option and its first kernel;
// a BTF name on a kernel without CONFIG_PROBE_EVENTS_BTF_ARGS is
// NOSUP_BTFARG, as the kernel logs it.
//
// What the kernel checks against its BTF and its trace events, Parse checks
// through Options.BTF and Options.Events when the caller supplies them:
// whether a name is an argument of the function (NO_BTFARG), $argN past its
// arguments (NO_BTFARG), $retval of a void function (NO_RETVAL), members
// (NO_BTF_FIELD, NO_PTR_STRCT), strings from a non-char type
// (BAD_TYPE4STR), an event probe's attached event (BAD_ATTACH_EVENT) and
// its $FIELDs (BAD_VAR). Without them those checks are skipped (the kernel
// could refuse such a definition at write time), $arg* is kept as written,
// and unnamed $argN keep their argN names; the syntax of every name is still
// checked (BAD_HYPHEN, NOSUP_DAT_ARG, DOUBLE_ARGS, NOFENTRY_ARGS, ...).
// testdata/kprobeevents/selftests-6.12.txt replays the kernel's own
// syntax-error selftests for all of these.
//
// Limits of a static check: whether a symbol or file exists, and
// whether an offset is an instruction boundary, only the running kernel
// knows (FILE_NOT_FOUND, NON_UNIQ_SYMBOL, BAD_INSN_BNDRY, ...), and so
// does whether a definition clashes with an existing event (EVENT_EXIST,
// DIFF_PROBE_TYPE, DIFF_ARG_TYPE, SAME_PROBE), or an event probe's filter
// is valid for its event. Some of
// what the kernel prints back depends on the running kernel, so a
// definition's Format differs from it there: the default MAXACTIVE it gives
// a kretprobe (r10: on a small machine), unnamed $argN arguments renamed
// after their BTF names and $arg* expanded (both done when Options.BTF is
// set), address probes with hashed addresses, and %pd/%pD
// arguments expanded with the build's struct offsets (formatted as the
// kernel does when Options.VFS gives them). Those printed forms parse and
// format back unchanged.
package kprobeevents
