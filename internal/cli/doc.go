// Package cli is tracelet's command-line layer: an application of commands
// and subcommands, each with typed flags, parsed from argv and dispatched to
// an action that gets a Context.
//
// It keeps the names and the parsing rules of the urfave/cli v2 subset that
// cmd/tracelet was written against (so that the scripts and habits of
// tracelet's users keep working), and nothing else. Help is printed with
// plain fmt: no text/template and no reflection, because reflective method
// lookups make the linker keep every exported method of every reachable
// type, which cost 1.9 MB of a release binary with a 6 MiB budget.
//
// Flags follow Go's flag package: -name, --name, -name=value, --name value,
// a boolean set by its bare name (or -name=false), "--" ending the flags,
// and a command's flags ending at its first positional argument. A command
// with UseShortOptionHandling also takes single-letter flags run together
// (-xT). Mistakes in argv are usage errors, which exit with status 2.
//
//	app := &cli.App{
//		Name: "tool",
//		Commands: []*cli.Command{{
//			Name:  "greet",
//			Usage: "say hello",
//			Flags: []cli.Flag{&cli.StringFlag{Name: "name", Aliases: []string{"n"}, Value: "world"}},
//			Action: func(c *cli.Context) error {
//				fmt.Fprintln(c.App.Writer, "hello,", c.String("name"))
//				return nil
//			},
//		}},
//	}
//	err := app.Run(os.Args) // tool greet -n you
package cli
