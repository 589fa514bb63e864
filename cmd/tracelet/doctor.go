package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"

	"golang.org/x/sys/unix"

	"github.com/tracelet/tracelet/internal/cli"
	"github.com/tracelet/tracelet/perf"
	"github.com/tracelet/tracelet/tracefs"
)

// finding is one line of the doctor's report: a feature, whether the kernel
// offers it, and why we think so.
type finding struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Reason string `json:"reason"`
}

type doctorReport struct {
	Kernel   string    `json:"kernel"`
	Version  string    `json:"version"`
	Arch     string    `json:"arch"`
	Tracelet string    `json:"tracelet"`
	Features []finding `json:"features"`
}

func doctorCommand() *cli.Command {
	return &cli.Command{
		Name:  "doctor",
		Usage: "report what this kernel offers for tracing, each feature yes or no with a reason",
		Flags: []cli.Flag{&cli.BoolFlag{Name: "json", Usage: "print the report as JSON"}},
		Action: func(c *cli.Context) error {
			r := diagnose()
			if c.Bool("json") {
				enc := json.NewEncoder(c.App.Writer)
				enc.SetIndent("", "  ")
				return enc.Encode(r)
			}
			return printDoctor(c, r)
		},
	}
}

func printDoctor(c *cli.Context, r doctorReport) error {
	w := tabwriter.NewWriter(c.App.Writer, 0, 8, 2, ' ', 0)
	fmt.Fprintf(w, "kernel\t%s %s (%s)\n", r.Kernel, r.Version, r.Arch)
	fmt.Fprintf(w, "tracelet\t%s\n\n", r.Tracelet)
	for _, f := range r.Features {
		yes := "no"
		if f.OK {
			yes = "yes"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\n", f.Name, yes, f.Reason)
	}
	return w.Flush()
}

func diagnose() doctorReport {
	var u unix.Utsname
	_ = unix.Uname(&u)
	r := doctorReport{
		Kernel:   unix.ByteSliceToString(u.Release[:]),
		Version:  unix.ByteSliceToString(u.Version[:]),
		Arch:     unix.ByteSliceToString(u.Machine[:]),
		Tracelet: versionString(),
	}
	add := func(name string, ok bool, format string, a ...any) {
		r.Features = append(r.Features, finding{Name: name, OK: ok, Reason: fmt.Sprintf(format, a...)})
	}

	euid := os.Geteuid()
	add("root", euid == 0, "euid %d", euid)
	r.Features = append(r.Features, tracefsFindings()...)
	for _, name := range []string{"kprobe", "uprobe"} {
		p, err := perf.LookupPMU(name)
		if err != nil {
			add(name+" PMU", false, "%v", err)
			continue
		}
		add(name+" PMU", true, "perf type %d, retprobe bit %d (/sys/bus/event_source/devices/%s)", p.Type, p.RetprobeBit, name)
	}
	r.Features = append(r.Features, bpfFindings()...)
	r.Features = append(r.Features, bpfAttachFindings(r.Features)...)
	r.Features = append(r.Features, btfFindings()...)
	if p, err := os.ReadFile("/proc/sys/kernel/perf_event_paranoid"); err == nil {
		v, _ := strconv.Atoi(strings.TrimSpace(string(p)))
		add("perf_event_paranoid", v <= 1 || euid == 0, "%d%s", v, paranoidNote(v, euid))
	} else {
		add("perf_event_paranoid", false, "cannot read /proc/sys/kernel/perf_event_paranoid: %v", err)
	}
	add("lockdown", lockdownOK(), "%s", lockdownState())
	return r
}

func paranoidNote(v, euid int) string {
	switch {
	case euid == 0:
		return " (root is not limited by it)"
	case v >= 2:
		return " (only user-space measurement of own processes without CAP_PERFMON)"
	}
	return ""
}

// lockdownState reads the kernel lockdown LSM's mode: "[none] integrity
// confidentiality". Under confidentiality, BPF reads of kernel memory and
// kprobes fetching kernel memory are refused.
//
// securityfs is found in /proc/self/mountinfo: where it is not mounted,
// the file's absence says nothing about the LSM.
func lockdownState() string {
	dir := tracefs.MountPoint("securityfs")
	if dir == "" {
		return "unknown: securityfs is not mounted (mount -t securityfs securityfs /sys/kernel/security to see it)"
	}
	b, err := os.ReadFile(dir + "/lockdown")
	if errors.Is(err, fs.ErrNotExist) {
		return "no lockdown LSM (" + dir + "/lockdown absent)"
	}
	if err != nil {
		return "unknown: " + err.Error()
	}
	s := strings.TrimSpace(string(b))
	if i := strings.IndexByte(s, '['); i >= 0 {
		if j := strings.IndexByte(s[i:], ']'); j > 0 {
			return "mode " + s[i+1:i+j]
		}
	}
	return s
}

func lockdownOK() bool {
	s := lockdownState()
	return !strings.Contains(s, "mode integrity") && !strings.Contains(s, "mode confidentiality")
}
