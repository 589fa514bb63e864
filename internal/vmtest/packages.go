package vmtest

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path"
	"regexp"
	"strings"
	"time"
)

// GuestPackage is one line of packages.txt: a Go package whose tests are
// compiled with go test -c and run inside every guest, from a copy of its
// directory so that testdata/ and ../testdata resolve as in the repository.
type GuestPackage struct {
	Dir     string        // repository-relative directory: "kprobeevents", "internal/vmtest/guest"
	Run     string        // -test.run regexp, "" for all tests
	Skip    string        // -test.skip regexp
	Timeout time.Duration // -test.timeout inside the guest
	// Arches is -arch: a comma-separated list of the Debian architectures
	// whose guests run the package, or of those that do not when it starts
	// with '!'; "" is every guest.
	Arches string
	// GOARCH, when set, builds the package's tests for another GOARCH than
	// the guest's: "386" runs them in compat mode on an x86_64 kernel
	// (vmrun -compat386).
	GOARCH string
	Line   int // line in packages.txt, for errors
}

// OnArch reports whether the guests of Debian architecture arch run p.
func (p GuestPackage) OnArch(arch string) bool {
	if p.Arches == "" {
		return true
	}
	list, not := strings.CutPrefix(p.Arches, "!")
	for _, a := range strings.Split(list, ",") {
		if a == arch {
			return !not
		}
	}
	return not
}

// DefaultPackageTimeout bounds one package's run inside a guest. Under TCG
// the guest runs several times slower than the host, yet a package's tests
// take seconds; a hung test then fails through go test's own timeout (with
// every goroutine's stack) before the harness's idle limit (DefaultIdle)
// stops the whole guest, so the packages after it still run. A slow
// package sets -timeout on its packages.txt line.
const DefaultPackageTimeout = 3 * time.Minute

// Name is how results and the summary name the package: its directory,
// with "@386" for the compat-mode build of a 386 tracer.
func (p GuestPackage) Name() string {
	if p.GOARCH != "" {
		return p.Dir + "@" + p.GOARCH
	}
	return p.Dir
}

// ParsePackages reads packages.txt. Each non-blank line that is not a
// comment names one package, by import path or as ./dir, optionally followed
// by -run REGEXP, -skip REGEXP, -timeout DURATION and -arch LIST (Debian
// architectures, comma-separated; a leading '!' excludes them instead):
//
//	github.com/tracelet/tracelet/tracefs -run Kprobe|Uprobe -timeout 15m
//	./internal/vmtest/guest
//	./tools -arch !riscv64,mipsel
func ParsePackages(r io.Reader, module string) ([]GuestPackage, error) {
	var pkgs []GuestPackage
	seen := map[string]int{}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		p := GuestPackage{Timeout: DefaultPackageTimeout, Line: n}
		dir, err := packageDir(f[0], module)
		if err != nil {
			return nil, fmt.Errorf("packages.txt:%d: %w", n, err)
		}
		p.Dir = dir
		if prev, ok := seen[dir]; ok {
			return nil, fmt.Errorf("packages.txt:%d: %s is already listed on line %d", n, f[0], prev)
		}
		seen[dir] = n
		for i := 1; i < len(f); i += 2 {
			if i+1 >= len(f) {
				return nil, fmt.Errorf("packages.txt:%d: %s needs a value", n, f[i])
			}
			v := f[i+1]
			switch f[i] {
			case "-run", "-skip":
				if _, err := regexp.Compile(v); err != nil {
					return nil, fmt.Errorf("packages.txt:%d: %s %q: %v", n, f[i], v, err)
				}
				if f[i] == "-run" {
					p.Run = v
				} else {
					p.Skip = v
				}
			case "-arch":
				for _, a := range strings.Split(strings.TrimPrefix(v, "!"), ",") {
					if _, err := archOf(a); err != nil {
						return nil, fmt.Errorf("packages.txt:%d: -arch %q: %v", n, v, err)
					}
				}
				p.Arches = v
			case "-timeout":
				d, err := time.ParseDuration(v)
				if err != nil || d <= 0 {
					return nil, fmt.Errorf("packages.txt:%d: -timeout %q: want a positive Go duration such as 15m", n, v)
				}
				p.Timeout = d
			default:
				return nil, fmt.Errorf("packages.txt:%d: unknown option %q (want -run, -skip, -timeout or -arch)", n, f[i])
			}
		}
		pkgs = append(pkgs, p)
	}
	return pkgs, sc.Err()
}

// packageDir turns an import path of this module, or ./dir, into a clean
// repository-relative directory that cannot escape the repository.
func packageDir(spec, module string) (string, error) {
	var rel string
	switch {
	case spec == module:
		rel = "."
	case strings.HasPrefix(spec, module+"/"):
		rel = strings.TrimPrefix(spec, module+"/")
	case strings.HasPrefix(spec, "./"):
		rel = strings.TrimPrefix(spec, "./")
	default:
		return "", fmt.Errorf("%q is neither an import path under %s nor a ./dir", spec, module)
	}
	rel = path.Clean(rel)
	if rel == "." || rel == ".." || strings.HasPrefix(rel, "../") || path.IsAbs(rel) || strings.ContainsAny(rel, "'\"\\ \t$`") {
		return "", fmt.Errorf("%q is not a package directory inside the repository", spec)
	}
	return rel, nil
}

// readModule returns the module path from go.mod.
func readModule(gomod string) (string, error) {
	b, err := os.ReadFile(gomod)
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if m, ok := strings.CutPrefix(strings.TrimSpace(line), "module "); ok {
			return strings.Trim(strings.TrimSpace(m), `"`), nil
		}
	}
	return "", fmt.Errorf("%s has no module line", gomod)
}

// Narrow picks the packages of one run: each spec (an import path or ./dir,
// as in packages.txt) keeps its packages.txt line, or gets a default line
// when it is not listed, so a package can be tried in a guest before it is
// added; no specs keep the whole list. A non-empty run replaces every kept
// package's -run, and drops its -skip, so that the named tests run.
func Narrow(list []GuestPackage, specs []string, run, module string) ([]GuestPackage, error) {
	if run != "" {
		if _, err := regexp.Compile(run); err != nil {
			return nil, fmt.Errorf("-run %q: %v", run, err)
		}
	}
	var out []GuestPackage
	if len(specs) == 0 {
		out = append(out, list...)
	}
	seen := map[string]bool{}
	for _, spec := range specs {
		dir, err := packageDir(spec, module)
		if err != nil {
			return nil, fmt.Errorf("-pkg: %w", err)
		}
		if seen[dir] {
			continue
		}
		seen[dir] = true
		p := GuestPackage{Dir: dir, Timeout: DefaultPackageTimeout}
		for _, l := range list {
			if l.Dir == dir {
				p = l
			}
		}
		out = append(out, p)
	}
	if run != "" {
		for i := range out {
			out[i].Run, out[i].Skip = run, ""
		}
	}
	return out, nil
}
