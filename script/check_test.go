package script

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/tracelet/tracelet/internal/testenv"
	"github.com/tracelet/tracelet/tracefs"
)

// fromTracefs converts a format parsed by package tracefs: this is the
// adapter a caller writes to plug tracefs into Check.
func fromTracefs(system, event string, tf *tracefs.Format) *Format {
	f := &Format{System: system, Event: event}
	for _, fd := range tf.Fields {
		l := LayoutOther
		switch fd.Kind {
		case tracefs.FieldInt:
			l = LayoutInt
		case tracefs.FieldCharArray:
			l = LayoutCharArray
		case tracefs.FieldDynString:
			if !fd.RelLoc {
				l = LayoutDynString
			}
		}
		f.Fields = append(f.Fields, FormatField{Name: fd.Name, CType: fd.Type, Offset: fd.Offset,
			Size: fd.Size, Signed: fd.Signed, Layout: l})
	}
	return f
}

// dirFormats reads events/SYSTEM/EVENT/format files under root: the
// fixtures recorded from a kernel, or the live tracefs.
func dirFormats(root string) FormatSource {
	return FormatFunc(func(system, event string) (*Format, error) {
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
		return fromTracefs(system, event, tf), nil
	})
}

var fixtureFormats = dirFormats(filepath.Join(corpusDir, "formats", "6.18"))

func checkSrc(src string, formats FormatSource) (*Program, *Info, error) {
	prog, err := Parse("-e", []byte(src))
	if err != nil {
		return nil, nil, err
	}
	info, err := Check(prog, CheckOptions{Formats: formats})
	return prog, info, err
}

// TestCheckOneliners types the whole corpus against format files recorded
// from Linux 6.18 and compares the typed trees and map types.
func TestCheckOneliners(t *testing.T) {
	var out bytes.Buffer
	for _, src := range oneliners(t) {
		prog, info, err := checkSrc(src, fixtureFormats)
		if err != nil {
			t.Errorf("%s:\n%v", src, err)
			continue
		}
		out.WriteString("== " + src + "\n")
		out.WriteString(prog.String())
		for _, m := range info.Maps {
			out.WriteString(" map " + m.String() + "\n")
		}
	}
	golden(t, "oneliners.typed.golden", out.Bytes())
}

// TestFixtureFormatsMatchKernel proves the recorded format files are what
// a 6.18 kernel has, field for field, so the typed golden output is real;
// on any kernel, the corpus must type-check against the live formats.
func TestFixtureFormatsMatchKernel(t *testing.T) {
	testenv.RequireRoot(t)
	tfs, err := tracefs.Find()
	if err != nil {
		t.Fatalf("tracefs: %v", err)
	}
	live := dirFormats(filepath.Join(tfs.Root(), "events"))
	for _, src := range oneliners(t) {
		if _, _, err := checkSrc(src, live); err != nil {
			t.Errorf("against this kernel's formats: %s:\n%v", src, err)
		}
	}
	var uts unix.Utsname
	if err := unix.Uname(&uts); err != nil {
		t.Fatal(err)
	}
	if release := unix.ByteSliceToString(uts.Release[:]); !strings.HasPrefix(release, "6.18.") {
		return // the fixtures were recorded on 6.18; other kernels differ
	}
	root := filepath.Join(corpusDir, "formats", "6.18")
	systems, _ := os.ReadDir(root)
	n := 0
	for _, s := range systems {
		events, _ := os.ReadDir(filepath.Join(root, s.Name()))
		for _, e := range events {
			want, err := fixtureFormats.Format(s.Name(), e.Name())
			if err != nil {
				t.Fatal(err)
			}
			got, err := live.Format(s.Name(), e.Name())
			if err != nil {
				t.Errorf("live %s:%s: %v", s.Name(), e.Name(), err)
				continue
			}
			if !equalFormats(got, want) {
				t.Errorf("%s:%s: kernel format differs from the fixture:\n got %+v\nwant %+v", s.Name(), e.Name(), got.Fields, want.Fields)
			}
			n++
		}
	}
	if n < 10 {
		t.Fatalf("only %d fixture formats", n)
	}
}

func equalFormats(a, b *Format) bool {
	if len(a.Fields) != len(b.Fields) {
		return false
	}
	for i := range a.Fields {
		if a.Fields[i] != b.Fields[i] {
			return false
		}
	}
	return true
}

