package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/tracelet/tracelet/internal/cli"
	"github.com/tracelet/tracelet/metrics"
	"github.com/tracelet/tracelet/tools"
)

// toolCommands are the everyday tools (package tools), with libbpf-tools'
// flag names and columns.
func toolCommands() []*cli.Command {
	return []*cli.Command{
		sigsnoopCommand("sigsnoop", "trace signals, sender to target (signal_generate + signal_deliver)"),
		sigsnoopCommand("killsnoop", "trace kill(), tkill() and tgkill() with their results"),
		execsnoopCommand(),
		opensnoopCommand(),
		exitsnoopCommand(),
		syscountCommand(),
		funccountCommand(),
		funclatencyCommand(),
	}
}

// Flags every tool has; timestamp adds -T under the long name tsName
// (libbpf-tools' execsnoop calls it --time, the others --timestamp).
func commonFlags(timestamp bool) []cli.Flag { return commonFlagsNamed(timestamp, "timestamp") }

func commonFlagsNamed(timestamp bool, tsName string) []cli.Flag {
	fl := []cli.Flag{
		&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Value: "text", Usage: "text, or json (JSON Lines)"},
		&cli.StringFlag{Name: "backend", Value: "auto", Usage: "auto, bpf, or tracefs (no BPF; where the tool has that form)"},
		&cli.IntFlag{Name: "duration", Aliases: []string{"d"}, Usage: "stop after `SECONDS`"},
	}
	if timestamp {
		fl = append(fl, &cli.BoolFlag{Name: tsName, Aliases: []string{"T"}, Usage: "include a time column (HH:MM:SS)"})
	}
	return fl
}

// Each tool prints its header (or its "Tracing ..." line) from Ready, once
// its probes are attached, as libbpf-tools do: a script may take the first
// line as the sign that no event will be missed from then on.
//
// setup reads the common flags: the printer, the backend, and a context
// that ends on SIGINT/SIGTERM (c.Context) or after -d.
func setup(c *cli.Context, tsFlag string) (context.Context, context.CancelFunc, *tools.Printer, tools.Common, error) {
	f, err := tools.ParseFormat(c.String("output"))
	if err != nil {
		return nil, nil, nil, tools.Common{}, usageError("%v", err)
	}
	b, err := tools.ParseBackend(c.String("backend"))
	if err != nil {
		return nil, nil, nil, tools.Common{}, usageError("%v", err)
	}
	if c.Args().Len() > 0 && c.Command.ArgsUsage == "" {
		return nil, nil, nil, tools.Common{}, usageError("%s: unexpected argument %q", c.Command.Name, c.Args().First())
	}
	ctx, cancel := context.WithCancel(c.Context)
	if d := c.Int("duration"); d > 0 {
		ctx, cancel = context.WithTimeout(c.Context, time.Duration(d)*time.Second)
	} else if d < 0 {
		cancel()
		return nil, nil, nil, tools.Common{}, usageError("-d %d: want a positive number of seconds", d)
	}
	p := &tools.Printer{W: c.App.Writer, Format: f, Timestamp: tsFlag != "" && c.Bool(tsFlag), Tool: c.Command.Name}
	return ctx, cancel, p, tools.Common{Backend: b}, nil
}

// countingMetrics sets up a counting tool's --metrics and --metrics-file:
// the tool's running totals are served (or written), and, as with run,
// nothing is printed: the returned printer writes nowhere.
func countingMetrics(ctx context.Context, c *cli.Context, common *tools.Common, p *tools.Printer) (*tools.Printer, error) {
	mx, err := metricsConfig(c, nil)
	if err != nil || !mx.on() {
		return p, err
	}
	common.Metrics = func(collect func() ([]metrics.Family, error)) (func() error, error) {
		return mx.start(ctx, collect)
	}
	return &tools.Printer{W: io.Discard, Format: p.Format, Timestamp: p.Timestamp, Tool: p.Tool}, nil
}

func runErr(err error) error {
	if err != nil {
		return cli.Exit(err.Error(), 1)
	}
	return nil
}

