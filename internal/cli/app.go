package cli

import (
	"context"
	"fmt"
	"io"
	"os"
)

// App is a program of commands.
type App struct {
	Name     string
	Usage    string // one line, shown at the top of the help
	Version  string // printed by -v/--version; without it there is no such flag
	Commands []*Command
	// Writer takes help and the actions' output, ErrWriter their
	// diagnostics: os.Stdout and os.Stderr when nil.
	Writer    io.Writer
	ErrWriter io.Writer
}

var (
	helpFlag    = &BoolFlag{Name: "help", Aliases: []string{"h"}, Usage: "show help"}
	versionFlag = &BoolFlag{Name: "version", Aliases: []string{"v"}, Usage: "print the version"}
)

// Run parses args (args[0] being the program) and runs the command they
// name, with context.Background.
func (a *App) Run(args []string) error { return a.RunContext(context.Background(), args) }

// RunContext parses args (args[0] being the program) and runs the command
// they name. It returns the action's error, or a *UsageError for a mistake
// in args; it prints neither, and never exits.
//
// "help", -h and --help, before or after a command's name, print help on
// Writer; so does an App or a command of subcommands given nothing to run.
func (a *App) RunContext(ctx context.Context, args []string) error {
	if a.Writer == nil {
		a.Writer = os.Stdout
	}
	if a.ErrWriter == nil {
		a.ErrWriter = os.Stderr
	}
	if len(args) > 0 {
		args = args[1:]
	}
	fs := newFlagSet(a.flags())
	rest, err := fs.parse(args, false)
	if err != nil {
		return &UsageError{Command: a.Name, Err: err.Error()}
	}
	switch {
	case fs.bool("help"):
		return a.help(nil, rest)
	case len(rest) > 0 && rest[0] == "help":
		return a.help(nil, rest[1:])
	case fs.bool("version"):
		_, err := fmt.Fprintf(a.Writer, "%s version %s\n", a.Name, a.Version)
		return err
	case len(rest) == 0:
		a.printAppHelp()
		return nil
	}
	cmd := find(a.Commands, rest[0])
	if cmd == nil {
		return &UsageError{Command: a.Name, Err: fmt.Sprintf("unknown command %q", rest[0])}
	}
	return a.run(ctx, []*Command{cmd}, rest[1:])
}

func (a *App) flags() []Flag {
	if a.Version == "" {
		return []Flag{helpFlag}
	}
	return []Flag{helpFlag, versionFlag}
}

// run parses the arguments of the last command of path and runs it, or the
// subcommand they name.
func (a *App) run(ctx context.Context, path []*Command, args []string) error {
	cmd := path[len(path)-1]
	flags := append(cmd.Flags[:len(cmd.Flags):len(cmd.Flags)], helpFlag)
	fs := newFlagSet(flags)
	rest, err := fs.parse(args, cmd.UseShortOptionHandling)
	if err != nil {
		return &UsageError{Command: a.fullName(path), Err: err.Error()}
	}
	if fs.bool("help") {
		a.printCommandHelp(path)
		return nil
	}
	// As urfave/cli v2 did, a first argument "help" asks for help: "probe
	// help", "probe help add", "run help".
	if len(rest) > 0 && rest[0] == "help" {
		return a.help(path, rest[1:])
	}
	// A command of subcommands runs the one its first argument names; it
	// runs its own Action, if it has one, only when none is named.
	if len(cmd.Subcommands) > 0 && (len(rest) > 0 || cmd.Action == nil) {
		if len(rest) == 0 {
			a.printCommandHelp(path)
			return nil
		}
		if sub := find(cmd.Subcommands, rest[0]); sub != nil {
			return a.run(ctx, append(path[:len(path):len(path)], sub), rest[1:])
		}
		if cmd.Action == nil {
			return &UsageError{Command: a.fullName(path), Err: fmt.Sprintf("unknown command %q", rest[0])}
		}
	}
	if n := fs.missing(); n != "" {
		dash := "--"
		if len(n) == 1 {
			dash = "-"
		}
		return &UsageError{Command: a.fullName(path), Err: fmt.Sprintf("required flag %s%s not set", dash, n)}
	}
	if cmd.Action == nil {
		a.printCommandHelp(path)
		return nil
	}
	return cmd.Action(&Context{Context: ctx, App: a, Command: cmd, flags: fs, args: Args(rest)})
}

// help prints the help of the command that names lead to from path.
func (a *App) help(path []*Command, names []string) error {
	for _, n := range names {
		list := a.Commands
		if len(path) > 0 {
			list = path[len(path)-1].Subcommands
		}
		cmd := find(list, n)
		if cmd == nil {
			return &UsageError{Command: a.fullName(path), Err: fmt.Sprintf("no help for unknown command %q", n)}
		}
		path = append(path[:len(path):len(path)], cmd)
	}
	if len(path) == 0 {
		a.printAppHelp()
	} else {
		a.printCommandHelp(path)
	}
	return nil
}

func find(cmds []*Command, name string) *Command {
	for _, c := range cmds {
		for _, n := range c.names() {
			if n == name {
				return c
			}
		}
	}
	return nil
}

// fullName is "tracelet probe add" for the path probe, add.
func (a *App) fullName(path []*Command) string {
	s := a.Name
	for _, c := range path {
		s += " " + c.Name
	}
	return s
}
