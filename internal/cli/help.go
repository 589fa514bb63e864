package cli

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// printAppHelp prints the program's usage, its commands and its flags.
func (a *App) printAppHelp() {
	w := a.Writer
	title(w, a.Name, a.Usage)
	fmt.Fprintf(w, "Usage: %s [options] COMMAND [command options] [arguments]\n", a.Name)
	if a.Version != "" {
		fmt.Fprintf(w, "Version: %s\n", a.Version)
	}
	commandList(w, a.Commands)
	flagList(w, a.flags())
	fmt.Fprintf(w, "\nRun '%s COMMAND --help' for a command's options.\n", a.Name)
}

// printCommandHelp prints the usage of the last command of path, and its
// subcommands and flags.
func (a *App) printCommandHelp(path []*Command) {
	w := a.Writer
	cmd := path[len(path)-1]
	name := a.fullName(path)
	title(w, name, cmd.Usage)
	switch {
	case len(cmd.Subcommands) > 0:
		fmt.Fprintf(w, "Usage: %s COMMAND [command options] [arguments]\n", name)
	case cmd.ArgsUsage != "":
		fmt.Fprintf(w, "Usage: %s [options] %s\n", name, cmd.ArgsUsage)
	default:
		fmt.Fprintf(w, "Usage: %s [options]\n", name)
	}
	commandList(w, cmd.Subcommands)
	flagList(w, append(cmd.Flags[:len(cmd.Flags):len(cmd.Flags)], helpFlag))
	if len(cmd.Subcommands) > 0 {
		fmt.Fprintf(w, "\nRun '%s COMMAND --help' for a command's options.\n", name)
	}
}

func title(w io.Writer, name, usage string) {
	if usage == "" {
		fmt.Fprintf(w, "%s\n\n", name)
		return
	}
	fmt.Fprintf(w, "%s - %s\n\n", name, usage)
}

func commandList(w io.Writer, cmds []*Command) {
	if len(cmds) == 0 {
		return
	}
	fmt.Fprintln(w, "\nCommands:")
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	for _, c := range cmds {
		fmt.Fprintf(tw, "  %s\t%s\n", strings.Join(c.names(), ", "), c.Usage)
	}
	tw.Flush()
}

// flagList prints one line per flag: "  -o, --output FORMAT\tusage".
func flagList(w io.Writer, flags []Flag) {
	fmt.Fprintln(w, "\nOptions:")
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	for _, f := range flags {
		fmt.Fprintf(tw, "  %s\t%s\n", flagSyntax(f), flagUsage(f))
	}
	tw.Flush()
}

// flagSyntax is "-o, --output FORMAT": single-letter names first with one
// dash, the others with two, and the value's placeholder once at the end.
func flagSyntax(f Flag) string {
	inf := f.info()
	var short, long []string
	for _, n := range f.Names() {
		if len(n) == 1 {
			short = append(short, "-"+n)
		} else {
			long = append(long, "--"+n)
		}
	}
	s := strings.Join(append(short, long...), ", ")
	if !inf.isBool {
		ph, _ := placeholder(inf.usage, inf.kind)
		s += " " + ph
	}
	return s
}

func flagUsage(f Flag) string {
	inf := f.info()
	_, text := placeholder(inf.usage, inf.kind)
	if inf.required {
		text += " (required)"
	}
	if inf.shown != "" {
		text += " (default: " + inf.shown + ")"
	}
	return strings.TrimSpace(text)
}
