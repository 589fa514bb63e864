package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/tracelet/tracelet/internal/cli"
	"github.com/tracelet/tracelet/kprobeevents"
	"github.com/tracelet/tracelet/tracefs"
)

// targetFlags describe the kernel a boot-time plan is for, which need not be
// the one running.
func targetFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "arch", Usage: "target `ARCH` (x86_64, i386, arm64, arm, riscv64, ppc64; default: this binary's)"},
		&cli.StringFlag{Name: "kernel", Usage: "target kernel `VERSION` (e.g. 6.1; default: the running kernel)"},
	}
}

func targetOptions(c *cli.Context) (kprobeevents.Options, error) {
	opts := parseOptions()
	if s := c.String("arch"); s != "" {
		a, err := kprobeevents.ParseArch(s)
		if err != nil {
			return opts, usageError("--arch: %v", err)
		}
		opts.Arch = a
	}
	if s := c.String("kernel"); s != "" {
		k, err := kprobeevents.ParseKernel(s)
		if err != nil {
			return opts, usageError("--kernel: %v", err)
		}
		opts.Kernel = k
	}
	return opts, nil
}

func bootError(err error) error {
	var be *tracefs.BootError
	if errors.As(err, &be) {
		return cli.Exit(err.Error(), 1)
	}
	return definitionError(err)
}

func bootargsCommand() *cli.Command {
	return &cli.Command{
		Name:      "bootargs",
		Usage:     "print the kernel parameters (ftrace=nop, which gives the global buffer its full size from boot, and kprobe_event=) that define and enable a script's kprobes at boot",
		ArgsUsage: planUsage,
		Flags: append(append(targetFlags(), planFlags()...),
			&cli.IntFlag{Name: "reserve", Value: 256, Usage: "`BYTES` of the command line the other parameters need"},
			&cli.IntFlag{Name: "cmdline-size", Usage: "the target's COMMAND_LINE_SIZE in `BYTES` (default: the architecture's)"},
		),
		Action: func(c *cli.Context) error {
			path, err := onePlanArg(c, "bootargs")
			if err != nil {
				return err
			}
			opts, err := targetOptions(c)
			if err != nil {
				return err
			}
			if c.Int("reserve") < 0 || c.Int("cmdline-size") < 0 {
				return usageError("bootargs: --reserve and --cmdline-size must not be negative")
			}
			fs, _ := tracefs.Find() // only to type tracepoint args
			p, err := loadPlan(c, path, opts, fs)
			if err != nil {
				return err
			}
			arg, err := p.BootArgs(tracefs.BootArgsOptions{Grammar: opts, Reserve: c.Int("reserve"), CommandLineSize: c.Int("cmdline-size")})
			if err != nil {
				return bootError(err)
			}
			fmt.Fprintln(c.App.Writer, arg)
			fmt.Fprintf(os.Stderr, "tracelet: the kernel enables these events in the global buffer; read them with 'tracelet collect --global'\n")
			return nil
		},
	}
}

func bootconfigCommand() *cli.Command {
	return &cli.Command{
		Name:      "bootconfig",
		Usage:     "print the bootconfig text (ftrace.instance.* or, with --global, ftrace.event.*) that sets up a script's probes, filters, triggers and instance at boot",
		ArgsUsage: planUsage,
		Flags: append(append(targetFlags(), planFlags()...),
			&cli.BoolFlag{Name: "global", Usage: "set the events up in the global buffer (ftrace.event.*) instead of the plan's instance (ftrace.instance.NAME.*)"},
		),
		Action: func(c *cli.Context) error {
			path, err := onePlanArg(c, "bootconfig")
			if err != nil {
				return err
			}
			opts, err := targetOptions(c)
			if err != nil {
				return err
			}
			fs, _ := tracefs.Find() // only to type tracepoint args
			p, err := loadPlan(c, path, opts, fs)
			if err != nil {
				return err
			}
			text, err := p.BootConfigFor(opts, c.Bool("global"))
			if err != nil {
				return bootError(err)
			}
			_, err = fmt.Fprint(c.App.Writer, text)
			return err
		},
	}
}