func TestCheckTypes(t *testing.T) {
	prog, info, err := checkSrc(`tracepoint:sched:sched_process_exec { @[args->filename, args.pid] = count(); $s = args->filename; $n = args->pid + 1; @t = $n > 2 ? "yes" : "no"; }`, fixtureFormats)
	if err != nil {
		t.Fatal(err)
	}
	m := info.Map("")
	if m == nil || m.String() != "@[string[64], int64]: count" {
		t.Errorf("@ = %v", m)
	}
	if m := info.Map("t"); m == nil || m.Value.String() != "string[4]" {
		t.Errorf("@t = %v", m)
	}
	body := prog.Probes[0].Body
	if got := TypeOf(body[1].(*AssignStmt).Target).String(); got != "string[64]" {
		t.Errorf("$s: %s", got)
	}
	// pid is a signed 4-byte field; arithmetic widens to int64.
	as := body[2].(*AssignStmt)
	if got := TypeOf(as.Value.(*Binary).X).String(); got != "int32" {
		t.Errorf("args.pid: %s", got)
	}
	if got := TypeOf(as.Target).String(); got != "int64" {
		t.Errorf("$n: %s", got)
	}
	// A pointer of a syscall tracepoint is a user address.
	prog, _, err = checkSrc(`t:syscalls:sys_enter_openat { $p = args->filename; @[str($p)] = count(); }`, fixtureFormats)
	if err != nil {
		t.Fatal(err)
	}
	if ft := TypeOf(prog.Probes[0].Body[0].(*AssignStmt).Value); !ft.User || ft.Size != 8 {
		t.Errorf("args->filename: %+v, want a user pointer", ft)
	}
}

