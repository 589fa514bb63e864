package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tracelet/tracelet/internal/testenv"
	"github.com/tracelet/tracelet/script"
	"github.com/tracelet/tracelet/scriptrun"
)

// TestBenchScriptsPrepare compiles each script of the scripted scenario
// (bench/scripts) against the running kernel's tracepoint formats and BTF,
// bare and with every macro it reads set, so that a script that no longer
// compiles fails here and not only in a `make bench` run: each macro
// switches an #if branch or a filter on.
func TestBenchScriptsPrepare(t *testing.T) {
	testenv.RequireRoot(t)
	if _, err := os.Stat("/sys/kernel/btf/vmlinux"); err != nil {
		t.Skip("the kernel has no BTF (/sys/kernel/btf/vmlinux): execsnoop.bt and exitsnoop.bt read curtask")
	}
	files, err := filepath.Glob("../../scripts/*.bt")
	if err != nil || len(files) != 6 {
		t.Fatalf("bench/scripts: %v %v, want the six scripts", files, err)
	}
	all := []string{"PID=1", "FAILED", "SIG=9", "THREADED", "LATENCY"}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var used []script.Define
		for _, d := range all {
			name, _, _ := strings.Cut(d, "=")
			if strings.Contains(string(src), "#ifndef "+name+"\n") {
				def, err := script.ParseDefine(d)
				if err != nil {
					t.Fatal(err)
				}
				used = append(used, def)
			}
		}
		for _, defs := range [][]script.Define{nil, used} {
			r, err := scriptrun.Prepare(filepath.Base(f), src, scriptrun.RunOptions{Defines: defs, Backend: scriptrun.BackendBPF, Quiet: true})
			if err != nil {
				t.Errorf("%s with %v: %v", f, defs, err)
				continue
			}
			r.Close()
		}
	}
}