func sigsnoopCommand(name, usage string) *cli.Command {
	flags := append(commonFlags(true),
		&cli.IntFlag{Name: "pid", Aliases: []string{"p"}, Usage: "only signals sent by process `PID`"},
		&cli.StringFlag{Name: "signal", Aliases: []string{"s"}, Usage: "only `SIGNAL` (number or name)"},
		&cli.BoolFlag{Name: "failed", Aliases: []string{"x"}, Usage: "only signals that failed"},
		&cli.BoolFlag{Name: "name", Aliases: []string{"n"}, Usage: "print signal names instead of numbers"},
	)
	if name == "sigsnoop" {
		flags = append(flags,
			&cli.BoolFlag{Name: "kill", Aliases: []string{"k"}, Usage: "only signals sent by kill(), tkill(), tgkill(), with their return value"},
			&cli.BoolFlag{Name: "generate", Aliases: []string{"g"}, Usage: "report every signal_generate with its result code (libbpf-tools' default), not deliveries"},
		)
	}
	return &cli.Command{
		Name: name, Usage: usage, Flags: flags, UseShortOptionHandling: true,
		Action: func(c *cli.Context) error {
			ctx, cancel, p, common, err := setup(c, "timestamp")
			if err != nil {
				return err
			}
			defer cancel()
			o := tools.SignalOptions{Common: common, Pid: c.Int("pid"), Failed: c.Bool("failed")}
			if o.Pid < 0 {
				return usageError("-p %d: want a process id", o.Pid)
			}
			if s := c.String("signal"); s != "" {
				if o.Signal, err = tools.ParseSignal(s); err != nil {
					return usageError("-s: %v", err)
				}
			}
			switch {
			case name == "killsnoop" || c.Bool("kill"):
				o.Mode = tools.SignalKill
			case c.Bool("generate"):
				o.Mode = tools.SignalGenerate
			}
			// libbpf-tools' sigsnoop always has its TIME column.
			if p.Format == tools.Text {
				p.Timestamp = true
			}
			o.Ready = func() { p.Header(tools.SignalHeader()) }
			return runErr(tools.Sigsnoop(ctx, o, func(e *tools.SignalEvent) error {
				return p.Row(e.Time, e.Columns(c.Bool("name")), e)
			}))
		},
	}
}

func execsnoopCommand() *cli.Command {
	return &cli.Command{
		Name: "execsnoop", Usage: "trace exec() calls: pid, ppid, return value and argv", UseShortOptionHandling: true,
		Flags: append(commonFlagsNamed(true, "time"),
			&cli.BoolFlag{Name: "fails", Aliases: []string{"x"}, Usage: "include failed exec()s"},
			&cli.StringFlag{Name: "name", Aliases: []string{"n"}, Usage: "only commands whose name or arguments contain `NAME`"},
			&cli.StringFlag{Name: "line", Aliases: []string{"l"}, Usage: "only commands whose arguments contain `LINE`"},
			&cli.IntFlag{Name: "uid", Aliases: []string{"u"}, Value: -1, Usage: "only `UID`"},
			&cli.BoolFlag{Name: "print-uid", Aliases: []string{"U"}, Usage: "print a UID column"},
			&cli.BoolFlag{Name: "quote", Aliases: []string{"q"}, Usage: "quote the arguments"},
			&cli.IntFlag{Name: "max-args", Value: tools.DefaultMaxArgs, Usage: "at most `N` arguments (up to 60)"},
			&cli.BoolFlag{Name: "timestamp", Aliases: []string{"t"}, Usage: "include a TIME(s) column: seconds since the start"},
		),
		Action: func(c *cli.Context) error {
			ctx, cancel, p, common, err := setup(c, "time")
			if err != nil {
				return err
			}
			defer cancel()
			if n := c.Int("max-args"); n < 1 || n > tools.MaxArgsLimit {
				return usageError("--max-args %d: want 1 to %d", n, tools.MaxArgsLimit)
			}
			o := tools.ExecOptions{Common: common, Failed: c.Bool("fails"), Name: c.String("name"), Line: c.String("line"),
				UID: c.Int("uid"), MaxArgs: c.Int("max-args")}
			uidCol, quote, rel := c.Bool("print-uid"), c.Bool("quote"), c.Bool("timestamp")
			hdr := tools.ExecHeader(uidCol)
			if rel && p.Format == tools.Text {
				hdr = fmt.Sprintf("%-8s ", "TIME(s)") + hdr
			}
			o.Ready = func() { p.Header(hdr) }
			start := time.Now()
			return runErr(tools.Execsnoop(ctx, o, func(e *tools.ExecEvent) error {
				line := e.Columns(uidCol, quote)
				if rel {
					line = fmt.Sprintf("%-8.3f ", e.Time.Sub(start).Seconds()) + line
				}
				return p.Row(e.Time, line, e)
			}))
		},
	}
}