// A map read in a probe that comes before its assignment is typed from it.
func TestCheckMapOrder(t *testing.T) {
	_, info, err := checkSrc(`kretprobe:vfs_read /@start[tid]/ { @ns = hist(nsecs - @start[tid]); } kprobe:vfs_read { @start[tid] = nsecs; }`, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := info.Map("start").String(); got != "@start[uint64]: uint64" {
		t.Errorf("@start: %s", got)
	}
}

func TestCheckErrors(t *testing.T) {
	for _, c := range []struct{ src, want string }{
		{"kprobe:f { @x = retval; }", "-e:1:17: retval is only valid in kretprobe, uretprobe and fexit probes (in probe kprobe:f)\nkprobe:f { @x = retval; }\n                ^"},
		{"kprobe:f { @x = args->x; }", "-e:1:17: args is only valid in tracepoint, rawtracepoint, fentry, fexit and lsm probes (in probe kprobe:f)"},
		{"t:syscalls:sys_enter_read { @x = arg0; }", "-e:1:34: arg0 is only valid in kprobe, uprobe, usdt and rawtracepoint probes (function entry) (in probe t:syscalls:sys_enter_read)"},
		{"BEGIN { @x = arg1; }", "arg1 is only valid in kprobe, uprobe, usdt and rawtracepoint probes"},
		{"interval:s:1 { @x = arg1; }", "arg1 is only valid in kprobe, uprobe, usdt and rawtracepoint probes"},
		{"kretprobe:f { @x = arg0; }", "arg0 is only valid in kprobe, uprobe, usdt and rawtracepoint probes"},
		{"k:f, kr:f { @x = retval; }", "retval is only valid in kretprobe, uretprobe and fexit probes (in probe k:f)"},
		{"t:syscalls:sys_enter_read { @x = args->fdd; }", `-e:1:40: tracepoint syscalls:sys_enter_read has no field "fdd"; did you mean "fd"? (fields: __syscall_nr, fd, buf, count)`},
		{"t:syscalls:sys_enter_nope { @x = args->fd; }", "-e:1:1: tracepoint syscalls:sys_enter_nope: no such tracepoint (no format file)"},
		{"t:syscalls:sys_enter_* { @x = args->fd; }", "args cannot be used with the wildcard tracepoint t:syscalls:sys_enter_*"},
		{"BEGIN { @x = 1; @x = \"s\"; }", "-e:1:22: type mismatch for @x: it holds int64 (first assigned at 1:9), assigned string[2]"},
		{"BEGIN { @x[1] = 1; @x[\"a\"] = 2; }", "-e:1:23: key 1 of @x is int64 at 1:9, not string[2]"},
		{"BEGIN { @x[1] = 1; @x[1, 2] = 2; }", "-e:1:20: @x has 1 key(s) [int64] at 1:9, but 2 here"},
		{"BEGIN { @x = count(); @x = 1; }", "type mismatch for @x: it holds count"},
		{"BEGIN { @x = count(); $y = @x; }", "@x holds count, an aggregation: it cannot be read in a probe, only printed (print(@x))"},
		{"BEGIN { $y = count(); }", "aggregations can only be assigned to maps: write @y = ..."},
		{"BEGIN { count(); }", "count() must be assigned to a map, as in @x = count(...)"},
		{"BEGIN { @x = hist(); }", "hist() takes 1 argument(s), got 0 (usage: @x = hist(value))"},
		{"BEGIN { @x = lhist(1, 0, 10, 0); }", "lhist() step must be positive"},
		{"BEGIN { @x = lhist(1, 0, pid, 1); }", "lhist() max must be an integer constant"},
		{"BEGIN { @x = sum(comm); }", "sum() needs an integer, not string[16]"},
		{"BEGIN { printf(\"%d %s\\n\", pid); }", "-e:1:9: printf: the format has 2 conversion(s) but 1 argument(s) follow it"},
		{"BEGIN { printf(\"%d\\n\", comm); }", "-e:1:24: printf: %d needs an integer, but argument 1 is string[16]"},
		{"BEGIN { printf(\"%s\\n\", pid); }", "printf: %s needs a string (or comm, str(), ksym(), usym(), strftime(), ntop(), func, probe, kstack, ustack), but argument 1 is uint32"},
		{"BEGIN { printf(\"%k\\n\", pid); }", `-e:1:16: printf: unknown conversion "%k": expected one of %d %i %u %x %X %o %c %s %p %%`},
		{"BEGIN { printf(\"%ls\\n\", comm); }", `length modifier "l" does not apply to %s`},
		{"BEGIN { printf(comm); }", "printf() needs a string literal as its format"},
		{"BEGIN { $x = $y + 1; }", "-e:1:14: variable $y is used before it is assigned"},
		{"BEGIN { $x = 1; $x = comm; }", "type mismatch for $x: it holds int64, assigned string[16]"},
		{"BEGIN { @x = comm + 1; }", "operator + needs integers, not string[16]"},
		{"BEGIN { @x = comm < \"a\"; }", "strings can only be compared with == and !=, not <"},
		{"BEGIN { @x = pid / 0; }", "division by zero"},
		{"BEGIN { @x = @y; }", "map @y is read but never assigned"},
		{"BEGIN { delete(@y[1]); }", "map @y is never assigned"},
		{"BEGIN { @y[1] = 1; clear(@y[1]); }", "clear() takes the whole map: write @y without a key"},
		{"BEGIN { print(1, 2); }", "print() needs a map, not an integer literal (usage: print(@map[, top[, div]]) or print(value))"},
		{"BEGIN { print((uint16 *)0); }", "print() cannot print uint16 *, a pointer"},
		{"BEGIN { @x = 1; print(@x, 10, -2); }", "-e:1:31: print()'s div must be an integer constant from 0 (none) to 4294967295"},
		{"BEGIN { @x = 1; print(@x, 10, @x); }", "-e:1:31: print()'s div must be an integer constant"},
		{"BEGIN { @x = 1; print(@x, pid); }", "-e:1:27: print()'s top must be an integer constant from 0 (all) to 65535"},
		{"BEGIN { @x = 1; print(@x, 65536); }", "print()'s top must be an integer constant from 0 (all) to 65535"},
		{"BEGIN { exit(1); }", "wrong number of arguments to exit(): got 1 (usage: exit())"},
		{"BEGIN { pid; }", "builtin pid is evaluated but not used"},
		{"BEGIN { @x = str(1, 500); }", "str() length 500 out of range: 1 to 199"},
		{"BEGIN { @x = comm ? 1 : 2; }", "condition must be an integer or a comparison, not string[16]"},
		{"BEGIN { @x = 1 ? 1 : \"a\"; }", "the branches of ?: have different types: int64 and string[2]"},
		{"BEGIN { if (comm) { exit(); } }", "if condition must be an integer or a comparison, not string[16]"},
		{"BEGIN /comm/ { exit(); }", "predicate must be an integer or a comparison, not string[16]"},
		{"BEGIN { @x = args; }", "args is only valid in tracepoint, rawtracepoint, fentry, fexit and lsm probes"},
		{"t:syscalls:sys_enter_read { @x = args; }", "args must be followed by a field, as in args->count"},
		// Found by FuzzParse: a wildcard's error had no position.
		{"t:syscalls:sys_enter_*{@[args]}", "-e:1:26: args must be followed by a field, as in args->FIELD"},
		{"BEGIN { @x = func; }", "func is only valid in kprobe, kretprobe, uprobe and uretprobe probes"},
		{"BEGIN { comm.x; }", "only args and kernel structs have fields (args->x, curtask->x), not builtin comm"},
		// A key whose type is unknown after an error must not break the
		// checks of the map's later uses.
		{"tracepoint:syscalls:sys_enter_openat { @f[args->fd] = 1; } END { $x = 1; @f[$x] = 2; }",
			`-e:1:49: tracepoint syscalls:sys_enter_openat has no field "fd"; did you mean "dfd"?`},
		{"tracepoint:syscalls:sys_enter_openat { @f[args->fd, 1] = 1; } END { @f[1, \"a\"] = 2; }",
			`has no field "fd"`},
	} {
		_, _, err := checkSrc(c.src, fixtureFormats)
		if err == nil {
			t.Errorf("%s: no error, want %q", c.src, c.want)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s:\n got %q\nwant %q", c.src, err.Error(), c.want)
		}
	}
}

func TestParseFormatVerbs(t *testing.T) {
	verbs, err := ParseFormat("%-10lu %% %s %08llx %.3d %c %p %hhd")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, v := range verbs {
		got = append(got, v.Text)
	}
	if g := strings.Join(got, ","); g != "%-10lu,%s,%08llx,%.3d,%c,%p,%hhd" {
		t.Errorf("verbs: %s", g)
	}
	if v := verbs[0]; v.Flags != "-" || v.Width != 10 || v.Length != "l" || v.Conv != 'u' {
		t.Errorf("first verb: %+v", v)
	}
	if _, err := ParseFormat("100%"); err == nil {
		t.Error("trailing % accepted")
	}
}

func TestFoldConst(t *testing.T) {
	for src, want := range map[string]uint64{
		"1 + 2 * 3":                7,
		"-1 / 2":                   0, // signed division truncates toward zero
		"-8 >> 1":                  ^uint64(3),
		"0x10 + 010":               24,
		"1 < 2 && 3 != 3":          0,
		"~0 ^ 3":                   ^uint64(3),
		"(1 ? 5 : 6) % 4":          1,
		"1 << 65":                  2,
		"18446744073709551615 / 2": 1<<63 - 1, // unsigned: the literal does not fit int64
	} {
		prog, _, err := checkSrc("BEGIN { @x = "+src+"; }", nil)
		if err != nil {
			t.Errorf("%s: %v", src, err)
			continue
		}
		got, ok := foldConst(prog.Probes[0].Body[0].(*AssignStmt).Value)
		if !ok || got != want {
			t.Errorf("%s = %d (%v), want %d", src, got, ok, want)
		}
	}
}

// system() and signal() need Unsafe, as bpftrace's --unsafe; signal()
// takes a name (with or without SIG), a constant or an expression, and is
// refused where there is no task of the script's own (bpftrace's errors
// for these are "FOO is not a valid signal", "99 is not a valid signal,
// allowed range: [1,64]" and "signal can not be used with "BEGIN" probes").
func TestCheckUnsafe(t *testing.T) {
	for _, c := range []struct{ src, want string }{
		{`BEGIN { system("ls"); }`, "-e:1:9: system() is unsafe (it acts on the system for every event it runs in): allow it with --unsafe"},
		{`k:f { signal("KILL"); }`, "-e:1:7: signal() is unsafe"},
	} {
		if _, _, err := checkSrc(c.src, nil); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.src, err, c.want)
		}
	}
	for src, want := range map[string]string{
		`k:f { signal("KILL"); }`:         "",
		`k:f { signal("SIGUSR1"); }`:      "",
		`k:f { signal(SIGTERM); }`:        "",
		`k:f { signal(arg0); }`:           "",
		`BEGIN { system("echo %d", 1); }`: "",
		`k:f { signal("FOO"); }`:          `-e:1:14: signal("FOO"): no such signal; give a name such as "KILL", "SIGTERM" or "USR1", or a number from 1 to 64`,
		`k:f { signal(99); }`:             "-e:1:14: signal(99): a signal number is from 1 to 64",
		`k:f { signal(comm); }`:           "signal() needs a signal name or number, not string[16]",
		`BEGIN { signal(9); }`:            "-e:1:9: signal() cannot be used in BEGIN probes",
		`interval:s:1 { signal(9); }`:     "signal() cannot be used in interval probes",
		`BEGIN { system("echo %d"); }`:    "the format has 1 conversion(s) but 0 argument(s)",
	} {
		prog, err := Parse("-e", []byte(src))
		if err == nil {
			_, err = Check(prog, CheckOptions{Unsafe: true})
		}
		if want == "" && err != nil || want != "" && (err == nil || !strings.Contains(err.Error(), want)) {
			t.Errorf("%s: %v, want %q", src, err, want)
		}
	}
}

