package script_test

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// module is this repository's module path; its packages are directories
// under the repository's root, "..".
const module = "github.com/tracelet/tracelet"

// pureRoots are the language and the leaves anyone may use without a
// kernel: none of them, nor anything they import, may make a system call.
var pureRoots = []string{"script", "asm", "kprobeevents", "bpf/uapi", "flamegraph"}

// impure are imports that make system calls or run programs.
var impure = map[string]bool{
	"golang.org/x/sys/unix": true, "syscall": true, "os": true, "os/exec": true,
	"os/signal": true, "net": true, "unsafe": true, "plugin": true,
}

// impureOurs are this repository's packages that talk to the kernel.
var impureOurs = []string{"bpf", "perf", "tracefs", "trace", "metrics", "record", "tools", "scriptrun", "internal/testenv"}

// pureExceptions are what a pure package may still import: btf maps the
// kernel's BTF file (btf.LoadFile, btf.LoadKernel), while the language
// only parses the spec the runtime hands it (CheckOptions.BTF).
var pureExceptions = map[string]map[string]bool{
	"btf": {"os": true, "syscall": true},
}

// TestPure walks the imports of the language and the pure leaves, within
// this repository, and fails on any that makes system calls: the runtime
// (package scriptrun) is where those belong. Every non-test file counts,
// whatever its build constraints, so that no GOOS or GOARCH hides one.
func TestPure(t *testing.T) {
	root := ".."
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("no repository root at %s: %v", root, err)
	}
	from := map[string]string{} // package (relative to the module) -> who imported it first
	queue := append([]string(nil), pureRoots...)
	for _, r := range pureRoots {
		from[r] = ""
	}
	chain := func(pkg string) string {
		parts := []string{pkg}
		for p := from[pkg]; p != ""; p = from[p] {
			parts = append([]string{p}, parts...)
		}
		return strings.Join(parts, " -> ")
	}
	seen := 0
	for len(queue) > 0 {
		pkg := queue[0]
		queue = queue[1:]
		imports := packageImports(t, filepath.Join(root, filepath.FromSlash(pkg)))
		if len(imports) == 0 {
			t.Fatalf("package %s (%s) has no imports or no files: the walk is broken", pkg, chain(pkg))
		}
		seen++
		for imp, file := range imports {
			ours, isOurs := strings.CutPrefix(imp, module+"/")
			switch {
			case impure[imp] && !pureExceptions[pkg][imp]:
				t.Errorf("%s imports %s (%s): the language and its leaves make no system calls; move this to package scriptrun or take it as a value or interface",
					chain(pkg), imp, file)
			case isOurs && slices.Contains(impureOurs, ours):
				t.Errorf("%s imports %s (%s), which talks to the kernel: the runtime (package scriptrun) passes in what the language needs",
					chain(pkg), imp, file)
			case isOurs:
				if _, ok := from[ours]; !ok {
					from[ours] = pkg
					queue = append(queue, ours)
				}
			}
		}
	}
	// The walk reached the leaves the language is built on.
	for _, want := range []string{"asm", "btf", "kprobeevents", "bpf/uapi"} {
		if _, ok := from[want]; !ok {
			t.Errorf("the walk from %v never reached %s: it is broken", pureRoots, want)
		}
	}
	t.Logf("%d packages checked: %s", seen, strings.Join(keys(from), " "))
}

// packageImports reads the import paths of the non-test Go files in dir,
// each with a file that imports it.
func packageImports(t *testing.T, dir string) map[string]string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(fset, f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, is := range af.Imports {
			p, err := strconv.Unquote(is.Path.Value)
			if err != nil {
				t.Fatalf("%s: import %s: %v", f, is.Path.Value, err)
			}
			if _, ok := out[p]; !ok {
				out[p] = filepath.Base(f)
			}
		}
	}
	return out
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
