package cli

// Command is a command of an App, or a subcommand of another command.
type Command struct {
	Name      string
	Aliases   []string
	Usage     string // one line, shown in the list of commands
	ArgsUsage string // the positional arguments in the usage line, e.g. "SPEC..."
	Flags     []Flag
	Action    func(*Context) error
	// Subcommands are chosen by the first positional argument. A command
	// that has them and no Action prints its help when given none.
	Subcommands []*Command
	// UseShortOptionHandling lets single-letter flags be run together,
	// -xT for -x -T.
	UseShortOptionHandling bool
}

func (c *Command) names() []string { return append([]string{c.Name}, c.Aliases...) }
