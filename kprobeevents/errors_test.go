package kprobeevents

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/tracelet/tracelet/internal/testenv"
)

// errorRow is one line of testdata/kprobeevents/errors*.txt.
type errorRow struct {
	kind   ErrorKind
	col    int
	target Target
	def    string
	line   int
}

// loadErrorTable reads a table with the loader the VM suite shares.
func loadErrorTable(t *testing.T, name string) []errorRow {
	t.Helper()
	in, err := testenv.LoadErrorTable(filepath.Join("..", "testdata", "kprobeevents", name))
	if err != nil {
		t.Fatal(err)
	}
	tg := map[string]Target{"kprobe": TargetKprobe, "uprobe": TargetUprobe, "auto": TargetAuto}
	var rows []errorRow
	for _, r := range in {
		kind, ok := ParseErrorKind(r.Kind)
		if !ok {
			t.Fatalf("%s: unknown kind %q", r, r.Kind)
		}
		rows = append(rows, errorRow{kind, r.Col, tg[r.Target], r.Def, r.Line})
	}
	return rows
}

// errorTables pairs each table with the kernels whose behaviour it records
// (testenv.ErrorTables, which the VM suite uses too).
var errorTables = func() []struct {
	file    string
	kernels []Kernel
} {
	var out []struct {
		file    string
		kernels []Kernel
	}
	for _, tab := range testenv.ErrorTables {
		var ks []Kernel
		for _, k := range tab.Kernels {
			kv := Kernel{}
			if k != "" {
				kv, _ = ParseKernel(k)
			}
			ks = append(ks, kv)
		}
		out = append(out, struct {
			file    string
			kernels []Kernel
		}{tab.File, ks})
	}
	return out
}()

func TestKernelErrorTables(t *testing.T) {
	for _, tab := range errorTables {
		rows := loadErrorTable(t, tab.file)
		for _, k := range tab.kernels {
			for _, arch := range []Arch{ArchX86_64, ArchARM64} {
				for _, r := range rows {
					def := r.def
					if arch == ArchARM64 {
						def = testenv.X86ToARM64(def) // as the VM suite does for its arm64 guest
					}
					opts := Options{Arch: arch, Target: r.target, Kernel: k}
					_, err := Parse(def, opts)
					where := tab.file + ":" + strconv.Itoa(r.line) + " (" + k.String() + ", " + arch.String() + ")"
					if r.kind.RunTime() {
						if err != nil {
							t.Errorf("%s: %s is only known at run time, but Parse failed: %v", where, r.kind, err)
						}
						continue
					}
					var e *Error
					if !errors.As(err, &e) {
						t.Errorf("%s: Parse(%q) = %v, want %s at col %d", where, def, err, r.kind, r.col)
						continue
					}
					if e.Kind != r.kind || e.Col != r.col {
						t.Errorf("%s: Parse(%q): got %s col %d (%s), want %s col %d\n%s", where, def, e.Kind, e.Col, e.Msg, r.kind, r.col, e.Caret())
					}
					if e.Input != def {
						t.Errorf("%s: Input = %q, want the definition %q", where, e.Input, def)
					}
				}
			}
		}
	}
}

// TestEveryKernelClassHasACase makes the tables cover every class a static
// check can produce.
func TestEveryKernelClassHasACase(t *testing.T) {
	seen := map[ErrorKind]bool{}
	for _, tab := range errorTables {
		for _, r := range loadErrorTable(t, tab.file) {
			seen[r.kind] = true
		}
	}
	for _, k := range ErrorKinds {
		if !k.Kernel() || k.RunTime() {
			continue
		}
		if !seen[k] {
			t.Errorf("no case in testdata/kprobeevents/errors*.txt for %s", k)
		}
	}
}

func TestErrorKindNames(t *testing.T) {
	if len(ErrorKinds) != int(lastKernelKind)+int(DEF_TOO_LONG-UNSAFE_CHAR+1) {
		t.Fatalf("ErrorKinds has %d entries", len(ErrorKinds))
	}
	for _, k := range ErrorKinds {
		s := k.String()
		if strings.HasPrefix(s, "ErrorKind(") {
			t.Errorf("kind %d has no name", int(k))
		}
		back, ok := ParseErrorKind(s)
		if !ok || back != k {
			t.Errorf("ParseErrorKind(%q) = %v, %v", s, back, ok)
		}
		if k.Kernel() {
			if k.KernelText() == "" {
				t.Errorf("%s has no kernel text", k)
			}
			if got, ok := KindOfMessage(k.KernelText()); !ok || got != k {
				t.Errorf("KindOfMessage(%q) = %v", k.KernelText(), got)
			}
		}
	}
	if k, ok := KindOfMessage("Invalid $-valiable specified"); !ok || k != BAD_VAR {
		t.Errorf("old BAD_VAR spelling not recognised")
	}
}

