package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/tracelet/tracelet/internal/cli"
	"github.com/tracelet/tracelet/record"
	"github.com/tracelet/tracelet/tracefs"
)

func recordCommand() *cli.Command {
	return &cli.Command{
		Name:  "record",
		Usage: "record events unattended to files in DIR, in bounded space; or, with --flight, keep the last SIZE in memory and dump it on SIGUSR1 or a trigger event",
		ArgsUsage: "SCRIPT | SPEC...\n\n   SCRIPT is a script or plan file (see 'apply'); SPEC a probe or tracepoint as 'trace' takes it.\n" +
			"   SIGHUP reopens the file (logrotate); SIGINT/SIGTERM stop and clean up.",
		Flags: append(planFlags(),
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Required: true, Usage: "`DIR` for the recording (trace.txt or trace.jsonl, rotated as .1 .. .N)"},
			&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Value: "text", Usage: "`FORMAT`: text (ftrace's, for trace-cmd and Perfetto) or json (JSON Lines)"},
			&cli.StringFlag{Name: "max-size", Value: "0", Usage: "rotate the file at `SIZE` (e.g. 10M; 0: never)"},
			&cli.IntFlag{Name: "rotate", Value: 0, Usage: "keep `N` rotated files; with 0 recording stops when the file is full"},
			&cli.DurationFlag{Name: "duration", Aliases: []string{"d"}, Usage: "stop after `DURATION`"},
			&cli.StringFlag{Name: "filter", Usage: "kernel-side filter for every event without one"},
			&cli.StringFlag{Name: "flight", Usage: "flight-recorder mode: keep the last `SIZE` (e.g. 8M) in memory, write DIR/flight-TIME files on SIGUSR1 or --trigger"},
			&cli.StringFlag{Name: "trigger", Usage: "with --flight: dump whenever `EVENT` (SYSTEM:EVENT or a probe's name) fires"},
		),
		Action: recordAction,
	}
}

// parseSize reads 4096, 512K, 10M, 1G (powers of 1024).
func parseSize(s string) (int64, error) {
	t := strings.TrimSuffix(strings.ToUpper(strings.TrimSpace(s)), "B")
	mult := int64(1)
	switch {
	case strings.HasSuffix(t, "K"):
		mult, t = 1<<10, t[:len(t)-1]
	case strings.HasSuffix(t, "M"):
		mult, t = 1<<20, t[:len(t)-1]
	case strings.HasSuffix(t, "G"):
		mult, t = 1<<30, t[:len(t)-1]
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("size %q: want a number of bytes with an optional K, M or G", s)
	}
	return n * mult, nil
}

// planFromArgs reads one plan file, or makes a plan of SPECs.
func planFromArgs(c *cli.Context, fs *tracefs.FS) (*tracefs.Plan, error) {
	args := c.Args().Slice()
	if len(args) == 0 {
		return nil, usageError("record: no SCRIPT or SPEC given")
	}
	opts := parseOptions()
	var p *tracefs.Plan
	if len(args) == 1 {
		if st, err := os.Stat(args[0]); err == nil && st.Mode().IsRegular() {
			var err error
			if p, err = loadPlan(c, args[0], opts, fs); err != nil {
				return nil, err
			}
		}
	}
	if p == nil {
		for _, a := range args {
			if strings.ContainsAny(a, "\n\r") {
				return nil, usageError("record: SPEC %q holds a line break", a)
			}
		}
		var err error
		p, err = tracefs.ParsePlan("record", []byte(strings.Join(args, "\n")+"\n"), opts)
		if err != nil {
			return nil, planError(err)
		}
	}
	if f := c.String("filter"); f != "" {
		for i := range p.Events {
			if p.Events[i].Filter == "" {
				p.Events[i].Filter = f
			}
		}
	}
	return p, nil
}

