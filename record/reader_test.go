package record

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestParseKernelTraceFixtures reads the trace files recorded from real
// kernels (testdata/kernels/*/trace_sample.txt): every event line parses,
// with the probe's "(where)" and its NAME=VALUE fields.
func TestParseKernelTraceFixtures(t *testing.T) {
	files, _ := filepath.Glob("../testdata/kernels/*/trace_sample.txt")
	if len(files) == 0 {
		t.Fatal("no trace_sample.txt fixtures")
	}
	for _, f := range files {
		ents, truncated := readAll(t, f)
		b, _ := os.ReadFile(f)
		want := 0
		for _, l := range strings.Split(string(b), "\n") {
			if l != "" && !strings.HasPrefix(l, "#") {
				want++
			}
		}
		if truncated || len(ents) != want || want == 0 {
			t.Errorf("%s: %d entries (truncated %v), want %d", f, len(ents), truncated, want)
		}
		for _, e := range ents {
			if e.Comm == "" || e.Pid <= 0 || e.Time == 0 || e.Event == "" || !strings.HasPrefix(e.Where, "(") || len(e.Fields) == 0 {
				t.Errorf("%s: %+v", f, e)
			}
		}
	}
}

func TestParseTextLine(t *testing.T) {
	for _, c := range []struct {
		line                    string
		comm                    string
		pid, cpu                int
		flags, event, where, f0 string
		ns                      uint64
	}{
		{"        testprog-17411   [000] DBZff 11695.823122: cabi: (0x4a3680) arg0=11 arg1=22",
			"testprog", 17411, 0, "DBZff", "cabi", "(0x4a3680)", "11", 11695823122000},
		// Preempt depths are hex digits; COMM may hold '-', spaces and brackets.
		{"  kworker/u4:1-[x] y-42 [003] d..1. 5.000001: ev: a=1", "kworker/u4:1-[x] y", 42, 3, "d..1.", "ev", "", "1", 5000001000},
		// The TGID column (options/record-tgid) and no latency columns.
		{"           <...>-9     (    7) [001] 12.5: ev: (sym+0x0/0x10 <- f) r=0x3", "<...>", 9, 1, "", "ev", "(sym+0x0/0x10 <- f)", "0x3", 12500000000},
	} {
		e, err := parseTextLine(c.line)
		if err != nil {
			t.Errorf("%q: %v", c.line, err)
			continue
		}
		if e.Comm != c.comm || e.Pid != c.pid || e.CPU != c.cpu || e.Flags != c.flags || e.Event != c.event || e.Where != c.where || e.Time != c.ns || len(e.Fields) == 0 || e.Fields[0].Text != c.f0 {
			t.Errorf("%q:\n%+v", c.line, e)
		}
	}
	for _, bad := range []string{"", "no cpu column", "x-1 [0] notatime: ev: a=1", "x-1 [0] 1.5 ev: a=1", "x-y [0] 1.5: ev: a=1"} {
		if _, err := parseTextLine(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func FuzzParseTextLine(f *testing.F) {
	f.Add("        testprog-17411   [000] DBZff 11695.823122: cabi: (0x4a3680) arg0=11 arg1=22")
	f.Add("a-1 (1) [0] 1.1: e: x=\"y z\"")
	f.Fuzz(func(t *testing.T, s string) {
		parseTextLine(s) // must not panic
	})
}
