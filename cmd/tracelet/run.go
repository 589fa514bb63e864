package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/tracelet/tracelet/internal/cli"
	"github.com/tracelet/tracelet/metrics"
	"github.com/tracelet/tracelet/script"
	"github.com/tracelet/tracelet/scriptrun"
	"github.com/tracelet/tracelet/trace"
)

func runCommand() *cli.Command {
	return &cli.Command{
		Name:      "run",
		Usage:     "run a bpftrace-style script: compiled to BPF in-process (or to tracefs probes), maps printed on exit",
		ArgsUsage: "[FILE] [ARG...]\n\n   ARGs are the positional parameters $1, $2, ... ($# counts them)\n   e.g. tracelet run -e 'tracepoint:syscalls:sys_enter_openat { @[comm] = count(); }'",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "e", Usage: "the `PROGRAM` text (instead of FILE)"},
			&cli.StringSliceFlag{Name: "D", Usage: "define macro `NAME=VALUE` (an integer or a \"string\"; NAME alone means 1) before the script's first line, as cpp's -D; repeatable"},
			&cli.BoolFlag{Name: "d", Usage: "print the syntax tree and the disassembly, and do not run"},
			&cli.BoolFlag{Name: "unsafe", Usage: "allow system() and signal(), as bpftrace's --unsafe"},
			&cli.StringFlag{Name: "btf", Usage: "kernel types from `FILE` (raw BTF, or a vmlinux with .BTF) instead of /sys/kernel/btf/vmlinux"},
			&cli.StringFlag{Name: "f", Value: "text", Usage: "output `FORMAT`: text or json (as bpftrace's), or folded: the maps keyed by kstack/ustack as folded stacks (flamegraph.pl, speedscope, Perfetto), the rest on stderr"},
			&cli.StringFlag{Name: "svg", Usage: "draw the maps keyed by kstack/ustack as an interactive flame graph in `FILE` (click zooms, Search highlights)"},
			&cli.StringFlag{Name: "svg-title", Value: "Flame Graph", Usage: "the flame graph's `TITLE`"},
			&cli.StringFlag{Name: "svg-unit", Value: "samples", Usage: "what the flame graph's counts count, e.g. samples or us"},
			&cli.StringFlag{Name: "c", Usage: "run `CMD` (split at spaces), traced from its first instruction; stop when it exits"},
			&cli.IntFlag{Name: "p", Usage: "uprobes only in process `PID`; stop when it exits"},
			&cli.StringFlag{Name: "backend", Value: "auto", Usage: "`BACKEND`: bpf, tracefs (no BPF needed) or auto (tracefs when bpf() is missing)"},
			&cli.StringFlag{Name: "metrics", Usage: "serve the maps at http://`ADDR`/metrics for Prometheus (e.g. 127.0.0.1:9100), read at each scrape; nothing is printed"},
			&cli.StringFlag{Name: "metrics-file", Usage: "write the maps to `PATH` in Prometheus text format every --metrics-interval, atomically (node_exporter's textfile collector); nothing is printed"},
			&cli.DurationFlag{Name: "metrics-interval", Value: 15 * time.Second, Usage: "how often --metrics-file is written"},
			&cli.IntFlag{Name: "ring-size", Usage: "output ring size in `BYTES`: the BPF ring buffer, or each CPU's perf ring on kernels before 5.8 (a power of two pages; default: sized from the machine's memory, CPUs and lock limit, see -v)"},
			&cli.BoolFlag{Name: "verbose", Aliases: []string{"v"}, Usage: "print the output rings' size to stderr"},
			&cli.StringFlag{Name: "label", Usage: "label names of map keys, `'@MAP=NAME,NAME ...'` (default key0, key1, …; or a `// metric: @MAP NAME,NAME` comment in the script)"},
		},
		Action: runAction,
	}
}

