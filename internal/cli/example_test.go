package cli_test

import (
	"fmt"
	"os"

	"github.com/tracelet/tracelet/internal/cli"
)

func Example() {
	app := &cli.App{
		Name:   "tool",
		Writer: os.Stdout,
		Commands: []*cli.Command{{
			Name:      "greet",
			Usage:     "say hello",
			ArgsUsage: "[NAME...]",
			Flags: []cli.Flag{
				&cli.BoolFlag{Name: "loud", Aliases: []string{"l"}, Usage: "shout"},
				&cli.IntFlag{Name: "times", Aliases: []string{"n"}, Value: 1, Usage: "greet `N` times"},
			},
			Action: func(c *cli.Context) error {
				if c.NArg() == 0 {
					return cli.Exit("greet: no NAME", 2)
				}
				for i := 0; i < c.Int("times"); i++ {
					msg := "hello, " + c.Args().First()
					if c.Bool("loud") {
						msg += "!"
					}
					fmt.Fprintln(c.App.Writer, msg)
				}
				return nil
			},
		}},
	}
	// Flags end at the first argument: "-x" is the action's.
	_ = app.Run([]string{"tool", "greet", "-l", "--times=2", "you", "-x"})
	_ = app.Run([]string{"tool", "greet", "--help"})
	err := app.Run([]string{"tool", "greet", "--loud=maybe"})
	fmt.Println(err, err.(cli.ExitCoder).ExitCode())
	// Output:
	// hello, you!
	// hello, you!
	// tool greet - say hello
	//
	// Usage: tool greet [options] [NAME...]
	//
	// Options:
	//   -l, --loud     shout
	//   -n, --times N  greet N times (default: 1)
	//   -h, --help     show help
	// greet: invalid value "maybe" for flag -loud: want true or false
	// Run 'tool greet --help' for usage. 2
}
