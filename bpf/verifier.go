package bpf

import (
	"fmt"
	"strings"
)

// VerifierError is a program the kernel refused, with the verifier's log.
type VerifierError struct {
	Program   string
	Err       error    // the errno of BPF_PROG_LOAD
	Log       []string // the verifier's log, line by line
	Truncated bool     // the log outgrew the cap and lost its start or end
}

func (e *VerifierError) Unwrap() error { return e.Err }

// Error is a one-line summary: the errno and the log's last meaningful
// lines, which is where the verifier says what it rejected.
func (e *VerifierError) Error() string {
	s := fmt.Sprintf("load program %s: %v", e.Program, e.Err)
	if sum := e.summary(); sum != "" {
		s += ": " + sum
	}
	if e.Truncated {
		s += " (log truncated)"
	}
	return s
}

// summary is the last line that is not bookkeeping, with the instruction
// the verifier was at when it stopped ("12: (79) r1 = *(u64 *)(r2 +0)")
// when that is the line before.
func (e *VerifierError) summary() string {
	var lines []string
	for _, l := range e.Log {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "processed ") || strings.HasPrefix(l, "verification time") ||
			strings.HasPrefix(l, "stack depth") || strings.HasPrefix(l, "-- END PROG LOAD LOG --") {
			continue
		}
		lines = append(lines, l)
	}
	if len(lines) == 0 {
		return ""
	}
	last := lines[len(lines)-1]
	if len(lines) > 1 && isInsnLine(lines[len(lines)-2]) && !isInsnLine(last) {
		return lines[len(lines)-2] + ": " + last
	}
	return last
}

// isInsnLine matches the verifier's listing of an instruction, "N: (xx) ...".
func isInsnLine(l string) bool {
	i := strings.IndexByte(l, ':')
	if i <= 0 || !strings.HasPrefix(l[i:], ": (") {
		return false
	}
	for _, c := range l[:i] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// Format prints the whole log for %+v.
func (e *VerifierError) Format(f fmt.State, verb rune) {
	switch {
	case verb == 'v' && f.Flag('+'):
		fmt.Fprintf(f, "load program %s: %v:\n", e.Program, e.Err)
		for _, l := range e.Log {
			fmt.Fprintln(f, l)
		}
		if e.Truncated {
			fmt.Fprintln(f, "(log truncated)")
		}
	default:
		fmt.Fprint(f, e.Error())
	}
}
