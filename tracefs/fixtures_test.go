package tracefs

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// Fixtures recorded from real kernels live in testdata/kernels/<release>/:
//
//	README                            tracefs README
//	error_log.txt                     error_log after malformed definitions
//	events/<system>/<event>/format    format files
//	uprobe_profile, kprobe_profile    profile files
//	ring/<case>/*.format, page*.bin, decoded.golden
//	                                  raw trace_pipe_raw pages, the formats
//	                                  of their events and the decoded text
//
// Every test below runs over every release directory present, so fixtures
// recorded by the VM suite join automatically.

func kernelDirs(t *testing.T) []string {
	t.Helper()
	dirs, err := filepath.Glob(filepath.Join("..", "testdata", "kernels", "*"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, d := range dirs {
		if st, err := os.Stat(d); err == nil && st.IsDir() {
			out = append(out, d)
		}
	}
	if len(out) == 0 {
		t.Fatal("no testdata/kernels/* fixtures")
	}
	return out
}

func TestFixtureFormats(t *testing.T) {
	total := 0
	for _, kd := range kernelDirs(t) {
		files, _ := filepath.Glob(filepath.Join(kd, "events", "*", "*", "format"))
		rings, _ := filepath.Glob(filepath.Join(kd, "ring", "*", "*.format"))
		for _, p := range append(files, rings...) {
			total++
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			f, err := ParseFormat(b)
			if err != nil {
				t.Errorf("%s: %v", p, err)
				continue
			}
			if f.Name == "" || f.ID == 0 || len(f.Common) < 4 || f.Common[0].Name != "common_type" || f.PrintFmt == "" {
				t.Errorf("%s: incomplete: %+v", p, f)
			}
			for _, fd := range append(append([]Field{}, f.Common...), f.Fields...) {
				if fd.Kind == 0 {
					t.Errorf("%s: field %s has no kind", p, fd.Name)
				}
			}
			// String prints the kernel's layout: the recorded file
			// itself, and reparsing gives the same.
			if s := f.String(); s != string(b) {
				t.Errorf("%s: String() differs from the file:\n%s", p, s)
			}
			g, err := ParseFormat([]byte(f.String()))
			if err != nil || !reflect.DeepEqual(f, g) {
				t.Errorf("%s: round trip differs: %v\n%s", p, err, f.String())
			}
			if _, err := f.Decoder(); err != nil {
				t.Errorf("%s: %v", p, err)
			}
		}
	}
	if total == 0 {
		t.Fatal("no format fixtures")
	}
}

// TestFixtureFormats618 pins what the 6.18 fixtures must parse to.
func TestFixtureFormats618(t *testing.T) {
	load := func(rel string) *Format {
		t.Helper()
		b, err := os.ReadFile(filepath.Join("..", "testdata", "kernels", "6.18", rel))
		if err != nil {
			t.Fatal(err)
		}
		f, err := ParseFormat(b)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	type want struct {
		name    string
		kind    FieldKind
		off, sz int
		signed  bool
		elem, n int
		typ     string
	}
	cases := map[string][]want{
		"events/syscalls/sys_enter_openat/format": {
			{"__syscall_nr", FieldInt, 8, 4, true, 0, 0, "int"},
			{"dfd", FieldInt, 16, 8, false, 0, 0, "int"}, // "int" with size 8: the size wins
			{"filename", FieldInt, 24, 8, false, 0, 0, "const char *"},
		},
		"events/sched/sched_process_exec/format": {
			{"filename", FieldDynString, 8, 4, false, 0, 0, "__data_loc char[]"},
			{"pid", FieldInt, 12, 4, true, 0, 0, "pid_t"},
		},
		"events/signal/signal_generate/format": {
			{"comm", FieldCharArray, 20, 16, false, 0, 0, "char[16]"},
		},
		"events/ftrace/print/format": {
			{"ip", FieldInt, 8, 8, false, 0, 0, "unsigned long"},
			{"buf", FieldBytes, 16, 0, false, 0, 0, "char[]"},
		},
		"ring/uprobe_fetchargs/strs.format": {
			{"__probe_ip", FieldInt, 8, 8, false, 0, 0, "unsigned long"},
			{"str", FieldDynString, 16, 4, true, 0, 0, "__data_loc char[]"},
			{"arr", FieldArray, 25, 4, false, 1, 4, "u8[]"},
			{"sarr", FieldArray, 29, 4, true, 2, 2, "s16[]"},
			{"sarr2", FieldDynStringArray, 45, 8, true, 4, 2, "__data_loc char[][2]"},
		},
	}
	for file, ws := range cases {
		f := load(file)
		for _, w := range ws {
			fd := f.Field(w.name)
			if fd == nil {
				t.Errorf("%s: no field %s", file, w.name)
				continue
			}
			if fd.Kind != w.kind || fd.Offset != w.off || fd.Size != w.sz || fd.Signed != w.signed || fd.Type != w.typ ||
				(w.elem != 0 && (fd.ElemSize != w.elem || fd.Count != w.n)) {
				t.Errorf("%s: %s = %+v, want %+v", file, w.name, *fd, w)
			}
		}
	}
	if f := load("events/sched/sched_process_exec/format"); f.ID != 365 || len(f.Common) != 4 || len(f.Fields) != 3 {
		t.Errorf("sched_process_exec: id %d, %d common, %d fields", f.ID, len(f.Common), len(f.Fields))
	}
}

func TestFixtureErrorLog(t *testing.T) {
	n := 0
	for _, kd := range kernelDirs(t) {
		b, err := os.ReadFile(filepath.Join(kd, "error_log.txt"))
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		es := ParseErrorLog(b)
		if len(es) == 0 || len(es) != bytes.Count(b, []byte("  Command: ")) {
			t.Errorf("%s: %d entries for %d commands", kd, len(es), bytes.Count(b, []byte("  Command: ")))
		}
		for _, e := range es {
			n++
			if e.Message == "" || e.Location == "" || e.Command == "" || e.Column < 0 || e.Column > len(e.Command) || e.Timestamp == "" {
				t.Errorf("%s: incomplete entry %+v", kd, e)
			}
		}
	}
	if n == 0 {
		t.Fatal("no error_log fixtures")
	}
}

// TestFixtureErrorLog618 checks that each caret lands where the kernel
// pointed in the 6.18 recording.
func TestFixtureErrorLog618(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "testdata", "kernels", "6.18", "error_log.txt"))
	if err != nil {
		t.Fatal(err)
	}
	es := ParseErrorLog(b)
	want := []struct{ msg, at string }{
		{"Invalid register name", "%zz"},
		{"Unknown type is specified", "strin"},
		{"Failed to find the given file", "/nonexistent"},
		{"$retval is not available on probe", "$retval"},
		{"Array number is too big", "100]"},
		{"$comm and immediate-string only accepts string type", "u32"},
		{"Event name must follow the same rules as C identifiers", "bad-name"},
	}
	if len(es) != len(want) {
		t.Fatalf("%d entries, want %d", len(es), len(want))
	}
	for i, w := range want {
		e := es[i]
		if e.Message != w.msg || e.Location != "trace_uprobe" || !strings.HasPrefix(e.Command[e.Column:], w.at) {
			t.Errorf("entry %d: %q at %q, want %q at %q", i, e.Message, e.Command[e.Column:], w.msg, w.at)
		}
	}
	// The lookup that AddDynamicEvent does: the command as written, with
	// runs of spaces, finds its entry.
	e := findErrorLog(es, "p:tracelet_3971/e5   /tmp/tfs/testprog:0xa3660    a=%di:u8[100]")
	if e == nil || e.Message != "Array number is too big" {
		t.Fatalf("findErrorLog = %+v", e)
	}
	we := &WriteError{Def: "p:tracelet_3971/e5   /tmp/tfs/testprog:0xa3660    a=%di:u8[100]", Log: e}
	if c := we.Column(); !strings.HasPrefix(we.Def[c:], "100]") {
		t.Errorf("Column() points at %q", we.Def[c:])
	}
}

func TestFixtureProfiles(t *testing.T) {
	n := 0
	check := func(file, p string) {
		b, err := os.ReadFile(p)
		if os.IsNotExist(err) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		es, err := ParseProfile(file, b)
		if err != nil {
			t.Errorf("%s: %v", p, err)
			return
		}
		lines := len(strings.Split(strings.TrimSpace(string(b)), "\n"))
		if len(es) != lines {
			t.Errorf("%s: %d entries for %d lines", p, len(es), lines)
		}
		n += len(es)
	}
	for _, kd := range kernelDirs(t) {
		check("uprobe_profile", filepath.Join(kd, "uprobe_profile"))
		check("kprobe_profile", filepath.Join(kd, "kprobe_profile"))
	}
	if n == 0 {
		t.Fatal("no profile fixtures")
	}
	b, _ := os.ReadFile(filepath.Join("..", "testdata", "kernels", "6.18", "uprobe_profile"))
	es, err := ParseProfile("uprobe_profile", b)
	if err != nil || len(es) != 2 || es[1] != (ProfileEntry{Path: "/tmp/tfs/testprog", Event: "prof_with_a_rather_long_event_name_over_44_chars_x", Hits: 3}) {
		t.Errorf("6.18 uprobe_profile: %+v, %v", es, err)
	}
	// kprobe_profile in the layout of probes_profile_seq_show
	// ("  %-44s %15lu %15lu\n"), built by hand: this host has no kprobes.
	b, err = os.ReadFile(filepath.Join("..", "testdata", "tracefs", "kprobe_profile"))
	if err != nil {
		t.Fatal(err)
	}
	es, err = ParseProfile("kprobe_profile", b)
	want := []ProfileEntry{{Event: "do_sys_openat2", Hits: 1042}, {Event: "tracelet_4242_open_ret", Hits: 77, Misses: 3}, {Event: "a_kprobe_event_name_longer_than_forty_four_chars", Hits: 5}}
	if err != nil || !reflect.DeepEqual(es, want) {
		t.Errorf("kprobe_profile: %+v, %v", es, err)
	}
	if _, err := ParseProfile("kprobe_profile", []byte("  ev 1\n")); err == nil {
		t.Error("short kprobe_profile line accepted")
	}
	if _, err := ParseProfile("uprobe_profile", []byte("  /bin/x ev many\n")); err == nil {
		t.Error("bad hit count accepted")
	}
}

// TestFixtureRings decodes the recorded ring pages and compares with the
// golden text, which was written after the live test checked every value.
func TestFixtureRings(t *testing.T) {
	n := 0
	for _, kd := range kernelDirs(t) {
		cases, _ := filepath.Glob(filepath.Join(kd, "ring", "*"))
		for _, cd := range cases {
			// Every recorded kernel is 64-bit (amd64, arm64).
			rc := ringCase{formats: map[string][]byte{}, commit: 8}
			fs, _ := filepath.Glob(filepath.Join(cd, "*.format"))
			for _, f := range fs {
				b, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				rc.formats[strings.TrimSuffix(filepath.Base(f), ".format")] = b
			}
			ps, _ := filepath.Glob(filepath.Join(cd, "page*.bin"))
			sort.Strings(ps)
			for _, p := range ps {
				b, err := os.ReadFile(p)
				if err != nil {
					t.Fatal(err)
				}
				rc.pages = append(rc.pages, b)
			}
			_, got := decodeRing(t, rc)
			want, err := os.ReadFile(filepath.Join(cd, "decoded.golden"))
			if err != nil {
				t.Fatal(err)
			}
			if g := strings.Join(got, "\n") + "\n"; g != string(want) {
				t.Errorf("%s: decoded\n%s\nwant\n%s", cd, g, want)
			}
			n += len(got)
		}
	}
	if n == 0 {
		t.Fatal("no ring fixtures decoded")
	}
}

func TestMountinfoFixture(t *testing.T) {
	tr, dbg, err := readMountinfo(filepath.Join("..", "testdata", "tracefs", "mountinfo"))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(tr, []string{"/sys/kernel/tracing", "/mnt/my traces"}) || !reflect.DeepEqual(dbg, []string{"/sys/kernel/debug"}) {
		t.Errorf("tracefs %q debugfs %q", tr, dbg)
	}
}

// TestFixtureFormatsMultiline618: the 6.18 format files whose print fmt
// spans several lines. The kernel's print_fmt is the TP_printk literal
// after the compiler has applied its escapes, so a "\n" in it is a newline
// in the file; f_show prints it last. Each file's fields and print fmt are
// checked against its own text, and String gives the file back.
func TestFixtureFormatsMultiline618(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "testdata", "kernels", "6.18", "events", "ext4", "*", "format"))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"ext4_fc_stats", "ext4_fsmap_high_key", "ext4_fsmap_low_key", "ext4_fsmap_mapping",
		"ext4_getfsmap_high_key", "ext4_getfsmap_low_key", "ext4_getfsmap_mapping"}
	var got []string
	for _, p := range files {
		got = append(got, filepath.Base(filepath.Dir(p)))
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("fixtures %v, want %v", got, want)
	}
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		text := string(b)
		f, err := ParseFormat(b)
		if err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		if f.Name != filepath.Base(filepath.Dir(p)) {
			t.Errorf("%s: name %q", p, f.Name)
		}
		// The print fmt: from "print fmt: " to the newline f_show ends
		// the file with, newlines inside it kept.
		i := strings.Index(text, "\nprint fmt: ")
		if i < 0 {
			t.Fatalf("%s: no print fmt", p)
		}
		pf := strings.TrimSuffix(text[i+len("\nprint fmt: "):], "\n")
		if !strings.Contains(pf, "\n") {
			t.Errorf("%s: print fmt of one line; the fixture is not the case it pins", p)
		}
		if f.PrintFmt != pf {
			t.Errorf("%s: print fmt\n%q\nwant\n%q", p, f.PrintFmt, pf)
		}
		// The fields: one per "\tfield:" line, in file order, printed back
		// as the same line.
		var lines []string
		for _, l := range strings.SplitAfter(text[:i], "\n") {
			if strings.HasPrefix(l, "\tfield:") {
				lines = append(lines, l)
			}
		}
		all := append(append([]Field{}, f.Common...), f.Fields...)
		if len(all) != len(lines) || len(f.Common) != 4 {
			t.Errorf("%s: %d common and %d fields for %d field lines", p, len(f.Common), len(f.Fields), len(lines))
			continue
		}
		for k, fd := range all {
			if fd.line() != lines[k] {
				t.Errorf("%s: field %d printed as %q, file has %q", p, k, fd.line(), lines[k])
			}
			if fd.Kind == 0 {
				t.Errorf("%s: field %s has no kind", p, fd.Name)
			}
		}
		if s := f.String(); s != text {
			t.Errorf("%s: String() differs from the file:\n%s", p, s)
		}
		if _, err := f.Decoder(); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}

	// What the two kinds of file must parse to.
	b, _ := os.ReadFile(filepath.Join("..", "testdata", "kernels", "6.18", "events", "ext4", "ext4_fc_stats", "format"))
	f, err := ParseFormat(b)
	if err != nil {
		t.Fatal(err)
	}
	if fd := f.Field("fc_ineligible_rc"); fd == nil || fd.Kind != FieldArray || fd.Type != "unsigned int[10]" ||
		fd.Offset != 12 || fd.Size != 40 || fd.ElemSize != 4 || fd.Count != 10 {
		t.Errorf("ext4_fc_stats: fc_ineligible_rc = %+v", fd)
	}
	if fd := f.Field("fc_numblks"); fd == nil || fd.Kind != FieldInt || fd.Offset != 72 || fd.Size != 8 || len(f.Fields) != 5 {
		t.Errorf("ext4_fc_stats: fc_numblks = %+v, %d fields", fd, len(f.Fields))
	}
	if !strings.HasPrefix(f.PrintFmt, "\"dev %d,%d fc ineligible reasons:\n%s:%u, ") || !strings.HasSuffix(f.PrintFmt, "REC->fc_numblks") {
		t.Errorf("ext4_fc_stats: print fmt %q", f.PrintFmt)
	}
	b, _ = os.ReadFile(filepath.Join("..", "testdata", "kernels", "6.18", "events", "ext4", "ext4_getfsmap_mapping", "format"))
	if f, err = ParseFormat(b); err != nil {
		t.Fatal(err)
	}
	if f.ID != 1168 || len(f.Fields) != 6 || !strings.HasPrefix(f.PrintFmt, "\"dev %d:%d keydev %d:%d block %llu len %llu owner %lld flags 0x%llx\n\", ") {
		t.Errorf("ext4_getfsmap_mapping: id %d, %d fields, print fmt %q", f.ID, len(f.Fields), f.PrintFmt)
	}
	// The arguments after the literal's newline still pair with its
	// conversions: only flags is printed in hex.
	if hex := f.HexFields(); !reflect.DeepEqual(hex, map[string]bool{"flags": true}) {
		t.Errorf("ext4_getfsmap_mapping: HexFields = %v", hex)
	}
}
