package script

import (
	"bufio"
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tracelet/tracelet/asm"
	"github.com/tracelet/tracelet/bpf"
)

var update = flag.Bool("update", false, "rewrite golden files")

const corpusDir = "../testdata/script"

// oneliners reads the corpus: one script per line, '#' lines are comments.
func oneliners(t testing.TB) []string {
	t.Helper()
	f, err := os.Open(filepath.Join(corpusDir, "oneliners.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		out = append(out, line)
	}
	if len(out) < 25 {
		t.Fatalf("corpus has %d one-liners, want at least 25", len(out))
	}
	return out
}

// golden compares got with the named golden file, or rewrites it under
// -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join(corpusDir, name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (go test -update to accept):\n%s", name, lineDiff(string(want), string(got)))
	}
}

func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := 0; i < len(w) || i < len(g); i++ {
		var a, c string
		if i < len(w) {
			a = w[i]
		}
		if i < len(g) {
			c = g[i]
		}
		if a != c {
			b.WriteString("line " + itoa(i+1) + ":\n  want: " + a + "\n  got:  " + c + "\n")
			if b.Len() > 2000 {
				break
			}
		}
	}
	return b.String()
}

func itoa(i int) string { return strings.TrimSpace(strings.Repeat(" ", 0) + fmtInt(i)) }

func fmtInt(i int) string {
	if i == 0 {
		return "0"
	}
	var d []byte
	for ; i > 0; i /= 10 {
		d = append([]byte{byte('0' + i%10)}, d...)
	}
	return string(d)
}

func TestParseOneliners(t *testing.T) {
	var out bytes.Buffer
	for _, src := range oneliners(t) {
		prog, err := Parse("-e", []byte(src))
		if err != nil {
			t.Errorf("Parse(%q): %v", src, err)
			continue
		}
		out.WriteString("== " + src + "\n")
		out.WriteString(prog.String())
	}
	golden(t, "oneliners.ast.golden", out.Bytes())
}