// break and continue belong in a while loop, return anywhere; a second
// BEGIN or END is refused, as bpftrace refuses it ("More than one BEGIN
// probe defined"), instead of one of them never running.
func TestCheckJumpsAndHooks(t *testing.T) {
	for src, want := range map[string]string{
		`BEGIN { return; }`: "",
		`BEGIN { $i = 0; while ($i < 3) { $i++; break; } }`: "",
		`BEGIN { unroll(2) { continue; } }`:                 "-e:1:21: continue is only valid in a while loop",
		`BEGIN { break; }`:                                  "-e:1:9: break is only valid in a while loop",
		`BEGIN { return 1; }`:                               "-e:1:16: return takes no value: expected ';' or '}' after it, found number 1",
		`BEGIN { } END { } BEGIN { }`:                       "-e:1:19: more than one BEGIN probe (the first is at 1:1): put their actions in one",
		`END { } END { }`:                                   "more than one END probe",
		`BEGIN { @m[1] = 1; $ok = delete(@m, 1); }`:         "",
		`BEGIN { @m[1] = 1; $ok = delete(@m, 1) + 1; }`:     "operator + needs integers, not void",
		// A trailing comma after the attach points (bpftrace's
		// user-tools' wakesnoop.bt).
		"t:syscalls:sys_enter_read,\n/pid == 1/ { }": "",
		"t:syscalls:sys_enter_read, { }":             "",
		"t:syscalls:sys_enter_read, , { }":           "-e:1:28: expected a probe after ',', found \",\"",
		// Prefix ++ and -- as statements (yump/bpftrace-tricks' scripts).
		`BEGIN { $i = 1; ++$i; --@m[$i]; }`: "",
		`BEGIN { $i = 1; $x = ++$i; }`:      "-e:1:22: prefix ++ is a statement of its own ($x++;), not a value",
		`BEGIN { ++1; }`:                    "-e:1:9: cannot assign to",
	} {
		_, _, err := checkSrc(src, nil)
		if want == "" && err != nil || want != "" && (err == nil || !strings.Contains(err.Error(), want)) {
			t.Errorf("%s: %v, want %q", src, err, want)
		}
	}
}

