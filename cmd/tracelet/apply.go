package main

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/tracelet/tracelet/internal/cli"
	"github.com/tracelet/tracelet/kprobeevents"
	"github.com/tracelet/tracelet/record"
	"github.com/tracelet/tracelet/scriptrun"
	"github.com/tracelet/tracelet/tracefs"
)

// planUsage documents the SCRIPT argument of the persistent commands.
const planUsage = `SCRIPT

   SCRIPT is a tracelet script that the tracefs backend can express: kprobes,
   kretprobes, uprobes and tracepoints, fentry and fexit (fprobes where the kernel
   has them, else kprobes), a predicate (the event filter), printf of arguments,
   of members through struct casts and of fentry/fexit args (offsets from BTF:
   the kernel's, or --btf FILE's), and @map = count() (a hist trigger). Its probes go in the group
   tracelet_NAME and record into the instance tracelet_NAME, NAME being the file's
   base name (or --name). A file ending in .plan is a plan file instead: one entry
   per line, '#' starts a comment line.
     SPEC                     a probe as 'trace' takes it, or a tracepoint SYSTEM:EVENT
     name NAME                the plan's name
     instance NAME [SIZE_KB]  the private instance and its per-CPU buffer size
     filter EVENT EXPR        event filter; EVENT is a probe's name, GROUP/EVENT or SYSTEM:EVENT
     trigger EVENT TRIGGER    event trigger (traceoff, stacktrace, hist:..., ...)`

// planFlags name the plan a SCRIPT makes and size its instance.
func planFlags() []cli.Flag {
	return append([]cli.Flag{
		&cli.StringFlag{Name: "name", Usage: "the plan's `NAME` (group and instance tracelet_NAME; default: the SCRIPT's base name)"},
		&cli.IntFlag{Name: "buffer-kb", Usage: "per-CPU ring of the instance in `KiB` (default: the kernel's)"},
	}, btfFlags()...)
}

// loadPlan reads a SCRIPT (or a .plan file) for the kernel described by
// opts. fs types tracepoint args; it may be nil (bootargs for another
// machine).
func loadPlan(c *cli.Context, path string, opts kprobeevents.Options, fs *tracefs.FS) (*tracefs.Plan, error) {
	opts, err := withBTF(c, opts, fs)
	if err != nil {
		return nil, err
	}
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, cli.Exit(err.Error(), 1)
	}
	if c.Int("buffer-kb") < 0 {
		return nil, usageError("--buffer-kb must not be negative")
	}
	if strings.HasSuffix(path, ".plan") {
		p, err := tracefs.ParsePlan(path, src, opts)
		if err != nil {
			return nil, planError(err)
		}
		if n := c.String("name"); n != "" {
			p.Name = n
		}
		if kb := c.Int("buffer-kb"); kb > 0 {
			p.BufferSizeKB = kb
		}
		return p, nil
	}
	so := record.ScriptOptions{Name: c.String("name"), Grammar: opts, BufferSizeKB: c.Int("buffer-kb")}
	if fs != nil {
		so.Formats = scriptrun.TracefsFormats(fs)
	}
	p, err := record.PlanFromScript(path, src, so)
	if err != nil {
		return nil, cli.Exit(err.Error(), 1)
	}
	return p, nil
}

// planError shows a plan line with a caret under the blamed column.
func planError(err error) error {
	var pe *tracefs.PlanError
	if errors.As(err, &pe) && pe.Text != "" && pe.Col > 0 {
		return cli.Exit(err.Error()+"\n"+indent(pe.Text+"\n"+strings.Repeat(" ", pe.Col-1)+"^"), 1)
	}
	return definitionError(err)
}

func onePlanArg(c *cli.Context, cmd string) (string, error) {
	if c.NArg() != 1 {
		return "", usageError("%s: want exactly one SCRIPT, got %d arguments", cmd, c.NArg())
	}
	return c.Args().First(), nil
}

// livePlan loads the one SCRIPT argument of cmd as a plan for this
// kernel's tracefs, which apply and revert then change.
func livePlan(c *cli.Context, cmd string) (*tracefs.FS, *tracefs.Plan, error) {
	path, err := onePlanArg(c, cmd)
	if err != nil {
		return nil, nil, err
	}
	fs, err := tracefs.Find()
	if err != nil {
		return nil, nil, cli.Exit(err.Error(), 1)
	}
	p, err := loadPlan(c, path, parseOptions(), fs)
	if err != nil {
		return nil, nil, err
	}
	return fs, p, nil
}

