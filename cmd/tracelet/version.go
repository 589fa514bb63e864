package main

import (
	"fmt"

	"github.com/tracelet/tracelet/internal/cli"
)

func versionCommand() *cli.Command {
	return &cli.Command{
		Name:  "version",
		Usage: "print the version, the commit and the Go version",
		Action: func(c *cli.Context) error {
			_, err := fmt.Fprintln(c.App.Writer, "tracelet", versionString())
			return err
		},
	}
}
