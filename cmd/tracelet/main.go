// Command tracelet is a Linux tracer in one static binary: it defines
// kprobes and uprobes through tracefs, streams events from perf rings, and
// runs BPF programs assembled in Go, with no compiler on the target.
//
// The CLI only parses flags and prints; the work is done by the packages.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"syscall"

	"github.com/tracelet/tracelet/internal/cli"
	"github.com/tracelet/tracelet/scriptrun"
)

// Set by the linker (see the Makefile).
var (
	version = "dev"
	commit  = "unknown"
)

func main() {
	os.Exit(run(os.Args))
}

func run(args []string) int {
	// SIGINT and SIGTERM cancel the context, so that every command unwinds
	// through its deferred Close calls and leaves nothing in the kernel.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	app := newApp(args)
	if err := app.RunContext(ctx, args); err != nil {
		var ec cli.ExitCoder
		if errors.As(err, &ec) {
			if msg := ec.Error(); msg != "" {
				fmt.Fprintln(os.Stderr, "tracelet:", msg)
			}
			return ec.ExitCode()
		}
		fmt.Fprintln(os.Stderr, "tracelet:", err)
		return 1
	}
	return 0
}

// newApp is the CLI for the command line args. Only args[1] is looked at,
// to build only the commands it can run (commandsFor); a command that
// runs a script starts loading the kernel's BTF at once.
func newApp(args []string) *cli.App {
	var cmds []*cli.Command
	if len(args) > 1 {
		if args[1] == "run" {
			scriptrun.PrefetchKernelBTF()
		}
		var scriptTool bool
		if cmds, scriptTool = commandsFor(args[1]); scriptTool {
			scriptrun.PrefetchKernelBTF()
		}
	} else {
		cmds = commands()
	}
	// Errors, usage errors included, are printed once, by run.
	return &cli.App{
		Name:     "tracelet",
		Usage:    "a Linux tracer in one static binary: kprobes, uprobes, tracepoints and BPF, no compiler needed",
		Version:  versionString(),
		Commands: cmds,
	}
}

func versionString() string {
	return fmt.Sprintf("%s (commit %s, %s, %s/%s)", version, commit, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

// usageError is returned for bad flags or arguments: exit status 2, as the
// shell tools our users know do, and as package cli exits on a bad argv.
func usageError(format string, a ...any) error {
	return cli.Exit(fmt.Sprintf(format, a...), cli.UsageStatus)
}
