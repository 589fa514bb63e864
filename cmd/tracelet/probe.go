package main

import (
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"

	"golang.org/x/sys/unix"

	"github.com/tracelet/tracelet/btf"
	"github.com/tracelet/tracelet/internal/cli"
	"github.com/tracelet/tracelet/kprobeevents"
	"github.com/tracelet/tracelet/tracefs"
)

func probeCommand() *cli.Command {
	return &cli.Command{
		Name:  "probe",
		Usage: "define, list and remove tracelet's kprobes and uprobes (never other tools')",
		Subcommands: []*cli.Command{
			{
				Name:      "add",
				Usage:     "define probes: kernel syntax ('p:myopen do_sys_openat2 path=+0($arg2):ustring') or perf-tools shorthand ('p:bash:readline')",
				ArgsUsage: "SPEC...",
				Flags: append([]cli.Flag{
					&cli.BoolFlag{Name: "dry-run", Aliases: []string{"n", "d"}, Usage: "print the exact definitions that would be written, or the error with its column; write nothing"},
				}, btfFlags()...),
				Action: probeAdd,
			},
			{
				Name:   "list",
				Usage:  "list tracelet's probes with their hit counts",
				Action: probeList,
			},
			{
				Name:      "del",
				Usage:     "remove tracelet probes by EVENT or GROUP/EVENT",
				ArgsUsage: "NAME...",
				Action:    probeDel,
			},
			{
				Name:  "clear",
				Usage: "remove the probes of probe add and of dead tracelet runs (live runs keep theirs; applied scripts are revert's)",
				Flags: []cli.Flag{
					&cli.BoolFlag{Name: "stale", Usage: "only sweep the groups and instances of tracelet processes that died (SIGKILL)"},
				},
				Action: probeClear,
			},
		},
	}
}

// parseOptions describe the running kernel to the grammar, so that a
// definition this kernel would refuse is refused before anything is written.
func parseOptions() kprobeevents.Options {
	opts := kprobeevents.Options{Arch: tracefs.KernelArch()}
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		if k, err := kprobeevents.ParseKernel(unix.ByteSliceToString(u.Release[:])); err == nil {
			opts.Kernel = k
		}
	}
	return opts
}

// btfFlags choose where argument names and members are resolved.
func btfFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "btf", Usage: "kernel types from `FILE` (raw BTF or an ELF vmlinux with .BTF) instead of " + tracefs.VmlinuxBTF + "; implies --offsets"},
		&cli.BoolFlag{Name: "offsets", Usage: "compile argument names and ->/. member access to registers and +OFFS() dereferences from BTF, even where the kernel could follow them itself"},
	}
}

// kernelGrammar is parseOptions completed by this kernel's tracefs (its
// README, its BTF) and by --btf and --offsets.
func kernelGrammar(c *cli.Context) (kprobeevents.Options, error) {
	opts := parseOptions()
	// The kernel's README says which fetch types it has; --dry-run too
	// answers for this kernel.
	if fs, err := tracefs.Find(); err == nil {
		opts = fs.Grammar(opts)
	}
	return withBTF(c, opts, nil)
}

// withBTF sets where argument names and members are resolved: --btf FILE
// (another kernel's types: tracelet compiles the offsets), else, with fs,
// the running kernel's BTF where its tracefs cannot follow members
// (tracefs.FS.Grammar); --offsets compiles them even where it could.
func withBTF(c *cli.Context, opts kprobeevents.Options, fs *tracefs.FS) (kprobeevents.Options, error) {
	if f := c.String("btf"); f != "" {
		spec, err := btf.LoadFile(f)
		if err != nil {
			return opts, usageError("--btf %s: %v", f, err)
		}
		opts.BTF = tracefs.KernelBTF(spec)
		opts.Offsets = true
		return opts, nil
	}
	if fs != nil && opts.BTF == nil && (opts.Arch == kprobeevents.ArchUnknown || opts.Arch == tracefs.KernelArch()) {
		g := fs.Grammar(kprobeevents.Options{Kernel: opts.Kernel})
		opts.BTF, opts.Offsets = g.BTF, g.Offsets
	}
	if c.Bool("offsets") {
		opts.Offsets = true
		if opts.BTF == nil {
			opts.BTF = tracefs.LazyBTF(tracefs.VmlinuxBTF)
		}
	}
	return opts, nil
}