func opensnoopCommand() *cli.Command {
	return &cli.Command{
		Name: "opensnoop", Usage: "trace open(), openat() and openat2(): pid, comm, fd, errno and path", UseShortOptionHandling: true,
		Flags: append(commonFlags(true),
			&cli.IntFlag{Name: "pid", Aliases: []string{"p"}, Usage: "only process `PID`"},
			&cli.IntFlag{Name: "tid", Aliases: []string{"t"}, Usage: "only thread `TID`"},
			&cli.IntFlag{Name: "uid", Aliases: []string{"u"}, Value: -1, Usage: "only `UID`"},
			&cli.BoolFlag{Name: "print-uid", Aliases: []string{"U"}, Usage: "print a UID column"},
			&cli.StringFlag{Name: "name", Aliases: []string{"n"}, Usage: "only processes whose name contains `NAME`"},
			&cli.BoolFlag{Name: "failed", Aliases: []string{"x"}, Usage: "only failed opens"},
			&cli.BoolFlag{Name: "extended-fields", Aliases: []string{"e"}, Usage: "print the open flags"},
		),
		Action: func(c *cli.Context) error {
			ctx, cancel, p, common, err := setup(c, "timestamp")
			if err != nil {
				return err
			}
			defer cancel()
			o := tools.OpenOptions{Common: common, Pid: c.Int("pid"), Tid: c.Int("tid"), UID: c.Int("uid"), Name: c.String("name"), Failed: c.Bool("failed")}
			uidCol, ext := c.Bool("print-uid"), c.Bool("extended-fields")
			o.Ready = func() { p.Header(tools.OpenHeader(uidCol, ext)) }
			return runErr(tools.Opensnoop(ctx, o, func(e *tools.OpenEvent) error {
				return p.Row(e.Time, e.Columns(uidCol, ext), e)
			}))
		},
	}
}

func exitsnoopCommand() *cli.Command {
	return &cli.Command{
		Name: "exitsnoop", Usage: "trace process exits: exit code or signal, and age", UseShortOptionHandling: true,
		Flags: append(commonFlags(false),
			&cli.BoolFlag{Name: "timestamp", Aliases: []string{"t"}, Usage: "include a time column"},
			&cli.BoolFlag{Name: "threaded", Aliases: []string{"T"}, Usage: "trace every thread"},
			&cli.IntFlag{Name: "pid", Aliases: []string{"p"}, Usage: "only process `PID`"},
			&cli.BoolFlag{Name: "failed", Aliases: []string{"x"}, Usage: "only error exits"},
		),
		Action: func(c *cli.Context) error {
			ctx, cancel, p, common, err := setup(c, "timestamp")
			if err != nil {
				return err
			}
			defer cancel()
			o := tools.ExitOptions{Common: common, Pid: c.Int("pid"), Failed: c.Bool("failed"), Threaded: c.Bool("threaded")}
			o.Ready = func() { p.Header(tools.ExitHeader()) }
			return runErr(tools.Exitsnoop(ctx, o, func(e *tools.ExitEvent) error {
				return p.Row(e.Time, e.Columns(), e)
			}))
		},
	}
}

func intervalFlag() cli.Flag {
	return &cli.IntFlag{Name: "interval", Aliases: []string{"i"}, Usage: "report every `SECONDS` (0: once, at the end)"}
}

func syscountCommand() *cli.Command {
	return &cli.Command{
		Name: "syscount", Usage: "count system calls by name or by process, with latency", UseShortOptionHandling: true,
		Flags: append(append(commonFlags(false), metricsFlags()...), intervalFlag(),
			&cli.IntFlag{Name: "pid", Aliases: []string{"p"}, Usage: "only process `PID`"},
			&cli.BoolFlag{Name: "process", Aliases: []string{"P"}, Usage: "count by process, not by syscall"},
			&cli.BoolFlag{Name: "latency", Aliases: []string{"L"}, Usage: "collect syscall latency"},
			&cli.BoolFlag{Name: "milliseconds", Aliases: []string{"m"}, Usage: "latency in ms (default µs)"},
			&cli.BoolFlag{Name: "failures", Aliases: []string{"x"}, Usage: "only failed syscalls"},
			&cli.StringFlag{Name: "errno", Aliases: []string{"e"}, Usage: "only syscalls failing with `ERRNO` (number or name)"},
			&cli.IntFlag{Name: "top", Aliases: []string{"T"}, Value: 10, Usage: "print the top `N` (0: all)"},
		),
		Action: func(c *cli.Context) error {
			ctx, cancel, p, common, err := setup(c, "")
			if err != nil {
				return err
			}
			defer cancel()
			if p, err = countingMetrics(ctx, c, &common, p); err != nil {
				return err
			}
			o := tools.SyscountOptions{Common: common, Pid: c.Int("pid"), ByProcess: c.Bool("process"), Latency: c.Bool("latency"),
				Failed: c.Bool("failures"), Interval: time.Duration(c.Int("interval")) * time.Second}
			if e := c.String("errno"); e != "" {
				if o.Errno, err = tools.ParseErrno(e); err != nil {
					return usageError("-e: %v", err)
				}
			}
			o.Ready = func() {
				if p.Format == tools.Text {
					fmt.Fprintf(p.W, "Tracing syscalls, printing top %d... Ctrl+C to quit.\n", c.Int("top"))
				}
			}
			return runErr(tools.Syscount(ctx, o, func(r *tools.SyscountReport) error {
				if p.Format == tools.JSON {
					return p.Row(r.Time, "", r)
				}
				tools.PrintSyscount(p.W, r, o, c.Int("top"), c.Bool("milliseconds"))
				return nil
			}))
		},
	}
}

