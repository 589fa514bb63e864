package kprobeevents

import (
	"fmt"
	"strings"
)

// ErrorKind is the class of a definition error. The kernel classes are the
// TP_ERR_* values of kernel/trace/trace_probe.h (the ERRORS list) and print
// with the kernel's name; the few classes the kernel has no name for (it
// fails those writes without an error_log entry) are tracelet's own and say
// so through Kernel().
type ErrorKind int

// The kernel's error classes, in the order of the ERRORS list in
// kernel/trace/trace_probe.h (Linux 6.18).
const (
	FILE_NOT_FOUND ErrorKind = iota + 1
	NO_REGULAR_FILE
	BAD_REFCNT
	REFCNT_OPEN_BRACE
	BAD_REFCNT_SUFFIX
	BAD_UPROBE_OFFS
	BAD_MAXACT_TYPE
	BAD_MAXACT
	MAXACT_TOO_BIG
	BAD_PROBE_ADDR
	NON_UNIQ_SYMBOL
	BAD_RETPROBE
	NO_TRACEPOINT
	BAD_TP_NAME
	BAD_ADDR_SUFFIX
	NO_GROUP_NAME
	GROUP_TOO_LONG
	BAD_GROUP_NAME
	NO_EVENT_NAME
	EVENT_TOO_LONG
	BAD_EVENT_NAME
	EVENT_EXIST
	RETVAL_ON_PROBE
	NO_RETVAL
	BAD_STACK_NUM
	BAD_ARG_NUM
	BAD_VAR
	BAD_REG_NAME
	BAD_MEM_ADDR
	BAD_IMM
	IMMSTR_NO_CLOSE
	FILE_ON_KPROBE
	BAD_FILE_OFFS
	SYM_ON_UPROBE
	TOO_MANY_OPS
	DEREF_NEED_BRACE
	BAD_DEREF_OFFS
	DEREF_OPEN_BRACE
	COMM_CANT_DEREF
	BAD_FETCH_ARG
	ARRAY_NO_CLOSE
	BAD_ARRAY_SUFFIX
	BAD_ARRAY_NUM
	ARRAY_TOO_BIG
	BAD_TYPE
	BAD_STRING
	BAD_SYMSTRING
	BAD_BITFIELD
	ARG_NAME_TOO_LONG
	NO_ARG_NAME
	BAD_ARG_NAME
	USED_ARG_NAME
	ARG_TOO_LONG
	NO_ARG_BODY
	BAD_INSN_BNDRY
	FAIL_REG_PROBE
	DIFF_PROBE_TYPE
	DIFF_ARG_TYPE
	SAME_PROBE
	NO_EVENT_INFO
	BAD_ATTACH_EVENT
	BAD_ATTACH_ARG
	NO_EP_FILTER
	NOSUP_BTFARG
	NO_BTFARG
	NO_BTF_ENTRY
	BAD_VAR_ARGS
	NOFENTRY_ARGS
	DOUBLE_ARGS
	ARGS_2LONG
	ARGIDX_2BIG
	NO_PTR_STRCT
	NOSUP_DAT_ARG
	BAD_HYPHEN
	NO_BTF_FIELD
	BAD_BTF_TID
	BAD_TYPE4STR
	NEED_STRING_TYPE
	TOO_MANY_ARGS
	TOO_MANY_EARGS
	EVENT_TOO_BIG

	lastKernelKind = EVENT_TOO_BIG
)

// tracelet's own classes: the kernel rejects these definitions too (or, for
// UNSAFE_CHAR, would silently do something else) but writes no error_log
// entry, so there is no kernel name to reuse.
const (
	// UNSAFE_CHAR: a newline, NUL, ';' or '#' (or another control
	// character) that would end the definition early or start a second
	// command in a control file. trace_parse_run_command() splits writes at
	// '\n' and cuts everything after '#'; the kprobe_event= boot parameter
	// splits at ';'.
	UNSAFE_CHAR ErrorKind = iota + 1000
	// BAD_COMMAND: not a probe definition at all (empty, no p/r/- command,
	// no probe point). The kernel answers -EINVAL (-ECANCELED inside)
	// without logging.
	BAD_COMMAND
	// NOT_PROBE: a dynamic_events line of a type this package does not
	// read (s: synthetic events, ...).
	NOT_PROBE
	// WRONG_FILE: a uprobe definition for kprobe_events or the other way
	// round; the kernel answers -EINVAL without logging.
	WRONG_FILE
	// NOT_SUPPORTED: the definition needs a newer kernel than
	// Options.Kernel.
	NOT_SUPPORTED
	// DEF_TOO_LONG: longer than one write() the kernel parses
	// (WRITE_BUFSIZE, 4096 bytes including the newline).
	DEF_TOO_LONG
)