func probeAdd(c *cli.Context) error {
	specs := c.Args().Slice()
	if len(specs) == 0 {
		return usageError("probe add: no SPEC given (e.g. 'p:myopen do_sys_openat2' or 'p:bash:readline')")
	}
	opts, err := kernelGrammar(c)
	if err != nil {
		return err
	}
	// Every definition is validated before the first one is written.
	probes := make([]*kprobeevents.Probe, 0, len(specs))
	notes := make([][]string, 0, len(specs))
	for _, s := range specs {
		p, n, err := tracefs.ParseSpecNotes(s, opts, tracefs.PersistentGroup)
		notes = append(notes, n)
		if err != nil {
			return definitionError(err)
		}
		// The tracelet_ groups are tracelet's to name: tracelet_<pid> is a
		// running process's owner group, swept once that pid is dead (so a
		// user's probe there could vanish, or be used to remove another
		// run's), and tracelet_<name> is apply's plan group, which revert
		// removes whole. probe add writes only to the persistent group.
		if g := p.GroupName(); g != tracefs.PersistentGroup {
			if tracefs.IsOwnGroup(g) {
				return usageError("probe %q: group %q is reserved: tracelet picks its tracelet_ groups itself (tracelet_<pid> for a running trace, tracelet_<name> for apply); leave the group out or use %q", s, g, tracefs.PersistentGroup)
			}
			return usageError("probe %q: group %q is not tracelet's: leave the group out (it defaults to %q)", s, g, tracefs.PersistentGroup)
		}
		probes = append(probes, p)
	}
	if c.Bool("dry-run") {
		for i, p := range probes {
			if len(notes[i]) > 0 {
				// Rewritten for this kernel: what was written, and why.
				fmt.Fprintf(c.App.Writer, "# %s\n", specs[i])
				for _, n := range notes[i] {
					fmt.Fprintf(c.App.Writer, "#   %s\n", n)
				}
			}
			fmt.Fprintf(c.App.Writer, "%s >> %s\n", p, tracefs.ControlFile(p.Type))
		}
		return nil
	}
	fs, err := tracefs.Find()
	if err != nil {
		return cli.Exit(err.Error(), 1)
	}
	for i, p := range probes {
		if err := fs.AddProbe(p); err != nil {
			// Undo what this command added, so that a failing batch leaves
			// the kernel as it found it.
			for _, q := range probes[:i] {
				_, _ = fs.DeleteProbe(q.GroupName() + "/" + q.EventName())
			}
			return definitionError(err)
		}
		for _, n := range fs.Notices() {
			fmt.Fprintln(c.App.ErrWriter, "tracelet: note:", n)
		}
		fmt.Fprintf(c.App.Writer, "added %s/%s: %s\n", p.GroupName(), p.EventName(), p)
	}
	return nil
}

// definitionError prints a grammar or kernel error with the definition and
// a caret under the column that was blamed, as the kernel's error_log does.
func definitionError(err error) error {
	var pe *kprobeevents.Error
	if errors.As(err, &pe) {
		return cli.Exit(err.Error()+"\n"+indent(pe.Caret()), 1)
	}
	var we *tracefs.WriteError
	if errors.As(err, &we) && we.Log != nil {
		col := we.Column()
		msg := err.Error()
		if col >= 0 {
			msg += "\n" + indent(we.Def+"\n"+strings.Repeat(" ", col)+"^")
		}
		return cli.Exit(msg, 1)
	}
	return cli.Exit(err.Error(), 1)
}

func indent(s string) string {
	return "    " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n    ")
}

func probeList(c *cli.Context) error {
	fs, err := tracefs.Find()
	if err != nil {
		return cli.Exit(err.Error(), 1)
	}
	ps, err := fs.OwnProbes()
	if err != nil {
		return cli.Exit(err.Error(), 1)
	}
	w := tabwriter.NewWriter(c.App.Writer, 0, 8, 2, ' ', 0)
	fmt.Fprintln(w, "PROBE\tOWNER\tHITS\tDEFINITION")
	for _, p := range ps {
		owner := "persistent"
		switch {
		case p.Owner != 0 && p.Stale:
			owner = fmt.Sprintf("%d (dead)", p.Owner)
		case p.Owner != 0:
			owner = fmt.Sprint(p.Owner)
		}
		fmt.Fprintf(w, "%s/%s\t%s\t%d\t%s\n", p.Group, p.Event, owner, p.Hits, p.Def)
	}
	return w.Flush()
}

func probeDel(c *cli.Context) error {
	names := c.Args().Slice()
	if len(names) == 0 {
		return usageError("probe del: no NAME given (EVENT or GROUP/EVENT, as probe list shows)")
	}
	for _, n := range names {
		if strings.ContainsAny(n, "\n\r\x00; ") {
			return usageError("probe del: %q is not a probe name", n)
		}
	}
	fs, err := tracefs.Find()
	if err != nil {
		return cli.Exit(err.Error(), 1)
	}
	var errs []error
	for _, n := range names {
		p, err := fs.DeleteProbe(n)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		fmt.Fprintf(c.App.Writer, "removed %s/%s\n", p.Group, p.Event)
	}
	if err := errors.Join(errs...); err != nil {
		return cli.Exit(err.Error(), 1)
	}
	return nil
}

func probeClear(c *cli.Context) error {
	fs, err := tracefs.Find()
	if err != nil {
		return cli.Exit(err.Error(), 1)
	}
	done, err := fs.ClearProbes(c.Bool("stale"))
	for _, p := range done {
		fmt.Fprintf(c.App.Writer, "removed %s/%s\n", p.Group, p.Event)
	}
	if err != nil {
		return cli.Exit(err.Error(), 1)
	}
	return nil
}
