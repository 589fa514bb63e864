package tools

import (
	"context"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/tracelet/tracelet/btf"
	"github.com/tracelet/tracelet/internal/testenv"
	"github.com/tracelet/tracelet/script"
	"github.com/tracelet/tracelet/scriptrun"
)

func TestParseScript(t *testing.T) {
	src := `#!/usr/bin/env -S tracelet run
// tool: count things
// flag: -p --pid PID int "trace this PID only"
// flag: --milliseconds MSECS bool "in ms"
// flag: -d DISK string "trace DISK only"
// arg: INTERVAL int "every INTERVAL seconds"

// flag: -x X int "not in the header: after the empty line, still a comment"
BEGIN { exit(); }
// flag: -y Y int "after the code: not a flag"
`
	s, err := ParseScript("t", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if s.Usage != "count things" || len(s.Flags) != 4 || len(s.Args) != 1 {
		t.Fatalf("%+v", s)
	}
	if f := s.Flags[0]; f != (ScriptFlag{Short: "p", Long: "pid", Define: "PID", Type: "int", Usage: "trace this PID only"}) {
		t.Errorf("flag 0: %+v", f)
	}
	if f := s.Flags[1]; f.Short != "" || f.Long != "milliseconds" || f.Name() != "--milliseconds" {
		t.Errorf("flag 1: %+v", f)
	}
	if a := s.Args[0]; a != (ScriptArg{Define: "INTERVAL", Type: "int", Usage: "every INTERVAL seconds"}) {
		t.Errorf("arg: %+v", a)
	}
	for _, c := range []struct {
		f     ScriptFlag
		value string
		want  string
	}{
		{s.Flags[0], "42", "PID=42"},
		{s.Flags[0], "0x10", "PID=16"},
		{s.Flags[0], "-1", `-p "-1": want a whole number >= 0`},
		{s.Flags[0], "x", `-p "x": want a whole number >= 0`},
		{s.Flags[1], "", "MSECS=1"},
		{s.Flags[2], "sda", `DISK="sda"`},
		{s.Flags[2], `s"da`, `-d "s\"da": '"', '\' and control characters are not allowed`},
	} {
		d, err := c.f.DefineValue(c.value)
		got := d.String()
		if err != nil {
			got = err.Error()
		}
		if got != c.want {
			t.Errorf("%s %q: %s, want %s", c.f.Name(), c.value, got, c.want)
		}
	}
	if _, err := s.Args[0].DefineValue("0"); err == nil || err.Error() != `INTERVAL "0": want a whole number >= 1` {
		t.Errorf("INTERVAL 0: %v", err)
	}
}

// An ints flag (tcpconnect -P 80,443) gives one macro per value: NAME,
// NAME_2, ..., at most MaxListValues of them.
func TestDefineValues(t *testing.T) {
	f := ScriptFlag{Short: "P", Long: "port", Define: "PORT", Type: "ints"}
	for _, c := range []struct{ value, want string }{
		{"80", "PORT=80"},
		{"80,443", "PORT=80 PORT_2=443"},
		{"1, 2,3,4,5,6,7,0x10", "PORT=1 PORT_2=2 PORT_3=3 PORT_4=4 PORT_5=5 PORT_6=6 PORT_7=7 PORT_8=16"},
		{"1,2,3,4,5,6,7,8,9", `-P "1,2,3,4,5,6,7,8,9": at most 8 values`},
		{"80,,443", `-P "80,,443": value 2: -P "": want a whole number >= 0`},
		{"80,-1", `-P "80,-1": value 2: -P "-1": want a whole number >= 0`},
		{"", `-P "": value 1: -P "": want a whole number >= 0`},
	} {
		ds, err := f.DefineValues(c.value)
		var got []string
		for _, d := range ds {
			got = append(got, d.String())
		}
		if err != nil {
			got = []string{err.Error()}
		}
		if strings.Join(got, " ") != c.want {
			t.Errorf("-P %q: %s, want %s", c.value, strings.Join(got, " "), c.want)
		}
	}
	// Any other type gives one.
	ds, err := ScriptFlag{Short: "p", Define: "PID", Type: "int"}.DefineValues("42")
	if err != nil || len(ds) != 1 || ds[0].String() != "PID=42" {
		t.Errorf("-p 42: %v %v", ds, err)
	}
	if _, err := ParseScript("f", []byte("// tool: x\n// arg: PORTS ints \"u\"\n")); err == nil || !strings.Contains(err.Error(), "not a list") {
		t.Errorf("arg of type ints: %v", err)
	}
}

func TestParseScriptErrors(t *testing.T) {
	for _, c := range []struct{ src, want string }{
		{"BEGIN { exit(); }", `t.bt: no "// tool: DESCRIPTION" line`},
		{"// tool: x\n// flag: -p PID int\n", `t.bt:2: want a "USAGE" string at the end`},
		{"// tool: x\n// flag: -p PID int \"a\" b\n", `t.bt:2: usage "a" b: not one string`},
		{"// tool: x\n// flag: PID int \"u\"\n", "t.bt:2: flag: want a name, -X or --long-name"},
		{"// tool: x\n// flag: -pp PID int \"u\"\n", `t.bt:2: flag: "-pp": want -X (one letter or digit) then --long-name`},
		{"// tool: x\n// flag: -p --pid --id PID int \"u\"\n", `t.bt:2: flag: "--id"`},
		{"// tool: x\n// flag: -p PID float \"u\"\n", `t.bt:2: flag PID: type "float": want bool, int, ints or string`},
		{"// tool: x\n// flag: -p 1PID int \"u\"\n", `t.bt:2: flag: "1PID" is not a macro name`},
		{"// tool: x\n// flag: -p PID int \"u\"\n// flag: -p TID int \"u\"\n", "t.bt:3: flag: p is given twice"},
		{"// tool: x\n// flag: -p PID int \"u\"\n// arg: PID int \"u\"\n", "t.bt:3: arg: PID is given twice"},
		{"// tool: x\n// arg: -p PID int \"u\"\n", `t.bt:2: arg: "-p"`},
		{"// tool: x\n// arg: ON bool \"u\"\n", "t.bt:2: arg ON: an argument is an int or a string, not a bool"},
	} {
		_, err := ParseScript("t", []byte(c.src))
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%q:\n got %v\nwant %s", c.src, err, c.want)
		}
	}
}

