package tools

import (
	"fmt"
	"strconv"
	"strings"
	"syscall"
	"unicode"
	"unicode/utf8"
)

// The text columns of each tool, as libbpf-tools prints them, so that
// scripts written for those carry over: same headers, same widths. Extra
// columns (sigsnoop's CMDLINE) come last. Time columns are added by the
// Printer.

// SignalHeader is sigsnoop's and killsnoop's header.
func SignalHeader() string {
	return fmt.Sprintf("%-7s %-16s %-9s %-7s %-6s %s", "PID", "COMM", "SIG", "TPID", "RESULT", "CMDLINE")
}

// Columns is the event's row; names prints the signal's name, not its
// number (-n).
func (e *SignalEvent) Columns(names bool) string {
	sig := strconv.Itoa(e.Sig)
	if names {
		sig = e.SigName
	}
	return fmt.Sprintf("%-7d %-16s %-9s %-7d %-6d %s", e.Pid, e.Comm, sig, e.TPid, e.Result, e.Cmdline)
}

// ExecHeader is execsnoop's header; uid adds the UID column (-U).
func ExecHeader(uid bool) string {
	h := ""
	if uid {
		h = fmt.Sprintf("%-6s ", "UID")
	}
	return h + fmt.Sprintf("%-16s %-6s %-6s %3s %s", "PCOMM", "PID", "PPID", "RET", "ARGS")
}

// Columns is the event's row: uid adds the UID column (-U), quote puts
// each argument in double quotes (-q).
func (e *ExecEvent) Columns(uid, quote bool) string {
	var b strings.Builder
	if uid {
		fmt.Fprintf(&b, "%-6d ", e.UID)
	}
	fmt.Fprintf(&b, "%-16s %-6d %-6d %3d", e.Comm, e.Pid, e.PPid, e.Ret)
	for _, a := range e.Args {
		b.WriteByte(' ')
		if quote {
			b.WriteString(strconv.Quote(a))
		} else {
			b.WriteString(a)
		}
	}
	if e.Truncated {
		b.WriteString(" ...")
	}
	return b.String()
}

// OpenHeader is opensnoop's header: uid adds the UID column (-U), ext the
// flags (-e).
func OpenHeader(uid, ext bool) string {
	h := ""
	if uid {
		h = fmt.Sprintf("%-7s ", "UID")
	}
	h += fmt.Sprintf("%-6s %-16s %3s %3s ", "PID", "COMM", "FD", "ERR")
	if ext {
		h += fmt.Sprintf("%-8s ", "FLAGS")
	}
	return h + "PATH"
}

// Columns is the event's row, with the columns OpenHeader had.
func (e *OpenEvent) Columns(uid, ext bool) string {
	s := ""
	if uid {
		s = fmt.Sprintf("%-7d ", e.UID)
	}
	s += fmt.Sprintf("%-6d %-16s %3d %3d ", e.Pid, e.Comm, e.FD, e.Err)
	if ext {
		s += fmt.Sprintf("%08o ", e.Flags)
	}
	return s + e.Path
}

// ExitHeader is exitsnoop's header.
func ExitHeader() string {
	return fmt.Sprintf("%-16s %-7s %-7s %-7s %-7s %s", "PCOMM", "PID", "PPID", "TID", "AGE(s)", "EXIT_CODE")
}

// Columns is the event's row. An age that is not known (the process
// started before the tool) is "-"; a status that is not known is "?".
func (e *ExitEvent) Columns() string {
	age := "-"
	if e.Age >= 0 {
		age = fmt.Sprintf("%.2f", e.Age.Seconds())
	}
	text := e.Text
	if !e.Known {
		text = "?"
	}
	return fmt.Sprintf("%-16s %-7d %-7d %-7d %-7s %s", e.Comm, e.Pid, e.PPid, e.Tid, age, text)
}

// signalText describes a signal as the C library's strsignal does
// ("User defined signal 1"), which is what libbpf-tools' exitsnoop prints.
func signalText(sig int) string {
	s := syscall.Signal(sig).String()
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToUpper(r)) + s[n:]
}
