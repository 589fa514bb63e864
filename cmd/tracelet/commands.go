package main

import "github.com/urfave/cli/v2"

// commands lists every subcommand, in the order help shows them.
func commands() []*cli.Command {
	return []*cli.Command{
		doctorCommand(),
		listCommand(),
		probeCommand(),
		traceCommand(),
		versionCommand(),
	}
}