// TestErrorLogFixture reads error_log entries recorded from the 6.18 kernel
// of the development host and checks Parse blames the same class and column.
func TestErrorLogFixture(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "testdata", "kprobeevents", "error_log-6.18.txt"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	n := 0
	for i := 0; i+2 < len(lines); i++ {
		if !strings.Contains(lines[i], " error: ") || !strings.HasPrefix(lines[i+1], "  Command: ") {
			continue
		}
		msg := lines[i][strings.Index(lines[i], " error: ")+8:]
		kind, ok := KindOfMessage(msg)
		if !ok {
			t.Errorf("unknown error_log message %q", msg)
			continue
		}
		cmd := strings.TrimPrefix(lines[i+1], "  Command: ")
		col := strings.IndexByte(lines[i+2], '^') - len("  Command: ")
		target := TargetUprobe
		if strings.HasPrefix(lines[i], "[") && strings.Contains(lines[i], "trace_kprobe") {
			target = TargetKprobe
		}
		_, err := Parse(cmd, Options{Arch: ArchX86_64, Target: target, Kernel: Kernel{6, 18}})
		n++
		if kind.RunTime() {
			if err != nil {
				t.Errorf("%q: kernel said %s (run-time only), Parse said %v", cmd, kind, err)
			}
			continue
		}
		var e *Error
		if !errors.As(err, &e) || e.Kind != kind || e.Col != col {
			t.Errorf("%q: kernel logged %s at col %d, Parse said %v", cmd, kind, col, err)
		}
		if e != nil && e.Caret() != lines[i+1]+"\n"+lines[i+2] {
			t.Errorf("Caret() =\n%s\nkernel error_log:\n%s\n%s", e.Caret(), lines[i+1], lines[i+2])
		}
	}
	if n < 8 {
		t.Fatalf("only %d entries in the fixture", n)
	}
}

