package main

import "github.com/tracelet/tracelet/internal/cli"

// commands lists every subcommand, in the order help shows them.
func commands() []*cli.Command {
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
	}, append(toolCommands(), scriptToolCommands()...)...)
}
