package main

import (
	"fmt"
	"os"

	"github.com/tracelet/tracelet/tracefs"
)

// tracefsFindings reports tracefs and the dynamic-event files. Finding
// tracefs may mount it, as every tracelet command would.
func tracefsFindings() []finding {
	fs, err := tracefs.Find()
	if err != nil {
		return []finding{{Name: "tracefs", OK: false, Reason: err.Error()}}
	}
	out := []finding{{Name: "tracefs", OK: true, Reason: fs.Root()}}
	for _, f := range []struct{ file, need string }{
		{tracefs.KprobeEvents, "CONFIG_KPROBE_EVENTS"},
		{tracefs.UprobeEvents, "CONFIG_UPROBE_EVENTS"},
		{tracefs.DynamicEvents, "Linux 5.0"},
		{"error_log", "Linux 5.4"},
	} {
		if fs.Has(f.file) {
			out = append(out, finding{Name: f.file, OK: true, Reason: fs.Root() + "/" + f.file})
		} else {
			out = append(out, finding{Name: f.file, OK: false, Reason: fmt.Sprintf("no %s in tracefs (needs %s)", f.file, f.need)})
		}
	}
	feat, err := fs.Features()
	if err == nil {
		if k, kerr := os.Open("/proc/kallsyms"); kerr == nil {
			_ = feat.CheckKallsyms(k)
			k.Close()
		}
	}
	return append(out, readmeFindings(feat, err)...)
}

// readmeFindings turns what the tracefs README says about the optional
// dynamic events (fprobe, tracepoint and event probes, BTF arguments)
// into doctor lines.
func readmeFindings(f tracefs.Features, err error) []finding {
	var out []finding
	for _, r := range f.Report() {
		if err != nil {
			r.OK, r.Reason = false, err.Error()
		}
		out = append(out, finding{Name: r.Name, OK: r.OK, Reason: r.Reason})
	}
	return out
}
