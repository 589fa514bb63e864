package main

import (
	"fmt"
	"regexp"
	"runtime"
)

// tool is one command measured in a scenario.
type tool struct {
	name   string
	argv   []string
	sub    string // the tracelet subcommand, for the availability check
	match  *regexp.Regexp
	exits  bool           // the tool exits by itself after its first event
	lostRE *regexp.Regexp // how the tool reports its own losses
	needs  string         // the command that must be installed; "": argv[0]
	probe  string         // a probe the tool defines under a name of ours
}

func (t tool) bin() string {
	if t.needs != "" {
		return t.needs
	}
	return t.argv[0]
}

// rotate gives the tools in the order of round i: each tool goes first in
// turn, so that no tool always runs right after the same other one.
func rotate[T any](xs []T, i int) []T {
	out := make([]T, 0, len(xs))
	for j := range xs {
		out = append(out, xs[(i+j)%len(xs)])
	}
	return out
}

// argRegs are the C ABI's first two argument registers, as tracefs
// fetchargs name them.
func argRegs() [2]string {
	if runtime.GOARCH == "arm64" {
		return [2]string{"x0", "x1"}
	}
	return [2]string{"di", "si"}
}

// uprobeSpec is tracelet trace's (and perf-tools uprobe's) definition of a
// probe on benchload's target reading both arguments.
func (e *env) uprobeSpec(name string) string {
	r := argRegs()
	head := "p"
	if name != "" {
		head = "p:" + name
	}
	return fmt.Sprintf("%s %s:%#x a=%%%s:u64 b=%%%s:u64", head, e.benchload, e.target, r[0], r[1])
}

// uprobeBT is the bpftrace (and tracelet run) attach point of the target.
func (e *env) uprobeBT() string {
	return fmt.Sprintf(`uprobe:%s:main.target`, e.benchload)
}