func applyCommand() *cli.Command {
	return &cli.Command{
		Name:      "apply",
		Usage:     "install a script's probes, filters, triggers and instance persistently (idempotent; tracelet need not keep running)",
		ArgsUsage: planUsage,
		Flags:     planFlags(),
		Action: func(c *cli.Context) error {
			fs, p, err := livePlan(c, "apply")
			if err != nil {
				return err
			}
			changes, err := fs.Apply(p)
			for _, n := range fs.Notices() {
				fmt.Fprintln(c.App.ErrWriter, "tracelet: note:", n)
			}
			for _, ch := range changes {
				fmt.Fprintln(c.App.Writer, ch)
			}
			if err != nil {
				return definitionError(err)
			}
			if len(changes) == 0 {
				fmt.Fprintf(c.App.Writer, "plan %s is applied already; nothing changed\n", p.Name)
			}
			return nil
		},
	}
}

func revertCommand() *cli.Command {
	return &cli.Command{
		Name:      "revert",
		Usage:     "remove exactly what 'apply SCRIPT' installed, and nothing else",
		ArgsUsage: planUsage,
		Flags:     planFlags(),
		Action: func(c *cli.Context) error {
			fs, p, err := livePlan(c, "revert")
			if err != nil {
				return err
			}
			changes, err := fs.Revert(p)
			for _, ch := range changes {
				fmt.Fprintln(c.App.Writer, ch)
			}
			if err != nil {
				return cli.Exit("revert: "+err.Error(), 1)
			}
			if len(changes) == 0 {
				fmt.Fprintf(c.App.Writer, "plan %s is not applied; nothing to remove\n", p.Name)
			}
			return nil
		},
	}
}

func statusCommand() *cli.Command {
	return &cli.Command{
		Name:      "status",
		Usage:     "show what a script applied (or, without SCRIPT, every persistent tracelet probe and instance), with hit counts",
		ArgsUsage: "[SCRIPT]",
		Flags:     planFlags(),
		Action: func(c *cli.Context) error {
			if c.NArg() > 1 {
				return usageError("status: at most one SCRIPT")
			}
			fs, err := tracefs.Find()
			if err != nil {
				return cli.Exit(err.Error(), 1)
			}
			w := tabwriter.NewWriter(c.App.Writer, 0, 8, 2, ' ', 0)
			defer w.Flush()
			if c.NArg() == 0 {
				return statusAll(w, fs)
			}
			p, err := loadPlan(c, c.Args().First(), parseOptions(), fs)
			if err != nil {
				return err
			}
			st, err := fs.Status(p)
			if err != nil {
				return cli.Exit(err.Error(), 1)
			}
			state := "applied"
			if !st.Applied() {
				state = "NOT fully applied"
			}
			fmt.Fprintf(w, "plan %s: %s\n", p.Name, state)
			if st.InstanceExists {
				fmt.Fprintf(w, "instance %s: %d KiB per CPU, %d events in the rings, %d overwritten\n", st.Instance, st.BufferSizeKB, st.Entries, st.Overrun)
			} else {
				fmt.Fprintf(w, "instance %s: missing\n", st.Instance)
			}
			fmt.Fprintln(w, "EVENT\tSTATE\tHITS\tFILTER")
			for _, e := range st.Events {
				var why []string
				switch {
				case !e.Defined:
					why = append(why, "missing")
				case e.Probe && !e.Current:
					why = append(why, "definition differs")
				}
				if e.Defined && !e.Enabled {
					why = append(why, "disabled")
				}
				if e.Defined && st.InstanceExists && !e.FilterOK {
					why = append(why, "filter differs")
				}
				if e.Defined && st.InstanceExists && !e.TriggersOK {
					why = append(why, "triggers missing")
				}
				s := "ok"
				if len(why) > 0 {
					s = strings.Join(why, ", ")
				}
				hits := "-"
				if e.HasHits {
					hits = fmt.Sprint(e.Hits)
				}
				fmt.Fprintf(w, "%s:%s\t%s\t%s\t%s\n", e.System, e.Event, s, hits, e.Filter)
			}
			return nil
		},
	}
}

// statusAll lists persistent probes and instances, whatever plan made them.
func statusAll(w *tabwriter.Writer, fs *tracefs.FS) error {
	ps, err := fs.OwnProbes()
	if err != nil {
		return cli.Exit(err.Error(), 1)
	}
	fmt.Fprintln(w, "PROBE\tHITS\tDEFINITION")
	for _, p := range ps {
		if p.Owner != 0 {
			continue // a running (or dead) tracelet's, not applied state
		}
		fmt.Fprintf(w, "%s/%s\t%d\t%s\n", p.Group, p.Event, p.Hits, p.Def)
	}
	ins, err := fs.PersistentInstances()
	if err != nil && !os.IsNotExist(err) {
		return cli.Exit(err.Error(), 1)
	}
	for _, name := range ins {
		in, err := fs.OpenInstance(name)
		if err != nil {
			continue
		}
		evs, _ := in.EnabledEvents()
		var names []string
		for _, e := range evs {
			names = append(names, e[0]+":"+e[1])
		}
		fmt.Fprintf(w, "instance %s\t\t%s\n", name, strings.Join(names, " "))
	}
	return nil
}
