package main

import (
	"fmt"

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