func runAction(c *cli.Context) error {
	var file string
	var src []byte
	var params []string
	switch {
	case c.IsSet("e"):
		file, src, params = "-e", []byte(c.String("e")), c.Args().Slice()
	case c.NArg() >= 1:
		file, params = c.Args().First(), c.Args().Tail()
		b, err := os.ReadFile(file)
		if err != nil {
			return cli.Exit(fmt.Sprintf("run: %v", err), 1)
		}
		src = b
	default:
		return usageError("run: want -e PROGRAM or a FILE")
	}
	opts := scriptrun.RunOptions{Params: params, BTF: c.String("btf"), Unsafe: c.Bool("unsafe")}
	for _, d := range c.StringSlice("D") {
		def, err := script.ParseDefine(d)
		if err != nil {
			return usageError("run: %v", err)
		}
		opts.Defines = append(opts.Defines, def)
	}
	if rs := c.Int("ring-size"); rs < 0 || rs > 1<<30 {
		return usageError("run: --ring-size %d: want 1 to %d bytes", rs, 1<<30)
	} else {
		opts.RingSize = uint32(rs)
	}
	folded := false
	switch c.String("f") {
	case "text":
	case "json":
		opts.Format = scriptrun.JSONOutput
	case "folded":
		folded = true
	default:
		return usageError("run: -f %q: want text, json or folded", c.String("f"))
	}
	b, err := scriptrun.ParseBackend(c.String("backend"))
	if err != nil {
		return usageError("run: --backend: %v", err)
	}
	opts.Backend = b
	cmdline := strings.Fields(c.String("c"))
	switch {
	case c.Int("p") < 0:
		return usageError("run: -p %d: not a process id", c.Int("p"))
	case c.Int("p") > 0 && len(cmdline) > 0:
		return usageError("run: -p and -c exclude each other")
	case c.IsSet("c") && len(cmdline) == 0:
		return usageError("run: -c: empty command")
	}
	opts.PID = c.Int("p")

	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	opts.Out = &lineFlusher{out}
	var svg *svgOutput
	if c.String("svg") != "" {
		svg = newSVGOutput(c.String("svg"), c.String("svg-title"), c.String("svg-unit"))
	}
	switch {
	case folded && svg != nil:
		opts.Folded, opts.Out = io.MultiWriter(out, &svg.folded), os.Stderr
	case folded:
		opts.Folded, opts.Out = out, os.Stderr
	case svg != nil:
		opts.Folded = &svg.folded
	}
	mx, err := metricsConfig(c, src)
	if err != nil {
		return err
	}
	if mx.on() {
		opts.Out = io.Discard
	}

	var gated *trace.Gated
	if len(cmdline) > 0 {
		self, err := os.Executable()
		if err != nil {
			return err
		}
		gated, err = trace.StartGated(self, cmdline)
		if err != nil {
			return cli.Exit(fmt.Sprintf("run: -c: %v", err), 1)
		}
		defer gated.Abort()
		opts.PID = gated.Pid()
		opts.CPID = gated.Pid()
		go gated.Cmd.Wait()
	}

	r, err := scriptrun.Prepare(file, src, opts)
	if err != nil {
		// A mistake in the script reads like a compiler's, file:line:col
		// first, and exits with 2 as other bad input does.
		if _, ok := script.AsErrorList(err); ok {
			fmt.Fprintln(os.Stderr, err)
			return cli.Exit("", 2)
		}
		return cli.Exit(err.Error(), 1)
	}
	if r.Program.KprobeSource == "/proc/kallsyms" {
		fmt.Fprintln(os.Stderr, "tracelet: note: kprobe wildcards matched the text symbols of /proc/kallsyms, as available_filter_functions cannot be read: some may refuse a probe")
	}
	if c.Bool("d") {
		defer r.Close()
		if r.Backend == scriptrun.BackendTracefs {
			defs := make([]string, len(r.TracefsProbes))
			for i, tp := range r.TracefsProbes {
				if defs[i], err = r.TracefsDefinition(tp, "GROUP", "EVENT"); err != nil {
					return cli.Exit(fmt.Sprintf("run: %v", err), 1)
				}
				if defs[i] == "" {
					defs[i] = "(none: a tracepoint)"
				}
			}
			fmt.Fprint(out, r.Program.String())
			for i, tp := range r.TracefsProbes {
				fmt.Fprintf(out, "%s\n  definition: %s\n  filter: %s\n  trigger: %s\n", tp.Attach.Raw, defs[i], tp.Filter, tp.Trigger)
			}
			return nil
		}
		fmt.Fprint(out, r.Program.String())
		for _, t := range r.Object.Info.Resolved {
			fmt.Fprintf(out, "btf %s\n", t)
		}
		return r.Object.WriteListing(out)
	}
	defer r.Close()
	var ready func() error
	if gated != nil {
		ready = gated.Release
	}
	if c.Bool("verbose") && r.Backend == scriptrun.BackendBPF {
		fmt.Fprintf(c.App.ErrWriter, "run: output: %v\n", r.Rings())
	}
	if err := r.Start(ready); err != nil {
		return cli.Exit(fmt.Sprintf("run: %v", err), 1)
	}
	stop, err := mx.start(c.Context, func() ([]metrics.Family, error) { return r.Metrics(mx.opts) })
	if err != nil {
		return cli.Exit(fmt.Sprintf("run: %v", err), 1)
	}
	err = r.Wait(c.Context)
	if serr := stop(); err == nil {
		err = serr
	}
	if n := r.SuggestedRingSize(); n > 0 {
		fmt.Fprintf(c.App.ErrWriter, "run: the output ring of %d bytes overflowed; --ring-size %d would have held what was lost\n", r.Rings().RingSize, n)
	}
	if err != nil {
		return cli.Exit(fmt.Sprintf("run: %v", err), 1)
	}
	if err := svg.write(); err != nil {
		return cli.Exit(fmt.Sprintf("run: --svg: %v", err), 1)
	}
	return nil
}

// lineFlusher flushes the buffered output at each newline, so that a live
// run prints as it goes while map dumps are written in few syscalls.
type lineFlusher struct{ w *bufio.Writer }

func (l *lineFlusher) Write(p []byte) (int, error) {
	n, err := l.w.Write(p)
	if err == nil && len(p) > 0 && p[len(p)-1] == '\n' {
		err = l.w.Flush()
	}
	return n, err
}
