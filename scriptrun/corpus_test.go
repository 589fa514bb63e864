package scriptrun

import (
	"bufio"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/tracelet/tracelet/internal/testenv"
)

// corpusTable records, for every script of testdata/corpus (real scripts
// from public repositories, listed with their origin in corpus/SOURCES) and
// of testdata/bpftrace-tools, whether bpftrace 0.17 compiles it on the
// kernel named in the table's header (corpus/bpftrace.sh) and whether
// tracelet does, with tracelet's error where it does not.
const corpusTable = scriptTestdata + "/corpus/accepted.tsv"

type corpusRow struct {
	path     string // relative to testdata
	bpftrace bool
	tracelet bool
	err      string
}

// TestCorpus compiles every corpus script as `tracelet run -d` does, with
// this host's tracefs and BTF (the table was recorded on such a host). A
// script the table says tracelet compiles must still compile; one it says
// tracelet rejects must be rejected with an error, never a panic, and a
// script that starts compiling asks for the table to be refreshed with
// -update. On another kernel release the tracepoints, BTF and symbols
// differ, so the test then only checks that nothing panics, and reports.
func TestCorpus(t *testing.T) {
	testenv.RequireRoot(t)
	release, rows := readCorpusTable(t)
	var uts unix.Utsname
	if err := unix.Uname(&uts); err != nil {
		t.Fatal(err)
	}
	here := unix.ByteSliceToString(uts.Release[:])
	exact := here == release
	if !exact {
		t.Logf("table recorded on %s, running on %s: checking for panics only", release, here)
	}
	listed := map[string]bool{}
	var bt, tl, both, btOnly int
	var failures []string
	for i := range rows {
		row := &rows[i]
		listed[row.path] = true
		err := compileCorpusScript(row.path)
		ok := err == nil
		switch {
		case !exact:
		case ok && !row.tracelet && !*update:
			t.Errorf("%s compiles now: refresh %s with go test -run TestCorpus -update", row.path, corpusTable)
		case !ok && row.tracelet:
			t.Errorf("%s no longer compiles: %v", row.path, err)
		}
		row.tracelet, row.err = ok, ""
		if err != nil {
			// The first line: the position and the message, without
			// the source excerpt and caret that follow it.
			row.err, _, _ = strings.Cut(err.Error(), "\n")
		}
		if row.bpftrace {
			bt++
		}
		if row.tracelet {
			tl++
		}
		if row.bpftrace && row.tracelet {
			both++
		}
		if row.bpftrace && !row.tracelet {
			btOnly++
			failures = append(failures, row.err)
		}
	}
	for _, dir := range []string{"corpus", "bpftrace-tools"} {
		err := filepath.WalkDir(filepath.Join(scriptTestdata, dir), func(f string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(f, ".bt") {
				return err
			}
			if rel := strings.TrimPrefix(filepath.ToSlash(f), scriptTestdata+"/"); !listed[rel] {
				t.Errorf("%s is not in %s: add its bpftrace result (corpus/bpftrace.sh)", rel, corpusTable)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d scripts: bpftrace 0.17 compiles %d, tracelet %d; both %d; bpftrace only %d", len(rows), bt, tl, both, btOnly)
	for _, c := range failureClasses(failures) {
		t.Logf("  bpftrace only: %s", c)
	}
	if *update && exact {
		writeCorpusTable(t, release, rows)
	}
}

// compileCorpusScript prepares the script as `tracelet run -d` does, turning
// a panic into an error that says so.
func compileCorpusScript(path string) (err error) {
	src, err := os.ReadFile(filepath.Join(scriptTestdata, path))
	if err != nil {
		return err
	}
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("PANIC: %v", p)
		}
	}()
	// --unsafe, as corpus/bpftrace.sh gives bpftrace: skbdrop.bt calls
	// system().
	r, err := Prepare(path, src, RunOptions{Out: io.Discard, Unsafe: true})
	if err != nil {
		return err
	}
	return r.Close()
}

// failureClasses groups errors by their message without the position,
// most common first.
func failureClasses(errs []string) []string {
	n := map[string]int{}
	for _, e := range errs {
		msg := e
		// "file:line:col: message": drop the position.
		if parts := strings.SplitN(e, ": ", 2); len(parts) == 2 && strings.Count(parts[0], ":") >= 2 {
			msg = parts[1]
		}
		if len(msg) > 70 {
			msg = msg[:70]
		}
		n[msg]++
	}
	var out []string
	for m, c := range n {
		out = append(out, fmt.Sprintf("%3d %s", c, m))
	}
	sort.Sort(sort.Reverse(sort.StringSlice(out)))
	return out
}

func readCorpusTable(t *testing.T) (release string, rows []corpusRow) {
	f, err := os.Open(corpusTable)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	s.Buffer(nil, 1<<20)
	for line := 1; s.Scan(); line++ {
		text := s.Text()
		if r, ok := strings.CutPrefix(text, "# kernel "); ok {
			release = r
			continue
		}
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		fields := strings.SplitN(text, "\t", 4)
		if len(fields) < 3 {
			t.Fatalf("%s:%d: want path, bpftrace, tracelet[, error]", corpusTable, line)
		}
		row := corpusRow{path: fields[0], bpftrace: fields[1] == "ok", tracelet: fields[2] == "ok"}
		if len(fields) == 4 {
			row.err = fields[3]
		}
		rows = append(rows, row)
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	if release == "" {
		t.Fatalf("%s: no \"# kernel RELEASE\" line", corpusTable)
	}
	return release, rows
}

func writeCorpusTable(t *testing.T, release string, rows []corpusRow) {
	var b strings.Builder
	fmt.Fprintf(&b, "# Which corpus scripts compile, recorded on one host.\n")
	fmt.Fprintf(&b, "# bpftrace: bpftrace 0.17 --emit-elf (corpus/bpftrace.sh); tracelet: tracelet run -d\n")
	fmt.Fprintf(&b, "# (go test -run TestCorpus -update rewrites the tracelet columns).\n")
	fmt.Fprintf(&b, "# kernel %s\n", release)
	fmt.Fprintf(&b, "# path\tbpftrace\ttracelet\ttracelet's error\n")
	word := map[bool]string{true: "ok", false: "fail"}
	for _, r := range rows {
		fmt.Fprintf(&b, "%s\t%s\t%s", r.path, word[r.bpftrace], word[r.tracelet])
		if r.err != "" {
			fmt.Fprintf(&b, "\t%s", r.err)
		}
		b.WriteString("\n")
	}
	if err := os.WriteFile(corpusTable, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}