var kindNames = map[ErrorKind]string{
	FILE_NOT_FOUND: "FILE_NOT_FOUND", NO_REGULAR_FILE: "NO_REGULAR_FILE",
	BAD_REFCNT: "BAD_REFCNT", REFCNT_OPEN_BRACE: "REFCNT_OPEN_BRACE",
	BAD_REFCNT_SUFFIX: "BAD_REFCNT_SUFFIX", BAD_UPROBE_OFFS: "BAD_UPROBE_OFFS",
	BAD_MAXACT_TYPE: "BAD_MAXACT_TYPE", BAD_MAXACT: "BAD_MAXACT",
	MAXACT_TOO_BIG: "MAXACT_TOO_BIG", BAD_PROBE_ADDR: "BAD_PROBE_ADDR",
	NON_UNIQ_SYMBOL: "NON_UNIQ_SYMBOL", BAD_RETPROBE: "BAD_RETPROBE",
	NO_TRACEPOINT: "NO_TRACEPOINT", BAD_TP_NAME: "BAD_TP_NAME",
	BAD_ADDR_SUFFIX: "BAD_ADDR_SUFFIX", NO_GROUP_NAME: "NO_GROUP_NAME",
	GROUP_TOO_LONG: "GROUP_TOO_LONG", BAD_GROUP_NAME: "BAD_GROUP_NAME",
	NO_EVENT_NAME: "NO_EVENT_NAME", EVENT_TOO_LONG: "EVENT_TOO_LONG",
	BAD_EVENT_NAME: "BAD_EVENT_NAME", EVENT_EXIST: "EVENT_EXIST",
	RETVAL_ON_PROBE: "RETVAL_ON_PROBE", NO_RETVAL: "NO_RETVAL",
	BAD_STACK_NUM: "BAD_STACK_NUM", BAD_ARG_NUM: "BAD_ARG_NUM",
	BAD_VAR: "BAD_VAR", BAD_REG_NAME: "BAD_REG_NAME",
	BAD_MEM_ADDR: "BAD_MEM_ADDR", BAD_IMM: "BAD_IMM",
	IMMSTR_NO_CLOSE: "IMMSTR_NO_CLOSE", FILE_ON_KPROBE: "FILE_ON_KPROBE",
	BAD_FILE_OFFS: "BAD_FILE_OFFS", SYM_ON_UPROBE: "SYM_ON_UPROBE",
	TOO_MANY_OPS: "TOO_MANY_OPS", DEREF_NEED_BRACE: "DEREF_NEED_BRACE",
	BAD_DEREF_OFFS: "BAD_DEREF_OFFS", DEREF_OPEN_BRACE: "DEREF_OPEN_BRACE",
	COMM_CANT_DEREF: "COMM_CANT_DEREF", BAD_FETCH_ARG: "BAD_FETCH_ARG",
	ARRAY_NO_CLOSE: "ARRAY_NO_CLOSE", BAD_ARRAY_SUFFIX: "BAD_ARRAY_SUFFIX",
	BAD_ARRAY_NUM: "BAD_ARRAY_NUM", ARRAY_TOO_BIG: "ARRAY_TOO_BIG",
	BAD_TYPE: "BAD_TYPE", BAD_STRING: "BAD_STRING",
	BAD_SYMSTRING: "BAD_SYMSTRING", BAD_BITFIELD: "BAD_BITFIELD",
	ARG_NAME_TOO_LONG: "ARG_NAME_TOO_LONG", NO_ARG_NAME: "NO_ARG_NAME",
	BAD_ARG_NAME: "BAD_ARG_NAME", USED_ARG_NAME: "USED_ARG_NAME",
	ARG_TOO_LONG: "ARG_TOO_LONG", NO_ARG_BODY: "NO_ARG_BODY",
	BAD_INSN_BNDRY: "BAD_INSN_BNDRY", FAIL_REG_PROBE: "FAIL_REG_PROBE",
	DIFF_PROBE_TYPE: "DIFF_PROBE_TYPE", DIFF_ARG_TYPE: "DIFF_ARG_TYPE",
	SAME_PROBE: "SAME_PROBE", NO_EVENT_INFO: "NO_EVENT_INFO",
	BAD_ATTACH_EVENT: "BAD_ATTACH_EVENT", BAD_ATTACH_ARG: "BAD_ATTACH_ARG",
	NO_EP_FILTER: "NO_EP_FILTER", NOSUP_BTFARG: "NOSUP_BTFARG",
	NO_BTFARG: "NO_BTFARG", NO_BTF_ENTRY: "NO_BTF_ENTRY",
	BAD_VAR_ARGS: "BAD_VAR_ARGS", NOFENTRY_ARGS: "NOFENTRY_ARGS",
	DOUBLE_ARGS: "DOUBLE_ARGS", ARGS_2LONG: "ARGS_2LONG",
	ARGIDX_2BIG: "ARGIDX_2BIG", NO_PTR_STRCT: "NO_PTR_STRCT",
	NOSUP_DAT_ARG: "NOSUP_DAT_ARG", BAD_HYPHEN: "BAD_HYPHEN",
	NO_BTF_FIELD: "NO_BTF_FIELD", BAD_BTF_TID: "BAD_BTF_TID",
	BAD_TYPE4STR: "BAD_TYPE4STR", NEED_STRING_TYPE: "NEED_STRING_TYPE",
	TOO_MANY_ARGS: "TOO_MANY_ARGS", TOO_MANY_EARGS: "TOO_MANY_EARGS",
	EVENT_TOO_BIG: "EVENT_TOO_BIG",

	UNSAFE_CHAR: "UNSAFE_CHAR", BAD_COMMAND: "BAD_COMMAND", NOT_PROBE: "NOT_PROBE",
	WRONG_FILE: "WRONG_FILE", NOT_SUPPORTED: "NOT_SUPPORTED", DEF_TOO_LONG: "DEF_TOO_LONG",
}

