package main

import (
	"fmt"
	"strings"

	"github.com/tracelet/tracelet/bpf"
)

// bpfFindings reports the BPF features from the bpf package's run-time
// probes: each one is tried against this kernel, not guessed from a version.
func bpfFindings() []finding {
	var out []finding
	for _, f := range bpf.Features() {
		switch {
		case f.Err == nil && f.MinKernel == "":
			out = append(out, finding{Name: f.Name, OK: true, Reason: "probed"})
		case f.Err == nil:
			out = append(out, finding{Name: f.Name, OK: true, Reason: fmt.Sprintf("probed (Linux %s+)", f.MinKernel)})
		default:
			out = append(out, finding{Name: f.Name, OK: false, Reason: f.Err.Error()})
		}
	}
	return out
}

// bpfAttachFindings says where BPF programs can run, from what the probes
// above found: a program type is only useful with an event to attach it
// to. Kprobe programs serve kprobes and uprobes alike, each through a
// tracefs event or its PMU.
func bpfAttachFindings(found []finding) []finding {
	has := map[string]finding{}
	for _, f := range found {
		has[f.Name] = f
	}
	attach := func(name, prog string, events ...string) finding {
		p := has[prog]
		if !p.OK {
			return finding{Name: name, OK: false, Reason: prog + ": " + p.Reason}
		}
		for _, e := range events {
			if has[e].OK {
				return finding{Name: name, OK: true, Reason: prog + " loads; attach through " + e}
			}
		}
		return finding{Name: name, OK: false, Reason: prog + " loads, but there is no " + strings.Join(events, " and no ")}
	}
	return []finding{
		attach("BPF on kprobes", "program type kprobe", "kprobe_events", "kprobe PMU"),
		attach("BPF on uprobes", "program type kprobe", "uprobe_events", "uprobe PMU"),
		attach("BPF on tracepoints", "program type tracepoint", "tracefs"),
	}
}
