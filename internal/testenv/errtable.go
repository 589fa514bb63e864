package testenv

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// ErrorRow is one line of the grammar's error tables,
// testdata/kprobeevents/errors*.txt: a malformed definition, the class the
// kernel logs for it and the 0-based column of its error_log caret. The
// kprobeevents unit tests check the parser against the rows; the VM suite
// writes them to real kernels.
type ErrorRow struct {
	Kind   string // kprobeevents.ErrorKind name: BAD_REG_NAME, ...
	Col    int
	Target string // "kprobe", "uprobe" or "auto" (dynamic_events)
	Def    string
	File   string // base name of the table
	Line   int
}

func (r ErrorRow) String() string { return r.File + ":" + strconv.Itoa(r.Line) }

// TableGroup is the group every table row puts its event in; a test that
// writes rows to a kernel replaces it with its own (ErrorRow.InGroup).
const TableGroup = "tracelet_t"

// ErrorTables pairs each table with the kernels whose behaviour it records,
// as "MAJOR.MINOR", or "" for the newest kernel (the development host's).
var ErrorTables = []struct {
	File    string
	Kernels []string
}{
	{"errors.txt", []string{"6.1", "6.12", ""}},
	{"errors-6.12.txt", []string{"6.12", ""}},
	{"errors-6.1.txt", []string{"6.1"}},
	{"errors-6.18.txt", []string{""}},
}

// ErrorTablesFor returns the tables for a kernel "MAJOR.MINOR"; a kernel
// that no table names gets the newest kernel's.
func ErrorTablesFor(kernel string) []string {
	var exact, newest []string
	for _, t := range ErrorTables {
		for _, k := range t.Kernels {
			switch k {
			case kernel:
				exact = append(exact, t.File)
			case "":
				newest = append(newest, t.File)
			}
		}
	}
	if len(exact) > 0 {
		return exact
	}
	return newest
}

// LoadErrorTable reads one table (format: KIND COL TARGET<TAB>DEFINITION;
// blank lines and # comments are skipped).
func LoadErrorTable(path string) ([]ErrorRow, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	name := filepath.Base(path)
	var rows []ErrorRow
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 64<<10)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		head, def, ok := strings.Cut(line, "\t")
		h := strings.Fields(head)
		if !ok || len(h) != 3 {
			return nil, fmt.Errorf("%s:%d: want KIND COL TARGET<TAB>DEFINITION", name, n)
		}
		col, err := strconv.Atoi(h[1])
		if err != nil {
			return nil, fmt.Errorf("%s:%d: bad column %q", name, n, h[1])
		}
		switch h[2] {
		case "kprobe", "uprobe", "auto":
		default:
			return nil, fmt.Errorf("%s:%d: bad target %q (want kprobe, uprobe or auto)", name, n, h[2])
		}
		rows = append(rows, ErrorRow{Kind: h[0], Col: col, Target: h[2], Def: def, File: name, Line: n})
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("%s: no rows", name)
	}
	return rows, nil
}

// InGroup returns the row with its definition's group TableGroup renamed to
// group, and the column moved by the difference in length when it lies past
// the start of the group name.
func (r ErrorRow) InGroup(group string) ErrorRow {
	i := strings.Index(r.Def, TableGroup+"/")
	if i < 0 {
		return r
	}
	r.Def = r.Def[:i] + group + r.Def[i+len(TableGroup):]
	if r.Col > i {
		r.Col += len(group) - len(TableGroup)
	}
	return r
}