func TestParseShapes(t *testing.T) {
	prog, err := Parse("x.bt", []byte(`
// several probes on one block, a predicate with division
k:vfs_read, kr:vfs_write,
  u:/usr/lib/libc.so.6:0x1f00, ur:libc:malloc, t:sched:sched_*,
  BEGIN, END, i:ms:250, p:hz:49
/ pid / 2 == 1 /
{
	@m[pid, comm] = 1 + 2 * 3 - 4;
	$v += 0x10ull;
	if (1) { @a--; } else if (2) { @b++ } else { exit() }
}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(prog.Probes) != 1 {
		t.Fatalf("got %d probes, want 1", len(prog.Probes))
	}
	p := prog.Probes[0]
	var got []string
	for _, a := range p.Attach {
		got = append(got, a.describe())
	}
	want := "kprobe:vfs_read kretprobe:vfs_write uprobe:/usr/lib/libc.so.6:0x1f00 uretprobe:libc:malloc tracepoint:sched:sched_* BEGIN END interval:ms:250 profile:hz:49"
	if g := strings.Join(got, " "); g != want {
		t.Errorf("attach points\n got %s\nwant %s", g, want)
	}
	if !p.Attach[4].Wildcard() || p.Attach[0].Wildcard() {
		t.Error("Wildcard wrong")
	}
	// The predicate is (pid / 2) == 1: the inner '/' divides, the last closes.
	b, ok := p.Pred.(*Binary)
	if !ok || b.Op != EQL {
		t.Fatalf("predicate = %#v, want ==", p.Pred)
	}
	if d, ok := b.X.(*Binary); !ok || d.Op != QUO {
		t.Fatalf("predicate lhs = %#v, want /", b.X)
	}
	// C precedence: 1 + 2*3 - 4 is (1 + (2*3)) - 4.
	as := p.Body[0].(*AssignStmt)
	if got := exprString(as.Value); got != "((1 + (2 * 3)) - 4)" {
		t.Errorf("precedence: %s", got)
	}
	if len(as.Target.(*MapExpr).Keys) != 2 {
		t.Error("tuple key not parsed")
	}
	if st := p.Body[1].(*AssignStmt); st.Op != ADD_ASSIGN || st.Value.(*IntLit).Value != 16 {
		t.Errorf("compound assignment: %+v", st)
	}
	ifs := p.Body[2].(*IfStmt)
	if len(ifs.Else) != 1 {
		t.Fatalf("else-if not nested: %+v", ifs.Else)
	}
	if _, ok := ifs.Else[0].(*IfStmt); !ok {
		t.Errorf("else-if is %T", ifs.Else[0])
	}
}

// exprString prints an expression fully parenthesized, to test precedence.
func exprString(e Expr) string {
	switch e := e.(type) {
	case *IntLit:
		return e.Raw
	case *Builtin:
		return e.Name
	case *Binary:
		return "(" + exprString(e.X) + " " + e.Op.String() + " " + exprString(e.Y) + ")"
	case *Unary:
		return e.Op.String() + exprString(e.X)
	case *Ternary:
		return "(" + exprString(e.Cond) + " ? " + exprString(e.Then) + " : " + exprString(e.Else) + ")"
	}
	return "?"
}

func TestPrecedence(t *testing.T) {
	for _, c := range []struct{ src, want string }{
		{"1 | 2 ^ 3 & 4", "(1 | (2 ^ (3 & 4)))"},
		{"1 << 2 + 3", "(1 << (2 + 3))"},
		{"1 < 2 == 3 > 4", "((1 < 2) == (3 > 4))"},
		{"1 || 2 && 3", "(1 || (2 && 3))"},
		{"-1 * ~2", "(-1 * ~2)"},
		{"!1 == 0", "(!1 == 0)"},
		{"1 ? 2 : 3 ? 4 : 5", "(1 ? 2 : (3 ? 4 : 5))"},
		{"10 - 3 - 2", "((10 - 3) - 2)"},
		{"pid % 3 / 2", "((pid % 3) / 2)"},
	} {
		prog, err := Parse("-e", []byte("BEGIN { $x = "+c.src+"; }"))
		if err != nil {
			t.Errorf("%s: %v", c.src, err)
			continue
		}
		got := exprString(prog.Probes[0].Body[0].(*AssignStmt).Value)
		if got != c.want {
			t.Errorf("%s: got %s, want %s", c.src, got, c.want)
		}
	}
}

func TestIntLiterals(t *testing.T) {
	for lit, want := range map[string]uint64{
		"0": 0, "42": 42, "0x2a": 42, "0X2A": 42, "052": 42, "1_000_000": 1000000,
		"1e6": 1000000, "42u": 42, "42UL": 42, "42ll": 42, "0x10ull": 16,
		"18446744073709551615": 1<<64 - 1,
	} {
		got, err := ParseInt(lit)
		if err != nil || got != want {
			t.Errorf("ParseInt(%q) = %d, %v; want %d", lit, got, err, want)
		}
	}
	for _, lit := range []string{"18446744073709551616", "09", "0x", "1_", "1e99", "12ab", "0xg"} {
		if v, err := ParseInt(lit); err == nil {
			t.Errorf("ParseInt(%q) = %d, want an error", lit, v)
		}
	}
}

func TestStringEscapes(t *testing.T) {
	prog, err := Parse("-e", []byte(`BEGIN { printf("a\tb\n\\\"\x41\101\0z"); }`))
	if err != nil {
		t.Fatal(err)
	}
	got := prog.Probes[0].Body[0].(*ExprStmt).X.(*Call).Args[0].(*StrLit).Value
	if want := "a\tb\n\\\"AA\x00z"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestComments(t *testing.T) {
	prog, err := Parse("-e", []byte("/* head */ BEGIN // line\n{ /* in\nside */ exit(); } // tail"))
	if err != nil {
		t.Fatal(err)
	}
	if len(prog.Probes) != 1 || len(prog.Probes[0].Body) != 1 {
		t.Errorf("got %s", prog)
	}
}

// TestParseErrors checks the whole text of errors: position, message,
// source line and caret.
func TestParseErrors(t *testing.T) {
	for _, c := range []struct{ src, want string }{
		{"BEGIN { printf(\"%d\", pidd); }",
			"-e:1:22: unknown builtin \"pidd\"; did you mean \"pid\"?\nBEGIN { printf(\"%d\", pidd); }\n                     ^"},
		{"BEGIN { prinf(\"x\"); }",
			"-e:1:9: unknown function \"prinf\"; did you mean \"printf\"?\nBEGIN { prinf(\"x\"); }\n        ^"},
		{"kprobe:f {\n\t@x = 1\n\t@y = 2;\n}",
			"-e:3:2: expected ';' or '}' after the statement, found @y\n\t@y = 2;\n\t^"},
		{"kprob:vfs_read { }",
			"-e:1:1: unknown probe type \"kprob\"; did you mean \"kprobe\"? (valid: kprobe, kretprobe, uprobe, uretprobe, usdt, tracepoint, rawtracepoint, fentry, fexit, lsm, BEGIN, END, interval, profile, software, hardware)\nkprob:vfs_read { }\n^"},
		{"tracepoint:sched { }",
			"-e:1:1: tracepoint probe must be written tracepoint:SYSTEM:EVENT, found \"tracepoint:sched\"\ntracepoint:sched { }\n^"},
		{"interval:m:1 { }",
			"-e:1:10: unknown interval unit \"m\": expected interval:UNIT:N or interval:NUNIT (UNIT one of s, ms, us)\ninterval:m:1 { }\n         ^"},
		{"BEGIN { printf(\"abc); }",
			"-e:1:16: string literal not terminated: expected a closing '\"' on the same line\nBEGIN { printf(\"abc); }\n               ^"},
		{"BEGIN { $x = 0x; }",
			"-e:1:14: integer literal 0x is not a valid integer: expected decimal (42, 1_000, 1e6), hex (0x2a) or octal (052), optionally with a u/l/ul/ll/ull suffix\nBEGIN { $x = 0x; }\n             ^"},
		{"BEGIN { 1 = 2; }",
			"-e:1:11: cannot assign to an integer literal: only a variable ($x) or a map (@x, @x[key]) can be assigned\nBEGIN { 1 = 2; }\n          ^"},
		{"BEGIN /* never closed",
			"-e:1:7: comment not terminated: expected \"*/\"\nBEGIN /* never closed\n      ^"},
		{"", "-e:1:1: expected a probe, such as BEGIN { ... } or tracepoint:syscalls:sys_enter_openat { ... }"},
		{"BEGIN { count; }",
			"-e:1:9: count is a function: call it as count(...)\nBEGIN { count; }\n        ^"},
	} {
		_, err := Parse("-e", []byte(c.src))
		if err == nil {
			t.Errorf("Parse(%q) succeeded, want error", c.src)
			continue
		}
		if got := err.Error(); !strings.HasPrefix(got, c.want) {
			t.Errorf("Parse(%q):\n got %q\nwant %q", c.src, got, c.want)
		}
		if _, ok := AsErrorList(err); !ok {
			t.Errorf("Parse(%q) error is %T, want ErrorList", c.src, err)
		}
	}
}

// FuzzParse drives the whole pipeline: what parses must check, and what
// checks must compile, for two kinds of kernel (every helper and a ring
// buffer; the old helpers and a perf event array), without panicking and
// with every error positioned. Seeds are the one-liner corpora and
// bpftrace's tools; positional parameters and kaddr() resolve.
func FuzzParse(f *testing.F) {
	for _, file := range []string{filepath.Join(corpusDir, "oneliners.txt"), filepath.Join("testdata", "oneliners.txt")} {
		lines, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		for _, l := range strings.Split(string(lines), "\n") {
			if _, src, ok := strings.Cut(l, " | "); ok {
				l = src
			}
			if l != "" && l[0] != '#' {
				f.Add(l)
			}
		}
	}
	tools, _ := filepath.Glob(filepath.Join("testdata", "bpftrace-tools", "*.bt"))
	// The real scripts of the corpus (testdata/corpus/SOURCES).
	filepath.WalkDir(filepath.Join("testdata", "corpus"), func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".bt") {
			tools = append(tools, path)
		}
		return nil
	})
	for _, t := range tools {
		b, err := os.ReadFile(t)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
	f.Add(`k:f { signal("KILL"); signal(arg0); system("echo %d %s", pid, comm); } BEGIN { signal(SIGUSR1); }`)
	f.Add("#define F(a, b) ((a) * (b) + X)\n#define X 2\n#ifdef X\nBEGIN { @[F($1, 3)] = count(); printf(\"%s\\n\", str($2)); }\n#endif\n")
	// Struct definitions (structdef.go): layouts, bitfields, nesting, and
	// member chains, sizeof and offsetof on them.
	f.Add(layoutDefs + `kprobe:f { $m = (struct mix *)arg0; $b = (struct bf *)arg1; @[$m->a[2], $b->e, ((struct un *)arg2)->u.ll] = count(); @s = sizeof(struct bf2) + offsetof(struct mix, tail); }`)
	f.Add("struct a { struct a *next; union { u8 x : 3; struct { long y[2][3]; } in; }; char *s; };\nuprobe:/bin/sh:main { printf(\"%d %s\\n\", ((a *)arg0)->next->in.y[1][2], str(((struct a *)arg0)->s)); }")
	amd64, err := asm.ArchFor("amd64")
	if err != nil {
		f.Fatal(err)
	}
	old := Options{Arch: amd64, Output: OutputPerfEventArray,
		HaveHelper: func(bpf.ProgramType, asm.BuiltinFunc) bool { return false }}
	positioned := func(t *testing.T, step string, err error) {
		l, ok := AsErrorList(err)
		if !ok {
			t.Fatalf("%s error of type %T: %v", step, err, err)
		}
		for _, e := range l {
			if !e.Pos.IsValid() {
				t.Fatalf("%s error without position: %v", step, e)
			}
		}
	}
	f.Fuzz(func(t *testing.T, src string) {
		prog, err := Parse("fuzz", []byte(src))
		if err != nil {
			positioned(t, "Parse", err)
			return
		}
		_ = prog.String()
		copts := CheckOptions{Formats: fixtureFormats, Params: []string{"1", "abc"},
			KernelSymbol: func(string) (uint64, error) { return 0xffffffff81000000, nil },
			Unsafe:       len(src)%3 != 0} // system() and signal() checked and compiled too
		if len(prog.Structs) > 0 && len(src)%2 == 0 {
			// A script's structs on top of the kernel's types, half the time.
			copts.BTF = fixtureBTF(t)
		}
		info, err := Check(prog, copts)
		if err != nil {
			positioned(t, "Check", err)
			return
		}
		for _, opts := range []Options{{Arch: amd64}, old} {
			if _, err := Compile(prog, info, opts); err != nil {
				positioned(t, "Compile", err)
			}
		}
	})
}

// FuzzDefine: any -D text either is refused with an error or, used in a
// script, parses to a program or to positioned errors; nothing panics.
func FuzzDefine(f *testing.F) {
	for _, s := range []string{"PID=42", "DISK=\"sda\"", "X", "=1", "A=-1", "B=0x10", "C=\"a\\\"b\"", "D=1 2", "E=(1)", "F=\""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDefine(s)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("an empty error")
			}
			return
		}
		src := "BEGIN { @x[" + d.Name + "] = count(); printf(\"%d\\n\", 1); }\n#if " + d.Name + "\nEND { exit(); }\n#endif\n"
		if _, err := ParseWith("fuzz", []byte(src), ParseOptions{Defines: []Define{d}}); err != nil {
			if l, ok := AsErrorList(err); ok {
				for _, e := range l {
					if !e.Pos.IsValid() {
						t.Fatalf("error without position: %v", e)
					}
				}
				return
			}
			t.Fatalf("error of type %T: %v", err, err)
		}
	})
}

func TestScanner(t *testing.T) {
	s := NewScanner("x", []byte("@a[1] += $b->c // x\n/* y */ \"s\\n\" 0x1f ~"))
	var got []string
	for {
		pos, tok, lit := s.Scan()
		if tok == EOF {
			break
		}
		got = append(got, pos.String()+" "+tok.String()+" "+lit)
	}
	want := "1:1 MAP a|1:3 [ |1:4 INT 1|1:5 ] |1:7 += |1:10 VAR b|1:12 -> |1:14 IDENT c|2:9 STRING s\n|2:15 INT 0x1f|2:20 ~ "
	if g := strings.Join(got, "|"); g != want {
		t.Errorf("got  %q\nwant %q", g, want)
	}
	if len(s.Errors()) != 0 {
		t.Error(s.Errors())
	}
	s = NewScanner("x", []byte("`"))
	if _, tok, _ := s.Scan(); tok != ILLEGAL || len(s.Errors()) != 1 {
		t.Errorf("backquote: %v %v", tok, s.Errors())
	}
}

// A quoted part of an attach point holds ':' and the characters of a C++
// symbol; the quotes go, and errors still point into the text.
func TestQuotedAttach(t *testing.T) {
	prog, err := Parse("-e", []byte(`uprobe:/bin/x:"ns::fn(char const*)", uretprobe:"/opt/a b/lib.so":"main.x" { @ = count(); }`))
	if err != nil {
		t.Fatal(err)
	}
	a, b := prog.Probes[0].Attach[0], prog.Probes[0].Attach[1]
	if a.Target != "/bin/x" || a.Func != "ns::fn(char const*)" || b.Target != "/opt/a b/lib.so" || b.Func != "main.x" {
		t.Errorf("got %q %q and %q %q", a.Target, a.Func, b.Target, b.Func)
	}
	_, err = Parse("-e", []byte(`uprobe:/bin/x:"fn { @ = count(); }`))
	if err == nil || !strings.HasPrefix(err.Error(), `-e:1:15: the quote in uprobe:/bin/x:"fn { @ = count(); } is not closed`) {
		t.Errorf("an open quote: %v", err)
	}
	_, err = Parse("-e", []byte(`uprobe:"/bin/x":"" { @ = count(); }`))
	if err == nil || !strings.HasPrefix(err.Error(), `-e:1:17: uprobe probe must be written`) {
		t.Errorf("an empty quoted part: %v", err)
	}
}