func TestOwnErrorKinds(t *testing.T) {
	tests := []struct {
		def    string
		target Target
		kernel Kernel
		kind   ErrorKind
		col    int
	}{
		{"p:a/b vfs_read\np:c/d vfs_read", TargetAuto, Kernel{}, UNSAFE_CHAR, 14},
		{"p:a/b vfs_read a=\\\"x;y\"", TargetAuto, Kernel{}, UNSAFE_CHAR, 20},
		{"p:a/b vfs_read a=\\\"x#y\"", TargetAuto, Kernel{}, UNSAFE_CHAR, 20},
		{"p:a/b vfs_read\x00", TargetAuto, Kernel{}, UNSAFE_CHAR, 14},
		{"p:a/b vfs_read\r", TargetAuto, Kernel{}, UNSAFE_CHAR, 14},
		{"p:a/b vfs_read \x1b[31m", TargetAuto, Kernel{}, UNSAFE_CHAR, 15},
		{"", TargetAuto, Kernel{}, BAD_COMMAND, 0},
		{"   \t ", TargetAuto, Kernel{}, BAD_COMMAND, 0},
		{"x:a/b vfs_read", TargetAuto, Kernel{}, NOT_PROBE, 0},
		{"s:a/b sched/sched_switch", TargetAuto, Kernel{}, NOT_PROBE, 0},
		{"f:fprobes/x vfs_read", TargetKprobe, Kernel{}, WRONG_FILE, 0},
		{"f:fprobes/x vfs_read", TargetAuto, Kernel{6, 4}, NOT_SUPPORTED, 0},
		{"t:a/b sched_switch", TargetAuto, Kernel{6, 1}, NOT_SUPPORTED, 0},
		{"e:a/b sched.sched_switch", TargetAuto, Kernel{5, 10}, NOT_SUPPORTED, 0},
		{"e:a/b sched.sched_switch x=%ax", TargetAuto, Kernel{5, 10}, BAD_VAR, 27},
		{"fx vfs_read", TargetAuto, Kernel{6, 12}, BAD_COMMAND, 1},
		{"fx vfs_read", TargetAuto, Kernel{}, BAD_MAXACT, 1},
		{"f100 vfs_read", TargetAuto, Kernel{6, 18}, BAD_MAXACT, 1},
		{"f100 vfs_read%return", TargetAuto, Kernel{6, 14}, BAD_MAXACT, 1},
		{"t100 kfree", TargetAuto, Kernel{6, 18}, BAD_MAXACT, 1},
		{"f100 vfs_read", TargetAuto, Kernel{6, 13}, BAD_MAXACT_TYPE, 1},
		{"f5000 vfs_read%return", TargetAuto, Kernel{6, 12}, MAXACT_TOO_BIG, 1},
		{"?oops", TargetAuto, Kernel{}, BAD_COMMAND, 0},
		{"p:a/b", TargetAuto, Kernel{}, BAD_COMMAND, 5},
		{"pfoo:a/b vfs_read", TargetAuto, Kernel{}, BAD_COMMAND, 1},
		{"r5:a/b /bin/true:0x10", TargetUprobe, Kernel{}, BAD_COMMAND, 1},
		{"p:a/b /bin/true:0x10", TargetKprobe, Kernel{}, WRONG_FILE, 6},
		{"p:a/b vfs_read", TargetUprobe, Kernel{}, WRONG_FILE, 6},
		{"p:a/b /bin/true:main", TargetAuto, Kernel{}, BAD_COMMAND, 6},
		{"p:a/b vfs_read%return", TargetKprobe, Kernel{5, 4}, NOT_SUPPORTED, 14},
		{"p:a/b /bin/true:0x10%return", TargetUprobe, Kernel{5, 4}, NOT_SUPPORTED, 20},
		{"r8:a/b vfs_read", TargetKprobe, Kernel{4, 9}, NOT_SUPPORTED, 1},
		{"p:a/b vfs_read x=$arg1", TargetKprobe, Kernel{4, 19}, NOT_SUPPORTED, 17},
		{"r:a/b vfs_read x=$arg1", TargetKprobe, Kernel{6, 9}, NOFENTRY_ARGS, 17},
		{"p:a/b vfs_read x=+u0(%di)", TargetKprobe, Kernel{5, 2}, NOT_SUPPORTED, 17},
		{"p:a/b vfs_read x=+0(%di):ustring", TargetKprobe, Kernel{5, 2}, BAD_TYPE, 25},
		{"p:a/b vfs_read x=+0(%di):char", TargetKprobe, Kernel{6, 2}, BAD_TYPE, 25},
		{"p:a/b vfs_read x=%di:symstr", TargetKprobe, Kernel{6, 0}, BAD_TYPE, 21},
		{"p:a/b vfs_read x=%di:%pd", TargetKprobe, Kernel{6, 9}, NOT_SUPPORTED, 21},
		{"p:a/b vfs_read $arg*", TargetKprobe, Kernel{6, 4}, BAD_VAR, 15},
		{"p:a/b vfs_read " + strings.Repeat("x", 4100), TargetKprobe, Kernel{}, DEF_TOO_LONG, maxLineLen},
		{"-:a/b extra", TargetAuto, Kernel{}, BAD_COMMAND, 6},
		{"-a/b", TargetAuto, Kernel{}, BAD_COMMAND, 1},
		{"-:a/", TargetAuto, Kernel{}, NO_EVENT_NAME, 4},
		{"-:/b", TargetAuto, Kernel{}, NO_GROUP_NAME, 2},
		{"-:a/b-c", TargetAuto, Kernel{}, BAD_EVENT_NAME, 4},
		{"p:a/b 0", TargetKprobe, Kernel{}, FAIL_REG_PROBE, 6},
		{"p:a/b vfs_read x=+0(%di)junk", TargetKprobe, Kernel{}, BAD_FETCH_ARG, 24},
		{"p /usr/bin/a+b:0x10", TargetUprobe, Kernel{}, BAD_EVENT_NAME, 1},
	}
	for _, tt := range tests {
		_, err := Parse(tt.def, Options{Arch: ArchX86_64, Target: tt.target, Kernel: tt.kernel})
		var e *Error
		if !errors.As(err, &e) || e.Kind != tt.kind || e.Col != tt.col {
			t.Errorf("Parse(%.60q, %s, %s) = %v, want %s at col %d", tt.def, tt.target, tt.kernel, err, tt.kind, tt.col)
			continue
		}
		if e.Msg == "" {
			t.Errorf("Parse(%.60q): empty message", tt.def)
		}
		if !errors.Is(err, &Error{Kind: tt.kind}) {
			t.Errorf("errors.Is(%v, %s) = false", err, tt.kind)
		}
	}
}

