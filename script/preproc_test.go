package script

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// A "#!" first line is skipped, and the lines after it keep their
// positions.
func TestParseShebang(t *testing.T) {
	for _, first := range []string{"#!/usr/bin/env bpftrace", "#!/usr/bin/env -S tracelet run"} {
		src := first + "\nBEGIN { @x = 1; }\n  BEGIN { @y = nope; }\n"
		_, err := Parse("s.bt", []byte(src))
		if err == nil {
			t.Fatalf("%s: no error", first)
		}
		want := "s.bt:3:16: unknown builtin \"nope\""
		if !strings.HasPrefix(err.Error(), want) {
			t.Errorf("%s: got %q, want prefix %q", first, err, want)
		}
		if _, err := Parse("s.bt", []byte(first+"\nBEGIN { exit(); }")); err != nil {
			t.Errorf("%s: %v", first, err)
		}
	}
	// Only on line 1: elsewhere '#' starts a directive.
	_, err := Parse("s.bt", []byte("BEGIN { exit(); }\n#!/bin/x\n"))
	if err == nil || !strings.Contains(err.Error(), "s.bt:2:1: unsupported preprocessor directive #") {
		t.Errorf("#! on line 2: %v", err)
	}
}

func TestPreprocessor(t *testing.T) {
	src := `#!/usr/bin/env bpftrace
/*
 * #define IN_COMMENT 1
 */
#ifndef BPFTRACE_HAVE_BTF
#include <linux/socket.h>
struct cfs_rq { unsigned int nr_running; };
#else
#include <sys/socket.h>
#endif
#include "local.h"
#define LIMIT 10 // a comment
#define TWICE(x) ((x) * 2)
#define ADD(a, b) \
	((a) + (b))
#define IS_INET(f) ((f) == AF_INET || (f) == AF_INET6)
#if 0
this is not parsed

   (nor the empty lines)
#else
#define LATE 7
#endif
#define HDR "# \"quoted\" #%d\n"
BEGIN { printf(HDR, 1); }
END { @a = LIMIT; @b = TWICE(pid); @c = ADD(LIMIT, TWICE(3)); @d = IS_INET(2); @e = LATE; @f = -EPERM; }
`
	prog, err := Parse("p.bt", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	var inc []string
	for _, i := range prog.Includes {
		inc = append(inc, i.Pos.String()+" "+i.Path)
	}
	if got := strings.Join(inc, ", "); got != "9:1 sys/socket.h, 11:1 local.h" {
		t.Errorf("includes: %s", got)
	}
	var names []string
	for _, m := range prog.Macros {
		names = append(names, m.Name+"="+m.Body)
	}
	if got := strings.Join(names, " "); got != `LIMIT=10 TWICE=((x) * 2) ADD=((a) + (b)) IS_INET=((f) == AF_INET || (f) == AF_INET6) LATE=7 HDR="# \"quoted\" #%d\n"` {
		t.Errorf("macros: %s", got)
	}
	want := []uint64{10, 0, 16, 1, 7, ^uint64(0)}
	if _, _, err := checkSrc(src, nil); err != nil {
		t.Fatal(err)
	}
	for i, s := range prog.Probes[1].Body {
		v, ok := foldConst(s.(*AssignStmt).Value)
		if i == 1 {
			if ok {
				t.Errorf("TWICE(pid) folded to %d", v)
			}
			if got := exprString(s.(*AssignStmt).Value); got != "(pid * 2)" {
				t.Errorf("TWICE(pid) = %s", got)
			}
			continue
		}
		if !ok || v != want[i] {
			t.Errorf("statement %d = %d (%v), want %d", i+1, v, ok, want[i])
		}
	}
}

func TestPreprocessorErrors(t *testing.T) {
	for _, c := range []struct{ src, want string }{
		{"#define F(x) (x)\nBEGIN { @x = F; }", "p.bt:2:14: macro F takes 1 argument(s): use it as F(x)"},
		{"#define F(x) (x)\nBEGIN { @x = F(1, 2); }", "macro F takes 1 argument(s) (x), got 2"},
		{"#define E\nBEGIN { @x = E; }", "p.bt:2:14: macro E is defined empty (at 1:9): it has no value to use"},
		{"#define A (B + 1)\n#define B (A + 1)\nBEGIN { @x = A; }", "macro A expands to itself"},
		{"#define S @x = 1\nBEGIN { S; }", "p.bt:1:14: the body of macro S must be one expression, but \"=\" follows it"},
		{"#define X (1 +)\nBEGIN { @x = X; }", "p.bt:1:15: expected an expression, found \")\""},
		{"#define C(a) a ## 1\nBEGIN { @x = C(1); }", "p.bt:1:1: #define C: the # and ## operators are not supported"},
		{"#pragma once\nBEGIN { exit(); }", "p.bt:1:1: unsupported preprocessor directive #pragma: expected #include, #define, #undef, #ifdef, #ifndef, #if, #else or #endif"},
		{"#ifdef X\nBEGIN { exit(); }", "p.bt:1:1: conditional not terminated: expected #endif"},
		{"#endif\nBEGIN { exit(); }", "#endif without #if, #ifdef or #ifndef"},
		{"#if FOO > 1\n#endif\nBEGIN { exit(); }", "#if FOO > 1: only 0, 1 and defined(NAME), optionally negated with !, are supported"},
		{"#include linux/sched.h\nBEGIN { exit(); }", "#include needs a header, as in #include <linux/sched.h>"},
		{"#define 1X 2\nBEGIN { exit(); }", "p.bt:1:9: #define needs a macro name"},
		{"#define BPFTRACE_HAVE_BTF 0\nBEGIN { exit(); }", "BPFTRACE_HAVE_BTF is predefined"},
		{"BEGIN { @x = LIMIT; }\n#define LIMIT 1\n", "p.bt:1:14: unknown builtin \"LIMIT\""},
		{"#define L 1\n#undef L\nBEGIN { @x = L; }", "unknown builtin \"L\""},
	} {
		_, err := Parse("p.bt", []byte(c.src))
		if err == nil {
			t.Errorf("%q: no error, want %q", c.src, c.want)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q:\n got %q\nwant %q", c.src, err, c.want)
		}
	}
}

// The built-in constants are integers, and a macro or a builtin of the
// same name wins.
func TestConstants(t *testing.T) {
	prog, _, err := checkSrc(`#define EPERM 99
BEGIN { @a = AF_INET6; @b = TCP_LISTEN; @c = EPERM; @d = TASK_UNINTERRUPTIBLE; @e = SIGKILL; @f = DT_FIFO; @g = ICMP_ECHO; @h = ICMPV6_ECHO_REPLY; }`, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []uint64{10, 10, 99, 2, 9, 1, 8, 129} {
		v, ok := foldConst(prog.Probes[0].Body[i].(*AssignStmt).Value)
		if !ok || v != want {
			t.Errorf("statement %d = %d, want %d", i+1, v, want)
		}
	}
}

// Macros that use each other twice over would expand exponentially; the
// parser stops them, and nested unrolls are bounded too.
func TestExpansionBounds(t *testing.T) {
	var b strings.Builder
	b.WriteString("#define M0 1\n")
	for i := 1; i <= 40; i++ {
		fmt.Fprintf(&b, "#define M%d (M%d + M%d)\n", i, i-1, i-1)
	}
	b.WriteString("BEGIN { @x = M40; }\n")
	done := make(chan error, 1)
	go func() { _, err := Parse("p.bt", []byte(b.String())); done <- err }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "macros expand to more than 10000 bodies and arguments here") {
			t.Errorf("got %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("expansion did not stop")
	}
	_, _, err := checkSrc("BEGIN { unroll(100) { unroll(100) { unroll(2) { @x++; } } } }", nil)
	if err == nil || !strings.Contains(err.Error(), "-e:1:37: nested unrolls repeat this body 20000 times: at most 10000") {
		t.Errorf("nested unrolls: %v", err)
	}
}
