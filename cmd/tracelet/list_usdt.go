package main

import (
	"bufio"
	"fmt"
	"sort"

	"github.com/tracelet/tracelet/internal/cli"
	"github.com/tracelet/tracelet/tracefs"
	"github.com/tracelet/tracelet/usdt"
)

// listUSDT prints the USDT probes of a binary as the attach points that
// name them, usdt:PATH:PROVIDER:NAME, once per probe however many places
// the compiler inlined it at, sorted (as bpftrace -l prints them).
func listUSDT(w *bufio.Writer, binary, glob string) error {
	path, err := tracefs.ResolveBinary(binary)
	if err != nil {
		return cli.Exit(err.Error(), 1)
	}
	f, err := usdt.Open(path)
	if err != nil {
		return cli.Exit(err.Error(), 1)
	}
	seen := map[string]bool{}
	var names []string
	for _, p := range f.Probes {
		name := p.String()
		if seen[name] || glob != "" && !matchGlob(glob, name) {
			continue
		}
		seen[name] = true
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		fmt.Fprintf(w, "usdt:%s:%s\n", path, name)
	}
	return nil
}
