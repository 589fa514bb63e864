package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/tracelet/tracelet/internal/cli"
	"github.com/tracelet/tracelet/metrics"
	"github.com/tracelet/tracelet/script"
	"github.com/tracelet/tracelet/tools"
)

// scriptToolCommands makes a command of each embedded script tool, its
// flags and arguments read from the script's header (tools/scripts.go).
func scriptToolCommands() []*cli.Command {
	all, err := tools.Scripts()
	if err != nil {
		// The scripts are embedded and tested: this is a build mistake.
		panic(err)
	}
	var cmds []*cli.Command
	for _, s := range all {
		if !s.Hidden() {
			cmds = append(cmds, scriptToolCommand(s))
		}
	}
	return append(cmds, toolsCommand(all))
}

func scriptToolCommand(s *tools.Script) *cli.Command {
	var flags []cli.Flag
	for _, f := range s.Flags {
		var names []string
		if f.Short != "" {
			names = append(names, f.Short)
		}
		if f.Long != "" {
			names = append(names, f.Long)
		}
		if f.Type == "bool" {
			flags = append(flags, &cli.BoolFlag{Name: names[0], Aliases: names[1:], Usage: f.Usage})
		} else {
			// The macro's name is the value's placeholder in help.
			usage := strings.Replace(f.Usage, f.Define, "`"+f.Define+"`", 1)
			if usage == f.Usage {
				usage = "`" + f.Define + "`: " + f.Usage
			}
			flags = append(flags, &cli.StringFlag{Name: names[0], Aliases: names[1:], Usage: usage})
		}
	}
	var argsUsage []string
	for _, a := range s.Args {
		argsUsage = append(argsUsage, "["+a.Define+"]")
	}
	usage := strings.Join(argsUsage, " ")
	for _, a := range s.Args {
		usage += "\n   " + a.Define + ": " + a.Usage
	}
	if fg := s.FlameGraph; fg != nil {
		flags = append(flags,
			&cli.StringFlag{Name: "f", Aliases: []string{"format"}, Value: "text", Usage: "output `FORMAT`: text, or folded (folded stacks for flamegraph.pl, speedscope, Perfetto; messages go to stderr)"},
			&cli.StringFlag{Name: "svg", Usage: "also draw the stacks as an interactive flame graph in `FILE` (click zooms, Search highlights)"})
	}
	usage += "\n\n   The script: tracelet tools show " + s.Name
	flags = append(flags, &cli.StringFlag{Name: "output", Aliases: []string{"o"}, Value: "text", Usage: "text, or json (JSON Lines: run -f json's, README: JSON Lines)"})
	serves := len(s.Metrics) > 0
	if serves {
		flags = append(flags, metricsFlags()...)
	}
	return &cli.Command{
		Name: s.Name, Usage: s.Usage, ArgsUsage: usage, Flags: flags, UseShortOptionHandling: true,
		Action: func(c *cli.Context) error {
			var o tools.ScriptOptions
			for _, f := range s.Flags {
				name := f.Short
				if name == "" {
					name = f.Long
				}
				if !c.IsSet(name) || f.Type == "bool" && !c.Bool(name) {
					continue
				}
				ds, err := f.DefineValues(c.String(name))
				if err != nil {
					return usageError("%s: %v", s.Name, err)
				}
				o.Defines = append(o.Defines, ds...)
			}
			if c.NArg() > len(s.Args) {
				return usageError("%s: unexpected argument %q", s.Name, c.Args().Get(len(s.Args)))
			}
			for i, v := range c.Args().Slice() {
				d, err := s.Args[i].DefineValue(v)
				if err != nil {
					return usageError("%s: %v", s.Name, err)
				}
				o.Defines = append(o.Defines, d)
			}
			out := bufio.NewWriter(os.Stdout)
			defer out.Flush()
			o.Out = &lineFlusher{out}
			if serves {
				mx, err := metricsConfig(c, nil)
				if err != nil {
					return err
				}
				if mx.on() {
					if c.NArg() > 0 {
						// An interval's clear() would reset the counters.
						return usageError("%s: --metrics serves running totals: give no interval or count", s.Name)
					}
					o.Out = io.Discard
					o.Metrics = func(collect func() ([]metrics.Family, error)) (func() error, error) {
						return mx.start(c.Context, collect)
					}
				}
			}
			o.Notes = os.Stderr
			switch c.String("output") {
			case "text":
			case "json":
				o.JSON = true
			default:
				return usageError("%s: -o %q: want text or json", s.Name, c.String("output"))
			}
			var svg *svgOutput
			if fg := s.FlameGraph; fg != nil {
				if c.String("svg") != "" {
					svg = newSVGOutput(c.String("svg"), fg.Title, fg.Unit)
				}
				switch f := c.String("f"); {
				case f == "folded" && svg != nil:
					o.Folded, o.Out = io.MultiWriter(out, &svg.folded), os.Stderr
				case f == "folded":
					o.Folded, o.Out = out, os.Stderr
				case f != "text":
					return usageError("%s: -f %q: want text or folded", s.Name, f)
				case svg != nil:
					o.Folded = &svg.folded
				}
			}
			err := tools.RunScript(c.Context, s, o)
			if err == nil {
				if err = svg.write(); err != nil {
					err = fmt.Errorf("--svg: %w", err)
				}
			}
			if _, ok := script.AsErrorList(err); ok {
				out.Flush()
				fmt.Fprintln(os.Stderr, err)
				return cli.Exit("", 2)
			}
			return runErr(err)
		},
	}
}

// toolsCommand lists the script tools and prints their source.
func toolsCommand(all []*tools.Script) *cli.Command {
	return &cli.Command{
		Name:  "tools",
		Usage: "list the tools written as scripts, or print one (to copy, change and run with `tracelet run`)",
		Subcommands: []*cli.Command{
			{
				Name: "list", Usage: "list the script tools",
				Action: func(c *cli.Context) error {
					for _, s := range all {
						if !s.Hidden() {
							fmt.Fprintf(c.App.Writer, "%-14s %s\n", s.Name, s.Usage)
						}
					}
					return nil
				},
			},
			{
				Name: "show", Usage: "print a script tool's source", ArgsUsage: "NAME",
				Action: func(c *cli.Context) error {
					if c.NArg() != 1 {
						return usageError("tools show: want one tool NAME (see tracelet tools list)")
					}
					s, err := tools.LookupScript(c.Args().First())
					if err != nil {
						return usageError("tools show: %v", err)
					}
					_, err = c.App.Writer.Write(s.Source)
					return err
				},
			},
		},
	}
}