func recordAction(c *cli.Context) (err error) {
	format, err := record.ParseFormat(c.String("format"))
	if err != nil {
		return usageError("record: %v", err)
	}
	maxSize, err := parseSize(c.String("max-size"))
	if err != nil {
		return usageError("record: --max-size: %v", err)
	}
	if c.Int("rotate") < 0 || c.Duration("duration") < 0 {
		return usageError("record: --rotate and --duration must not be negative")
	}
	if c.IsSet("trigger") && !c.IsSet("flight") {
		return usageError("record: --trigger needs --flight")
	}
	fs, err := tracefs.Find()
	if err != nil {
		return cli.Exit(err.Error(), 1)
	}
	// What a SIGKILLed recorder left behind goes before we add ours.
	if _, err := fs.Sweep(); err != nil {
		fmt.Fprintln(c.App.ErrWriter, "tracelet: record: sweeping dead tracelets' probes:", err)
	}
	p, err := planFromArgs(c, fs)
	if err != nil {
		return err
	}
	dir := c.String("output")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return cli.Exit("record: "+err.Error(), 1)
	}
	ctx := c.Context
	if d := c.Duration("duration"); d > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
	if c.IsSet("flight") {
		size, err := parseSize(c.String("flight"))
		if err != nil || size <= 0 || size > 1<<30 {
			// The rings are mapped into tracelet's address space, which
			// is 3 GiB or less on 32-bit devices.
			return usageError("record: --flight: want a size from 4K to 1G, such as 8M")
		}
		return flightRun(ctx, c, fs, p, dir, format, int(size))
	}

	w, err := record.NewWriter(record.WriterOptions{
		Path:    filepath.Join(dir, "trace"+format.Ext()),
		MaxSize: maxSize,
		Rotate:  c.Int("rotate"),
		Header:  format.Header(),
	})
	if err != nil {
		return cli.Exit(err.Error(), 1)
	}
	defer func() {
		if cerr := w.Close(); cerr != nil && err == nil {
			err = cli.Exit("record: "+cerr.Error(), 1)
		}
	}()
	r, err := record.NewRecorder(fs, p, w, record.RecorderOptions{Format: format})
	if err != nil {
		return definitionError(err)
	}
	defer func() {
		if cerr := r.Close(); cerr != nil && err == nil {
			err = cli.Exit(cerr.Error(), 1)
		}
	}()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for range hup {
			if err := w.Reopen(); err != nil {
				fmt.Fprintln(c.App.ErrWriter, "tracelet: record: reopening:", err)
			}
		}
	}()
	fmt.Fprintf(c.App.ErrWriter, "recording %d events into %s\n", len(p.Events), dir)
	rerr := r.Run(ctx)
	st := r.Stats()
	fmt.Fprintf(c.App.ErrWriter, "%d events recorded, %d lost, %d rotations\n", st.Events, st.Missed, w.Rotations())
	if rerr == record.ErrFull {
		fmt.Fprintln(c.App.ErrWriter, "tracelet: record: the file reached --max-size and --rotate is 0; stopped")
		return nil
	}
	if rerr != nil {
		return cli.Exit("record: "+rerr.Error(), 1)
	}
	return nil
}

func flightRun(ctx context.Context, c *cli.Context, fs *tracefs.FS, p *tracefs.Plan, dir string, format record.Format, size int) (err error) {
	f, err := record.NewFlight(fs, p, record.FlightOptions{Size: size, Trigger: c.String("trigger"), Format: format})
	if err != nil {
		return definitionError(err)
	}
	defer func() {
		if cerr := f.Close(); cerr != nil && err == nil {
			err = cli.Exit(cerr.Error(), 1)
		}
	}()
	usr1 := make(chan os.Signal, 1)
	signal.Notify(usr1, syscall.SIGUSR1)
	defer signal.Stop(usr1)
	fmt.Fprintf(c.App.ErrWriter, "flight recorder armed: %d events, SIGUSR1 (kill -USR1 %d) dumps into %s\n", len(p.Events), os.Getpid(), dir)
	err = f.Serve(ctx, dir, usr1, func(why, file string, n int) {
		fmt.Fprintf(c.App.ErrWriter, "%s: dumped %d events into %s\n", why, n, file)
	})
	if err != nil {
		return cli.Exit(err.Error(), 1)
	}
	return nil
}
