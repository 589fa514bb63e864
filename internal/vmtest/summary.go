package vmtest

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// WriteSummary prints one line per kernel, a table of every test's result
// per kernel, and for each failed kernel its errors and the console tail of
// each failed package. It returns the number of failed kernels.
func WriteSummary(w io.Writer, reports []*Report) int {
	failed := 0
	fmt.Fprintln(w, "\n=== VM suite summary")
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "kernel\trelease\ttime\tresult")
	for _, r := range reports {
		res := "PASS"
		if r.Err() != nil {
			res = "FAIL"
			failed++
		}
		fmt.Fprintf(tw, "%s\t%s\t%v\t%s\n", r.Kernel.Name, r.Release, r.Elapsed.Round(100*time.Millisecond), res)
	}
	tw.Flush()
	for _, r := range reports {
		if r.BootCrash != "" {
			fmt.Fprintf(w, "%s booted twice: its first boot crashed before /init: %s\n", r.Kernel.Name, r.BootCrash)
		}
	}

	type key struct{ pkg, test string }
	cells := map[key]map[string]string{}
	var keys []key
	for _, r := range reports {
		for _, p := range r.Packages {
			k := key{p.Name, "(package)"}
			st := "PASS"
			if !p.Reported {
				st = "NORESULT"
			} else if p.Status != 0 {
				st = fmt.Sprintf("FAIL(%d)", p.Status)
			}
			add := func(k key, st string) {
				if cells[k] == nil {
					cells[k] = map[string]string{}
					keys = append(keys, k)
				}
				cells[k][r.Kernel.Name] = st
			}
			add(k, st)
			for _, t := range p.Tests {
				add(key{p.Name, t.Name}, t.Status)
			}
		}
	}
	sort.SliceStable(keys, func(i, j int) bool {
		if keys[i].pkg != keys[j].pkg {
			return keys[i].pkg < keys[j].pkg
		}
		return keys[i].test < keys[j].test
	})
	if len(keys) > 0 {
		fmt.Fprintln(w)
		tw = tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
		hdr := []string{"package", "test"}
		for _, r := range reports {
			hdr = append(hdr, r.Kernel.Name)
		}
		fmt.Fprintln(tw, strings.Join(hdr, "\t"))
		for _, k := range keys {
			row := []string{k.pkg, k.test}
			for _, r := range reports {
				st := cells[k][r.Kernel.Name]
				if st == "" {
					st = "-"
				}
				row = append(row, st)
			}
			fmt.Fprintln(tw, strings.Join(row, "\t"))
		}
		tw.Flush()
	}

	for _, r := range reports {
		err := r.Err()
		if err == nil {
			continue
		}
		fmt.Fprintf(w, "\n=== FAIL %s (%s), full console log: %s\n", r.Kernel.Name, r.Release, r.LogPath)
		for _, line := range strings.Split(err.Error(), "\n") {
			fmt.Fprintf(w, "    %s\n", line)
		}
		for _, p := range r.Packages {
			if p.Reported && p.Status == 0 {
				continue
			}
			fmt.Fprintf(w, "--- guest output of %s on %s (last %d lines):\n", p.Name, r.Kernel.Name, packageTailLen)
			for _, line := range p.Output() {
				fmt.Fprintf(w, "    %s\n", line)
			}
		}
	}
	// The failed tests' own messages come last, where a reader of only
	// the end of the output sees them.
	if failed > 0 {
		fmt.Fprintln(w, "\n=== failed tests, in brief")
		for _, r := range reports {
			for _, p := range r.Packages {
				for _, l := range p.Failures {
					fmt.Fprintf(w, "%s %s: %s\n", r.Kernel.Name, p.Name, l)
				}
			}
		}
	}
	return failed
}
