package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// size: tracelet's binaries on disk (the binary under test, and dist/ when
// `make release` made it), against bpftrace with the shared libraries
// it loads (ldd), and against one libbpf-tools binary (sigsnoop) with its
// own. The C tools' figures include libc, which they cannot run without;
// tracelet is static and needs nothing.
func size(e *env) {
	const scen = "size: on disk"
	add := func(tool, metric string, v float64, note string) {
		r := e.rp.add(scen, tool, metric, "MB", 1)
		r.Samples[0] = v
		r.Note = note
	}
	// The binary under test (make build: -trimpath, -s -w, as a release
	// is built), then each dist/ binary that `make release` left.
	bins, _ := filepath.Glob(filepath.Join(e.root, "dist", "tracelet-*"))
	sort.Strings(bins)
	for i, b := range append([]string{e.tracelet}, bins...) {
		fi, err := os.Stat(b)
		if err != nil {
			continue
		}
		rel, err := filepath.Rel(e.root, b)
		if err != nil || strings.HasPrefix(rel, "..") {
			rel = b
		} else if !strings.Contains(rel, "/") {
			rel = "./" + rel
		}
		mb := float64(fi.Size()) / 1e6
		add("tracelet ("+rel+")", "binary", mb, "")
		if i == 0 {
			add("tracelet ("+rel+")", "binary + shared libraries", mb, "static: none")
		}
	}
	for _, a := range []struct{ tool, cmd string }{{"bpftrace", "bpftrace"}, {"libbpf-tools", "sigsnoop"}} {
		path, err := exec.LookPath(a.cmd)
		if err != nil {
			for _, m := range []string{"binary", "binary + shared libraries"} {
				r := e.rp.add(scen, a.tool, m, "MB", 1)
				r.Note = "not available: " + a.cmd + " is not installed"
			}
			continue
		}
		fi, err := os.Stat(path)
		if err != nil {
			continue
		}
		libs, total := ldd(path)
		add(a.tool+" ("+filepath.Base(path)+")", "binary", float64(fi.Size())/1e6, "")
		add(a.tool+" ("+filepath.Base(path)+")", "binary + shared libraries", float64(fi.Size()+total)/1e6,
			libs+" shared libraries, libc included")
	}
	// Anchors are named by tool alone in the ratios.
	for _, r := range e.rp.rows {
		if r.Scenario == scen && !isTracelet(r.Tool) {
			r.Tool = strings.SplitN(r.Tool, " (", 2)[0]
		}
	}
}

var lddLine = regexp.MustCompile(`=>\s+(/\S+)|^\s*(/\S+)\s+\(`)

// ldd returns how many shared libraries path loads and their total size,
// each library counted once by its real path.
func ldd(path string) (string, int64) {
	out, err := exec.Command("ldd", path).Output()
	if err != nil {
		return "no (ldd failed)", 0
	}
	seen := map[string]bool{}
	var total int64
	for _, l := range strings.Split(string(out), "\n") {
		m := lddLine.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		p := m[1] + m[2]
		if real, err := filepath.EvalSymlinks(p); err == nil {
			p = real
		}
		if seen[p] {
			continue
		}
		seen[p] = true
		if fi, err := os.Stat(p); err == nil {
			total += fi.Size()
		}
	}
	return strconv.Itoa(len(seen)), total
}