// kernelText is the kernel's own message for each class
// (trace_probe_err_text), which error_log prints.
var kernelText = map[ErrorKind]string{
	FILE_NOT_FOUND: "Failed to find the given file", NO_REGULAR_FILE: "Not a regular file",
	BAD_REFCNT: "Invalid reference counter offset", REFCNT_OPEN_BRACE: "Reference counter brace is not closed",
	BAD_REFCNT_SUFFIX: "Reference counter has wrong suffix", BAD_UPROBE_OFFS: "Invalid uprobe offset",
	BAD_MAXACT_TYPE: "Maxactive is only for function exit", BAD_MAXACT: "Invalid maxactive number",
	MAXACT_TOO_BIG: "Maxactive is too big", BAD_PROBE_ADDR: "Invalid probed address or symbol",
	NON_UNIQ_SYMBOL: "The symbol is not unique", BAD_RETPROBE: "Retprobe address must be an function entry",
	NO_TRACEPOINT: "Tracepoint is not found", BAD_TP_NAME: "Invalid character in tracepoint name",
	BAD_ADDR_SUFFIX: "Invalid probed address suffix", NO_GROUP_NAME: "Group name is not specified",
	GROUP_TOO_LONG: "Group name is too long", BAD_GROUP_NAME: "Group name must follow the same rules as C identifiers",
	NO_EVENT_NAME: "Event name is not specified", EVENT_TOO_LONG: "Event name is too long",
	BAD_EVENT_NAME:  "Event name must follow the same rules as C identifiers",
	EVENT_EXIST:     "Given group/event name is already used by another event",
	RETVAL_ON_PROBE: "$retval is not available on probe", NO_RETVAL: "This function returns 'void' type",
	BAD_STACK_NUM: "Invalid stack number", BAD_ARG_NUM: "Invalid argument number",
	BAD_VAR: "Invalid $-variable specified", BAD_REG_NAME: "Invalid register name",
	BAD_MEM_ADDR: "Invalid memory address", BAD_IMM: "Invalid immediate value",
	IMMSTR_NO_CLOSE: "String is not closed with '\"'", FILE_ON_KPROBE: "File offset is not available with kprobe",
	BAD_FILE_OFFS: "Invalid file offset value", SYM_ON_UPROBE: "Symbol is not available with uprobe",
	TOO_MANY_OPS: "Dereference is too much nested", DEREF_NEED_BRACE: "Dereference needs a brace",
	BAD_DEREF_OFFS: "Invalid dereference offset", DEREF_OPEN_BRACE: "Dereference brace is not closed",
	COMM_CANT_DEREF: "$comm can not be dereferenced", BAD_FETCH_ARG: "Invalid fetch argument",
	ARRAY_NO_CLOSE: "Array is not closed", BAD_ARRAY_SUFFIX: "Array has wrong suffix",
	BAD_ARRAY_NUM: "Invalid array size", ARRAY_TOO_BIG: "Array number is too big",
	BAD_TYPE: "Unknown type is specified", BAD_STRING: "String accepts only memory argument",
	BAD_SYMSTRING: "Symbol String doesn't accept data/userdata", BAD_BITFIELD: "Invalid bitfield",
	ARG_NAME_TOO_LONG: "Argument name is too long", NO_ARG_NAME: "Argument name is not specified",
	BAD_ARG_NAME: "Argument name must follow the same rules as C identifiers", USED_ARG_NAME: "This argument name is already used",
	ARG_TOO_LONG: "Argument expression is too long", NO_ARG_BODY: "No argument expression",
	BAD_INSN_BNDRY: "Probe point is not an instruction boundary", FAIL_REG_PROBE: "Failed to register probe event",
	DIFF_PROBE_TYPE: "Probe type is different from existing probe", DIFF_ARG_TYPE: "Argument type or name is different from existing probe",
	SAME_PROBE: "There is already the exact same probe event", NO_EVENT_INFO: "This requires both group and event name to attach",
	BAD_ATTACH_EVENT: "Attached event does not exist", BAD_ATTACH_ARG: "Attached event does not have this field",
	NO_EP_FILTER: "No filter rule after 'if'", NOSUP_BTFARG: "BTF is not available or not supported",
	NO_BTFARG: "This variable is not found at this probe point", NO_BTF_ENTRY: "No BTF entry for this probe point",
	BAD_VAR_ARGS: "$arg* must be an independent parameter without name etc.", NOFENTRY_ARGS: "$arg* can be used only on function entry or exit",
	DOUBLE_ARGS: "$arg* can be used only once in the parameters", ARGS_2LONG: "$arg* failed because the argument list is too long",
	ARGIDX_2BIG: "$argN index is too big", NO_PTR_STRCT: "This is not a pointer to union/structure.",
	NOSUP_DAT_ARG: "Non pointer structure/union argument is not supported.", BAD_HYPHEN: "Failed to parse single hyphen. Forgot '>'?",
	NO_BTF_FIELD: "This field is not found.", BAD_BTF_TID: "Failed to get BTF type info.",
	BAD_TYPE4STR: "This type does not fit for string.", NEED_STRING_TYPE: "$comm and immediate-string only accepts string type",
	TOO_MANY_ARGS: "Too many arguments are specified", TOO_MANY_EARGS: "Too many entry arguments specified",
	EVENT_TOO_BIG: "Event too big (too many fields?)",
}

