package cli

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
)

// urfaveApp mirrors the shapes of tracelet's commands: run's single-letter
// flags, probe's subcommands, a tool's run-together short flags and trace's
// duration and required flags. Its action prints what it was given.
func urfaveApp(got *string) *App {
	report := func(c *Context) error {
		var set []string
		for _, f := range c.Command.Flags {
			n := f.Names()[0]
			if c.IsSet(n) {
				set = append(set, fmt.Sprintf("%s=%v", n, c.flags.value(n)))
			}
		}
		sort.Strings(set)
		name := c.Command.Name
		if name == "add" || name == "list" {
			name = "probe " + name
		}
		*got = fmt.Sprintf("%s flags={%s} args=%q", name, strings.Join(set, " "), c.Args().Slice())
		return nil
	}
	return &App{
		Name: "t", Version: "1.0",
		Commands: []*Command{
			{Name: "run", ArgsUsage: "[FILE]", Action: report, Flags: []Flag{
				&StringFlag{Name: "e"}, &BoolFlag{Name: "d"}, &StringFlag{Name: "f", Value: "text"},
				&IntFlag{Name: "p"}, &StringFlag{Name: "backend", Value: "auto"},
			}},
			{Name: "probe", Subcommands: []*Command{
				{Name: "add", ArgsUsage: "SPEC...", Action: report, Flags: []Flag{&BoolFlag{Name: "dry-run", Aliases: []string{"n"}}}},
				{Name: "list", Action: report},
			}},
			{Name: "snoop", UseShortOptionHandling: true, Action: report, Flags: []Flag{
				&StringFlag{Name: "output", Aliases: []string{"o"}, Value: "text"},
				&IntFlag{Name: "duration", Aliases: []string{"d"}},
				&BoolFlag{Name: "timestamp", Aliases: []string{"T"}},
				&BoolFlag{Name: "failed", Aliases: []string{"x"}},
				&IntFlag{Name: "pid", Aliases: []string{"p"}},
			}},
			{Name: "trace", Action: report, Flags: []Flag{
				&DurationFlag{Name: "duration", Aliases: []string{"d"}},
				&StringFlag{Name: "output", Aliases: []string{"o"}, Required: true},
			}},
		},
	}
}