func FuzzParseScript(f *testing.F) {
	all, err := Scripts()
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range all {
		f.Add(string(s.Source))
	}
	f.Add("// tool: x\n// flag: -p --pid PID int \"u\"\n// arg: N int \"n\"\n")
	f.Fuzz(func(t *testing.T, src string) {
		s, err := ParseScript("f", []byte(src))
		if err != nil {
			return
		}
		for _, fl := range s.Flags {
			if fl.Short == "" && fl.Long == "" {
				t.Errorf("flag without a name: %+v", fl)
			}
			if d, err := fl.DefineValue("1"); err == nil {
				if _, err := script.ParseDefine(d.String()); err != nil {
					t.Errorf("flag %+v: %v", fl, err)
				}
			}
		}
	})
}

// Every embedded script has a header, and compiles on this kernel with
// its defaults and with each flag and argument given.
func TestScripts(t *testing.T) {
	testenv.RequireRoot(t)
	requireBTF(t)
	all, err := Scripts()
	if err != nil {
		t.Fatal(err)
	}
	if len(all) == 0 {
		t.Fatal("no embedded scripts")
	}
	for _, s := range all {
		t.Run(s.Name, func(t *testing.T) {
			if got, err := LookupScript(s.Name); err != nil || string(got.Source) != string(s.Source) {
				t.Fatalf("LookupScript: %v", err)
			}
			var all []script.Define
			values := map[string]string{"bool": "", "int": "1", "ints": "1,2,3,4,5,6,7,8", "string": "sda"}
			for _, f := range s.Flags {
				ds, err := f.DefineValues(values[f.Type])
				if err != nil {
					t.Fatal(err)
				}
				all = append(all, ds...)
			}
			for _, a := range s.Args {
				d, err := a.DefineValue(values[a.Type])
				if err != nil {
					t.Fatal(err)
				}
				all = append(all, d)
			}
			for _, defs := range [][]script.Define{nil, all} {
				if s.Name == "_biolatency-rq-disk" && defs != nil && !hasRqDisk(t) {
					// Its -d and -D read rq->rq_disk, which this kernel's
					// struct request lacks: TestBiolatencyFallback checks
					// that it refuses, and biolatency does not choose it.
					t.Logf("%v: struct request has no rq_disk here", defs)
					continue
				}
				r, err := scriptrun.Prepare(s.Name+".bt", s.Source, scriptrun.RunOptions{Defines: defs, Quiet: true})
				if err != nil && s.Fallback != "" {
					// This kernel runs the fallback, a test of its own.
					t.Logf("%v: %v: the fallback %s runs here", defs, err, s.Fallback)
					if _, err := LookupScript(s.Fallback); err != nil {
						t.Fatal(err)
					}
					continue
				}
				if err != nil {
					skipMissingEvent(t, err)
					t.Fatalf("%v: %v", defs, err)
				}
				r.Close()
			}
		})
	}
	if _, err := LookupScript("../scripts/runqlat"); err == nil {
		t.Error("LookupScript of a path: no error")
	}
}