// ErrorKinds enumerates every kernel class followed by tracelet's own, in
// declaration order.
var ErrorKinds = func() []ErrorKind {
	var ks []ErrorKind
	for k := FILE_NOT_FOUND; k <= lastKernelKind; k++ {
		ks = append(ks, k)
	}
	for k := UNSAFE_CHAR; k <= DEF_TOO_LONG; k++ {
		ks = append(ks, k)
	}
	return ks
}()

// String returns the kernel's class name (BAD_RETPROBE, ...).
func (k ErrorKind) String() string {
	if s, ok := kindNames[k]; ok {
		return s
	}
	return fmt.Sprintf("ErrorKind(%d)", int(k))
}

// Kernel reports whether the class is one the kernel logs in error_log.
func (k ErrorKind) Kernel() bool { return k >= FILE_NOT_FOUND && k <= lastKernelKind }

// KernelText is the kernel's message for the class, as error_log prints it,
// or "" for tracelet's own classes.
func (k ErrorKind) KernelText() string { return kernelText[k] }

// KindOfMessage maps an error_log message ("Invalid register name") to its
// class. Older kernels spell some messages differently, and both spellings
// are recognised: BAD_VAR's "Invalid $-valiable specified" (before 6.6) and
// BAD_MAXACT_TYPE's "Maxactive is not for kprobe" (Debian's 6.1, as the VM
// suite found).
func KindOfMessage(msg string) (ErrorKind, bool) {
	msg = strings.TrimSpace(msg)
	switch msg {
	case "Invalid $-valiable specified":
		return BAD_VAR, true
	case "Maxactive is not for kprobe":
		return BAD_MAXACT_TYPE, true
	}
	for k, t := range kernelText {
		if t == msg {
			return k, true
		}
	}
	return 0, false
}

