package main

import (
	"bufio"
	"fmt"
	"io"
	"os"

	"github.com/tracelet/tracelet/internal/cli"
	"github.com/tracelet/tracelet/record"
	"github.com/tracelet/tracelet/tracefs"
)

func collectCommand() *cli.Command {
	return &cli.Command{
		Name:  "collect",
		Usage: "read and decode what boot-time or applied probes recorded in their instance (consumes the ring)",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "instance", Aliases: []string{"i"}, Usage: "instance `NAME` (default: the only persistent tracelet instance)"},
			&cli.BoolFlag{Name: "global", Usage: "read the global buffer, where kprobe_event= boot probes record"},
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Value: "-", Usage: "write to `FILE` ('-': standard output)"},
			&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Value: "text", Usage: "`FORMAT`: text (ftrace's) or json (JSON Lines)"},
		},
		Action: collectAction,
	}
}

func collectAction(c *cli.Context) error {
	if c.NArg() > 0 {
		return usageError("collect: no arguments expected (use --instance NAME)")
	}
	format, err := record.ParseFormat(c.String("format"))
	if err != nil {
		return usageError("collect: %v", err)
	}
	if c.IsSet("instance") && c.Bool("global") {
		return usageError("collect: --instance and --global exclude each other")
	}
	fs, err := tracefs.Find()
	if err != nil {
		return cli.Exit(err.Error(), 1)
	}
	var in *tracefs.Instance
	switch name := c.String("instance"); {
	case c.Bool("global"):
		in = fs.TopInstance()
	case name != "":
		if in, err = fs.OpenInstance(name); err != nil {
			return cli.Exit(err.Error(), 1)
		}
	default:
		names, _ := fs.PersistentInstances()
		if len(names) != 1 {
			return usageError("collect: %d persistent tracelet instances (%v): name one with --instance, or use --global for kprobe_event= probes", len(names), names)
		}
		if in, err = fs.OpenInstance(names[0]); err != nil {
			return cli.Exit(err.Error(), 1)
		}
	}
	var out io.Writer = c.App.Writer
	if o := c.String("output"); o != "-" {
		f, err := os.Create(o)
		if err != nil {
			return cli.Exit(err.Error(), 1)
		}
		defer f.Close()
		out = f
	}
	bw := bufio.NewWriterSize(out, 64<<10)
	bw.Write(format.Header())
	p := record.NewPrinter(format)
	var line []byte
	st, err := record.Collect(fs, in, func(ev *record.Event) error {
		line = p.Append(line[:0], ev)
		_, err := bw.Write(line)
		return err
	})
	if ferr := bw.Flush(); err == nil {
		err = ferr
	}
	if err != nil {
		return cli.Exit("collect: "+err.Error(), 1)
	}
	fmt.Fprintf(c.App.ErrWriter, "%d events", st.Events)
	if st.Missed > 0 {
		fmt.Fprintf(c.App.ErrWriter, ", %d lost (ring full)", st.Missed)
	}
	if st.Unknown > 0 {
		fmt.Fprintf(c.App.ErrWriter, ", %d of unknown events skipped", st.Unknown)
	}
	fmt.Fprintln(c.App.ErrWriter)
	return nil
}