// requireBTF skips on kernels without BTF: the script tools read the
// BTF-typed tracepoints' arguments (Debian's 686-pae kernel has none).
func requireBTF(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(btf.KernelPath); err != nil {
		t.Skipf("the kernel has no BTF (%v): the script tools use BTF-typed tracepoints", err)
	}
}

// skipMissingEvent skips when a script needs a tracepoint this kernel does
// not have (biosnoop's block_io_start is 6.5's; libbpf-tools takes a
// kprobe or fentry on blk_account_io_start before, which a script cannot
// offer as an alternative yet).
func skipMissingEvent(t *testing.T, err error) {
	t.Helper()
	if strings.Contains(err.Error(), "no prototype in the kernel's BTF: btf: func __traceiter_") {
		t.Skipf("the kernel lacks a tracepoint the script needs: %v", err)
	}
}

// A script that cannot be prepared here runs its fallback, and says so.
func TestRunScriptFallback(t *testing.T) {
	testenv.RequireRoot(t)
	requireBTF(t)
	broken := &Script{Name: "broken", Fallback: "_biosnoop-issue",
		Source: []byte("rawtracepoint:tracelet_no_such_event { printf(\"%d\\n\", args->rq); }\n")}
	var notes strings.Builder
	stop := runTool(t, func(ctx context.Context, ready func()) error {
		return RunScript(ctx, broken, ScriptOptions{Out: io.Discard, Notes: &notes, Ready: ready})
	})
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if want := "broken: running _biosnoop-issue (tracelet tools show _biosnoop-issue): broken.bt:1:1: rawtracepoint tracelet_no_such_event"; !strings.HasPrefix(notes.String(), want) {
		t.Errorf("notes %q, want prefix %q", notes.String(), want)
	}
	// Without a fallback, the script's own error.
	broken.Fallback = ""
	err := RunScript(context.Background(), broken, ScriptOptions{Out: io.Discard})
	if err == nil || !strings.Contains(err.Error(), "tracelet_no_such_event") {
		t.Errorf("no fallback: %v", err)
	}
	if _, err := ParseScript("f", []byte("// tool: x\n// fallback: a/b\n")); err == nil {
		t.Error("// fallback: a/b: no error")
	}
}

// The script runtime's libbpf-tools layout is the one the hand-written
// funclatency prints.
func TestDrawLog2HistMatchesPrintLog2Hist(t *testing.T) {
	buckets := make([]uint64, 66)
	h := &Histogram{Unit: "usecs", Slots: make([]uint64, 27)}
	for i, n := range []uint64{3, 0, 1, 0, 0, 9, 2, 0, 0, 0, 0, 1} {
		h.Slots[i] = n
		if i == 0 {
			buckets[2] = n
		} else {
			buckets[i+2] = n
		}
	}
	var ours, theirs strings.Builder
	script.DrawLog2Hist(&ours, buckets, "usecs")
	PrintLog2Hist(&theirs, h)
	if ours.String() != theirs.String() {
		t.Errorf("script.DrawLog2Hist:\n%s\nPrintLog2Hist:\n%s", ours.String(), theirs.String())
	}
}