func TestErrorText(t *testing.T) {
	_, err := Parse("p:kprobes/foo do_sys_open $retval", Options{Arch: ArchX86_64})
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("want *Error, got %v", err)
	}
	want := `probe "p:kprobes/foo do_sys_open $retval", col 26: RETVAL_ON_PROBE: $retval is only valid on return probes ($retval needs a return probe: r:EVENT SYM or p:EVENT SYM%return)`
	if e.Error() != want {
		t.Errorf("Error() =\n%s\nwant\n%s", e.Error(), want)
	}
	caret := "  Command: p:kprobes/foo do_sys_open $retval\n" + strings.Repeat(" ", 11+26) + "^"
	if e.Caret() != caret {
		t.Errorf("Caret() =\n%s\nwant\n%s", e.Caret(), caret)
	}
}

// TestColumnsCountNormalisedSpaces: the kernel rebuilds the command from its
// words, so extra blanks do not move the caret.
func TestColumnsCountNormalisedSpaces(t *testing.T) {
	_, err := Parse("  p:a/b\t\tvfs_read    $retval  ", Options{Arch: ArchX86_64})
	var e *Error
	if !errors.As(err, &e) || e.Col != 15 || e.Input != "p:a/b vfs_read $retval" {
		t.Fatalf("got %v", err)
	}
}

func TestForeignRegister(t *testing.T) {
	tests := []struct {
		arch      Arch
		reg, want string
	}{
		{ArchARM64, "di", "%di is an x86_64 register, not an arm64 one"},
		{ArchX86_64, "x0", "%x0 is an arm64 register, not an x86_64 one"},
		{ArchRISCV64, "r8", "%r8 is an x86_64 register"},
		{ArchX86_64, "a0", "%a0 is a riscv64 register"},
		{ArchX86_64, "gpr3", "%gpr3 is a powerpc64 register"},
		{ArchX86_64, "cpsr", "%cpsr is an arm register"},
	}
	for _, tt := range tests {
		_, err := Parse("p:a/b vfs_read x=%"+tt.reg, Options{Arch: tt.arch})
		var e *Error
		if !errors.As(err, &e) || e.Kind != BAD_REG_NAME || e.Col != 17 {
			t.Errorf("%s %%%s: got %v", tt.arch, tt.reg, err)
			continue
		}
		if !strings.Contains(e.Msg, tt.want) || !strings.Contains(e.Hint, "on "+tt.arch.String()+" use") {
			t.Errorf("%s %%%s: message %q hint %q", tt.arch, tt.reg, e.Msg, e.Hint)
		}
	}
	_, err := Parse("p:a/b vfs_read x=%zz", Options{Arch: ArchARM64})
	if err == nil || !strings.Contains(err.Error(), "%x0..%x30") {
		t.Errorf("unknown register: %v", err)
	}
}

// TestArgNOnARM: the 32-bit arm kernel has no $argN
// (CONFIG_HAVE_FUNCTION_ARG_ACCESS_API) and refuses it with BAD_VAR at the
// '$', as the VM suite's armhf guest showed; the registers are the way.
func TestArgNOnARM(t *testing.T) {
	opts := Options{Arch: ArchARM, Target: TargetKprobe}
	var pe *Error
	if _, err := Parse("p:g/e vfs_read a=$arg1", opts); !errors.As(err, &pe) || pe.Kind != BAD_VAR || pe.Col != 17 {
		t.Errorf("$arg1 on arm: %v, want BAD_VAR at column 17", err)
	}
	if _, err := Parse("p:g/e vfs_read a=%r0", opts); err != nil {
		t.Errorf("%%r0 on arm: %v", err)
	}
	if _, err := Parse("p:g/e vfs_read a=$arg1", Options{Arch: ArchI386, Target: TargetKprobe}); err != nil {
		t.Errorf("$arg1 on i386: %v", err)
	}
}
