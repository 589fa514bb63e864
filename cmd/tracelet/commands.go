package main

import (
	"slices"

	"github.com/tracelet/tracelet/internal/cli"
	"github.com/tracelet/tracelet/tools"
)

// commands lists every subcommand, in the order help shows them.
func commands() []*cli.Command {
	return append(builtinCommands(), scriptToolCommands()...)
}

func builtinCommands() []*cli.Command {
	return append([]*cli.Command{
		doctorCommand(),
		listCommand(),
		probeCommand(),
		runCommand(),
		traceCommand(),
		versionCommand(),
		applyCommand(),
		revertCommand(),
		statusCommand(),
		bootargsCommand(),
		bootconfigCommand(),
		collectCommand(),
		recordCommand(),
		reportCommand(),
	}, toolCommands()...)
}

// commandsFor is what a command line naming name can run. Each script
// tool's command is built from its script's header, and parsing them all
// costs a fifth of a millisecond that start-up need not pay: a built-in
// command gets the built-in ones, and a script tool those and its own.
// Anything else (help, tools, a mistake) gets them all.
func commandsFor(name string) (cmds []*cli.Command, scriptTool bool) {
	builtin := builtinCommands()
	for _, c := range builtin {
		if c.Name == name || slices.Contains(c.Aliases, name) {
			return builtin, false
		}
	}
	if s, err := tools.LookupScript(name); err == nil && !s.Hidden() {
		return append(builtin, scriptToolCommand(s)), true
	}
	return commands(), false
}
