package scriptrun

import (
	"bufio"
	"errors"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/tracelet/tracelet/asm"
	"github.com/tracelet/tracelet/bpf"
	"github.com/tracelet/tracelet/btf"
	"github.com/tracelet/tracelet/internal/testenv"
	"github.com/tracelet/tracelet/script"
	"github.com/tracelet/tracelet/tracefs"
)

// The fixtures these tests share with package script's: the runtime's
// tests moved here from there, their data did not.

var update = flag.Bool("update", false, "rewrite golden files")

// scriptTestdata is package script's testdata: the one-liners, bpftrace's
// tools and the corpus of real scripts.
const scriptTestdata = "../script/testdata"

const corpusDir = "../testdata/script"

// oneliners reads the corpus: one script per line, '#' lines are comments.
func oneliners(t testing.TB) []string {
	t.Helper()
	f, err := os.Open(filepath.Join(corpusDir, "oneliners.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		out = append(out, line)
	}
	if len(out) < 25 {
		t.Fatalf("corpus has %d one-liners, want at least 25", len(out))
	}
	return out
}

func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := 0; i < len(w) || i < len(g); i++ {
		var a, c string
		if i < len(w) {
			a = w[i]
		}
		if i < len(g) {
			c = g[i]
		}
		if a != c {
			b.WriteString("line " + strconv.Itoa(i+1) + ":\n  want: " + a + "\n  got:  " + c + "\n")
			if b.Len() > 2000 {
				break
			}
		}
	}
	return b.String()
}

// dirFormats reads events/SYSTEM/EVENT/format files under root: the
// fixtures recorded from a kernel, or the live tracefs.
func dirFormats(root string) script.FormatSource {
	return script.FormatFunc(func(system, event string) (*script.Format, error) {
		b, err := os.ReadFile(filepath.Join(root, system, event, "format"))
		if errors.Is(err, fs.ErrNotExist) {
			return nil, errors.New("no such tracepoint (no format file)")
		}
		if err != nil {
			return nil, err
		}
		tf, err := tracefs.ParseFormat(b)
		if err != nil {
			return nil, err
		}
		f := &script.Format{System: system, Event: event}
		for _, fd := range tf.Fields {
			l := script.LayoutOther
			switch fd.Kind {
			case tracefs.FieldInt:
				l = script.LayoutInt
			case tracefs.FieldCharArray:
				l = script.LayoutCharArray
			case tracefs.FieldDynString:
				if !fd.RelLoc {
					l = script.LayoutDynString
				}
			}
			f.Fields = append(f.Fields, script.FormatField{Name: fd.Name, CType: fd.Type, Offset: fd.Offset,
				Size: fd.Size, Signed: fd.Signed, Layout: l})
		}
		return f, nil
	})
}

var fixtureFormats = dirFormats(filepath.Join(corpusDir, "formats", "6.18"))

// fixtureBTF is the kernel BTF recorded from Linux 6.18 (x86_64): struct
// offsets in these tests are that kernel's.
func fixtureBTF(t testing.TB) *btf.Spec { return testenv.BTFFixture(t) }

func enumConstants(spec *btf.Spec) func(string) (uint64, bool) {
	return func(name string) (uint64, bool) {
		c, err := spec.EnumConstant(name)
		return c.Value, err == nil
	}
}

func checkBTF(t *testing.T, src string) (*script.Program, *script.Info, error) {
	t.Helper()
	prog, err := script.Parse("-e", []byte(src))
	if err != nil {
		return nil, nil, err
	}
	info, err := script.Check(prog, script.CheckOptions{Formats: fixtureFormats, BTF: fixtureBTF(t)})
	return prog, info, err
}

// kernelArch is the running kernel's register table, which the runtime
// passes to Compile (script's own default is the binary's, wrong for a
// 386 test binary on an x86_64 kernel, make compat386).
func kernelArch(t testing.TB) *asm.Arch {
	t.Helper()
	a, err := bpf.KernelArch()
	if err != nil {
		t.Fatal(err)
	}
	return a
}