func funccountCommand() *cli.Command {
	return &cli.Command{
		Name: "funccount", Usage: "count calls of functions (k:FUNC, LIB:FUNC, u:LIB:FUNC) or tracepoints (t:SYS:EVENT); wildcards allowed",
		ArgsUsage: "PATTERN", UseShortOptionHandling: true,
		Flags: append(append(commonFlags(true), metricsFlags()...), intervalFlag(),
			&cli.IntFlag{Name: "pid", Aliases: []string{"p"}, Usage: "only process `PID`"},
		),
		Action: func(c *cli.Context) error {
			if c.Args().Len() != 1 {
				return usageError("funccount: want one PATTERN (e.g. 'c:malloc', 't:sched:sched_*', 'vfs_*')")
			}
			ctx, cancel, p, common, err := setup(c, "timestamp")
			if err != nil {
				return err
			}
			defer cancel()
			if p, err = countingMetrics(ctx, c, &common, p); err != nil {
				return err
			}
			o := tools.FunccountOptions{Common: common, Pid: c.Int("pid"), Interval: time.Duration(c.Int("interval")) * time.Second}
			o.Ready = func() {
				if p.Format == tools.Text {
					fmt.Fprintf(p.W, "Tracing %q... Hit Ctrl-C to end.\n", c.Args().First())
				}
			}
			return runErr(tools.Funccount(ctx, c.Args().First(), o, func(r *tools.FunccountReport) error {
				if p.Format == tools.JSON {
					return p.Row(r.Time, "", r)
				}
				if p.Timestamp {
					fmt.Fprintf(p.W, "%-8s\n", r.Time.Format("15:04:05"))
				}
				tools.PrintFunccount(p.W, r, o.Interval > 0)
				return nil
			}))
		},
	}
}

func funclatencyCommand() *cli.Command {
	return &cli.Command{
		Name: "funclatency", Usage: "time a function (FUNC, LIB:FUNC, PROGRAM:FUNC, :FUNC with -p) into a log2 histogram",
		ArgsUsage: "FUNCTION", UseShortOptionHandling: true,
		Flags: append(append(commonFlags(true), metricsFlags()...), intervalFlag(),
			&cli.IntFlag{Name: "pid", Aliases: []string{"p"}, Usage: "only process `PID`"},
			&cli.BoolFlag{Name: "milliseconds", Aliases: []string{"m"}, Usage: "output in milliseconds"},
			&cli.BoolFlag{Name: "microseconds", Aliases: []string{"u"}, Usage: "output in microseconds (the default)"},
			&cli.BoolFlag{Name: "nanoseconds", Aliases: []string{"n"}, Usage: "output in nanoseconds"},
		),
		Action: func(c *cli.Context) error {
			if c.Args().Len() != 1 {
				return usageError("funclatency: want one FUNCTION (e.g. 'c:malloc', '/bin/bash:readline', 'vfs_read')")
			}
			ctx, cancel, p, common, err := setup(c, "timestamp")
			if err != nil {
				return err
			}
			defer cancel()
			if p, err = countingMetrics(ctx, c, &common, p); err != nil {
				return err
			}
			o := tools.FunclatencyOptions{Common: common, Pid: c.Int("pid"), Unit: tools.Microseconds,
				Interval: time.Duration(c.Int("interval")) * time.Second}
			switch {
			case c.Bool("milliseconds") && c.Bool("nanoseconds"), c.Bool("milliseconds") && c.Bool("microseconds"):
				return usageError("funclatency: -m, -u and -n exclude each other")
			case c.Bool("milliseconds"):
				o.Unit = tools.Milliseconds
			case c.Bool("nanoseconds"):
				o.Unit = tools.Nanoseconds
			}
			fn := c.Args().First()
			o.Ready = func() {
				if p.Format == tools.Text {
					fmt.Fprintf(p.W, "Tracing %s.  Hit Ctrl-C to exit\n", fn)
				}
			}
			err = tools.Funclatency(ctx, fn, o, func(h *tools.Histogram) error {
				if p.Format == tools.JSON {
					return p.Row(h.Time, "", h)
				}
				fmt.Fprintln(p.W)
				if p.Timestamp {
					fmt.Fprintf(p.W, "%-8s\n", h.Time.Format("15:04:05"))
				}
				tools.PrintLog2Hist(p.W, h)
				return nil
			})
			if err == nil && p.Format == tools.Text {
				fmt.Fprintf(p.W, "Exiting trace of %s\n", fn)
			}
			return runErr(err)
		},
	}
}
