package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/tracelet/tracelet/internal/cli"
	"github.com/tracelet/tracelet/script"
	"github.com/tracelet/tracelet/trace"
)

// A `tracelet trace -c CMD` child is this binary re-executed behind a gate;
// it must wait before main starts anything (see trace.RunGate).
func init() { trace.RunGate() }

func traceCommand() *cli.Command {
	return &cli.Command{
		Name:  "trace",
		Usage: "define probes, stream their events live, remove them on exit (kprobes, uprobes, tracepoints; no BPF needed)",
		ArgsUsage: "SPEC...\n\n   SPEC is a probe as 'probe add' takes it ('p:bash:readline', 'p:myopen do_sys_openat2 path=+0($arg2):ustring')\n" +
			"   or a tracepoint SYSTEM:EVENT (syscalls:sys_enter_openat)",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "filter", Aliases: []string{"f"}, Usage: "kernel-side filter for every event, e.g. 'common_pid == 42' or 'a > 10'"},
			&cli.StringFlag{Name: "where", Usage: "`EXPR` every event must pass, in the script language: comm, tid, arg0.., retval, args.NAME[->MEMBER...] compared with constants (strings with == and !=), && || !; e.g. 'arg0 == 7 && comm == \"bash\"'"},
			&cli.IntFlag{Name: "pid", Aliases: []string{"p"}, Usage: "trace only process `PID` and all its threads, including threads created later"},
			&cli.DurationFlag{Name: "duration", Aliases: []string{"d"}, Usage: "stop after `DURATION` (e.g. 5s)"},
			&cli.IntFlag{Name: "count", Aliases: []string{"n"}, Usage: "stop after `COUNT` events"},
			&cli.StringFlag{Name: "command", Aliases: []string{"c"}, Usage: "run `CMD` (split at spaces) and trace it from its first instruction; stop when it exits"},
			&cli.BoolFlag{Name: "stacks", Aliases: []string{"s"}, Usage: "print kernel and user stacks of each event"},
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Value: "text", Usage: "`FORMAT`: text (like the kernel's trace file) or json (JSON Lines)"},
			&cli.BoolFlag{Name: "headers", Aliases: []string{"H"}, Usage: "print each event's format first"},
			&cli.IntFlag{Name: "ring-size", Usage: "per-CPU ring size in `BYTES` (rounded up to a power of two pages; default: sized from the machine's memory, CPUs and lock limit, see -v)"},
			&cli.BoolFlag{Name: "verbose", Aliases: []string{"v"}, Usage: "print the rings' size and wake-up watermark to stderr, and a line once tracing has begun"},
		}, btfFlags()...),
		Action: traceAction,
	}
}