// ParseErrorKind maps a class name back to its ErrorKind.
func ParseErrorKind(s string) (ErrorKind, bool) {
	for k, n := range kindNames {
		if n == s {
			return k, true
		}
	}
	return 0, false
}

// Error is a definition error. Col is the 0-based byte offset of the
// offending character in Input, computed the way the kernel computes the
// caret of its error_log entry: Input is the command as the kernel rebuilds
// it (its words joined by single spaces), so for a definition written with
// single spaces Input is the definition itself. For UNSAFE_CHAR, Input is the
// raw definition.
type Error struct {
	Kind  ErrorKind
	Col   int
	Input string
	Msg   string // what is wrong, in our words
	Hint  string // what the kernel would accept
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "probe %q, col %d: %s: %s", e.Input, e.Col, e.Kind, e.Msg)
	if e.Hint != "" {
		fmt.Fprintf(&b, " (%s)", e.Hint)
	}
	return b.String()
}

// Caret renders the input and a caret under the offending column the way
// the kernel's error_log shows a failed command: "  Command: " and the
// command on one line, then '^' under the column on the next.
func (e *Error) Caret() string {
	const prefix = "  Command: "
	in := strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, e.Input)
	col := e.Col
	if col < 0 {
		col = 0
	}
	return prefix + in + "\n" + strings.Repeat(" ", len(prefix)+col) + "^"
}

// Is lets errors.Is(err, &Error{Kind: K}) match on the class alone.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Kind == e.Kind && t.Col == 0 && t.Input == "" && t.Msg == ""
}

// runTimeKinds are the kernel classes that depend on what exists on the
// running system (files, symbols, BTF, other events) or on registration.
var runTimeKinds = map[ErrorKind]bool{
	FILE_NOT_FOUND: true, NO_REGULAR_FILE: true, NON_UNIQ_SYMBOL: true, NO_TRACEPOINT: true,
	BAD_TP_NAME: true, EVENT_EXIST: true, NO_RETVAL: true, BAD_INSN_BNDRY: true,
	DIFF_PROBE_TYPE: true, DIFF_ARG_TYPE: true, SAME_PROBE: true, NO_EVENT_INFO: true,
	BAD_ATTACH_EVENT: true, BAD_ATTACH_ARG: true, NO_EP_FILTER: true, NO_BTFARG: true,
	NO_BTF_ENTRY: true, BAD_VAR_ARGS: true, DOUBLE_ARGS: true, ARGS_2LONG: true,
	ARGIDX_2BIG: true, NO_PTR_STRCT: true, NOSUP_DAT_ARG: true, NO_BTF_FIELD: true,
	BAD_TYPE4STR: true, TOO_MANY_EARGS: true, BAD_BTF_TID: true,
}

// RunTime reports whether only the running kernel can detect this class:
// it depends on what exists there (a file, a symbol, BTF, another event),
// so Parse accepts such definitions and the kernel's write fails. The BTF
// and trace-event classes (NO_BTFARG, NO_RETVAL, NO_BTF_FIELD,
// BAD_TYPE4STR, BAD_ATTACH_EVENT, ...) are found by Parse too when
// Options.BTF and Options.Events tell it what the kernel has.
func (k ErrorKind) RunTime() bool { return runTimeKinds[k] }