// TestUrfaveParity runs argv through an App shaped like tracelet's and
// compares the outcome with what github.com/urfave/cli/v2 v2.27.7, which
// tracelet used before this package, did with the same commands and argv
// (recorded from the real library). urfave is that recording; where
// tracelet now does otherwise on purpose, ours says what it does instead.
//
// An outcome is what the action saw, "help CMD" for help printed, "version",
// or "error: MESSAGE". urfave/cli exited with status 1 on a flag error and 3
// on an unknown command (status column); every argv error is now a
// UsageError with status 2, the status of tracelet's other usage errors.
func TestUrfaveParity(t *testing.T) {
	tests := []struct {
		argv   []string
		urfave string
		status int
		ours   string
	}{
		{[]string{"run", "FILE"}, "run flags={} args=[\"FILE\"]", 0, ""},
		{[]string{"run", "-d", "FILE"}, "run flags={d=true} args=[\"FILE\"]", 0, ""},
		{[]string{"run", "--d", "FILE"}, "run flags={d=true} args=[\"FILE\"]", 0, ""},
		{[]string{"run", "-d=false", "FILE"}, "run flags={d=false} args=[\"FILE\"]", 0, ""},
		{[]string{"run", "-d", "false", "FILE"}, "run flags={d=true} args=[\"false\" \"FILE\"]", 0, ""},
		{[]string{"run", "-e", "BEGIN{}"}, "run flags={e=BEGIN{}} args=[]", 0, ""},
		{[]string{"run", "-e=BEGIN{}"}, "run flags={e=BEGIN{}} args=[]", 0, ""},
		{[]string{"run", "--e", "X"}, "run flags={e=X} args=[]", 0, ""},
		{[]string{"run", "FILE", "-d"}, "run flags={} args=[\"FILE\" \"-d\"]", 0, ""},
		{[]string{"run", "FILE", "-x"}, "run flags={} args=[\"FILE\" \"-x\"]", 0, ""},
		{[]string{"run", "-x"}, "error: flag provided but not defined: -x", 1, ""},
		{[]string{"run", "--backend", "bpf", "-e", "X"}, "run flags={backend=bpf e=X} args=[]", 0, ""},
		{[]string{"run", "-backend", "bpf", "-e", "X"}, "run flags={backend=bpf e=X} args=[]", 0, ""},
		{[]string{"run", "--backend=tracefs", "-e", "X"}, "run flags={backend=tracefs e=X} args=[]", 0, ""},
		{[]string{"run", "-p", "12", "-e", "X"}, "run flags={e=X p=12} args=[]", 0, ""},
		{[]string{"run", "-p", "abc"}, "error: invalid value \"abc\" for flag -p: parse error", 1, "error: invalid value \"abc\" for flag -p: want an integer"},
		{[]string{"run", "-p=-3", "-e", "X"}, "run flags={e=X p=-3} args=[]", 0, ""},
		{[]string{"run", "-e"}, "error: flag needs an argument: -e", 1, ""},
		{[]string{"run", "--", "-d"}, "run flags={} args=[\"-d\"]", 0, ""},
		{[]string{"run", "-d", "--", "-e", "X"}, "run flags={d=true} args=[\"-e\" \"X\"]", 0, ""},
		{[]string{"run", "-d", "-", "X"}, "run flags={d=true} args=[\"-\" \"X\"]", 0, ""},
		{[]string{"run", "-", "-d"}, "run flags={} args=[\"-\" \"-d\"]", 0, ""},
		{[]string{"run", "-dd"}, "error: flag provided but not defined: -dd", 1, ""},
		{[]string{"run", "-d", "-d"}, "run flags={d=true} args=[]", 0, ""},
		{[]string{"run", "-e", "a", "-e", "b"}, "run flags={e=b} args=[]", 0, ""},
		{[]string{"run", "-e", "-d"}, "run flags={e=-d} args=[]", 0, ""},
		{[]string{"probe", "add", "--dry-run", "p:x do_sys_open $retval"}, "probe add flags={dry-run=true} args=[\"p:x do_sys_open $retval\"]", 0, ""},
		{[]string{"probe", "add", "-n", "p:x"}, "probe add flags={dry-run=true} args=[\"p:x\"]", 0, ""},
		{[]string{"probe", "add", "-dry-run", "p:x"}, "probe add flags={dry-run=true} args=[\"p:x\"]", 0, ""},
		{[]string{"probe", "add", "--dry-run=false", "p:x"}, "probe add flags={dry-run=false} args=[\"p:x\"]", 0, ""},
		{[]string{"probe", "add", "p:x", "-n"}, "probe add flags={} args=[\"p:x\" \"-n\"]", 0, ""},
		{[]string{"probe", "add", "-n", "-n", "p:x"}, "probe add flags={dry-run=true} args=[\"p:x\"]", 0, ""},
		{[]string{"probe", "list"}, "probe list flags={} args=[]", 0, ""},
		{[]string{"probe", "list", "extra"}, "probe list flags={} args=[\"extra\"]", 0, ""},
		{[]string{"probe", "nope"}, "error: No help topic for 'nope'", 3, "error: unknown command \"nope\""},
		{[]string{"probe"}, "help t probe", 0, ""},
		{[]string{"probe", "-x"}, "error: flag provided but not defined: -x", 1, ""},
		{[]string{"snoop", "-xT"}, "snoop flags={failed=true timestamp=true} args=[]", 0, ""},
		{[]string{"snoop", "-Tx"}, "snoop flags={failed=true timestamp=true} args=[]", 0, ""},
		{[]string{"snoop", "-x", "-T"}, "snoop flags={failed=true timestamp=true} args=[]", 0, ""},
		{[]string{"snoop", "-xd", "5"}, "snoop flags={duration=5 failed=true} args=[]", 0, ""},
		{[]string{"snoop", "-Td5"}, "error: flag provided but not defined: -Td5", 1, ""},
		{[]string{"snoop", "-d", "5", "-o", "json"}, "snoop flags={duration=5 output=json} args=[]", 0, ""},
		{[]string{"snoop", "-o", "json", "-xT"}, "snoop flags={failed=true output=json timestamp=true} args=[]", 0, ""},
		{[]string{"snoop", "-xTo", "json"}, "snoop flags={failed=true output=json timestamp=true} args=[]", 0, ""},
		{[]string{"snoop", "-ojson"}, "error: flag provided but not defined: -ojson", 1, ""},
		{[]string{"snoop", "--timestamp", "--failed"}, "snoop flags={failed=true timestamp=true} args=[]", 0, ""},
		{[]string{"snoop", "-xq"}, "error: flag provided but not defined: -xq", 1, ""},
		{[]string{"snoop", "--xT"}, "error: flag provided but not defined: -xT", 1, ""},
		{[]string{"snoop", "extra", "-x"}, "snoop flags={} args=[\"extra\" \"-x\"]", 0, ""},
		{[]string{"snoop", "-p", "-1"}, "snoop flags={pid=-1} args=[]", 0, ""},
		{[]string{"trace", "-o", "d"}, "trace flags={output=d} args=[]", 0, ""},
		{[]string{"trace", "-o", "d", "-d", "5s"}, "trace flags={duration=5s output=d} args=[]", 0, ""},
		{[]string{"trace", "-o", "d", "-d", "5"}, "error: invalid value \"5\" for flag -d: parse error", 1, "error: invalid value \"5\" for flag -d: want a duration such as 5s or 1m30s"},
		{[]string{"trace", "-d", "5s"}, "error: Required flag \"output\" not set", 1, "error: required flag --output not set"},
		{[]string{"trace", "--output", "d", "--duration=1m"}, "trace flags={duration=1m0s output=d} args=[]", 0, ""},
		{[]string{"nosuch"}, "error: No help topic for 'nosuch'", 3, "error: unknown command \"nosuch\""},
		{[]string{"-x"}, "error: flag provided but not defined: -x", 1, ""},
		{[]string{"--x", "run"}, "error: flag provided but not defined: -x", 1, ""},
		{[]string{"run", "-h"}, "help t run", 0, ""},
		{[]string{"run", "--help"}, "help t run", 0, ""},
		{[]string{"run", "-help"}, "help t run", 0, ""},
		{[]string{"probe", "add", "-h"}, "help t probe add", 0, ""},
		{[]string{"-h"}, "help t", 0, ""},
		{[]string{"--help"}, "help t", 0, ""},
		{[]string{"help"}, "error: No help topic for 'help'", 3, "help t"},
		{[]string{"help", "run"}, "error: No help topic for 'help'", 3, "help t run"},
		{[]string{"-v"}, "version", 0, ""},
		{[]string{"--version"}, "version", 0, ""},
		{[]string{"version"}, "error: No help topic for 'version'", 3, "error: unknown command \"version\""},
		{[]string{"run", "help"}, "help t run", 0, ""},
		{[]string{"run", "FILE", "help"}, "run flags={} args=[\"FILE\" \"help\"]", 0, ""},
		{[]string{"probe", "add", "help"}, "help t probe add", 0, ""},
		{[]string{"probe", "help"}, "help t probe", 0, ""},
		{[]string{"probe", "help", "add"}, "help t probe add", 0, ""},
		{[]string{"probe", "list", "help"}, "help t probe list", 0, ""},
		{[]string{"run", "-d", "help"}, "help t run", 0, ""},
		{[]string{"run", "FILE", "-h"}, "run flags={} args=[\"FILE\" \"-h\"]", 0, ""},
		{[]string{"probe", "-h"}, "help t probe", 0, ""},
		{[]string{"probe", "--help"}, "help t probe", 0, ""},
		{[]string{"probe", "add", "-x"}, "error: flag provided but not defined: -x", 1, ""},
		{[]string{"run", "h"}, "help t run", 0, "run flags={} args=[\"h\"]"},
		{[]string{"snoop", "help"}, "help t snoop", 0, ""},
		{[]string{"-h", "run"}, "help t run", 0, ""},
		{[]string{"run", "-h", "-x"}, "error: flag provided but not defined: -x", 1, ""},
		{[]string{"run", "-x", "-h"}, "error: flag provided but not defined: -x", 1, ""},
		{[]string{"probe", "add", "-n", "--"}, "probe add flags={dry-run=true} args=[]", 0, ""},
		{[]string{"probe", "add", "--", "--"}, "probe add flags={} args=[\"--\"]", 0, ""},
		{[]string{"run", "-d=1", "F"}, "run flags={d=true} args=[\"F\"]", 0, ""},
		{[]string{"run", "-d=yes", "F"}, "error: invalid boolean value \"yes\" for -d: parse error", 1, "error: invalid value \"yes\" for flag -d: want true or false"},
		{[]string{"run", "-p", "0x10", "-e", "X"}, "run flags={e=X p=16} args=[]", 0, ""},
		{[]string{"run", "-p", "1_000", "-e", "X"}, "run flags={e=X p=1000} args=[]", 0, ""},
		{[]string{"run", "-p", "010", "-e", "X"}, "run flags={e=X p=8} args=[]", 0, ""},
		{[]string{"trace", "-o", "a", "-o", "b"}, "trace flags={output=b} args=[]", 0, ""},
		{[]string{"---d", "run"}, "error: bad flag syntax: ---d", 1, ""},
		{[]string{"run", "---d"}, "error: bad flag syntax: ---d", 1, ""},
		{[]string{"run", "-=x"}, "error: bad flag syntax: -=x", 1, ""},
		{[]string{"run", "--=x"}, "error: bad flag syntax: --=x", 1, ""},
		{[]string{"run", "-e="}, "run flags={e=} args=[]", 0, ""},
		{[]string{"run", "--e="}, "run flags={e=} args=[]", 0, ""},
		{[]string{"probe", "add", "-n=true", "x"}, "probe add flags={dry-run=true} args=[\"x\"]", 0, ""},
		{[]string{"snoop", "-d", "-5"}, "snoop flags={duration=-5} args=[]", 0, ""},
		{[]string{"snoop", "-d=5"}, "snoop flags={duration=5} args=[]", 0, ""},
		{[]string{"snoop", "-x=false"}, "snoop flags={failed=false} args=[]", 0, ""},
		{[]string{"snoop", "-Tx=false"}, "error: flag provided but not defined: -Tx", 1, ""},
		{[]string{"snoop", "-h"}, "help t snoop", 0, ""},
		{[]string{"snoop", "-hx"}, "help t snoop", 0, ""},
		{[]string{"snoop", "-xh"}, "help t snoop", 0, ""},
		{[]string{"snoop", "-", "-x"}, "snoop flags={} args=[\"-\" \"-x\"]", 0, ""},
		{[]string{"trace", "-o"}, "error: flag needs an argument: -o", 1, ""},
		{[]string{"trace", "-o", "d", "-d", "-1s"}, "trace flags={duration=-1s output=d} args=[]", 0, ""},
		{[]string{"probe", "add", "-N"}, "error: flag provided but not defined: -N", 1, ""},
		{[]string{"run", "-D"}, "error: flag provided but not defined: -D", 1, ""},
		{[]string{"run", "-e", "X", "--", "-d"}, "run flags={e=X} args=[\"-d\"]", 0, ""},
		{[]string{"run", "-", "FILE"}, "run flags={} args=[\"-\" \"FILE\"]", 0, ""},
		{[]string{"-v", "run"}, "version", 0, ""},
		{[]string{"run", "-v"}, "error: flag provided but not defined: -v", 1, ""},
		{[]string{"probe", "add"}, "probe add flags={} args=[]", 0, ""},
	}
	for _, tt := range tests {
		var got string
		app := urfaveApp(&got)
		var out strings.Builder
		app.Writer, app.ErrWriter = &out, &out
		err := app.Run(append([]string{"t"}, tt.argv...))
		switch {
		case err != nil:
			var ue *UsageError
			if !errors.As(err, &ue) {
				t.Errorf("%q: error %v is not a UsageError", tt.argv, err)
				continue
			}
			got = "error: " + ue.Err
			if tt.status == 0 {
				t.Errorf("%q: urfave/cli accepted it, we say %v", tt.argv, err)
			}
		case got != "":
		case strings.HasPrefix(out.String(), "t version "):
			got = "version"
		default:
			// The help's first line is "t probe add - usage", or "t".
			got = "help " + strings.TrimSpace(strings.SplitN(strings.SplitN(out.String(), "\n", 2)[0], " - ", 2)[0])
		}
		want := tt.urfave
		if tt.ours != "" {
			want = tt.ours
		}
		if got != want {
			t.Errorf("%q: got %s\n\twant %s", tt.argv, got, want)
		}
	}
}
