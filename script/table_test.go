package script

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A table prints a map's elements in columns under a header, in WriteMap's
// order (by value), and refuses formats and maps that do not fit.
func TestTable(t *testing.T) {
	for _, c := range []struct {
		format  string
		columns []string
		err     string
	}{
		{"%-8s %d", []string{"A", "B"}, "column 6: want %s"},
		{"%-8s %s", []string{"A"}, "2 verbs for 1 column names"},
		{"100%% %s", []string{"A"}, ""},
		{"", nil, "0 verbs"},
		{"%", []string{"A"}, "column 1"},
	} {
		_, err := NewTable(c.format, c.columns)
		if c.err == "" && err != nil || c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)) {
			t.Errorf("NewTable(%q, %v): %v, want %q", c.format, c.columns, err, c.err)
		}
	}
	obj, err := CompileSource("-e", []byte(`profile:hz:99 { @c[comm, pid] = count(); @h[comm] = hist(pid); }`), CheckOptions{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	three, _ := NewTable("%-6s %6s %s", []string{"COMM", "PID", "N"})
	two, _ := NewTable("%-6s %s", []string{"COMM", "N"})
	if err := obj.SetTable("c", two); err == nil || !strings.Contains(err.Error(), "2 keys and a value for 2 columns") {
		t.Errorf("a table too narrow: %v", err)
	}
	if err := obj.SetTable("h", two); err == nil || !strings.Contains(err.Error(), "no one value per row") {
		t.Errorf("a table of a hist: %v", err)
	}
	if err := obj.SetTable("absent", two); err != nil {
		t.Errorf("a table of a map the script does not have: %v", err)
	}
	if err := obj.SetTable("c", three); err != nil {
		t.Fatal(err)
	}
	var m *Map
	for _, x := range obj.Maps {
		if x.Info != nil && x.Info.Name == "c" {
			m = x
		}
	}
	key := func(comm string, pid uint64) []byte {
		b := make([]byte, m.Spec.KeySize)
		copy(b[m.KeyOffsets[0]:], comm)
		copy(b[m.KeyOffsets[1]:], le64(pid))
		return b
	}
	var out bytes.Buffer
	if err := obj.WriteMap(&out, m, []Entry{{Key: key("bash", 42), Values: [][]byte{le64(7)}}, {Key: key("sshd", 1234), Values: [][]byte{le64(2), le64(1)}}}, nil); err != nil {
		t.Fatal(err)
	}
	want := "\nCOMM      PID N\nsshd     1234 3\nbash       42 7\n"
	if out.String() != want {
		t.Errorf("got %q, want %q", out.String(), want)
	}
}

// Streams: a probe of the traced events that prints, at any depth of its
// body, makes a program stream; BEGIN, END and interval do not.
func TestStreams(t *testing.T) {
	for src, want := range map[string]bool{
		`tracepoint:syscalls:sys_enter_getppid { printf("x\n"); }`:                                                                                  true,
		`tracepoint:syscalls:sys_enter_getppid { if (pid > 1) { while ($i < 2) { time(); $i++; } } }`:                                               true,
		`BEGIN, tracepoint:syscalls:sys_enter_getppid { printf("x\n"); }`:                                                                           true,
		`profile:hz:99 { unroll(2) { system("true"); } }`:                                                                                           true,
		`BEGIN { printf("x\n"); } tracepoint:syscalls:sys_enter_getppid { @ = count(); } interval:s:1 { printf("y\n"); print(@); } END { time(); }`: false,
		`tracepoint:syscalls:sys_enter_getppid { @[comm] = count(); if (pid > 1) { print(@); } }`:                                                   false,
	} {
		prog, err := Parse("-e", []byte(src))
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		if got := Streams(prog); got != want {
			t.Errorf("Streams(%s) = %v, want %v", src, got, want)
		}
	}
}

// MayStream, the guess from a script's text, never misses a program that
// Streams: every real script here (the corpus, bpftrace's tools and
// tracelet's) that parses and streams is guessed to.
func TestMayStream(t *testing.T) {
	var files []string
	for _, dir := range []string{"testdata/corpus", "testdata/bpftrace-tools", "../tools/scripts"} {
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err == nil && strings.HasSuffix(path, ".bt") {
				files = append(files, path)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(files) < 100 {
		t.Fatalf("only %d scripts found", len(files))
	}
	streaming := 0
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		prog, err := Parse(f, src)
		if err != nil || !Streams(prog) {
			continue
		}
		streaming++
		if !MayStream(src) {
			t.Errorf("%s streams, but MayStream guessed not", f)
		}
	}
	if streaming == 0 {
		t.Error("no script streams")
	}
	if MayStream([]byte(`tracepoint:syscalls:sys_enter_getppid { @[comm] = count(); }`)) {
		t.Error("MayStream of a count() one-liner")
	}
}
