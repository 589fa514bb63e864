package main

import "github.com/urfave/cli/v2"

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
	}, toolCommands()...)
}
