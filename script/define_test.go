package script

import (
	"strings"
	"testing"
)

func TestParseDefine(t *testing.T) {
	for _, c := range []struct{ in, name, value, err string }{
		{in: "PID=42", name: "PID", value: "42"},
		{in: "PID=0x2a", name: "PID", value: "0x2a"},
		{in: "N=-1", name: "N", value: "-1"},
		{in: "MSECS", name: "MSECS", value: "1"},
		{in: `DISK="sda"`, name: "DISK", value: `"sda"`},
		{in: "PID=", err: `-D PID=: the value must be one integer`},
		{in: "PID=4x2", err: `-D PID=4x2: integer literal 4x2 is not a valid integer`},
		{in: "PID=1 2", err: `-D PID=1 2: the value must be one integer`},
		{in: "DISK=sda", err: `-D DISK=sda: the value must be one integer`},
		{in: `DISK="sda`, err: `-D DISK="sda: the value must be one integer`},
		{in: "1X=2", err: `-D 1X=2: "1X" is not a macro name`},
		{in: "=2", err: `-D =2: "" is not a macro name`},
		{in: "BPFTRACE_HAVE_BTF=0", err: "-D BPFTRACE_HAVE_BTF=0: BPFTRACE_HAVE_BTF is predefined"},
		{in: "N=-\"x\"", err: "the value must be one integer"},
	} {
		d, err := ParseDefine(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("ParseDefine(%q) = %v, %v; want error %q", c.in, d, err, c.err)
			}
			continue
		}
		if err != nil || d.Name != c.name || d.Value != c.value {
			t.Errorf("ParseDefine(%q) = %+v, %v; want %s=%s", c.in, d, err, c.name, c.value)
		}
	}
}

// A -D macro is seen by #ifdef, #ifndef, #if NAME, uses in expressions
// (at the use's position) and an interval's count; the script's own
// default under #ifndef gives way to it.
func TestDefines(t *testing.T) {
	src := `#ifndef PID
#define PID 0
#endif
#ifndef MSECS
#define MSECS 0
#endif
#if MSECS
#define UNIT 1000000
#else
#define UNIT 1000
#endif
interval:s:IV { if (PID == 0 || pid == PID) { printf("%s %d %d\n", S, N, UNIT); } }
`
	parse := func(defs ...string) string {
		t.Helper()
		var ds []Define
		for _, s := range defs {
			d, err := ParseDefine(s)
			if err != nil {
				t.Fatal(err)
			}
			ds = append(ds, d)
		}
		prog, err := ParseWith("d.bt", []byte(src), ParseOptions{Defines: ds})
		if err != nil {
			t.Fatalf("%v: %v", defs, err)
		}
		return prog.String()
	}
	got := parse("PID=42", `S="x"`, "N=-3", "IV=2")
	// PID == 0 reads 42 == 0: the -D value, not the script's default.
	for _, want := range []string{"interval:s:2", "==\n     int: 42\n     int: 0\n", "builtin: pid\n     int: 42", `string: "x"`, "-\n      int: 3", "int: 1000\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("-D PID=42 S=\"x\" N=-3 IV=2: no %q in\n%s", want, got)
		}
	}
	got = parse("MSECS", `S="x"`, "N=1", "IV=1")
	if !strings.Contains(got, "int: 1000000") {
		t.Errorf("-D MSECS: #if MSECS not taken:\n%s", got)
	}
	got = parse("MSECS=0", `S="x"`, "N=1", "IV=1")
	if !strings.Contains(got, "int: 1000\n") {
		t.Errorf("-D MSECS=0: #if MSECS taken:\n%s", got)
	}
	// A use's errors point at the use, in the script.
	_, err := ParseWith("d.bt", []byte("BEGIN { printf(\"%d\\n\", X + ); }"), ParseOptions{Defines: []Define{{Name: "X", Value: "1"}}})
	if err == nil || !strings.HasPrefix(err.Error(), "d.bt:1:") {
		t.Errorf("error after a -D use: %v", err)
	}
	// Without IV, the interval's count is an error naming it.
	_, err = Parse("d.bt", []byte("interval:s:IV { exit(); }"))
	if err == nil || !strings.Contains(err.Error(), `d.bt:1:12: bad interval count "IV"`) {
		t.Errorf("undefined IV: %v", err)
	}
	// A bad Define given to ParseWith directly is an error, not a panic.
	_, err = ParseWith("d.bt", []byte("BEGIN { exit(); }"), ParseOptions{Defines: []Define{{Name: "X", Value: "a b"}}})
	if err == nil || !strings.Contains(err.Error(), "-D X=a b") {
		t.Errorf("bad define: %v", err)
	}
}

func TestHistStyle(t *testing.T) {
	src := "#if MS\n// hist: @m msecs pid = %d %s\n#else\n// hist: @m usecs tid = %d %s\n#endif\nBEGIN { @m[1, \"a\"] = hist(1); }\n"
	for _, c := range []struct {
		defs      []Define
		unit, key string
	}{
		{nil, "usecs", "tid = %d %s"},
		{[]Define{{Name: "MS", Value: "1"}}, "msecs", "pid = %d %s"},
	} {
		prog, err := ParseWith("h.bt", []byte(src), ParseOptions{Defines: c.defs})
		if err != nil {
			t.Fatal(err)
		}
		h := prog.Hists["m"]
		if h == nil || h.Unit != c.unit || h.KeyLine != c.key {
			t.Errorf("%v: hist style %+v, want %s %q", c.defs, h, c.unit, c.key)
		}
	}
	if _, err := Parse("h.bt", []byte("// hist: m usecs\nBEGIN { exit(); }")); err == nil || !strings.Contains(err.Error(), "h.bt:1:1: // hist: want @MAP UNIT") {
		t.Errorf("bad // hist: %v", err)
	}
	if got := keyLine("pid = %d %s (100%%)", []string{"42", "bash", "x"}); got != "pid = 42 bash (100%) x" {
		t.Errorf("keyLine: %q", got)
	}
	if got := keyLine(`disk = %s\t`, []string{"sda"}); got != "disk = sda\t" {
		t.Errorf("keyLine with \\t: %q", got)
	}
}

// DrawLog2Hist merges bpftrace's buckets into libbpf-tools' slots: 0 and
// 1 in the first, then one per power of two; rows up to the last
// non-empty slot.
func TestDrawLog2Hist(t *testing.T) {
	buckets := make([]uint64, 66)
	buckets[0] = 7 // negative: not printed
	buckets[1] = 2 // 0
	buckets[2] = 3 // 1
	buckets[5] = 10
	var b strings.Builder
	DrawLog2Hist(&b, buckets, "usecs")
	want := "     usecs               : count    distribution\n" +
		"         0 -> 1          : 5        |********************                    |\n" +
		"         2 -> 3          : 0        |                                        |\n" +
		"         4 -> 7          : 0        |                                        |\n" +
		"         8 -> 15         : 10       |****************************************|\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
	b.Reset()
	DrawLog2Hist(&b, make([]uint64, 66), "usecs")
	if b.Len() != 0 {
		t.Errorf("empty histogram printed %q", b.String())
	}
}
