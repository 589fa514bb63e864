package tracefs

import (
	"errors"
	"io/fs"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestWriteErrorIs(t *testing.T) {
	for errno, sentinel := range map[unix.Errno]error{
		unix.ENOENT: ErrNotFound, unix.EINVAL: ErrInvalid, unix.EILSEQ: ErrBadBoundary, unix.ERANGE: ErrOutOfRange,
		unix.EBUSY: ErrBusy, unix.EEXIST: ErrExist, unix.EPERM: ErrPermission, unix.EACCES: ErrPermission,
	} {
		err := error(&WriteError{File: KprobeEvents, Def: "p:g/e f", Err: errno})
		if !errors.Is(err, sentinel) || !errors.Is(err, errno) {
			t.Errorf("%v: not %v", errno, sentinel)
		}
		for _, other := range []error{ErrNotFound, ErrInvalid, ErrBadBoundary, ErrOutOfRange, ErrBusy, ErrExist} {
			if other != sentinel && errors.Is(err, other) {
				t.Errorf("%v matches %v too", errno, other)
			}
		}
		if !strings.Contains(err.Error(), "p:g/e f") || !strings.Contains(err.Error(), sentinel.Error()) {
			t.Errorf("message %q", err)
		}
	}
	if !errors.Is(&WriteError{Err: unix.ENOENT}, fs.ErrNotExist) {
		t.Error("ENOENT is not fs.ErrNotExist")
	}
}

func TestCheckCommand(t *testing.T) {
	for _, bad := range []string{"", "  ", "a\nb", "a\rb", "a\x00b", "p:a/b x;-:c/d", strings.Repeat("x", 4096)} {
		if err := checkCommand("definition", bad); err == nil {
			t.Errorf("checkCommand(%q) accepted", bad)
		}
	}
	if err := checkCommand("definition", "p:tracelet_1/x /bin/true:0x10 a=%di:u64 s=+0(%si):string"); err != nil {
		t.Error(err)
	}
	err := checkCommand("definition", "p:a/b x;-:c/d")
	if err == nil || !strings.Contains(err.Error(), "col 7:") {
		t.Errorf("error lacks the caret column of ';' (7): %v", err)
	}
	for _, bad := range []string{"", "a/b", "1abc", "a-b", strings.Repeat("a", 64), "a b"} {
		if checkName("event", bad) == nil {
			t.Errorf("checkName(%q) accepted", bad)
		}
	}
}

// TestColumnsAreCaretOffsets: every "col N" tracefs prints is the 0-based
// offset of the offending byte, as the kernel's caret in error_log and in a
// filter file and as kprobeevents' errors, never a 1-based column.
func TestColumnsAreCaretOffsets(t *testing.T) {
	_, _, symErr := splitSymOff("malloc+zz")
	colRE := regexp.MustCompile(`\bcol (\d+)\b`)
	for _, c := range []struct {
		err error
		in  string // the text the column counts in
		at  string // what the column must point at
	}{
		{checkCommand("definition", "p:a/b x;-:c/d"), "p:a/b x;-:c/d", ";"},
		{checkName("event", "ab-c"), "ab-c", "-"},
		{checkName("group", "9ab"), "9ab", "9"},
		{CheckFilter("pid > 1\n"), "pid > 1\n", "\n"},
		{CheckFilter("pid > 1; pid < 9"), "pid > 1; pid < 9", ";"},
		{checkPlanName("my-plan"), "my-plan", "-"},
		{symErr, "malloc+zz", "zz"},
		{&WriteError{File: UprobeEvents, Def: "p:g/e /bin/x:0x10 a=%zz", Err: unix.EINVAL,
			Log: &ErrorLogEntry{Location: "trace_uprobe", Message: "Invalid fetch argument", Column: 20}},
			"p:g/e /bin/x:0x10 a=%zz", "%zz"},
		{&FilterError{System: "s", Event: "e", Expr: "nosuch > 1", Reason: "Field not found", Column: 7, Err: unix.EINVAL},
			"nosuch > 1", "> 1"},
	} {
		if c.err == nil {
			t.Errorf("%q: no error", c.in)
			continue
		}
		want := strconv.Itoa(strings.Index(c.in, c.at))
		if m := colRE.FindStringSubmatch(c.err.Error()); m == nil || m[1] != want {
			t.Errorf("%q: want col %s (at %q): %v", c.in, want, c.at, c.err)
		}
	}
}

// TestCheckFilter: one line, no NUL and no ';', even in a string constant
// (the grammar has none; ~ "a?b" is how to match one).
func TestCheckFilter(t *testing.T) {
	for _, ok := range []string{`pid > 1`, `comm == "bash" && (pid > 1 || prio < 100)`, `comm ~ "a?b"`} {
		if err := CheckFilter(ok); err != nil {
			t.Errorf("CheckFilter(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"", "  ", "pid > 1\n", "pid > 1\rx", "pid\x00 > 1", "pid > 1; pid < 9", `comm == "a;b"`, strings.Repeat("x", 4096)} {
		if err := CheckFilter(bad); err == nil {
			t.Errorf("CheckFilter(%q) accepted", bad)
		}
	}
}

func TestMapNormalizedColumn(t *testing.T) {
	def := "p:g/e   /bin/x:0x10    a=%zz  b=1"
	norm := strings.Join(strings.Fields(def), " ")
	for _, tok := range []string{"p:g/e", "/bin/x", "a=%zz", "%zz", "b=1", "1"} {
		col := strings.Index(norm, tok)
		if got := mapNormalizedColumn(def, col); !strings.HasPrefix(def[got:], tok) {
			t.Errorf("column of %q: %d -> %q", tok, col, def[got:])
		}
	}
	// The caret may sit one past the end (a missing argument).
	if got := mapNormalizedColumn(def, len(norm)); got != len(def) {
		t.Errorf("end column %d, want %d", got, len(def))
	}
}

func TestParseFilterError(t *testing.T) {
	r, c := ParseFilterError([]byte("filename ==\n           ^\nparse_error: Invalid value (did you forget quotes)?\n"))
	if r != "Invalid value (did you forget quotes)?" || c != 11 {
		t.Errorf("%q %d", r, c)
	}
	if r, c := ParseFilterError([]byte("none\n")); r != "" || c != -1 {
		t.Errorf("no error: %q %d", r, c)
	}
}

func TestParseDynamicEvents(t *testing.T) {
	in := "p:tracelet_1/a /bin/x:0x0000000000001000 a=%di:u64\n" +
		"r10:kprobes/b do_sys_open\n" +
		"e:eprobes/c syscalls/sys_enter_openat\n" +
		"s:synthetic/d u64 lat\n" +
		"oldsynth u64 lat\n\n"
	evs := ParseDynamicEvents([]byte(in))
	want := []DynamicEvent{
		{"p", "tracelet_1", "a", "p:tracelet_1/a /bin/x:0x0000000000001000 a=%di:u64"},
		{"r10", "kprobes", "b", "r10:kprobes/b do_sys_open"},
		{"e", "eprobes", "c", "e:eprobes/c syscalls/sys_enter_openat"},
		{"s", "synthetic", "d", "s:synthetic/d u64 lat"},
		{"", "", "oldsynth", "oldsynth u64 lat"},
	}
	if len(evs) != len(want) {
		t.Fatalf("%d events", len(evs))
	}
	for i := range want {
		if evs[i] != want[i] {
			t.Errorf("%d: %+v, want %+v", i, evs[i], want[i])
		}
	}
}
