package main

import (
	"bufio"
	"fmt"
	"os"
	"path"
	"strings"

	"github.com/tracelet/tracelet/internal/cli"
	"github.com/tracelet/tracelet/tracefs"
)

func listCommand() *cli.Command {
	return &cli.Command{
		Name:      "list",
		Usage:     "list what can be probed: tracepoints (default), kernel functions, or a binary's functions or USDT probes",
		ArgsUsage: "[GLOB]",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "tracepoints", Aliases: []string{"t"}, Usage: "tracepoints, as SYSTEM:EVENT"},
			&cli.BoolFlag{Name: "kprobes", Aliases: []string{"k"}, Usage: "kernel functions (from /proc/kallsyms)"},
			&cli.StringFlag{Name: "uprobes", Aliases: []string{"u"}, Usage: "functions of `BINARY` (a path, a command in PATH, or a library name)"},
			&cli.StringFlag{Name: "usdt", Aliases: []string{"U"}, Usage: "USDT probes of `BINARY`, as usdt:PATH:PROVIDER:NAME (GLOB matches PROVIDER:NAME)"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 1 {
				return usageError("list: at most one GLOB (quote it so the shell leaves it alone)")
			}
			glob := c.Args().First()
			if glob != "" {
				if _, err := path.Match(glob, ""); err != nil {
					return usageError("list: bad GLOB %q: %v", glob, err)
				}
			}
			n := 0
			for _, set := range []bool{c.Bool("tracepoints"), c.Bool("kprobes"), c.String("uprobes") != "", c.String("usdt") != ""} {
				if set {
					n++
				}
			}
			if n > 1 {
				return usageError("list: choose one of --tracepoints, --kprobes, --uprobes, --usdt")
			}
			w := bufio.NewWriter(c.App.Writer)
			defer w.Flush()
			switch {
			case c.Bool("kprobes"):
				return listKernelFunctions(w, glob)
			case c.String("usdt") != "":
				return listUSDT(w, c.String("usdt"), glob)
			case c.String("uprobes") != "":
				syms, err := tracefs.ListSymbols(c.String("uprobes"), glob)
				if err != nil {
					return cli.Exit(err.Error(), 1)
				}
				for _, s := range syms {
					fmt.Fprintf(w, "%s\t0x%x\n", s.Name, s.Offset)
				}
				return nil
			default:
				return listTracepoints(w, glob)
			}
		},
	}
}

func listTracepoints(w *bufio.Writer, glob string) error {
	fs, err := tracefs.Find()
	if err != nil {
		return cli.Exit(err.Error(), 1)
	}
	systems, err := fs.Systems()
	if err != nil {
		return cli.Exit(err.Error(), 1)
	}
	for _, sys := range systems {
		evs, err := fs.Events(sys)
		if err != nil {
			return cli.Exit(err.Error(), 1)
		}
		for _, ev := range evs {
			name := sys + ":" + ev
			if glob == "" || matchGlob(glob, name) {
				fmt.Fprintln(w, name)
			}
		}
	}
	return nil
}

// listKernelFunctions streams /proc/kallsyms rather than reading
// available_filter_functions, which takes seconds on big kernels: memory
// stays bounded by one line (plus the kprobe blacklist, a few thousand
// names). Symbols a kprobe cannot take are left out: the __pfx_/__cfi_
// padding that kernels since 6.2 emit before functions (CALL_PADDING,
// kCFI), which is not a function, and the functions the kernel lists in
// debugfs kprobes/blacklist (NOKPROBE_SYMBOL, the entry code), which
// register_kprobe refuses with EINVAL.
func listKernelFunctions(w *bufio.Writer, glob string) error {
	if !kprobesAvailable() {
		fmt.Fprintln(os.Stderr, "tracelet: note: this kernel has no kprobe_events (CONFIG_KPROBE_EVENTS off): these functions cannot be probed here")
	}
	blacklist := tracefs.KprobeBlacklist()
	f, err := os.Open("/proc/kallsyms")
	if err != nil {
		return cli.Exit(err.Error(), 1)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// "ffffffff81000000 T _stext [module]"
		fields := strings.Fields(sc.Text())
		if len(fields) < 3 || (fields[1] != "t" && fields[1] != "T") {
			continue
		}
		name := fields[2]
		if glob != "" && !matchGlob(glob, name) {
			continue
		}
		if strings.HasPrefix(name, "__pfx_") || strings.HasPrefix(name, "__cfi_") || blacklist[name] {
			continue
		}
		if len(fields) > 3 {
			fmt.Fprintf(w, "%s %s\n", name, fields[3])
		} else {
			fmt.Fprintln(w, name)
		}
	}
	if err := sc.Err(); err != nil {
		return cli.Exit(err.Error(), 1)
	}
	return nil
}

func matchGlob(glob, name string) bool {
	ok, _ := path.Match(glob, name)
	return ok
}

func kprobesAvailable() bool {
	fs, err := tracefs.Find()
	return err == nil && fs.Has(tracefs.KprobeEvents)
}