// Positional parameters in attach points are replaced by their values, as
// bpftrace replaces them (yump/bpftrace-tricks' sleepers.bt has
// interval:s:$1).
func TestAttachParams(t *testing.T) {
	prog, err := ParseWith("-e", []byte(`interval:ms:$1, uprobe:$2:main { }`), ParseOptions{Params: []string{"250", "/bin/true"}})
	if err != nil {
		t.Fatal(err)
	}
	a, b := prog.Probes[0].Attach[0], prog.Probes[0].Attach[1]
	if a.Raw != "interval:ms:250" || a.Rate != 250 || b.Raw != "uprobe:/bin/true:main" || b.Target != "/bin/true" {
		t.Errorf("got %+v and %+v", a, b)
	}
	for _, c := range []struct {
		src    string
		params []string
		want   string
	}{
		{`interval:s:$1 { }`, nil, `-e:1:12: attach point "interval:s:$1" needs positional parameter $1, and 0 are given`},
		{`interval:s:$# { }`, []string{"1"}, `-e:1:12: "$" in an attach point: only the positional parameters $1, $2, ... are replaced there`},
		{`interval:s:$1 { }`, []string{"x"}, `bad interval count "x"`},
	} {
		_, err := ParseWith("-e", []byte(c.src), ParseOptions{Params: c.params})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s %q: %v, want %q", c.src, c.params, err, c.want)
		}
	}
}