func traceAction(c *cli.Context) (err error) {
	specs := c.Args().Slice()
	if len(specs) == 0 {
		return usageError("trace: no SPEC given (e.g. 'p:bash:readline' or 'syscalls:sys_enter_openat')")
	}
	jsonOut := false
	switch c.String("output") {
	case "text":
	case "json":
		jsonOut = true
	default:
		return usageError("trace: -o %q: want text or json", c.String("output"))
	}
	pid := c.Int("pid")
	cmdline := strings.Fields(c.String("command"))
	switch {
	case pid < 0:
		return usageError("trace: -p %d: not a process id", pid)
	case pid > 0 && len(cmdline) > 0:
		return usageError("trace: -p and -c exclude each other")
	case c.IsSet("command") && len(cmdline) == 0:
		return usageError("trace: -c: empty command")
	case c.Int("count") < 0 || c.Duration("duration") < 0 || c.Int("ring-size") < 0:
		return usageError("trace: -n, -d and --ring-size must not be negative")
	}
	grammar, err := kernelGrammar(c)
	if err != nil {
		return err
	}
	var where trace.Predicate
	if e := c.String("where"); e != "" {
		if where, err = script.ParseWhere(e); err != nil {
			return usageError("trace: %v", err)
		}
	}
	// Every SPEC is checked before anything runs or is written.
	if _, err := trace.ParseSpecs(nil, specs, grammar, "tracelet_0"); err != nil {
		return definitionError(err)
	}

	// A write to a closed pipe (| head) must become EPIPE that ends the
	// run through the deferred cleanup, not a SIGPIPE death that leaves
	// the probes behind. Go's runtime kills the program on EPIPE on fd 1
	// and 2 unless SIGPIPE is being notified (os/signal: "SIGPIPE").
	// Notify rather than Ignore: an ignored signal would be inherited by
	// the -c command across exec.
	sigpipe := make(chan os.Signal, 1)
	signal.Notify(sigpipe, syscall.SIGPIPE)
	defer signal.Stop(sigpipe)

	var gated *trace.Gated
	if len(cmdline) > 0 {
		self, err := os.Executable()
		if err != nil {
			return cli.Exit(err.Error(), 1)
		}
		if gated, err = trace.StartGated(self, cmdline); err != nil {
			return cli.Exit(fmt.Sprintf("trace: -c %q: %v", cmdline[0], err), 1)
		}
		defer gated.Abort() // a no-op after Release and the child's exit
		pid = gated.Pid()
	}

	var syms *trace.Symbolizer
	if c.Bool("stacks") {
		// The session tells syms the mappings that the traced processes
		// make (PERF_RECORD_MMAP2), which is all there is to symbolize a
		// -c command with: its maps exist only after its exec, and it may
		// be gone by the time its samples are printed.
		syms = trace.NewSymbolizer()
		if c.Int("pid") > 0 {
			// What -p PID mapped before the trace began has no record.
			syms.Watch(pid)
		}
	}
	s, err := trace.New(trace.Options{
		Specs:    specs,
		Filter:   c.String("filter"),
		PID:      pid,
		FromExec: gated != nil,
		Stacks:   c.Bool("stacks"),
		Symbols:  syms,
		RingSize: c.Int("ring-size"),
		Grammar:  grammar,
		Where:    where,
	})
	if err != nil {
		return definitionError(err)
	}
	defer func() {
		if cerr := s.Close(); cerr != nil && err == nil {
			err = cli.Exit("trace: cleanup: "+cerr.Error(), 1)
		}
	}()
	for _, n := range s.Notices() {
		fmt.Fprintln(c.App.ErrWriter, "tracelet: note:", n)
	}

	if c.Bool("verbose") {
		fmt.Fprintf(c.App.ErrWriter, "trace: %v\n", s.Rings())
	}
	out := bufio.NewWriterSize(c.App.Writer, 64<<10)
	pr := trace.NewPrinter(syms)
	if c.Bool("headers") {
		for _, ev := range s.Events() {
			fmt.Fprintf(out, "%s\n", ev.Format)
		}
		out.Flush()
	}

	ctx := c.Context
	if d := c.Duration("duration"); d > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
	if err := s.Start(); err != nil {
		return cli.Exit("trace: "+err.Error(), 1)
	}
	if gated != nil {
		if err := gated.Release(); err != nil {
			return cli.Exit("trace: -c: "+err.Error(), 1)
		}
		go func() {
			gated.Cmd.Wait()
			s.Stop() // drain what the command left in the rings, then end
		}()
	}
	if c.Bool("verbose") {
		// Every event is enabled from here on (with -c, from the command's
		// exec): a script that starts its workload after this line misses
		// none of it.
		fmt.Fprintln(c.App.ErrWriter, "trace: tracing; Ctrl-C to end")
	}

	limit := uint64(c.Int("count"))
	var buf []byte
	var werr error
	readCtx := ctx
	for limit == 0 || s.Delivered() < limit {
		smp, err := s.Next(readCtx)
		if err == trace.ErrIdle {
			werr = out.Flush()
		} else if err == io.EOF {
			break
		} else if err != nil {
			if readCtx.Err() != nil {
				// -d expired, or SIGINT/SIGTERM: print what is already in
				// the rings, then stop.
				s.Stop()
				readCtx = context.Background()
				continue
			}
			out.Flush()
			return cli.Exit("trace: "+err.Error(), 1)
		} else {
			if jsonOut {
				buf = pr.AppendJSON(buf[:0], smp)
			} else {
				buf = pr.AppendText(buf[:0], smp)
			}
			_, werr = out.Write(buf)
		}
		if werr != nil {
			break
		}
	}
	if werr == nil {
		werr = out.Flush()
	}
	s.Stop()
	fmt.Fprintf(c.App.ErrWriter, "%d events, %d lost\n", s.Delivered(), s.Lost())
	if n := s.SuggestedRingSize(); n > 0 {
		fmt.Fprintf(c.App.ErrWriter, "trace: rings of %d bytes per CPU overflowed; --ring-size %d would have held what was lost\n", s.Rings().RingSize, n)
	}
	if werr != nil && !errors.Is(werr, syscall.EPIPE) {
		return cli.Exit("trace: writing output: "+werr.Error(), 1)
	}
	return nil
}
