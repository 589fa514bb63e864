package main

import (
	"strings"
	"testing"

	"github.com/tracelet/tracelet/internal/testenv"
	"github.com/tracelet/tracelet/tools"
)

// tools list names every embedded script, tools show prints it as
// embedded, and each tool's help lists the flags of its header.
func TestToolsListShow(t *testing.T) {
	all, err := tools.Scripts()
	if err != nil {
		t.Fatal(err)
	}
	list := mustCLI(t, "tools", "list")
	for _, s := range all {
		if s.Hidden() {
			// A fallback: shown, but neither listed nor a command.
			if strings.Contains(list, s.Name) {
				t.Errorf("tools list shows the fallback %s:\n%s", s.Name, list)
			}
			if got := mustCLI(t, "tools", "show", s.Name); got != string(s.Source) {
				t.Errorf("tools show %s differs from the embedded script", s.Name)
			}
			continue
		}
		if !strings.Contains(list, s.Name+" ") || !strings.Contains(list, s.Usage) {
			t.Errorf("tools list has no line for %s:\n%s", s.Name, list)
		}
		if got := mustCLI(t, "tools", "show", s.Name); got != string(s.Source) {
			t.Errorf("tools show %s differs from the embedded script", s.Name)
		}
		help := mustCLI(t, s.Name, "--help")
		for _, f := range s.Flags {
			if !strings.Contains(help, f.Name()) {
				t.Errorf("%s --help has no %s:\n%s", s.Name, f.Name(), help)
			}
		}
	}
	r := runCLI(t, "tools", "show", "nosuchtool")
	if r.code != 2 || !strings.Contains(r.err, `no script tool "nosuchtool" (there are: `) {
		t.Errorf("tools show nosuchtool: exit %d, %q", r.code, r.err)
	}
}

// Bad flag values and arguments of a script tool, and bad -D of run, are
// usage errors that name them; nothing is loaded.
func TestScriptToolUsageErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"runqlat", "-p", "x"}, `runqlat: -p "x": want a whole number >= 0`},
		{[]string{"runqlat", "0"}, `runqlat: INTERVAL "0": want a whole number >= 1`},
		{[]string{"runqlat", "1", "2", "3"}, `runqlat: unexpected argument "3"`},
		{[]string{"biosnoop", "-d", `s"da`}, `biosnoop: -d "s\"da": '"', '\' and control characters are not allowed`},
		{[]string{"run", "-D", "PID=x", "-e", "BEGIN { exit(); }"}, "run: -D PID=x: the value must be one integer"},
		{[]string{"run", "-D", "1=2", "-e", "BEGIN { exit(); }"}, `run: -D 1=2: "1" is not a macro name`},
	} {
		r := runCLI(t, c.args...)
		if r.code != 2 || !strings.Contains(r.err, c.want) {
			t.Errorf("tracelet %q: exit %d, stderr %q; want 2 and %q", c.args, r.code, r.err, c.want)
		}
	}
}

// run -D reaches the script's preprocessor and its expressions.
func TestRunDefine(t *testing.T) {
	testenv.RequireRoot(t)
	src := "#ifndef N\n#define N 1\n#endif\n#if QUIET\nBEGIN { exit(); }\n#else\nBEGIN { printf(\"%d %s\\n\", N * 2, S); exit(); }\n#endif\n"
	got := mustCLI(t, "run", "-D", "N=21", "-D", `S="x"`, "-e", src)
	if !strings.Contains(got, "42 x\n") {
		t.Errorf("run -D N=21 -D S=\"x\": %q", got)
	}
	if got := mustCLI(t, "run", "-D", "QUIET", "-D", `S="x"`, "-e", src); strings.Contains(got, " x") {
		t.Errorf("run -D QUIET: %q", got)
	}
}

// A command line naming a built-in command builds no script tool's
// command, one naming a script tool builds only that one, and anything
// else builds them all: help still lists every tool.
func TestCommandsFor(t *testing.T) {
	names := func(name string) (map[string]bool, bool) {
		cmds, scriptTool := commandsFor(name)
		m := map[string]bool{}
		for _, c := range cmds {
			m[c.Name] = true
		}
		return m, scriptTool
	}
	if m, st := names("run"); st || m["runqlat"] || m["tools"] || !m["run"] || !m["execsnoop"] {
		t.Errorf("commands for run: %v (script tool %v)", m, st)
	}
	if m, st := names("runqlat"); !st || !m["runqlat"] || m["biolatency"] || !m["run"] {
		t.Errorf("commands for runqlat: %v (script tool %v)", m, st)
	}
	for _, name := range []string{"help", "tools", "nosuch", "-h"} {
		if m, st := names(name); st || !m["runqlat"] || !m["biolatency"] || !m["tools"] {
			t.Errorf("commands for %s: %v (script tool %v)", name, m, st)
		}
	}
	if help := mustCLI(t, "help"); !strings.Contains(help, "runqlat") || !strings.Contains(help, "biolatency") {
		t.Errorf("help lists no script tools:\n%s", help)
	}
}
