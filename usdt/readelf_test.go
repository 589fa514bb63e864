package usdt

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// realBinaries are distribution files known to carry USDT notes (Debian
// and Ubuntu builds of CPython, libstdc++, the GNU toolchain, glibc).
var realBinaries = []string{
	"/usr/bin/python3",
	"/usr/lib/x86_64-linux-gnu/libpython3*.so*",
	"/usr/lib/x86_64-linux-gnu/libstdc++.so.6",
	"/usr/lib/aarch64-linux-gnu/libstdc++.so.6",
	"/usr/lib/x86_64-linux-gnu/libc.so.6",
	"/lib64/libc.so.6",
	"/usr/lib/x86_64-linux-gnu/libgcc_s.so.1",
	"/usr/bin/x86_64-linux-gnu-ld.gold",
	"/usr/bin/node",
	"/usr/lib/jvm/*/lib/server/libjvm.so",
}

type readelfNote struct {
	provider, name, args string
	pc, base, sem        uint64
}

// readelfNotes runs readelf -n and keeps the stapsdt notes.
func readelfNotes(t *testing.T, readelf, path string) []readelfNote {
	out, err := exec.Command(readelf, "-n", path).Output()
	if err != nil {
		t.Fatalf("readelf -n %s: %v", path, err)
	}
	var notes []readelfNote
	sc := bufio.NewScanner(bytes.NewReader(out))
	hex := func(s string) uint64 {
		v, err := strconv.ParseUint(strings.TrimPrefix(strings.TrimSpace(s), "0x"), 16, 64)
		if err != nil {
			t.Fatalf("readelf address %q: %v", s, err)
		}
		return v
	}
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(line, "Provider: "):
			notes = append(notes, readelfNote{provider: strings.TrimPrefix(line, "Provider: ")})
		case len(notes) == 0:
		case strings.HasPrefix(line, "Name: "):
			notes[len(notes)-1].name = strings.TrimPrefix(line, "Name: ")
		case strings.HasPrefix(line, "Location: "):
			n := &notes[len(notes)-1]
			for _, f := range strings.Split(line, ",") {
				k, v, _ := strings.Cut(strings.TrimSpace(f), ": ")
				switch k {
				case "Location":
					n.pc = hex(v)
				case "Base":
					n.base = hex(v)
				case "Semaphore":
					n.sem = hex(v)
				}
			}
		case strings.HasPrefix(line, "Arguments:"):
			notes[len(notes)-1].args = strings.TrimSpace(strings.TrimPrefix(line, "Arguments:"))
		}
	}
	return notes
}

// TestReadelf parses every USDT note of the distribution binaries on this
// machine and checks provider, name, addresses and argument string against
// readelf, each argument list against the parser, and the file offset
// against the file: a probe's offset holds its nop.
func TestReadelf(t *testing.T) {
	readelf, err := exec.LookPath("readelf")
	if err != nil {
		t.Skip("readelf is not installed")
	}
	var paths []string
	for _, g := range realBinaries {
		m, _ := filepath.Glob(g)
		for _, p := range m {
			if r, err := filepath.EvalSymlinks(p); err == nil && !slices.Contains(paths, r) {
				paths = append(paths, r)
			}
		}
	}
	for _, f := range []string{"probes-x86_64", "probes-i386.so", "probes-arm64.so", "probes-arm.so", "probes-riscv64.so"} {
		paths = append(paths, filepath.Join("testdata", f))
	}
	total := 0
	for _, path := range paths {
		want := readelfNotes(t, readelf, path)
		if len(want) == 0 {
			continue
		}
		f, err := Open(path)
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		if len(f.Probes) != len(want) {
			t.Errorf("%s: %d probes, readelf shows %d", path, len(f.Probes), len(want))
			continue
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for i, w := range want {
			p := &f.Probes[i]
			got := readelfNote{p.Provider, p.Name, p.Args, p.PC, p.Base, p.Semaphore}
			if got != w {
				t.Errorf("%s note %d: got %+v, readelf %+v", path, i, got, w)
			}
			if !isNop(f.Arch, raw, p.Offset) {
				t.Errorf("%s %s: offset %#x does not hold a nop", path, p.String(), p.Offset)
			}
			if p.Semaphore != 0 && p.SemaphoreOffset == 0 {
				t.Errorf("%s %s: semaphore %#x without a file offset", path, p.String(), p.Semaphore)
			}
			args, err := p.ParseArgs(f.Arch)
			if err != nil {
				t.Errorf("%s: %v", path, err)
			} else if n := strings.Count(w.args, "@"); len(args) != n {
				t.Errorf("%s %s: %d args from %q", path, p.String(), len(args), w.args)
			}
		}
		t.Logf("%s: %d probes, %s", path, len(want), f.Arch)
		total += len(want)
	}
	if total == 0 {
		t.Skip("no binary on this machine carries USDT notes")
	}
}
